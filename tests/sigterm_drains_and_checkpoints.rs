//! Proves: SIGTERM stops a node cleanly (exit 0) after its connector drained what was in flight
//! and saved a last checkpoint, so a restart resumes exactly there: no change is sent twice.

mod common;

use common::{read_topic, Sql};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn sigterm_exits_cleanly_and_a_restart_sends_nothing_twice() {
    let (services, mut node, mut sql, db) = common::setup("sigterm");
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "p", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "debezium", "partition": "hash", "start": {"from": "now"},
        // A long interval: only the shutdown's own checkpoint can cover the last rows.
        "options": {"checkpoint_interval_ms": 60000}
    }));

    let batch = |sql: &mut Sql, from: u32| {
        let rows: Vec<String> = (from..from + 500).map(|i| format!("({i}, 'v{i}')")).collect();
        sql.exec(&format!("INSERT INTO {db}.t VALUES {}", rows.join(",")));
    };
    batch(&mut sql, 1);
    // Delivered (the store has read it and the connector sent it) but not yet checkpointed.
    let topic = format!("{db}.t");
    let first = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 500);
    assert_eq!(first.len(), 500);

    let status = node.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(node.log_text().contains("ferry node stopped"));

    batch(&mut sql, 501);
    node.restart();
    let all = read_topic(&services.kafka, &topic, Duration::from_secs(60), |m| m.len() >= 1000);
    assert_eq!(all.len(), 1000);
    // Pausing drains and checkpoints too, so the count is exact without waiting a minute.
    node.ok("/projects/p/pause", json!({}), 200);
    let p = node.wait_project("p", Duration::from_secs(30), |p| p["rows"].as_u64() >= Some(1000));
    assert_eq!(p["rows"], 1000);
    let later = read_topic(&services.kafka, &topic, Duration::from_secs(3), |m| m.len() > 1000);
    let mut positions = HashSet::new();
    for m in &later {
        assert!(positions.insert(m.position()), "sent twice: {m:?}");
    }
    assert_eq!(later.len(), 1000, "no message was sent twice");
    sql.exec(&format!("DROP DATABASE {db}"));
}
