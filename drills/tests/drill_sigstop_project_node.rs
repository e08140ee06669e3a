//! Proves: a node paused (SIGSTOP) for longer than its lease loses its project to another
//! node; woken up (SIGCONT), it sends nothing more and advances no checkpoint; delivery is
//! complete and ordered, no old-epoch message after a new-epoch one in any partition.

use ferry_drills::drill::Drill;
use ferry_drills::load::now_ms;
use std::time::Duration;

#[test]
fn a_paused_node_loses_its_work_and_sends_nothing_once_woken() {
    let mut d = Drill::start("sigstop");
    let mut load = d.load();
    load.wait_share(0.25);
    let (node, epoch) = d.placement();
    let stopped_at = now_ms();
    d.cluster.sigstop(node);
    let (to, new_epoch) = d.wait_moved(node, epoch, Duration::from_secs(30));
    // Paused well past its lease (3 s) and the supervisor's margin.
    let pause = Duration::from_millis((stopped_at + 9_000 - now_ms()).max(0) as u64);
    std::thread::sleep(pause);
    let woken_at = now_ms();
    d.cluster.sigcont(node);
    std::thread::sleep(Duration::from_secs(5));
    let woken_log = d.cluster.log_text(node);
    load.join();
    let delivery = d.delivered();
    let old_after_wake: Vec<_> = delivery
        .messages
        .iter()
        .filter(|m| ferry_drills::verify::epoch(m) <= epoch && m.timestamp_ms.is_some_and(|t| t >= woken_at))
        .map(|m| (m.partition, m.offset))
        .collect();
    let resumed_ms = delivery.first_after_epoch(epoch).expect("the new epoch delivered") - stopped_at;
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("paused_node", node.to_string()),
        ("moved_to", to.to_string()),
        ("epochs", format!("{epoch}->{new_epoch}")),
        ("paused_ms", (woken_at - stopped_at).to_string()),
        ("resume_ms", resumed_ms.to_string()),
        ("old_epoch_after_wake", old_after_wake.len().to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(old_after_wake.is_empty(), "the woken node sent {old_after_wake:?}");
    // It may have tried to save a checkpoint when it woke: refused, so it started nothing.
    let after_wake = woken_log.rsplit_once("project stopped on this node").map_or("", |(_, rest)| rest);
    assert!(!after_wake.contains("project started on this node"), "the woken node started the project again");
    assert_eq!(d.project()["node"].as_u64(), Some(to), "the project stays on {to}");
    assert!(resumed_ms <= 10_000, "delivery resumed {resumed_ms} ms after the pause");
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
