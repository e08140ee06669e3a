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

/// A name server and broker of their own (the binaries scripts/services.sh built), for tests
/// that stop answering: killed when dropped.
pub struct PrivateRocketmq {
    name_server_process: std::process::Child,
    broker: std::process::Child,
    pub name_server: String,
    dir: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_port(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl PrivateRocketmq {
    pub fn start() -> PrivateRocketmq {
        use std::process::{Command, Stdio};
        let tools = std::env::var("FERRY_TOOLS_DIR")
            .unwrap_or_else(|_| format!("{}/.cache/ferry-tools", std::env::var("HOME").unwrap()));
        let bin = std::path::PathBuf::from(tools).join("rocketmq-1.0.0/bin");
        let dir = std::env::temp_dir().join(format!("ferry-rmq-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(dir.join("store")).unwrap();
        let spawn = |command: &mut Command| {
            command
                .env("HOME", &dir)
                .env("ROCKETMQ_HOME", &dir)
                .env("RUST_LOG", "warn")
                .env("ROCKETMQ_SECURITY_PROFILE", "development-insecure-loopback")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the RocketMQ binaries (scripts/services.sh up builds them)")
        };
        let ns_port = free_port();
        let name_server_process = spawn(
            Command::new(bin.join("rocketmq-namesrv-rust"))
                .args(["--listenPort", &ns_port.to_string(), "--bindAddress", "127.0.0.1"])
                .arg("--rocketmqHome")
                .arg(&dir)
                .arg("--kvConfigPath")
                .arg(dir.join("kv.json")),
        );
        wait_port(ns_port, "the private name server");
        // The broker also listens on its port - 2 and + 1.
        let port = loop {
            let p = free_port();
            if p > 1024
                && [p - 2, p + 1].iter().all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok())
            {
                break p;
            }
        };
        let store = dir.join("store");
        let config = format!(
            "[broker]\nnamesrvAddr = \"127.0.0.1:{ns_port}\"\nbrokerIp1 = \"127.0.0.1\"\nlistenPort = {port}\n\
             storePathRootDir = \"{store}\"\n\n[broker.brokerServerConfig]\nbindAddress = \"127.0.0.1\"\n\n\
             [broker.brokerIdentity]\nbrokerName = \"private-broker\"\nbrokerClusterName = \"PrivateCluster\"\n\
             brokerId = 0\n\n[store]\nstoreType = \"LocalFile\"\nbrokerRole = \"ASYNC_MASTER\"\n\
             storePathRootDir = \"{store}\"\nhaListenAddress = \"127.0.0.1\"\nhaListenPort = {ha}\n",
            store = store.display(),
            ha = port + 1
        );
        std::fs::write(dir.join("broker.toml"), config).unwrap();
        let broker = spawn(
            Command::new(bin.join("rocketmq-broker-rust"))
                .arg("-c")
                .arg(dir.join("broker.toml"))
                .args(["-n", &format!("127.0.0.1:{ns_port}")]),
        );
        wait_port(port, "the private broker");
        PrivateRocketmq { name_server_process, broker, name_server: format!("127.0.0.1:{ns_port}"), dir }
    }

    fn signal(&self, signal: &str) {
        std::process::Command::new("kill").arg(signal).arg(self.broker.id().to_string()).status().unwrap();
    }

    /// SIGSTOP the broker: connections stay open and nothing answers.
    pub fn stop_answering(&self) {
        self.signal("-STOP");
    }

    pub fn answer_again(&self) {
        self.signal("-CONT");
    }
}

impl Drop for PrivateRocketmq {
    fn drop(&mut self) {
        self.answer_again();
        let _ = self.broker.kill();
        let _ = self.broker.wait();
        let _ = self.name_server_process.kill();
        let _ = self.name_server_process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
