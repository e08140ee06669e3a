//! A cluster of real `ferry node` processes, node `i` on its own loopback address
//! `127.0.0.1<i>` (so a firewall rule on the address cuts exactly that node off), with one key
//! file and one admin token.

use super::{ferry_bin, free_port, unique, wait_for};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn ip(id: u64) -> String {
    format!("127.0.0.{}", 10 + id)
}

/// A port free on the addresses of nodes 1..=n.
fn port_free_on(n: u64) -> u16 {
    loop {
        let port = free_port();
        let free = (1..=n).all(|id| std::net::TcpListener::bind((ip(id).as_str(), port)).is_ok());
        if free {
            return port;
        }
    }
}

pub struct ClusterNode {
    pub id: u64,
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    join: bool,
}

pub struct Cluster {
    pub token: String,
    base: PathBuf,
    key_file: PathBuf,
    raft_port: u16,
    http_port: u16,
    peers: String,
    pub nodes: BTreeMap<u64, ClusterNode>,
    paused: BTreeSet<u64>,
    lease_ms: u64,
    http: reqwest::blocking::Client,
    /// `http`, or `https` for a cluster started with a certificate.
    scheme: &'static str,
    /// Extra arguments of every `ferry node`.
    args: Vec<String>,
}

impl Cluster {
    /// Starts `n` nodes that bootstrap together and waits for a leader.
    pub fn start(name: &str, n: u64) -> Cluster {
        Self::start_with(name, n, None)
    }

    /// Starts `n` nodes serving HTTPS with one certificate naming all their addresses.
    pub fn start_tls(name: &str, n: u64) -> (Cluster, super::tls::TestCert) {
        let dir = std::env::temp_dir().join(unique(&format!("drill-{name}-tls")));
        let ips: Vec<String> = (1..=n + 1).map(ip).collect();
        let cert = super::tls::TestCert::for_ips(&dir, &ips.iter().map(String::as_str).collect::<Vec<_>>());
        (Self::start_with(name, n, Some(&cert)), cert)
    }

    fn start_with(name: &str, n: u64, tls: Option<&super::tls::TestCert>) -> Cluster {
        let base = std::env::temp_dir().join(unique(&format!("drill-{name}")));
        std::fs::create_dir_all(&base).unwrap();
        let key_file = base.join("cluster.key");
        let mut key = [0u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key).unwrap();
        std::fs::write(&key_file, key).unwrap();
        // Room for a node added later.
        let (raft_port, http_port) = (port_free_on(n + 1), port_free_on(n + 1));
        let peers = (1..=n).map(|id| format!("{id}={}:{raft_port}", ip(id))).collect::<Vec<_>>().join(",");
        let mut c = Cluster {
            token: "drill-token".into(),
            base,
            key_file,
            raft_port,
            http_port,
            peers,
            nodes: BTreeMap::new(),
            paused: BTreeSet::new(),
            lease_ms: 3000,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                // The node closes a connection idle for 5 s (actix-web's keep-alive); a request
                // sent on it just then fails with IncompleteMessage. Never reuse one that old.
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
            scheme: "http",
            args: Vec::new(),
        };
        if let Some(cert) = tls {
            c.http = cert.client(Duration::from_secs(10));
            c.scheme = "https";
            c.args = cert.node_args();
        }
        for id in 1..=n {
            c.add(id, false);
        }
        c.leader(Duration::from_secs(30));
        c
    }

    fn add(&mut self, id: u64, join: bool) {
        let data_dir = self.base.join(format!("node{id}"));
        let log = self.base.join(format!("node{id}.log"));
        self.nodes.insert(id, ClusterNode { id, child: None, data_dir, log, join });
        self.spawn(id);
    }

    /// Starts node `id` with `--join`: it waits to be added with `POST /cluster/nodes`.
    pub fn start_joining(&mut self, id: u64) {
        self.add(id, true);
    }

    /// Starts node `id` with `--join` and a key file of its own.
    pub fn start_joining_with_key(&mut self, id: u64, key_file: &std::path::Path) {
        let data_dir = self.base.join(format!("node{id}"));
        let log = self.base.join(format!("node{id}.log"));
        self.nodes.insert(id, ClusterNode { id, child: None, data_dir, log, join: true });
        self.spawn_with(id, key_file);
    }

    pub fn raft_addr(&self, id: u64) -> String {
        format!("{}:{}", ip(id), self.raft_port)
    }

    pub fn http_addr(&self, id: u64) -> String {
        format!("{}:{}", ip(id), self.http_port)
    }

    /// The command line of node `id`, with `key_file` (the cluster's by default).
    fn command(&self, id: u64, key_file: &std::path::Path) -> Command {
        let (raft, http) = (self.raft_addr(id), self.http_addr(id));
        let node = &self.nodes[&id];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        let mut cmd = Command::new(ferry_bin());
        cmd.args(["node", "--node-id", &id.to_string(), "--raft", &raft, "--http", &http])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .arg("--key-file")
            .arg(key_file)
            .args(["--admin-token", &self.token, "--lease-ms", &self.lease_ms.to_string()])
            .args(&self.args);
        if node.join {
            cmd.arg("--join");
        } else {
            cmd.args(["--peers", &self.peers]);
        }
        cmd.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        cmd
    }

    fn spawn(&mut self, id: u64) {
        let key = self.key_file.clone();
        self.spawn_with(id, &key);
    }

    fn spawn_with(&mut self, id: u64, key_file: &std::path::Path) {
        let child = self.command(id, key_file).spawn().expect("start ferry");
        self.nodes.get_mut(&id).unwrap().child = Some(child);
        let url = format!("{}://{}/healthz", self.scheme, self.http_addr(id));
        wait_for(&format!("node {id}'s /healthz"), Duration::from_secs(30), || {
            self.http.get(&url).send().ok().filter(|r| r.status().is_success())
        });
    }

    /// Starts node `id` (stopped) with another key file and waits up to `timeout` for it to
    /// exit; returns its exit code, if it exited.
    pub fn run_with_key(&mut self, id: u64, key_file: &std::path::Path, timeout: Duration) -> Option<i32> {
        assert!(self.nodes[&id].child.is_none(), "node {id} still runs");
        let mut child = self.command(id, key_file).spawn().expect("start ferry");
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// A fresh 32-byte key file (not the cluster's).
    pub fn other_key_file(&self) -> PathBuf {
        let path = self.base.join(unique("other.key"));
        let mut key = [0u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key).unwrap();
        std::fs::write(&path, key).unwrap();
        path
    }

    pub fn url(&self, id: u64, path: &str) -> String {
        format!("{}://{}/api/v1{path}", self.scheme, self.http_addr(id))
    }

    fn call(&self, req: reqwest::blocking::RequestBuilder) -> Result<(u16, Value), String> {
        let resp = req.bearer_auth(&self.token).send().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    pub fn try_get(&self, id: u64, path: &str) -> Result<(u16, Value), String> {
        self.call(self.http.get(self.url(id, path)))
    }

    pub fn try_post(&self, id: u64, path: &str, body: Value) -> Result<(u16, Value), String> {
        self.call(self.http.post(self.url(id, path)).json(&body))
    }

    pub fn try_delete(&self, id: u64, path: &str) -> Result<(u16, Value), String> {
        self.call(self.http.delete(self.url(id, path)))
    }

    /// POSTs to node `id` and asserts the status.
    pub fn ok(&self, id: u64, path: &str, body: Value, status: u16) -> Value {
        let (got, resp) = self.try_post(id, path, body).expect("API call");
        assert_eq!(got, status, "POST {path} on node {id}: {resp}");
        resp
    }

    /// Nodes whose process runs and is not stopped with SIGSTOP.
    pub fn serving(&self) -> Vec<u64> {
        self.nodes
            .values()
            .filter(|n| n.child.is_some() && !self.paused.contains(&n.id))
            .map(|n| n.id)
            .collect()
    }

    /// `GET /cluster` on node `id`.
    pub fn status(&self, id: u64) -> Option<Value> {
        self.try_get(id, "/cluster").ok().filter(|(s, _)| *s == 200).map(|(_, v)| v)
    }

    /// The leader every serving node (of `among`, if given) agrees on.
    pub fn leader_among(&self, among: &[u64], timeout: Duration) -> u64 {
        wait_for("an agreed leader", timeout, || {
            let leaders: Vec<Option<u64>> =
                among.iter().map(|id| self.status(*id).and_then(|s| s["leader"].as_u64())).collect();
            let first = (*leaders.first()?)?;
            (among.contains(&first) && leaders.iter().all(|l| *l == Some(first))).then_some(first)
        })
    }

    pub fn leader(&self, timeout: Duration) -> u64 {
        self.leader_among(&self.serving(), timeout)
    }

    /// A node to send API calls to.
    pub fn any(&self) -> u64 {
        *self.serving().first().expect("a serving node")
    }

    /// `GET /projects/{name}` on a serving node.
    pub fn project(&self, name: &str) -> Option<Value> {
        self.serving()
            .into_iter()
            .find_map(|id| self.try_get(id, &format!("/projects/{name}")).ok().filter(|(s, _)| *s == 200))
            .map(|(_, v)| v)
    }

    pub fn wait_project(&self, name: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut last = Value::Null;
        loop {
            if let Some(p) = self.project(name) {
                if pred(&p) {
                    return p;
                }
                last = p;
            }
            assert!(
                start.elapsed() < timeout,
                "project {name}: condition not met in {timeout:?}; last: {last}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node that runs `project` (once placed).
    pub fn project_node(&self, name: &str) -> u64 {
        self.wait_project(name, Duration::from_secs(30), |p| p["node"].as_u64().is_some())["node"]
            .as_u64()
            .unwrap()
    }

    fn pid(&self, id: u64) -> u32 {
        self.nodes[&id].child.as_ref().expect("running").id()
    }

    /// The process id of node `id` (to signal it while the cluster is shared).
    pub fn pid_of(&self, id: u64) -> u32 {
        self.pid(id)
    }

    /// Collects a node killed by pid, so it counts as stopped.
    pub fn reap(&mut self, id: u64) {
        if let Some(mut c) = self.nodes.get_mut(&id).and_then(|n| n.child.take()) {
            let _ = c.kill();
            c.wait().unwrap();
        }
        self.paused.remove(&id);
    }

    fn signal(&self, id: u64, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(self.pid(id).to_string()).status().unwrap();
        assert!(ok.success(), "kill -{sig} node {id}");
    }

    pub fn kill9(&mut self, id: u64) {
        if let Some(mut c) = self.nodes.get_mut(&id).and_then(|n| n.child.take()) {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        self.paused.remove(&id);
    }

    /// SIGTERM; returns how long the node took to exit.
    pub fn terminate(&mut self, id: u64) -> Duration {
        self.terminate_all(&[id])[0]
    }

    /// SIGTERM to every node of `ids` at once; returns how long each took to exit.
    pub fn terminate_all(&mut self, ids: &[u64]) -> Vec<Duration> {
        for &id in ids {
            self.signal(id, "TERM");
        }
        let start = Instant::now();
        let mut took = vec![None; ids.len()];
        while took.iter().any(Option::is_none) {
            for (i, &id) in ids.iter().enumerate() {
                let child = self.nodes.get_mut(&id).unwrap().child.as_mut().unwrap();
                if took[i].is_none() && child.try_wait().unwrap().is_some() {
                    took[i] = Some(start.elapsed());
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nodes {ids:?} did not exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for &id in ids {
            self.nodes.get_mut(&id).unwrap().child = None;
        }
        took.into_iter().flatten().collect()
    }

    pub fn sigstop(&mut self, id: u64) {
        self.signal(id, "STOP");
        self.paused.insert(id);
    }

    pub fn sigcont(&mut self, id: u64) {
        self.signal(id, "CONT");
        self.paused.remove(&id);
    }

    pub fn restart(&mut self, id: u64) {
        assert!(self.nodes[&id].child.is_none(), "node {id} still runs");
        self.spawn(id);
    }

    pub fn log_text(&self, id: u64) -> String {
        std::fs::read_to_string(&self.nodes[&id].log).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in self.paused.clone() {
            let _ = Command::new("kill").arg("-CONT").arg(self.pid(id).to_string()).status();
        }
        for node in self.nodes.values_mut() {
            if let Some(mut c) = node.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.base);
        } else {
            eprintln!("drill cluster kept for inspection: {}", self.base.display());
        }
    }
}
