//! Proves: changes the row stream cannot carry faithfully are never passed over nor published
//! early. A change to a synced table logged as a statement (binlog_format=STATEMENT/MIXED)
//! fails the project naming the table, the position and the fix; XA transactions go out at
//! `XA COMMIT`, never after `XA ROLLBACK`, also when the node restarts between prepare and commit.
//! A binlog dump evicted by another replica with the same server id says so (not "purged").

mod common;

use common::{ids, read_topic, Sql};
use serde_json::json;
use std::time::Duration;

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

#[test]
fn a_change_logged_as_a_statement_fails_the_project_naming_it() {
    let (services, node, mut sql, db) = common::setup("stmt");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"));
    sql.exec(&format!("CREATE TABLE {db}.other (id INT PRIMARY KEY, v INT)"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "stmt", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "tables": ["t"], "topic": "{database}.{table}"}],
        "format": "default", "start": {"file": start.0, "pos": start.1}
    }));

    sql.exec(&format!("INSERT INTO {db}.t VALUES (1, 1)"));
    // A statement-logged change to a table the project does not sync is none of its business.
    sql.exec("SET SESSION binlog_format = STATEMENT");
    sql.exec(&format!("INSERT INTO {db}.other VALUES (1, 1)"));
    sql.exec("SET SESSION binlog_format = ROW");
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, 2)"));
    let topic = format!("{db}.t");
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 2);
    assert_eq!(sorted(ids(&msgs)), vec![1, 2]);

    let at = sql.position();
    sql.exec("SET SESSION binlog_format = MIXED");
    sql.exec(&format!("UPDATE {db}.t SET v = 3 WHERE id = 2"));
    sql.exec("SET SESSION binlog_format = ROW");
    let failed = node.wait_project("stmt", Duration::from_secs(30), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&format!("table {db}.t")), "{error}");
    assert!(error.contains("logged as a statement"), "{error}");
    assert!(error.contains(&format!("{}:", at.0)), "names the position: {error}");
    assert!(error.contains("binlog_format=ROW"), "names the fix: {error}");
    assert!(error.contains("UPDATE"), "quotes the statement: {error}");
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(3), |m| m.len() > 2);
    assert_eq!(sorted(ids(&msgs)), vec![1, 2], "nothing was published for the statement");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn xa_changes_go_out_at_commit_and_never_after_rollback() {
    let (services, mut node, mut sql, db) = common::setup("xa");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "xa", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "partition": "one", "start": {"file": start.0, "pos": start.1}
    }));
    let topic = format!("{db}.t");
    // Each XA transaction is prepared on a connection of its own, which then goes away (a
    // session with a prepared transaction can do nothing else); any session may commit it.
    let xa = |_: &mut Sql, xid: &str, id: i64| {
        let xid = format!("{db}_{xid}");
        let mut sql = Sql::connect(&services);
        sql.exec(&format!("XA START '{xid}'"));
        sql.exec(&format!("INSERT INTO {db}.t VALUES ({id}, {id})"));
        sql.exec(&format!("XA END '{xid}'"));
        sql.exec(&format!("XA PREPARE '{xid}'"));
    };
    // The server detaches a prepared transaction from its closed session a moment after the
    // disconnect: until then another session gets XAER_NOTA (1397).
    let finish = |sql: &mut Sql, verb: &str, xid: &str| {
        let q = format!("XA {verb} '{db}_{xid}'");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match sql.try_exec(&q) {
                Ok(()) => return,
                Err(mysql_async::Error::Server(e))
                    if e.code == 1397 && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("{q}: {e}"),
            }
        }
    };

    xa(&mut sql, "x1", 1);
    sql.exec(&format!("INSERT INTO {db}.t VALUES (2, 2)"));
    xa(&mut sql, "x2", 3);
    finish(&mut sql, "ROLLBACK", "x2");
    sql.exec(&format!("INSERT INTO {db}.t VALUES (4, 4)"));
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 2);
    assert_eq!(ids(&msgs), vec![2, 4], "prepared changes wait for their commit; rolled back ones never go");
    // The status says what is held, and since when.
    let p = node.wait_project("xa", Duration::from_secs(10), |p| !p["store_status"]["xa_prepared"].is_null());
    let held = &p["store_status"]["xa_prepared"];
    assert_eq!(
        (held["transactions"].as_u64(), held["oldest_xid"].as_str()),
        (Some(1), Some(&*format!("{db}_x1")))
    );
    assert!(held["oldest_prepared_at"].as_u64() > Some(1_700_000_000), "{held}");
    finish(&mut sql, "COMMIT", "x1");
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| m.len() >= 3);
    assert_eq!(ids(&msgs), vec![2, 4, 1], "x1 goes out at its commit");
    node.wait_project("xa", Duration::from_secs(10), |p| p["store_status"]["xa_prepared"].is_null());

    // Prepared, then the node dies after a later transaction went out: the restart must read
    // the prepared rows again.
    xa(&mut sql, "x3", 5);
    sql.exec(&format!("INSERT INTO {db}.t VALUES (6, 6)"));
    read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| ids(m).contains(&6));
    node.wait_project("xa", Duration::from_secs(30), |p| p["rows"].as_u64() >= Some(4));
    node.kill9();
    node.restart();
    node.wait_project("xa", Duration::from_secs(30), |p| p["state"] == "running");
    finish(&mut sql, "COMMIT", "x3");
    let msgs = read_topic(&services.kafka, &topic, Duration::from_secs(30), |m| ids(m).contains(&5));
    let seen = ids(&msgs);
    assert!(seen.contains(&5), "x3's row survived the restart: {seen:?}");
    assert!(!seen.contains(&3), "x2 was rolled back: {seen:?}");
    let five = seen.iter().position(|&i| i == 5).unwrap();
    assert!(seen[..five].contains(&6), "x3 goes out after what committed before it: {seen:?}");
    sql.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_dump_evicted_by_a_replica_with_the_same_server_id_says_so() {
    let (services, node, mut sql, db) = common::setup("evict");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"));
    node.register_sources(&services);
    node.refuses_options(&db, json!({"server_id": 0}), "options.server_id");
    let server_id = 3_000_000 + std::process::id() % 1_000_000;
    node.start_project(json!({
        "name": "evict", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "start": {"file": start.0, "pos": start.1},
        "options": {"server_id": server_id}
    }));
    sql.exec(&format!("INSERT INTO {db}.t VALUES (1)"));
    read_topic(&services.kafka, &format!("{db}.t"), Duration::from_secs(30), |m| !m.is_empty());

    // Another replica registers with the same id: the server drops the project's dump.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _other = rt.block_on(async {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(services.mysql_port)
            .user(Some(services.admin_user.clone()))
            .pass(Some(services.admin_password.clone()));
        let conn = mysql_async::Conn::new(opts).await.unwrap();
        let request =
            mysql_async::BinlogStreamRequest::new(server_id).with_filename(start.0.as_bytes()).with_pos(4);
        let mut stream = conn.get_binlog_stream(request).await.unwrap();
        use futures_util::StreamExt;
        stream.next().await.unwrap().unwrap();
        stream
    });
    let failed = node.wait_project("evict", Duration::from_secs(30), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&format!("server_id {server_id}")), "{error}");
    assert!(error.contains("options.server_id"), "names the fix: {error}");
    assert!(!error.contains("not available"), "not reported as a purged position: {error}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
