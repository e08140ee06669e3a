//! Proves: kill -9 of the node that runs the project mid-load: another node resumes delivery
//! within 10 s from the replicated checkpoint; every change arrives, per key in order, no
//! message of the old epoch after one of the new, duplicates within one checkpoint window.

use ferry_drills::drill::{Drill, PROJECT};
use ferry_drills::load::now_ms;
use std::time::Duration;

#[test]
fn kill9_of_the_project_node_resumes_on_another_node_within_10s() {
    let mut d = Drill::start("kill9node");
    let mut load = d.load();
    load.wait_share(0.3);
    let (node, epoch) = d.placement();
    let killed_at = now_ms();
    d.cluster.kill9(node);
    let (to, new_epoch) = d.wait_moved(node, epoch, Duration::from_secs(30));
    load.join();
    let delivery = d.delivered();
    let resumed_ms = delivery.first_after_epoch(epoch).expect("the new epoch delivered") - killed_at;
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("killed_node", node.to_string()),
        ("moved_to", to.to_string()),
        ("epochs", format!("{epoch}->{new_epoch}")),
        ("resume_ms", resumed_ms.to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(resumed_ms <= 10_000, "delivery resumed {resumed_ms} ms after the kill");
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
    assert_eq!(d.project()["name"], PROJECT);
}
