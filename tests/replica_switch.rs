//! Proves: a project survives its data source moving to a replica that has the same GTIDs.
//! `PUT /datasources/{name}` points the source at a second MariaDB replicating from the first;
//! the running project restarts on it and resumes by GTID (the replica's binlog files have the
//! same names as the primary's but other contents, so a file and offset would be wrong there),
//! and every change, before and after the switch, arrives exactly once.

mod common;

use common::replica::Replica;
use common::{read_topic, Sql};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn insert(sql: &mut Sql, db: &str, ids: std::ops::RangeInclusive<u32>) {
    for id in ids {
        sql.exec(&format!("INSERT INTO {db}.t VALUES ({id}, 'v{id}')"));
    }
}

#[test]
fn a_project_follows_its_source_to_a_replica_by_gtid() {
    let services = common::Services::from_env();
    let replica = Replica::start(&services);
    let node = common::Node::start("replica");
    let mut sql = Sql::connect(&services);
    let db = common::unique("replica");
    sql.exec(&format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"));
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "p", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash", "start": {"from": "now"}
    }));
    let topic = format!("{db}.t");
    insert(&mut sql, &db, 1..=50);
    read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 50);

    // A bad replica address is refused and changes nothing.
    let mut bad = services.mysql_source("maria");
    bad["port"] = json!(common::free_port());
    let (status, body) = node.put("/datasources/maria", bad);
    assert_eq!(status, 502, "{body}");
    let mut renamed = services.mysql_source("other");
    renamed["port"] = json!(replica.port);
    let (status, body) = node.put("/datasources/maria", renamed);
    assert_eq!(status, 400, "{body}");

    insert(&mut sql, &db, 51..=100);
    replica.catch_up(&mut sql);
    // The switch restarts the project from its checkpoint (what came after it would be sent
    // again): once it covers the 100 rows, nothing may come twice.
    let epoch = node.wait_project("p", Duration::from_secs(30), |p| p["rows"] == 100)["epoch"].clone();
    let (status, body) = node.put("/datasources/maria", replica.services.mysql_source("maria"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["port"], replica.port);
    node.wait_project("p", Duration::from_secs(30), |p| {
        p["epoch"].as_u64() > epoch.as_u64() && p["state"] == "running"
    });
    insert(&mut sql, &db, 101..=150);

    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(60), |m| m.len() >= 150);
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for m in &msgs {
        let after = &m.value.as_ref().unwrap()["postStruct"];
        assert_eq!(after["v"], format!("v{}", after["id"]), "{after}");
        *seen.entry(after["id"].as_i64().unwrap()).or_default() += 1;
    }
    assert_eq!(seen.len(), 150, "every change arrived: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");

    // Ferry reads the replica now: it is the one serving its binlog dump.
    let mut on_replica = Sql::connect(&replica.services);
    let dumps = on_replica
        .rows("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
    assert_eq!(dumps[0].get::<i64, _>(0), Some(1));
    let p = node.wait_project("p", Duration::from_secs(10), |p| p["state"] == "running");
    assert_eq!(p["error"], json!(null), "{p}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
