//! Send lanes: one task per message queue sends that queue's messages in the order they were
//! queued, a batch at a time, and acknowledges each message once the broker stored its batch.
//!
//! A batch that fails is sent again, whole, before anything queued after it (a retry may
//! duplicate, never reorder); the lane gives up when the broker refuses it for good, or when
//! its oldest message has waited the delivery timeout (bounded by the node's lease, so a
//! paused node's messages are never sent after its successor started).

use super::client::{Client, SendError};
use crate::sink::{Acknowledge, SinkError};
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message as MqMessage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// At most this many messages, and this many bytes, in one batch (RocketMQ takes 4 MiB).
const MAX_BATCH: usize = 1000;
const MAX_BATCH_BYTES: usize = 1 << 20;

/// The first pause before a batch is sent again; it doubles up to [`MAX_RETRY_DELAY`].
const RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// A message waiting for its lane.
pub struct Item {
    pub message: MqMessage,
    /// Its change log record: acknowledged once the broker has the message.
    pub seq: u64,
    pub bytes: usize,
    pub queued: Instant,
}

/// What the lanes and the producer share.
#[derive(Default)]
struct Shared {
    /// Messages and bytes queued and not yet acknowledged.
    queued: AtomicUsize,
    bytes: AtomicUsize,
    /// The first failure for good: nothing more is sent.
    failure: Mutex<Option<SinkError>>,
    abandoned: AtomicBool,
}

impl Shared {
    fn done(&self, messages: usize, bytes: usize) {
        self.queued.fetch_sub(messages, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

struct Lane {
    tx: UnboundedSender<Item>,
    task: JoinHandle<()>,
}

/// The lanes of one producer, by queue.
pub struct Lanes {
    acks: Arc<dyn Acknowledge>,
    delivery_timeout: Duration,
    shared: Arc<Shared>,
    lanes: HashMap<(String, String, i32), Lane>,
}

impl Lanes {
    pub fn new(acks: Arc<dyn Acknowledge>, delivery_timeout: Duration) -> Self {
        Self { acks, delivery_timeout, shared: Arc::default(), lanes: HashMap::new() }
    }

    /// Acknowledges a delivery there is nothing to send for.
    pub fn ack_now(&self, seq: u64) {
        self.acks.ack(seq);
    }

    /// Why a lane gave up, if one did.
    pub fn failure(&self) -> Option<SinkError> {
        self.shared.failure.lock().expect("not poisoned").clone()
    }

    /// Whether fewer than `messages` messages and `bytes` bytes wait.
    pub fn has_room(&self, messages: usize, bytes: usize) -> bool {
        self.shared.queued.load(Ordering::Acquire) < messages
            && self.shared.bytes.load(Ordering::Acquire) < bytes
    }

    /// Queues `item` on `queue`'s lane (started at its first message).
    pub fn push(&mut self, client: &Client, queue: MessageQueue, item: Item) {
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        self.shared.bytes.fetch_add(item.bytes, Ordering::AcqRel);
        let key = (queue.topic_str().to_string(), queue.broker_name().to_string(), queue.queue_id());
        let lane = self.lanes.entry(key).or_insert_with(|| {
            let (tx, rx) = unbounded_channel();
            let task = tokio::spawn(run(
                client.clone(),
                queue,
                rx,
                self.shared.clone(),
                self.acks.clone(),
                self.delivery_timeout,
            ));
            Lane { tx, task }
        });
        if let Err(back) = lane.tx.send(item) {
            // The lane gave up (its failure is reported): the message is dropped with it.
            self.shared.done(1, back.0.bytes);
        }
    }

    /// Waits until every queued message is acknowledged, or a lane fails, or `timeout` passes.
    pub async fn drained(&self, timeout: Duration) -> Result<(), SinkError> {
        let started = Instant::now();
        loop {
            if let Some(error) = self.failure() {
                return Err(error);
            }
            let queued = self.shared.queued.load(Ordering::Acquire);
            if queued == 0 {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(SinkError::Unavailable(format!(
                    "rocketmq: {queued} messages not acknowledged within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Drops every lane and what it holds: nothing more is sent.
    pub fn abandon(&mut self) {
        self.shared.abandoned.store(true, Ordering::Release);
        for (_, lane) in self.lanes.drain() {
            lane.task.abort();
        }
        self.shared = Arc::default();
    }
}

/// A lane: sends `queue`'s messages, batch after batch, until the producer drops it.
async fn run(
    client: Client,
    queue: MessageQueue,
    mut rx: UnboundedReceiver<Item>,
    shared: Arc<Shared>,
    acks: Arc<dyn Acknowledge>,
    delivery_timeout: Duration,
) {
    let mut carried: Option<Item> = None;
    let mut batch: Vec<MqMessage> = Vec::new();
    let mut seqs: Vec<u64> = Vec::new();
    loop {
        let first = match carried.take() {
            Some(item) => item,
            None => match rx.recv().await {
                Some(item) => item,
                None => return,
            },
        };
        let oldest = first.queued;
        let mut bytes = first.bytes;
        batch.clear();
        seqs.clear();
        batch.push(first.message);
        seqs.push(first.seq);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) if bytes + item.bytes > MAX_BATCH_BYTES => {
                    carried = Some(item);
                    break;
                }
                Ok(item) => {
                    bytes += item.bytes;
                    batch.push(item.message);
                    seqs.push(item.seq);
                }
                Err(_) => break,
            }
        }
        let mut delay = RETRY_DELAY;
        let mut last = String::from("no answer");
        loop {
            if shared.abandoned.load(Ordering::Acquire) {
                return;
            }
            let left = delivery_timeout.saturating_sub(oldest.elapsed());
            let error = match left.is_zero() {
                true => Err(SinkError::Unavailable(format!(
                    "rocketmq: messages for {} queue {} not acknowledged within {delivery_timeout:?} (last: {last})",
                    queue.topic_str(),
                    queue.queue_id()
                ))),
                false => match client.send(batch.clone(), &queue, left).await {
                    Ok(()) => {
                        shared.done(seqs.len(), bytes);
                        for &seq in &seqs {
                            acks.ack(seq);
                        }
                        break;
                    }
                    Err(SendError::Refused(why)) => Err(SinkError::Refused(why)),
                    Err(SendError::Retry(why)) => Ok(why),
                },
            };
            match error {
                Ok(why) => {
                    tracing::warn!(topic = queue.topic_str(), queue = queue.queue_id(), error = %why, "rocketmq send failed; sending again");
                    tokio::time::sleep(delay.min(left)).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    last = why;
                }
                Err(error) => {
                    shared.failure.lock().expect("not poisoned").get_or_insert_with(|| error.clone());
                    acks.fail(error);
                    return;
                }
            }
        }
    }
}
