//! Destinations. Every destination implements [`Sink`]; each lives in its own folder with the
//! same files (`config.rs`, `sink.rs`, `tests.rs`).
//!
//! The checkpoint rule: a sink acknowledges a message (through the [`AckTracker`]) only once
//! the destination has it.

pub mod kafka;

use crate::codec::Message;
use crate::model::TableSchema;
use std::future::Future;

pub use crate::pipeline::ack::AckTracker;

#[derive(Debug, thiserror::Error)]
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
}

/// Whether a run may still write: asked before every message is handed to the destination,
/// also after waiting for room, so a run paused mid-send never writes once it lost its turn.
pub trait Permit: Send + Sync {
    fn granted(&self) -> bool;
}

/// Where a table's messages go, resolved once per table by [`Sink::route`].
#[derive(Debug, Clone)]
pub struct Route {
    pub topic: String,
    pub partitions: u32,
    /// Partition for the `table` rule (hash of `db.table`).
    pub table_partition: u32,
}

pub trait Sink: Send {
    /// Resolves (and creates if needed) the destination of `schema`'s rows named `target`.
    fn route(
        &mut self,
        schema: &TableSchema,
        target: &str,
    ) -> impl Future<Output = Result<Route, SinkError>> + Send;

    /// Queues `message` if `permit` is granted; the tracker gets `ack(seq)` when the destination
    /// has it. Waits when the destination's queue is full (asking `permit` again after).
    fn send(
        &mut self,
        route: &Route,
        message: &Message,
        seq: u64,
        permit: &dyn Permit,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Waits until everything queued is acknowledged or `timeout` passes.
    fn flush(&mut self, timeout: std::time::Duration) -> Result<(), SinkError>;

    /// Drops what is queued and not yet sent: this run may no longer write.
    fn abandon(&mut self);
}

/// FNV-1a, 64 bit: the stable hash behind the `hash` and `table` partition rules.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}
