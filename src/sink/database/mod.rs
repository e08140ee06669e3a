//! MySQL and OceanBase (MySQL tenant) destinations: each change applied as statements, by
//! primary key, on one connection.
//!
//! Invariants:
//! - Idempotent: an insert or update writes the whole row (`INSERT ... ON DUPLICATE KEY
//!   UPDATE`), a delete removes the key; replaying changes in order ends in the same rows.
//! - Atomic with its checkpoint: source transactions are grouped into one target transaction
//!   that also writes the connector's position into `__ferry.checkpoints`, and only whole
//!   source transactions commit. A restart skips what that row says the target holds.
//! - Fenced: the checkpoint row carries the run's epoch; a run finding a newer one there
//!   rolls back and stops.
//! - Per-key order: the changes of one target table are applied in their log order (runs of
//!   upserts and of deletes, each merged into multi-row statements).

mod config;
mod sink;
mod sql;
#[cfg(test)]
mod tests;

pub use config::{DatabaseKind, DatabaseSinkConfig, META_DATABASE};
pub use sink::DatabaseSink;
