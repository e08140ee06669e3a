//! Kafka: an idempotent rdkafka producer; one topic per table pattern, created when missing;
//! messages the brokers refuse for good fail the project, or go to a dead-letter topic.

mod config;
mod dead_letter;
mod producer;
#[cfg(test)]
mod tests;

pub use config::{ClientErrors, KafkaSinkConfig, SaslLogin};
pub use producer::KafkaProducer;
