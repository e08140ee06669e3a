//! Proves: with `--tls-cert`/`--tls-key` a node serves its API over HTTPS only (a plain HTTP
//! request or a client that does not trust the certificate gets nothing), `ferry ctl` reaches
//! it with `--ca-cert` and says what is missing without it, bad certificate options stop the
//! node at start naming the file; and in a cluster the nodes call each other over HTTPS: a
//! connector apart from its store reads the store's log from its node, and any node shows the
//! live figures of both.

mod common;

use common::cluster::Cluster;
use common::tls::TestCert;
use common::{ferry_bin, unique, Node, Services, Sql};
use serde_json::json;
use std::process::Command;
use std::time::Duration;

#[test]
fn a_node_serves_https_only_and_ctl_reaches_it_with_the_certificate() {
    let dir = std::env::temp_dir().join(unique("ferry-tls"));
    let cert = TestCert::for_ips(&dir, &["127.0.0.1"]);
    let node = Node::start_tls("tls", &cert);
    let (status, cluster) = node.get("/cluster");
    assert_eq!((status, cluster["node_id"].as_u64()), (200, Some(1)), "{cluster}");

    let plain = reqwest::blocking::Client::new();
    let answer = plain.get(format!("http://127.0.0.1:{}/healthz", node.port)).send();
    assert!(answer.as_ref().map_or(true, |r| !r.status().is_success()), "plain HTTP answered: {answer:?}");
    let untrusting =
        reqwest::blocking::Client::builder().use_rustls_tls().tls_built_in_root_certs(false).build();
    let answer = untrusting.unwrap().get(format!("https://127.0.0.1:{}/healthz", node.port)).send();
    let error = answer.expect_err("a client that does not trust the certificate").to_string();
    assert!(!error.is_empty());

    let api = format!("https://127.0.0.1:{}", node.port);
    let ctl = |extra: &[&str]| {
        let out = Command::new(ferry_bin())
            .args(["ctl", "--api", &api, "--token", &node.token])
            .args(extra)
            .args(["--json", "cluster", "show"])
            .env_remove("FERRY_CA_CERT")
            .output()
            .expect("run ferry ctl");
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    };
    let (code, stdout, stderr) = ctl(&["--ca-cert", cert.cert.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert_eq!(shown["leader"].as_u64(), Some(1), "{shown}");
    let (code, _, stderr) = ctl(&[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--ca-cert"), "{stderr}");

    // Options that cannot work stop the node at start, naming what is wrong.
    let start = |args: &[&str]| {
        let data = dir.join(unique("bad"));
        let out = Command::new(ferry_bin())
            .args(["node", "--http", "127.0.0.1:0", "--admin-token", "t", "--data-dir"])
            .arg(&data)
            .args(args)
            .output()
            .expect("run ferry node");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let cert_path = cert.cert.to_str().unwrap();
    let (ok, stderr) = start(&["--tls-cert", cert_path]);
    assert!(!ok && stderr.contains("--tls-cert needs --tls-key"), "{stderr}");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let (ok, stderr) = start(&["--tls-cert", cert_path, "--tls-key", garbage.to_str().unwrap()]);
    assert!(!ok && stderr.contains("garbage.pem"), "{stderr}");
}

#[test]
fn cluster_nodes_call_each_other_over_https() {
    let services = Services::from_env();
    let mut sql = Sql::connect(&services);
    let db = unique("tls_cluster");
    sql.exec(&format!("CREATE DATABASE {db}"));
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)"));
    let (c, _cert) = Cluster::start_tls("tls", 3);
    let api = c.leader(Duration::from_secs(10));
    c.ok(api, "/datasources", services.mysql_source("maria"), 201);
    c.ok(api, "/datasources", services.kafka_destination("kafka"), 201);
    let project = json!({"name": "tls", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": format!("{db}.t")}], "partition": "table"});
    c.ok(api, "/projects", project, 201);
    c.ok(api, "/projects/tls/start", json!({}), 200);
    let store = c.project_node("tls");
    let apart = (1..=3).find(|n| *n != store).unwrap();
    let third = (1..=3).find(|n| *n != store && *n != apart).unwrap();
    c.ok(api, "/projects/tls/connectors/default/move", json!({"node": apart}), 200);
    c.wait_project("tls", Duration::from_secs(30), |p| {
        p["components"][1]["node"].as_u64() == Some(apart) && p["components"][1]["state"] == "running"
    });
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_500"));
    // The connector apart read the store's log over HTTPS; the third node passes the view to
    // the store's node and that one asks the connector's node for its figures.
    let mut seen = serde_json::Value::Null;
    for _ in 0..150 {
        let (_, p) = c.try_get(third, "/projects/tls").expect("the third node answers");
        if p["rows"].as_u64() == Some(500)
            && !p["store_status"].is_null()
            && !p["connectors"][0]["live"].is_null()
        {
            seen = p;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(seen["rows"].as_u64(), Some(500), "{seen}");
    assert_eq!(seen["connectors"][0]["live"]["node"].as_u64(), Some(apart), "{seen}");
    assert_eq!(seen["node"].as_u64(), Some(store), "{seen}");
    sql.exec(&format!("DROP DATABASE {db}"));
}
