//! Proves, against the real MariaDB and Kafka: a project with `"sync": ["full", "incremental"]`
//! copies each table's existing rows without a lock while a workload updates, deletes and
//! inserts rows of it, and the topic, replayed per key in partition order, ends equal to the
//! source: nothing missing, nothing deleted brought back, each key at its latest value. Copied
//! rows are `recordType: "ROW"`; progress shows in the API; a node killed mid-copy continues
//! after the last chunk its store saved; a table a full sync cannot copy in key order is refused
//! at create, named.

mod common;

use common::{read_topic, Msg, Node, Rng, Services, Sql};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `(id, v)` of every row of `db.t`.
fn source_rows(sql: &mut Sql, table: &str) -> BTreeMap<i64, i64> {
    sql.rows(&format!("SELECT id, v FROM {table}"))
        .into_iter()
        .map(|r| (r.get::<i64, _>(0).unwrap(), r.get::<i64, _>(1).unwrap()))
        .collect()
}

/// Replays the `default`-format messages of a hash-partitioned topic per key, in partition
/// order: the table they describe, and each key's record types in order. Panics where a copied
/// row (`ROW`) would take a key back: bring a deleted key back, or change the value a change
/// before it left (a copied row is the state at its read, so it can only repeat it).
fn replay(msgs: &[Msg]) -> (BTreeMap<i64, i64>, BTreeMap<i64, Vec<String>>) {
    let mut ordered: Vec<&Msg> = msgs.iter().collect();
    ordered.sort_by_key(|m| (m.partition, m.offset));
    let mut table = BTreeMap::new();
    let mut history: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    // What a restart sent twice, dropped as a consumer would (a key update's DELETE and INSERT
    // share their row's position).
    let mut seen = std::collections::HashSet::new();
    for m in ordered {
        let v = m.value.as_ref().expect("a value");
        let id: i64 = v["allMetaData"]["record_primary_value"].as_str().unwrap().parse().unwrap();
        let kind = v["recordType"].as_str().unwrap().to_string();
        if !seen.insert((m.position(), kind.clone(), id)) {
            continue;
        }
        let before = history.get(&id).cloned().unwrap_or_default();
        match kind.as_str() {
            "DELETE" => {
                table.remove(&id);
            }
            "ROW" => {
                let value = v["postStruct"]["v"].as_i64().unwrap();
                assert!(
                    before.last().is_none_or(|k| k != "DELETE"),
                    "key {id}: copied after its delete: {before:?}"
                );
                if let Some(old) = table.get(&id).filter(|_| before.iter().any(|k| k != "ROW")) {
                    assert_eq!(*old, value, "key {id}: a copied row changes what {before:?} left");
                }
                table.insert(id, value);
            }
            _ => {
                table.insert(id, v["postStruct"]["v"].as_i64().unwrap());
            }
        }
        history.entry(id).or_default().push(kind);
    }
    (table, history)
}

/// Asserts the replayed topic equals the source, naming the first keys that differ with their
/// histories.
fn assert_same(
    replayed: &BTreeMap<i64, i64>,
    source: &BTreeMap<i64, i64>,
    history: &BTreeMap<i64, Vec<String>>,
) {
    let keys: std::collections::BTreeSet<&i64> = replayed.keys().chain(source.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| replayed.get(k) != source.get(k))
        .take(10)
        .map(|k| {
            format!(
                "key {k}: topic {:?}, source {:?}, history {:?}",
                replayed.get(k),
                source.get(k),
                history.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{} rows in the topic, {} in the source; first differences:\n{}",
        replayed.len(),
        source.len(),
        differ.join("\n")
    );
}

/// Starts `name` syncing `db.t` (and what else `db` holds) fully then incrementally into
/// Kafka, hash-partitioned so each key's messages keep their order.
fn start_full_sync(node: &Node, name: &str, db: &str, snapshot: Value) {
    node.start_project(json!({
        "name": name, "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash",
        "sync": ["full", "incremental"],
        "snapshot": snapshot,
        "options": {"topic_partitions": 4}
    }));
}

/// Waits until the copy is done and the destination has everything the source wrote; returns
/// the project.
fn wait_caught_up(node: &Node, name: &str, timeout: Duration) -> Value {
    node.wait_project(name, timeout, |p| p["full_sync"]["state"] == "done" && p["latency_ms"] == 0)
}

/// Every message of `topic`: at least the rows the project's checkpoint counts (a key update
/// is two messages; a restart may send what followed its last checkpoint twice), read on until
/// nothing more comes.
fn read_all(services: &Services, topic: &str, delivered: u64) -> Vec<Msg> {
    let started = Instant::now();
    let first = read_topic(&services.kafka, topic, Duration::from_secs(180), |m| m.len() as u64 >= delivered);
    assert!(first.len() as u64 >= delivered, "{} messages of {delivered}", first.len());
    let quiet = started.elapsed() + Duration::from_secs(5);
    read_topic(&services.kafka, topic, quiet, |m| m.len() > first.len() * 2)
}

#[test]
fn a_full_sync_under_a_workload_ends_equal_to_the_source() {
    const ROWS: i64 = 1_000_000;
    let (services, node, mut sql, db) = common::setup("full");
    sql.exec(&format!(
        "CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad CHAR(40) NOT NULL)"
    ));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, seq, 'existing row' FROM {db}.seq_1_to_{ROWS}"));
    node.register_sources(&services);
    start_full_sync(&node, "full", &db, json!({"chunk_rows": 5000, "parallelism": 4}));

    // Updates, deletes and inserts on their own connection while the table is copied.
    let stop = Arc::new(AtomicBool::new(false));
    let changes = Arc::new(AtomicU64::new(0));
    let workload = {
        let (services, db, stop, changes) = (services.clone(), db.clone(), stop.clone(), changes.clone());
        std::thread::spawn(move || {
            let mut sql = Sql::connect(&services);
            let mut rng = Rng(0x5eed);
            let mut next_id = ROWS + 1;
            let mut version = 10 * ROWS;
            while !stop.load(Ordering::Relaxed) {
                let id = 1 + rng.next(ROWS as u64) as i64;
                version += 1;
                let statement = match rng.next(10) {
                    0..=5 => format!("UPDATE {db}.t SET v = {version} WHERE id = {id}"),
                    6..=7 => format!("DELETE FROM {db}.t WHERE id = {id}"),
                    // A key change: the old key goes, a new one comes.
                    8 => {
                        next_id += 1;
                        format!("UPDATE {db}.t SET id = {next_id}, v = {version} WHERE id = {id}")
                    }
                    _ => {
                        next_id += 1;
                        format!("INSERT INTO {db}.t VALUES ({next_id}, {version}, 'new row')")
                    }
                };
                sql.exec(&statement);
                changes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Progress shows while the copy runs.
    let copying = node.wait_project("full", Duration::from_secs(120), |p| {
        p["full_sync"]["state"] == "copying" && p["full_sync"]["copied_rows"].as_u64() > Some(0)
    });
    let progress = &copying["full_sync"];
    assert_eq!(progress["tables"][0]["table"], format!("{db}.t"), "{progress}");
    assert!(progress["estimated_rows"].as_u64().unwrap() > 0, "{progress}");
    assert!(progress["copied_rows"].as_u64() < Some(ROWS as u64), "{progress}");
    let started = Instant::now();
    node.wait_project("full", Duration::from_secs(300), |p| p["full_sync"]["state"] == "done");
    eprintln!(
        "copied {ROWS} rows in about {:?}, {} changes during it",
        started.elapsed(),
        changes.load(Ordering::Relaxed)
    );
    // A little more workload after the copy, then quiet.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    workload.join().unwrap();
    assert!(changes.load(Ordering::Relaxed) > 100, "the workload ran during the copy");

    let project = wait_caught_up(&node, "full", Duration::from_secs(300));
    let done = &project["full_sync"];
    assert_eq!(done["tables_done"], 1, "{done}");
    // Rows read: the table as each chunk found it, the workload's inserts and deletes included.
    let copied = done["copied_rows"].as_u64().unwrap();
    assert!(copied > ROWS as u64 * 9 / 10 && copied < ROWS as u64 * 11 / 10, "{done}");
    let msgs = read_all(&services, &format!("{db}.t"), project["rows"].as_u64().unwrap());
    let (replayed, history) = replay(&msgs);
    assert_same(&replayed, &source_rows(&mut sql, &format!("{db}.t")), &history);
    // Copied rows are marked (and `replay` found none taking a key back).
    let reads = history.values().flatten().filter(|k| *k == "ROW").count();
    // Each row once at most: the table's, and those the workload added before their chunk.
    let most = ROWS as usize + changes.load(Ordering::Relaxed) as usize;
    assert!(reads > (ROWS as usize) / 2 && reads <= most, "{reads} rows copied");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_node_killed_mid_copy_continues_after_the_last_chunk_saved() {
    const ROWS: i64 = 300_000;
    let (services, mut node, mut sql, db) = common::setup("fullkill");
    sql.exec(&format!(
        "CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad CHAR(40) NOT NULL)"
    ));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, seq, 'existing row' FROM {db}.seq_1_to_{ROWS}"));
    node.register_sources(&services);
    start_full_sync(&node, "fullkill", &db, json!({"chunk_rows": 1000, "parallelism": 1}));

    let before = node.wait_project("fullkill", Duration::from_secs(120), |p| {
        p["full_sync"]["copied_rows"].as_u64() >= Some(30_000)
    });
    node.kill9();
    let copied_at_kill = before["full_sync"]["copied_rows"].as_u64().unwrap();
    assert!(copied_at_kill < ROWS as u64, "the kill must land mid-copy: {}", before["full_sync"]);

    node.restart();
    // The store resumes from what it saved: at least what the API showed before the kill.
    let resumed = node.wait_project("fullkill", Duration::from_secs(60), |p| p["full_sync"].is_object());
    assert!(
        resumed["full_sync"]["copied_rows"].as_u64() >= Some(copied_at_kill),
        "restarted from {} after {copied_at_kill} were saved",
        resumed["full_sync"]
    );
    sql.exec(&format!("UPDATE {db}.t SET v = -v WHERE id % 1000 = 7"));
    let project = wait_caught_up(&node, "fullkill", Duration::from_secs(300));
    assert_eq!(project["full_sync"]["copied_rows"].as_u64(), Some(ROWS as u64), "{}", project["full_sync"]);

    let msgs = read_all(&services, &format!("{db}.t"), project["rows"].as_u64().unwrap());
    let (replayed, history) = replay(&msgs);
    assert_same(&replayed, &source_rows(&mut sql, &format!("{db}.t")), &history);
    let reads = history.values().flatten().filter(|k| *k == "ROW").count() as u64;
    // Resent at most what followed the connector's last checkpoint: far from a copy over.
    assert!(reads < ROWS as u64 + copied_at_kill, "{reads} rows copied for {ROWS}");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_table_without_a_key_is_refused_for_a_full_sync_naming_it() {
    let (services, node, mut sql, db) = common::setup("fullkey");
    sql.exec(&format!("CREATE TABLE {db}.keyed (id INT PRIMARY KEY)"));
    sql.exec(&format!("CREATE TABLE {db}.unique_key (a INT NOT NULL, b INT, UNIQUE KEY (a))"));
    sql.exec(&format!("CREATE TABLE {db}.nullable_unique (a INT, UNIQUE KEY (a))"));
    sql.exec(&format!("CREATE TABLE {db}.heap (a INT)"));
    node.register_sources(&services);
    let body = |sync: Value| {
        json!({"name": "keys", "source": "maria", "destination": "kafka",
               "objects": [{"database": db}], "partition": "table", "sync": sync})
    };
    let (status, refused) = node.post("/projects", body(json!(["full", "incremental"])));
    assert_eq!(status, 422, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{db}.heap")) && message.contains(&format!("{db}.nullable_unique")),
        "{message}"
    );
    assert!(
        !message.contains(&format!("{db}.unique_key")) && !message.contains(&format!("{db}.keyed")),
        "{message}"
    );

    let (status, refused) = node.post("/projects", body(json!(["full"])));
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("sync"), "{refused}");
    let (status, refused) = node.post("/projects", body(json!([])));
    assert_eq!(status, 400, "{refused}");
    // Incremental only: no key needed.
    node.ok("/projects", body(json!(["incremental"])), 201);
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn tables_of_a_running_project_are_copied_again_on_request() {
    const ROWS: i64 = 20_000;
    let (services, node, mut sql, db) = common::setup("fullagain");
    sql.exec(&format!(
        "CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad CHAR(40) NOT NULL)"
    ));
    sql.exec(&format!("CREATE TABLE {db}.other (id INT PRIMARY KEY)"));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, seq, 'existing row' FROM {db}.seq_1_to_{ROWS}"));
    node.register_sources(&services);
    // Changes only: the existing rows are not in the topic.
    node.start_project(json!({
        "name": "again", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "tables": ["t"], "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash",
        "snapshot": {"chunk_rows": 1000},
        "options": {"topic_partitions": 2}
    }));
    node.wait_project("again", Duration::from_secs(60), |p| p["store_position"].is_object());
    sql.exec(&format!("UPDATE {db}.t SET v = -1 WHERE id <= 10"));

    let post = |body: Value| node.post("/projects/again/snapshot", body);
    let (status, body) = post(json!({"tables": [format!("{db}.other")]}));
    assert_eq!((status, body["code"].as_str()), (422, Some("table_not_synced")), "{body}");
    let (status, body) = post(json!({"tables": ["no_dot"]}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(json!({"tables": []}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = node.post("/projects/nope/snapshot", json!({"tables": [format!("{db}.t")]}));
    assert_eq!(status, 404, "{body}");

    let (status, body) = post(json!({"tables": [format!("{db}.t")]}));
    assert_eq!(status, 202, "{body}");
    sql.exec(&format!("DELETE FROM {db}.t WHERE id BETWEEN 100 AND 109"));
    let project = wait_caught_up(&node, "again", Duration::from_secs(120));
    // Every row, less those the DELETE took before their chunk was read.
    let copied = project["full_sync"]["copied_rows"].as_u64().unwrap();
    assert!((ROWS as u64 - 10..=ROWS as u64).contains(&copied), "{}", project["full_sync"]);

    let msgs = read_all(&services, &format!("{db}.t"), project["rows"].as_u64().unwrap());
    let (replayed, history) = replay(&msgs);
    assert_same(&replayed, &source_rows(&mut sql, &format!("{db}.t")), &history);
    assert_eq!(history[&1][0], "UPDATE", "the change before the request comes first: {:?}", history[&1]);
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_row_filter_and_column_selection_apply_to_the_copy_and_to_the_changes() {
    const ROWS: i64 = 20_000;
    let (services, node, mut sql, db) = common::setup("fullshape");
    sql.exec(&format!(
        "CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, status VARCHAR(10) NOT NULL, secret TEXT)"
    ));
    sql.exec(&format!(
        "INSERT INTO {db}.t SELECT seq, seq % 1000, IF(seq % 7 = 0, 'deleted', 'live'), 'hidden' FROM {db}.seq_1_to_{ROWS}"
    ));
    node.register_sources(&services);
    let project = |name: &str, object: Value| {
        json!({"name": name, "source": "maria", "destination": "kafka", "objects": [object],
               "format": "default", "partition": "hash", "sync": ["full", "incremental"],
               "snapshot": {"chunk_rows": 1000}, "options": {"topic_partitions": 2}})
    };
    let object = |extra: Value| {
        let mut o = json!({"database": db, "tables": ["t"], "topic": "{database}.{table}"});
        o.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        o
    };
    // Refused at create, naming what is wrong.
    let (status, body) = node.post("/projects", project("bad", object(json!({"where": "v >= "}))));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("objects[0].where"), "{body}");
    let (status, body) = node.post("/projects", project("bad", object(json!({"where": "nope = 1"}))));
    assert_eq!((status, body["code"].as_str()), (422, Some("object_rule_unfit")), "{body}");
    let (status, body) = node.post("/projects", project("bad", object(json!({"columns": ["v", "status"]}))));
    assert_eq!((status, body["code"].as_str()), (422, Some("object_rule_unfit")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("key column id"), "{body}");
    let (status, body) = node.post("/projects", project("bad", object(json!({"where": "status > 5"}))));
    assert_eq!((status, body["code"].as_str()), (422, Some("object_rule_unfit")), "{body}");

    let filter = "status <> 'deleted' AND v >= 100";
    node.start_project(project("shape", object(json!({"where": filter, "exclude_columns": ["secret"]}))));
    // Changes that move rows into and out of the filter, during and after the copy.
    let writer = {
        let (services, db) = (services.clone(), db.clone());
        std::thread::spawn(move || {
            let mut sql = Sql::connect(&services);
            for i in 0..200 {
                let id = 1 + (i * 97) % ROWS;
                sql.exec(&format!(
                    "UPDATE {db}.t SET status = IF(status = 'live', 'deleted', 'live') WHERE id = {id}"
                ));
                sql.exec(&format!("UPDATE {db}.t SET v = 1000 - v WHERE id = {}", id + 1));
                sql.exec(&format!("DELETE FROM {db}.t WHERE id = {}", id + 2));
                sql.exec(&format!(
                    "INSERT INTO {db}.t VALUES ({}, {}, 'live', 'hidden')",
                    ROWS + 1 + i,
                    i * 5
                ));
            }
        })
    };
    writer.join().unwrap();
    let shaped = wait_caught_up(&node, "shape", Duration::from_secs(120));
    assert_eq!(shaped["objects"][0]["where"], filter);

    let msgs = read_all(&services, &format!("{db}.t"), shaped["rows"].as_u64().unwrap());
    for m in &msgs {
        let v = m.value.as_ref().unwrap();
        for image in ["postStruct", "prevStruct"] {
            if let Some(row) = v[image].as_object() {
                assert!(!row.contains_key("secret"), "an excluded column in {v}");
                assert!(row.contains_key("status"), "a kept column missing in {v}");
            }
        }
    }
    let (replayed, history) = replay(&msgs);
    let want: BTreeMap<i64, i64> = sql
        .rows(&format!("SELECT id, v FROM {db}.t WHERE {filter}"))
        .into_iter()
        .map(|r| (r.get::<i64, _>(0).unwrap(), r.get::<i64, _>(1).unwrap()))
        .collect();
    assert!(want.len() > 1000 && want.len() < ROWS as usize, "{} rows selected", want.len());
    assert_same(&replayed, &want, &history);
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_table_dropped_before_its_copy_is_done_with_and_the_others_copy_on() {
    const ROWS: i64 = 200_000;
    let (services, node, mut sql, db) = common::setup("fulldrop");
    for t in ["a", "b"] {
        sql.exec(&format!(
            "CREATE TABLE {db}.{t} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad CHAR(40) NOT NULL)"
        ));
    }
    sql.exec(&format!("INSERT INTO {db}.a SELECT seq, seq, 'existing row' FROM {db}.seq_1_to_{ROWS}"));
    sql.exec(&format!("INSERT INTO {db}.b SELECT seq, seq, 'existing row' FROM {db}.seq_1_to_100"));
    node.register_sources(&services);
    // Tables are copied in name order, one chunk at a time: `b` waits while `a` copies.
    start_full_sync(&node, "drop", &db, json!({"chunk_rows": 500, "parallelism": 1}));
    node.wait_project("drop", Duration::from_secs(60), |p| p["full_sync"]["copied_rows"].as_u64() > Some(0));
    sql.exec(&format!("DROP TABLE {db}.b"));
    let project = wait_caught_up(&node, "drop", Duration::from_secs(120));
    assert_eq!(project["state"], "running", "{}", project["error"]);
    let progress = &project["full_sync"];
    assert_eq!(progress["tables_done"], 2, "{progress}");
    let b = progress["tables"].as_array().unwrap().iter().find(|t| t["table"] == format!("{db}.b")).unwrap();
    assert!(b["done"] == true && b["copied_rows"] == 0, "{progress}");
    let msgs = read_all(&services, &format!("{db}.a"), ROWS as u64);
    let (replayed, history) = replay(&msgs);
    assert_same(&replayed, &source_rows(&mut sql, &format!("{db}.a")), &history);
    sql.exec(&format!("DROP DATABASE {db}"));
}
