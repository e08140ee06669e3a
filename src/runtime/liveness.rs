//! When this node last saw each node renew its lease. `apply` has no clock, so the state only
//! counts renewals; this notes the local time at which each count changed.

use crate::meta::MetaState;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct Seen {
    heartbeats: u64,
    at: Instant,
}

#[derive(Clone, Default)]
pub struct Liveness(Arc<Mutex<HashMap<u64, Seen>>>);

/// The nodes by what their renewals say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeHealth {
    /// Renewed within the lease: may be given work.
    pub alive: BTreeSet<u64>,
    /// Silent for longer than the lease and the margin: their leases have surely expired.
    pub lost: BTreeSet<u64>,
}

impl Liveness {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Seen>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes the renewals `state` holds (call after every applied change). A node first seen
    /// now counts from now.
    pub fn observe(&self, state: &MetaState) {
        let now = Instant::now();
        let mut seen = self.lock();
        seen.retain(|id, _| state.nodes.contains_key(id));
        for (id, node) in &state.nodes {
            let entry = seen.entry(*id).or_insert(Seen { heartbeats: node.heartbeats, at: now });
            if entry.heartbeats != node.heartbeats {
                *entry = Seen { heartbeats: node.heartbeats, at: now };
            }
        }
    }

    /// How long ago this node saw `node` renew.
    pub fn since(&self, node: u64) -> Option<Duration> {
        self.lock().get(&node).map(|s| s.at.elapsed())
    }

    pub fn health(&self, lease: Duration, lost_after: Duration) -> NodeHealth {
        let mut health = NodeHealth::default();
        for (id, seen) in self.lock().iter() {
            let silent = seen.at.elapsed();
            if silent < lease {
                health.alive.insert(*id);
            } else if silent >= lost_after {
                health.lost.insert(*id);
            }
        }
        health
    }
}
