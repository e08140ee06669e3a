//! The nodes of the cluster as the metadata knows them (the Raft membership is the `cluster`
//! crate's; this is what Ferry adds: HTTP address, lease renewals, leaving).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: u64,
    pub raft: String,
    pub http: String,
    /// Going away: gets no new work, hands off what it runs.
    pub leaving: bool,
    /// Lease renewals applied so far. Observers note when it changes (apply has no clock).
    pub heartbeats: u64,
    /// The node's applied index when it sent its last heartbeat.
    pub applied: u64,
}
