//! Proves: bad input gets a JSON `{code, message}` naming the problem, never a panic, and
//! loses nothing: auth, malformed bodies, unknown names, wrong password, unreachable host,
//! tables without a primary key, illegal transitions, a start position the server does not have.

mod common;

use common::{Node, Services};
use serde_json::{json, Value};
use std::time::Duration;

fn assert_error(resp: (u16, Value), status: u16, code: &str, mentions: &[&str]) {
    let (got, body) = resp;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_else(|| panic!("message in {body}"));
    for m in mentions {
        assert!(message.contains(m), "{message:?} should mention {m:?}");
    }
}

#[test]
fn every_call_needs_the_bearer_token() {
    let node = Node::start("auth");
    let client = reqwest::blocking::Client::new();
    let none = client.get(node.url("/projects")).send().unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().unwrap();
    assert_eq!(body["code"], "unauthorized");
    let wrong = client.get(node.url("/projects")).bearer_auth("nope").send().unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(node.get("/projects"), (200, json!([])));
    let health = client.get(format!("http://127.0.0.1:{}/healthz", node.port)).send().unwrap();
    assert_eq!(health.status(), 200, "health needs no token");
}

#[test]
fn without_a_token_option_one_is_generated_kept_private_and_never_printed() {
    use std::os::unix::fs::PermissionsExt;
    let mut node = Node::start_with_generated_token("gen-token");
    assert_eq!(node.token.len(), 48, "24 random bytes, hex");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&node.data_dir.join("admin.token")), 0o600, "the token file is private");
    assert_eq!(mode(&node.data_dir), 0o700, "the data dir the node made is private");
    assert!(!node.data_dir.join("admin.tmp").exists(), "no temporary file left");
    let log = node.log_text();
    assert!(!log.contains(&node.token), "the token is never printed: {log}");
    assert!(log.contains("admin.token"), "the log says where it is: {log}");
    assert_eq!(node.get("/projects"), (200, json!([])));
    // The same token after a restart.
    node.terminate();
    node.restart();
    assert_eq!(node.get("/projects"), (200, json!([])));
    assert!(!node.log_text().contains(&node.token));
}

#[test]
fn a_viewer_token_reads_everything_and_changes_nothing() {
    let mut node = Node::start_with_args("viewer", &["--viewer-token", "look-only"]);
    node.post(
        "/datasources?verify=false",
        json!({"name": "k", "type": "kafka", "bootstrap_servers": "127.0.0.1:1"}),
    );
    let admin = std::mem::replace(&mut node.token, "look-only".into());
    let (status, sources) = node.get("/datasources");
    assert_eq!((status, sources[0]["name"].as_str()), (200, Some("k")), "{sources}");
    assert_eq!(node.get("/cluster").0, 200);
    let (status, body) = node.delete("/datasources/k");
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("DELETE /api/v1/datasources/k") && message.contains("admin token"), "{message}");
    let (status, _) = node.post(
        "/datasources?verify=false",
        json!({"name": "k2", "type": "kafka", "bootstrap_servers": "x:1"}),
    );
    assert_eq!(status, 403);
    // A store's log (rows as they are) is for the cluster's nodes, with the admin token, only.
    let (status, body) = node.get("/projects/p/store/records?epoch=1&from=1");
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("cluster's nodes"), "{body}");
    node.token = "not-a-token".into();
    assert_eq!(node.get("/datasources").0, 401);
    node.token = admin;
    assert_eq!(node.get("/datasources").1.as_array().map(Vec::len), Some(1), "the viewer changed nothing");
    assert_eq!(node.delete("/datasources/k").0, 204);
}

#[test]
fn a_json_body_needs_no_content_type() {
    let node = Node::start("content-type");
    let resp = reqwest::blocking::Client::new()
        .post(node.url("/datasources?verify=false"))
        .bearer_auth(&node.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"name":"k","type":"kafka","bootstrap_servers":"127.0.0.1:1"}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().unwrap());
}

#[test]
fn data_source_errors_name_the_problem_and_passwords_never_leak() {
    let services = Services::from_env();
    let node = Node::start("ds-errors");

    assert_error(node.post_raw("/datasources", "{\"name\": "), 400, "invalid_request", &["body"]);
    assert_error(node.post_raw("/datasources", "[1,2]"), 400, "invalid_request", &[]);
    let mut unknown = services.kafka_destination("k");
    unknown["colour"] = json!("blue");
    assert_error(node.post("/datasources", unknown), 400, "invalid_request", &["colour"]);
    assert_error(
        node.post("/datasources", json!({"name": "x", "type": "oracle"})),
        400,
        "invalid_request",
        &["oracle"],
    );
    assert_error(
        node.post("/datasources", json!({"name": "x", "type": "mysql", "host": "h"})),
        400,
        "invalid_request",
        &["port"],
    );
    assert_error(
        node.post("/datasources", services.kafka_destination("bad name!")),
        400,
        "invalid_request",
        &["bad name!"],
    );

    let mut wrong = services.mysql_source("wrong");
    wrong["password"] = json!("not-the-password");
    assert_error(node.post("/datasources", wrong), 502, "access_denied", &[&services.user]);
    let mut unreachable = services.mysql_source("down");
    unreachable["port"] = json!(1);
    assert_error(node.post("/datasources", unreachable), 502, "source_unreachable", &["127.0.0.1:1"]);

    // A source that is down can still be registered on purpose; its check says what is wrong.
    let mut later = services.mysql_source("later");
    later["port"] = json!(1);
    let (status, _) = node.post("/datasources?verify=false", later);
    assert_eq!(status, 201);
    let check = node.ok("/datasources/later/check", json!({}), 200);
    assert_eq!(check["ok"], false);
    assert_eq!(check["findings"][0]["check"], "connect");

    let secret = services.password.clone();
    let created = node.ok("/datasources", services.mysql_source("maria"), 201);
    assert!(created.get("password").is_none());
    assert_error(node.post("/datasources", services.mysql_source("maria")), 409, "conflict", &["maria"]);
    let (status, shown) = node.get("/datasources/maria");
    assert_eq!(status, 200);
    assert!(shown.get("password").is_none(), "{shown}");
    assert_eq!(shown["user"], services.user.as_str());
    let (_, all) = node.get("/datasources");
    assert!(all.as_array().unwrap().iter().all(|d| d.get("password").is_none()), "{all}");
    assert_error(node.get("/datasources/nope"), 404, "not_found", &["nope"]);
    assert_error(node.delete("/datasources/nope"), 404, "not_found", &["nope"]);

    // An OceanBase destination (seekdb): registered like mysql (its login tried), never shown
    // with its password; its check reports the server's version.
    let created = node.ok("/datasources", services.seekdb_destination("ob"), 201);
    assert_eq!((created["type"].as_str(), created.get("password")), (Some("oceanbase"), None), "{created}");
    let (status, shown) = node.get("/datasources/ob");
    assert_eq!((status, &shown["port"]), (200, &json!(services.seekdb_port)), "{shown}");
    assert!(shown.get("password").is_none(), "{shown}");
    let check = node.ok("/datasources/ob/check", json!({}), 200);
    let finding = &check["findings"][0];
    assert_eq!((check["ok"].as_bool(), finding["check"].as_str()), (Some(true), Some("connect")), "{check}");
    assert!(finding["message"].as_str().unwrap().contains("OceanBase"), "the version: {check}");
    let mut wrong = services.seekdb_destination("ob-wrong");
    wrong["password"] = json!("not-the-password");
    assert_error(node.post("/datasources", wrong), 502, "access_denied", &["root"]);
    let mut unreachable = services.seekdb_destination("ob-down");
    unreachable["port"] = json!(1);
    assert_error(
        node.post("/datasources", unreachable.clone()),
        502,
        "destination_unreachable",
        &["127.0.0.1:1"],
    );
    assert_eq!(node.post("/datasources?verify=false", unreachable).0, 201);
    let check = node.ok("/datasources/ob-down/check", json!({}), 200);
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["findings"][0]["message"].as_str().unwrap().contains("127.0.0.1:1"), "{check}");
    assert_error(
        node.post(
            "/datasources",
            json!({"name": "x", "type": "oceanbase", "host": "h", "user": "u", "password": ""}),
        ),
        400,
        "invalid_request",
        &["port"],
    );
    let (status, updated) = node.put("/datasources/ob", services.seekdb_destination("ob"));
    assert_eq!((status, updated["type"].as_str()), (200, Some("oceanbase")), "{updated}");
    assert_eq!(node.delete("/datasources/ob").0, 204);
    assert_eq!(node.delete("/datasources/ob-down").0, 204);

    let check = node.ok("/datasources/maria/check", json!({}), 200);
    assert_eq!(check["ok"], true, "{check}");
    let checks: Vec<&str> =
        check["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    for c in ["log_bin", "binlog_format", "binlog_row_image"] {
        assert!(checks.contains(&c), "check {c} in {checks:?}");
    }

    // The password is stored sealed: no file of the data dir, and not the log, holds it.
    let needle = format!("password\":\"{secret}");
    for entry in walk(&node.data_dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{entry:?} holds the password");
    }
    assert!(!node.log_text().contains(&needle));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn project_errors_name_the_field_table_or_state() {
    let (services, node, mut sql, db) = common::setup("apierr");
    sql.exec(&format!("CREATE TABLE {db}.keyed (id INT PRIMARY KEY)"));
    sql.exec(&format!("CREATE TABLE {db}.loose (a INT)"));
    node.register_sources(&services);
    let project = |name: &str, partition: &str, start: Value| {
        json!({"name": name, "source": "maria", "destination": "kafka",
               "objects": [{"database": db, "topic": format!("{db}.{{table}}")}],
               "format": "default", "partition": partition, "start": start})
    };

    let mut p = project("p", "table", json!({"from": "now"}));
    p["source"] = json!("ghost");
    assert_error(node.post("/projects", p), 404, "not_found", &["ghost"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["destination"] = json!("maria");
    assert_error(node.post("/projects", p), 422, "destination_is_source", &["destination", "maria"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["destination"] = json!("ghost");
    assert_error(node.post("/projects", p), 404, "not_found", &["destination", "ghost"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["routes"] = json!([{"from": "orders", "to": "shop.orders"}]);
    assert_error(node.post("/projects", p), 400, "invalid_request", &["routes[0]", "orders"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["routes"] = json!([{"from": "a.b", "into": "c.d"}]);
    assert_error(node.post("/projects", p), 400, "invalid_request", &["into"]);

    // A database is a destination too: another mysql data source (the second MariaDB), with
    // routing rules the project keeps.
    node.ok("/datasources", services.mysql2_destination("maria-copy"), 201);
    let routes = json!([{"from": format!("{db}.k*"), "to": "copy.{table}", "columns": {"id": "key_id"}}]);
    let mut p = project("into-db", "table", json!({"from": "now"}));
    p["destination"] = json!("maria-copy");
    p["routes"] = routes.clone();
    // Whatever the partition rule, a database applies changes by key.
    assert_error(
        node.post("/projects", p.clone()),
        422,
        "table_without_primary_key",
        &["loose", "a database destination"],
    );
    p["objects"] = json!([{"database": db, "exclude": ["loose"]}]);
    let created = node.ok("/projects", p, 201);
    assert_eq!(
        (created["destination"].as_str(), &created["routes"]),
        (Some("maria-copy"), &routes),
        "{created}"
    );
    assert_eq!(node.get("/projects/into-db").1["routes"], routes);
    assert_eq!(node.delete("/projects/into-db").0, 204);
    assert_eq!(node.delete("/datasources/maria-copy").0, 204);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["format"] = json!("avro");
    assert_error(node.post("/projects", p), 400, "invalid_request", &["avro"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["objects"][0]["tables"] = json!(["a[b"]);
    assert_error(node.post("/projects", p), 400, "invalid_request", &["a[b"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["options"] = json!({"checkpoint_interval_ms": 0});
    assert_error(node.post("/projects", p), 400, "invalid_request", &["checkpoint_interval_ms"]);
    let mut p = project("p", "table", json!({"from": "now"}));
    p["options"] = json!({"checkpoint_intervall_ms": 100});
    assert_error(node.post("/projects", p), 400, "invalid_request", &["checkpoint_intervall_ms"]);
    assert_error(
        node.post("/projects", project("p", "table", json!({"from": "yesterday"}))),
        400,
        "invalid_request",
        &["yesterday"],
    );
    assert_error(
        node.post("/projects", project("p", "hash", json!({"from": "now"}))),
        422,
        "table_without_primary_key",
        &[&format!("{db}.loose")],
    );

    // Before creating: which tables the rules match, and which lack a primary key.
    let preview = node.ok(
        "/datasources/maria/tables",
        json!({"objects": [{"database": db, "topic": format!("{db}.{{table}}")}]}),
        200,
    );
    let tables: Vec<(String, bool, String)> = preview["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let name = format!("{}.{}", t["database"].as_str().unwrap(), t["table"].as_str().unwrap());
            (name, t["has_primary_key"].as_bool().unwrap(), t["topic"].as_str().unwrap().to_string())
        })
        .collect();
    let expected = [
        (format!("{db}.keyed"), true, format!("{db}.keyed")),
        (format!("{db}.loose"), false, format!("{db}.loose")),
    ];
    assert_eq!(tables, expected, "{preview}");
    let only_keyed = json!({"objects": [{"database": db, "exclude": ["loose"]}]});
    assert_eq!(node.ok("/datasources/maria/tables", only_keyed, 200)["tables"].as_array().unwrap().len(), 1);
    assert_error(
        node.post("/datasources/maria/tables", json!({"objects": []})),
        400,
        "invalid_request",
        &["objects"],
    );
    assert_error(
        node.post("/datasources/maria/tables", json!({"objects": [{"database": db, "tables": ["a[b"]}]})),
        400,
        "invalid_request",
        &["a[b"],
    );
    assert_error(
        node.post("/datasources/kafka/tables", json!({"objects": [{"database": db}]})),
        422,
        "wrong_data_source_type",
        &["kafka"],
    );
    assert_error(
        node.post("/datasources/ghost/tables", json!({"objects": [{"database": db}]})),
        404,
        "not_found",
        &["ghost"],
    );

    node.ok("/projects", project("p", "table", json!({"from": "now"})), 201);
    assert_error(
        node.post("/projects", project("p", "table", json!({"from": "now"}))),
        409,
        "conflict",
        &["p"],
    );
    assert_error(node.post("/projects/p/pause", json!({})), 409, "conflict", &["created", "pause"]);
    assert_error(node.post("/projects/p/explode", json!({})), 404, "not_found", &["explode"]);
    assert_error(node.post("/projects/ghost/start", json!({})), 404, "not_found", &["ghost"]);
    node.ok("/projects/p/start", json!({}), 200);
    assert_error(
        node.post("/projects/p/connectors/default/move", json!({"node": 1})),
        409,
        "conflict",
        &["already runs on node 1"],
    );
    assert_error(node.delete("/projects/p"), 409, "conflict", &["running"]);
    assert_error(node.delete("/datasources/maria"), 409, "conflict", &["p"]);
    assert_error(node.post("/projects/p/release", json!({})), 409, "conflict", &["running", "release"]);
    node.ok("/projects/p/stop", json!({}), 200);
    assert_error(
        node.post("/projects/p/connectors/default/move", json!({"node": 1})),
        409,
        "conflict",
        &["stopped", "runs"],
    );
    node.ok("/projects/p/release", json!({}), 200);
    assert_eq!(node.delete("/projects/p").0, 204);
    assert_error(node.get("/projects/p"), 404, "not_found", &["p"]);

    // A position the server does not have: the project fails, naming it and the oldest one.
    let oldest: String = sql.rows("SHOW BINARY LOGS").first().unwrap().get(0).unwrap();
    let stem = oldest.rsplit_once('.').unwrap().0.to_string();
    let gone = format!("{stem}.000000");
    node.ok("/projects", project("purged", "table", json!({"file": gone, "pos": 4})), 201);
    node.ok("/projects/purged/start", json!({}), 200);
    let failed = node.wait_project("purged", Duration::from_secs(30), |p| p["state"] == "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&gone) && error.contains(&oldest), "{error}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
