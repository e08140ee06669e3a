//! Message destinations (Kafka, RocketMQ; DataHub's BLOB topics are written their own way): each row change is encoded by
//! the connector's codec into messages, sent to the topic of its table through a
//! [`Producer`]. One message is one delivery: the producer acknowledges each.

mod sink;

pub use sink::MessageSink;

use crate::codec::Message;
use crate::meta::Partition;
use crate::model::TableSchema;
use crate::sink::{stable_hash, Permit, SinkError};
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

impl Route {
    /// The route to `topic`, of `partitions`, for `schema`'s rows.
    pub fn new(topic: String, partitions: u32, schema: &TableSchema) -> Self {
        let table_key = format!("{}.{}", schema.name.database, schema.name.table);
        let table_partition = (stable_hash(table_key.as_bytes()) % u64::from(partitions)) as u32;
        Route { topic, partitions, table_partition }
    }

    /// The partition `message` goes to under `rule`; a message may name its own (DDL: 0).
    pub fn partition_of(&self, rule: Partition, message: &Message) -> u32 {
        match rule {
            _ if message.partition.is_some() => {
                message.partition.unwrap_or(0).min(self.partitions.saturating_sub(1))
            }
            Partition::One => 0,
            Partition::Table => self.table_partition,
            Partition::Hash => (stable_hash(message.key_text.as_bytes()) % u64::from(self.partitions)) as u32,
        }
    }
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
    fn flush(&mut self, timeout: Duration) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Drops what is queued and not yet sent.
    fn abandon(&mut self);
}
