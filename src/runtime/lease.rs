//! Leases and gates: a node drives its destinations only while its lease is valid, so a node
//! that is paused or cut off stops writing before anyone else may start.
//!
//! - The node renews its lease by committing a `Heartbeat` through Raft every third of the
//!   lease. A renewal that was *sent* at `t` makes the lease valid until `t + lease`: the
//!   supervisor, which dates the heartbeat by when it *applied* it (later than `t`), cannot see
//!   the lease expire before the node does.
//! - Every running component holds a [`Gate`]: open while the lease is valid and the
//!   component's placement has not been revoked. Sinks check it before every send.
//! - When a renewal is applied, the placements in the state it was applied to are checked
//!   before the lease is extended ([`Gates::revoke_moved`]): a component whose project was
//!   placed elsewhere meanwhile is shut out and never sees the renewed lease.

use crate::meta::{Command, Meta, MetaError, MetaState, ProjectState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct Lease {
    origin: Instant,
    /// Milliseconds after `origin` until which the lease holds (0: not yet held).
    valid_until_ms: AtomicU64,
    duration: Duration,
}

impl Lease {
    pub fn new(duration: Duration) -> Arc<Self> {
        Arc::new(Self { origin: Instant::now(), valid_until_ms: AtomicU64::new(0), duration })
    }

    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_millis() as u64
    }

    pub fn is_valid(&self) -> bool {
        self.ms(Instant::now()) < self.valid_until_ms.load(Ordering::Acquire)
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// A renewal sent at `sent_at` was committed and applied here.
    pub fn renewed(&self, sent_at: Instant) {
        self.valid_until_ms.fetch_max(self.ms(sent_at + self.duration), Ordering::AcqRel);
    }
}

/// A running component's permission to write to its destination.
pub struct Gate {
    lease: Arc<Lease>,
    revoked: AtomicBool,
}

impl crate::sink::Permit for Gate {
    fn granted(&self) -> bool {
        self.is_open()
    }
}

impl Gate {
    pub fn is_open(&self) -> bool {
        !self.revoked.load(Ordering::Acquire) && self.lease.is_valid()
    }

    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::Release);
    }
}

/// Project -> (epoch, gate) of what runs on this node.
type GateMap = HashMap<String, (u64, Arc<Gate>)>;

/// The gates of the components running on this node, by project.
#[derive(Clone, Default)]
pub struct Gates(Arc<Mutex<GateMap>>);

impl Gates {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateMap> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A gate for `project` running at `epoch`; an older gate of the project is revoked.
    pub fn issue(&self, lease: &Arc<Lease>, project: &str, epoch: u64) -> Arc<Gate> {
        let gate = Arc::new(Gate { lease: lease.clone(), revoked: AtomicBool::new(false) });
        if let Some((_, old)) = self.lock().insert(project.to_string(), (epoch, gate.clone())) {
            old.revoke();
        }
        gate
    }

    pub fn remove(&self, project: &str, epoch: u64) {
        let mut gates = self.lock();
        if gates.get(project).is_some_and(|(e, _)| *e == epoch) {
            if let Some((_, gate)) = gates.remove(project) {
                gate.revoke();
            }
        }
    }

    /// Revokes the gate of every project that `state` no longer runs on `node` at the gate's
    /// epoch.
    pub fn revoke_moved(&self, node: u64, state: &MetaState) {
        for (project, (epoch, gate)) in self.lock().iter() {
            let still_ours = state.projects.get(project).is_some_and(|p| {
                p.epoch == *epoch
                    && p.state == ProjectState::Running
                    && p.placement.as_ref().is_some_and(|pl| pl.uses(node))
            });
            if !still_ours {
                gate.revoke();
            }
        }
    }
}

/// Where the lease keeper registers this node.
#[derive(Debug, Clone)]
pub struct NodeAddress {
    pub id: u64,
    pub raft: String,
    pub http: String,
}

/// Keeps the node registered and its lease renewed until `stop` turns true.
pub async fn keep_lease(
    meta: Meta,
    node: NodeAddress,
    lease: Arc<Lease>,
    gates: Gates,
    mut stop: watch::Receiver<bool>,
) {
    let every = lease.duration() / 3;
    let mut registered = false;
    loop {
        let sent = Instant::now();
        if !registered {
            let up = Command::NodeUp { node: node.id, raft: node.raft.clone(), http: node.http.clone() };
            registered = matches!(meta.propose_within(up.into(), lease.duration()).await, Ok(Ok(())));
        }
        if registered {
            let applied = *meta.watch_applied().borrow();
            let beat = Command::Heartbeat { node: node.id, applied };
            match meta.propose_within(beat.into(), lease.duration()).await {
                Ok(Ok(())) => {
                    meta.read(|s| gates.revoke_moved(node.id, s));
                    lease.renewed(sent);
                }
                Ok(Err(MetaError::UnknownNode(_))) => registered = false,
                Ok(Err(e)) => tracing::warn!(error = %e, "lease renewal refused"),
                Err(e) => tracing::debug!(error = %e, "lease renewal not confirmed"),
            }
        }
        let next = tokio::time::Instant::from_std(sent + every);
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Placement, Project};

    #[test]
    fn a_gate_closes_when_the_lease_lapses_or_the_project_moves() {
        let lease = Lease::new(Duration::from_millis(50));
        let gates = Gates::default();
        let gate = gates.issue(&lease, "p", 3);
        assert!(!gate.is_open(), "no lease yet");
        lease.renewed(Instant::now());
        assert!(gate.is_open());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!gate.is_open(), "the lease lapsed");
        lease.renewed(Instant::now());
        assert!(gate.is_open());

        let mut state = MetaState::default();
        let project =
            |node, epoch| Project::sample("p", ProjectState::Running, epoch, Some(Placement::on(node)));
        state.projects.insert("p".into(), project(1, 3));
        gates.revoke_moved(1, &state);
        assert!(gate.is_open(), "still placed here at epoch 3");
        state.projects.insert("p".into(), project(2, 4));
        gates.revoke_moved(1, &state);
        assert!(!gate.is_open(), "placed on node 2 at epoch 4");
        let newer = gates.issue(&lease, "p", 5);
        assert!(newer.is_open());
        gates.remove("p", 5);
        assert!(!newer.is_open(), "a stopped component's gate is closed");
    }
}
