use super::KafkaSinkConfig;
use crate::codec::Message;
use crate::meta::Partition;
use crate::model::TableSchema;
use crate::sink::message::{Producer, Route};
use crate::sink::{stable_hash, Acknowledge, Permit, SinkContext, SinkError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::ClientContext;
use std::sync::Arc;
use std::time::Duration;

/// Reports deliveries to the sink's acknowledgements. Runs on the producer's polling thread.
pub struct DeliveryContext {
    acks: Arc<dyn Acknowledge>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(_) => self.acks.ack(seq as u64),
            Err((e, _)) => self.acks.fail(format!("kafka delivery failed: {e}")),
        }
    }
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
}

fn client_config(servers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", servers).set("socket.timeout.ms", "10000");
    c
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
        let producer = client_config(&config.bootstrap_servers)
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
            .create_with_context(DeliveryContext { acks: ctx.acks.clone() })
            .map_err(unavailable)?;
        let admin = client_config(&config.bootstrap_servers).create().map_err(unavailable)?;
        Ok(Self {
            topic_partitions: ctx.topic_partitions,
            replication_factor: config.replication_factor,
            partition: ctx.partition,
            epoch_header: ctx.epoch.to_string().into_bytes(),
            producer,
            admin,
        })
    }

    /// Blocks the connector's thread (for at most [`METADATA_WAIT`]): a stop waits that long.
    fn partition_count(&self, topic: &str) -> Result<Option<u32>, SinkError> {
        let md = self.producer.client().fetch_metadata(Some(topic), METADATA_WAIT).map_err(unavailable)?;
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
        let results = self.admin.create_topics([&new], &opts).await.map_err(unavailable)?;
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

    fn partition_of(&self, route: &Route, message: &Message) -> i32 {
        let p = match self.partition {
            _ if message.partition.is_some() => {
                message.partition.unwrap_or(0).min(route.partitions.saturating_sub(1))
            }
            Partition::One => 0,
            Partition::Table => route.table_partition,
            Partition::Hash => {
                (stable_hash(message.key_text.as_bytes()) % u64::from(route.partitions)) as u32
            }
        };
        p as i32
    }
}

impl Producer for KafkaProducer {
    async fn route(&mut self, schema: &TableSchema, target: &str) -> Result<Route, SinkError> {
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
        let table_key = format!("{}.{}", schema.name.database, schema.name.table);
        Ok(Route {
            topic: target.to_string(),
            partitions,
            table_partition: (stable_hash(table_key.as_bytes()) % u64::from(partitions)) as u32,
        })
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
            .partition(self.partition_of(route, message))
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
                    return Err(SinkError::Refused(format!(
                        "a message for topic {} is larger than the broker accepts",
                        route.topic
                    )))
                }
                Err((e, _)) => return Err(unavailable(e)),
            }
        }
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.producer.flush(timeout).map_err(unavailable)
    }

    fn abandon(&mut self) {
        self.producer.purge(PurgeConfig::default().queue().inflight());
    }
}
