//! Proves: every change of a MariaDB workload (inserts, updates, a primary-key change,
//! deletes, a multi-statement transaction, a row of every column type, an ALTER TABLE) reaches
//! DataHub through a real `ferry node`, as TUPLE records (typed fields, per-key order in one
//! shard) and as BLOB records (the `default` format's messages, DDL included). DataHub is the
//! emulator of tests/common/datahub.rs; the records are read back with the official SDK,
//! pydatahub (tests/datahub_destination.py).

mod common;

use base64::Engine as _;
use common::datahub::{Emulator, ACCESS_ID, ACCESS_KEY};
use common::{items, Sql};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

const PROJECT: &str = "ferry_e2e";

/// Every record of `topics`, read with pydatahub.
fn read_with_sdk(emulator: &Emulator, topics: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/datahub_destination.py");
    let output = Command::new(common::python())
        .args([script, emulator.endpoint(), PROJECT, ACCESS_ID, ACCESS_KEY])
        .args(topics)
        .output()
        .expect("running the venv's python (scripts/services.sh up installs pydatahub)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "reading with pydatahub failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON object")
}

/// Each key's changes in order, with the row the ALTER TABLE comes before.
fn expected_items() -> BTreeMap<i64, Vec<(char, Option<i64>)>> {
    let mut e = items::expected_items();
    e.entry(200).or_default().push(('I', Some(1)));
    e
}

fn workload(sql: &mut Sql, db: &str) {
    items::workload(sql, db);
    sql.exec(&format!("ALTER TABLE {db}.items ADD COLUMN note VARCHAR(20)"));
    sql.exec(&format!("INSERT INTO {db}.items VALUES (200, 'late', 1, 'hello')"));
}

/// The `alltypes` row as pydatahub reads it from the TUPLE topic, column by column.
fn alltypes_tuple_row() -> Value {
    json!({
        "id": 1, "ti": -128, "tiu": 255, "si": -32768, "mi": 16777215, "i": -2147483648_i64,
        "bi": i64::MIN, "biu": "18446744073709551615", "dec1": "-12.3400", "dec0": "0.00",
        "f": 1.1, "d": 1234.5678901234, "dt": "2026-11-23", "dz": null, "tm": "-12:34:56.500",
        "dtm0": 1_795_437_296_000_000_i64, "dtm6": 1_795_437_296_123_456_i64,
        "ts3": 1_795_437_296_120_000_i64, "tsz": null, "y": 2026, "y0": 0,
        "c": "ab", "vc": "héllo 😀", "lat": "€uro", "tx": "text",
        "bin": "AQIAAA==", "vb": "/wA=", "bl": "AAEC", "e": "medium", "st": "a,c", "st0": "",
        "b1": true, "b10": 513, "j": "{\"a\": [1, 2]}", "n": null
    })
}

/// A topic's records as read, and its field names.
fn topic<'a>(read: &'a Value, name: &str) -> (&'a Vec<Value>, Vec<&'a str>) {
    let t = &read[name];
    assert!(t.is_object(), "topic {name} was read: {read}");
    (
        t["records"].as_array().unwrap(),
        t["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect(),
    )
}

/// Checks that every key's changes are in one shard and in order; `change` reads a record
/// as (key, operation, qty).
fn check_keys(
    name: &str,
    records: &[Value],
    change: impl Fn(&Value) -> Option<(i64, char, Option<i64>)>,
) -> usize {
    /// A change of a key as read: where, and what.
    struct Seen<'a> {
        shard: &'a str,
        sequence: i64,
        op: char,
        qty: Option<i64>,
    }
    let expected = expected_items();
    let mut by_key: BTreeMap<i64, Vec<Seen>> = BTreeMap::new();
    for r in records {
        assert!(
            r["attributes"]["ferry.position"].as_str().is_some_and(|p| p.starts_with("bin.")),
            "{name}: {r}"
        );
        assert!(r["attributes"]["ferry.epoch"].as_str().is_some(), "{name}: {r}");
        if let Some((id, op, qty)) = change(r) {
            let (shard, sequence) = (r["shard"].as_str().unwrap(), r["sequence"].as_i64().unwrap());
            by_key.entry(id).or_default().push(Seen { shard, sequence, op, qty });
        }
    }
    let mut shards = std::collections::BTreeSet::new();
    for (id, changes) in &mut by_key {
        let in_shards: std::collections::BTreeSet<&str> = changes.iter().map(|c| c.shard).collect();
        assert_eq!(in_shards.len(), 1, "{name}: key {id} in shards {in_shards:?}");
        shards.extend(in_shards);
        changes.sort_by_key(|c| c.sequence);
        let got: Vec<(char, Option<i64>)> =
            changes.iter().map(|c| (c.op, if c.op == 'D' { None } else { c.qty })).collect();
        assert_eq!(got, expected[id], "{name}: key {id}'s changes in order");
    }
    assert_eq!(by_key.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{name}: keys");
    assert!(shards.len() > 1, "{name}: keys spread over the shards");
    by_key.values().map(Vec::len).sum()
}

#[test]
fn every_change_arrives_in_datahub_as_tuple_and_blob_records() {
    let (services, node, mut sql, db) = common::setup("dh");
    let emulator = Emulator::start();
    emulator.create_project(PROJECT);
    let start = sql.position();
    items::create_tables(&mut sql, &db);

    node.ok("/datasources", services.mysql_source("maria"), 201);
    for kind in ["tuple", "blob"] {
        node.ok(
            "/datasources",
            json!({"name": format!("dh_{kind}"), "type": "datahub", "endpoint": emulator.endpoint(),
                   "project": PROJECT, "access_id": ACCESS_ID, "access_key": ACCESS_KEY, "record_type": kind}),
            201,
        );
        node.start_project(json!({
            "name": format!("{db}-{kind}").replace('_', "-"), "source": "maria", "destination": format!("dh_{kind}"),
            "objects": [{"database": db, "topic": format!("{{database}}.{kind}_{{table}}")}],
            "format": "default", "partition": "hash",
            "start": {"file": start.0, "pos": start.1},
            "options": {"topic_partitions": 3}
        }));
    }

    workload(&mut sql, &db);
    let expected = expected_items();
    // Row changes: a key move counts once; the alltypes row.
    let rows = expected.values().map(Vec::len).sum::<usize>() - 1 + 1;
    for kind in ["tuple", "blob"] {
        let name = format!("{db}-{kind}").replace('_', "-");
        node.wait_project(&name, Duration::from_secs(60), |p| {
            assert_ne!(p["state"], "failed", "{name}: {}", p["error"]);
            p["rows"].as_u64() >= Some(rows as u64)
        });
    }

    let (tuple_items, tuple_alltypes) = (format!("{db}_tuple_items"), format!("{db}_tuple_alltypes"));
    let (blob_items, blob_alltypes) = (format!("{db}_blob_items"), format!("{db}_blob_alltypes"));
    let read = read_with_sdk(&emulator, &[&tuple_items, &tuple_alltypes, &blob_items, &blob_alltypes]);

    // TUPLE: typed fields; Ferry's own first, the added column appended.
    let (records, fields) = topic(&read, &tuple_items);
    assert_eq!(read[&tuple_items]["record_type"], "TUPLE");
    assert_eq!(fields, ["ferry_op", "ferry_ts", "id", "name", "qty", "note"]);
    let changes = check_keys(&tuple_items, records, |r| {
        let v = &r["values"];
        let op = match v[0].as_str().unwrap() {
            "insert" => 'I',
            "update" => 'U',
            "delete" => 'D',
            other => panic!("ferry_op {other}"),
        };
        Some((v[2].as_i64().unwrap(), op, v[4].as_i64()))
    });
    assert_eq!(changes, records.len());
    let now_us =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
    for r in records {
        let ts = r["values"][1].as_i64().unwrap();
        assert!(ts <= now_us && ts > now_us - 600_000_000, "ferry_ts is the change's time: {ts}");
    }
    let moved = records.iter().find(|r| r["values"][2] == 100 && r["values"][0] == "update").unwrap();
    assert_eq!(moved["values"][3], "moved");
    let late = records.iter().find(|r| r["values"][2] == 200).unwrap();
    assert_eq!(late["values"][5], "hello", "rows after the ALTER fill the appended field");
    let early = records.iter().find(|r| r["values"][2] == 21).unwrap();
    assert_eq!(early["values"][5], Value::Null);

    let (records, fields) = topic(&read, &tuple_alltypes);
    assert_eq!(records.len(), 1);
    assert_eq!(&fields[..2], ["ferry_op", "ferry_ts"]);
    let row: serde_json::Map<String, Value> = fields[2..]
        .iter()
        .zip(&records[0]["values"].as_array().unwrap()[2..])
        .map(|(f, v)| (f.to_string(), v.clone()))
        .collect();
    assert_eq!(Value::Object(row), alltypes_tuple_row(), "every column type as its DataHub type");

    // BLOB: the default format's messages, the DDL in the table's topic.
    let (records, _) = topic(&read, &blob_items);
    assert_eq!(read[&blob_items]["record_type"], "BLOB");
    let message = |r: &Value| -> Value {
        let bytes = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let changes = check_keys(&blob_items, records, |r| {
        let m = message(r);
        let (op, image) = match m["recordType"].as_str().unwrap() {
            "INSERT" => ('I', &m["postStruct"]),
            "UPDATE" => ('U', &m["postStruct"]),
            "DELETE" => ('D', &m["prevStruct"]),
            "DDL" => return None,
            other => panic!("recordType {other}"),
        };
        assert_eq!(r["attributes"]["ferry.key"], image["id"].to_string(), "the message key");
        Some((image["id"].as_i64().unwrap(), op, m["postStruct"]["qty"].as_i64()))
    });
    // DDL goes to the first shard: there, in statement order.
    let ddl: Vec<String> = records
        .iter()
        .filter(|r| r["shard"] == "0")
        .map(message)
        .filter(|m| m["recordType"] == "DDL")
        .map(|m| m["postStruct"]["ddl"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ddl.len(), 2, "CREATE TABLE and ALTER TABLE: {ddl:?}");
    assert!(ddl[0].starts_with("CREATE TABLE") && ddl[1].contains("ADD COLUMN note"), "{ddl:?}");
    assert_eq!(changes + 2, records.len());

    let (records, _) = topic(&read, &blob_alltypes);
    let messages: Vec<Value> = records.iter().map(message).collect();
    let kinds: Vec<&str> = messages.iter().map(|m| m["recordType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["DDL", "INSERT"]);
    assert_eq!(messages[1]["postStruct"], items::alltypes_default_row());

    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn registering_datahub_signs_a_request_so_a_wrong_key_or_project_is_named() {
    let node = common::Node::start("dhreg");
    let emulator = Emulator::start();
    emulator.create_project(PROJECT);
    let body = |name: &str, project: &str, key: &str| {
        json!({"name": name, "type": "datahub", "endpoint": emulator.endpoint(),
               "project": project, "access_id": ACCESS_ID, "access_key": key})
    };
    let (status, answer) = node.post("/datasources", body("badkey", PROJECT, "not-the-key"));
    assert_eq!((status, answer["code"].as_str()), (502, Some("access_denied")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains(ACCESS_ID), "{answer}");
    let (status, answer) = node.post("/datasources", body("noproject", "nosuchproject", ACCESS_KEY));
    assert_eq!((status, answer["code"].as_str()), (502, Some("destination_error")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("NoSuchProject"), "{answer}");

    let with = |extra: Value| {
        let mut b = body("dlq", PROJECT, ACCESS_KEY);
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, answer) = node.post("/datasources", with(json!({"lifecycle_days": 8})));
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("lifecycle_days 8"), "{answer}");
    let (status, answer) = node.post("/datasources", with(json!({"dead_letter_topic": "ferry.dlq"})));
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("not a DataHub topic name"), "{answer}");
    let view =
        node.ok("/datasources", with(json!({"dead_letter_topic": "ferry_dlq", "lifecycle_days": 3})), 201);
    assert_eq!(
        (view["dead_letter_topic"].as_str(), view["lifecycle_days"].as_u64()),
        (Some("ferry_dlq"), Some(3)),
        "{view}"
    );

    node.ok("/datasources", body("dh", PROJECT, ACCESS_KEY), 201);
    assert_eq!(node.get("/datasources/dh").1["lifecycle_days"], 7);
    let (_, check) = node.post("/datasources/dh/check", json!({}));
    assert_eq!(check["ok"], true, "{check}");
    drop(emulator);
    let (_, check) = node.post("/datasources/dh/check", json!({}));
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["findings"][0]["message"].as_str().unwrap().contains("cannot reach datahub"), "{check}");
}

#[test]
fn a_node_stops_within_5_s_while_datahub_does_not_answer_and_nothing_is_lost() {
    let (services, mut node, mut sql, db) = common::setup("dhstop");
    let emulator = Emulator::start();
    emulator.create_project(PROJECT);
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(60))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.ok(
        "/datasources",
        json!({"name": "dh", "type": "datahub", "endpoint": emulator.endpoint(),
               "project": PROJECT, "access_id": ACCESS_ID, "access_key": ACCESS_KEY}),
        201,
    );
    let name = format!("{db}-p").replace('_', "-");
    node.start_project(json!({"name": name, "source": "maria", "destination": "dh",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'before' FROM {db}.seq_1_to_100"));
    node.wait_project(&name, Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(100)
    });

    // Requests held unanswered, with rows waiting for them.
    emulator.stop_answering();
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, REPEAT('x', 50) FROM {db}.seq_101_to_50000"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(emulator.held() > 0, "Ferry sent nothing for DataHub to hold");
    let stopping = std::time::Instant::now();
    let status = node.terminate();
    let took = stopping.elapsed();
    eprintln!("SIGTERM took {took:?} with DataHub silent, {} requests held", emulator.held());
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?} with DataHub silent");

    emulator.answer_again();
    node.restart();
    node.wait_project(&name, Duration::from_secs(120), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(50_000)
    });
    let topic = format!("{db}_t");
    let ids: std::collections::BTreeSet<String> =
        emulator.records(PROJECT, &topic).iter().map(|r| r.values()[2].clone().expect("an id")).collect();
    assert_eq!(ids.len(), 50_000, "every change, at least once");
}
