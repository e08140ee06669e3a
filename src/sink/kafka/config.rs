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
}

impl KafkaSinkConfig {
    /// Starts the producer; deliveries are reported to `acks`.
    pub fn build(&self, acks: Arc<AckTracker>) -> Result<KafkaSink, SinkError> {
        KafkaSink::new(self.clone(), acks)
    }
}
