use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    /// No leader is known: a quorum of nodes is not reachable (or an election is under way).
    #[error("no leader: a quorum of the cluster's nodes is not reachable")]
    NoLeader,
    /// The command was handed to Raft but not applied in time; it may still be applied if a
    /// quorum comes back.
    #[error("not confirmed by a quorum within {0:?} (it may still be applied if a quorum returns)")]
    Timeout(Duration),
    /// The command was definitely not applied: a new leader overwrote its entry.
    #[error("the proposal was dropped: {0}")]
    Dropped(String),
    /// Raft refused the proposal for now (a leadership transfer, too much uncommitted).
    #[error("the proposal was refused for now: {0}")]
    Busy(String),
    /// A membership change that cannot be made as asked.
    #[error("{0}")]
    Membership(String),
    #[error("raft storage: {0}")]
    Storage(#[from] rocksdb::Error),
    #[error("corrupt log entry {index}: {reason}")]
    Corrupt { index: u64, reason: String },
    #[error("state machine snapshot: {0}")]
    Snapshot(String),
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Config(String),
    #[error("the node is shutting down")]
    Stopped,
}

impl ClusterError {
    /// The cluster could not commit it now (no leader, no quorum in time, a leader change):
    /// worth trying again.
    pub fn is_no_quorum(&self) -> bool {
        matches!(
            self,
            ClusterError::NoLeader
                | ClusterError::Timeout(_)
                | ClusterError::Dropped(_)
                | ClusterError::Busy(_)
        )
    }
}
