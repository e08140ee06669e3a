//! Reads what landed in RocketMQ with the rocketmq-rust client's pull consumer (a code path of
//! its own: Ferry only produces). Included with `#[path]` by the tests that need it.
//!
//! The classic pull consumer (deprecated for the lite one) reads each queue from an offset the
//! caller keeps, with no group state on the broker: what an independent reader wants.
#![allow(deprecated)]

use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, DefaultMQPullConsumer};
use rocketmq_model::result::PullStatus;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A message as the broker stored it.
#[derive(Debug, Clone)]
pub struct RMsg {
    pub queue: i32,
    pub offset: i64,
    pub body: Vec<u8>,
    pub keys: Option<String>,
    pub tags: Option<String>,
    /// The user properties (the broker's own, upper-case ones too).
    pub properties: BTreeMap<String, String>,
    /// When the broker stored it (ms).
    pub stored_ms: i64,
}

impl RMsg {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

fn runtime() -> Arc<ClientRuntime> {
    static RUNTIME: OnceLock<(RuntimeOwner, Arc<ClientRuntime>)> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let owner = RuntimeOwner::plan(RuntimeConfig::for_parallelism("test-rocketmq", 1))
                .unwrap()
                .build()
                .unwrap();
            let client = ClientRuntime::try_new(
                owner.root_context().component("client"),
                ClientRuntimeConfig::default(),
                rocketmq_observability::TelemetryHandle::noop(),
            )
            .unwrap();
            (owner, client)
        })
        .1
        .clone()
}

/// Reads every queue of `topic` from its start until `done` says so (asked after each round
/// over the queues) or `timeout` passes; sorted by queue and offset.
pub fn read_topic(
    name_server: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[RMsg]) -> bool,
) -> Vec<RMsg> {
    let mut read = Vec::new();
    pull(name_server, topic, timeout, |batch| {
        read.extend(batch);
        done(&read)
    });
    read.sort_by_key(|m| (m.queue, m.offset));
    read
}

/// Pulls every queue of `topic` from its start, handing `each` what every round over the
/// queues read, until it returns true or `timeout` passes.
pub fn pull(name_server: &str, topic: &str, timeout: Duration, mut each: impl FnMut(Vec<RMsg>) -> bool) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let group = format!("ferry_test_{}", std::process::id());
        let consumer = DefaultMQPullConsumer::builder(runtime())
            .consumer_group(group)
            .name_server_addr(name_server.to_string())
            // A pull past a queue's end answers at once (no long polling).
            .broker_suspend_max_time(Duration::from_millis(10))
            .build()
            .expect("a pull consumer");
        consumer.start().await.expect("starting the pull consumer");
        let started = Instant::now();
        let mut next: HashMap<i32, i64> = HashMap::new();
        while started.elapsed() < timeout {
            let queues = match consumer.fetch_subscribe_message_queues(topic).await {
                Ok(queues) => queues,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut read = Vec::new();
            for queue in &queues {
                loop {
                    let offset = *next.get(&queue.queue_id()).unwrap_or(&0);
                    let result = match consumer.pull(queue, "*", offset, 32).await {
                        Ok(r) => r,
                        Err(_) => break,
                    };
                    if *result.pull_status() != PullStatus::Found {
                        break;
                    }
                    for m in result.msg_found_list().unwrap_or_default() {
                        let properties: BTreeMap<String, String> =
                            m.properties().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                        read.push(RMsg {
                            queue: m.queue_id(),
                            offset: m.queue_offset(),
                            body: m.body().map(|b| b.to_vec()).unwrap_or_default(),
                            keys: properties.get("KEYS").cloned(),
                            tags: m.get_tags().map(|t| t.to_string()),
                            properties,
                            stored_ms: m.store_timestamp(),
                        });
                    }
                    next.insert(queue.queue_id(), result.next_begin_offset() as i64);
                }
            }
            let idle = read.is_empty();
            if each(read) {
                break;
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let _ = consumer.shutdown().await;
    })
}
