//! Message destinations (Kafka; RocketMQ and DataHub to come): each row change is encoded by
//! the connector's codec into messages, sent to the topic of its table through a
//! [`Producer`]. One message is one delivery: the producer acknowledges each.

mod sink;

pub use sink::MessageSink;

use crate::codec::Message;
use crate::model::TableSchema;
use crate::sink::{Permit, SinkError};
use std::future::Future;
use std::time::Duration;

/// Where a table's messages go, resolved once per table by [`Producer::route`].
#[derive(Debug, Clone)]
pub struct Route {
    pub topic: String,
    pub partitions: u32,
    /// Partition for the `table` rule (hash of `db.table`).
    pub table_partition: u32,
}

/// A message broker's client: what differs between message destinations.
pub trait Producer: Send {
    /// Resolves (and creates if needed) the topic `topic` for `schema`'s rows.
    fn route(
        &mut self,
        schema: &TableSchema,
        topic: &str,
    ) -> impl Future<Output = Result<Route, SinkError>> + Send;

    /// Queues `message` if `permit` is granted; the sink's acknowledgements get `ack(seq)`
    /// when the broker has it. Waits when the queue is full (asking `permit` again after).
    fn send(
        &mut self,
        route: &Route,
        message: &Message,
        seq: u64,
        permit: &dyn Permit,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Waits until everything queued is acknowledged or `timeout` passes.
    fn flush(&mut self, timeout: Duration) -> Result<(), SinkError>;

    /// Drops what is queued and not yet sent.
    fn abandon(&mut self);
}
