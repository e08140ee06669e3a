use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    /// This node is not the leader; the caller should retry at `leader` (if known).
    #[error("not the leader; the leader is node {leader:?}")]
    ForwardToLeader { leader: Option<u64> },
    #[error("raft storage: {0}")]
    Storage(#[from] rocksdb::Error),
    #[error("corrupt log entry {index}: {reason}")]
    Corrupt { index: u64, reason: String },
    #[error("state machine snapshot: {0}")]
    Snapshot(String),
    #[error("the node is shutting down")]
    Stopped,
}
