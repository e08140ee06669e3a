//! Proves: a node killed with SIGKILL in the middle of a 100,000-row load resumes from its
//! checkpoint after a restart: every change arrives, per-key order holds, and every duplicate
//! comes from after the last checkpoint the API showed before the kill.

mod common;

use common::{read_topic, Msg, Sql};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const ROWS: u64 = 100_000;
const PER_TX: u64 = 1_000;
/// Keys updated after their insert (every 100th).
const UPDATED: u64 = ROWS / 100;

#[test]
fn kill9_mid_load_loses_nothing_and_keeps_key_order() {
    let (services, mut node, mut sql, db) = common::setup("kill9");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.load (id BIGINT PRIMARY KEY, k INT, c CHAR(60))"));

    node.register_sources(&services);
    let topic = format!("{db}.load");
    node.start_project(json!({
        "name": "load", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash",
        "start": {"file": start.0, "pos": start.1},
        "options": {"topic_partitions": 4}
    }));

    // The load runs on its own connection while the node is killed and restarted.
    let writer = {
        let services = services.clone();
        let db = db.clone();
        std::thread::spawn(move || {
            let mut sql = Sql::connect(&services);
            for tx in 0..ROWS / PER_TX {
                let values: Vec<String> = (tx * PER_TX + 1..=(tx + 1) * PER_TX)
                    .map(|id| format!("({id}, {}, 'row {id}')", id % 1000))
                    .collect();
                sql.exec(&format!("INSERT INTO {db}.load VALUES {}", values.join(",")));
                // Every 100th key of this batch gets an update after its insert.
                sql.exec(&format!(
                    "UPDATE {db}.load SET k = k + 1 WHERE id BETWEEN {} AND {} AND id % 100 = 0",
                    tx * PER_TX + 1,
                    (tx + 1) * PER_TX
                ));
                // Paced (>1.5 s in all) so the kill lands while changes still arrive.
                std::thread::sleep(std::time::Duration::from_millis(15));
            }
        })
    };

    let before = node.wait_project("load", Duration::from_secs(120), |p| p["rows"].as_u64() >= Some(20_000));
    node.kill9();
    let checkpoint_seen = (
        before["position"]["file"].as_str().unwrap().to_string(),
        before["position"]["pos"].as_u64().unwrap(),
    );
    let delivered_at_kill = before["rows"].as_u64().unwrap();
    assert!(delivered_at_kill < ROWS + UPDATED, "the kill must land mid-load: {before}");

    node.restart();
    writer.join().unwrap();
    let total = ROWS + UPDATED;
    let after = node.wait_project("load", Duration::from_secs(180), |p| p["rows"].as_u64() >= Some(total));
    assert_eq!(after["rows"].as_u64(), Some(total), "the checkpoint counts each change once");
    assert_eq!(after["state"], "running");

    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(120), |m| m.len() as u64 >= total);
    // Keep reading a little longer: duplicates may follow.
    let msgs = if msgs.len() as u64 >= total {
        read_topic(&services.kafka, &topic, Duration::from_secs(5), |m| m.len() > msgs.len() + 1_000_000)
    } else {
        msgs
    };

    // Deduplicate on the source position, as a consumer would; every duplicate must come
    // after the checkpoint the API showed before the kill.
    let mut seen = HashSet::new();
    let mut unique: Vec<&Msg> = Vec::new();
    let mut duplicates = 0u64;
    let mut ordered: Vec<&Msg> = msgs.iter().collect();
    ordered.sort_by_key(|m| (m.partition, m.offset));
    for m in ordered {
        let pos = m.position();
        if seen.insert(pos.clone()) {
            unique.push(m);
        } else {
            duplicates += 1;
            assert!(
                (pos.0.as_str(), pos.1) > (checkpoint_seen.0.as_str(), checkpoint_seen.1),
                "duplicate {pos:?} is from before the checkpoint {checkpoint_seen:?}"
            );
        }
    }
    assert_eq!(unique.len() as u64, total, "every change arrived exactly once after dedup");
    eprintln!("delivered at kill: {delivered_at_kill}, duplicates after restart: {duplicates}");

    // Per key: INSERT then (for every 100th key) UPDATE, in partition order.
    let mut per_key: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for m in &unique {
        let v = m.value.as_ref().unwrap();
        let id = v["allMetaData"]["record_primary_value"].as_str().unwrap().parse().unwrap();
        per_key.entry(id).or_default().push(v["recordType"].as_str().unwrap());
    }
    assert_eq!(per_key.len() as u64, ROWS);
    for (id, ops) in &per_key {
        let want: &[&str] = if id % 100 == 0 { &["INSERT", "UPDATE"] } else { &["INSERT"] };
        assert_eq!(ops, want, "key {id}");
    }
    sql.exec(&format!("DROP DATABASE {db}"));
}
