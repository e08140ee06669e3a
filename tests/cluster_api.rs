//! Proves, on a real 3-node cluster: any node answers any call (a write through a follower is
//! read back through the other at once); `GET /cluster` agrees on every node; bad membership
//! requests, a node with another key file and a lost quorum each get a clear error, and leave
//! the cluster as it was.

mod common;

use common::cluster::Cluster;
use common::Services;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

fn members(c: &Cluster, via: u64) -> Vec<(u64, String)> {
    let s = c.status(via).expect("/cluster answers");
    s["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["raft"].as_str().unwrap().to_string()))
        .collect()
}

fn expect_error(got: (u16, Value), status: u16, code: &str, words: &[&str]) {
    let (s, body) = got;
    assert_eq!(s, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap();
    for w in words {
        assert!(message.contains(w), "{message:?} should name {w:?}");
    }
}

#[test]
fn any_node_answers_and_bad_cluster_requests_change_nothing() {
    let services = Services::from_env();
    let mut c = Cluster::start("api", 3);
    let leader = c.leader(Duration::from_secs(10));
    let followers: Vec<u64> = c.serving().into_iter().filter(|id| *id != leader).collect();

    // Written through one follower, read through the other right away.
    c.ok(followers[0], "/datasources?verify=false", services.kafka_destination("k1"), 201);
    let (status, ds) = c.try_get(followers[1], "/datasources/k1").unwrap();
    assert_eq!((status, ds["bootstrap_servers"].as_str()), (200, Some(services.kafka.as_str())));

    for id in 1..=3 {
        let s = c.status(id).unwrap();
        assert_eq!((s["node_id"].as_u64(), s["leader"].as_u64()), (Some(id), Some(leader)));
        let ms = s["members"].as_array().unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms.iter().filter(|m| m["role"] == "leader").count(), 1);
        for m in ms {
            let mid = m["id"].as_u64().unwrap();
            assert_eq!(m["raft"], c.raft_addr(mid));
            assert_eq!(m["http"], c.http_addr(mid));
            assert!(m["last_heartbeat_ms"].as_u64().is_some(), "{m}");
        }
    }
    let before = members(&c, leader);

    let add = |id: u64, raft: String, http: String| json!({"id": id, "raft": raft, "http": http});
    let f = followers[0];
    expect_error(
        c.try_post(f, "/cluster/nodes", add(2, c.raft_addr(4), c.http_addr(4))).unwrap(),
        409,
        "conflict",
        &["node 2 is already a member"],
    );
    expect_error(
        c.try_post(f, "/cluster/nodes", add(4, c.raft_addr(2), c.http_addr(4))).unwrap(),
        409,
        "conflict",
        &[&c.raft_addr(2), "node 2"],
    );
    expect_error(
        c.try_post(f, "/cluster/nodes", add(4, "nonsense".into(), c.http_addr(4))).unwrap(),
        400,
        "invalid_request",
        &["raft", "nonsense"],
    );
    // Nobody listens there yet.
    expect_error(
        c.try_post(f, "/cluster/nodes", add(4, c.raft_addr(4), c.http_addr(4))).unwrap(),
        502,
        "node_unusable",
        &["cannot reach node 4"],
    );
    // A node with another key file is not let in.
    let other_key = c.other_key_file();
    c.start_joining_with_key(4, &other_key);
    expect_error(
        c.try_post(f, "/cluster/nodes", add(4, c.raft_addr(4), c.http_addr(4))).unwrap(),
        502,
        "node_unusable",
        &["node 4", "--key-file"],
    );
    c.kill9(4);
    expect_error(c.try_delete(f, "/cluster/nodes/9").unwrap(), 404, "not_found", &["node 9"]);
    assert_eq!(members(&c, leader), before, "no membership changed");

    // A node restarted with another key file stops at once, saying why; the others carry on.
    let restarted = followers[1];
    c.kill9(restarted);
    let code = c.run_with_key(restarted, &other_key, Duration::from_secs(20));
    assert!(
        matches!(code, Some(c) if c != 0),
        "a node with another key must exit with an error, got {code:?}"
    );
    let log = c.log_text(restarted);
    assert!(
        log.contains("differs from the cluster's"),
        "the log says why: {}",
        &log[log.len().saturating_sub(2000)..]
    );
    c.restart(restarted);
    c.leader(Duration::from_secs(10));
    assert_eq!(members(&c, restarted), before);

    // Without a quorum a write answers 503 no_quorum within 5 s instead of hanging.
    let survivor = leader;
    for id in followers {
        c.kill9(id);
    }
    let start = Instant::now();
    let got = c.try_post(survivor, "/datasources?verify=false", services.kafka_destination("k2")).unwrap();
    let took = start.elapsed();
    expect_error(got, 503, "no_quorum", &["quorum"]);
    assert!(took <= Duration::from_millis(6_500), "answered after {took:?}");
}

#[test]
fn the_last_node_cannot_be_removed() {
    let c = Cluster::start("last", 1);
    expect_error(c.try_delete(1, "/cluster/nodes/1").unwrap(), 409, "conflict", &["node 1", "last node"]);
    assert_eq!(members(&c, 1).len(), 1);
}

#[test]
fn malformed_cluster_flags_are_refused_naming_them() {
    let dir = std::env::temp_dir().join(common::unique("flags"));
    let run = |args: &[&str]| {
        let out = Command::new(common::ferry_bin())
            .args(["node", "--data-dir"])
            .arg(&dir)
            .args(["--http", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must be refused");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let raft = ["--node-id", "1", "--raft", "127.0.0.11:7999"];
    let with = |extra: &[&'static str]| [&raft[..], extra].concat();
    assert!(run(&with(&["--peers", "1=127.0.0.11:7999,two"]))
        .contains("--peers: \"two\" is not <node id>=<ip>:<port>"));
    assert!(
        run(&with(&["--peers", "1=127.0.0.11:7999,1=127.0.0.12:7999"])).contains("node id 1 appears twice")
    );
    assert!(
        run(&with(&["--peers", "2=127.0.0.12:7999,3=127.0.0.13:7999"])).contains("does not list this node")
    );
    assert!(run(&["--peers", "1=127.0.0.11:7999"]).contains("need --raft"));
    assert!(!dir.exists(), "nothing was created");
}
