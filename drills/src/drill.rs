//! What every drill starts with: the services, a 3-node cluster, a database with the `load`
//! table, both data sources registered and the project `load` running, from the binlog
//! position before the table was created, hash-partitioned over 4 partitions.

use crate::common::cluster::Cluster;
use crate::common::{unique, Services, Sql};
use crate::load::{changes, Load, PER_TX};
use crate::verify::{self, Delivery};
use serde_json::{json, Value};
use std::time::Duration;

pub const PROJECT: &str = "load";
/// Inserts per drill: with the updates, 101,000 row changes.
pub const ROWS: u64 = 100_000;
/// Row changes per second the load writes: the load spans ~20 s, the drills' faults in it.
pub const RATE: u64 = 5_000;
const CHECKPOINT_INTERVAL_MS: u64 = 500;

pub struct Drill {
    pub name: String,
    pub services: Services,
    pub cluster: Cluster,
    pub sql: Sql,
    pub db: String,
    pub topic: String,
}

impl Drill {
    pub fn start(name: &str) -> Drill {
        let services = Services::from_env();
        let cluster = Cluster::start(name, 3);
        let mut sql = Sql::connect(&services);
        let db = unique(name);
        sql.exec(&format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"));
        let (file, pos) = sql.position();
        sql.exec(&format!("CREATE TABLE {db}.load (id BIGINT PRIMARY KEY, k INT, c CHAR(60))"));
        let api = cluster.any();
        cluster.ok(api, "/datasources", services.mysql_source("maria"), 201);
        cluster.ok(api, "/datasources", services.kafka_destination("kafka"), 201);
        let topic = format!("{db}.load");
        cluster.ok(
            api,
            "/projects",
            json!({
                "name": PROJECT, "source": "maria", "destination": "kafka",
                "objects": [{"database": db, "topic": "{database}.{table}"}],
                "format": "default", "partition": "hash",
                "start": {"file": file, "pos": pos},
                "options": {"topic_partitions": 4, "checkpoint_interval_ms": CHECKPOINT_INTERVAL_MS}
            }),
            201,
        );
        cluster.ok(api, &format!("/projects/{PROJECT}/start"), json!({}), 200);
        cluster.wait_project(PROJECT, Duration::from_secs(30), |p| p["components"][1]["state"] == "running");
        Drill { name: name.into(), services, cluster, sql, db, topic }
    }

    pub fn load(&self) -> Load {
        Load::start(&self.services, &self.db, ROWS, RATE)
    }

    pub fn project(&self) -> Value {
        self.cluster.project(PROJECT).expect("a node answers")
    }

    /// The project's node and epoch now.
    pub fn placement(&self) -> (u64, u64) {
        let p = self.cluster.wait_project(PROJECT, Duration::from_secs(30), |p| p["node"].as_u64().is_some());
        (p["node"].as_u64().unwrap(), p["epoch"].as_u64().unwrap())
    }

    /// Waits until the project runs on a node other than `from`, at an epoch after `epoch`.
    pub fn wait_moved(&self, from: u64, epoch: u64, timeout: Duration) -> (u64, u64) {
        let p = self.cluster.wait_project(PROJECT, timeout, |p| {
            p["node"].as_u64().is_some_and(|n| n != from)
                && p["epoch"].as_u64() > Some(epoch)
                && p["components"][1]["state"] == "running"
        });
        (p["node"].as_u64().unwrap(), p["epoch"].as_u64().unwrap())
    }

    /// Waits until the checkpoint counts every change of the load, then checks the topic.
    pub fn delivered(&self) -> Delivery {
        let total = changes(ROWS);
        let p = self
            .cluster
            .wait_project(PROJECT, Duration::from_secs(240), |p| p["rows"].as_u64() >= Some(total));
        assert_eq!(p["rows"].as_u64(), Some(total), "the checkpoint counts each change once");
        assert_eq!(p["state"], "running");
        verify::check(&self.services.kafka, &self.topic, ROWS)
    }

    /// The duplicates a failure may cause: what the load writes in one checkpoint interval
    /// plus the in-flight window: what was sent but not yet acknowledged and checkpointed when
    /// it failed (a checkpoint is proposed every interval and takes up to another to commit),
    /// rounded up to whole transactions, since a checkpoint sits only at a transaction's end.
    pub fn duplicate_bound(&self, load: &Load) -> usize {
        let window_s = 2.0 * CHECKPOINT_INTERVAL_MS as f64 / 1000.0;
        (load.rate() * window_s) as usize + 2 * changes(PER_TX) as usize
    }

    /// Prints the drill's figures (the test output keeps them with `--nocapture`).
    pub fn report(&self, figures: &[(&str, String)]) {
        let line: Vec<String> = figures.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("DRILL {}: {}", self.name, line.join(" "));
    }
}

impl Drop for Drill {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.sql.exec(&format!("DROP DATABASE {}", self.db));
        }
    }
}
