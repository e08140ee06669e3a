//! Proves: stopping all three nodes at once (SIGTERM to each, as a service manager stopping the
//! cluster does) mid-load and starting them again resumes the project where it was: every
//! change, in order, duplicates within a checkpoint window; each node exits within 15 s.
//! (Stopping them one after another moves the project onto the next node each time; the last
//! one can lose its quorum before it saves a checkpoint, and what it sent is sent again: see
//! the rolling restart drill for one-at-a-time stops that keep a quorum.)

use ferry_drills::drill::Drill;
use std::time::Duration;

#[test]
fn all_nodes_stopped_and_started_again_resume_every_project() {
    let mut d = Drill::start("fullrestart");
    let mut load = d.load();
    load.wait_share(0.3);
    let ids = d.cluster.serving();
    let exits = d.cluster.terminate_all(&ids);
    std::thread::sleep(Duration::from_secs(2));
    for id in &ids {
        d.cluster.restart(*id);
    }
    d.cluster.leader(Duration::from_secs(30));
    load.join();
    let delivery = d.delivered();
    let bound = d.duplicate_bound(&load);
    let slowest = exits.iter().max().unwrap();
    d.report(&[
        ("slowest_exit_ms", slowest.as_millis().to_string()),
        ("duplicates", delivery.duplicates.to_string()),
        ("duplicate_bound", bound.to_string()),
    ]);
    assert!(*slowest <= Duration::from_secs(15), "a node took {slowest:?} to stop");
    // A clean stop drains and checkpoints: few or no duplicates, within the bound in any case.
    assert!(delivery.duplicates <= bound, "{} duplicates, bound {bound}", delivery.duplicates);
}
