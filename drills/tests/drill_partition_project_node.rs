//! Proves: cutting the node that runs the project off from the other two (nftables on the
//! loopback addresses; it still reaches MariaDB and Kafka) moves the work to the majority; the
//! cut-off node stops sending before the new epoch sends; healed, it rejoins as a follower and
//! nothing of the old epoch arrives any more.

use ferry_drills::common::cluster::ip;
use ferry_drills::common::wait_for;
use ferry_drills::drill::Drill;
use ferry_drills::load::now_ms;
use ferry_drills::netcut::NetCut;
use std::time::Duration;

#[test]
fn a_cut_off_node_stops_sending_before_the_majority_moves_its_work() {
    let d = Drill::start("partition");
    let mut load = d.load();
    load.wait_share(0.25);
    let (node, epoch) = d.placement();
    let others: Vec<u64> = d.cluster.serving().into_iter().filter(|id| *id != node).collect();
    let cut_at = now_ms();
    let cut = NetCut::isolate(&ip(node), &others.iter().map(|id| ip(*id)).collect::<Vec<_>>());
    let (to, new_epoch) = d.wait_moved(node, epoch, Duration::from_secs(30));
    let majority_leader = d.cluster.leader_among(&others, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    let healed_at = now_ms();
    cut.heal();
    // It rejoins as a follower of the majority's leader.
    wait_for("the healed node to follow", Duration::from_secs(30), || {
        let s = d.cluster.status(node)?;
        let me = s["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(node))?.clone();
        (s["leader"].as_u64().is_some() && me["role"] == "follower").then_some(())
    });
    let leader_after = d.cluster.leader(Duration::from_secs(10));
    load.join();
    let delivery = d.delivered();
    let last_old = delivery.last_of_epoch(epoch).unwrap_or(0);
    let first_new = delivery.first_after_epoch(epoch).expect("the new epoch delivered");
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("cut_node", node.to_string()),
        ("moved_to", to.to_string()),
        ("epochs", format!("{epoch}->{new_epoch}")),
        ("old_epoch_last_after_cut_ms", (last_old - cut_at).to_string()),
        ("new_epoch_first_after_cut_ms", (first_new - cut_at).to_string()),
        ("leader_during_cut", majority_leader.to_string()),
        ("leader_after_heal", leader_after.to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(
        last_old < first_new,
        "the old epoch sent at {last_old} after the new one started at {first_new}"
    );
    assert!(last_old < healed_at, "nothing of the old epoch after the heal");
    assert_ne!(to, node);
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
