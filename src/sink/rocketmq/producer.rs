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

    /// The writable queues of RocketMQ topic `topic`, in (broker, id) order; the topic is
    /// created when missing (at the first use in a run).
    async fn queues_of(&mut self, topic: &str) -> Result<&[MessageQueue], SinkError> {
        if !self.queues.contains_key(topic) {
            let queue_count = self.topic_queues;
            let client = self.client().await?;
            let created = client.ensure_topic(topic, queue_count).await?;
            let queues = client.queues(topic).await?;
            if created {
                tracing::info!(topic, queues = queues.len(), "created topic");
            }
            self.queues.insert(topic.to_string(), queues);
        }
        Ok(&self.queues[topic])
    }

    /// The dead-letter message of `message`, too large for `topic`, and the queue it goes to
    /// (the dead-letter topic's first, created when missing): its keys, tag and properties, plus
    /// `ferry.dlq.topic`, `ferry.dlq.error` and `ferry.dlq.bytes`; the error as its body (the
    /// value is what was too large).
    async fn dead_letter(
        &mut self,
        dead_letter_topic: &str,
        topic: &str,
        message: &Message,
        size: usize,
        error: &str,
    ) -> Result<(MqMessage, MessageQueue), SinkError> {
        let queue = self.queues_of(dead_letter_topic).await?.first().cloned().ok_or_else(|| {
            SinkError::Unavailable(format!("dead-letter topic {dead_letter_topic} has no writable queue"))
        })?;
        let why = [
            ("ferry.dlq.topic", topic.to_string()),
            ("ferry.dlq.error", error.to_string()),
            ("ferry.dlq.bytes", size.to_string()),
        ];
        let letter = self.to_mq(dead_letter_topic, message, error.as_bytes().to_vec(), &why)?;
        Ok((letter, queue))
    }

    /// `message` as RocketMQ's with `body`: the primary key's values as keys, the tag, the
    /// format's headers, the run's epoch and `extra` as user properties.
    fn to_mq(
        &self,
        topic: &str,
        message: &Message,
        body: Vec<u8>,
        extra: &[(&str, String)],
    ) -> Result<MqMessage, SinkError> {
        let mut builder =
            MqMessage::builder().topic(topic.to_string()).body(body).tags(self.config.tag.clone());
        let keys: Vec<String> =
            message.key_text.split('\u{1}').filter(|k| !k.is_empty()).map(str::to_string).collect();
        if !keys.is_empty() {
            builder = builder.keys(keys);
        }
        let headers =
            message.headers.iter().map(|(name, value)| (*name, String::from_utf8_lossy(value).into_owned()));
        let properties = headers.chain([("ferry.epoch", self.epoch.clone())]).chain(extra.iter().cloned());
        for (name, value) in properties {
            builder = builder
                .raw_property(name, value)
                .map_err(|e| SinkError::Refused(format!("message property {name}: {e}")))?;
        }
        builder.build().map_err(|e| SinkError::Refused(format!("a message for topic {topic}: {e}")))
    }
}

impl Producer for RocketmqProducer {
    async fn route(&mut self, schema: &TableSchema, name: &str) -> Result<Route, SinkError> {
        let topic = self.topic_name(name)?;
        let partitions = self.queues_of(&topic).await?.len() as u32;
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
        let mut size = client::message_size(message);
        let (mq, queue) = if size > MAX_MESSAGE_BYTES {
            let error = format!(
                "a message for topic {} is {size} bytes; RocketMQ takes at most {MAX_MESSAGE_BYTES}",
                route.topic
            );
            let Some(dead_letter_topic) = self.config.dead_letter_topic.clone() else {
                return Err(SinkError::Refused(error));
            };
            tracing::warn!(topic = route.topic, dead_letter_topic, %error, "a refused message goes to the dead-letter topic");
            let letter = self.dead_letter(&dead_letter_topic, &route.topic, message, size, &error).await?;
            size = error.len();
            letter
        } else {
            let mq = self.to_mq(&route.topic, message, message.value.clone().unwrap_or_default(), &[])?;
            (mq, self.queues[&route.topic][route.partition_of(self.partition, message) as usize].clone())
        };
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
