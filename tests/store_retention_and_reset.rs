//! Proves: the store keeps what its retention window holds, after the connector delivered it
//! and after the source purged its binlogs, and `POST .../connectors/default/reset` replays
//! exactly the transactions committed since a time (no earlier one), without the source; a
//! point outside the retained range is a 422 naming the range; a small `retention_bytes` drops
//! what the connector has delivered; a disk high-water mark pauses pulling with a reason.

mod common;

use common::{ids, read_topic};
use serde_json::json;
use std::sync::Mutex;
use std::time::Duration;

/// One test at a time: the first purges the binlogs the other's projects may still be reading.
static SERIAL: Mutex<()> = Mutex::new(());

/// Hex text that does not compress: `n` bytes from a xorshift seeded with `seed`.
fn noise(seed: u64, n: usize) -> String {
    let mut x = seed | 1;
    (0..n / 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x}")
        })
        .collect()
}

#[test]
fn a_connector_resets_into_the_retained_range_after_the_source_purged_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (services, node, mut sql, db) = common::setup("reset");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v MEDIUMTEXT)"));
    node.register_sources(&services);
    let (status, body) = node.post(
        "/projects",
        json!({"name": "refused", "source": "maria", "destination": "kafka",
               "objects": [{"database": db}], "store": {"retention_bytes": 1000}}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("store.retention_bytes"), "{body}");

    let name = format!("{db}_r");
    let topic = format!("{db}.t.r");
    node.start_project(json!({
        "name": name, "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": topic}],
        "format": "default", "partition": "one", "start": {"file": start.0, "pos": start.1}
    }));
    // Three transactions of ten rows, the second and third committed at or after `since`,
    // the first before it.
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'a' FROM {db}.seq_1_to_10"));
    let first_at = sql.now();
    let since = sql.next_second(first_at);
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'b' FROM {db}.seq_11_to_20"));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'c' FROM {db}.seq_21_to_30"));
    let synced = node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(30));
    let retained = &synced["store_status"]["retained"];
    assert!(retained["oldest_timestamp"].as_u64() <= Some(first_at), "{synced}");
    assert!(retained["bytes"].as_u64() > Some(0), "{synced}");
    let landed = read_topic(&services.kafka, &topic, Duration::from_secs(20), |m| m.len() >= 30);
    assert_eq!(ids(&landed), (1..=30).collect::<Vec<_>>());
    // The connector's own figures, from this node: three transactions in the last minute.
    let live = &node.wait_project(&name, Duration::from_secs(10), |p| !p["connectors"][0]["live"].is_null())
        ["connectors"][0]["live"];
    assert_eq!((live["node"].as_u64(), live["retries"].as_u64()), (Some(1), Some(0)), "{live}");
    assert!(live["latency_p99_ms"].as_u64().is_some_and(|p99| p99 <= 60_000), "{live}");
    assert!(live["latency_p50_ms"].as_u64() <= live["latency_p99_ms"].as_u64(), "{live}");

    // The source forgets those transactions.
    sql.exec("FLUSH BINARY LOGS");
    let (current, _) = sql.position();
    sql.exec(&format!("PURGE BINARY LOGS TO '{current}'"));

    let reset = format!("/projects/{name}/connectors/default/reset");
    let (status, body) = node.post(&reset, json!({"timestamp": 1}));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "outside_retained_range", "{body}");
    assert!(body["message"].as_str().unwrap().contains("transactions committed after"), "{body}");
    let (status, body) = node.post(&reset, json!({"position": {"file": "nope.000001", "pos": 4}}));
    assert_eq!(status, 422, "{body}");
    let (status, body) =
        node.post(&format!("/projects/{name}/connectors/k9/reset"), json!({"timestamp": since}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = node.post(&reset, json!({"when": "yesterday"}));
    assert_eq!(status, 400, "{body}");

    let done = node.ok(&reset, json!({"timestamp": since}), 200);
    assert!(
        done["commit_timestamp"].as_u64() < Some(since),
        "it continues after the first transaction: {done}"
    );
    assert_eq!(done["connector"], "default");
    // Everything from `since` again, nothing before it; then new changes follow.
    node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(50));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (31, 'd')"));
    let again = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 51);
    let mut expected: Vec<i64> = (1..=30).collect();
    expected.extend(11..=31);
    assert_eq!(ids(&again), expected);
    // The reset point is a position too: from the end of the second transaction.
    let by_position = node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(51));
    assert_eq!(by_position["state"], "running", "{by_position}");
    let (status, body) = node.post(
        &reset,
        json!({"position": {"file": done["position"]["file"], "pos": done["position"]["pos"]}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seq"], done["seq"], "{body}");
    node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(72));

    // Paused, a reset waits for the resume: nothing is sent before, the reset range after.
    node.ok(&format!("/projects/{name}/pause"), json!({}), 200);
    node.wait_project(&name, Duration::from_secs(10), |p| p["state"] == "paused");
    let paused = node.ok(&reset, json!({"timestamp": since}), 200);
    assert_eq!(paused["seq"], done["seq"], "{paused}");
    let (status, body) = node.post(&reset, json!({"timestamp": 1}));
    assert_eq!((status, body["code"].as_str()), (422, Some("outside_retained_range")), "{body}");
    std::thread::sleep(Duration::from_secs(2));
    let still = read_topic(&services.kafka, &topic, Duration::from_secs(3), |m| m.len() > 72);
    assert_eq!(still.len(), 72, "nothing resent while paused");
    node.ok(&format!("/projects/{name}/resume"), json!({}), 200);
    node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(93));
    let resumed = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 93);
    assert_eq!(ids(&resumed)[72..], (11..=31).collect::<Vec<_>>()[..]);

    // Every change of the table counted by operation, with the time of the last one.
    let (status, objects) = node.get(&format!("/projects/{name}/objects"));
    assert_eq!(status, 200, "{objects}");
    let t = objects["objects"].as_array().unwrap().iter().find(|o| o["table"] == "t").cloned();
    let t = t.unwrap_or_else(|| panic!("no table t in {objects}"));
    assert_eq!((t["rows"].as_u64(), t["inserted"].as_u64()), (Some(93), Some(93)), "{objects}");
    assert_eq!((t["updated"].as_u64(), t["deleted"].as_u64()), (Some(0), Some(0)), "{objects}");
    assert_eq!(t["topic"], topic.as_str(), "{objects}");
    assert!(t["last_change_ms"].as_u64() >= Some(since * 1000), "{objects}");
    assert_eq!(objects["source_listed"], true, "{objects}");

    // Stopped, its connectors keep their place: a reset is refused, naming the states.
    node.ok(&format!("/projects/{name}/stop"), json!({}), 200);
    let (status, body) = node.post(&reset, json!({"timestamp": since}));
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("paused or failed"), "{body}");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_small_window_lets_delivered_changes_go_and_a_full_disk_pauses_pulling() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (services, node, mut sql, db) = common::setup("retain");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v MEDIUMTEXT)"));
    node.register_sources(&services);
    let small = format!("{db}_small");
    let full = format!("{db}_full");
    for (name, store) in
        [(&small, json!({"retention_bytes": 1 << 20})), (&full, json!({"max_disk_bytes": 16 << 20}))]
    {
        node.start_project(json!({
            "name": name, "source": "maria", "destination": "kafka",
            "objects": [{"database": db, "topic": format!("{{database}}.{{table}}.{name}")}],
            "start": {"file": start.0, "pos": start.1}, "store": store
        }));
    }
    // 64 transactions of one 512 kB row, 10 a second: 32 MiB of changes that do not compress.
    for id in 1..=64 {
        sql.exec(&format!("INSERT INTO {db}.t VALUES ({id}, '{}')", noise(id, 512 << 10)));
        std::thread::sleep(Duration::from_millis(100));
    }
    let kept = node.wait_project(&small, Duration::from_secs(60), |p| {
        p["rows"].as_u64() == Some(64) && p["store_status"]["retained"]["bytes"].as_u64() <= Some(2 << 20)
    });
    let retained = &kept["store_status"]["retained"];
    assert!(retained["oldest_seq"].as_u64() > Some(0), "the oldest changes went: {kept}");
    // What went cannot be replayed.
    let (status, body) = node.post(
        &format!("/projects/{small}/connectors/default/reset"),
        json!({"timestamp": retained["oldest_timestamp"]}),
    );
    assert_eq!(status, 422, "{body}");

    let paused =
        node.wait_project(&full, Duration::from_secs(60), |p| p["store_status"]["state"] == "paused");
    let reason = paused["store_status"]["paused_reason"].as_str().unwrap();
    assert!(reason.contains("store.max_disk_bytes"), "{paused}");
    assert_eq!(paused["state"], "running", "pausing is not failing: {paused}");
    // It stopped short of the source's end, and what it read is delivered.
    std::thread::sleep(Duration::from_secs(3));
    let still =
        node.wait_project(&full, Duration::from_secs(30), |p| p["rows"].as_u64() == p["rows_read"].as_u64());
    assert!(still["rows"].as_u64() < Some(64), "{still}");
    assert_eq!(still["store_status"]["state"], "paused", "{still}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
