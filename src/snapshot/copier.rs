//! The copier: reads each planned table in chunks of its key's order, each in a consistent
//! snapshot (`source::mysql::snapshot::PageReader::page_at`), and hands them to the store, which
//! merges them into its log ([`super::merge::Merge`]). At most `parallelism` chunks are read
//! ahead of the log; a lost connection is retried from the last chunk handed over.
//!
//! Invariants:
//! - A chunk's window is open in the store before the chunk is read.
//! - Chunks of a table are handed over in key order; the progress with each is the table's
//!   once that chunk is in the log.

use super::progress::TableProgress;
use super::window::Chunk;
use crate::meta::SnapshotOptions;
use crate::model::{Position, TableName, TableSchema, Value};
use crate::source::mysql::snapshot::PageReader;
use crate::source::mysql::{self, MysqlConfig, SourceError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the copier asks of the store.
#[derive(Debug)]
pub enum ToStore {
    /// Open a window on the next chunk of a table (by `key`'s columns); reply with its id.
    Open { table: crate::model::TableName, key: Vec<usize>, reply: oneshot::Sender<u64> },
    /// The chunk window `id` was opened for, read.
    Read { id: u64, chunk: Chunk, pending: Pending },
    /// The read of window `id`'s chunk failed: close it.
    Cancel { id: u64 },
}

/// A chunk read, as the store appends it.
#[derive(Debug)]
pub struct Pending {
    pub schema: Arc<TableSchema>,
    /// The table's progress once this chunk is in the log.
    pub progress: TableProgress,
    /// Told once the chunk is in the log.
    pub appended: oneshot::Sender<()>,
}

pub struct Copier {
    pub source: MysqlConfig,
    pub options: SnapshotOptions,
    pub to_store: mpsc::Sender<ToStore>,
}

/// The tables `filter` selects on the source, each not copied yet, with the server's estimate
/// of its rows.
pub async fn plan(
    source: &MysqlConfig,
    filter: &crate::source::TableFilter,
) -> Result<Vec<TableProgress>, SourceError> {
    let tables = mysql::list_tables(source, filter).await?;
    let mut reader = PageReader::open(source).await?;
    let mut plan = Vec::with_capacity(tables.len());
    let mut result = Ok(());
    for t in tables {
        match reader.estimate(&t.name).await {
            Ok(rows) => plan.push(TableProgress::planned(t.name, rows)),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    reader.close().await;
    result.map(|()| plan)
}

/// `tables`, none copied yet, with the server's estimate of their rows where it answers (0
/// where not: the estimate only shows progress).
pub async fn estimate(source: &MysqlConfig, tables: Vec<TableName>) -> Vec<TableProgress> {
    let mut reader = PageReader::open(source).await.ok();
    let mut plan = Vec::with_capacity(tables.len());
    for table in tables {
        let rows = match reader.as_mut() {
            Some(r) => r.estimate(&table).await.unwrap_or(0),
            None => 0,
        };
        plan.push(TableProgress::planned(table, rows));
    }
    if let Some(reader) = reader {
        reader.close().await;
    }
    plan
}

/// The store went away (it is restarting): the copier ends, and starts again with it.
struct StoreGone;

impl Copier {
    /// Copies every table of `tables` not done yet, once `live` says the store's stream is
    /// reading (a chunk read before the stream's start would miss the changes in between).
    /// `Ok` also when the store went away.
    pub async fn run(
        self,
        tables: Vec<TableProgress>,
        live: oneshot::Receiver<()>,
    ) -> Result<(), SourceError> {
        if live.await.is_err() {
            return Ok(());
        }
        let mut in_flight = VecDeque::new();
        let mut backoff = Duration::from_millis(500);
        for mut progress in tables.into_iter().filter(|p| !p.done) {
            let mut redefined = 0;
            loop {
                match self.copy(&mut progress, &mut in_flight).await {
                    Ok(Ok(())) => break,
                    Ok(Err(StoreGone)) => return Ok(()),
                    Err(SourceError::DefinitionChanged { table }) if redefined < 5 => {
                        redefined += 1;
                        tracing::info!(%table, "definition changed during its full sync: reading it again");
                    }
                    Err(e) if e.is_transient() => {
                        tracing::warn!(table = %progress.table, error = %e, ?backoff, "full sync read interrupted, retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                    Err(e) if self.gone(&progress.table).await => {
                        tracing::info!(table = %progress.table, error = %e, "table dropped during its full sync: nothing more to copy");
                        match self.finish(&mut progress, &mut in_flight).await {
                            Ok(()) => break,
                            Err(StoreGone) => return Ok(()),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        for appended in in_flight {
            if appended.await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The table no longer exists on the source (as far as it can tell).
    async fn gone(&self, table: &TableName) -> bool {
        let Ok(mut reader) = PageReader::open(&self.source).await else { return false };
        let exists = reader.exists(table).await;
        reader.close().await;
        matches!(exists, Ok(false))
    }

    /// Marks `progress`'s table done without another row (an empty chunk carries its progress).
    async fn finish(
        &self,
        progress: &mut TableProgress,
        in_flight: &mut VecDeque<oneshot::Receiver<()>>,
    ) -> Result<(), StoreGone> {
        progress.done = true;
        let (reply, id) = oneshot::channel();
        let open = ToStore::Open { table: progress.table.clone(), key: Vec::new(), reply };
        self.to_store.send(open).await.map_err(|_| StoreGone)?;
        let id = id.await.map_err(|_| StoreGone)?;
        let (appended, done) = oneshot::channel();
        let schema = Arc::new(TableSchema {
            name: progress.table.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
        });
        let pending = Pending { schema, progress: progress.clone(), appended };
        // Read "nowhere": the stream is past it already.
        let chunk = Chunk { at: Position { file: String::new(), pos: 0, gtid: None }, rows: Vec::new() };
        self.to_store.send(ToStore::Read { id, chunk, pending }).await.map_err(|_| StoreGone)?;
        in_flight.push_back(done);
        Ok(())
    }

    /// Reads `progress`'s table from where it stands to its end, handing each chunk over.
    async fn copy(
        &self,
        progress: &mut TableProgress,
        in_flight: &mut VecDeque<oneshot::Receiver<()>>,
    ) -> Result<Result<(), StoreGone>, SourceError> {
        let schema = Arc::new(mysql::table_schema(&self.source, &progress.table).await?);
        let mut reader = PageReader::open(&self.source).await?;
        let result = async {
            let key = reader.key(&schema).await?;
            let keyed = TableSchema { primary_key: key.clone(), ..(*schema).clone() };
            let limit = self.options.chunk_rows as usize;
            loop {
                while in_flight.len() >= self.options.parallelism as usize {
                    if in_flight.pop_front().expect("in flight").await.is_err() {
                        return Ok(Err(StoreGone));
                    }
                }
                let (reply, id) = oneshot::channel();
                let open = ToStore::Open { table: progress.table.clone(), key: key.clone(), reply };
                let Ok(id) = (match self.to_store.send(open).await {
                    Ok(()) => id.await.map_err(|_| StoreGone),
                    Err(_) => Err(StoreGone),
                }) else {
                    return Ok(Err(StoreGone));
                };
                let (at, rows) = match reader.page_at(&keyed, progress.last_key.as_deref(), limit).await {
                    Ok(read) => read,
                    Err(e) => {
                        let _ = self.to_store.send(ToStore::Cancel { id }).await;
                        return Err(e);
                    }
                };
                progress.copied_rows += rows.len() as u64;
                progress.chunks += 1;
                progress.done = rows.len() < limit;
                if let Some(last) = rows.last() {
                    progress.last_key = Some(key.iter().map(|&i| last[i].clone()).collect::<Vec<Value>>());
                }
                let (appended, done) = oneshot::channel();
                let pending = Pending { schema: schema.clone(), progress: progress.clone(), appended };
                if self.to_store.send(ToStore::Read { id, chunk: Chunk { at, rows }, pending }).await.is_err()
                {
                    return Ok(Err(StoreGone));
                }
                in_flight.push_back(done);
                if progress.done {
                    return Ok(Ok(()));
                }
            }
        }
        .await;
        reader.close().await;
        result
    }
}
