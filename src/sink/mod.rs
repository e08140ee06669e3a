//! Destinations. A destination is a config half that builds the running half, a [`Sink`], from
//! a [`SinkContext`]; each lives in a folder of its own with the same files (`config.rs`,
//! `sink.rs`, `tests.rs`) and is listed once, in [`Destination`].
//!
//! The seam: the connector hands a sink typed row changes ([`RowsBatch`]es of a table it
//! opened), DDL and transaction ends, in the change log's order; the sink encodes and writes
//! them its own way (message destinations through [`message::MessageSink`] and a codec,
//! databases as statements). Every write says how many deliveries of its record the
//! destination will confirm; the sink reports each through [`Acknowledge`].
//!
//! The checkpoint rule: a sink acknowledges a delivery only once the destination has it.

pub mod database;
pub mod datahub;
pub mod kafka;
pub mod message;
pub mod rocketmq;

use crate::codec::{CodecContext, Format};
use crate::meta::Partition;
use crate::model::{DdlRecord, Position, RowsBatch, TableSchema, TxEnd};
use crate::source::{Routes, TableFilter};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

pub use crate::pipeline::ack::AckTracker;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying after a pause (broker down, timeouts).
    #[error("destination unavailable: {0}")]
    Unavailable(String),
    /// Needs the user (bad topic name, authorization, message too large).
    #[error("destination refused: {0}")]
    Refused(String),
    /// The run's permit is gone (its node's lease lapsed, or the project moved): nothing more
    /// may be written.
    #[error("this run may no longer write to the destination")]
    Revoked,
    /// The connector is stopping and the destination takes nothing more for now: what is
    /// queued is dropped (it is in no checkpoint, so it is sent again after the restart).
    #[error("stopping while the destination takes nothing more")]
    Interrupted,
}

/// Whether a run may still write: asked before every write is handed to the destination,
/// also after waiting for room, so a run paused mid-send never writes once it lost its turn.
pub trait Permit: Send + Sync {
    fn granted(&self) -> bool;

    /// The connector is stopping: a sink waiting for room gives up ([`SinkError::Interrupted`])
    /// instead of waiting on.
    fn stopping(&self) -> bool {
        false
    }
}

/// Where a sink reports what the destination confirmed. Deliveries of a record may be
/// confirmed in any order, and before the connector has counted the record in.
pub trait Acknowledge: Send + Sync {
    /// One delivery of change log record `seq` is in the destination.
    fn ack(&self, seq: u64);
    /// A delivery failed for good: the connector stops; [`SinkError::Refused`] fails the
    /// project, anything else restarts the connector from its checkpoint.
    fn fail(&self, error: SinkError);
}

/// What one write put out: the deliveries of its record the sink will acknowledge, and their
/// size in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub deliveries: u32,
    pub bytes: u64,
}

/// A table the sink opened: the index `rows` names it by.
pub type TableId = usize;

pub type SinkFuture<'a, T> = BoxFuture<'a, Result<T, SinkError>>;

/// A running destination. The connector calls it from one task, in the change log's order:
/// `open` once per table schema, then `rows`, `ddl` and `end` per record.
pub trait Sink: Send {
    /// Prepares the destination of a synced table (its topic, its target table) for rows
    /// decoded with `schema`.
    fn open(&mut self, schema: Arc<TableSchema>) -> SinkFuture<'_, TableId>;

    /// Writes the changes of record `seq`, all of table `table`, if `permit` is granted.
    fn rows<'a>(
        &'a mut self,
        table: TableId,
        batch: &'a RowsBatch,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written>;

    /// Writes DDL record `seq` wherever the destination keeps DDL.
    fn ddl<'a>(&'a mut self, ddl: &'a DdlRecord, seq: u64, permit: &'a dyn Permit)
        -> SinkFuture<'a, Written>;

    /// The transaction (or, with `heartbeat`, an idle source's heartbeat) ends at record `seq`.
    fn end<'a>(
        &'a mut self,
        end: &'a TxEnd,
        heartbeat: bool,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written>;

    /// The connector has read everything there is for now: write out what is held back for
    /// batching (a database commits the transactions it grouped).
    fn sync<'a>(&'a mut self, permit: &'a dyn Permit) -> SinkFuture<'a, ()>;

    /// Writes out what is held and waits until everything written is acknowledged, or
    /// `timeout` passes.
    fn flush(&mut self, timeout: Duration) -> SinkFuture<'_, ()>;

    /// Drops what is queued and not yet written: this run may no longer write.
    fn abandon(&mut self);

    /// The source position up to which the destination itself records holding every change
    /// (a database keeps it in the target, written with the changes), if it does.
    fn holds_through(&mut self) -> SinkFuture<'_, Option<Position>> {
        Box::pin(async { Ok(None) })
    }
}

/// Everything a sink may use besides its destination's own config. Fixed for a run.
pub struct SinkContext {
    pub project: String,
    /// The connector's id in the project.
    pub connector: String,
    /// The placement epoch of the run.
    pub epoch: u64,
    pub acks: Arc<dyn Acknowledge>,
    /// The project's objects: which tables are synced, and their topics.
    pub filter: Arc<TableFilter>,
    /// The connector's topic pattern for every synced table; none: the objects' own.
    pub topic: Option<String>,
    /// Where each source table lands (merged shards, renamed tables and columns).
    pub routes: Arc<Routes>,
    /// Where the connector resumes by its replicated checkpoint.
    pub resume: Position,
    /// The project's creation time (ms): tells its records in a destination from those of an
    /// earlier project of the same name.
    pub incarnation: u64,
    pub format: Format,
    pub codec: CodecContext,
    pub partition: Partition,
    /// Partitions of topics Ferry creates.
    pub topic_partitions: u32,
    /// Write an UPDATE that changes the primary key as DELETE + INSERT.
    pub split_key_updates: bool,
    /// How long a delivery may take before it counts as failed: bounded by the node's lease,
    /// so a paused node's queued writes expire before its successor starts.
    pub delivery_timeout: Duration,
}

/// Every destination Ferry writes to: the one place that lists them.
#[derive(Debug, Clone)]
pub enum Destination {
    Kafka(kafka::KafkaSinkConfig),
    Database(database::DatabaseSinkConfig),
    Datahub(datahub::DatahubSinkConfig),
    Rocketmq(rocketmq::RocketmqSinkConfig),
}

impl Destination {
    /// Starts the destination's sink for a run.
    pub fn build(&self, ctx: SinkContext) -> Result<Box<dyn Sink>, SinkError> {
        match self {
            Destination::Kafka(config) => Ok(Box::new(config.build(ctx)?)),
            Destination::Database(config) => Ok(Box::new(config.build(ctx)?)),
            Destination::Datahub(config) => Ok(Box::new(config.build(ctx)?)),
            Destination::Rocketmq(config) => Ok(Box::new(config.build(ctx)?)),
        }
    }
}

/// FNV-1a, 64 bit: the stable hash behind the `hash` and `table` partition rules.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}
