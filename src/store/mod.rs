//! The project's change log: decoded changes the store appends and connectors read.
//!
//! Invariants kept by [`RocksChangeLog`]:
//! - sequence numbers are dense and increase by one per record;
//! - the resume position is saved in the same write batch as the records up to it, so a crash
//!   never leaves a position ahead of the records (nor records of a later transaction counted as
//!   committed); a tail after the last `TxEnd` is dropped at open, since the source re-reads it;
//! - a schema is stored before the first record that refers to it;
//! - the store owns what it keeps: records go only when they are outside the retention window
//!   ([`Retention`]) and every connector's checkpoint has passed them; the transaction end a cut
//!   lands on stays, so a checkpoint there still finds its record.

pub mod frames;
mod rocks;

pub use rocks::{IndexEntry, Retained, RocksChangeLog, StoreState};

use crate::model::{Position, Record, TableSchema};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("change log storage: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("change log record {seq} is corrupt: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("change log has no schema {0}")]
    MissingSchema(u64),
    #[error("change log io: {0}")]
    Io(#[from] std::io::Error),
}

/// What a store writes and a connector reads. One writer (the store), many readers.
pub trait ChangeLog: Send + Sync {
    /// The id of `schema`, registering it if it is new.
    fn schema_id(&self, schema: &Arc<TableSchema>) -> Result<u64, StoreError>;
    fn schema(&self, id: u64) -> Result<Arc<TableSchema>, StoreError>;
    /// Appends `records` (seqs assigned in order) and, when given, the new resume position.
    /// Returns the last sequence number written.
    fn append(&self, records: &[Record], position: Option<&Position>) -> Result<u64, StoreError>;
    /// Records with sequence >= `from`, in order: up to `max` of them, and no more once they
    /// hold `max_bytes` (stored size; the first record always comes, whatever its size).
    fn read_from(&self, from: u64, max: usize, max_bytes: usize) -> Result<Vec<(u64, Record)>, StoreError>;
    /// Last sequence written (0 when empty).
    fn last_seq(&self) -> u64;
}

/// Where the stores of a node with data directory `data_dir` keep their logs.
pub fn stores_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("stores")
}

/// How long and how much the store keeps: a record is outside the window once it is older than
/// `max_age_secs` or the records after it hold `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age_secs: u64,
    pub max_bytes: u64,
}
