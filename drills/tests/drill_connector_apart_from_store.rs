//! Proves: a connector runs on another node than its store, reading the store's log over the
//! network, and delivers every change of the load, per key in order; when the connector's node
//! is killed, it comes back to its store's node; when the store's node is killed, the store
//! moves and the connector apart goes on reading from it. Duplicates stay within one
//! checkpoint window. The connector's live figures and series come from its own node, whichever
//! node is asked.

use ferry_drills::drill::{Drill, PROJECT};
use serde_json::{json, Value};
use std::time::Duration;

const MOVE: &str = "/projects/load/connectors/default/move";

/// Polls `f` until it gives a value, for at most `timeout`.
fn wait_for<T>(timeout: Duration, f: impl Fn() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn component_node(p: &Value, kind: &str) -> Option<u64> {
    let components = p["components"].as_array()?;
    components.iter().find(|c| c["kind"] == kind)?["node"].as_u64()
}

/// Each node's components of the project, from `GET /cluster`.
fn runs(d: &Drill) -> Vec<(u64, String)> {
    let (_, cluster) = d.cluster.try_get(d.cluster.any(), "/cluster").expect("a node answers");
    let mut runs = Vec::new();
    for member in cluster["members"].as_array().expect("members") {
        for run in member["runs"].as_array().expect("runs") {
            runs.push((member["id"].as_u64().unwrap(), run["component"].as_str().unwrap().to_string()));
        }
    }
    runs.sort();
    runs
}

/// Moves the connector away from the store's node; returns (store node, connector node, epoch).
fn move_connector_apart(d: &Drill) -> (u64, u64, u64) {
    let (store, epoch) = d.placement();
    let api = d.cluster.any();
    // Bad moves are refused, naming the problem.
    let (status, body) = d.cluster.try_post(api, MOVE, json!({"node": 99})).unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body["message"].as_str().unwrap().contains("node 99"), "{body}");
    let (status, body) = d.cluster.try_post(api, MOVE, json!({"node": store})).unwrap();
    assert_eq!(status, 409, "{body}");
    let (status, body) =
        d.cluster.try_post(api, "/projects/load/connectors/nope/move", json!({"node": store})).unwrap();
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body) = d.cluster.try_post(api, MOVE, json!({"node": "two"})).unwrap();
    assert_eq!(status, 400, "{body}");

    // The highest other id: a store moving off a dead node then goes to the third node (the
    // supervisor picks the lowest id among the least loaded), away from the connector.
    let to = (1..=3).filter(|&n| n != store).max().unwrap();
    let moved = d.cluster.ok(api, MOVE, json!({"node": to}), 200);
    assert_eq!((moved["node"].as_u64(), moved["store_node"].as_u64()), (Some(to), Some(store)), "{moved}");
    let p = d.cluster.wait_project(PROJECT, Duration::from_secs(30), |p| {
        component_node(p, "connector") == Some(to)
            && p["epoch"].as_u64() > Some(epoch)
            && p["components"][1]["state"] == "running"
    });
    assert_eq!(component_node(&p, "store"), Some(store));
    assert_eq!(runs(d), vec![(store, "store".to_string()), (to, "connector/default".to_string())]);
    (store, to, p["epoch"].as_u64().unwrap())
}

#[test]
fn a_connector_apart_delivers_everything_and_rejoins_its_store_when_its_node_dies() {
    let mut d = Drill::start("apart");
    let (store, connector, epoch) = move_connector_apart(&d);
    let mut load = d.load();
    load.wait_share(0.3);
    // The connector apart delivers (its checkpoint moves) before its node dies.
    let p = d.cluster.wait_project(PROJECT, Duration::from_secs(30), |p| p["rows"].as_u64() >= Some(10_000));
    assert_eq!((component_node(&p, "connector"), p["epoch"].as_u64()), (Some(connector), Some(epoch)), "{p}");
    // Its live figures come from its own node, whichever node answers.
    for asked in 1..=3 {
        let (_, p) = d.cluster.try_get(asked, "/projects/load").expect("a node answers");
        let live = &p["connectors"][0]["live"];
        assert_eq!(live["node"].as_u64(), Some(connector), "asked node {asked}: {p}");
        assert!(live["latency_p99_ms"].as_u64().is_some(), "asked node {asked}: {live}");
    }
    // The console's series merge the store's node's points with the connector's node's.
    let merged = wait_for(Duration::from_secs(25), || {
        let (_, m) = d.cluster.try_get(d.cluster.any(), "/projects/load/metrics?since=0").ok()?;
        let points = m["points"].as_array()?;
        let both = points.iter().any(|p| {
            p["store_rows_per_s"].as_u64().is_some()
                && p["connectors"]["default"]["rows_per_s"].as_u64() > Some(0)
        });
        both.then_some(m)
    });
    assert!(
        [store, connector].iter().all(|n| merged["nodes"].as_array().unwrap().contains(&json!(n))),
        "{merged}"
    );
    d.cluster.kill9(connector);
    let p = d.cluster.wait_project(PROJECT, Duration::from_secs(30), |p| {
        component_node(p, "connector") == Some(store)
            && p["epoch"].as_u64() > Some(epoch)
            && p["components"][1]["state"] == "running"
    });
    assert_eq!(component_node(&p, "store"), Some(store), "the store stayed");
    load.join();
    let delivery = d.delivered();
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("store_node", store.to_string()),
        ("killed_connector_node", connector.to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}

#[test]
fn the_store_moves_off_a_dead_node_and_the_connector_apart_reads_it_there() {
    let mut d = Drill::start("apartstore");
    let (store, connector, epoch) = move_connector_apart(&d);
    let mut load = d.load();
    load.wait_share(0.3);
    d.cluster.kill9(store);
    let (moved_to, _) = d.wait_moved(store, epoch, Duration::from_secs(30));
    let p = d.project();
    assert_ne!(moved_to, connector, "{p}");
    assert_eq!(component_node(&p, "connector"), Some(connector), "the connector stayed apart: {p}");
    load.join();
    let delivery = d.delivered();
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("killed_store_node", store.to_string()),
        ("store_moved_to", moved_to.to_string()),
        ("connector_node", connector.to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
