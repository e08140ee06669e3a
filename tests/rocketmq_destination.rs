//! Proves: every change of a MariaDB workload (inserts, updates, a primary-key change,
//! deletes, a multi-statement transaction, a row of every column type, an ALTER TABLE) reaches
//! RocketMQ through a real `ferry node`: the `default` format's messages, each key's changes in
//! one message queue and in order, tagged, keyed by primary key, with the source position and
//! epoch in user properties; a `kill -9` of the node mid-load loses nothing; a node stops within
//! 5 s while its broker does not answer (SIGSTOPped), and every change lands once it answers. The
//! broker is rocketmq-rust's (scripts/services.sh; a private pair for the SIGSTOP); what landed
//! is read with its client's pull consumer.

mod common;
#[allow(dead_code)] // the bench reads the rest
#[path = "common/rocketmq.rs"]
mod rocketmq;

use common::{items, Sql};
use rocketmq::{read_topic, read_topic_as, RMsg};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

fn name_server() -> String {
    std::env::var("ROCKETMQ").unwrap_or_else(|_| {
        format!("127.0.0.1:{}", std::env::var("FERRY_ROCKETMQ_PORT").unwrap_or_else(|_| "19876".into()))
    })
}

fn destination(name: &str) -> Value {
    json!({"name": name, "type": "rocketmq", "name_server": name_server(), "producer_group": "FERRY_TEST"})
}

/// `(file, pos, row)` of the `ferry.position` property.
fn position(m: &RMsg) -> (String, u64, u64) {
    let p = m.properties.get("ferry.position").unwrap_or_else(|| panic!("ferry.position: {m:?}"));
    let mut parts = p.rsplitn(3, ':');
    let row = parts.next().unwrap().parse().unwrap();
    let pos = parts.next().unwrap().parse().unwrap();
    (parts.next().unwrap().to_string(), pos, row)
}

#[test]
fn registering_rocketmq_checks_what_it_is_given() {
    let node = common::Node::start("rmq_reg");
    let bad = |body: Value, status: u16, says: &str| {
        let (code, answer) = node.post("/datasources", body.clone());
        assert_eq!(code, status, "{body}: {answer}");
        assert!(answer.to_string().contains(says), "{body}: {answer}");
    };
    bad(json!({"name": "r1", "type": "rocketmq", "name_server": "localhost"}), 400, "host:port");
    bad(
        json!({"name": "r1", "type": "rocketmq", "name_server": name_server(), "producer_group": "a b"}),
        400,
        "producer_group",
    );
    bad(
        json!({"name": "r1", "type": "rocketmq", "name_server": name_server(), "access_key": "ak"}),
        400,
        "secret_key",
    );
    let unused = common::free_port();
    bad(
        json!({"name": "r1", "type": "rocketmq", "name_server": format!("127.0.0.1:{unused}")}),
        502,
        "cannot reach",
    );

    let shown = node.ok(
        "/datasources",
        json!({"name": "r1", "type": "rocketmq", "name_server": name_server(), "access_key": "AK",
               "secret_key": "very-secret", "tag": "orders", "send_timeout_ms": 5000}),
        201,
    );
    assert_eq!(shown["type"], "rocketmq");
    assert_eq!(shown["producer_group"], "FERRY");
    assert_eq!(shown["access_key"], "AK");
    assert_eq!(shown["tag"], "orders");
    assert_eq!(shown["send_timeout_ms"], 5000);
    let (_, listed) = node.get("/datasources/r1");
    assert!(!listed.to_string().contains("very-secret"), "{listed}");
    let (code, check) = node.post("/datasources/r1/check", json!({}));
    assert_eq!((code, &check["ok"]), (200, &json!(true)), "{check}");
}

#[test]
fn every_change_arrives_in_rocketmq_in_key_order() {
    let (services, node, mut sql, db) = common::setup("rmq");
    let start = sql.position();
    items::create_tables(&mut sql, &db);

    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.ok("/datasources", destination("rmq"), 201);
    let project = db.replace('_', "-");
    node.start_project(json!({
        "name": project, "source": "maria", "destination": "rmq",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash",
        "start": {"file": start.0, "pos": start.1},
        "options": {"topic_partitions": 4}
    }));

    items::workload(&mut sql, &db);
    sql.exec(&format!("ALTER TABLE {db}.items ADD COLUMN note VARCHAR(20)"));
    sql.exec(&format!("INSERT INTO {db}.items VALUES (200, 'late', 1, 'hello')"));
    let mut expected = items::expected_items();
    expected.entry(200).or_default().push(('I', Some(1)));
    // Row changes: a key move is two messages but one row change; the alltypes row.
    let rows = expected.values().map(Vec::len).sum::<usize>() - 1 + 1;
    node.wait_project(&project, Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(rows as u64)
    });

    // Every change and the two DDL statements (CREATE, ALTER): `shop.items` is `shop_items`.
    let changes: usize = expected.values().map(Vec::len).sum();
    let topic = format!("{db}_items");
    let read = read_topic(&name_server(), &topic, Duration::from_secs(60), |m| m.len() >= changes + 2);
    assert_eq!(read.len(), changes + 2, "{topic}: every message once");
    let mut per_key: BTreeMap<i64, Vec<(i32, char, Option<i64>)>> = BTreeMap::new();
    let mut ddl = Vec::new();
    for m in &read {
        assert_eq!(m.tags.as_deref(), Some("default_tag"), "{m:?}");
        assert!(position(m).0.starts_with("bin."), "{m:?}");
        assert!(m.properties.get("ferry.epoch").is_some_and(|e| e.parse::<u64>().is_ok()), "{m:?}");
        let v = m.json();
        let (op, image) = match v["recordType"].as_str().unwrap() {
            "INSERT" => ('I', &v["postStruct"]),
            "UPDATE" => ('U', &v["postStruct"]),
            "DELETE" => ('D', &v["prevStruct"]),
            "DDL" => {
                assert_eq!(m.queue, 0, "DDL goes to the first queue");
                ddl.push(v["postStruct"]["ddl"].as_str().unwrap().to_string());
                continue;
            }
            other => panic!("recordType {other}"),
        };
        let id = image["id"].as_i64().unwrap();
        assert_eq!(m.keys.as_deref(), Some(id.to_string().as_str()), "the message key is the primary key");
        per_key.entry(id).or_default().push((m.queue, op, v["postStruct"]["qty"].as_i64()));
    }
    assert!(ddl[0].starts_with("CREATE TABLE") && ddl[1].contains("ADD COLUMN note"), "{ddl:?}");
    let mut queues = BTreeSet::new();
    for (id, changes) in &per_key {
        let in_queues: BTreeSet<i32> = changes.iter().map(|c| c.0).collect();
        assert_eq!(in_queues.len(), 1, "key {id} in queues {in_queues:?}");
        queues.extend(in_queues);
        let got: Vec<(char, Option<i64>)> =
            changes.iter().map(|c| (c.1, if c.1 == 'D' { None } else { c.2 })).collect();
        assert_eq!(got, expected[id], "key {id}'s changes in queue order");
    }
    assert_eq!(per_key.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    assert!(queues.len() > 1, "keys spread over the queues: {queues:?}");

    let read =
        read_topic(&name_server(), &format!("{db}_alltypes"), Duration::from_secs(30), |m| m.len() >= 2);
    let kinds: Vec<Value> = read.iter().map(|m| m.json()["recordType"].clone()).collect();
    assert_eq!(kinds, ["DDL", "INSERT"]);
    assert_eq!(read[1].json()["postStruct"], items::alltypes_default_row());
    sql.exec(&format!("DROP DATABASE {db}"));
}

const ROWS: u64 = 30_000;
const PER_TX: u64 = 500;

#[test]
fn kill9_mid_load_loses_nothing_in_rocketmq() {
    let (services, mut node, mut sql, db) = common::setup("rmqkill");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.load (id BIGINT PRIMARY KEY, k INT, c CHAR(60))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.ok("/datasources", destination("rmq"), 201);
    node.start_project(json!({
        "name": "load", "source": "maria", "destination": "rmq",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash",
        "start": {"file": start.0, "pos": start.1},
        "options": {"topic_partitions": 4}
    }));
    let writer = {
        let services = services.clone();
        let db = db.clone();
        std::thread::spawn(move || {
            let mut sql = Sql::connect(&services);
            for tx in 0..ROWS / PER_TX {
                let ids = tx * PER_TX + 1..=(tx + 1) * PER_TX;
                let values: Vec<String> = ids.map(|id| format!("({id}, 0, 'row {id}')")).collect();
                sql.exec(&format!("INSERT INTO {db}.load VALUES {}", values.join(",")));
                // Every 10th key of this batch is updated after its insert.
                sql.exec(&format!(
                    "UPDATE {db}.load SET k = 1 WHERE id BETWEEN {} AND {} AND id % 10 = 0",
                    tx * PER_TX + 1,
                    (tx + 1) * PER_TX
                ));
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };
    let before = node.wait_project("load", Duration::from_secs(120), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(5_000)
    });
    node.kill9();
    let total = ROWS + ROWS / 10;
    assert!(before["rows"].as_u64().unwrap() < total, "the kill must land mid-load: {before}");
    let checkpoint_seen = (
        before["position"]["file"].as_str().unwrap().to_string(),
        before["position"]["pos"].as_u64().unwrap(),
    );
    node.restart();
    writer.join().unwrap();
    let after = node.wait_project("load", Duration::from_secs(180), |p| p["rows"].as_u64() >= Some(total));
    assert_eq!(after["rows"].as_u64(), Some(total), "the checkpoint counts each change once");

    // DDL (the CREATE TABLE) aside, every change once after dedup on the source position.
    let topic = format!("{db}_load");
    let read = read_topic(&name_server(), &topic, Duration::from_secs(120), |m| m.len() as u64 > total);
    let mut seen = HashSet::new();
    let mut per_key: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut duplicates = 0;
    for m in &read {
        let v = m.json();
        if v["recordType"] == "DDL" {
            continue;
        }
        let pos = position(m);
        if !seen.insert(pos.clone()) {
            duplicates += 1;
            assert!(
                (pos.0.as_str(), pos.1) > (checkpoint_seen.0.as_str(), checkpoint_seen.1),
                "duplicate {pos:?} is from before the checkpoint {checkpoint_seen:?}"
            );
            continue;
        }
        let id = v["postStruct"]["id"].as_i64().unwrap();
        per_key.entry(id).or_default().push(v["recordType"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len() as u64, total, "every change arrived");
    eprintln!("duplicates after the restart: {duplicates}");
    assert_eq!(per_key.len() as u64, ROWS);
    for (id, ops) in &per_key {
        let want: &[&str] = if id % 10 == 0 { &["INSERT", "UPDATE"] } else { &["INSERT"] };
        assert_eq!(ops, want, "key {id}, in queue order");
    }
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_node_stops_within_5_s_while_its_rocketmq_broker_does_not_answer_and_nothing_is_lost() {
    let broker = rocketmq::PrivateRocketmq::start();
    let (services, mut node, mut sql, db) = common::setup("rmqstop");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(60))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    node.ok(
        "/datasources",
        json!({"name": "rp", "type": "rocketmq", "name_server": broker.name_server, "send_timeout_ms": 1000}),
        201,
    );
    let name = format!("{db}-p").replace('_', "-");
    node.start_project(json!({"name": name, "source": "maria", "destination": "rp",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'before' FROM {db}.seq_1_to_100"));
    node.wait_project(&name, Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(100)
    });

    // More than the producer holds (100,000 messages), for a broker that does not answer.
    broker.stop_answering();
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, REPEAT('x', 50) FROM {db}.seq_101_to_150000"));
    std::thread::sleep(Duration::from_secs(4));
    let stopping = std::time::Instant::now();
    let status = node.terminate();
    let took = stopping.elapsed();
    eprintln!("SIGTERM took {took:?} with the RocketMQ broker silent");
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?} with the broker silent");

    broker.answer_again();
    node.restart();
    // The checkpoint reaches the end: everything was acknowledged (the last answer is named if not).
    let after = node.wait_project(&name, Duration::from_secs(240), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(150_000)
    });
    eprintln!("checkpointed after the restart: {after}");
    let topic = format!("{db}_t");
    let ids = std::cell::RefCell::new(BTreeSet::new());
    read_topic(&broker.name_server, &topic, Duration::from_secs(180), |m| {
        let mut ids = ids.borrow_mut();
        ids.extend(m.iter().filter(|m| m.json()["recordType"] != "DDL").map(|m| m.keys.clone().unwrap()));
        ids.len() >= 150_000
    });
    let ids = ids.into_inner();
    if ids.len() < 150_000 {
        let log = node.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("the node's log, last lines:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    assert_eq!(ids.len(), 150_000, "every change, at least once");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_broker_with_acl_takes_the_keys_and_a_wrong_secret_fails_the_project_naming_it() {
    let broker = rocketmq::PrivateRocketmq::start_with_acl("ferry-ak", "ferry-secret");
    let (services, node, mut sql, db) = common::setup("rmqacl");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40))"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    let destination = |name: &str, secret: &str| {
        json!({"name": name, "type": "rocketmq", "name_server": broker.name_server,
               "access_key": "ferry-ak", "secret_key": secret})
    };
    let view = node.ok("/datasources", destination("acl", "ferry-secret"), 201);
    assert_eq!(view["access_key"], "ferry-ak");
    assert!(!view.to_string().contains("ferry-secret"), "{view}");
    node.ok("/datasources", destination("wrong", "not-the-secret"), 201);
    let project = |name: &str, destination: &str| {
        json!({"name": name, "source": "maria", "destination": destination,
               "objects": [{"database": db, "topic": "{database}.{table}"}],
               "start": {"file": start.0, "pos": start.1}})
    };
    node.start_project(project("acl-sync", "acl"));
    node.start_project(project("acl-wrong", "wrong"));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM {db}.seq_1_to_500"));

    let failed = node.wait_project("acl-wrong", Duration::from_secs(60), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("NO_PERMISSION") && error.contains("secret_key"), "{failed}");

    node.wait_project("acl-sync", Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(500)
    });
    let topic = format!("{db}_t");
    let read =
        read_topic_as(&broker.name_server, broker.credentials(), &topic, Duration::from_secs(60), |m| {
            m.iter().filter(|m| m.json()["recordType"] != "DDL").count() >= 500
        });
    let ids: BTreeSet<i64> = read
        .iter()
        .filter(|m| m.json()["recordType"] != "DDL")
        .map(|m| m.json()["postStruct"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (1..=500).collect(), "every row, through the ACL");
    // Without the keys the broker gives nothing away.
    let unsigned = read_topic(&broker.name_server, &topic, Duration::from_secs(3), |m| !m.is_empty());
    assert!(unsigned.is_empty(), "an unsigned reader got {} messages", unsigned.len());
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_message_over_4_mib_goes_to_the_dead_letter_topic_or_fails_the_project() {
    let (services, node, mut sql, db) = common::setup("rmqdlq");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v LONGTEXT)"));
    node.ok("/datasources", services.mysql_source("maria"), 201);
    let (status, answer) = node.post(
        "/datasources",
        json!({"name": "baddlq", "type": "rocketmq", "name_server": name_server(), "dead_letter_topic": "no.dots"}),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("dead_letter_topic"), "{answer}");
    let dlq = format!("dlq_{db}");
    let view = node.ok(
        "/datasources",
        json!({"name": "withdlq", "type": "rocketmq", "name_server": name_server(), "dead_letter_topic": dlq}),
        201,
    );
    assert_eq!(view["dead_letter_topic"], dlq.as_str());
    node.ok("/datasources", json!({"name": "nodlq", "type": "rocketmq", "name_server": name_server()}), 201);
    for (name, destination, prefix) in [("rmq-dlq", "withdlq", "a"), ("rmq-nodlq", "nodlq", "b")] {
        node.start_project(json!({"name": name, "source": "maria", "destination": destination,
            "objects": [{"database": db, "topic": format!("{{database}}.{prefix}_{{table}}")}],
            "start": {"file": start.0, "pos": start.1}}));
    }
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, 'small')"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, REPEAT('x', 5 * 1024 * 1024))"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (3, 'after')"));

    // Without a dead-letter topic the project fails naming the topic and the limit.
    let failed = node.wait_project("rmq-nodlq", Duration::from_secs(60), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("{db}_b_t")) && error.contains("at most"), "{failed}");

    // With one the sync goes on: the large row is a dead letter, the others land.
    node.wait_project("rmq-dlq", Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(3)
    });
    let topic = format!("{db}_a_t");
    let rows = |m: &[RMsg]| m.iter().filter(|m| m.json()["recordType"] != "DDL").count();
    let read = read_topic(&name_server(), &topic, Duration::from_secs(60), |m| rows(m) >= 2);
    let ids: Vec<i64> = read
        .iter()
        .filter(|m| m.json()["recordType"] != "DDL")
        .map(|m| m.json()["postStruct"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3]);
    let letters = read_topic(&name_server(), &dlq, Duration::from_secs(60), |m| !m.is_empty());
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.keys.as_deref(), Some("2"));
    assert_eq!(letter.properties["ferry.dlq.topic"], topic);
    let bytes: usize = letter.properties["ferry.dlq.bytes"].parse().unwrap();
    assert!(bytes > 5 * 1024 * 1024, "{bytes}");
    assert!(letter.properties["ferry.dlq.error"].contains("at most"), "{letter:?}");
    assert!(letter.properties.contains_key("ferry.position"), "{letter:?}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
