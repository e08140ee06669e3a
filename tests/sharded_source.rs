//! Proves: a sharded (`dbp`) data source of two MariaDB instances, each holding 8 shards of
//! `orders` and 4 of `users`, is checked against the instances when registered (missing, extra
//! and doubled shards refused by name); a project reading it runs a store per instance and lands
//! every shard's changes in one table per logical table, in seekdb and in a MariaDB, row for
//! row, value for value, under a random workload of inserts, updates (also of the key) and
//! deletes on every shard of both instances; an ALTER and an index on every shard of `users`
//! under that load reach each target once per instance at most; a kill -9 of the node in the
//! middle of that load changes nothing in the result.

mod common;

use common::{text, wait_for, Rng, Rows, Services, Sql};
use serde_json::{json, Value};
use std::time::Duration;

const ORDERS: &str =
    "id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), created DATETIME(6), note TEXT";
const USERS: &str = "id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(60), score INT";

/// Shard databases `<db>_00` and `<db>_01` are on the first instance, `<db>_02` and `<db>_03`
/// on the second; each holds `orders_0..3` and `users_0..1`.
const DATABASES: [&str; 4] = ["00", "01", "02", "03"];
const ORDER_TABLES: u64 = 4;
const USER_TABLES: u64 = 2;

/// The shard index of `<db>_<d>.orders_<t>` (0..16) and of `<db>_<d>.users_<t>` (0..8): shard
/// `s` holds the ids that are `s` modulo the number of shards, also after a key change, so a
/// key lives in one shard.
fn shard(d: usize, t: u64, per_db: u64) -> u64 {
    d as u64 * per_db + t
}

fn rows(sql: &mut Sql, query: &str) -> Result<Rows, mysql_async::Error> {
    let rows = sql.try_rows(query)?;
    Ok(rows.into_iter().map(|r| r.unwrap().into_iter().map(text).collect()).collect())
}

/// The columns compared, `id` first.
fn columns(table: &str) -> &'static str {
    match table {
        "orders" => "id, name, amount, created, note",
        _ => "id, email, score",
    }
}

/// Every row of every shard of `table` on both instances, sorted by id.
fn source_rows(a: &mut Sql, b: &mut Sql, db: &str, table: &str) -> Rows {
    let per_db = if table == "orders" { ORDER_TABLES } else { USER_TABLES };
    let mut all = Vec::new();
    for (i, d) in DATABASES.iter().enumerate() {
        let sql = if i < 2 { &mut *a } else { &mut *b };
        for t in 0..per_db {
            let query = format!("SELECT {} FROM {db}_{d}.{table}_{t}", columns(table));
            all.extend(rows(sql, &query).expect("a shard's rows"));
        }
    }
    all.sort_by_key(|r| r[0].as_deref().and_then(|id| id.parse::<i64>().ok()));
    all
}

/// The target's rows of logical table `table`, sorted by id; none while it is missing.
fn target_rows(sql: &mut Sql, db: &str, table: &str) -> Option<Rows> {
    rows(sql, &format!("SELECT {} FROM {db}.{table} ORDER BY id", columns(table))).ok()
}

/// Waits until `target` holds exactly the union of the shards of both logical tables.
fn wait_equal(a: &mut Sql, b: &mut Sql, target: &mut Sql, db: &str, what: &str) -> usize {
    let mut total = 0;
    for table in ["orders", "users"] {
        let want = source_rows(a, b, db, table);
        let mut last = None;
        let start = std::time::Instant::now();
        let mut equal = false;
        while start.elapsed() < Duration::from_secs(120) {
            let got = target_rows(target, db, table);
            equal = got.as_ref() == Some(&want);
            last = got;
            if equal {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        if !equal {
            let got = last.unwrap_or_default();
            let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(3).collect();
            let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(3).collect();
            panic!(
                "{what}, {table}: {} rows in the shards, {} in the target; missing {missing:?}; extra or different {extra:?}",
                want.len(),
                got.len()
            );
        }
        total += want.len();
    }
    total
}

/// `transactions` transactions on the shards of databases `dbs` (indexes into [`DATABASES`]):
/// inserts, updates (some moving the key within its shard) and deletes of orders and users.
/// Each `phase` inserts ids of its own.
fn workload(sql: &mut Sql, db: &str, dbs: [usize; 2], phase: u64, seed: u64, transactions: usize) {
    let mut rng = Rng(seed);
    // The next id of each shard: shard s of n starts at s + n * 1M * (phase + 1), steps by n.
    let mut next: std::collections::HashMap<(usize, u64, &str), u64> = Default::default();
    for _ in 0..transactions {
        sql.exec("BEGIN");
        for _ in 0..1 + rng.next(4) {
            let d = dbs[rng.next(2) as usize];
            let (table, per_db, shards) = match rng.next(3) {
                0 => ("users", USER_TABLES, USER_TABLES * 4),
                _ => ("orders", ORDER_TABLES, ORDER_TABLES * 4),
            };
            let t = rng.next(per_db);
            let s = shard(d, t, per_db);
            let name = format!("{db}_{}.{table}_{t}", DATABASES[d]);
            match rng.next(10) {
                0..=4 => {
                    let values: Vec<String> = (0..1 + rng.next(10))
                        .map(|_| {
                            let id = next.entry((d, t, table)).or_insert(s + shards * 1_000_000 * (phase + 1));
                            let this = *id;
                            *id += shards;
                            match table {
                                "orders" => format!(
                                    "({this}, 'o{this} ü😀', {}.{:02}, '2024-05-06 07:08:09.{:06}', REPEAT('text ', {}))",
                                    rng.next(100_000),
                                    rng.next(100),
                                    rng.next(1_000_000),
                                    rng.next(30)
                                ),
                                _ => format!("({this}, 'u{this}@example.com', {})", rng.next(1000)),
                            }
                        })
                        .collect();
                    sql.exec(&format!("INSERT INTO {name} VALUES {}", values.join(",")));
                }
                5..=6 => {
                    let set = match table {
                        "orders" => "amount = amount + 1, name = CONCAT(LEFT(name, 30), 'u')",
                        _ => "score = score + 1",
                    };
                    sql.exec(&format!(
                        "UPDATE {name} SET {set} WHERE id % 7 = {} ORDER BY id LIMIT {}",
                        rng.next(7),
                        1 + rng.next(5)
                    ))
                }
                // A key change stays in the shard: the id moves by a multiple of the shards, once.
                7 => sql.exec(&format!(
                    "UPDATE {name} SET id = id + {} WHERE id < {} AND id % 5 = {} ORDER BY id LIMIT 2",
                    shards * 100_000_000,
                    shards * 50_000_000,
                    rng.next(5)
                )),
                _ => sql
                    .exec(&format!("DELETE FROM {name} WHERE id % 9 = {} ORDER BY id LIMIT 2", rng.next(9))),
            }
        }
        sql.exec("COMMIT");
    }
}

/// The shard databases and tables on both instances (`a` the first, `b` the second).
fn create_shards(a: &mut Sql, b: &mut Sql, db: &str) {
    for (i, d) in DATABASES.iter().enumerate() {
        let sql = if i < 2 { &mut *a } else { &mut *b };
        sql.exec(&format!("CREATE DATABASE {db}_{d} CHARACTER SET utf8mb4"));
        for t in 0..ORDER_TABLES {
            sql.exec(&format!("CREATE TABLE {db}_{d}.orders_{t} ({ORDERS})"));
        }
        for t in 0..USER_TABLES {
            sql.exec(&format!("CREATE TABLE {db}_{d}.users_{t} ({USERS})"));
        }
    }
}

/// The second MariaDB as a source instance (the replication user).
fn instance_b(services: &Services, name: &str) -> Value {
    json!({"name": name, "type": "mysql", "host": "127.0.0.1", "port": services.mysql2_port,
           "user": services.user, "password": services.password})
}

fn dbp(name: &str, db: &str, orders: &str) -> Value {
    json!({"name": name, "type": "dbp", "instances": ["maria", "maria_b"],
           "tables": [{"logical": format!("{db}.orders"), "physical": orders},
                      {"logical": format!("{db}.users"), "physical": format!("{db}_{{00..03}}.users_{{0..1}}")}]})
}

#[test]
fn shards_of_two_instances_land_in_one_table_each_also_across_kill9() {
    let (services, mut node, mut a, db) = common::setup("dbp");
    let mut b = Sql::mysql2(&services);
    create_shards(&mut a, &mut b, &db);
    node.register_sources(&services);
    node.ok("/datasources", instance_b(&services, "maria_b"), 201);
    node.ok("/datasources", services.seekdb_destination("seekdb"), 201);
    node.ok("/datasources", services.mysql2_destination("maria2"), 201);

    // Registering checks every pattern against the instances.
    let orders = format!("{db}_{{00..03}}.orders_{{0..3}}");
    let (status, body) =
        node.post("/datasources", dbp("bad", &db, &format!("{db}_{{00..03}}.orders_{{0..4}}")));
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(&format!("{db}_03.orders_4")) && message.contains("missing"), "{body}");
    a.exec(&format!("CREATE TABLE {db}_01.orders_7 ({ORDERS})"));
    b.exec(&format!("CREATE DATABASE {db}_01"));
    b.exec(&format!("CREATE TABLE {db}_01.orders_2 ({ORDERS})"));
    let (status, body) = node.post("/datasources", dbp("bad", &db, &orders));
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(&format!("maria:{db}_01.orders_7")), "an extra shard by name: {body}");
    assert!(message.contains(&format!("{db}_01.orders_2 (maria, maria_b)")), "a doubled shard: {body}");
    a.exec(&format!("DROP TABLE {db}_01.orders_7"));
    b.exec(&format!("DROP DATABASE {db}_01"));
    let created = node.ok("/datasources", dbp("shop", &db, &orders), 201);
    assert_eq!(created["type"], "dbp", "{created}");
    assert_eq!(created["shards"]["maria_b"].as_array().map(Vec::len), Some(12), "{created}");

    // A project can start only from now or a time on a sharded source.
    let project = |name: &str, start: Value| {
        json!({"name": name, "source": "shop", "objects": [{"database": db}], "start": start,
               "connectors": [{"id": "ob", "destination": "seekdb"}, {"id": "m2", "destination": "maria2"}]})
    };
    let (status, body) = node.post("/projects", project("p_pos", json!({"file": "bin.000001", "pos": 4})));
    assert_eq!(status, 400, "{body}");
    let name = format!("{db}_p");
    node.start_project(project(&name, json!({"from": "now"})));
    let running = node.wait_project(&name, Duration::from_secs(30), |p| {
        p["instances"].as_array().is_some_and(|i| i.iter().all(|i| i["store_position"].is_object()))
    });
    assert_eq!(running["instances"].as_array().unwrap().len(), 2, "{running}");

    let load = |dbs: [usize; 2], phase: u64, seed: u64, transactions: usize| {
        let (services, db) = (services.clone(), db.clone());
        std::thread::spawn(move || {
            let mut sql = if dbs[0] < 2 { Sql::connect(&services) } else { Sql::mysql2(&services) };
            workload(&mut sql, &db, dbs, phase, seed, transactions)
        })
    };
    let loads = [load([0, 1], 0, 7, 200), load([2, 3], 0, 13, 200)];
    for l in loads {
        l.join().unwrap();
    }
    let (mut seekdb, mut maria2) = (Sql::seekdb(&services), Sql::mysql2(&services));
    let n = wait_equal(&mut a, &mut b, &mut seekdb, &db, "seekdb");
    assert!(n > 300, "the workload leaves rows behind: {n}");
    wait_equal(&mut a, &mut b, &mut maria2, &db, "the MariaDB target");
    let p = node.wait_project(&name, Duration::from_secs(30), |p| {
        p["instances"].as_array().is_some_and(|i| {
            i.iter().all(|i| i["connectors"].as_array().unwrap().iter().all(|c| c["rows"].as_u64() > Some(0)))
        })
    });
    assert!(p["sync_timestamp"].as_u64().is_some(), "{p}");
    assert!(p["rows"].as_u64().unwrap() > 0, "{p}");

    // A kill -9 in the middle of a load on both instances changes nothing in the result.
    let before = target_rows(&mut seekdb, &db, "orders").unwrap_or_default().len();
    let loads = [load([0, 1], 1, 17, 1000), load([2, 3], 1, 19, 1000)];
    // DDL on every shard of `users` on both instances, under the load: replayed on each target
    // once (or once per instance when both arrive at once).
    for (i, d) in DATABASES.iter().enumerate() {
        let sql = if i < 2 { &mut a } else { &mut b };
        for t in 0..USER_TABLES {
            let table = format!("{db}_{d}.users_{t}");
            sql.exec(&format!("ALTER TABLE {table} MODIFY email VARCHAR(120), ADD INDEX ix_score (score)"));
            let id = shard(i, t, USER_TABLES) + 1_600_000_000;
            sql.exec(&format!("INSERT INTO {table} VALUES ({id}, CONCAT(REPEAT('e', 100), '@x.org'), 1)"));
        }
    }
    wait_for("more rows in the target before the kill", Duration::from_secs(60), || {
        target_rows(&mut seekdb, &db, "orders").filter(|r| r.len() > before + 50).map(|_| ())
    });
    assert!(loads.iter().any(|l| !l.is_finished()), "the kill lands in the middle of the load");
    node.kill9();
    node.restart();
    for l in loads {
        l.join().unwrap();
    }
    wait_equal(&mut a, &mut b, &mut seekdb, &db, "seekdb after kill -9");
    wait_equal(&mut a, &mut b, &mut maria2, &db, "the MariaDB target after kill -9");
    for (what, target) in [("seekdb", &mut seekdb), ("the MariaDB target", &mut maria2)] {
        let email: String = target
            .rows(&format!(
                "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' \
                 AND TABLE_NAME = 'users' AND COLUMN_NAME = 'email'"
            ))
            .pop()
            .and_then(|r| r.get(0))
            .unwrap_or_default();
        assert_eq!(email, "varchar(120)", "{what}");
        let index = target.rows(&format!(
            "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'users' \
             AND INDEX_NAME = 'ix_score'"
        ));
        assert!(!index.is_empty(), "{what}: the index added on the shards");
        let (applied, seen): (i64, i64) = target
            .rows(&format!(
                "SELECT CAST(SUM(applied) AS SIGNED), COUNT(*) FROM __ferry.ddl WHERE project = '{name}' \
                 AND target = '{db}.users'"
            ))
            .pop()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .unwrap();
        assert_eq!(seen, 8, "{what}: each shard's statement recorded once, also across the kill");
        assert!((1..=2).contains(&applied), "{what}: run {applied} times for 8 shards on 2 instances");
    }
}

/// Starts a verification of `name` and waits until it is done.
fn verify(node: &common::Node, name: &str, body: Value) -> Value {
    let (status, report) = node.post(&format!("/projects/{name}/verify"), body);
    assert_eq!(status, 202, "{report}");
    let report = wait_for("the verification to end", Duration::from_secs(120), || {
        let (status, report) = node.get(&format!("/projects/{name}/verify"));
        assert_eq!(status, 200, "{report}");
        (report["state"] != "running").then_some(report)
    });
    assert_eq!(report["state"], "done", "{report:#}");
    report
}

#[test]
fn colliding_shards_of_two_instances_are_reported_and_a_changed_row_is_repaired() {
    let (services, node, mut a, db) = common::setup("dbpverify");
    let mut b = Sql::mysql2(&services);
    // `<db>_0.dup` on the first instance, `<db>_1.dup` on the second.
    a.exec(&format!("CREATE DATABASE {db}_0"));
    b.exec(&format!("CREATE DATABASE {db}_1"));
    for (sql, s) in [(&mut a, 0), (&mut b, 1)] {
        sql.exec(&format!("CREATE TABLE {db}_{s}.dup (id INT NOT NULL PRIMARY KEY, v VARCHAR(20))"));
    }
    node.register_sources(&services);
    node.ok("/datasources", instance_b(&services, "maria_b"), 201);
    node.ok("/datasources", services.seekdb_destination("seekdb"), 201);
    node.ok(
        "/datasources",
        json!({"name": "shop", "type": "dbp", "instances": ["maria", "maria_b"],
               "tables": [{"logical": format!("{db}.dup"), "physical": format!("{db}_{{0..1}}.dup")}]}),
        201,
    );
    let name = format!("{db}_p");
    node.start_project(json!({"name": name, "source": "shop", "destination": "seekdb",
        "objects": [{"database": db}], "start": {"from": "now"}}));
    node.wait_project(&name, Duration::from_secs(30), |p| {
        p["instances"].as_array().is_some_and(|i| i.iter().all(|i| i["store_position"].is_object()))
    });
    a.exec(&format!("INSERT INTO {db}_0.dup VALUES (1, 'a'), (2, 'b'), (3, 'c')"));
    // Ids 2 and 3 also in the other instance's shard: they land on the same target rows.
    b.exec(&format!("INSERT INTO {db}_1.dup VALUES (2, 'x'), (3, 'y'), (4, 'd')"));
    let mut seekdb = Sql::seekdb(&services);
    wait_for("every id in the target", Duration::from_secs(60), || {
        let n: i64 = seekdb.try_rows(&format!("SELECT COUNT(*) FROM {db}.dup")).ok()?.pop()?.get(0)?;
        (n == 4).then_some(())
    });
    let report = verify(&node, &name, json!({}));
    let table = &report["tables"][0];
    assert_eq!(table["collisions"], 2, "{table}");
    let shards = json!([format!("maria:{db}_0.dup"), format!("maria_b:{db}_1.dup")]);
    assert_eq!(
        table["collision_keys"],
        json!([{"key": [2], "shards": shards}, {"key": [3], "shards": shards}]),
        "{table}"
    );

    // Without the collisions (the second instance's ids 2 and 3 gone, the first's written
    // again), a row changed behind Ferry's back is found and repaired.
    b.exec(&format!("DELETE FROM {db}_1.dup WHERE id IN (2, 3)"));
    // (Changes of one key on two instances have no order between them: one after the other.)
    wait_for("the deletes in the target", Duration::from_secs(60), || {
        let n: i64 = seekdb.try_rows(&format!("SELECT COUNT(*) FROM {db}.dup")).ok()?.pop()?.get(0)?;
        (n == 2).then_some(())
    });
    a.exec(&format!("UPDATE {db}_0.dup SET v = CONCAT(v, '2') WHERE id IN (2, 3)"));
    wait_for("the first instance's rows in the target", Duration::from_secs(60), || {
        let rows = seekdb.try_rows(&format!("SELECT v FROM {db}.dup WHERE id IN (2, 3) ORDER BY id")).ok()?;
        let values: Vec<String> = rows.into_iter().map(|r| r.get(0).unwrap()).collect();
        (values == ["b2", "c2"]).then_some(())
    });
    let report = verify(&node, &name, json!({}));
    assert_eq!((report["matched"].as_u64(), report["different"].as_u64()), (Some(4), Some(0)), "{report:#}");
    assert_eq!(report["tables"][0]["collisions"], 0, "{report:#}");
    seekdb.exec(&format!("UPDATE {db}.dup SET v = 'changed' WHERE id = 4"));
    let report = verify(&node, &name, json!({"repair": true}));
    assert_eq!(report["tables"][0]["different_keys"], json!([[4]]), "{report:#}");
    assert_eq!(report["repair"]["applied"].as_u64(), Some(1), "{report:#}");
    let v: String =
        seekdb.rows(&format!("SELECT v FROM {db}.dup WHERE id = 4")).pop().unwrap().get(0).unwrap();
    assert_eq!(v, "d", "the repair wrote the source's row back");
    let report = verify(&node, &name, json!({}));
    assert_eq!(report["different"], 0, "{report:#}");
}
