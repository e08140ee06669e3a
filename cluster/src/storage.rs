//! The durable log and snapshot of a node, in RocksDB column families.
//! Invariant: entries `(snapshot_index, last_index]` are all present; a snapshot write and the
//! truncation of the entries it covers happen in one synced batch.

use crate::ClusterError;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::path::Path;

const CF_LOG: &str = "log";
const CF_STATE: &str = "state";
const KEY_SNAPSHOT: &[u8] = b"snapshot";
const KEY_SNAPSHOT_INDEX: &[u8] = b"snapshot_index";

pub struct LogStorage {
    db: DB,
    sync: WriteOptions,
}

impl LogStorage {
    pub fn open(dir: &Path) -> Result<Self, ClusterError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_LOG, CF_STATE].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(Self { db, sync })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family created at open")
    }

    pub fn append(&self, index: u64, data: &[u8]) -> Result<(), ClusterError> {
        self.db.put_cf_opt(self.cf(CF_LOG), index.to_be_bytes(), data, &self.sync)?;
        Ok(())
    }

    /// The latest snapshot and the index it covers, if one was taken.
    pub fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, ClusterError> {
        let state = self.cf(CF_STATE);
        let Some(idx) = self.db.get_cf(state, KEY_SNAPSHOT_INDEX)? else {
            return Ok(None);
        };
        let index = u64::from_be_bytes(idx.as_slice().try_into().map_err(|_| ClusterError::Corrupt {
            index: 0,
            reason: "snapshot index is not 8 bytes".into(),
        })?);
        let data = self.db.get_cf(state, KEY_SNAPSHOT)?.unwrap_or_default();
        Ok(Some((index, data)))
    }

    /// Entries after `from` (exclusive), in order.
    pub fn entries_after(&self, from: u64) -> Result<Vec<(u64, Vec<u8>)>, ClusterError> {
        let start = (from + 1).to_be_bytes();
        let iter = self
            .db
            .iterator_cf(self.cf(CF_LOG), rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            let index =
                u64::from_be_bytes(k.as_ref().try_into().map_err(|_| ClusterError::Corrupt {
                    index: 0,
                    reason: "log key is not 8 bytes".into(),
                })?);
            out.push((index, v.to_vec()));
        }
        Ok(out)
    }

    /// Stores `data` as the snapshot at `index` and drops the entries it covers, atomically.
    pub fn install_snapshot(&self, index: u64, data: &[u8]) -> Result<(), ClusterError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_STATE), KEY_SNAPSHOT, data);
        batch.put_cf(self.cf(CF_STATE), KEY_SNAPSHOT_INDEX, index.to_be_bytes());
        batch.delete_range_cf(self.cf(CF_LOG), 0u64.to_be_bytes(), (index + 1).to_be_bytes());
        self.db.write_opt(batch, &self.sync)?;
        Ok(())
    }
}
