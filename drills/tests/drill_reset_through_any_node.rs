//! Proves: a connector reset sent to a node that does not run the project is passed to the
//! node that does (only it holds the store): a point outside the retained range is that node's
//! 422 (a node without the store could only answer 503), and a point inside restarts the
//! project on the same node under a new epoch, the connector resending from that point.

use ferry_drills::drill::{Drill, PROJECT};
use serde_json::json;
use std::time::Duration;

#[test]
fn a_reset_through_any_node_reaches_the_project_node() {
    let d = Drill::start("reset");
    let mut load = d.load();
    load.join();
    let before = d.delivered();
    let (node, epoch) = d.placement();
    let other = d.cluster.serving().into_iter().find(|id| *id != node).expect("another node");
    let path = format!("/projects/{PROJECT}/connectors/default/reset");

    let (status, body) = d.cluster.try_post(other, &path, json!({"timestamp": 1})).unwrap();
    assert_eq!((status, body["code"].as_str()), (422, Some("outside_retained_range")), "{body}");
    let (status, body) = d
        .cluster
        .try_post(other, &format!("/projects/{PROJECT}/connectors/k9/reset"), json!({"timestamp": 1}))
        .unwrap();
    assert_eq!(status, 404, "{body}");

    // The store's figures come from its node; resend the load's last second.
    let (_, owner_view) = d.cluster.try_get(node, &format!("/projects/{PROJECT}")).unwrap();
    let newest = owner_view["store_status"]["retained"]["newest_timestamp"].as_u64().expect("retained range");
    let rows = owner_view["rows"].as_u64().unwrap();
    let (status, body) = d.cluster.try_post(other, &path, json!({"timestamp": newest})).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["commit_timestamp"].as_u64() < Some(newest), "{body}");
    assert_eq!(body["epoch"].as_u64(), Some(epoch + 1), "{body}");
    let after = d.cluster.wait_project(PROJECT, Duration::from_secs(30), |p| {
        p["epoch"].as_u64() == Some(epoch + 1) && p["rows"].as_u64() > Some(rows)
    });
    assert_eq!(after["node"].as_u64(), Some(node), "the project stays where its store is: {after}");
    d.report(&[
        ("forwarded_from", other.to_string()),
        ("project_node", node.to_string()),
        ("resent_rows", (after["rows"].as_u64().unwrap() - rows).to_string()),
        ("duplicates_before_reset", before.duplicates.to_string()),
    ]);
}
