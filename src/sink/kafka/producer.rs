use super::dead_letter::{self, DeadLetters, Letter};
use super::KafkaSinkConfig;
use crate::codec::Message;
use crate::meta::Partition;
use crate::model::TableSchema;
use crate::sink::message::{Producer, Route};
use crate::sink::{Acknowledge, Permit, SinkContext, SinkError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::ClientContext;
use rdkafka::Message as _;
use std::sync::Arc;
use std::time::Duration;

/// Reports deliveries to the sink's acknowledgements, and sends what the brokers refuse for
/// good to the dead-letter topic if there is one. Runs on the producer's polling thread.
pub struct DeliveryContext {
    acks: Arc<dyn Acknowledge>,
    dead_letters: Option<Arc<DeadLetters>>,
    /// Why the brokers refused the connection, once they did (a login, a certificate).
    refusal: std::sync::Mutex<Option<SinkError>>,
}

impl DeliveryContext {
    fn refusal(&self) -> Option<SinkError> {
        self.refusal.lock().unwrap().clone()
    }
}

impl ClientContext for DeliveryContext {
    /// A refused login or a failed TLS handshake fails the project naming it; librdkafka
    /// retries the rest (a broker down, a connection reset) itself.
    fn error(&self, error: KafkaError, reason: &str) {
        if super::config::refuses_connection(&error, reason) {
            let refused = SinkError::Refused(format!("kafka refused the connection: {reason}"));
            *self.refusal.lock().unwrap() = Some(refused.clone());
            self.acks.fail(refused);
        } else {
            tracing::warn!(%error, reason, "kafka client error");
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(_) => self.acks.ack(seq as u64),
            Err((e, m)) => match (delivery_error(e, m.topic()), &self.dead_letters) {
                (SinkError::Refused(error), Some(dead_letters)) => {
                    tracing::warn!(topic = m.topic(), dead_letter_topic = dead_letters.topic(), %error, "a refused message goes to the dead-letter topic");
                    let letter = Letter {
                        topic: m.topic(),
                        key: m.key(),
                        value: m.payload(),
                        headers: dead_letter::headers_of(m.headers()),
                        error,
                        without_value: false,
                    };
                    if let Err(e) = dead_letters.send(&letter, seq as u64) {
                        self.acks.fail(e);
                    }
                }
                (error, _) => self.acks.fail(error),
            },
        }
    }
}

/// A failed delivery as a sink error: `Refused` (the project fails at once, saying why) when
/// the broker will never take the message, `Unavailable` (retried from the checkpoint, with
/// backoff, until the retry limit) otherwise.
pub fn delivery_error(e: &KafkaError, topic: &str) -> SinkError {
    let message = format!("kafka delivery to topic {topic} failed: {e}");
    match e.rdkafka_error_code() {
        Some(code) if refuses_delivery(code) => SinkError::Refused(message),
        _ => SinkError::Unavailable(message),
    }
}

/// Whether the broker refuses a message for good: too large, invalid, not allowed.
fn refuses_delivery(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::MessageSizeTooLarge
            | C::InvalidMessageSize
            | C::MessageBatchTooLarge
            | C::InvalidRecord
            | C::InvalidRequiredAcks
            | C::InvalidTimestamp
            | C::UnsupportedForMessageFormat
            | C::PolicyViolation
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::SaslAuthenticationFailed
    )
}

pub struct KafkaProducer {
    /// Partitions and replication factor (none: the broker's default) of topics Ferry creates.
    topic_partitions: u32,
    replication_factor: Option<i16>,
    partition: Partition,
    /// The run's placement epoch, sent as the `ferry.epoch` header of every message.
    epoch_header: Vec<u8>,
    producer: ThreadedProducer<DeliveryContext>,
    admin: AdminClient<DefaultClientContext>,
    dead_letters: Option<Arc<DeadLetters>>,
    /// The dead-letter topic exists (made sure of at the first table).
    dead_letter_topic_ready: bool,
}

/// How long a metadata request may wait for the broker (longer: the connector restarts and
/// asks again).
const METADATA_WAIT: Duration = Duration::from_secs(2);

fn unavailable(e: KafkaError) -> SinkError {
    SinkError::Unavailable(e.to_string())
}

/// Whether the broker refuses to create a topic for good (trying again changes nothing).
fn refuses_topic(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::InvalidTopic
            | C::InvalidPartitions
            | C::InvalidReplicationFactor
            | C::InvalidReplicaAssignment
            | C::InvalidConfig
            | C::PolicyViolation
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::UnsupportedVersion
    )
}

impl KafkaProducer {
    pub fn new(config: &KafkaSinkConfig, ctx: &SinkContext) -> Result<Self, SinkError> {
        let dead_letters = match &config.dead_letter_topic {
            Some(topic) => {
                let mut c = config.client_config();
                c.set("allow.auto.create.topics", "false")
                    .set("message.timeout.ms", ctx.delivery_timeout.as_millis().max(1).to_string());
                Some(Arc::new(DeadLetters::new(c, topic, ctx.acks.clone()).map_err(unavailable)?))
            }
            None => None,
        };
        let producer = config
            .client_config()
            // A metadata request must not create a topic with the broker's defaults (its
            // partitions, not the project's): topics are created explicitly.
            .set("allow.auto.create.topics", "false")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            .set("batch.size", "1048576")
            .set("queue.buffering.max.messages", "100000")
            .set("queue.buffering.max.kbytes", "131072")
            .set("message.timeout.ms", ctx.delivery_timeout.as_millis().max(1).to_string())
            .create_with_context(DeliveryContext {
                acks: ctx.acks.clone(),
                dead_letters: dead_letters.clone(),
                refusal: Default::default(),
            })
            .map_err(unavailable)?;
        let admin = config.client_config().create().map_err(unavailable)?;
        Ok(Self {
            topic_partitions: ctx.topic_partitions,
            replication_factor: config.replication_factor,
            partition: ctx.partition,
            epoch_header: ctx.epoch.to_string().into_bytes(),
            producer,
            admin,
            dead_letters,
            dead_letter_topic_ready: false,
        })
    }

    /// Creates the dead-letter topic unless it exists (once a run).
    async fn ensure_dead_letter_topic(&mut self) -> Result<(), SinkError> {
        let Some(topic) = self.dead_letters.as_ref().map(|d| d.topic().to_string()) else { return Ok(()) };
        if !self.dead_letter_topic_ready {
            if self.partition_count(&topic)?.is_none() {
                self.create_topic(&topic).await?;
            }
            self.dead_letter_topic_ready = true;
        }
        Ok(())
    }

    /// `e` as a sink error: the brokers' refusal of the connection if they refused it (a
    /// request then only times out), else worth a retry.
    fn failed(&self, e: KafkaError) -> SinkError {
        self.producer.context().refusal().unwrap_or_else(|| unavailable(e))
    }

    /// Blocks the connector's thread (for at most [`METADATA_WAIT`]): a stop waits that long.
    fn partition_count(&self, topic: &str) -> Result<Option<u32>, SinkError> {
        let md =
            self.producer.client().fetch_metadata(Some(topic), METADATA_WAIT).map_err(|e| self.failed(e))?;
        Ok(md
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len() as u32)
            .filter(|n| *n > 0))
    }

    async fn create_topic(&self, topic: &str) -> Result<(), SinkError> {
        let new = NewTopic::new(
            topic,
            self.topic_partitions as i32,
            // -1: the broker's default (KIP-464).
            TopicReplication::Fixed(self.replication_factor.map_or(-1, i32::from)),
        );
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = self.admin.create_topics([&new], &opts).await.map_err(|e| self.failed(e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                // Refused for good: a bad name, partition count or replication factor, a policy,
                // no permission.
                Err((name, code)) if refuses_topic(code) => {
                    return Err(SinkError::Refused(format!("cannot create topic {name}: {code}")))
                }
                // A timeout, no controller yet...: tried again.
                Err((name, code)) => {
                    return Err(SinkError::Unavailable(format!("topic {name} not created yet: {code}")))
                }
            }
        }
        tracing::info!(topic, partitions = self.topic_partitions, replication_factor = ?self.replication_factor, "created topic");
        Ok(())
    }
}

impl Producer for KafkaProducer {
    async fn route(&mut self, schema: &TableSchema, target: &str) -> Result<Route, SinkError> {
        self.ensure_dead_letter_topic().await?;
        let partitions = match self.partition_count(target)? {
            Some(n) => n,
            None => {
                self.create_topic(target).await?;
                let mut found = None;
                for _ in 0..50 {
                    found = self.partition_count(target)?;
                    if found.is_some() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                found.ok_or_else(|| {
                    SinkError::Unavailable(format!("topic {target} created but has no metadata"))
                })?
            }
        };
        Ok(Route::new(target.to_string(), partitions, schema))
    }

    async fn send(
        &mut self,
        route: &Route,
        message: &Message,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<(), SinkError> {
        let mut headers = OwnedHeaders::new_with_capacity(message.headers.len() + 1);
        for (name, value) in &message.headers {
            headers = headers.insert(Header { key: name, value: Some(value.as_slice()) });
        }
        headers = headers.insert(Header { key: "ferry.epoch", value: Some(self.epoch_header.as_slice()) });
        let mut record = BaseRecord::with_opaque_to(&route.topic, seq as usize)
            .partition(route.partition_of(self.partition, message) as i32)
            .headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_slice());
        }
        if let Some(value) = &message.value {
            record = record.payload(value.as_slice());
        }
        loop {
            if !permit.granted() {
                return Err(SinkError::Revoked);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) if permit.stopping() => {
                    return Err(SinkError::Interrupted)
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    let error = format!(
                        "a message of {} bytes for topic {} is larger than the producer's message.max.bytes",
                        message.value.as_ref().map_or(0, Vec::len),
                        route.topic
                    );
                    let Some(dead_letters) = &self.dead_letters else {
                        return Err(SinkError::Refused(error));
                    };
                    tracing::warn!(topic = route.topic, dead_letter_topic = dead_letters.topic(), %error, "a refused message goes to the dead-letter topic");
                    let mut headers: Vec<(&str, &[u8])> =
                        message.headers.iter().map(|(k, v)| (*k, v.as_slice())).collect();
                    headers.push(("ferry.epoch", &self.epoch_header));
                    let letter = Letter {
                        topic: &route.topic,
                        key: message.key.as_deref(),
                        value: message.value.as_deref(),
                        headers,
                        error,
                        without_value: true,
                    };
                    return dead_letters.send(&letter, seq);
                }
                Err((e, _)) => return Err(unavailable(e)),
            }
        }
    }

    /// Blocks the connector's thread until rdkafka has flushed (or `timeout`).
    async fn flush(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.producer.flush(timeout).map_err(unavailable)?;
        match &self.dead_letters {
            Some(dead_letters) => dead_letters.flush(timeout).map_err(unavailable),
            None => Ok(()),
        }
    }

    fn abandon(&mut self) {
        self.producer.purge(PurgeConfig::default().queue().inflight());
    }
}
