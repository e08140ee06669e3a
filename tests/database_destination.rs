//! Proves: a project writes a MariaDB source's changes into database destinations, OceanBase
//! (seekdb) and a second MariaDB, each target row equal to the source's, value for value, with
//! the shards of a table merged by a routing rule and a column renamed; inserts, updates (also
//! of the primary key) and deletes in transactions of every size; a kill -9 of the node in the
//! middle of the load changes nothing in that result; a TRUNCATE of a table of its own empties
//! its target; ALTER TABLE, CREATE and DROP INDEX are replayed on the target, once for all the
//! shards of a table, and rows of a shard that has not run them yet land in the renamed
//! columns; a table without a primary key is refused, or fails the project naming it.

mod common;

use common::{text, wait_for, Rng, Rows, Services, Sql};
use serde_json::json;
use std::time::Duration;

const COLUMNS: &str = "id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), \
    created DATETIME(6), seen TIMESTAMP(3) NULL, kind ENUM('a','b','c'), tags SET('x','y','z'), \
    raw VARBINARY(16), note TEXT, day DATE, span TIME(2), n INT UNSIGNED";

/// The columns compared, `note` under its name in `table`.
fn select(table: &str, note: &str) -> String {
    format!("SELECT id, name, amount, created, seen, kind, tags, HEX(raw), {note}, day, span, n FROM {table}")
}

/// Every row of `query`, as text, in UTC, sorted by id; an error when the query fails (a
/// target table not created yet).
fn rows(sql: &mut Sql, query: &str) -> Result<Rows, mysql_async::Error> {
    sql.exec("SET time_zone = '+00:00'");
    let rows = sql.try_rows(&format!("{query} ORDER BY id"))?;
    Ok(rows.into_iter().map(|r| r.unwrap().into_iter().map(text).collect()).collect())
}

/// The source's rows: the union of the shards.
fn source_rows(sql: &mut Sql, db: &str) -> Rows {
    let union = format!(
        "{} UNION ALL {}",
        select(&format!("{db}.orders_0"), "note"),
        select(&format!("{db}.orders_1"), "note")
    );
    rows(sql, &format!("SELECT * FROM ({union}) u")).expect("the source's rows")
}

/// The target's rows; none while the table is missing.
fn target_rows(sql: &mut Sql, db: &str) -> Option<Rows> {
    rows(sql, &select(&format!("{db}.orders"), "remark")).ok()
}

/// Waits until `target` holds exactly the source's rows; panics with the difference.
fn wait_equal(source: &mut Sql, target: &mut Sql, db: &str, what: &str) -> usize {
    let want = source_rows(source, db);
    let mut last = None;
    let found = wait_for_quietly(Duration::from_secs(90), || {
        let got = target_rows(target, db);
        let equal = got.as_ref() == Some(&want);
        last = got;
        equal
    });
    if !found {
        let got = last.unwrap_or_default();
        let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(3).collect();
        let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(3).collect();
        panic!(
            "{what}: {} rows in the source, {} in the target; missing {missing:?}; extra or different {extra:?}",
            want.len(),
            got.len()
        );
    }
    want.len()
}

fn wait_for_quietly(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

/// `transactions` transactions of inserts, updates (some moving the key) and deletes on both
/// shards; shard s holds the ids that are s modulo 2, also after a key move.
fn workload(sql: &mut Sql, db: &str, seed: u64, first_id: u64, transactions: usize) {
    let mut rng = Rng(seed);
    let mut next_id = [first_id, first_id + 1];
    for _ in 0..transactions {
        sql.exec("BEGIN");
        for _ in 0..1 + rng.next(4) {
            let s = rng.next(2) as usize;
            let table = format!("{db}.orders_{s}");
            match rng.next(10) {
                0..=4 => {
                    let rows: Vec<String> = (0..1 + rng.next(20))
                        .map(|_| {
                            let id = next_id[s];
                            next_id[s] += 2;
                            let kind = ["'a'", "'b'", "'c'", "NULL"][rng.next(4) as usize];
                            let seen = if rng.next(3) == 0 { "NULL".to_string() } else { "NOW(3)".to_string() };
                            format!(
                                "({id}, 'n{id} ü😀', {}.{:02}, '2024-05-06 07:08:09.{:06}', {seen}, {kind}, '{}', UNHEX('{:04X}00ff'), \
                                 REPEAT('long text ', {}), '2024-02-29', '-{}:34:56.78', {})",
                                rng.next(100_000),
                                rng.next(100),
                                rng.next(1_000_000),
                                ["", "x", "x,z", "x,y,z"][rng.next(4) as usize],
                                rng.next(65_536),
                                rng.next(50),
                                rng.next(800),
                                [0u64, 1, 4_294_967_295][rng.next(3) as usize],
                            )
                        })
                        .collect();
                    sql.exec(&format!("INSERT INTO {table} VALUES {}", rows.join(",")));
                }
                5..=6 => sql.exec(&format!(
                    "UPDATE {table} SET amount = amount + 1, name = CONCAT(LEFT(name, 30), 'u'), seen = NOW(3), \
                     kind = 'b' WHERE id % 11 = {} ORDER BY id LIMIT {}",
                    rng.next(11),
                    1 + rng.next(8)
                )),
                7 => sql.exec(&format!(
                    "UPDATE {table} SET id = id + 1000000 WHERE id < 1000000 AND id % 13 = {} ORDER BY id LIMIT 2",
                    rng.next(13)
                )),
                _ => sql.exec(&format!("DELETE FROM {table} WHERE id % 17 = {} ORDER BY id LIMIT 3", rng.next(17))),
            }
        }
        sql.exec("COMMIT");
    }
}

fn create_shards(sql: &mut Sql, db: &str) {
    for s in 0..2 {
        sql.exec(&format!("CREATE TABLE {db}.orders_{s} ({COLUMNS})"));
    }
}

fn project(name: &str, db: &str, start: &(String, u64), connectors: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "source": "maria", "connectors": connectors,
           "objects": [{"database": db, "tables": ["orders_*", "plain"]}],
           "routes": [{"from": format!("{db}.orders_*"), "to": format!("{db}.orders"), "columns": {"note": "remark"}}],
           "start": {"file": start.0, "pos": start.1}})
}

fn register_targets(node: &common::Node, services: &Services) {
    node.ok("/datasources", services.seekdb_destination("seekdb"), 201);
    node.ok("/datasources", services.mysql2_destination("maria2"), 201);
}

#[test]
fn changes_land_in_seekdb_and_mariadb_row_for_row() {
    let (services, node, mut sql, db) = common::setup("dbdst");
    let start = sql.position();
    create_shards(&mut sql, &db);
    sql.exec(&format!("CREATE TABLE {db}.plain (id INT PRIMARY KEY)"));
    node.register_sources(&services);
    register_targets(&node, &services);
    let name = format!("{db}_p");
    node.start_project(project(
        &name,
        &db,
        &start,
        json!([{"id": "ob", "destination": "seekdb"}, {"id": "m2", "destination": "maria2"}]),
    ));
    workload(&mut sql, &db, 7, 1, 300);

    let (mut seekdb, mut maria2) = (Sql::seekdb(&services), Sql::mysql2(&services));
    let n = wait_equal(&mut sql, &mut seekdb, &db, "seekdb");
    assert!(n > 500, "the workload leaves rows behind: {n}");
    wait_equal(&mut sql, &mut maria2, &db, "the second MariaDB");

    // A TRUNCATE empties the target table of a table routed to itself.
    sql.exec(&format!("INSERT INTO {db}.plain VALUES (1), (2), (3)"));
    sql.exec(&format!("TRUNCATE TABLE {db}.plain"));
    sql.exec(&format!("INSERT INTO {db}.plain VALUES (4)"));
    for target in [&mut seekdb, &mut maria2] {
        wait_for("the truncated table with only the row after it", Duration::from_secs(30), || {
            // Missing until its first row, and for a moment while seekdb truncates it.
            let rows = target.try_rows(&format!("SELECT id FROM {db}.plain ORDER BY id")).ok()?;
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0).unwrap()).collect();
            (ids == [4]).then_some(())
        });
    }

    // The target table was created from the source's definition, with its primary key; the
    // connector's position is in the target.
    let create: String =
        seekdb.rows(&format!("SHOW CREATE TABLE {db}.orders")).pop().unwrap().get(1).unwrap();
    assert!(create.contains("PRIMARY KEY (`id`)"), "{create}");
    let held = maria2.rows(&format!(
        "SELECT file, pos FROM __ferry.checkpoints WHERE project = '{name}' AND connector = 'm2'"
    ));
    assert_eq!(held.len(), 1, "the connector's checkpoint row in the target");
    let p = node.wait_project(&name, Duration::from_secs(30), |p| {
        p["connectors"].as_array().is_some_and(|c| c.iter().all(|c| c["rows"].as_u64() > Some(0)))
    });
    assert_eq!(p["state"], "running", "{p}");

    // A table without a primary key cannot be applied by key: refused when the project is
    // created; one created later fails the project, naming it.
    let bad = |tables: &str, start: &(String, u64)| {
        json!({"name": format!("{db}_nokey"), "source": "maria", "destination": "maria2",
               "objects": [{"database": db, "tables": [tables]}], "start": {"file": start.0, "pos": start.1}})
    };
    sql.exec(&format!("CREATE TABLE {db}.nokey_1 (a INT)"));
    let (status, body) = node.post("/projects", bad("nokey_1", &sql.position()));
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("nokey_1")
            && message.contains("a database destination applies changes by primary key"),
        "{body}"
    );
    let start = sql.position();
    node.start_project(bad("nokey_2", &start));
    sql.exec(&format!("CREATE TABLE {db}.nokey_2 (a INT)"));
    sql.exec(&format!("INSERT INTO {db}.nokey_2 VALUES (1)"));
    let p = node.wait_project(&format!("{db}_nokey"), Duration::from_secs(30), |p| p["state"] == "failed");
    let error = p["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("{db}.nokey_2 has no primary key")), "{p}");
}

#[test]
fn kill9_in_the_middle_of_the_load_changes_nothing_in_the_target() {
    let (services, mut node, mut sql, db) = common::setup("dbkill");
    let start = sql.position();
    create_shards(&mut sql, &db);
    node.register_sources(&services);
    register_targets(&node, &services);
    let name = format!("{db}_p");
    node.start_project(project(&name, &db, &start, json!([{"id": "ob", "destination": "seekdb"}])));
    let load = {
        let (services, db) = (services.clone(), db.clone());
        std::thread::spawn(move || workload(&mut Sql::connect(&services), &db, 11, 1, 1500))
    };
    let mut seekdb = Sql::seekdb(&services);
    wait_for("rows in the target before the kill", Duration::from_secs(60), || {
        target_rows(&mut seekdb, &db).filter(|r| r.len() > 50).map(|_| ())
    });
    assert!(!load.is_finished(), "the kill lands in the middle of the load");
    node.kill9();
    node.restart();
    load.join().unwrap();
    wait_equal(&mut sql, &mut seekdb, &db, "seekdb after kill -9");
}

#[test]
fn colliding_shards_stay_apart_with_a_shard_column_truncate_alone_and_add_columns_once() {
    let (services, node, mut sql, db) = common::setup("dbshard");
    let start = sql.position();
    for s in 0..2 {
        sql.exec(&format!("CREATE TABLE {db}.dup_{s} (id INT PRIMARY KEY, v VARCHAR(10))"));
    }
    node.register_sources(&services);
    register_targets(&node, &services);
    let name = format!("{db}_p");
    node.start_project(json!({"name": name, "source": "maria", "destination": "maria2",
        "objects": [{"database": db, "tables": ["dup_*"]}],
        "routes": [{"from": format!("{db}.dup_*"), "to": format!("{db}.dup"), "shard_column": "src"}],
        "start": {"file": start.0, "pos": start.1}}));
    // The same id in both shards.
    sql.exec(&format!("INSERT INTO {db}.dup_0 VALUES (1, 'a')"));
    sql.exec(&format!("INSERT INTO {db}.dup_1 VALUES (1, 'b'), (2, 'c')"));
    sql.exec(&format!("UPDATE {db}.dup_0 SET v = 'a2' WHERE id = 1"));
    sql.exec(&format!("TRUNCATE TABLE {db}.dup_1"));
    sql.exec(&format!("INSERT INTO {db}.dup_1 VALUES (3, 'd')"));
    let mut maria2 = Sql::mysql2(&services);
    let want =
        vec![(1, "a2".to_string(), format!("{db}.dup_0")), (3, "d".to_string(), format!("{db}.dup_1"))];
    wait_for("both shards' rows apart in the target", Duration::from_secs(30), || {
        let got: Vec<(i64, String, String)> = maria2
            .try_rows(&format!("SELECT id, v, src FROM {db}.dup ORDER BY src, id"))
            .ok()?
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect();
        (got == want).then_some(())
    });
    // The same column added to both shards is added to the target once.
    for s in 0..2 {
        sql.exec(&format!("ALTER TABLE {db}.dup_{s} ADD COLUMN w INT"));
        sql.exec(&format!("INSERT INTO {db}.dup_{s} VALUES (10, 'e', {s})"));
    }
    wait_for("the added column's values in the target", Duration::from_secs(30), || {
        let got: Vec<(String, Option<i64>)> = maria2
            .try_rows(&format!("SELECT src, w FROM {db}.dup WHERE id = 10 ORDER BY src"))
            .ok()?
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        (got == [(format!("{db}.dup_0"), Some(0)), (format!("{db}.dup_1"), Some(1))]).then_some(())
    });
    let key: Vec<String> = maria2
        .rows(&format!(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = '{db}' \
             AND TABLE_NAME = 'dup' AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION"
        ))
        .into_iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(key, ["id", "src"], "the shard column is part of the key");
}

#[test]
fn a_target_with_another_unique_key_is_applied_in_order_on_one_connection() {
    let (services, node, mut sql, db) = common::setup("dbuniq");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.uq (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE)"));
    // The target exists with the unique key: rows of two keys may wait for each other there.
    let mut maria2 = Sql::mysql2(&services);
    maria2.exec(&format!("CREATE DATABASE {db}"));
    maria2.exec(&format!("CREATE TABLE {db}.uq (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE)"));
    node.register_sources(&services);
    register_targets(&node, &services);
    let name = format!("{db}_p");
    node.start_project(json!({"name": name, "source": "maria", "destination": "maria2",
        "objects": [{"database": db}], "start": {"file": start.0, "pos": start.1}}));
    // Each email moves from one id to another, many times in one commit group.
    sql.exec(&format!("INSERT INTO {db}.uq VALUES (1, 'e0'), (2, 'e1'), (3, 'e2')"));
    for k in 1..=300 {
        sql.exec("BEGIN");
        sql.exec(&format!("DELETE FROM {db}.uq WHERE id = {k}"));
        sql.exec(&format!("INSERT INTO {db}.uq VALUES ({}, 'e{}')", k + 3, (k - 1) % 3));
        sql.exec("COMMIT");
    }
    let want: Vec<(i64, String)> = sql
        .rows(&format!("SELECT id, email FROM {db}.uq ORDER BY id"))
        .into_iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(want.len(), 3);
    wait_for("the target to end where the source is", Duration::from_secs(60), || {
        let got: Vec<(i64, String)> = maria2
            .try_rows(&format!("SELECT id, email FROM {db}.uq ORDER BY id"))
            .ok()?
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        (got == want).then_some(())
    });
}

#[test]
fn ddl_is_replayed_on_the_target_once_for_all_its_shards() {
    let (services, node, mut sql, db) = common::setup("dbddl");
    let start = sql.position();
    for s in 0..2 {
        sql.exec(&format!("CREATE TABLE {db}.s_{s} (id INT PRIMARY KEY, v VARCHAR(10), old INT, gone INT)"));
    }
    sql.exec(&format!("CREATE TABLE {db}.solo (id INT PRIMARY KEY, a INT, b INT)"));
    node.register_sources(&services);
    register_targets(&node, &services);
    let name = format!("{db}_p");
    node.start_project(json!({"name": name, "source": "maria",
        "connectors": [{"id": "ob", "destination": "seekdb"}, {"id": "m2", "destination": "maria2"}],
        "objects": [{"database": db, "tables": ["s_*", "solo"]}],
        "routes": [{"from": format!("{db}.s_*"), "to": format!("{db}.s")}],
        "start": {"file": start.0, "pos": start.1}}));
    // Shard s holds the ids that are s modulo 2.
    sql.exec(&format!("INSERT INTO {db}.s_0 VALUES (0, 'a', 1, 1), (2, 'b', 2, 2)"));
    sql.exec(&format!("INSERT INTO {db}.s_1 VALUES (1, 'c', 3, 3), (3, 'd', 4, 4)"));
    sql.exec(&format!("INSERT INTO {db}.solo VALUES (1, 10, 20)"));
    let alter = "MODIFY v VARCHAR(40), ADD COLUMN extra INT DEFAULT 7 AFTER v, CHANGE old renamed INT, \
                 DROP COLUMN gone, ADD INDEX ix_v (v), ALGORITHM=INPLACE";
    sql.exec(&format!("ALTER TABLE {db}.s_0 {alter}"));
    sql.exec(&format!(
        "INSERT INTO {db}.s_0 (id, v, extra, renamed) VALUES (4, 'a value longer than ten', 8, 5)"
    ));
    sql.exec(&format!("UPDATE {db}.s_0 SET renamed = 6 WHERE id = 0"));
    // The other shard has not run it yet: its values of the renamed column land in it.
    sql.exec(&format!("INSERT INTO {db}.s_1 VALUES (5, 'e', 9, 9)"));
    sql.exec(&format!("UPDATE {db}.s_1 SET old = 10 WHERE id = 1"));
    sql.exec(&format!("ALTER TABLE {db}.s_1 {alter}"));
    sql.exec(&format!(
        "INSERT INTO {db}.s_1 (id, v, extra, renamed) VALUES (7, 'another value past ten', 11, 12)"
    ));
    for s in 0..2 {
        sql.exec(&format!("CREATE INDEX ix_r ON {db}.s_{s} (renamed)"));
    }
    for s in 0..2 {
        sql.exec(&format!("ALTER TABLE {db}.s_{s} DROP INDEX ix_v"));
    }
    // A table of its own follows each statement.
    sql.exec(&format!("ALTER TABLE {db}.solo DROP COLUMN a"));
    sql.exec(&format!("ALTER TABLE {db}.solo CHANGE b c BIGINT"));
    sql.exec(&format!("INSERT INTO {db}.solo VALUES (2, 5000000000)"));

    let union = format!(
        "SELECT * FROM (SELECT id, v, extra, renamed FROM {db}.s_0 UNION ALL SELECT id, v, extra, renamed FROM {db}.s_1) u"
    );
    let want = rows(&mut sql, &union).unwrap();
    assert_eq!(want.len(), 7);
    let want_solo = rows(&mut sql, &format!("SELECT id, c FROM {db}.solo")).unwrap();
    let (mut seekdb, mut maria2) = (Sql::seekdb(&services), Sql::mysql2(&services));
    for (what, target) in [("seekdb", &mut seekdb), ("the second MariaDB", &mut maria2)] {
        wait_for(&format!("the shards' rows in {what}"), Duration::from_secs(60), || {
            let got = rows(target, &format!("SELECT id, v, extra, renamed FROM {db}.s")).ok()?;
            let solo = rows(target, &format!("SELECT id, c FROM {db}.solo")).ok()?;
            (got == want && solo == want_solo).then_some(())
        });
        let columns = |target: &mut Sql, table: &str| -> Vec<String> {
            target
                .rows(&format!(
                    "SELECT CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
                ))
                .into_iter()
                .map(|r| {
                    r.get::<String, _>(0).unwrap().replace("int(11)", "int").replace("bigint(20)", "bigint")
                })
                .collect()
        };
        assert_eq!(columns(target, "s"), ["id int", "v varchar(40)", "extra int", "renamed int"], "{what}");
        assert_eq!(columns(target, "solo"), ["id int", "c bigint"], "{what}");
        let mut indexes: Vec<String> = target
            .rows(&format!(
                "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 's'"
            ))
            .into_iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        indexes.sort();
        assert_eq!(indexes, ["PRIMARY", "ix_r"], "{what}");
        // Each shard statement ran once; the other shard's was recognised.
        let replays: Vec<(String, i64, i64)> = target
            .rows(&format!(
                "SELECT statement, CAST(SUM(applied) AS SIGNED), COUNT(*) FROM __ferry.ddl \
                 WHERE project = '{name}' AND target = '{db}.s' GROUP BY statement ORDER BY MIN(at)"
            ))
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect();
        assert_eq!(replays.len(), 3, "{what}: {replays:?}");
        assert!(
            replays[0].0.starts_with(&format!("ALTER TABLE `{db}`.`s` MODIFY v VARCHAR(40)")),
            "{replays:?}"
        );
        assert!(!replays[0].0.contains("ALGORITHM"), "{replays:?}");
        assert!(replays.iter().all(|(_, applied, seen)| (*applied, *seen) == (1, 2)), "{what}: {replays:?}");
    }
    let (_, p) = node.get(&format!("/projects/{name}"));
    assert_eq!(p["state"], "running", "{p}");
}
