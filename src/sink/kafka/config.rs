use super::KafkaSink;
use crate::meta::Partition;
use crate::sink::{AckTracker, SinkError};
use std::sync::Arc;

/// How a project writes to Kafka.
#[derive(Debug, Clone)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Partitions of topics Ferry creates.
    pub topic_partitions: u32,
    /// Replication factor of topics Ferry creates.
    pub replication_factor: i32,
    pub partition: Partition,
    /// The placement epoch of the run, sent as the `ferry.epoch` header of every message.
    pub epoch: u64,
    /// How long librdkafka may try to deliver a message (`message.timeout.ms`). Bounded by the
    /// lease, so a paused node's queued messages expire before its successor starts.
    pub delivery_timeout_ms: u64,
}

impl KafkaSinkConfig {
    /// Starts the producer; deliveries are reported to `acks`.
    pub fn build(&self, acks: Arc<AckTracker>) -> Result<KafkaSink, SinkError> {
        KafkaSink::new(self.clone(), acks)
    }
}
