//! Proves: with `heartbeat_ms` set, an idle source still moves the project's sync timestamp,
//! and the `default` format writes HEARTBEAT records to `__ferry-heartbeat.<project>`; without
//! it the sync timestamp stays at the last change.

mod common;

use common::read_topic;
use serde_json::json;
use std::time::Duration;

#[test]
fn an_idle_source_moves_the_sync_timestamp_with_heartbeats() {
    let (services, node, mut sql, db) = common::setup("beat");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"));
    node.register_sources(&services);
    node.refuses_options(&db, json!({"heartbeat_ms": 50}), "options.heartbeat_ms");

    // Topics outlive the test: the project's name is unique to this run.
    let beating = format!("{db}_beat");
    for (name, heartbeat_ms) in [(beating.as_str(), 1000), ("quiet", 0)] {
        node.start_project(json!({
            "name": name, "source": "maria", "destination": "kafka",
            "objects": [{"database": db, "topic": format!("{{database}}.{{table}}.{name}")}],
            "format": "default", "start": {"file": start.0, "pos": start.1},
            "options": {"heartbeat_ms": heartbeat_ms}
        }));
    }
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1)"));
    let synced = |name: &str| {
        let p = node.wait_project(name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(1));
        p["sync_timestamp"].as_u64().unwrap()
    };
    let (beating_at, quiet_at) = (synced(&beating), synced("quiet"));

    // Idle from here on.
    std::thread::sleep(Duration::from_secs(5));
    let later = node.wait_project(&beating, Duration::from_secs(10), |p| {
        p["sync_timestamp"].as_u64() >= Some(beating_at + 3)
    });
    assert_eq!(later["rows"].as_u64(), Some(1), "heartbeats are not rows: {later}");
    let quiet = node.wait_project("quiet", Duration::from_secs(5), |_| true);
    assert_eq!(quiet["sync_timestamp"].as_u64(), Some(quiet_at), "no heartbeats, no movement: {quiet}");
    // The store itself follows the idle source (its progress), heartbeat records or not.
    assert!(quiet["store_timestamp"].as_u64() >= Some(quiet_at + 3), "{quiet}");
    assert!(quiet["store_delay_ms"].as_u64() < Some(3000), "{quiet}");

    let stamp = |m: &common::Msg| -> u64 {
        let v = m.value.as_ref().unwrap();
        assert_eq!(v["recordType"], "HEARTBEAT", "{v}");
        assert_eq!(v["allMetaData"]["source_identity"], beating.as_str(), "{v}");
        v["allMetaData"]["checkpoint"].as_str().unwrap().parse().unwrap()
    };
    // Heartbeats up to the idle time the project's sync timestamp reached.
    let topic = format!("__ferry-heartbeat.{beating}");
    // (At least three: when other tests write the binlog meanwhile, the source is not idle
    // and beats come as it progresses, so one second may see none.)
    let beats = read_topic(&services.kafka, &topic, Duration::from_secs(20), |m| {
        m.len() >= 3 && m.iter().any(|m| stamp(m) >= beating_at + 3)
    });
    assert!(beats.len() >= 3, "{} heartbeat records", beats.len());
    let stamps: Vec<u64> = beats.iter().map(stamp).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "in time order: {stamps:?}");
    assert!(stamps.last().unwrap() >= &(beating_at + 3), "{stamps:?} after {beating_at}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
