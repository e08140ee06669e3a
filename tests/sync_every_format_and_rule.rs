//! Proves: every change of a workload (inserts, updates, a primary-key change, deletes,
//! multi-statement transactions, a row of every column type) reaches Kafka with the right values
//! and per-key order, in each format (default, canal, debezium) under each partition rule (hash,
//! table, one). Real MariaDB, real tansu, a real `ferry node`; an independent consumer reads.

mod common;

use common::{items, read_topic, Msg, Sql};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const FORMATS: [&str; 3] = ["default", "canal", "debezium"];
const RULES: [&str; 3] = ["hash", "table", "one"];

/// A change as every format can be read back: key id, operation, and the after image's `qty`.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    id: i64,
    op: char,
    qty: Option<i64>,
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Reads one message of `format` as a Change (None for a Debezium tombstone).
fn change_of(format: &str, m: &Msg) -> Option<Change> {
    let v = m.value.as_ref()?;
    let (op, before, after) = match format {
        "default" => {
            let op = match v["recordType"].as_str().unwrap() {
                "INSERT" => 'I',
                "UPDATE" => 'U',
                "DELETE" => 'D',
                other => panic!("unexpected recordType {other}"),
            };
            (op, v["prevStruct"].clone(), v["postStruct"].clone())
        }
        "canal" => {
            let op = match v["type"].as_str().unwrap() {
                "INSERT" => 'I',
                "UPDATE" => 'U',
                "DELETE" => 'D',
                other => panic!("unexpected canal type {other}"),
            };
            let row = v["data"][0].clone();
            match op {
                'D' => (op, row, Value::Null),
                _ => (op, Value::Null, row),
            }
        }
        "debezium" => {
            let op = match v["op"].as_str().unwrap() {
                "c" => 'I',
                "u" => 'U',
                "d" => 'D',
                other => panic!("unexpected op {other}"),
            };
            (op, v["before"].clone(), v["after"].clone())
        }
        _ => unreachable!(),
    };
    let image = if op == 'D' { &before } else { &after };
    Some(Change { id: num(&image["id"]).expect("id"), op, qty: num(&after["qty"]) })
}

fn workload(sql: &mut Sql, db: &str) {
    items::workload(sql, db);
    sql.exec(&format!("INSERT INTO {db}.nopk VALUES (1, 'a'), (1, 'a')"));
}

#[test]
fn every_change_arrives_in_every_format_and_partition_rule() {
    let (services, node, mut sql, db) = common::setup("e2e");
    let start = sql.position();
    items::create_tables(&mut sql, &db);
    sql.exec(&format!("CREATE TABLE {db}.nopk (a INT, b VARCHAR(10))"));

    node.register_sources(&services);
    let mut projects = Vec::new();
    for format in FORMATS {
        for rule in RULES {
            let name = format!("{db}-{format}-{rule}").replace('_', "-");
            let topic = format!("{name}.{{table}}");
            // The hash rule needs primary keys: leave the key-less table out there.
            let exclude: Vec<&str> = if rule == "hash" { vec!["nopk"] } else { vec![] };
            node.start_project(json!({
                "name": name, "source": "maria", "destination": "kafka",
                "objects": [{"database": db, "exclude": exclude, "topic": topic}],
                "format": format, "partition": rule,
                "start": {"file": start.0, "pos": start.1},
                "options": {"topic_partitions": 3}
            }));
            projects.push((name, format, rule));
        }
    }

    workload(&mut sql, &db);
    let expected = items::expected_items();
    let item_changes: usize = expected.values().map(Vec::len).sum();
    // items changes + alltypes insert (+ two nopk rows where the table is synced)
    for (name, _, rule) in &projects {
        let total = item_changes + 1 + if *rule == "hash" { 0 } else { 2 };
        node.wait_project(name, Duration::from_secs(60), |p| p["rows"].as_u64() >= Some(total as u64 - 1));
    }

    for (name, format, rule) in &projects {
        let topic = format!("{name}.items");
        let tombstones = if *format == "debezium" { 2 } else { 0 }; // the delete of 20 and of the moved key 1
        let want = item_changes + tombstones;
        let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= want);
        assert_eq!(msgs.len(), want, "{name}: messages on {topic}");

        // Per key: one partition, and the changes in order.
        let mut by_key: BTreeMap<i64, Vec<&Msg>> = BTreeMap::new();
        for m in &msgs {
            assert!(m.headers.contains_key("ferry.position"), "{name}: position header");
            let id = match change_of(format, m) {
                Some(c) => c.id,
                None => {
                    let key: Value = serde_json::from_slice(m.key.as_ref().unwrap()).unwrap();
                    key["id"].as_i64().unwrap()
                }
            };
            by_key.entry(id).or_default().push(m);
        }
        for (id, ms) in &mut by_key {
            let partitions: std::collections::BTreeSet<i32> = ms.iter().map(|m| m.partition).collect();
            assert_eq!(partitions.len(), 1, "{name}: key {id} spread over partitions {partitions:?}");
            if *rule == "one" {
                assert_eq!(partitions.first(), Some(&0), "{name}: rule one writes partition 0");
            }
            ms.sort_by_key(|m| m.offset);
            let got: Vec<(char, Option<i64>)> = ms
                .iter()
                .filter_map(|m| change_of(format, m))
                .map(|c| (c.op, if c.op == 'D' { None } else { c.qty }))
                .collect();
            assert_eq!(got, expected[id], "{name}: changes of key {id} in order");
        }
        assert_eq!(by_key.len(), expected.len(), "{name}: keys");
        if *rule == "table" {
            let partitions: std::collections::BTreeSet<i32> = msgs.iter().map(|m| m.partition).collect();
            assert_eq!(partitions.len(), 1, "{name}: rule table keeps a table in one partition");
        }

        // Every column type, in this format.
        let at = read_topic(&services.kafka, &format!("{name}.alltypes"), Duration::from_secs(30), |m| {
            !m.is_empty()
        });
        let v = at[0].value.as_ref().unwrap();
        match *format {
            "default" => {
                assert_eq!(v["postStruct"], items::alltypes_default_row(), "{name}: every type");
                assert_eq!(v["recordType"], "INSERT");
                assert_eq!(v["allMetaData"]["record_primary_key"], "id");
                assert_eq!(v["allMetaData"]["record_primary_value"], "1");
                assert_eq!(v["allMetaData"]["db"], db.as_str());
                assert_eq!(at[0].key_text().as_deref(), Some("1"));
            }
            "canal" => {
                let row = &v["data"][0];
                assert_eq!(row["biu"], "18446744073709551615");
                assert_eq!(row["dz"], "0000-00-00");
                assert_eq!(row["tsz"], "0000-00-00 00:00:00");
                assert_eq!(row["dtm6"], "2026-11-23 12:34:56.123456");
                assert_eq!(row["y0"], "0000");
                assert_eq!(row["vc"], "héllo 😀");
                assert_eq!(row["st"], "a,c");
                assert_eq!(row["n"], Value::Null);
                assert_eq!(v["pkNames"], json!(["id"]));
                assert_eq!(v["mysqlType"]["biu"], "bigint(20) unsigned");
            }
            "debezium" => {
                let after = &v["after"];
                assert_eq!(v["op"], "c");
                assert_eq!(after["biu"], json!(u64::MAX));
                assert_eq!(after["dt"], 20780, "days since epoch");
                assert_eq!(after["dtm0"], 1_795_437_296_000_i64, "epoch ms");
                assert_eq!(after["dtm6"], 1_795_437_296_123_456_i64, "epoch µs for fsp 6");
                assert_eq!(after["ts3"], "2026-11-23T12:34:56.120Z");
                assert_eq!(after["b1"], true);
                assert_eq!(after["j"], "{\"a\": [1, 2]}");
                assert_eq!(v["source"]["connector"], "mariadb");
                assert_eq!(v["source"]["db"], db.as_str());
                assert_eq!(v["source"]["table"], "alltypes");
                assert_eq!(
                    at[0].key.as_deref().map(|k| serde_json::from_slice::<Value>(k).unwrap()),
                    Some(json!({"id": 1}))
                );
            }
            _ => unreachable!(),
        }

        if *rule != "hash" {
            let nopk = read_topic(&services.kafka, &format!("{name}.nopk"), Duration::from_secs(30), |m| {
                m.len() >= 2
            });
            assert_eq!(nopk.len(), 2, "{name}: rows of a table without a primary key");
            assert!(nopk.iter().all(|m| m.key.is_none()), "{name}: no primary key, no message key");
        }
    }

    // The API shows progress per table, and a caught-up project has no latency.
    // (Its last transaction, on the excluded table, moved the store past the checkpoint.)
    let p = node.wait_project(&projects[0].0, Duration::from_secs(15), |p| p["latency_ms"] == 0);
    assert_eq!(p["behind_bytes"], 0, "{p}");
    assert_eq!(p["store_position"], p["source_position"], "{p}");
    assert_eq!(p["state"], "running");
    assert!(p["sync_timestamp"].as_u64().unwrap() > 1_700_000_000);
    let items = p["tables"].as_array().unwrap().iter().find(|t| t["table"] == "items").unwrap();
    assert_eq!(
        items["rows"].as_u64().unwrap() as usize,
        item_changes - 1,
        "row changes (the key move is one)"
    );
    sql.exec(&format!("DROP DATABASE {db}"));
}
