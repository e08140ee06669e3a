//! Proves: `POST /projects/{name}/verify` compares a project's source tables with its database
//! destination row by row, the two shards of a table against the one target table they are
//! routed to (a column renamed): a synced target is all matched; a row changed, a row deleted
//! and a row added on the target behind Ferry's back are reported as exactly those keys (1
//! different, 1 missing, 1 extra) with the statements that repair them; `"repair": true` runs
//! them, after which every row matches again. One verification at a time per project (409);
//! a Kafka destination cannot be verified (422), an unknown project is a 404. With a shard
//! column, the same id in two shards is two rows, compared and repaired apart.

mod common;

use common::{wait_for, Node, Services, Sql};
use serde_json::{json, Value};
use std::time::Duration;

const COLUMNS: &str = "id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), \
    created DATETIME(6), seen TIMESTAMP(3) NULL, kind ENUM('a','b','c'), raw VARBINARY(16), \
    note TEXT, f FLOAT, d DOUBLE, span TIME(2), n INT UNSIGNED";

/// Rows per shard: two pages of a shard each (1000 and 500).
const ROWS: u64 = 1500;

/// A row of every column type; shard s holds the ids that are s modulo 2.
fn row(id: u64) -> String {
    let kind = ["'a'", "'b'", "'c'", "NULL"][(id % 4) as usize];
    format!(
        "({id}, 'n{id} ü😀', {}.{:02}, '2024-05-06 07:08:09.{:06}', '2024-01-02 03:04:05.{:03}', {kind}, \
         UNHEX('{:04X}00ff'), REPEAT('text ', {}), {}.5, {}.1, '-{}:34:56.78', {})",
        id * 7 % 100_000,
        id % 100,
        id * 13 % 1_000_000,
        id % 1000,
        id % 65_536,
        id % 7,
        id % 1000,
        id,
        id % 800,
        [0u64, 1, 4_294_967_295][(id % 3) as usize],
    )
}

fn insert(sql: &mut Sql, db: &str, ids: impl Iterator<Item = u64>) {
    let ids: Vec<u64> = ids.collect();
    for batch in ids.chunks(500) {
        for s in 0..2 {
            let rows: Vec<String> = batch.iter().filter(|id| *id % 2 == s).map(|id| row(*id)).collect();
            if !rows.is_empty() {
                sql.exec(&format!("INSERT INTO {db}.orders_{s} VALUES {}", rows.join(",")));
            }
        }
    }
}

/// Starts a verification with `body` (none: an empty body), expecting 202.
fn start(node: &Node, name: &str, body: Option<Value>) -> Value {
    let path = format!("/projects/{name}/verify");
    let (status, report) = match body {
        Some(body) => node.post(&path, body),
        None => node.post_raw(&path, ""),
    };
    assert_eq!(status, 202, "{report}");
    assert_eq!(report["state"], "running", "{report}");
    report
}

/// Waits until the project's verification ends; asserts it is done.
fn finished(node: &Node, name: &str) -> Value {
    let report = wait_for("the verification to end", Duration::from_secs(120), || {
        let (status, report) = node.get(&format!("/projects/{name}/verify"));
        assert_eq!(status, 200, "{report}");
        (report["state"] != "running").then_some(report)
    });
    assert_eq!(report["state"], "done", "{report:#}");
    report
}

fn counts(report: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| report[k].as_u64().unwrap();
    (n("matched"), n("missing"), n("extra"), n("different"))
}

/// A scenario's start: shards `orders_0` and `orders_1` of `columns`, the second MariaDB as
/// `maria2`, and a running project `<db>_p` into it (connector `m2`) from before the tables
/// were created, routing both into `<db>.orders` by `route` (`from` and `to` added).
fn sharded_project(scenario: &str, columns: &str, route: Value) -> (Services, Node, Sql, String, String) {
    let (services, node, mut sql, db) = common::setup(scenario);
    let start_at = sql.position();
    for s in 0..2 {
        sql.exec(&format!("CREATE TABLE {db}.orders_{s} ({columns})"));
    }
    node.register_sources(&services);
    node.ok("/datasources", services.mysql2_destination("maria2"), 201);
    let name = format!("{db}_p");
    let mut route = route;
    route["from"] = json!(format!("{db}.orders_*"));
    route["to"] = json!(format!("{db}.orders"));
    node.start_project(json!({
        "name": name, "source": "maria", "connectors": [{"id": "m2", "destination": "maria2"}],
        "objects": [{"database": db, "tables": ["orders_*"]}], "routes": [route],
        "start": {"file": start_at.0, "pos": start_at.1},
    }));
    (services, node, sql, db, name)
}

/// Waits until `<db>.orders` exists on the target and `query` returns rows there.
fn wait_target(target: &mut Sql, db: &str, query: &str) {
    wait_for(query, Duration::from_secs(90), || {
        let exists = !target
            .rows(&format!(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'orders'"
            ))
            .is_empty();
        (exists && !target.rows(query).is_empty()).then_some(())
    });
}

#[test]
fn verification_finds_exactly_what_changed_behind_ferrys_back_and_repairs_it() {
    let (services, node, mut sql, db, name) =
        sharded_project("verify", COLUMNS, json!({"columns": {"note": "remark"}}));
    insert(&mut sql, &db, 1..=2 * ROWS);
    sql.exec(&format!("UPDATE {db}.orders_0 SET name = 'updated', seen = NULL WHERE id % 10 = 0"));
    sql.exec(&format!("DELETE FROM {db}.orders_1 WHERE id % 15 = 0"));
    // The last change: once it landed, everything before it did.
    insert(&mut sql, &db, std::iter::once(1_000_000));
    let total: u64 = sql
        .rows(&format!("SELECT (SELECT COUNT(*) FROM {db}.orders_0) + (SELECT COUNT(*) FROM {db}.orders_1)"))
        .pop()
        .unwrap()
        .get(0)
        .unwrap();
    let mut target = Sql::mysql2(&services);
    wait_target(&mut target, &db, &format!("SELECT 1 FROM {db}.orders WHERE id = 1000000"));

    // In sync: every row matches (no body at all: the defaults).
    start(&node, &name, None);
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (total, 0, 0, 0), "{report:#}");
    assert_eq!(report["rows"], total);
    assert_eq!(report["connector"], "m2");
    let table = &report["tables"][0];
    assert_eq!(table["target"], format!("{db}.orders"));
    assert_eq!(table["sources"], json!([format!("{db}.orders_0"), format!("{db}.orders_1")]));
    assert_eq!(table["state"], "done");
    assert_eq!(table["chunks"], 4, "two pages a shard: {table}");
    assert_eq!(table["target_rows"], total);
    assert_eq!(report["repair"]["total"], 0);

    // Behind Ferry's back, on the target: a value changed, a row deleted, a row added.
    target.exec(&format!("UPDATE {db}.orders SET amount = amount + 1, remark = 'tampered' WHERE id = 10"));
    target.exec(&format!("DELETE FROM {db}.orders WHERE id = 21"));
    target.exec(&format!("INSERT INTO {db}.orders (id, name) VALUES (5000001, 'extra')"));

    start(&node, &name, Some(json!({"connector": "m2"})));
    // Differences are checked again for seconds: one verification at a time.
    let (status, body) = node.post(&format!("/projects/{name}/verify"), json!({}));
    assert_eq!(status, 409, "{body}");
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (total - 2, 1, 1, 1), "{report:#}");
    let table = &report["tables"][0];
    assert_eq!(table["different_keys"], json!([[10]]), "{table}");
    assert_eq!(table["missing_keys"], json!([[21]]), "{table}");
    assert_eq!(table["extra_keys"], json!([[5000001]]), "{table}");
    let repair = &report["repair"];
    assert_eq!(
        (repair["apply"].as_bool(), repair["total"].as_u64(), repair["applied"].as_u64()),
        (Some(false), Some(3), Some(0))
    );
    let statements: Vec<&str> =
        repair["statements"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let replace = format!("REPLACE INTO `{db}`.`orders` (`id`,`name`,`amount`,`created`,`seen`,`kind`,`raw`,`remark`,`f`,`d`,`span`,`n`) VALUES (");
    assert_eq!(statements.iter().filter(|s| s.starts_with(&replace)).count(), 2, "{statements:#?}");
    assert!(
        statements.contains(&format!("DELETE FROM `{db}`.`orders` WHERE `id` = 5000001").as_str()),
        "{statements:#?}"
    );
    // Nothing ran.
    assert_eq!(target.rows(&format!("SELECT 1 FROM {db}.orders WHERE id = 5000001")).len(), 1);

    // Only one shard: the other still holds keys the target has, so nothing is extra.
    start(&node, &name, Some(json!({"tables": [format!("{db}.orders_1")]})));
    let report = finished(&node, &name);
    assert_eq!(report["tables"][0]["sources"], json!([format!("{db}.orders_1")]));
    assert_eq!(report["tables"][0]["missing_keys"], json!([[21]]));
    assert_eq!((report["different"].as_u64(), report["extra"].as_u64()), (Some(0), Some(1)), "{report:#}");

    // Repaired: the statements ran, and every row matches again, value for value.
    start(&node, &name, Some(json!({"repair": true})));
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (total - 2, 1, 1, 1), "{report:#}");
    assert_eq!(
        (report["repair"]["total"].as_u64(), report["repair"]["applied"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(target.rows(&format!("SELECT 1 FROM {db}.orders WHERE id = 5000001")).is_empty());
    start(&node, &name, Some(json!({})));
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (total, 0, 0, 0), "{report:#}");

    // What cannot be verified.
    let path = format!("/projects/{name}/verify");
    let (status, body) = node.post(&path, json!({"tables": [format!("{db}.users")]}));
    assert_eq!((status, body["code"].as_str()), (422, Some("table_not_synced")), "{body}");
    let (status, body) = node.post(&path, json!({"connector": "nope"}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = node.post(&path, json!({"tables": ["orders"]}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = node.post(&path, json!({"colour": "blue"}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = node.post("/projects/nope/verify", json!({}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = node.get("/projects/nope/verify");
    assert_eq!(status, 404, "{body}");

    // A Kafka destination is no database to compare with.
    let kafka = format!("{db}_k");
    let start_at = sql.position();
    node.ok(
        "/projects",
        json!({"name": kafka, "source": "maria", "destination": "kafka",
               "objects": [{"database": db}], "start": {"file": start_at.0, "pos": start_at.1}}),
        201,
    );
    let (status, body) = node.post(&format!("/projects/{kafka}/verify"), json!({}));
    assert_eq!((status, body["code"].as_str()), (422, Some("not_a_database_destination")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("\"default\"") && message.contains("\"kafka\""), "{body}");
    let (status, body) = node.get(&format!("/projects/{kafka}/verify"));
    assert_eq!(status, 404, "{body}");
}

#[test]
fn with_a_shard_column_colliding_ids_of_two_shards_are_compared_apart() {
    let columns = "id INT NOT NULL PRIMARY KEY, v VARCHAR(20)";
    let (services, node, mut sql, db, name) =
        sharded_project("verifyshard", columns, json!({"shard_column": "src"}));
    // The same ids in both shards.
    for s in 0..2 {
        let rows: Vec<String> = (1..=1200).map(|id| format!("({id}, 's{s}-{id}')")).collect();
        sql.exec(&format!("INSERT INTO {db}.orders_{s} VALUES {}", rows.join(",")));
    }
    let mut target = Sql::mysql2(&services);
    wait_target(&mut target, &db, &format!("SELECT 1 FROM {db}.orders HAVING COUNT(*) = 2400"));
    start(&node, &name, None);
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (2400, 0, 0, 0), "{report:#}");

    // One shard's row of id 7 gone, the other's changed: told apart by the shard column.
    target.exec(&format!("DELETE FROM {db}.orders WHERE id = 7 AND src = '{db}.orders_1'"));
    target.exec(&format!("UPDATE {db}.orders SET v = 'x' WHERE id = 7 AND src = '{db}.orders_0'"));
    target.exec(&format!("INSERT INTO {db}.orders VALUES (7, 'extra', '{db}.orders_9')"));
    start(&node, &name, Some(json!({"repair": true})));
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (2398, 1, 1, 1), "{report:#}");
    let table = &report["tables"][0];
    assert_eq!(table["missing_keys"], json!([[7, format!("{db}.orders_1")]]), "{table}");
    assert_eq!(table["different_keys"], json!([[7, format!("{db}.orders_0")]]), "{table}");
    assert_eq!(table["extra_keys"], json!([[7, format!("{db}.orders_9")]]), "{table}");
    assert_eq!(report["repair"]["applied"], 3, "{report:#}");
    start(&node, &name, None);
    let report = finished(&node, &name);
    assert_eq!(counts(&report), (2400, 0, 0, 0), "{report:#}");
}

#[test]
fn without_a_shard_column_colliding_ids_of_two_shards_are_reported_with_both_shard_names() {
    let columns = "id INT NOT NULL PRIMARY KEY, v VARCHAR(20)";
    let (services, node, mut sql, db, name) = sharded_project("verifycollide", columns, json!({}));
    sql.exec(&format!("INSERT INTO {db}.orders_0 VALUES (1, 'a'), (2, 'b'), (3, 'c')"));
    // Ids 2 and 3 also in the second shard: they land on the same target rows.
    sql.exec(&format!("INSERT INTO {db}.orders_1 VALUES (2, 'x'), (3, 'y'), (4, 'd')"));
    let mut target = Sql::mysql2(&services);
    wait_target(&mut target, &db, &format!("SELECT 1 FROM {db}.orders HAVING COUNT(*) = 4"));
    start(&node, &name, None);
    let report = finished(&node, &name);
    let table = &report["tables"][0];
    assert_eq!(table["collisions"], 2, "{table}");
    let shards = json!([format!("{db}.orders_0"), format!("{db}.orders_1")]);
    assert_eq!(
        table["collision_keys"],
        json!([{"key": [2], "shards": shards}, {"key": [3], "shards": shards}]),
        "{table}"
    );
}
