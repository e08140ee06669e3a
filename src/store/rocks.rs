//! [`ChangeLog`] on a RocksDB instance of its own per project (`<data>/stores/<project>`), so
//! releasing a project is deleting a directory.

use super::Retention;
use super::{ChangeLog, StoreError};
use crate::model::{Position, Record, TableName, TableSchema, TxEnd};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const CF_LOG: &str = "log";
const CF_SCHEMAS: &str = "schemas";
const CF_STATE: &str = "state";
/// One entry per append that ended a transaction: its sequence -> [`IndexEntry`]. What
/// retention cuts at and resets look up, without reading the records.
const CF_INDEX: &str = "index";
/// The source's schema history (`source::mysql::SchemaHistory`): opaque entries, kept with the
/// log they decode.
const CF_HISTORY: &str = "history";
/// A full sync's progress, one entry per table (opaque here, `snapshot::TableProgress`), written
/// in the same batch as the chunk it counts.
const CF_SNAPSHOT: &str = "snapshot";
const KEY_STATE: &[u8] = b"state";

/// Raw entries of a column family.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

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

/// The end of the last transaction of one append, with the log's size up to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Commit time (unix seconds).
    pub ts: u32,
    pub position: Position,
    /// Bytes of every record appended through this sequence, since the log began.
    pub bytes: u64,
}

/// What the log still holds, from the oldest transaction end it keeps to the newest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Retained {
    pub oldest_seq: u64,
    pub oldest_ts: u32,
    pub newest_seq: u64,
    pub newest_ts: u32,
    pub bytes: u64,
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
    /// Bytes of every record appended through `last_seq`, since the log began.
    bytes: AtomicU64,
    /// The oldest index entry kept (None: the log has no complete transaction).
    oldest: Mutex<Option<(u64, IndexEntry)>>,
    /// Retention never drops record this sequence or later (a reset on its way).
    pin: AtomicU64,
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("store types serialize")
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(seq: u64, bytes: &[u8]) -> Result<T, StoreError> {
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
        let cfs = [CF_LOG, CF_SCHEMAS, CF_STATE, CF_INDEX, CF_HISTORY, CF_SNAPSHOT].map(|name| {
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
        let log = Self::load(db)?;
        log.drop_uncommitted_tail()?;
        Ok(log)
    }

    /// Opens the log of a store that is not running (a paused or failed project's) to look
    /// up reset points: read only, so a store starting meanwhile is not in its way.
    pub fn open_read_only(dir: &Path) -> Result<Self, StoreError> {
        if !dir.join("CURRENT").exists() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no store at {}", dir.display()),
            )));
        }
        let cfs = [CF_LOG, CF_SCHEMAS, CF_STATE, CF_INDEX, CF_HISTORY];
        let db = DB::open_cf_for_read_only(&Options::default(), dir, cfs, false)?;
        Self::load(db)
    }

    fn load(db: DB) -> Result<Self, StoreError> {
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
            bytes: AtomicU64::new(0),
            oldest: Mutex::new(None),
            pin: AtomicU64::new(u64::MAX),
        };
        *log.oldest.lock().unwrap_or_else(|p| p.into_inner()) =
            log.index(IteratorMode::Start).next().transpose()?;
        let bytes = log.index(IteratorMode::End).next().transpose()?.map_or(0, |(_, e)| e.bytes);
        log.bytes.store(bytes, Ordering::Release);
        Ok(log)
    }

    /// Index entries in `mode`'s order (`Start`: oldest first; `End`: newest first).
    fn index(&self, mode: IteratorMode) -> impl Iterator<Item = Result<(u64, IndexEntry), StoreError>> + '_ {
        self.db.iterator_cf(self.cf(CF_INDEX), mode).map(|item| {
            let (k, v) = item?;
            let seq = key_seq(&k)?;
            Ok((seq, decode(seq, &v)?))
        })
    }

    /// What the log holds: from its oldest transaction end to its newest, and their bytes.
    pub fn retained(&self) -> Retained {
        let state = self.state();
        let oldest = self.oldest.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some((oldest_seq, entry)) = oldest else {
            return Retained {
                oldest_seq: state.committed_seq,
                newest_seq: state.committed_seq,
                ..Default::default()
            };
        };
        Retained {
            oldest_seq,
            oldest_ts: entry.ts,
            newest_seq: state.committed_seq,
            newest_ts: state.committed_ts,
            bytes: self.bytes.load(Ordering::Acquire).saturating_sub(entry.bytes),
        }
    }

    /// Drops what is outside `policy`'s window and before `keep_from` (the oldest checkpoint of
    /// the project's connectors), keeping the transaction end it cuts at so a checkpoint there
    /// still finds its record. Returns the new oldest sequence when it dropped anything.
    pub fn retain(
        &self,
        policy: &Retention,
        keep_from: u64,
        now_secs: u64,
    ) -> Result<Option<u64>, StoreError> {
        let keep_from = keep_from.min(self.pin.load(Ordering::Acquire));
        let total = self.bytes.load(Ordering::Acquire);
        let cutoff = now_secs.saturating_sub(policy.max_age_secs);
        let mut cut: Option<(u64, IndexEntry)> = None;
        for entry in self.index(IteratorMode::Start) {
            let (seq, e) = entry?;
            let outside = u64::from(e.ts) < cutoff || total.saturating_sub(e.bytes) >= policy.max_bytes;
            if seq > keep_from || !outside {
                break;
            }
            cut = Some((seq, e));
        }
        let oldest = self.oldest_seq();
        let Some((seq, entry)) = cut.filter(|(seq, _)| Some(*seq) != oldest) else {
            return Ok(None);
        };
        let (from, to) = (0u64.to_be_bytes(), seq.to_be_bytes());
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_LOG), from, to);
        batch.delete_range_cf(self.cf(CF_INDEX), from, to);
        self.db.write(batch)?;
        *self.oldest.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, entry));
        Ok(Some(seq))
    }

    fn oldest_seq(&self) -> Option<u64> {
        self.oldest.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(seq, _)| *seq)
    }

    /// Keeps retention from dropping record `seq` and later until the log is reopened (a
    /// connector is being reset there).
    pub fn pin(&self, seq: u64) {
        self.pin.fetch_min(seq, Ordering::AcqRel);
    }

    /// The checkpoint a connector restarts from to resend every transaction committed at or
    /// after `ts` (unix seconds): the last transaction end before them. None when the log no
    /// longer holds it (or holds nothing committed that late).
    pub fn end_before(&self, ts: u32) -> Result<Option<(u64, TxEnd)>, StoreError> {
        self.find_end(|e| e.ts >= ts, |end| end.ts >= ts)
    }

    /// The transaction end at `position` (file and offset), if the log holds it.
    pub fn end_at(&self, file: &str, pos: u64) -> Result<Option<(u64, TxEnd)>, StoreError> {
        let after = |p: &Position| (p.file.as_str(), p.pos) > (file, pos);
        let found = self.find_end(|e| after(&e.position), |end| after(&end.position))?;
        Ok(found.filter(|(_, end)| end.position.file == file && end.position.pos == pos))
    }

    /// The last transaction end before the first one `past` says is too far: the index finds
    /// the append it lies in, the records give the exact end.
    fn find_end(
        &self,
        index_past: impl Fn(&IndexEntry) -> bool,
        past: impl Fn(&TxEnd) -> bool,
    ) -> Result<Option<(u64, TxEnd)>, StoreError> {
        let mut start = None;
        for entry in self.index(IteratorMode::Start) {
            let (seq, e) = entry?;
            if index_past(&e) {
                break;
            }
            start = Some((seq, TxEnd { position: e.position, ts: e.ts }));
        }
        let Some(mut found) = start else { return Ok(None) };
        let committed = self.state().committed_seq;
        let mut next = found.0 + 1;
        while next <= committed {
            let records = self.read_from(next, 1024, 8 << 20)?;
            let Some((last, _)) = records.last() else { break };
            next = last + 1;
            for (seq, record) in records {
                if let Record::TxEnd(end) | Record::Heartbeat(end) = record {
                    if seq > committed || past(&end) {
                        return Ok(Some(found));
                    }
                    found = (seq, end);
                }
            }
        }
        Ok(Some(found))
    }

    /// Bytes of every record appended since the log began (dropped ones too).
    pub fn appended_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    /// Gives the disk space of dropped records back now rather than at some later compaction:
    /// writes the memtable out (so the write-ahead log behind it can go) and compacts the
    /// dropped range. For when the disk is short; compactions reclaim it in time anyway.
    pub fn reclaim(&self) -> Result<(), StoreError> {
        self.db.flush_cf(self.cf(CF_LOG))?;
        if let Some(seq) = self.oldest_seq() {
            self.db.compact_range_cf(self.cf(CF_LOG), None::<&[u8]>, Some(&seq.to_be_bytes()[..]));
        }
        Ok(())
    }

    /// Every schema history entry saved.
    pub fn history_entries(&self) -> Result<KeyValues, StoreError> {
        self.entries(CF_HISTORY)
    }

    /// A full sync's progress entries, by key.
    pub fn snapshot_entries(&self) -> Result<KeyValues, StoreError> {
        self.entries(CF_SNAPSHOT)
    }

    /// Saves full sync progress entries without records (a plan).
    pub fn put_snapshot_entries(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (k, v) in entries {
            batch.put_cf(self.cf(CF_SNAPSHOT), k, v);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// [`ChangeLog::append`] with a full sync progress entry, in the same write: the records
    /// and the progress that counts them are saved together or not at all.
    pub fn append_snapshot(&self, records: &[Record], key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
        self.write(records, None, Some((key, value)))
    }

    fn entries(&self, cf: &str) -> Result<KeyValues, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf), IteratorMode::Start) {
            let (k, v) = item?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Saves a schema history entry.
    pub fn put_history_entry(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db.put_cf(self.cf(CF_HISTORY), key, value)?;
        Ok(())
    }

    /// Bytes the store's files take on disk.
    pub fn disk_bytes(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(self.db.path())
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
        // Bytes appended so far, as of the last transaction end (the newest index entry).
        let bytes = self.index(IteratorMode::End).next().transpose()?.map_or(0, |(_, e)| e.bytes);
        self.bytes.store(bytes, Ordering::Release);
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

    /// Calls `f` with the stored bytes of records from `from` on, as [`ChangeLog::read_from`]
    /// bounds them. Returns how many.
    fn scan(
        &self,
        from: u64,
        max: usize,
        max_bytes: usize,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        let start = from.to_be_bytes();
        let last = self.last_seq.load(Ordering::Acquire);
        let (mut count, mut bytes) = (0, 0);
        let iter = self.db.iterator_cf(self.cf(CF_LOG), IteratorMode::From(&start, Direction::Forward));
        for item in iter.take(max) {
            let (k, v) = item?;
            let seq = key_seq(&k)?;
            if seq > last || (bytes >= max_bytes && count > 0) {
                break;
            }
            bytes += v.len();
            count += 1;
            f(seq, &v)?;
        }
        Ok(count)
    }

    /// Records as [`ChangeLog::read_from`] reads them, left as stored and framed for another
    /// node ([`super::frames`]). Returns how many.
    pub fn read_framed(
        &self,
        from: u64,
        max: usize,
        max_bytes: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, StoreError> {
        self.scan(from, max, max_bytes, |seq, v| {
            super::frames::put(out, seq, v);
            Ok(())
        })
    }

    /// Appends `records` with the bookkeeping, and `snapshot`'s progress entry, in one batch.
    fn write(
        &self,
        records: &[Record],
        position: Option<&Position>,
        snapshot: Option<(&[u8], &[u8])>,
    ) -> Result<u64, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut seq = self.last_seq.load(Ordering::Acquire);
        let mut bytes = self.bytes.load(Ordering::Acquire);
        let mut batch = WriteBatch::default();
        let log = self.cf(CF_LOG);
        let mut ended = None;
        for record in records {
            seq += 1;
            let value = encode(record);
            bytes += value.len() as u64;
            batch.put_cf(log, seq.to_be_bytes(), value);
            match record {
                Record::Rows(rows) => state.rows = rows.first_row_seq + rows.rows.len() as u64,
                Record::Ddl(_) => {}
                Record::TxEnd(end) | Record::Heartbeat(end) => {
                    state.committed_seq = seq;
                    state.committed_ts = end.ts;
                    state.position = Some(end.position.clone());
                    ended = Some((seq, IndexEntry { ts: end.ts, position: end.position.clone(), bytes }));
                }
            }
        }
        if let Some((at, entry)) = &ended {
            batch.put_cf(self.cf(CF_INDEX), at.to_be_bytes(), encode(entry));
        }
        if let Some(p) = position {
            // A position without records (progress on filtered tables) is a resume point too,
            // as long as no transaction is open.
            if state.committed_seq == seq {
                state.position = Some(p.clone());
            }
        }
        if let Some((k, v)) = snapshot {
            batch.put_cf(self.cf(CF_SNAPSHOT), k, v);
        }
        batch.put_cf(self.cf(CF_STATE), KEY_STATE, encode(&*state));
        self.db.write(batch)?;
        self.bytes.store(bytes, Ordering::Release);
        self.last_seq.store(seq, Ordering::Release);
        if let Some(first) = ended {
            self.oldest.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(first);
        }
        Ok(seq)
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
        self.write(records, position, None)
    }

    fn read_from(&self, from: u64, max: usize, max_bytes: usize) -> Result<Vec<(u64, Record)>, StoreError> {
        let mut out = Vec::with_capacity(max.min(1024));
        self.scan(from, max, max_bytes, |seq, v| {
            out.push((seq, decode(seq, v)?));
            Ok(())
        })?;
        Ok(out)
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
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn end_ts(pos: u64, ts: u32) -> Record {
        Record::TxEnd(TxEnd { position: Position { file: "bin.000001".into(), pos, gtid: None }, ts })
    }

    fn seqs(log: &RocksChangeLog) -> Vec<u64> {
        log.read_from(0, 100, usize::MAX).unwrap().iter().map(|r| r.0).collect()
    }

    /// Four transactions committed at 100, 200, 300 and 400 s, two records each (seqs 1-8).
    fn four_transactions(dir: &Path) -> RocksChangeLog {
        let log = RocksChangeLog::open(dir).unwrap();
        let id = log.schema_id(&schema()).unwrap();
        for (i, ts) in [100u32, 200, 300, 400].into_iter().enumerate() {
            log.append(&[rows(id, i as u64), end_ts(1000 * (i as u64 + 1), ts)], None).unwrap();
        }
        log
    }

    #[test]
    fn retention_drops_only_what_is_old_enough_and_every_connector_passed() {
        let dir = temp("retain");
        let log = four_transactions(&dir);
        let day = Retention { max_age_secs: 150, max_bytes: u64::MAX };
        let all = log.retained();
        assert_eq!((all.oldest_seq, all.oldest_ts, all.newest_seq, all.newest_ts), (2, 100, 8, 400));
        // At 420 s, the transactions of 100 and 200 are older than 150 s; none passed yet.
        assert_eq!(log.retain(&day, 0, 420).unwrap(), None);
        assert_eq!(seqs(&log).len(), 8);
        // A connector at seq 4 (the end of 200): the cut lands on that end and keeps it.
        assert_eq!(log.retain(&day, 4, 420).unwrap(), Some(4));
        assert_eq!(seqs(&log), [4, 5, 6, 7, 8]);
        // Everything passed, but 300 and 400 are inside the window.
        assert_eq!(log.retain(&day, 8, 420).unwrap(), None);
        let kept = log.retained();
        assert_eq!((kept.oldest_seq, kept.oldest_ts, kept.newest_seq), (4, 200, 8));
        assert!(kept.bytes > 0 && kept.bytes < all.bytes, "{kept:?} of {all:?}");
        // By bytes: the last transaction alone fills a window of its size.
        let last_tx = log.retained().bytes / 2;
        let small = Retention { max_age_secs: u64::MAX, max_bytes: last_tx };
        log.pin(6);
        assert_eq!(log.retain(&small, 8, 420).unwrap(), Some(6), "a pinned reset point stays");
        drop(log);
        let log = RocksChangeLog::open(&dir).unwrap();
        assert_eq!(log.retained().oldest_seq, 6, "the cut survives a reopen");
        assert_eq!(log.retain(&small, 8, 420).unwrap(), None, "the last transaction fills the window");
        let none = Retention { max_age_secs: u64::MAX, max_bytes: 0 };
        assert_eq!(log.retain(&none, 8, 420).unwrap(), Some(8));
        assert_eq!(seqs(&log), [8]);
        assert_eq!(log.retained().bytes, 0);
        drop(log);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn resets_find_the_transaction_end_before_a_time_or_at_a_position() {
        let dir = temp("reset");
        let log = four_transactions(&dir);
        let at = |found: Option<(u64, TxEnd)>| found.map(|(seq, end)| (seq, end.ts));
        // To resend what committed at 250 s or later: restart after the end of 200.
        assert_eq!(at(log.end_before(250).unwrap()), Some((4, 200)));
        assert_eq!(at(log.end_before(300).unwrap()), Some((4, 200)));
        assert_eq!(at(log.end_before(301).unwrap()), Some((6, 300)));
        assert_eq!(at(log.end_before(9999).unwrap()), Some((8, 400)));
        assert_eq!(at(log.end_before(100).unwrap()), None, "nothing ends before the oldest");
        assert_eq!(at(log.end_at("bin.000001", 3000).unwrap()), Some((6, 300)));
        assert_eq!(at(log.end_at("bin.000001", 2500).unwrap()), None, "not a transaction end");
        log.retain(&Retention { max_age_secs: 0, max_bytes: u64::MAX }, 4, 1000).unwrap();
        assert_eq!(at(log.end_before(250).unwrap()), Some((4, 200)));
        assert_eq!(at(log.end_before(200).unwrap()), None, "dropped");
        assert_eq!(at(log.end_at("bin.000001", 1000).unwrap()), None, "dropped");
        drop(log);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_stopped_store_is_read_for_resets_beside_a_writer() {
        let dir = temp("read-only");
        assert!(RocksChangeLog::open_read_only(&dir).is_err(), "no store there yet");
        let log = four_transactions(&dir);
        // The writer still has it open: a read-only look finds the same ends.
        let look = RocksChangeLog::open_read_only(&dir).unwrap();
        assert_eq!(look.end_before(301).unwrap().map(|(seq, end)| (seq, end.ts)), Some((6, 300)));
        assert_eq!(look.retained(), log.retained());
        drop((look, log));
        let look = RocksChangeLog::open_read_only(&dir).unwrap();
        assert_eq!(look.end_at("bin.000001", 3000).unwrap().map(|(seq, _)| seq), Some(6));
        drop(look);
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
