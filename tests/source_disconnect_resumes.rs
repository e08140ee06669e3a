//! Proves: when the source drops the binlog connection mid-load (here: the dump thread is
//! killed, repeatedly), the store reconnects and resumes from its saved position, and every
//! change reaches Kafka exactly once, in order per key.

mod common;

use common::read_topic;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

const TXS: u64 = 40;
const PER_TX: u64 = 500;

#[test]
fn killed_dump_connections_resume_without_loss_or_duplicates() {
    let (services, node, mut sql, db) = common::setup("disc");
    // A replication user of this test's own, so killing its connections touches nobody else.
    let user = format!("r{}", &db[5..]).replace('_', "");
    sql.exec(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"));
    sql.exec(&format!("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '{user}'@'%'"));
    sql.exec(&format!("CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, n INT)"));

    let mut source = services.mysql_source("maria");
    source["user"] = json!(user);
    source["password"] = json!("pw");
    node.ok("/datasources", source, 201);
    node.ok("/datasources", services.kafka_destination("kafka"), 201);
    node.start_project(json!({
        "name": "p", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "canal", "partition": "hash", "start": {"from": "now"}
    }));

    let mut kills = 0;
    for tx in 0..TXS {
        let rows: Vec<String> =
            (tx * PER_TX + 1..=(tx + 1) * PER_TX).map(|id| format!("({id}, 0)")).collect();
        sql.exec(&format!("INSERT INTO {db}.t VALUES {}", rows.join(",")));
        sql.exec(&format!("UPDATE {db}.t SET n = n + 1 WHERE id = {}", tx * PER_TX + 1));
        if tx % 8 == 4 {
            // Wait for the store to be (re)connected, then cut it off.
            let query = format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND COMMAND LIKE 'Binlog Dump%'"
            );
            let ids = common::wait_for("a binlog dump connection", Duration::from_secs(30), || {
                let ids: Vec<u64> = sql.rows(&query).iter().map(|r| r.get(0).unwrap()).collect();
                (!ids.is_empty()).then_some(ids)
            });
            for id in ids {
                sql.exec(&format!("KILL CONNECTION {id}"));
                kills += 1;
            }
        }
    }
    assert!(kills >= 5, "the dump connection was killed {kills} times");

    let total = TXS * PER_TX + TXS;
    // The reconnects' errors (logged, asserted below) are cleared once data flows again.
    let p = node.wait_project("p", Duration::from_secs(120), |p| {
        p["rows"].as_u64() >= Some(total) && p["last_error"].is_null()
    });
    assert_eq!(p["rows"].as_u64(), Some(total));
    assert_eq!(p["state"], "running");
    let topic = format!("{db}.t");
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(60), |m| m.len() as u64 >= total);
    let more = read_topic(&services.kafka, &topic, Duration::from_secs(3), |m| m.len() as u64 > total);
    assert_eq!(msgs.len() as u64, total);
    assert_eq!(more.len() as u64, total, "nothing was sent twice");
    let positions: HashSet<_> = more.iter().map(|m| m.position()).collect();
    assert_eq!(positions.len() as u64, total);
    // Per key, the insert before the update.
    let mut first_updated = HashSet::new();
    let mut ordered: Vec<_> = more.iter().collect();
    ordered.sort_by_key(|m| (m.partition, m.offset));
    for m in ordered {
        let v = m.value.as_ref().unwrap();
        let id = v["data"][0]["id"].as_str().unwrap().to_string();
        match v["type"].as_str().unwrap() {
            "INSERT" => assert!(!first_updated.contains(&id), "key {id}: update before insert"),
            "UPDATE" => assert!(first_updated.insert(id)),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(first_updated.len() as u64, TXS);
    assert!(node.log_text().contains("resuming"), "the store logged its reconnects");
    sql.exec(&format!("DROP DATABASE {db}"));
    sql.exec(&format!("DROP USER '{user}'@'%'"));
}
