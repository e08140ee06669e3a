//! Proves: `/metrics` is the Prometheus text format (read by an independent parser), names
//! the node, project and component, and its figures follow a real sync: rows pulled and
//! delivered count every change, the binlog position and Raft indexes move. With
//! `--metrics-auth` it needs a token.

mod common;

use common::Node;
use serde_json::json;
use std::time::Duration;

/// `/metrics` of `node`, parsed, with the token if given.
fn scrape(node: &Node, token: Option<&str>) -> (u16, Option<prometheus_parse::Scrape>) {
    let mut request = reqwest::blocking::Client::new().get(format!("http://127.0.0.1:{}/metrics", node.port));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    if status != 200 {
        return (status, None);
    }
    let lines = text.lines().map(|l| Ok(l.to_string()));
    (status, Some(prometheus_parse::Scrape::parse(lines).expect("Prometheus text format")))
}

/// The value of `name` for `project`'s `component` (or the node's own, with `None`).
fn value(scrape: &prometheus_parse::Scrape, name: &str, at: Option<(&str, &str)>) -> Option<f64> {
    let sample = scrape.samples.iter().find(|s| {
        s.metric == name
            && s.labels.get("node") == Some("1")
            && match at {
                Some((project, component)) => {
                    s.labels.get("project") == Some(project) && s.labels.get("component") == Some(component)
                }
                None => s.labels.get("project").is_none(),
            }
    })?;
    match sample.value {
        prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Untyped(v) => Some(v),
        _ => None,
    }
}

#[test]
fn metrics_follow_a_sync_in_the_prometheus_text_format() {
    let (services, node, mut sql, db) = common::setup("metrics");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": db, "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "start": {"file": start.0, "pos": start.1}
    }));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'a' FROM {db}.seq_1_to_300"));
    node.wait_project(&db, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(300));

    let (_, first) = scrape(&node, None);
    let first = first.unwrap();
    let store = Some((db.as_str(), "store"));
    let connector = Some((db.as_str(), "connector/default"));
    assert!(value(&first, "ferry_raft_term", None) >= Some(1.0));
    assert_eq!(value(&first, "ferry_raft_is_leader", None), Some(1.0), "a one-node cluster leads");
    assert_eq!(value(&first, "ferry_raft_leader_id", None), Some(1.0));
    assert_eq!(value(&first, "ferry_store_rows_total", store), Some(300.0));
    assert_eq!(value(&first, "ferry_connector_rows_total", connector), Some(300.0));
    assert!(value(&first, "ferry_connector_bytes_total", connector) > Some(300.0));
    assert_eq!(value(&first, "ferry_component_errors_total", connector), Some(0.0));
    assert!(value(&first, "ferry_store_binlog_file_number", store) >= Some(1.0));
    let help = |name: &str| first.docs.get(name).cloned().unwrap_or_default();
    assert!(help("ferry_connector_sync_delay_seconds").contains("commit time"), "documented");
    // The transaction of 300 rows was acknowledged within the last minute.
    let p99 = value(&first, "ferry_connector_latency_p99_seconds", connector);
    assert!(p99.is_some_and(|s| (0.0..60.0).contains(&s)), "latency p99 {p99:?}");
    assert!(value(&first, "ferry_connector_rows_per_second", connector) >= Some(0.0));

    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'b' FROM {db}.seq_301_to_500"));
    node.wait_project(&db, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(500));
    let (_, second) = scrape(&node, None);
    let second = second.unwrap();
    assert_eq!(value(&second, "ferry_connector_rows_total", connector), Some(500.0));
    assert_eq!(value(&second, "ferry_store_rows_total", store), Some(500.0));
    let moved = |name: &str, at| value(&second, name, at) > value(&first, name, at);
    assert!(moved("ferry_store_binlog_offset_bytes", store), "the store's position moves");
    assert!(moved("ferry_raft_applied_index", None), "checkpoints go through Raft");
    assert!(moved("ferry_raft_commit_index", None));
}

#[test]
fn metrics_need_a_token_only_when_asked() {
    let node = Node::start_with_args("metrics-auth", &["--metrics-auth", "--viewer-token", "look"]);
    assert_eq!(scrape(&node, None).0, 401);
    assert_eq!(scrape(&node, Some("wrong")).0, 401);
    let (status, metrics) = scrape(&node, Some("look"));
    assert_eq!(status, 200);
    assert!(value(&metrics.unwrap(), "ferry_raft_term", None) >= Some(1.0));
    assert_eq!(scrape(&node, Some(&node.token)).0, 200);
}
