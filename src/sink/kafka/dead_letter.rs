//! The dead-letter topic: where a message the brokers refuse for good goes instead of failing
//! the project, when the data source names one.
//!
//! A dead letter keeps the message's key and headers and adds `ferry.dlq.topic` (where it was
//! going), `ferry.dlq.error` (why it was refused) and `ferry.dlq.bytes` (its value's size); its
//! value is the message's, unless that is what the producer refused (too large), then it has
//! none. It counts as delivered once the dead-letter topic has it; one the dead-letter topic
//! refuses too fails the project.

use crate::sink::{Acknowledge, SinkError};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::sync::Arc;

/// What a refused message was, for its dead letter.
pub struct Letter<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, &'a [u8])>,
    pub error: String,
    /// Leave the value out (it is what was refused).
    pub without_value: bool,
}

/// Acknowledges each dead letter's record once the dead-letter topic has it.
pub struct LetterContext {
    acks: Arc<dyn Acknowledge>,
    topic: String,
}

impl ClientContext for LetterContext {}

impl ProducerContext for LetterContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(_) => self.acks.ack(seq as u64),
            Err((e, _)) => self.acks.fail(SinkError::Refused(format!(
                "the dead-letter topic {} did not take a refused message either: {e}",
                self.topic
            ))),
        }
    }
}

/// The dead-letter topic's producer.
pub struct DeadLetters {
    topic: String,
    producer: ThreadedProducer<LetterContext>,
}

impl DeadLetters {
    pub fn new(config: ClientConfig, topic: &str, acks: Arc<dyn Acknowledge>) -> Result<Self, KafkaError> {
        let producer = config.create_with_context(LetterContext { acks, topic: topic.to_string() })?;
        Ok(Self { topic: topic.to_string(), producer })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Sends `letter` for record `seq`; its acknowledgement comes when the topic has it.
    pub fn send(&self, letter: &Letter<'_>, seq: u64) -> Result<(), SinkError> {
        let bytes = letter.value.map_or(0, <[u8]>::len).to_string();
        let mut headers = OwnedHeaders::new_with_capacity(letter.headers.len() + 3);
        for (key, value) in &letter.headers {
            headers = headers.insert(Header { key, value: Some(*value) });
        }
        headers = headers
            .insert(Header { key: "ferry.dlq.topic", value: Some(letter.topic.as_bytes()) })
            .insert(Header { key: "ferry.dlq.error", value: Some(letter.error.as_bytes()) })
            .insert(Header { key: "ferry.dlq.bytes", value: Some(bytes.as_bytes()) });
        let mut record = BaseRecord::with_opaque_to(&self.topic, seq as usize).headers(headers);
        if let Some(key) = letter.key {
            record = record.key(key);
        }
        if let (Some(value), false) = (letter.value, letter.without_value) {
            record = record.payload(value);
        }
        self.producer.send(record).map_err(|(e, _)| {
            SinkError::Refused(format!("cannot send a dead letter to topic {}: {e}", self.topic))
        })
    }

    pub fn flush(&self, timeout: std::time::Duration) -> Result<(), KafkaError> {
        use rdkafka::producer::Producer as _;
        self.producer.flush(timeout)
    }
}

/// The headers of a message as the broker refused it.
pub fn headers_of(headers: Option<&rdkafka::message::BorrowedHeaders>) -> Vec<(&str, &[u8])> {
    headers.map_or_else(Vec::new, |h| h.iter().map(|h| (h.key, h.value.unwrap_or_default())).collect())
}
