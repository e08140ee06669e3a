//! The store's loop: read the source from the change log's saved position (or the project's
//! start point the first time), append every event, tell connectors. Transient source errors
//! reconnect after a pause and resume from the saved position; definite ones end the loop.

use super::status::PipelineStatus;
use crate::model::{Record, RowsBatch, TxEnd};
use crate::source::mysql::{BinlogReader, MysqlConfig, ResumeFrom, SourceError};
use crate::source::{SourceEvent, StartPoint, TableFilter};
use crate::store::{ChangeLog, RocksChangeLog, StoreError};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug, thiserror::Error)]
pub enum StoreTaskError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct StoreTask {
    pub project: String,
    pub source: MysqlConfig,
    /// The server id Ferry presents to the source as a replica.
    pub replica_server_id: u32,
    pub filter: Arc<TableFilter>,
    pub start: StartPoint,
    pub log: Arc<RocksChangeLog>,
    /// Last sequence appended; connectors wait on it.
    pub appended: watch::Sender<u64>,
    pub status: Arc<PipelineStatus>,
    /// Turn an idle source's progress into a heartbeat record this often.
    pub heartbeat: Option<Duration>,
}

/// Aborts a spawned task when dropped, so a cancelled store never leaves its reader running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl StoreTask {
    /// Runs until a definite error (or until cancelled by dropping the future).
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), StoreTaskError> {
        self.record_status(&[]);
        let mut backoff = Duration::from_millis(500);
        loop {
            // A transaction cut off by the last disconnect is read again whole, under the same
            // sequence numbers.
            self.log.drop_uncommitted_tail()?;
            self.appended.send_replace(self.log.last_seq());
            let from = match self.log.state().position {
                Some(position) => ResumeFrom::Position(position),
                None => ResumeFrom::Start(self.start.clone()),
            };
            tracing::info!(project = %self.project, ?from, "store reading the source");
            // Small: each item is up to a few hundred binlog events; more would only hold memory.
            let (tx, rx) = mpsc::channel(4);
            let reader = BinlogReader::new(self.source.clone(), self.replica_server_id, self.filter.clone());
            let mut reader = AbortOnDrop(tokio::spawn(reader.run(from, tx)));
            let appended_any = tokio::select! {
                result = self.append_all(rx) => result?,
                _ = stop.wait_for(|s| *s) => return Ok(()),
            };
            let outcome = match (&mut reader.0).await {
                Ok(result) => result,
                Err(join) => Err(SourceError::ConnectionLost(format!("reader task ended: {join}"))),
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() => {
                    if appended_any {
                        backoff = Duration::from_millis(500);
                    }
                    tracing::warn!(project = %self.project, error = %e, ?backoff, "source interrupted, resuming");
                    self.status.set_error(Some(e.to_string()));
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.wait_for(|s| *s) => return Ok(()),
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Appends what the reader sends until it closes the channel. True if anything arrived.
    async fn append_all(&self, mut rx: mpsc::Receiver<Vec<SourceEvent>>) -> Result<bool, StoreError> {
        let mut next_row = self.log.state().rows;
        let mut records = Vec::new();
        let mut any = false;
        let mut last_beat = std::time::Instant::now();
        while let Some(events) = rx.recv().await {
            any = true;
            records.clear();
            let mut progress = None;
            for event in events {
                match event {
                    SourceEvent::Rows { schema, mut batch } => {
                        batch.schema_id = self.log.schema_id(&schema)?;
                        batch.first_row_seq = next_row;
                        next_row += batch.rows.len() as u64;
                        records.push(Record::Rows(batch));
                    }
                    SourceEvent::TxEnd(end) => {
                        self.status.store_ts.fetch_max(u64::from(end.ts), Ordering::Relaxed);
                        progress = None;
                        records.push(Record::TxEnd(end));
                    }
                    SourceEvent::Progress { position, ts } => {
                        self.status.store_ts.fetch_max(u64::from(ts), Ordering::Relaxed);
                        // No heartbeat inside an open transaction (rows since the last end).
                        let open = || match records.last() {
                            Some(r) => matches!(r, Record::Rows(_)),
                            None => self.log.state().committed_seq != self.log.last_seq(),
                        };
                        if self.heartbeat.is_some_and(|every| last_beat.elapsed() >= every) && !open() {
                            last_beat = std::time::Instant::now();
                            progress = None;
                            records.push(Record::Heartbeat(TxEnd { position, ts }));
                        } else {
                            progress = Some(position);
                        }
                    }
                }
            }
            let seq = self.log.append(&records, progress.as_ref())?;
            self.record_status(&records);
            self.appended.send_replace(seq);
        }
        Ok(any)
    }

    fn record_status(&self, records: &[Record]) {
        let rows: usize = records
            .iter()
            .map(|r| if let Record::Rows(RowsBatch { rows, .. }) = r { rows.len() } else { 0 })
            .sum();
        self.status.store_rows.fetch_add(rows as u64, Ordering::Relaxed);
        let state = self.log.state();
        self.status.store_committed_seq.store(state.committed_seq, Ordering::Relaxed);
        *self.status.store_position.lock().unwrap_or_else(|p| p.into_inner()) = state.position;
    }
}
