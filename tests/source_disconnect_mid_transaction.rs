//! Proves: when the binlog connection drops in the middle of a large transaction (after the
//! store appended part of it), the store resumes from the transaction's start without
//! appending that part again: every row reaches Kafka exactly once and the delivered count is
//! exact.

mod common;

use common::read_topic;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

const ROWS: u64 = 300_000;
const PER_STATEMENT: u64 = 2_000;

#[test]
fn a_dump_connection_killed_mid_transaction_resends_nothing() {
    let (services, node, mut sql, db) = common::setup("midtx");
    let user = format!("m{}", &db[6..]).replace('_', "");
    sql.exec(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"));
    sql.exec(&format!("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '{user}'@'%'"));
    sql.exec(&format!("CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, c CHAR(40))"));
    let mut source = services.mysql_source("maria");
    source["user"] = json!(user);
    source["password"] = json!("pw");
    node.ok("/datasources", source, 201);
    node.ok("/datasources", services.kafka_destination("kafka"), 201);
    node.start_project(json!({
        "name": "p", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "hash", "start": {"from": "now"}
    }));
    node.wait_project("p", Duration::from_secs(30), |p| p["rows_read"].as_u64().is_some());

    // One transaction of ROWS rows (the binlog gets it whole at COMMIT), its dump connection
    // cut while the store is reading it. If the cut comes too early (nothing read) or too late
    // (the whole transaction read), another transaction tries again.
    let mut written = 0;
    let mut read_at_kill = None;
    while read_at_kill.is_none() {
        assert!(written < 3 * ROWS, "no kill landed inside a transaction in 3 tries");
        // Once the store has read every earlier transaction (one cut too early is read again
        // after the reconnection): what it reads next is this one's.
        let before =
            common::wait_for("the store to read the earlier transactions", Duration::from_secs(60), || {
                let n = node.get("/projects/p").1["rows_read"].as_u64().unwrap_or(0);
                (n >= written).then_some(n)
            });
        sql.exec("START TRANSACTION");
        for first in (written + 1..=written + ROWS).step_by(PER_STATEMENT as usize) {
            let rows: Vec<String> =
                (first..first + PER_STATEMENT).map(|id| format!("({id}, 'row {id}')")).collect();
            sql.exec(&format!("INSERT INTO {db}.t VALUES {}", rows.join(",")));
        }
        // Cut the moment the transaction is in the binlog: the store, reading it some million
        // rows a second, is then in the middle of it (polling first found it read whole).
        let ids: Vec<u64> = sql
            .rows(&format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND COMMAND LIKE 'Binlog Dump%'"
            ))
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        sql.exec("COMMIT");
        for id in &ids {
            sql.exec(&format!("KILL CONNECTION {id}"));
        }
        written += ROWS;
        let read = node.get("/projects/p").1["rows_read"].as_u64().unwrap_or(0) - before;
        eprintln!("dump connections {ids:?} killed with {read} of {ROWS} rows read");
        if !ids.is_empty() && read > 0 && read < ROWS {
            read_at_kill = Some(read);
        }
    }
    let read_at_kill = read_at_kill.unwrap();
    let rows_total = written;

    let p = node.wait_project("p", Duration::from_secs(120), |p| p["rows"].as_u64() >= Some(rows_total));
    let topic = format!("{db}.t");
    // Everything the destination acknowledged is in the topic by now, duplicates included: read
    // it all (stopping early at the first message beyond the rows written).
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(20), |m| m.len() as u64 > rows_total);
    let positions: HashSet<_> = msgs.iter().map(|m| m.position()).collect();
    eprintln!("read at the kill: {read_at_kill}; messages {}; distinct {}", msgs.len(), positions.len());
    assert!(
        msgs.len() as u64 <= rows_total,
        "rows were sent twice: {} messages, {} distinct",
        msgs.len(),
        positions.len()
    );
    assert_eq!(positions.len() as u64, rows_total, "every row arrived");
    assert_eq!(p["rows"].as_u64(), Some(rows_total), "the delivered count is exact");
    sql.exec(&format!("DROP DATABASE {db}"));
}
