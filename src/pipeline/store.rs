//! The store's loop: read the source from the change log's saved position (or the project's
//! start point the first time), append every event, tell connectors. Transient source errors
//! reconnect after a pause and resume from the saved position; definite ones end the loop.
//!
//! Beside it, the store's keeper: every few seconds it drops what is outside the retention
//! window and behind every connector, measures the disk and the pull rates, and raises the
//! high-water flag that makes the loop stop pulling (and resume once under it again).

use super::status::PipelineStatus;
use crate::meta::SnapshotOptions;
use crate::model::TableSchema;
use crate::model::{DdlKind, Op, Position, Record, RowImage, RowsBatch, TxEnd, Value};
use crate::snapshot::merge::Merge;
use crate::snapshot::window::Chunk;
use crate::snapshot::{copier, Copier, Pending, TableProgress, ToStore};
use crate::source::mysql::{
    BinlogReader, Entries, MysqlConfig, ResumeFrom, SchemaHistory, SchemaStore, SourceError,
};
use crate::source::shape::{Shape, Shapes};
use crate::source::{SourceEvent, StartPoint, TableFilter};
use crate::store::{ChangeLog, Retention, RocksChangeLog, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Debug, thiserror::Error)]
pub enum StoreTaskError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster refused the schema history of this store's epoch: a newer one replaced it.
    #[error("fenced: {0}")]
    Fenced(String),
}

/// Replicates schema history entries through the cluster; `Err` only when this store's epoch
/// is no longer current (transient failures are retried inside).
pub type ReplicateHistory =
    Arc<dyn Fn(Entries) -> futures_util::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

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
    pub retention: Retention,
    /// Stop pulling while the store's files take more than this.
    pub max_disk_bytes: u64,
    /// The oldest checkpoint (change-log sequence) of the project's connectors: the store
    /// keeps every record after it.
    pub oldest_checkpoint: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// The project's replicated schema history when the store started.
    pub replicated_history: Entries,
    pub replicate_history: ReplicateHistory,
    /// The rows and columns of each table the project keeps.
    pub shapes: Arc<Shapes>,
    /// Copy the selected tables' existing rows before their changes (a full sync).
    pub full: bool,
    /// How tables are copied (a full sync, and tables the API asks to copy again).
    pub snapshot: SnapshotOptions,
}

/// The key of the mark that a full sync's tables were planned (no table name starts with NUL).
const PLANNED: &[u8] = b"\0planned";

/// Copied rows per change-log record, like a binlog rows event's.
const READ_BATCH_ROWS: usize = 256;

/// What of a table the project keeps.
enum Kept {
    Whole,
    Shaped(Arc<Shape>),
    /// Nothing: its object rule cannot apply to it.
    Stopped,
}

/// A full sync under way in one run of the store.
struct Copying {
    /// Told once the stream reads (has a position): the copier waits for it.
    live: Option<oneshot::Sender<()>>,
    requests: mpsc::Receiver<ToStore>,
    copier: AbortOnDrop<Result<(), SourceError>>,
    merge: Merge<Pending>,
}

/// How often the keeper runs.
const KEEP_EVERY: Duration = Duration::from_secs(1);

/// What ended a stretch of appending.
enum Appended {
    /// The reader closed its channel; whether anything arrived.
    SourceEnded(bool),
    /// The disk high-water mark was passed.
    DiskFull,
}

/// The next request of the copier, if one runs (else never).
async fn next_request(copying: &mut Option<Copying>) -> Option<ToStore> {
    match copying {
        Some(c) => c.requests.recv().await,
        None => std::future::pending().await,
    }
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
    pub async fn run(self, stop: watch::Receiver<bool>) -> Result<(), StoreTaskError> {
        self.record_status(&[]);
        let over_disk = AtomicBool::new(false);
        let keeper = self.keeper();
        // The keeper lives inside this future (not a task of its own), so when the store ends
        // nothing holds its log any more and the next run can open it at once.
        tokio::select! {
            result = self.pull(&over_disk, stop) => result,
            never = keeper.run(&over_disk) => match never {},
        }
    }

    async fn pull(
        &self,
        over_disk: &AtomicBool,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), StoreTaskError> {
        self.sync_history().await?;
        let history = Arc::new(SchemaHistory::open(Box::new(LogHistory(Arc::downgrade(&self.log))))?);
        let mut backoff = Duration::from_millis(500);
        loop {
            if over_disk.load(Ordering::Acquire) {
                let reason = format!(
                    "paused: the store's files passed store.max_disk_bytes ({} bytes); pulling resumes once connectors pass what the retention window lets go (lower store.retention_hours or store.retention_bytes to free it sooner)",
                    self.max_disk_bytes
                );
                tracing::warn!(project = %self.project, %reason, "store paused");
                *self.status.store_paused.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
                while over_disk.load(Ordering::Acquire) {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        _ = stop.wait_for(|s| *s) => return Ok(()),
                    }
                }
                *self.status.store_paused.lock().unwrap_or_else(|p| p.into_inner()) = None;
                tracing::info!(project = %self.project, "store under its disk high-water mark: pulling again");
            }
            // A transaction cut off by the last disconnect is read again whole, under the same
            // sequence numbers.
            self.log.drop_uncommitted_tail()?;
            self.appended.send_replace(self.log.last_seq());
            let from = match self.log.state().position {
                Some(position) => ResumeFrom::Position(position),
                None => ResumeFrom::Start(self.start.clone()),
            };
            let copying = match self.start_copy().await {
                Ok(copying) => copying,
                Err(StoreTaskError::Source(e)) if e.is_transient() => {
                    tracing::warn!(project = %self.project, error = %e, ?backoff, "full sync cannot start yet, retrying");
                    if self.back_off(&e, &mut backoff, &mut stop).await {
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            tracing::info!(project = %self.project, ?from, "store reading the source");
            // Small: each item is up to a few hundred binlog events; more would only hold memory.
            let (tx, rx) = mpsc::channel(4);
            let reader = BinlogReader::new(self.source.clone(), self.replica_server_id, self.filter.clone())
                .with_history(history.clone());
            let mut reader = AbortOnDrop(tokio::spawn(reader.run(from, tx)));
            let appended_any = tokio::select! {
                result = self.append_all(rx, copying, over_disk) => match result? {
                    Appended::SourceEnded(any) => any,
                    // Stop reading (the reader is aborted); the loop waits and reconnects.
                    Appended::DiskFull => continue,
                },
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
                    if self.back_off(&e, &mut backoff, &mut stop).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Shows a transient error and waits `backoff` (doubled for the next time, up to 30 s);
    /// true when stopped meanwhile.
    async fn back_off(
        &self,
        e: &SourceError,
        backoff: &mut Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        self.status.set_error(Some(e.to_string()));
        tokio::select! {
            _ = tokio::time::sleep(*backoff) => {}
            _ = stop.wait_for(|s| *s) => return true,
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(30));
        false
    }

    /// A store started over (on another node, after losing its files) takes the replicated
    /// history; a store that saved entries the cluster did not get (it died in between)
    /// replicates them now.
    async fn sync_history(&self) -> Result<(), StoreTaskError> {
        let mut local = self.log.history_entries()?;
        if local.is_empty() && !self.replicated_history.is_empty() {
            for (k, v) in &self.replicated_history {
                self.log.put_history_entry(k, v)?;
            }
            tracing::info!(project = %self.project, entries = self.replicated_history.len(), "schema history taken from the cluster");
            local = self.replicated_history.clone();
        }
        let missing: Entries = local.into_iter().filter(|e| !self.replicated_history.contains(e)).collect();
        if !missing.is_empty() {
            (self.replicate_history)(missing).await.map_err(StoreTaskError::Fenced)?;
        }
        Ok(())
    }

    /// This run's copier, when the project copies existing rows and tables are left (the first
    /// run plans them: every table the project selects, none copied yet).
    async fn start_copy(&self) -> Result<Option<Copying>, StoreTaskError> {
        let mut entries = self.log.snapshot_entries()?;
        if self.full && !entries.iter().any(|(k, _)| k == PLANNED) {
            let plan = copier::plan(&self.source, &self.filter).await?;
            let mut planned: Vec<_> = plan.iter().map(TableProgress::entry).collect();
            planned.push((PLANNED.to_vec(), Vec::new()));
            self.log.put_snapshot_entries(&planned)?;
            tracing::info!(project = %self.project, tables = plan.len(), "full sync planned");
            entries = self.log.snapshot_entries()?;
        }
        let tables = entries
            .iter()
            .filter(|(k, _)| k != PLANNED)
            .map(|(_, v)| TableProgress::decode(v).map_err(|reason| StoreError::Corrupt { seq: 0, reason }))
            .collect::<Result<Vec<_>, _>>()?;
        self.status.snapshot_begins(&tables);
        if tables.iter().all(|t| t.done) {
            return Ok(None);
        }
        let (to_store, requests) = mpsc::channel(self.snapshot.parallelism as usize * 2 + 2);
        let copier = Copier { source: self.source.clone(), options: self.snapshot.clone(), to_store };
        let (live, stream_reads) = oneshot::channel();
        let copier = AbortOnDrop(tokio::spawn(copier.run(tables, stream_reads)));
        Ok(Some(Copying { live: Some(live), requests, copier, merge: Merge::default() }))
    }

    fn keeper(&self) -> Keeper {
        Keeper {
            project: self.project.clone(),
            log: self.log.clone(),
            status: self.status.clone(),
            retention: self.retention,
            max_disk_bytes: self.max_disk_bytes,
            oldest_checkpoint: self.oldest_checkpoint.clone(),
        }
    }

    /// Appends what the reader sends until it closes the channel or the disk is full; and the
    /// chunks a full sync reads, once the stream has passed them.
    async fn append_all(
        &self,
        mut rx: mpsc::Receiver<Vec<SourceEvent>>,
        mut copying: Option<Copying>,
        over_disk: &AtomicBool,
    ) -> Result<Appended, StoreTaskError> {
        let mut next_row = self.log.state().rows;
        let mut records = Vec::new();
        let mut any = false;
        let mut last_beat = std::time::Instant::now();
        // Every event before it is in the log (or left out by the filter).
        let mut passed = self.log.state().position;
        loop {
            if let Some(c) = copying.as_mut().filter(|_| passed.is_some()) {
                if let Some(live) = c.live.take() {
                    let _ = live.send(());
                }
            }
            let events = tokio::select! {
                biased;
                request = next_request(&mut copying) => {
                    self.on_copier(&mut copying, request).await?;
                    self.append_ready(&mut copying, passed.as_ref(), &mut next_row)?;
                    continue;
                }
                _ = self.status.snapshot_requested.notified() => {
                    self.copy_again(&mut copying).await?;
                    continue;
                }
                events = rx.recv() => match events {
                    Some(events) => events,
                    None => break,
                },
            };
            if over_disk.load(Ordering::Acquire) {
                return Ok(Appended::DiskFull);
            }
            let mut merge = copying.as_mut().map(|c| &mut c.merge).filter(|m| !m.is_empty());
            any = true;
            records.clear();
            let mut progress = None;
            for event in events {
                match event {
                    SourceEvent::Rows { schema, mut batch } => {
                        if let Some(merge) = merge.as_deref_mut() {
                            // Rows an XA commit releases carry their prepare's position: they
                            // count from where the stream is.
                            let mut at = Position { file: batch.file.clone(), pos: batch.pos, gtid: None };
                            if let Some(p) = passed.as_ref().filter(|p| p.is_after(&at)) {
                                at = p.clone();
                            }
                            for row in &batch.rows {
                                merge.change(&schema.name, &at, row.before.as_deref(), row.after.as_deref());
                            }
                        }
                        match self.shape(&schema) {
                            Kept::Whole => {
                                batch.schema_id = self.log.schema_id(&schema)?;
                                batch.first_row_seq = next_row;
                                next_row += batch.rows.len() as u64;
                                records.push(Record::Rows(batch));
                            }
                            Kept::Shaped(shape) => {
                                let schema_id = self.log.schema_id(&shape.schema)?;
                                for mut run in shape.rows(batch) {
                                    run.schema_id = schema_id;
                                    run.first_row_seq = next_row;
                                    next_row += run.rows.len() as u64;
                                    records.push(Record::Rows(run));
                                }
                            }
                            Kept::Stopped => {}
                        }
                    }
                    SourceEvent::Ddl(ddl) => {
                        if let Some(merge) = merge.as_deref_mut() {
                            if matches!(ddl.kind, DdlKind::TruncateTable | DdlKind::DropTable) {
                                let at = Position { file: ddl.file.clone(), pos: ddl.pos, gtid: None };
                                for table in &ddl.tables {
                                    merge.clear(table, &at);
                                }
                            }
                        }
                        records.push(Record::Ddl(ddl));
                    }
                    SourceEvent::SchemaHistory(entries) => {
                        // Before anything decoded with it is appended (and so checkpointed).
                        (self.replicate_history)(entries).await.map_err(StoreTaskError::Fenced)?;
                    }
                    SourceEvent::XaPrepared(held) => {
                        *self.status.xa_prepared.lock().unwrap_or_else(|p| p.into_inner()) = held;
                    }
                    SourceEvent::TableStopped { table, reason } => {
                        tracing::warn!(project = %self.project, %table, %reason, "table stopped");
                        self.status
                            .stopped_tables
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(table.to_string(), reason);
                    }
                    SourceEvent::Passed(position) => advance(&mut passed, position),
                    SourceEvent::TxEnd(end) => {
                        advance(&mut passed, end.position.clone());
                        self.status.store_ts.fetch_max(u64::from(end.ts), Ordering::Relaxed);
                        progress = None;
                        records.push(Record::TxEnd(end));
                    }
                    SourceEvent::Progress { position, ts } => {
                        advance(&mut passed, position.clone());
                        self.status.store_ts.fetch_max(u64::from(ts), Ordering::Relaxed);
                        // No heartbeat inside an open transaction (rows since the last end).
                        let open = || match records.last() {
                            Some(r) => matches!(r, Record::Rows(_) | Record::Ddl(_)),
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
            self.append_ready(&mut copying, passed.as_ref(), &mut next_row)?;
        }
        Ok(Appended::SourceEnded(any))
    }

    /// Tables the API asked to copy again start over from their first row: the copier starts
    /// again (chunks read and not in the log yet are dropped; a table's saved progress holds).
    async fn copy_again(&self, copying: &mut Option<Copying>) -> Result<(), StoreTaskError> {
        let tables = self.status.take_snapshot_requests();
        if tables.is_empty() {
            return Ok(());
        }
        *copying = None;
        let plan = copier::estimate(&self.source, tables).await;
        let entries: Vec<_> = plan.iter().map(TableProgress::entry).collect();
        self.log.put_snapshot_entries(&entries)?;
        tracing::info!(project = %self.project, tables = plan.len(), "copying tables again");
        *copying = self.start_copy().await?;
        Ok(())
    }

    /// What of `schema`'s table the project keeps. A table its object rule cannot apply to (a
    /// column it names is gone, say) stops, with the reason in the project's status.
    fn shape(&self, schema: &Arc<TableSchema>) -> Kept {
        if self.shapes.is_identity() {
            return Kept::Whole;
        }
        match self.shapes.shape(schema) {
            Ok(None) => Kept::Whole,
            Ok(Some(shape)) => Kept::Shaped(shape),
            Err(e) => {
                let mut stopped = self.status.stopped_tables.lock().unwrap_or_else(|p| p.into_inner());
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    stopped.entry(schema.name.to_string())
                {
                    tracing::warn!(project = %self.project, table = %schema.name, error = %e, "table stopped");
                    entry.insert(format!("its object rule cannot apply: {e}"));
                }
                Kept::Stopped
            }
        }
    }

    /// A request of the copier; its end (`None`): done, or the error it stopped on.
    async fn on_copier(
        &self,
        copying: &mut Option<Copying>,
        request: Option<ToStore>,
    ) -> Result<(), StoreTaskError> {
        let c = copying.as_mut().expect("a request comes from a copier");
        match request {
            Some(ToStore::Open { table, key, reply }) => {
                let _ = reply.send(c.merge.open(table, key));
            }
            Some(ToStore::Read { id, chunk, pending }) => {
                // Refused only for a window closed meanwhile: the copier sees its chunk dropped.
                let _ = c.merge.read(id, chunk, pending);
            }
            Some(ToStore::Cancel { id }) => c.merge.cancel(id),
            None => {
                let ended = (&mut c.copier.0).await;
                *copying = None;
                match ended {
                    Ok(Ok(())) => tracing::info!(project = %self.project, "full sync done"),
                    Ok(Err(e)) => return Err(e.into()),
                    Err(join) => {
                        return Err(SourceError::Table {
                            table: "(full sync)".into(),
                            reason: format!("the copier ended: {join}"),
                        }
                        .into())
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends the chunks the stream has passed, at a transaction boundary of the log.
    fn append_ready(
        &self,
        copying: &mut Option<Copying>,
        passed: Option<&Position>,
        next_row: &mut u64,
    ) -> Result<(), StoreTaskError> {
        let (Some(c), Some(passed)) = (copying.as_mut(), passed) else { return Ok(()) };
        let state = self.log.state();
        let Some(resume) = state.position.filter(|_| state.committed_seq == self.log.last_seq()) else {
            return Ok(());
        };
        for (chunk, pending) in c.merge.ready(passed) {
            self.append_chunk(chunk, pending, &resume, next_row)?;
        }
        Ok(())
    }

    /// A chunk's rows as snapshot records (`Op::Read`), with the table's progress in the same
    /// write; a transaction of its own, ending at the log's resume point.
    fn append_chunk(
        &self,
        chunk: Chunk,
        pending: Pending,
        resume: &Position,
        next_row: &mut u64,
    ) -> Result<(), StoreTaskError> {
        if chunk.rows.is_empty() {
            // Progress only (a table's end, or one dropped meanwhile): no schema to register.
            let (key, value) = pending.progress.entry();
            self.log.append_snapshot(&[], &key, &value)?;
            self.status.snapshot_progress(&pending.progress);
            let _ = pending.appended.send(());
            return Ok(());
        }
        let (schema, rows) = match self.shape(&pending.schema) {
            Kept::Whole => (pending.schema.clone(), chunk.rows),
            Kept::Shaped(shape) => {
                let rows =
                    chunk.rows.into_iter().filter(|r| shape.selects(r)).map(|r| shape.project(r)).collect();
                (shape.schema.clone(), rows)
            }
            Kept::Stopped => (pending.schema.clone(), Vec::new()),
        };
        let chunk = Chunk { at: chunk.at, rows };
        let schema_id = self.log.schema_id(&schema)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let mut records = Vec::with_capacity(chunk.rows.len() / READ_BATCH_ROWS + 2);
        let mut rows = chunk.rows.into_iter().peekable();
        while rows.peek().is_some() {
            let images: Vec<RowImage> = rows
                .by_ref()
                .take(READ_BATCH_ROWS)
                .map(|after: Vec<Value>| RowImage { before: None, after: Some(after) })
                .collect();
            let first_row_seq = *next_row;
            *next_row += images.len() as u64;
            records.push(Record::Rows(RowsBatch {
                schema_id,
                op: Op::Read,
                rows: images,
                file: chunk.at.file.clone(),
                pos: chunk.at.pos,
                ts: now,
                server_id: 0,
                gtid: None,
                first_row_seq,
            }));
        }
        if !records.is_empty() {
            records.push(Record::TxEnd(TxEnd { position: resume.clone(), ts: self.status.store_ts() }));
        }
        let (key, value) = pending.progress.entry();
        let seq = self.log.append_snapshot(&records, &key, &value)?;
        self.record_status(&records);
        self.appended.send_replace(seq);
        self.status.snapshot_progress(&pending.progress);
        let _ = pending.appended.send(());
        Ok(())
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

/// Moves `passed` forward to `to` (never back: a held XA transaction's resume point is behind).
fn advance(passed: &mut Option<Position>, to: Position) {
    if passed.as_ref().is_none_or(|p| to.is_after(p)) {
        *passed = Some(to);
    }
}

/// The schema history lives in the store's database, beside the log it decodes. Held weakly:
/// the reader task that uses it may outlive the store by a moment (its abort is asynchronous),
/// and must not keep the database open (locked) for the store's next run.
struct LogHistory(std::sync::Weak<RocksChangeLog>);

impl LogHistory {
    fn log(&self) -> Result<Arc<RocksChangeLog>, String> {
        self.0.upgrade().ok_or_else(|| "the store is closed".to_string())
    }
}

impl SchemaStore for LogHistory {
    fn schema_entries(&self) -> Result<crate::source::mysql::Entries, String> {
        self.log()?.history_entries().map_err(|e| e.to_string())
    }

    fn save_schema_entry(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.log()?.put_history_entry(key, value).map_err(|e| e.to_string())
    }
}

/// The store's upkeep, beside its loop: retention, the disk high-water mark, pull rates.
struct Keeper {
    project: String,
    log: Arc<RocksChangeLog>,
    status: Arc<PipelineStatus>,
    retention: Retention,
    max_disk_bytes: u64,
    oldest_checkpoint: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl Keeper {
    /// Runs until dropped. A pass is a few RocksDB calls on the store's own thread (the disk
    /// reclaim, only when over the high-water mark, takes longer).
    async fn run(&self, over_disk: &AtomicBool) -> std::convert::Infallible {
        let sample =
            || (Instant::now(), self.status.store_rows.load(Ordering::Relaxed), self.log.appended_bytes());
        let mut last = sample();
        loop {
            over_disk.store(self.keep(), Ordering::Release);
            let now = sample();
            let secs = now.0.duration_since(last.0).as_secs_f64().max(0.001);
            let rate = |new: u64, old: u64| (new.saturating_sub(old) as f64 / secs) as u64;
            self.status.store_rows_per_s.store(rate(now.1, last.1), Ordering::Relaxed);
            self.status.store_bytes_per_s.store(rate(now.2, last.2), Ordering::Relaxed);
            last = now;
            tokio::time::sleep(KEEP_EVERY).await;
        }
    }

    /// One pass: drop what retention lets go. True when over the disk high-water mark.
    fn keep(&self) -> bool {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        match self.log.retain(&self.retention, (self.oldest_checkpoint)(), now) {
            Ok(Some(seq)) => tracing::debug!(project = %self.project, seq, "store dropped records before"),
            Ok(None) => {}
            Err(e) => tracing::warn!(project = %self.project, error = %e, "store retention failed"),
        }
        if self.log.disk_bytes() <= self.max_disk_bytes {
            return false;
        }
        // What retention dropped may still take space: reclaim it, then look again.
        if let Err(e) = self.log.reclaim() {
            tracing::warn!(project = %self.project, error = %e, "store could not reclaim space");
        }
        self.log.disk_bytes() > self.max_disk_bytes
    }
}

/// The default disk high-water mark: 80% of the free space where the store lives.
pub fn default_max_disk_bytes(dir: &std::path::Path) -> u64 {
    match rustix::fs::statvfs(dir) {
        Ok(fs) => fs.f_bavail.saturating_mul(fs.f_frsize) / 5 * 4,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot read the free space: no disk high-water mark");
            u64::MAX
        }
    }
}
