//! Proves: a schema change in the middle of the stream (ALTER TABLE adding, dropping and
//! retyping columns) is followed: rows before it keep the old columns, rows after it have the
//! new ones, in every format.

mod common;

use common::read_topic;
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
            "format": format, "start": {"file": start.0, "pos": start.1}
        }));
    }

    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, '11', 10)"));
    sql.exec(&format!("ALTER TABLE {db}.t ADD COLUMN c DECIMAL(6,2) DEFAULT 1.5, DROP COLUMN b"));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, '22', 2.25)"));
    sql.exec(&format!("ALTER TABLE {db}.t MODIFY a BIGINT"));
    sql.exec(&format!("UPDATE {db}.t SET a = 7 WHERE id = 1"));

    for format in ["default", "canal", "debezium"] {
        let msgs = read_topic(&services.kafka, &format!("{db}.{format}.t"), Duration::from_secs(30), |m| {
            m.len() >= 3
        });
        assert_eq!(msgs.len(), 3, "{format}");
        let mut msgs = msgs;
        msgs.sort_by_key(|m| m.position());
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
    sql.exec(&format!("DROP DATABASE {db}"));
}
