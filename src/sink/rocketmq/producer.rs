use super::client::{self, Client};
use super::lanes::{Item, Lanes};
use super::{names, RocketmqSinkConfig, MAX_MESSAGE_BYTES};
use crate::codec::Message;
use crate::meta::Partition;
use crate::model::TableSchema;
use crate::sink::message::{Producer, Route};
use crate::sink::{Permit, SinkContext, SinkError};
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message as MqMessage;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Messages and bytes queued (not yet acknowledged) above which `send` waits for room.
const MAX_QUEUED: usize = 100_000;
const MAX_QUEUED_BYTES: usize = 128 << 20;

/// A [`Producer`] for RocketMQ: a started client and an ordered send lane per message queue.
pub struct RocketmqProducer {
    config: RocketmqSinkConfig,
    /// The client's instance name: one per run, so runs in one process never share one.
    instance: String,
    client: Option<Client>,
    /// Queues of topics Ferry creates.
    topic_queues: u32,
    partition: Partition,
    epoch: String,
    /// Every routed topic's writable queues, in (broker, id) order: what partitions index.
    queues: HashMap<String, Vec<MessageQueue>>,
    /// The RocketMQ topic of each of Ferry's topic names (two names must not map to one).
    topics: HashMap<String, String>,
    lanes: Lanes,
}

impl RocketmqProducer {
    pub fn new(config: &RocketmqSinkConfig, ctx: &SinkContext) -> Self {
        Self {
            config: config.clone(),
            instance: format!("ferry-{}-{}-{}", ctx.project, ctx.connector, ctx.epoch),
            client: None,
            topic_queues: ctx.topic_partitions,
            partition: ctx.partition,
            epoch: ctx.epoch.to_string(),
            queues: HashMap::new(),
            topics: HashMap::new(),
            lanes: Lanes::new(ctx.acks.clone(), ctx.delivery_timeout),
        }
    }

    /// The started client (started at the first table).
    async fn client(&mut self) -> Result<&Client, SinkError> {
        if self.client.is_none() {
            self.client = Some(Client::start(&self.config, &self.instance).await?);
        }
        Ok(self.client.as_ref().expect("started above"))
    }

    /// Ferry's topic `name` as a RocketMQ topic; refused when it meets another's.
    fn topic_name(&mut self, name: &str) -> Result<String, SinkError> {
        let topic = names::topic(name).map_err(SinkError::Refused)?;
        if let Some((other, _)) = self.topics.iter().find(|(n, t)| **t == topic && *n != name) {
            return Err(SinkError::Refused(format!(
                "topics {other:?} and {name:?} are both RocketMQ topic {topic}; change the topic rules"
            )));
        }
        self.topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    /// `message` as RocketMQ's: its value as the body, the primary key's values as keys, the
    /// tag, the format's headers and the run's epoch as user properties.
    fn to_mq(&self, topic: &str, message: &Message) -> Result<MqMessage, SinkError> {
        let body = message.value.clone().unwrap_or_default();
        let mut builder =
            MqMessage::builder().topic(topic.to_string()).body(body).tags(self.config.tag.clone());
        let keys: Vec<String> =
            message.key_text.split('\u{1}').filter(|k| !k.is_empty()).map(str::to_string).collect();
        if !keys.is_empty() {
            builder = builder.keys(keys);
        }
        for (name, value) in &message.headers {
            builder = builder
                .raw_property(*name, String::from_utf8_lossy(value).into_owned())
                .map_err(|e| SinkError::Refused(format!("message property {name}: {e}")))?;
        }
        builder = builder
            .raw_property("ferry.epoch", self.epoch.clone())
            .map_err(|e| SinkError::Refused(format!("message property ferry.epoch: {e}")))?;
        builder.build().map_err(|e| SinkError::Refused(format!("a message for topic {topic}: {e}")))
    }
}

impl Producer for RocketmqProducer {
    async fn route(&mut self, schema: &TableSchema, name: &str) -> Result<Route, SinkError> {
        let topic = self.topic_name(name)?;
        let (partitions, created) = match self.queues.get(&topic) {
            Some(queues) => (queues.len() as u32, false),
            None => {
                let queue_count = self.topic_queues;
                let client = self.client().await?;
                let created = client.ensure_topic(&topic, queue_count).await?;
                let queues = client.queues(&topic).await?;
                let n = queues.len() as u32;
                self.queues.insert(topic.clone(), queues);
                (n, created)
            }
        };
        if created {
            tracing::info!(topic, queues = partitions, "created topic");
        }
        Ok(Route::new(topic, partitions, schema))
    }

    async fn send(
        &mut self,
        route: &Route,
        message: &Message,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<(), SinkError> {
        // A tombstone (Debezium's after a delete) has no body, and RocketMQ takes none.
        if message.value.as_ref().is_none_or(Vec::is_empty) {
            self.lanes.ack_now(seq);
            return Ok(());
        }
        let size = client::message_size(message);
        if size > MAX_MESSAGE_BYTES {
            return Err(SinkError::Refused(format!(
                "a message for topic {} is {size} bytes; RocketMQ takes at most {MAX_MESSAGE_BYTES}",
                route.topic
            )));
        }
        let mq = self.to_mq(&route.topic, message)?;
        let queue = self.queues[&route.topic][route.partition_of(self.partition, message) as usize].clone();
        loop {
            if !permit.granted() {
                return Err(SinkError::Revoked);
            }
            if let Some(error) = self.lanes.failure() {
                return Err(error);
            }
            if self.lanes.has_room(MAX_QUEUED, MAX_QUEUED_BYTES) {
                break;
            }
            if permit.stopping() {
                return Err(SinkError::Interrupted);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let client = self.client.as_ref().expect("a routed topic has a started client");
        self.lanes.push(client, queue, Item { message: mq, seq, bytes: size, queued: Instant::now() });
        Ok(())
    }

    async fn flush(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.lanes.drained(timeout).await
    }

    fn abandon(&mut self) {
        self.lanes.abandon();
    }
}

impl Drop for RocketmqProducer {
    fn drop(&mut self) {
        self.lanes.abandon();
        if let Some(client) = self.client.take() {
            client.shut_down();
        }
    }
}
