//! Change sources. A source streams [`SourceEvent`]s from a start point until it is stopped or
//! fails; the store appends them to the project's change log. `mysql` reads MySQL/MariaDB binlog.
//!
//! Invariant: events arrive in binlog order; a [`TxEnd`] follows the last rows of every
//! transaction and is the only resume point.

pub mod dbp;
pub mod filter;
pub mod mysql;
pub mod routes;
pub mod row_filter;
pub mod shape;
pub mod shards;

use crate::model::{DdlRecord, Position, RowsBatch, TableSchema, TxEnd};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use dbp::ShardedTables;
pub use filter::TableFilter;
pub use routes::{RouteRule, Routes};

/// Where a project's first read starts. (The HTTP API accepts `{"from":"now"}`,
/// `{"file","pos"}`, `{"gtid"}` or `{"timestamp"}` and turns them into this.)
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum StartPoint {
    /// The source's current end of binlog.
    #[default]
    Now,
    FilePos {
        file: String,
        pos: u64,
    },
    /// After this MariaDB GTID state (`domain-server-seq[,...]`).
    Gtid {
        gtid: String,
    },
    /// The first binlog file with events at or after this unix time (seconds).
    Timestamp {
        timestamp: u64,
    },
}

/// One decoded event, with the schema it was decoded against.
#[derive(Debug, Clone)]
pub enum SourceEvent {
    /// `batch.schema_id` is left 0: the store assigns ids from its schema registry.
    Rows {
        schema: Arc<TableSchema>,
        batch: RowsBatch,
    },
    TxEnd(TxEnd),
    /// A DDL statement on synced tables; a `TxEnd` (its resume point) follows.
    Ddl(DdlRecord),
    /// A synced table's rows are no longer decoded (a DDL Ferry could not follow): reported
    /// once per stream, at its first rows since.
    TableStopped {
        table: crate::model::TableName,
        reason: String,
    },
    /// Schema history entries the reader saved in the store: replicate them before appending
    /// what follows (rows decoded with them).
    SchemaHistory(Vec<(Vec<u8>, Vec<u8>)>),
    /// XA transactions prepared and awaiting their outcome changed (`None`: none left).
    XaPrepared(Option<XaPrepared>),
    /// The source is alive at `position` (no data for filtered tables, heartbeats).
    Progress {
        position: Position,
        ts: u32,
    },
    /// Every event before this position was delivered (an idle server's heartbeat): what a
    /// full sync waits for before a chunk read there goes into the log. Not a resume point.
    Passed(Position),
}

/// XA transactions prepared and awaiting their outcome. Their rows are held, and a restart
/// reads the source again from before the oldest one: one left prepared for long holds both.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct XaPrepared {
    pub transactions: usize,
    /// The oldest one's XA id (gtrid, then `,bqual` when there is one).
    pub oldest_xid: String,
    /// When it was prepared (unix seconds, the source's clock).
    pub oldest_prepared_at: u32,
}

/// A problem a check found, with what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// Stable identifier, e.g. `binlog_format`.
    pub check: String,
    pub ok: bool,
    /// What was found.
    pub message: String,
    /// How to fix it (empty when ok).
    pub fix: String,
}
