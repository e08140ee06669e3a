use super::KafkaProducer;
use crate::sink::message::MessageSink;
use crate::sink::{SinkContext, SinkError};

/// How a project writes to Kafka.
#[derive(Debug, Clone)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Replication factor of topics Ferry creates; none: the broker's default.
    pub replication_factor: Option<i16>,
    /// Where messages the brokers refuse for good go; none: they fail the project.
    pub dead_letter_topic: Option<String>,
}

impl KafkaSinkConfig {
    /// Starts the producer; deliveries are reported to the context's acknowledgements.
    pub fn build(&self, ctx: SinkContext) -> Result<MessageSink<KafkaProducer>, SinkError> {
        let producer = KafkaProducer::new(self, &ctx)?;
        Ok(MessageSink::new(producer, ctx))
    }
}
