//! Reads what landed in RocketMQ with the rocketmq-rust client's pull consumer (a code path of
//! its own: Ferry only produces). Included with `#[path]` by the tests that need it.
//!
//! The classic pull consumer (deprecated for the lite one) reads each queue from an offset the
//! caller keeps, with no group state on the broker: what an independent reader wants.
#![allow(deprecated)]

use rocketmq_client_rust::{
    AclClientRPCHook, ClientRuntime, ClientRuntimeConfig, DefaultMQPullConsumer, SessionCredentials,
};
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
    read_topic_as(name_server, None, topic, timeout, done)
}

/// [`read_topic`] signing each request as `credentials` (a broker with ACL on).
pub fn read_topic_as(
    name_server: &str,
    credentials: Option<(&str, &str)>,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[RMsg]) -> bool,
) -> Vec<RMsg> {
    let mut read = Vec::new();
    pull_as(name_server, credentials, topic, timeout, |batch| {
        read.extend(batch);
        done(&read)
    });
    read.sort_by_key(|m| (m.queue, m.offset));
    read
}

/// Pulls every queue of `topic` from its start, handing `each` what every round over the
/// queues read, until it returns true or `timeout` passes.
pub fn pull(name_server: &str, topic: &str, timeout: Duration, each: impl FnMut(Vec<RMsg>) -> bool) {
    pull_as(name_server, None, topic, timeout, each)
}

/// [`pull`] signing each request as `credentials`. A broker that refuses them reads as an
/// empty topic.
pub fn pull_as(
    name_server: &str,
    credentials: Option<(&str, &str)>,
    topic: &str,
    timeout: Duration,
    mut each: impl FnMut(Vec<RMsg>) -> bool,
) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let group = format!("ferry_test_{}", std::process::id());
        let mut builder = DefaultMQPullConsumer::builder(runtime())
            .consumer_group(group)
            .name_server_addr(name_server.to_string())
            // A pull past a queue's end answers at once (no long polling).
            .broker_suspend_max_time(Duration::from_millis(10));
        if let Some((key, secret)) = credentials {
            // What Ferry's producer does (src/sink/rocketmq/client.rs): the ACL 1.0 signature.
            builder = builder.rpc_hook(Arc::new(AclClientRPCHook::new(SessionCredentials::with_keys(
                key.to_string(),
                secret.to_string(),
            ))));
        }
        let consumer = builder.build().expect("a pull consumer");
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
                    let next_offset = result.next_begin_offset() as i64;
                    match *result.pull_status() {
                        PullStatus::Found => {}
                        // Nothing readable at `offset` but more beyond it: go on from there (a
                        // reader stuck here would look like lost messages).
                        PullStatus::NoMatchedMsg | PullStatus::OffsetIllegal if next_offset > offset => {
                            eprintln!(
                                "pull {topic} queue {}: {:?} at {offset}, on from {next_offset}",
                                queue.queue_id(),
                                result.pull_status()
                            );
                            next.insert(queue.queue_id(), next_offset);
                            continue;
                        }
                        _ => break,
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
                    next.insert(queue.queue_id(), next_offset);
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
/// that stop answering or need ACL: killed when dropped. What they log is in their directory
/// (`name-server.log`, `broker.log`) until then.
pub struct PrivateRocketmq {
    name_server_process: std::process::Child,
    broker: std::process::Child,
    pub name_server: String,
    /// The ACL user the broker requires, if it requires one.
    credentials: Option<(String, String)>,
    dir: std::path::PathBuf,
    /// The broker's messages (see [`store_dir`]).
    store: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits for `process` to listen on `port`; shows the end of `log` if it exits first.
fn wait_port(process: &mut std::process::Child, port: u16, what: &str, log: &std::path::Path) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = process.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            panic!("{what} exited ({status}) before opening port {port}, saying:\n{tail}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The private broker's configuration, the TOML `rocketmq-broker-rust -c` reads: its ports and
/// its files under `dir` and, with `acl`, authentication on with that one user.
fn broker_toml(
    ns_port: u16,
    port: u16,
    dir: &std::path::Path,
    store: &std::path::Path,
    acl: Option<(&str, &str)>,
) -> String {
    let store = toml_string(&store.display().to_string());
    let acl = match acl {
        // Keys of [broker] (rocketmq-broker's BrokerConfig). The user is created at start-up, a
        // super user, kept in files under authConfigPath; authorizationEnabled stays false, so
        // it may do anything.
        Some((key, secret)) => format!(
            "authenticationEnabled = true\nauthConfigPath = {}\ninitAuthenticationUser = {}\n",
            toml_string(&dir.join("auth").display().to_string()),
            toml_string(&format!("{key}:{secret}")),
        ),
        None => String::new(),
    };
    format!(
        "[broker]\nnamesrvAddr = \"127.0.0.1:{ns_port}\"\nbrokerIp1 = \"127.0.0.1\"\nlistenPort = {port}\n\
         storePathRootDir = {store}\n{acl}\n[broker.brokerServerConfig]\nbindAddress = \"127.0.0.1\"\n\n\
         [broker.brokerIdentity]\nbrokerName = \"private-broker\"\nbrokerClusterName = \"PrivateCluster\"\n\
         brokerId = 0\n\n[store]\nstoreType = \"LocalFile\"\nbrokerRole = \"ASYNC_MASTER\"\n\
         storePathRootDir = {store}\nhaListenAddress = \"127.0.0.1\"\nhaListenPort = {ha}\n",
        ha = port + 1
    )
}

/// Where a private broker named `name` keeps its messages: on /dev/shm when that has 4 GiB
/// free, as scripts/services.sh does (the broker does not start on a disk over 90% used,
/// and the shared disk of these machines can be that full); else under `dir`.
fn store_dir(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let free = std::process::Command::new("df")
        .args(["-Pk", "/dev/shm"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout).lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(0u64);
    match shm.is_dir() && free > 4 << 20 {
        true => shm.join(name),
        false => dir.join("store"),
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    assert!(!text.chars().any(char::is_control), "{text:?} has a control character");
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl PrivateRocketmq {
    /// An open pair: any client may send and read.
    pub fn start() -> PrivateRocketmq {
        PrivateRocketmq::start_with(None)
    }

    /// A pair whose broker requires ACL: each request must carry `AccessKey` and `Signature`
    /// (HMAC-SHA1 of the sorted header values and the body, keyed with the secret key, what
    /// the client's `AclClientRPCHook` adds) of its one user, `access_key`. Anything else is
    /// answered with code 16 (NO_PERMISSION), "Authentication credentials are invalid". The
    /// name server stays open: routes need no credentials.
    pub fn start_with_acl(access_key: &str, secret_key: &str) -> PrivateRocketmq {
        // The broker reads its first user as `key:secret`, split at the first colon, trimmed.
        let plain = |s: &str| !s.is_empty() && s.trim() == s;
        assert!(plain(access_key) && !access_key.contains(':'), "access key {access_key:?}");
        assert!(plain(secret_key), "the secret key must be non-empty, without spaces around");
        PrivateRocketmq::start_with(Some((access_key.into(), secret_key.into())))
    }

    /// The user the broker requires, if it requires one (for [`read_topic_as`]).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(|(key, secret)| (key.as_str(), secret.as_str()))
    }

    fn start_with(credentials: Option<(String, String)>) -> PrivateRocketmq {
        use std::process::Command;
        let tools = std::env::var("FERRY_TOOLS_DIR")
            .unwrap_or_else(|_| format!("{}/.cache/ferry-tools", std::env::var("HOME").unwrap()));
        let bin = std::path::PathBuf::from(tools).join("rocketmq-1.0.0/bin");
        let name = format!("ferry-rmq-{}-{}", std::process::id(), free_port());
        let dir = std::env::temp_dir().join(&name);
        let store = store_dir(&dir, &name);
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(dir.join("auth")).unwrap();
        let spawn = |command: &mut Command, log: &std::path::Path| {
            let log = std::fs::File::create(log).unwrap();
            command
                .env("HOME", &dir)
                .env("ROCKETMQ_HOME", &dir)
                .env("RUST_LOG", "warn")
                .env("ROCKETMQ_SECURITY_PROFILE", "development-insecure-loopback")
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("the RocketMQ binaries (scripts/services.sh up builds them)")
        };
        let ns_port = free_port();
        let ns_log = dir.join("name-server.log");
        let mut name_server_process = spawn(
            Command::new(bin.join("rocketmq-namesrv-rust"))
                .args(["--listenPort", &ns_port.to_string(), "--bindAddress", "127.0.0.1"])
                .arg("--rocketmqHome")
                .arg(&dir)
                .arg("--kvConfigPath")
                .arg(dir.join("kv.json")),
            &ns_log,
        );
        wait_port(&mut name_server_process, ns_port, "the private name server", &ns_log);
        // The broker also listens on its port - 2 and + 1.
        let port = loop {
            let p = free_port();
            if p > 1024
                && [p - 2, p + 1].iter().all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok())
            {
                break p;
            }
        };
        let acl = credentials.as_ref().map(|(key, secret)| (key.as_str(), secret.as_str()));
        std::fs::write(dir.join("broker.toml"), broker_toml(ns_port, port, &dir, &store, acl)).unwrap();
        let broker_log = dir.join("broker.log");
        let broker = spawn(
            Command::new(bin.join("rocketmq-broker-rust"))
                .arg("-c")
                .arg(dir.join("broker.toml"))
                .args(["-n", &format!("127.0.0.1:{ns_port}")]),
            &broker_log,
        );
        // Made before the wait, so that a broker which never listens takes the name server down.
        let mut pair = PrivateRocketmq {
            name_server_process,
            broker,
            name_server: format!("127.0.0.1:{ns_port}"),
            credentials,
            dir,
            store,
        };
        wait_port(&mut pair.broker, port, "the private broker", &broker_log);
        pair
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
        let _ = std::fs::remove_dir_all(&self.store);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
