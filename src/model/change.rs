//! Records of the change log: row batches (one per binlog rows event) and transaction ends.
//! A transaction is the rows records between two [`TxEnd`]s; only a `TxEnd` is a resume point.

use super::Value;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Insert,
    Update,
    Delete,
    /// A row a full sync copied (the table's existing row, not a change). Variants are only
    /// ever added last: older change logs still decode.
    Read,
}

impl Op {
    /// `INSERT`, `UPDATE` or `DELETE`, as the OMS and Canal formats name them.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            // Canal has no word for a copied row; OMS writes it as an insert there.
            Op::Read => "INSERT",
        }
    }
}

/// One row change: `before` for UPDATE/DELETE, `after` for INSERT/UPDATE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowImage {
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
}

/// The rows of one binlog rows event, all of one table and one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsBatch {
    /// Id of the table schema in the change log's schema registry.
    pub schema_id: u64,
    pub op: Op,
    pub rows: Vec<RowImage>,
    /// Binlog file and start offset of the rows event.
    pub file: String,
    pub pos: u64,
    /// Event time, unix seconds.
    pub ts: u32,
    pub server_id: u32,
    /// The transaction's GTID (`domain-server-seq`) when the server has one.
    pub gtid: Option<String>,
    /// Sequence of the first row in this batch, counted over all rows of the store.
    pub first_row_seq: u64,
}

/// The end of a transaction (XID or COMMIT): the next resume point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxEnd {
    pub position: super::Position,
    /// Commit time, unix seconds.
    pub ts: u32,
}

/// What a DDL statement does, in the words each format uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DdlKind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
    CreateIndex,
    DropIndex,
    Other,
}

/// A DDL statement on synced tables, as it goes downstream. It comes before the resume point
/// (a `TxEnd`) that the DDL is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DdlRecord {
    pub kind: DdlKind,
    /// The session's current database when the statement ran.
    pub database: String,
    /// The synced tables it names, in its order.
    pub tables: Vec<super::TableName>,
    pub sql: String,
    /// Binlog file and start offset of the QUERY event.
    pub file: String,
    pub pos: u64,
    /// Event time, unix seconds.
    pub ts: u32,
    pub server_id: u32,
    pub gtid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Rows(RowsBatch),
    TxEnd(TxEnd),
    /// An idle source's heartbeat: a resume point like a transaction end, with no rows before
    /// it; the connector may write a heartbeat message for it.
    Heartbeat(TxEnd),
    /// A DDL statement on synced tables. (Variants are only ever added last: older logs still
    /// decode.)
    Ddl(DdlRecord),
}
