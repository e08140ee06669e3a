//! Proves: a schema change in the middle of the stream (ALTER TABLE adding, dropping and
//! retyping columns) is followed: rows before it keep the old columns, rows after it have the
//! new ones, in every format; and each ALTER goes downstream as a DDL record in its place:
//! `recordType: DDL` (default) and `isDdl: true` (Canal) among the table's rows, a schema change
//! event on `<project>.schema-changes` (Debezium); and, with `truncate_events`, a TRUNCATE is
//! Debezium's `op: "t"` event.

mod common;

use common::read_topic_with_ddl as read_topic;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn rows_follow_the_schema_they_were_written_under() {
    let (services, node, mut sql, db) = common::setup("ddl");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)"));
    node.register_sources(&services);
    for format in ["default", "canal", "debezium"] {
        node.start_project(json!({
            "name": format, "source": "maria", "destination": "kafka",
            "objects": [{"database": db, "topic": format!("{db}.{format}.{{table}}")}],
            "format": format, "start": {"file": start.0, "pos": start.1},
            "options": {"truncate_events": format == "debezium"}
        }));
    }

    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, '11', 10)"));
    sql.exec(&format!("ALTER TABLE {db}.t ADD COLUMN c DECIMAL(6,2) DEFAULT 1.5, DROP COLUMN b"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, '22', 2.25)"));
    sql.exec(&format!("ALTER TABLE {db}.t MODIFY a BIGINT"));
    sql.exec(&format!("UPDATE {db}.t SET a = 7 WHERE id = 1"));

    for format in ["default", "canal", "debezium"] {
        // Rows and, but for Debezium, the CREATE and the two ALTERs among them.
        let expected = if format == "debezium" { 3 } else { 6 };
        let msgs = read_topic(&services.kafka, &format!("{db}.{format}.t"), Duration::from_secs(30), |m| {
            m.len() >= expected
        });
        assert_eq!(msgs.len(), expected, "{format}");
        let mut msgs = msgs;
        msgs.sort_by_key(|m| m.position());
        let is_ddl = |m: &common::Msg| {
            let v = m.value.as_ref().unwrap();
            v["recordType"] == "DDL" || v["isDdl"] == true
        };
        let ddl: Vec<Value> = msgs.iter().filter(|m| is_ddl(m)).map(|m| m.value.clone().unwrap()).collect();
        let kinds: Vec<bool> = msgs.iter().map(is_ddl).collect();
        match format {
            "default" => {
                assert_eq!(kinds, [true, false, true, false, true, false], "in binlog order");
                assert_eq!(ddl[0]["allMetaData"]["ddlType"], "CREATE_TABLE");
                assert_eq!(ddl[1]["allMetaData"]["ddlType"], "ALTER_TABLE");
                assert_eq!(ddl[1]["allMetaData"]["table_name"], "t");
                assert!(ddl[1]["postStruct"]["ddl"].as_str().unwrap().contains("ADD COLUMN c"), "{}", ddl[1]);
            }
            "canal" => {
                assert_eq!(kinds, [true, false, true, false, true, false], "in binlog order");
                assert_eq!(
                    (ddl[0]["type"].as_str(), ddl[2]["type"].as_str()),
                    (Some("CREATE"), Some("ALTER"))
                );
                assert_eq!(ddl[2]["table"], "t");
                assert!(ddl[2]["sql"].as_str().unwrap().contains("MODIFY a BIGINT"), "{}", ddl[2]);
            }
            _ => {
                let changes =
                    read_topic(&services.kafka, "debezium.schema-changes", Duration::from_secs(30), |m| {
                        m.iter()
                            .filter(|m| m.value.as_ref().unwrap()["ddl"].as_str().unwrap().contains(&db))
                            .count()
                            >= 3
                    });
                let ours: Vec<&Value> = changes
                    .iter()
                    .map(|m| m.value.as_ref().unwrap())
                    .filter(|v| v["ddl"].as_str().unwrap().contains(&db))
                    .collect();
                assert_eq!(ours.len(), 3);
                assert_eq!(ours[0]["tableChanges"][0]["type"], "CREATE");
                assert_eq!(ours[2]["tableChanges"][0]["type"], "ALTER");
                assert_eq!(ours[2]["tableChanges"][0]["id"], format!("\"{db}\".\"t\""));
                assert_eq!(ours[2]["source"]["table"], "t");
            }
        }
        let msgs: Vec<common::Msg> = msgs.into_iter().filter(|m| !is_ddl(m)).collect();
        let after = |m: &common::Msg| -> Value {
            let v = m.value.clone().unwrap();
            match format {
                "default" => v["postStruct"].clone(),
                "canal" => v["data"][0].clone(),
                _ => v["after"].clone(),
            }
        };
        let (first, second, third) = (after(&msgs[0]), after(&msgs[1]), after(&msgs[2]));
        if format == "canal" {
            assert_eq!(first, json!({"id": "1", "a": "11", "b": "10"}));
            assert_eq!(second, json!({"id": "2", "a": "22", "c": "2.25"}));
            assert_eq!(third, json!({"id": "1", "a": "7", "c": "1.50"}));
            let types = &msgs[2].value.as_ref().unwrap()["mysqlType"];
            assert_eq!(types["a"], "bigint(20)", "canal types follow the schema");
        } else {
            assert_eq!(first, json!({"id": 1, "a": "11", "b": 10}), "{format}");
            assert_eq!(second, json!({"id": 2, "a": "22", "c": "2.25"}), "{format}");
            assert_eq!(third, json!({"id": 1, "a": 7, "c": "1.50"}), "{format}");
        }
    }

    // Asked for, a TRUNCATE is Debezium's `op: "t"` event on the table's topic, after its rows.
    sql.exec(&format!("TRUNCATE TABLE {db}.t"));
    let msgs = read_topic(&services.kafka, &format!("{db}.debezium.t"), Duration::from_secs(30), |m| {
        m.iter().any(|m| m.value.as_ref().is_some_and(|v| v["op"] == "t"))
    });
    let mut msgs: Vec<&common::Msg> = msgs.iter().filter(|m| m.value.is_some()).collect();
    msgs.sort_by_key(|m| m.position());
    let last = msgs.last().unwrap().value.as_ref().unwrap();
    assert_eq!(
        (last["op"].as_str(), &last["before"], &last["after"]),
        (Some("t"), &Value::Null, &Value::Null)
    );
    assert_eq!(msgs.iter().filter(|m| m.value.as_ref().unwrap()["op"] == "t").count(), 1);
    sql.exec(&format!("DROP DATABASE {db}"));
}
