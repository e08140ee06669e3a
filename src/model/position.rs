//! Where a change came from in the source, and how far a destination has acknowledged.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A resume point in the source binlog: the end of a committed transaction (or a DDL).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Position {
    pub file: String,
    pub pos: u64,
    /// MariaDB GTID state after this transaction (`domain-server-seq[,...]`), when known.
    pub gtid: Option<String>,
}

impl Position {
    /// After `other` in the binlog (file names of one server sort in order).
    pub fn is_after(&self, other: &Position) -> bool {
        (self.file.as_str(), self.pos) > (other.file.as_str(), other.pos)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)?;
        if let Some(g) = &self.gtid {
            write!(f, " (gtid {g})")?;
        }
        Ok(())
    }
}

/// What a connector has delivered, acknowledged by the destination, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Sequence number, in the project's change log, of the last acknowledged transaction end.
    pub seq: u64,
    /// The source position of that transaction end: where a new store would resume.
    pub position: Position,
    /// Commit time (unix seconds) of that transaction: the project's sync timestamp.
    pub commit_ts: u32,
    /// Row changes and message bytes delivered since the project started.
    pub rows: u64,
    pub bytes: u64,
    /// Row changes delivered per table (`db.table`).
    pub tables: std::collections::BTreeMap<String, u64>,
    /// Per table (`db.table`): its inserts, updates and deletes and when it last changed.
    /// Counted since checkpoints carried them (Ferry 0.6); `tables` counts from the start.
    #[serde(default)]
    pub changes: std::collections::BTreeMap<String, TableChanges>,
}

/// One table's delivered changes by operation, and the commit time of its last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableChanges {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Commit time (unix seconds) of the last transaction that changed it.
    pub last_ts: u32,
}

impl TableChanges {
    pub fn add(&mut self, op: super::Op, rows: u64) {
        match op {
            // A copied row counts as inserted.
            super::Op::Insert | super::Op::Read => self.inserted += rows,
            super::Op::Update => self.updated += rows,
            super::Op::Delete => self.deleted += rows,
        }
    }

    /// Every change counted.
    pub fn rows(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }

    /// Adds `other`'s counts; the later of the two times.
    pub fn merge(&mut self, other: &TableChanges) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.last_ts = self.last_ts.max(other.last_ts);
    }
}
