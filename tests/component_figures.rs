//! Proves, with a real sync running: the store's and the connector's figures move while a
//! load runs (rows/s above 0 in the project view and in the 10 s series), the delay falls to 0
//! once the load is delivered, and the objects view counts every insert, update and delete of
//! the table with the time of its last change.

mod common;

use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[test]
fn figures_move_during_a_load_and_objects_count_every_change() {
    let (services, node, mut sql, db) = common::setup("figures");
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"));
    node.register_sources(&services);
    let start = sql.position();
    node.start_project(json!({
        "name": db, "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": format!("{db}.t")}],
        "partition": "table", "start": {"file": start.0, "pos": start.1}
    }));

    // A load of 12 s or more (a 10 s series point falls inside it): 50-row transactions.
    let loader = {
        let (services, db) = (services.clone(), db.clone());
        std::thread::spawn(move || {
            let mut sql = common::Sql::connect(&services);
            let began = Instant::now();
            let mut next = 1u64;
            while began.elapsed() < Duration::from_secs(13) {
                let values: Vec<String> = (next..next + 50).map(|i| format!("({i}, {i})")).collect();
                sql.exec(&format!("INSERT INTO {db}.t VALUES {}", values.join(",")));
                next += 50;
                std::thread::sleep(Duration::from_millis(20));
            }
            next - 1
        })
    };
    // The figures of each component, in `components` (store first, then the connector).
    let (mut store_rate, mut connector_rate, mut p99) = (0u64, 0u64, None);
    while !loader.is_finished() {
        let (_, p) = node.get(&format!("/projects/{db}"));
        let (store, connector) = (&p["components"][0], &p["components"][1]);
        assert_eq!((store["kind"].as_str(), connector["kind"].as_str()), (Some("store"), Some("connector")));
        store_rate = store_rate.max(store["rows_per_s"].as_u64().unwrap_or(0));
        connector_rate = connector_rate.max(connector["rows_per_s"].as_u64().unwrap_or(0));
        p99 = p99.or(connector["latency_p99_ms"].as_u64());
        // The same figures as the store's status and the connector's live block.
        assert_eq!(store["retained"], p["store_status"]["retained"], "{p}");
        assert_eq!(connector["retries"], p["connectors"][0]["live"]["retries"], "{p}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let inserted = loader.join().unwrap();
    assert!(
        store_rate > 0 && connector_rate > 0,
        "store {store_rate} rows/s, connector {connector_rate} rows/s"
    );
    assert!(p99.is_some_and(|ms| ms < 60_000), "latency p99 {p99:?}");

    sql.exec(&format!("UPDATE {db}.t SET v = v + 1 WHERE id <= 100"));
    sql.exec(&format!("DELETE FROM {db}.t WHERE id > {}", inserted - 50));
    let total = inserted + 150;
    // Delivered, and the delay falls to 0 once everything read is delivered.
    let caught_up = node.wait_project(&db, Duration::from_secs(60), |p| {
        p["rows"].as_u64() == Some(total) && p["latency_ms"].as_u64() == Some(0)
    });
    assert_eq!(caught_up["store_delay_ms"].as_u64(), Some(0), "{caught_up}");
    let delays: Vec<Option<u64>> = (0..2).map(|i| caught_up["components"][i]["delay_ms"].as_u64()).collect();
    assert_eq!(delays, [Some(0), Some(0)], "{caught_up}");
    assert_eq!(caught_up["components"][1]["position"], caught_up["position"], "{caught_up}");

    let (status, objects) = node.get(&format!("/projects/{db}/objects"));
    assert_eq!(status, 200, "{objects}");
    let t = objects["objects"].as_array().unwrap().iter().find(|o| o["table"] == "t").cloned();
    let t = t.unwrap_or_else(|| panic!("no table t in {objects}"));
    let counts = ["rows", "inserted", "updated", "deleted"].map(|k| t[k].as_u64());
    assert_eq!(counts, [Some(total), Some(inserted), Some(100), Some(50)], "{objects}");
    let last = t["last_change_ms"].as_u64().expect("a last change time");
    assert!(last / 1000 + 5 >= sql.now(), "{last} is the last delete's commit time");

    // The series: a point taken during the load shows both rates.
    let deadline = Instant::now() + Duration::from_secs(15);
    let series = loop {
        let (status, series) = node.get(&format!("/projects/{db}/metrics?since=0"));
        assert_eq!(status, 200, "{series}");
        let moving = |p: &Value| {
            p["store_rows_per_s"].as_u64() > Some(0)
                && p["connectors"]["default"]["rows_per_s"].as_u64() > Some(0)
        };
        if series["points"].as_array().unwrap().iter().any(moving) {
            break series;
        }
        assert!(Instant::now() < deadline, "no point with both rates above 0: {series}");
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(series["resolution_s"].as_u64(), Some(10), "{series}");
    let (status, body) = node.get(&format!("/projects/{db}/metrics?since=soon"));
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("query string"), "{body}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
