//! [`ChangeLog`] on a RocksDB instance of its own per project (`<data>/stores/<project>`), so
//! releasing a project is deleting a directory.

use super::{ChangeLog, StoreError};
use crate::model::{Position, Record, TableName, TableSchema};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const CF_LOG: &str = "log";
const CF_SCHEMAS: &str = "schemas";
const CF_STATE: &str = "state";
const KEY_STATE: &[u8] = b"state";

/// The store's durable bookkeeping, written with every append.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreState {
    /// Where the source resumes: the end of the last transaction appended.
    pub position: Option<Position>,
    /// Sequence of the last record of the last complete transaction.
    pub committed_seq: u64,
    /// Commit time of that transaction (unix seconds).
    pub committed_ts: u32,
    pub next_schema_id: u64,
    /// Rows appended so far (the next row's `storeDataSequence`).
    pub rows: u64,
}

struct Schemas {
    by_id: HashMap<u64, Arc<TableSchema>>,
    by_table: HashMap<TableName, Vec<(Arc<TableSchema>, u64)>>,
    next_id: u64,
}

pub struct RocksChangeLog {
    db: DB,
    last_seq: AtomicU64,
    schemas: Mutex<Schemas>,
    state: Mutex<StoreState>,
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("store types serialize")
}

fn decode<T: for<'de> Deserialize<'de>>(seq: u64, bytes: &[u8]) -> Result<T, StoreError> {
    bincode::serde::decode_from_slice(bytes, config())
        .map(|(v, _)| v)
        .map_err(|e| StoreError::Corrupt { seq, reason: e.to_string() })
}

impl RocksChangeLog {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_write_buffer_size(4 << 20);
        let cfs = [CF_LOG, CF_SCHEMAS, CF_STATE].map(|name| {
            let mut cf = Options::default();
            if name == CF_LOG {
                cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
                // Connectors read what was just written, from the memtable: a small one bounds
                // memory, flushes run in the background.
                cf.set_write_buffer_size(32 << 20);
            }
            ColumnFamilyDescriptor::new(name, cf)
        });
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let state: StoreState = match db.get_cf(db.cf_handle(CF_STATE).expect("cf"), KEY_STATE)? {
            Some(bytes) => decode(0, &bytes)?,
            None => StoreState::default(),
        };
        let mut schemas =
            Schemas { by_id: HashMap::new(), by_table: HashMap::new(), next_id: state.next_schema_id };
        for item in db.iterator_cf(db.cf_handle(CF_SCHEMAS).expect("cf"), IteratorMode::Start) {
            let (k, v) = item?;
            let id = key_seq(&k)?;
            let schema: Arc<TableSchema> = Arc::new(decode(id, &v)?);
            schemas.by_table.entry(schema.name.clone()).or_default().push((schema.clone(), id));
            schemas.by_id.insert(id, schema);
            schemas.next_id = schemas.next_id.max(id + 1);
        }
        let log = Self {
            db,
            last_seq: AtomicU64::new(state.committed_seq),
            schemas: Mutex::new(schemas),
            state: Mutex::new(state),
        };
        log.drop_uncommitted_tail()?;
        Ok(log)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family created at open")
    }

    /// Records after the last complete transaction belong to a transaction the source will
    /// read again from the saved position: remove them, and number what comes next from there.
    /// Done at open and before every reconnect to the source: re-reading from the same position
    /// yields the same records under the same sequence numbers, so a connector that already
    /// read part of the transaction continues where it was, sending nothing twice.
    pub fn drop_uncommitted_tail(&self) -> Result<(), StoreError> {
        let committed = self.state().committed_seq;
        let from = (committed + 1).to_be_bytes();
        let mut tail = self.db.iterator_cf(self.cf(CF_LOG), IteratorMode::From(&from, Direction::Forward));
        if tail.next().is_some() {
            self.db.delete_range_cf(self.cf(CF_LOG), from, u64::MAX.to_be_bytes())?;
            // Rows are numbered again from the end of the last complete transaction.
            let rows = self.rows_through(committed)?;
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(rows) = rows {
                state.rows = rows;
            }
            self.db.put_cf(self.cf(CF_STATE), KEY_STATE, encode(&*state))?;
            tracing::info!(committed, "dropped the change log tail after the last transaction");
        }
        self.last_seq.store(committed, Ordering::Release);
        Ok(())
    }

    /// The row count after the last rows record at or before `seq`, if the log still has one.
    fn rows_through(&self, seq: u64) -> Result<Option<u64>, StoreError> {
        let start = seq.to_be_bytes();
        let iter = self.db.iterator_cf(self.cf(CF_LOG), IteratorMode::From(&start, Direction::Reverse));
        for item in iter {
            let (k, v) = item?;
            let at = key_seq(&k)?;
            if let Record::Rows(rows) = decode(at, &v)? {
                return Ok(Some(rows.first_row_seq + rows.rows.len() as u64));
            }
        }
        Ok(None)
    }

    /// Whether this log continues from a connector checkpoint at `seq`: its record `seq` is the
    /// end of the transaction at `position` (or, freshly rebased, it starts there).
    pub fn agrees_with(&self, seq: u64, position: &Position) -> bool {
        let state = self.state();
        if state.committed_seq < seq {
            return false;
        }
        match self.read_from(seq, 1, 0).ok().and_then(|mut r| r.pop()) {
            Some((s, Record::TxEnd(end) | Record::Heartbeat(end))) if s == seq => end.position == *position,
            Some(_) => false,
            None => state.committed_seq == seq && state.position.as_ref() == Some(position),
        }
    }

    /// Makes an empty log continue the numbering after `seq`, reading the source from
    /// `position` (a store rebuilt from a connector's checkpoint).
    pub fn rebase(&self, seq: u64, position: Position) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.committed_seq = seq;
        state.position = Some(position);
        self.db.put_cf(self.cf(CF_STATE), KEY_STATE, encode(&*state))?;
        self.last_seq.store(seq, Ordering::Release);
        Ok(())
    }

    pub fn state(&self) -> StoreState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn key_seq(key: &[u8]) -> Result<u64, StoreError> {
    key.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt { seq: 0, reason: "key is not 8 bytes".into() })
}

impl ChangeLog for RocksChangeLog {
    fn schema_id(&self, schema: &Arc<TableSchema>) -> Result<u64, StoreError> {
        let mut schemas = self.schemas.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(versions) = schemas.by_table.get(&schema.name) {
            // Newest first: a table usually matches its latest version.
            if let Some((_, id)) =
                versions.iter().rev().find(|(s, _)| Arc::ptr_eq(s, schema) || **s == **schema)
            {
                return Ok(*id);
            }
        }
        let id = schemas.next_id;
        schemas.next_id += 1;
        self.db.put_cf(self.cf(CF_SCHEMAS), id.to_be_bytes(), encode(&**schema))?;
        schemas.by_table.entry(schema.name.clone()).or_default().push((schema.clone(), id));
        schemas.by_id.insert(id, schema.clone());
        self.state.lock().unwrap_or_else(|p| p.into_inner()).next_schema_id = id + 1;
        Ok(id)
    }

    fn schema(&self, id: u64) -> Result<Arc<TableSchema>, StoreError> {
        let schemas = self.schemas.lock().unwrap_or_else(|p| p.into_inner());
        schemas.by_id.get(&id).cloned().ok_or(StoreError::MissingSchema(id))
    }

    fn append(&self, records: &[Record], position: Option<&Position>) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut seq = self.last_seq.load(Ordering::Acquire);
        let mut batch = WriteBatch::default();
        let log = self.cf(CF_LOG);
        for record in records {
            seq += 1;
            batch.put_cf(log, seq.to_be_bytes(), encode(record));
            match record {
                Record::Rows(rows) => state.rows = rows.first_row_seq + rows.rows.len() as u64,
                Record::TxEnd(end) | Record::Heartbeat(end) => {
                    state.committed_seq = seq;
                    state.committed_ts = end.ts;
                    state.position = Some(end.position.clone());
                }
            }
        }
        if let Some(p) = position {
            // A position without records (progress on filtered tables) is a resume point too,
            // as long as no transaction is open.
            if state.committed_seq == seq {
                state.position = Some(p.clone());
            }
        }
        batch.put_cf(self.cf(CF_STATE), KEY_STATE, encode(&*state));
        self.db.write(batch)?;
        self.last_seq.store(seq, Ordering::Release);
        Ok(seq)
    }

    fn read_from(&self, from: u64, max: usize, max_bytes: usize) -> Result<Vec<(u64, Record)>, StoreError> {
        let start = from.to_be_bytes();
        let last = self.last_seq.load(Ordering::Acquire);
        let mut out = Vec::with_capacity(max.min(1024));
        let mut bytes = 0;
        let iter = self.db.iterator_cf(self.cf(CF_LOG), IteratorMode::From(&start, Direction::Forward));
        for item in iter.take(max) {
            let (k, v) = item?;
            let seq = key_seq(&k)?;
            if seq > last || (bytes >= max_bytes && !out.is_empty()) {
                break;
            }
            bytes += v.len();
            out.push((seq, decode(seq, &v)?));
        }
        Ok(out)
    }

    fn truncate_before(&self, seq: u64) -> Result<(), StoreError> {
        self.db.delete_range_cf(self.cf(CF_LOG), 0u64.to_be_bytes(), seq.to_be_bytes())?;
        Ok(())
    }

    fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnKind, Op, RowImage, RowsBatch, TxEnd, Value};

    fn schema() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            name: TableName::new("shop", "orders"),
            columns: vec![Column::new("id", ColumnKind::BigInt)],
            primary_key: vec![0],
        })
    }

    fn rows(schema_id: u64, first_row_seq: u64) -> Record {
        Record::Rows(RowsBatch {
            schema_id,
            op: Op::Insert,
            rows: vec![RowImage { before: None, after: Some(vec![Value::Int(1)]) }],
            file: "bin.000001".into(),
            pos: 100,
            ts: 1,
            server_id: 1,
            gtid: None,
            first_row_seq,
        })
    }

    fn end(pos: u64) -> Record {
        Record::TxEnd(TxEnd { position: Position { file: "bin.000001".into(), pos, gtid: None }, ts: 7 })
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ferry-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn appends_reads_and_reopens_without_the_open_transaction() {
        let dir = temp("reopen");
        {
            let log = RocksChangeLog::open(&dir).unwrap();
            let id = log.schema_id(&schema()).unwrap();
            assert_eq!(log.schema_id(&schema()).unwrap(), id, "equal schemas share an id");
            assert_eq!(log.append(&[rows(id, 0), end(200)], None).unwrap(), 2);
            // A transaction whose end has not arrived yet.
            assert_eq!(log.append(&[rows(id, 1)], None).unwrap(), 3);
            assert_eq!(log.read_from(1, 10, usize::MAX).unwrap().len(), 3);
            assert_eq!(log.state().position.unwrap().pos, 200);
        }
        let log = RocksChangeLog::open(&dir).unwrap();
        assert_eq!(log.last_seq(), 2);
        let read = log.read_from(1, 10, usize::MAX).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1], (2, end(200)));
        assert_eq!(*log.schema(0).unwrap(), *schema());
        assert_eq!(log.append(&[rows(0, 1), end(300)], None).unwrap(), 4);
        log.truncate_before(3).unwrap();
        assert_eq!(log.read_from(0, 10, usize::MAX).unwrap().iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_dropped_tail_is_numbered_again_from_the_last_transaction_end() {
        let dir = temp("rewind");
        let log = RocksChangeLog::open(&dir).unwrap();
        let id = log.schema_id(&schema()).unwrap();
        log.append(&[rows(id, 0), rows(id, 1), end(300)], None).unwrap();
        // Part of the next transaction, then the source connection drops.
        log.append(&[rows(id, 2), rows(id, 3)], None).unwrap();
        assert_eq!((log.last_seq(), log.state().rows), (5, 4));
        log.drop_uncommitted_tail().unwrap();
        assert_eq!((log.last_seq(), log.state().rows, log.state().committed_seq), (3, 2, 3));
        assert!(log.read_from(4, 10, usize::MAX).unwrap().is_empty());
        // Read again from the position, the transaction gets the same numbers.
        let seq = log.append(&[rows(id, log.state().rows), rows(id, 3), end(500)], None).unwrap();
        assert_eq!(seq, 6);
        let again = log.read_from(4, 10, usize::MAX).unwrap();
        assert_eq!(again.len(), 3);
        assert!(matches!(&again[0].1, Record::Rows(r) if r.first_row_seq == 2));
        drop(log);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
