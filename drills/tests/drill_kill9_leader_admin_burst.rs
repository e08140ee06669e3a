//! Proves: kill -9 of the Raft leader during a burst of admin writes sent to every node: a new
//! leader within 3 s, every write that got a 2xx is there afterwards, the project is placed on
//! one node only, and its delivery stays complete and ordered.

use ferry_drills::common::cluster::Cluster;
use ferry_drills::drill::{Drill, PROJECT};
use ferry_drills::load::now_ms;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writes data sources `burst-<i>` round-robin through every node until told to stop; returns
/// the names that were acknowledged with 201.
fn burst(cluster: &Cluster, ids: &[u64], stop: &AtomicBool, acked: &Mutex<Vec<String>>, kafka: &str) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = ids[(i % ids.len() as u64) as usize];
        let name = format!("burst-{i}");
        let body = json!({"name": name, "type": "kafka", "bootstrap_servers": kafka});
        if let Ok((201, _)) = cluster.try_post(id, "/datasources?verify=false", body) {
            acked.lock().unwrap().push(name);
        }
        i += 1;
    }
}

#[test]
fn kill9_of_the_leader_during_admin_writes_loses_no_acknowledged_write() {
    let mut d = Drill::start("kill9leader");
    let mut load = d.load();
    load.wait_share(0.2);
    let (project_node, epoch) = d.placement();
    let leader = d.cluster.leader(Duration::from_secs(10));
    let ids: Vec<u64> = d.cluster.serving();
    let stop = AtomicBool::new(false);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (new_leader, elected_ms, killed_at) = std::thread::scope(|s| {
        let cluster = &d.cluster;
        let (stop, acked, kafka) = (&stop, &acked, d.services.kafka.clone());
        let writer = s.spawn(move || burst(cluster, &ids, stop, acked, &kafka));
        std::thread::sleep(Duration::from_secs(1));
        let before = acked.lock().unwrap().len();
        assert!(before > 0, "the burst writes before the kill");
        // The cluster is borrowed by the writer: kill the leader's process by pid.
        let killed_at = now_ms();
        let pid = cluster.pid_of(leader);
        std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
        let started = Instant::now();
        let survivors: Vec<u64> = cluster.serving().into_iter().filter(|id| *id != leader).collect();
        let new_leader = cluster.leader_among(&survivors, Duration::from_secs(10));
        let elected_ms = started.elapsed().as_millis() as u64;
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        (new_leader, elected_ms, killed_at)
    });
    d.cluster.reap(leader);
    let acked = acked.lock().unwrap().clone();
    let survivor = d.cluster.any();
    let (_, sources) = d.cluster.try_get(survivor, "/datasources").unwrap();
    let present: BTreeSet<String> =
        sources.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !present.contains(*n)).collect();

    // One placement: every member agrees where the project runs, and only one runs it.
    let (_, cluster_view) = d.cluster.try_get(survivor, "/cluster").unwrap();
    let running_on: Vec<u64> = cluster_view["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["runs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["project"] == PROJECT && r["component"] == "connector/default")
        })
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert!(running_on.len() <= 1, "the project is placed on {running_on:?}");

    load.join();
    let delivery = d.delivered();
    let bound = d.duplicate_bound(&load);
    let moved = project_node == leader;
    let resumed = if moved { delivery.first_after_epoch(epoch).map(|t| t - killed_at) } else { None };
    d.report(&[
        ("killed_leader", leader.to_string()),
        ("new_leader", new_leader.to_string()),
        ("election_ms", elected_ms.to_string()),
        ("writes_acked", acked.len().to_string()),
        ("writes_lost", lost.len().to_string()),
        ("project_moved", moved.to_string()),
        ("resume_ms", format!("{resumed:?}")),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(lost.is_empty(), "acknowledged writes missing after the failover: {lost:?}");
    assert!(elected_ms <= 3_000, "a new leader after {elected_ms} ms");
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
    if let Some(resumed) = resumed {
        assert!(resumed <= 10_000, "delivery resumed {resumed} ms after the kill");
    }
}
