//! Proves: without `binlog_row_metadata=FULL` (the binlog carries no column names, labels or
//! keys), rows read long after the DDL that followed them keep their right names and values:
//! the store decodes each row with the table's definition at its position (its schema history),
//! not with today's `information_schema`. The DDL runs while the project is paused, the node is
//! restarted (the store reads from before the first DDL again), then the project resumes:
//! a renamed column, same-type columns swapped, new ENUM labels, ADD and DROP COLUMN, RENAME
//! TABLE, CREATE ... LIKE and TRUNCATE. A DDL Ferry cannot follow stops only the table it
//! touches, quoting it, while the project's other tables go on. And a store that lost its files
//! (as after a move to another node) starts over from the checkpoint with the history the
//! cluster replicated.

mod common;

use common::{read_topic, Services, Sql};
use serde_json::{json, Value};
use std::time::Duration;

/// `binlog_row_metadata` is global: set it for this test and put FULL back whatever happens
/// (test binaries run one at a time; this one has a single test).
struct RowMetadata(Services);

impl RowMetadata {
    fn set(services: &Services, value: &str) -> Self {
        let mut sql = Sql::connect(services);
        sql.exec(&format!("SET GLOBAL binlog_row_metadata = '{value}'"));
        RowMetadata(services.clone())
    }
}

impl Drop for RowMetadata {
    fn drop(&mut self) {
        Sql::connect(&self.0).exec("SET GLOBAL binlog_row_metadata = 'FULL'");
    }
}

/// The after images of a table's topic, by id.
fn rows(services: &Services, topic: &str, n: usize) -> Vec<Value> {
    let msgs = read_topic(&services.kafka, topic, Duration::from_secs(60), |m| m.len() >= n);
    let mut out: Vec<Value> = msgs.iter().map(|m| m.value.as_ref().unwrap()["postStruct"].clone()).collect();
    out.sort_by_key(|v| v["id"].as_i64());
    assert_eq!(out.len(), n, "{topic}: {out:?}");
    out
}

#[test]
fn rows_decode_with_the_definition_at_their_position_without_row_metadata() {
    let (services, mut node, mut sql, db) = common::setup("history");
    let _metadata = RowMetadata::set(&services, "NO_LOG");
    sql.exec(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT, c INT, e ENUM('x','y'))"
    ));
    sql.exec(&format!("CREATE TABLE {db}.w (id INT PRIMARY KEY, v VARCHAR(10))"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "p", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "start": {"from": "now"}
    }));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, 'one', 10, 100, 'x')"));
    rows(&services, &format!("{db}.t"), 1);
    node.ok("/projects/p/pause", json!({}), 200);
    // Stopped on the node: the store reads nothing of what follows until the resume.
    node.wait_project("p", Duration::from_secs(30), |p| p["store_status"].is_null());

    // Behind the project's back: every change of definition, rows between them.
    let ins = |sql: &mut Sql, table: &str, cols: &str, vals: &str| {
        sql.exec(&format!("INSERT INTO {db}.{table} ({cols}) VALUES ({vals})"))
    };
    ins(&mut sql, "t", "id, a, b, c, e", "2, 'two', 20, 200, 'y'");
    sql.exec(&format!("ALTER TABLE {db}.t RENAME COLUMN a TO a2"));
    ins(&mut sql, "t", "id, a2, b, c, e", "3, 'three', 30, 300, 'x'");
    // Same-type columns swapped: read by position with today's names, b and c would swap.
    sql.exec(&format!("ALTER TABLE {db}.t MODIFY c INT AFTER a2"));
    ins(&mut sql, "t", "id, a2, b, c, e", "4, 'four', 40, 400, 'y'");
    sql.exec(&format!("ALTER TABLE {db}.t MODIFY e ENUM('x','y','z')"));
    ins(&mut sql, "t", "id, a2, b, c, e", "5, 'five', 50, 500, 'z'");
    sql.exec(&format!("ALTER TABLE {db}.t ADD COLUMN f VARCHAR(5) AFTER id"));
    ins(&mut sql, "t", "id, f, a2, b, c, e", "6, 'f6', 'six', 60, 600, 'z'");
    sql.exec(&format!("ALTER TABLE {db}.t DROP COLUMN b"));
    ins(&mut sql, "t", "id, f, a2, c, e", "7, 'f7', 'seven', 700, 'x'");
    sql.exec(&format!("RENAME TABLE {db}.t TO {db}.t2"));
    ins(&mut sql, "t2", "id, f, a2, c, e", "8, 'f8', 'eight', 800, 'y'");
    sql.exec(&format!("CREATE TABLE {db}.t3 LIKE {db}.t2"));
    ins(&mut sql, "t3", "id, f, a2, c, e", "9, 'f9', 'nine', 900, 'z'");
    sql.exec(&format!("TRUNCATE TABLE {db}.t3"));
    ins(&mut sql, "t3", "id, f, a2, c, e", "10, 'f10', 'ten', 1000, 'x'");
    // Today's definitions differ from every one above.
    sql.exec(&format!("ALTER TABLE {db}.t2 DROP COLUMN c, ADD COLUMN z INT FIRST"));
    ins(&mut sql, "t2", "id, f, a2, e, z", "11, 'f11', 'eleven', 'z', -1");

    // A restart while paused: the store reads all of it again from before the first DDL.
    assert!(node.terminate().success());
    node.restart();
    node.ok("/projects/p/resume", json!({}), 200);

    let t = rows(&services, &format!("{db}.t"), 7);
    assert_eq!(t[0], json!({"id": 1, "a": "one", "b": 10, "c": 100, "e": "x"}));
    assert_eq!(t[1], json!({"id": 2, "a": "two", "b": 20, "c": 200, "e": "y"}));
    assert_eq!(t[2], json!({"id": 3, "a2": "three", "b": 30, "c": 300, "e": "x"}));
    assert_eq!(t[3], json!({"id": 4, "a2": "four", "b": 40, "c": 400, "e": "y"}));
    assert_eq!(t[4], json!({"id": 5, "a2": "five", "b": 50, "c": 500, "e": "z"}));
    assert_eq!(t[5], json!({"id": 6, "f": "f6", "a2": "six", "b": 60, "c": 600, "e": "z"}));
    assert_eq!(t[6], json!({"id": 7, "f": "f7", "a2": "seven", "c": 700, "e": "x"}));
    let t2 = rows(&services, &format!("{db}.t2"), 2);
    assert_eq!(t2[0], json!({"id": 8, "f": "f8", "a2": "eight", "c": 800, "e": "y"}));
    assert_eq!(t2[1], json!({"z": -1, "id": 11, "f": "f11", "a2": "eleven", "e": "z"}));
    let t3 = rows(&services, &format!("{db}.t3"), 2);
    assert_eq!(t3[0], json!({"id": 9, "f": "f9", "a2": "nine", "c": 900, "e": "z"}));
    assert_eq!(t3[1], json!({"id": 10, "f": "f10", "a2": "ten", "c": 1000, "e": "x"}));
    let p = node.wait_project("p", Duration::from_secs(10), |p| p["state"] == "running");
    assert_eq!(p["store_status"]["stopped_tables"], json!({}), "{p}");

    // A DDL Ferry cannot follow (an Oracle-mode type): its table stops, the others go on.
    sql.exec("SET SESSION sql_mode = 'ORACLE'");
    sql.exec(&format!("ALTER TABLE {db}.w ADD x VARCHAR2(10)"));
    sql.exec("SET SESSION sql_mode = DEFAULT");
    // A later ALTER of a stopped table cannot be followed either: it stays stopped.
    sql.exec(&format!("ALTER TABLE {db}.w ADD COLUMN y INT"));
    sql.exec(&format!("INSERT INTO {db}.w VALUES (1, 'lost', 'x', 1)"));
    ins(&mut sql, "t2", "id, f, a2, e, z", "12, 'f12', 'twelve', 'x', -2");
    let t2 = rows(&services, &format!("{db}.t2"), 3);
    assert_eq!(t2[2], json!({"z": -2, "id": 12, "f": "f12", "a2": "twelve", "e": "x"}));
    let p = node.wait_project("p", Duration::from_secs(30), |p| {
        p["store_status"]["stopped_tables"].as_object().is_some_and(|t| !t.is_empty())
    });
    assert_eq!(p["state"], "running", "{p}");
    let stopped = p["store_status"]["stopped_tables"].as_object().unwrap();
    assert_eq!(stopped.keys().collect::<Vec<_>>(), [&format!("{db}.w")]);
    let why = stopped[&format!("{db}.w")].as_str().unwrap();
    assert!(why.contains("VARCHAR2") && why.contains("binlog_row_metadata=FULL"), "{why}");
    let w = read_topic(&services.kafka, &format!("{db}.w"), Duration::from_secs(3), |_| false);
    assert!(w.is_empty(), "no row of the stopped table is decoded against a guessed definition: {w:?}");

    // The store lost (what a move to another node is): the new one starts over from the
    // checkpoint, before the next DDL, with the history the cluster replicated.
    node.ok("/projects/p/pause", json!({}), 200);
    node.wait_project("p", Duration::from_secs(30), |p| p["store_status"].is_null());
    ins(&mut sql, "t2", "id, f, a2, e, z", "13, 'f13', 'thirteen', 'y', -3");
    sql.exec(&format!("ALTER TABLE {db}.t2 RENAME COLUMN f TO f2"));
    ins(&mut sql, "t2", "id, f2, a2, e, z", "14, 'f14', 'fourteen', 'z', -4");
    assert!(node.terminate().success());
    std::fs::remove_dir_all(node.data_dir.join("stores/p")).unwrap();
    node.restart();
    node.ok("/projects/p/resume", json!({}), 200);
    let t2 = rows(&services, &format!("{db}.t2"), 5);
    assert_eq!(t2[3], json!({"z": -3, "id": 13, "f": "f13", "a2": "thirteen", "e": "y"}));
    assert_eq!(t2[4], json!({"z": -4, "id": 14, "f2": "f14", "a2": "fourteen", "e": "z"}));
    sql.exec(&format!("DROP DATABASE {db}"));
}
