//! Proves: restarting each node in turn (SIGTERM, start again) under load never stalls
//! delivery for more than 5 s: a stopping node hands its work off at once.

use ferry_drills::drill::Drill;
use ferry_drills::load::now_ms;
use std::time::Duration;

#[test]
fn a_rolling_restart_stalls_delivery_less_than_5s() {
    let mut d = Drill::start("rolling");
    let mut load = d.load();
    load.wait_share(0.1);
    let from = now_ms();
    for id in d.cluster.serving() {
        d.cluster.terminate(id);
        d.cluster.restart(id);
        d.cluster.leader(Duration::from_secs(15));
        std::thread::sleep(Duration::from_secs(1));
    }
    let to = now_ms();
    load.join();
    let delivery = d.delivered();
    let gap = delivery.longest_gap_ms(from, to);
    let bound = d.duplicate_bound(&load);
    d.report(&[
        ("rolled_ms", (to - from).to_string()),
        ("longest_gap_ms", gap.to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(gap <= 5_000, "delivery stalled {gap} ms during the rolling restart");
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
