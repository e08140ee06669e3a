//! Kafka: an idempotent rdkafka producer; one topic per table pattern, created when missing.

mod config;
mod producer;
#[cfg(test)]
mod tests;

pub use config::KafkaSinkConfig;
pub use producer::KafkaProducer;
