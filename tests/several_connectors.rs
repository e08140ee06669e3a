//! Proves: one project's store feeds several connectors, each with its own destination, format,
//! topics and checkpoint; resetting one replays only its topic; a connector that cannot deliver
//! keeps the store from dropping what it has not delivered, whatever the retention window says;
//! and when the store starts over from that connector's checkpoint (a new node, a lost store),
//! the connector that was ahead sends nothing twice.

mod common;

use common::{ids, read_topic};
use serde_json::json;
use std::time::Duration;

fn rows_of(p: &serde_json::Value, i: usize) -> Option<u64> {
    p["connectors"][i]["rows"].as_u64()
}

#[test]
fn two_connectors_read_one_store_in_their_own_formats_and_reset_alone() {
    let (services, node, mut sql, db) = common::setup("conn");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))"));
    node.register_sources(&services);
    let project = |connectors: serde_json::Value| {
        json!({"name": format!("{db}_two"), "source": "maria", "connectors": connectors,
               "objects": [{"database": db}], "start": {"file": start.0, "pos": start.1}})
    };
    let k = |id: &str, destination: &str| json!({"id": id, "destination": destination});
    for (connectors, status, says) in [
        (json!([k("k1", "kafka"), k("k1", "kafka")]), 400, "\"k1\" is given twice"),
        (json!([k("k1", "kafka"), k("k2", "nowhere")]), 404, "connectors[1].destination"),
        (json!([{"id": "k1", "destination": "kafka", "colour": "red"}]), 400, "colour"),
    ] {
        let (got, body) = node.post("/projects", project(connectors));
        assert_eq!(got, status, "{body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{body}");
    }
    let mut both = project(json!([
        {"id": "k1", "destination": "kafka", "format": "default", "partition": "one",
         "topic": "{database}.{table}.k1"},
        {"id": "k2", "destination": "kafka", "format": "canal", "partition": "one",
         "topic": "{database}.{table}.k2"},
    ]));
    both["destination"] = json!("kafka");
    let (got, body) = node.post("/projects", both.clone());
    assert_eq!(got, 400, "destination and connectors together: {body}");
    both.as_object_mut().unwrap().remove("destination");
    let name = format!("{db}_two");
    node.start_project(both);

    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'a' FROM {db}.seq_1_to_10"));
    let first_at = sql.now();
    let since = sql.next_second(first_at);
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'b' FROM {db}.seq_11_to_20"));
    let p = node.wait_project(&name, Duration::from_secs(30), |p| {
        rows_of(p, 0) == Some(20) && rows_of(p, 1) == Some(20)
    });
    let components: Vec<&str> =
        p["components"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        components,
        [format!("{name}/store"), format!("{name}/connector/k1"), format!("{name}/connector/k2")]
    );
    assert_eq!(
        (p["connectors"][0]["format"].as_str(), p["connectors"][1]["format"].as_str()),
        (Some("default"), Some("canal"))
    );
    let (t1, t2) = (format!("{db}.t.k1"), format!("{db}.t.k2"));
    let all: Vec<i64> = (1..=20).collect();
    assert_eq!(ids(&read_topic(&services.kafka, &t1, Duration::from_secs(20), |m| ids(m).len() >= 20)), all);
    let canal = read_topic(&services.kafka, &t2, Duration::from_secs(20), |m| ids(m).len() >= 20);
    assert_eq!(ids(&canal), all);
    assert_eq!(canal[0].value.as_ref().unwrap()["isDdl"], false, "Canal messages on k2");

    // k2 alone goes back to `since`: the second transaction again on its topic, not on k1's.
    let reset = node.ok(&format!("/projects/{name}/connectors/k2/reset"), json!({"timestamp": since}), 200);
    assert_eq!(reset["connector"], "k2");
    node.wait_project(&name, Duration::from_secs(30), |p| {
        rows_of(p, 1) == Some(30) && p["state"] == "running"
    });
    sql.exec(&format!("INSERT INTO {db}.t VALUES (21, 'c')"));
    node.wait_project(&name, Duration::from_secs(30), |p| {
        rows_of(p, 0) == Some(21) && rows_of(p, 1) == Some(31)
    });
    let mut expected: Vec<i64> = (1..=21).collect();
    assert_eq!(
        ids(&read_topic(&services.kafka, &t1, Duration::from_secs(20), |m| ids(m).len() >= 21)),
        expected
    );
    expected = (1..=20).chain(11..=21).collect();
    assert_eq!(
        ids(&read_topic(&services.kafka, &t2, Duration::from_secs(20), |m| ids(m).len() >= 31)),
        expected
    );
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_stuck_connector_holds_the_store_and_a_fresh_store_skips_what_others_delivered() {
    let (services, mut node, mut sql, db) = common::setup("stuck");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v MEDIUMTEXT)"));
    node.register_sources(&services);
    // A broker nobody listens on: that connector never delivers.
    node.ok(
        "/datasources?verify=false",
        json!({"name": "dead", "type": "kafka", "bootstrap_servers": "127.0.0.1:9"}),
        201,
    );
    let name = format!("{db}_stuck");
    let topic = format!("{db}.t.live");
    node.start_project(json!({
        "name": name, "source": "maria", "objects": [{"database": db}],
        "start": {"file": start.0, "pos": start.1}, "store": {"retention_bytes": 1 << 20},
        // Heartbeats while the rows trickle in: read again in one go, the log numbers its
        // records differently, so only the source position tells where the live one was.
        "options": {"heartbeat_ms": 1000},
        "connectors": [
            {"id": "live", "destination": "kafka", "partition": "one", "topic": "{database}.{table}.live"},
            {"id": "stuck", "destination": "dead"},
        ]
    }));
    // 3 MiB of changes: three times the retention window.
    for id in 1..=12 {
        sql.exec(&format!("INSERT INTO {db}.t VALUES ({id}, REPEAT('x', 262144))"));
        std::thread::sleep(Duration::from_millis(400));
    }
    let p = node.wait_project(&name, Duration::from_secs(60), |p| rows_of(p, 0) == Some(12));
    std::thread::sleep(Duration::from_secs(3));
    let p2 = node.wait_project(&name, Duration::from_secs(5), |_| true);
    let retained = &p2["store_status"]["retained"];
    assert!(retained["bytes"].as_u64() > Some(2 << 20), "kept for the stuck connector: {p2}");
    assert_eq!(rows_of(&p2, 1), Some(0), "{p2}");
    assert_eq!(p["state"], "running");

    // The store is lost (a new node would have none): it starts over from the stuck
    // connector's checkpoint; the live one skips what it delivered.
    node.kill9();
    std::fs::remove_dir_all(node.data_dir.join("stores").join(&name)).unwrap();
    node.restart();
    sql.exec(&format!("INSERT INTO {db}.t VALUES (13, 'after')"));
    node.wait_project(&name, Duration::from_secs(60), |p| rows_of(p, 0) == Some(13));
    let landed = read_topic(&services.kafka, &topic, Duration::from_secs(20), |m| ids(m).len() >= 13);
    std::thread::sleep(Duration::from_secs(2));
    let again = read_topic(&services.kafka, &topic, Duration::from_secs(5), |m| m.len() > landed.len());
    assert_eq!(ids(&again), (1..=13).collect::<Vec<_>>(), "nothing twice");
    sql.exec(&format!("DROP DATABASE {db}"));
}
