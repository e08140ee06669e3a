//! Proves: a project reading a sharded (`dbp`) source of two MariaDB instances, writing into
//! seekdb, survives a kill -9 of its node mid-load: another node starts both instances' stores
//! from their replicated checkpoints and schema histories, and the target ends equal to the
//! union of the shards, row for row.

use ferry_drills::common::cluster::Cluster;
use ferry_drills::common::{text, unique, Rng, Rows, Services, Sql};
use serde_json::json;
use std::time::{Duration, Instant};

const SHARDS_PER_INSTANCE: u64 = 4;

/// The shards `<db>_<i>.orders_<t>`: instance `i` (0 or 1) holds tables `t` of it.
fn shard(db: &str, instance: u64, t: u64) -> String {
    format!("{db}_{instance}.orders_{t}")
}

/// Transactions of inserts, updates and deletes on instance `i`'s shards; shard (i, t) holds
/// the ids that are `i * SHARDS + t` modulo `2 * SHARDS`, so a key lives in one shard.
fn workload(services: &Services, db: &str, instance: u64, transactions: usize) {
    let mut sql = if instance == 0 { Sql::connect(services) } else { Sql::mysql2(services) };
    let mut rng = Rng(instance * 31 + 7);
    let n = 2 * SHARDS_PER_INSTANCE;
    let mut next = [0u64; SHARDS_PER_INSTANCE as usize];
    for _ in 0..transactions {
        let t = rng.next(SHARDS_PER_INSTANCE);
        let table = shard(db, instance, t);
        sql.exec("BEGIN");
        for _ in 0..1 + rng.next(5) {
            match rng.next(10) {
                0..=5 => {
                    let k = &mut next[t as usize];
                    *k += 1;
                    let id = *k * n + instance * SHARDS_PER_INSTANCE + t;
                    sql.exec(&format!("INSERT INTO {table} VALUES ({id}, 'v{id}', {})", rng.next(1000)));
                }
                6..=8 => sql.exec(&format!(
                    "UPDATE {table} SET n = n + 1, v = CONCAT(LEFT(v, 30), 'u') WHERE id % 7 = {} LIMIT 3",
                    rng.next(7)
                )),
                _ => sql.exec(&format!("DELETE FROM {table} WHERE id % 11 = {} LIMIT 2", rng.next(11))),
            }
        }
        sql.exec("COMMIT");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn rows(sql: &mut Sql, query: &str) -> Option<Rows> {
    let rows = sql.try_rows(query).ok()?;
    Some(rows.into_iter().map(|r| r.unwrap().into_iter().map(text).collect()).collect())
}

#[test]
fn kill9_of_a_sharded_projects_node_resumes_every_instance_on_another_node() {
    let services = Services::from_env();
    let mut cluster = Cluster::start("kill9dbp", 3);
    let (mut a, mut b) = (Sql::connect(&services), Sql::mysql2(&services));
    let db = unique("kill9dbp");
    for (instance, sql) in [(0, &mut a), (1, &mut b)] {
        sql.exec(&format!("CREATE DATABASE {db}_{instance}"));
        for t in 0..SHARDS_PER_INSTANCE {
            sql.exec(&format!(
                "CREATE TABLE {} (id BIGINT PRIMARY KEY, v VARCHAR(40), n INT)",
                shard(&db, instance, t)
            ));
        }
    }
    let api = cluster.any();
    cluster.ok(api, "/datasources", services.mysql_source("maria"), 201);
    let instance_b = json!({"name": "maria_b", "type": "mysql", "host": "127.0.0.1",
        "port": services.mysql2_port, "user": services.user, "password": services.password});
    cluster.ok(api, "/datasources", instance_b, 201);
    cluster.ok(api, "/datasources", services.seekdb_destination("seekdb"), 201);
    let physical = format!("{db}_{{0..1}}.orders_{{0..{}}}", SHARDS_PER_INSTANCE - 1);
    cluster.ok(
        api,
        "/datasources",
        json!({"name": "shop", "type": "dbp", "instances": ["maria", "maria_b"],
               "tables": [{"logical": format!("{db}.orders"), "physical": physical}]}),
        201,
    );
    cluster.ok(
        api,
        "/projects",
        json!({"name": "sharded", "source": "shop", "destination": "seekdb",
               "objects": [{"database": db}], "start": {"from": "now"},
               "options": {"checkpoint_interval_ms": 200}}),
        201,
    );
    cluster.ok(api, "/projects/sharded/start", json!({}), 200);
    let running = |p: &serde_json::Value| {
        p["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 2 && i.iter().all(|i| i["store_position"].is_object()))
    };
    let p = cluster.wait_project("sharded", Duration::from_secs(30), running);
    let (node, epoch) = (p["node"].as_u64().unwrap(), p["epoch"].as_u64().unwrap());

    let loads: Vec<_> = (0..2)
        .map(|instance| {
            let (services, db) = (services.clone(), db.clone());
            std::thread::spawn(move || workload(&services, &db, instance, 600))
        })
        .collect();
    let mut seekdb = Sql::seekdb(&services);
    let target = format!("SELECT id, v, n FROM {db}.orders ORDER BY id");
    let start = Instant::now();
    while rows(&mut seekdb, &target).is_none_or(|r| r.len() < 200) {
        assert!(start.elapsed() < Duration::from_secs(60), "rows in the target before the kill");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(loads.iter().any(|l| !l.is_finished()), "the kill lands in the middle of the load");
    cluster.kill9(node);
    let moved = cluster.wait_project("sharded", Duration::from_secs(30), |p| {
        p["node"].as_u64().is_some_and(|n| n != node) && p["epoch"].as_u64() > Some(epoch) && running(p)
    });
    for l in loads {
        l.join().unwrap();
    }

    let mut want: Rows = Vec::new();
    for (instance, sql) in [(0, &mut a), (1, &mut b)] {
        for t in 0..SHARDS_PER_INSTANCE {
            want.extend(rows(sql, &format!("SELECT id, v, n FROM {}", shard(&db, instance, t))).unwrap());
        }
    }
    want.sort_by_key(|r| r[0].as_deref().and_then(|id| id.parse::<i64>().ok()));
    let start = Instant::now();
    let mut got = None;
    while start.elapsed() < Duration::from_secs(120) {
        got = rows(&mut seekdb, &target);
        if got.as_ref() == Some(&want) {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let got = got.unwrap_or_default();
    assert!(
        got == want,
        "after the move to node {}: {} rows in the shards, {} in the target; first missing {:?}, first extra or different {:?}",
        moved["node"],
        want.len(),
        got.len(),
        want.iter().find(|r| !got.contains(r)),
        got.iter().find(|r| !want.contains(r)),
    );
    eprintln!(
        "DRILL kill9dbp: killed_node={node} moved_to={} epochs={epoch}->{} rows={}",
        moved["node"],
        moved["epoch"],
        want.len()
    );
}
