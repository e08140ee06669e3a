//! MySQL and OceanBase (MySQL tenant) destinations: each change applied as statements, by
//! primary key, over a few connections (lanes) at once.
//!
//! Invariants:
//! - Idempotent: an insert or update writes the whole row (`INSERT ... ON DUPLICATE KEY
//!   UPDATE`), a delete removes the key; replaying changes in order ends in the same rows.
//! - Checkpointed after its rows: source transactions are grouped into target transactions,
//!   one per lane; the other lanes commit first, then lane 0's, which also writes the
//!   connector's position into `__ferry.checkpoints`. Only whole source transactions commit.
//!   A restart skips what that row says the target holds; a crash between the lanes' commits
//!   replays from the previous checkpoint, which ends in the same rows (idempotent).
//! - Fenced: the checkpoint row carries the run's epoch; a run finding a newer one there
//!   rolls back and stops.
//! - Per-key order: a key's changes always go through the same lane, in their log order (runs
//!   of upserts and of deletes, each merged into multi-row statements). A target table with
//!   another unique key or a foreign key goes through lane 0 only.

mod config;
mod ddl;
mod sink;
mod sql;
#[cfg(test)]
mod tests;

pub use config::{DatabaseKind, DatabaseSinkConfig, META_DATABASE};
pub use sink::DatabaseSink;
