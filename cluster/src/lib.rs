//! A replicated state machine on raft-rs, independent of what the state means.
//!
//! Application state implements [`StateMachine`]; commands reach it only through
//! [`RaftHandle::propose`] (from any node: a follower's proposal is forwarded to the leader by
//! Raft), and every node applies them in log order. Readers see the applied state through
//! [`RaftHandle::read`], or linearizably after [`RaftHandle::read_index`], and follow changes
//! with [`RaftHandle::watch_applied`] and [`RaftHandle::watch_leader`].
//!
//! - [`node`]: the Raft loop (one owner of the `RawNode`) and [`NodeConfig`];
//! - [`storage`]: `raft::Storage` on RocksDB;
//! - [`transport`]: the [`Transport`] trait, a TCP one and an in-memory one for tests.
//!
//! A node started with one voter (itself) is a one-node cluster: it elects itself at once.

mod error;
mod handle;
mod logger;
mod node;
mod state_machine;
mod storage;
pub mod transport;

#[cfg(test)]
mod tests;

pub use error::ClusterError;
pub use handle::{ClusterStatus, Member, MemberChange, RaftHandle, Role};
pub use node::{Node, NodeConfig};
pub use state_machine::StateMachine;
pub use transport::{memory::MemNetwork, tcp::TcpTransport, Inbox, Mailbox, Transport};

/// A one-node cluster in `config.dir`, with no network.
pub fn single_node<S: StateMachine>(config: NodeConfig, state: S) -> Result<RaftHandle<S>, ClusterError> {
    let (_, inbox) = Mailbox::new();
    Node::start(config, state, std::sync::Arc::new(transport::NoPeers), inbox)
}
