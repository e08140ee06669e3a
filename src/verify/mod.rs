//! Verification of a database destination, as OMS's "full verification": every row of the
//! source tables a project syncs into a MySQL/OceanBase destination compared with the target
//! table it is routed to, by primary key, and what differs written as repair statements.
//!
//! Layout: `plan.rs` (which connector, which tables, grouped by target table), `compare.rs`
//! (values as the binary protocol gives them: equality, checksums, key JSON; pure), `sql.rs`
//! (the statements read and repair with, and SQL literals; pure), `chunk.rs` (reading pages and
//! rows by key), `run.rs` (one verification, table by table), `report.rs` (what it found and
//! how far it is), `registry.rs` (the verifications a node runs), `error.rs`.
//!
//! A sharded (dbp) source is compared shard by shard: each physical table is read on the
//! instance that holds it, and routed to its logical table's target as the stores route it.
//!
//! Invariants:
//! - Nothing is locked and no transaction stays open: each source read is one statement of at
//!   most [`CHUNK_ROWS`] rows in primary-key order (keyset pagination), each target read one
//!   statement by those keys; every session in UTC.
//! - A source table lives on one server: one found on two instances stops the verification.
//! - A difference is reported only if it persists: each missing, extra or different key is
//!   checked again up to [`RECHECKS`] times, [`RECHECK_INTERVAL`] apart, against every source
//!   table routed to the target (sync catching up, a row that moved between shards).
//! - Extra rows are target rows whose key no source table routed there holds, whichever of
//!   them the verification compares.
//! - Repair statements change only the keys reported, and run only when asked (`repair`).
//! - One verification per project at a time; its registry entry is the only writer of its
//!   report.

mod chunk;
mod compare;
mod error;
mod plan;
mod registry;
mod report;
mod run;
mod sql;

pub use error::VerifyError;
pub use plan::{Job, VerifyRequest};
pub use registry::Verifications;
pub use report::{Collision, RepairReport, TableReport, VerifyReport, VerifyState};

use std::time::Duration;

/// Rows read from the source per statement, and keys looked up per statement.
pub const CHUNK_ROWS: usize = 1000;
/// How many times a differing key is checked again before it is reported.
pub const RECHECKS: usize = 3;
/// The pause before each check again.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);
