//! Proves: the topics Ferry creates get the project's partition count (a metadata request does
//! not create them with the broker's default) and the Kafka destination's replication factor,
//! or the broker's default without one; a replication factor below 1 is refused; a node stops
//! within 5 s while its broker does not answer, and the changes it could not deliver land once
//! the broker answers again; a message the producer refuses for good (over message.max.bytes)
//! goes to the dead-letter topic with the reason, or fails the project naming its topic.

mod common;

use common::{read_topic, Broker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The partition count of `topic` and the replica count of each partition.
fn layout(brokers: &str, topic: &str) -> (usize, Vec<usize>) {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let t = md.topics().iter().find(|t| t.name() == topic).expect("the topic");
    (t.partitions().len(), t.partitions().iter().map(|p| p.replicas().len()).collect())
}

#[test]
fn topics_get_the_projects_partitions_and_the_replication_factor_asked_for() {
    let (services, node, mut sql, db) = common::setup("kprod");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"));
    node.register_sources(&services);
    let kafka = |name: &str, replication: Option<i64>| {
        let mut body = services.kafka_destination(name);
        if let Some(r) = replication {
            body["replication_factor"] = json!(r);
        }
        body
    };
    let (status, body) = node.post("/datasources", kafka("k0", Some(0)));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("replication_factor"), "{body}");
    let k3 = node.ok("/datasources", kafka("k3", Some(3)), 201);
    assert_eq!(k3["replication_factor"], 3, "{k3}");
    node.ok("/datasources", kafka("kdef", None), 201);
    let targets = [("k3", 3), ("kdef", 1)];
    for (destination, _) in targets {
        let name = format!("{db}-{destination}");
        node.start_project(json!({"name": name, "source": "maria", "destination": destination,
            "objects": [{"database": db, "topic": format!("{name}.{{table}}")}],
            "start": {"file": start.0, "pos": start.1}, "options": {"topic_partitions": 3}}));
    }
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, 1), (2, 2), (3, 3)"));
    for (destination, replicas) in targets {
        let topic = format!("{db}-{destination}.t");
        let messages = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 3);
        assert_eq!(messages.len(), 3, "{topic}");
        let (partitions, replication) = layout(&services.kafka, &topic);
        // tansu creates a topic a metadata request names with 4 partitions.
        assert_eq!(partitions, 3, "{topic}: the project's topic_partitions");
        assert!(
            replication.iter().all(|&r| r == replicas),
            "{topic}: replicas {replication:?}, not {replicas}"
        );
    }
}

#[test]
fn a_node_stops_within_5_s_while_its_broker_does_not_answer_and_nothing_is_lost() {
    let broker = Broker::start();
    let (services, mut node, mut sql, db) = common::setup("kstop");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(60))"));
    node.register_sources(&services);
    node.ok("/datasources", json!({"name": "kp", "type": "kafka", "bootstrap_servers": broker.address}), 201);
    let name = format!("{db}-p");
    let topic = format!("{name}.t");
    node.start_project(json!({"name": name, "source": "maria", "destination": "kp",
        "objects": [{"database": db, "topic": format!("{name}.{{table}}")}],
        "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'before' FROM {db}.seq_1_to_100"));
    read_topic(&broker.address, &topic, Duration::from_secs(30), |m| m.len() >= 100);

    // More than the producer queues (100,000 messages), sent to a broker that does not answer.
    broker.stop_answering();
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, REPEAT('x', 50) FROM {db}.seq_101_to_150000"));
    std::thread::sleep(Duration::from_secs(4));
    let stopping = Instant::now();
    let status = node.terminate();
    let took = stopping.elapsed();
    eprintln!("SIGTERM took {took:?} with the broker silent");
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?} with the broker silent");

    broker.answer_again();
    node.restart();
    // The ids read so far and how many messages they came from: each message looked at once.
    let seen = std::cell::RefCell::new((BTreeSet::new(), 0));
    read_topic(&broker.address, &topic, Duration::from_secs(120), |m| {
        let (ids, read) = &mut *seen.borrow_mut();
        ids.extend(common::ids(&m[*read..]));
        *read = m.len();
        ids.len() >= 150_000
    });
    let (ids, _) = seen.into_inner();
    assert_eq!(ids.len(), 150_000, "every change, at least once");
}

#[test]
fn a_project_whose_broker_stays_silent_fails_with_the_reason_after_the_retry_limit() {
    let broker = Broker::start();
    let services = common::Services::from_env();
    let node = common::Node::start_with_args("kretry", &["--retry-limit-s", "5"]);
    let mut sql = common::Sql::connect(&services);
    let db = common::unique("kretry");
    sql.exec(&format!("CREATE DATABASE {db}"));
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"));
    node.register_sources(&services);
    node.ok("/datasources", json!({"name": "kp", "type": "kafka", "bootstrap_servers": broker.address}), 201);
    let name = format!("{db}-p");
    node.start_project(json!({"name": name, "source": "maria", "destination": "kp",
        "objects": [{"database": db}], "start": {"file": start.0, "pos": start.1}}));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1)"));
    node.wait_project(&name, Duration::from_secs(30), |p| p["rows"].as_u64() == Some(1));

    // Retried with backoff while the broker is silent, then failed, saying why.
    broker.stop_answering();
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2)"));
    let failed = node.wait_project(&name, Duration::from_secs(90), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("kept failing for") && error.contains("without delivering anything"), "{failed}");
    assert_eq!(failed["rows"], 1, "{failed}");
}

#[test]
fn a_message_kafka_never_takes_goes_to_the_dead_letter_topic_or_fails_the_project() {
    let (services, node, mut sql, db) = common::setup("kdlq");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v LONGTEXT)"));
    node.register_sources(&services);
    let dlq = format!("{db}-dlq");
    let (status, body) = node.post(
        "/datasources",
        json!({"name": "kbad", "type": "kafka", "bootstrap_servers": services.kafka, "dead_letter_topic": "a b"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("dead_letter_topic"), "{body}");
    let shown = node.ok(
        "/datasources",
        json!({"name": "kdlq", "type": "kafka", "bootstrap_servers": services.kafka, "dead_letter_topic": dlq}),
        201,
    );
    assert_eq!(shown["dead_letter_topic"], dlq.as_str());
    for destination in ["kdlq", "kafka"] {
        let name = format!("{db}-{destination}");
        node.start_project(json!({"name": name, "source": "maria", "destination": destination,
            "objects": [{"database": db, "topic": format!("{name}.{{table}}")}],
            "start": {"file": start.0, "pos": start.1}}));
    }
    // The middle row's message is over the producer's message.max.bytes (1,000,000).
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, 'small')"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, REPEAT('x', 1500000))"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (3, 'small')"));

    let with = format!("{db}-kdlq");
    node.wait_project(&with, Duration::from_secs(60), |p| {
        assert_ne!(p["state"], "failed", "{}", p["error"]);
        p["rows"].as_u64() >= Some(3)
    });
    let topic = format!("{with}.t");
    let landed = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 2);
    let mut ids = common::ids(&landed);
    ids.sort();
    assert_eq!(ids, [1, 3], "the rows around the refused one");
    let letters = read_topic(&services.kafka, &dlq, Duration::from_secs(30), |m| !m.is_empty());
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.key_text().as_deref(), Some("2"));
    assert_eq!(letter.headers["ferry.dlq.topic"], topic);
    assert!(letter.headers["ferry.dlq.error"].contains("message.max.bytes"), "{letter:?}");
    assert!(letter.headers["ferry.dlq.bytes"].parse::<u64>().unwrap() > 1_500_000, "{letter:?}");
    assert!(letter.headers["ferry.position"].starts_with("bin."), "{letter:?}");
    assert!(letter.value.is_none(), "the refused value is left out");

    let without = format!("{db}-kafka");
    let failed = node.wait_project(&without, Duration::from_secs(60), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&format!("{without}.t")) && error.contains("message.max.bytes"), "{error}");
}
