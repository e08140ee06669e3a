//! Proves: a fourth node joins at runtime (`--join`, then `POST /cluster/nodes`); removing
//! the node that runs the project (`DELETE /cluster/nodes/{id}`) first moves the project away,
//! and it keeps syncing: every change, in order.

use ferry_drills::common::wait_for;
use ferry_drills::drill::{Drill, PROJECT};
use serde_json::json;
use std::time::Duration;

#[test]
fn a_node_added_at_runtime_takes_over_when_the_project_node_is_removed() {
    let mut d = Drill::start("membership");
    let mut load = d.load();
    load.wait_share(0.2);
    d.cluster.start_joining(4);
    let api = d.cluster.any();
    let body = json!({"id": 4, "raft": d.cluster.raft_addr(4), "http": d.cluster.http_addr(4)});
    d.cluster.ok(api, "/cluster/nodes", body, 201);
    wait_for("node 4 to be a live member", Duration::from_secs(30), || {
        let s = d.cluster.status(4)?;
        let members = s["members"].as_array()?;
        let four = members.iter().find(|m| m["id"] == 4)?;
        (members.len() == 4 && four["alive"] == true && s["leader"].as_u64().is_some()).then_some(())
    });
    let (node, epoch) = d.placement();
    let via = d.cluster.serving().into_iter().find(|id| *id != node).unwrap();
    let (status, removed) = d.cluster.try_delete(via, &format!("/cluster/nodes/{node}")).unwrap();
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["moved"], json!([PROJECT]));
    let (to, new_epoch) = d.wait_moved(node, epoch, Duration::from_secs(30));
    let (_, view) = d.cluster.try_get(via, "/cluster").unwrap();
    let members: Vec<u64> =
        view["members"].as_array().unwrap().iter().map(|m| m["id"].as_u64().unwrap()).collect();
    assert!(!members.contains(&node), "node {node} is still a member: {members:?}");
    d.cluster.terminate(node);
    load.join();
    let delivery = d.delivered();
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("removed_node", node.to_string()),
        ("moved_to", to.to_string()),
        ("epochs", format!("{epoch}->{new_epoch}")),
        ("members", format!("{members:?}")),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
