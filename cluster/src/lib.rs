//! A replicated state machine node, independent of what the state means.
//!
//! Application state implements [`StateMachine`]; commands reach it only through
//! [`RaftHandle::propose`], which appends them to a durable log and applies them in log order.
//! Readers see the state through [`RaftHandle::read`] and follow changes with
//! [`RaftHandle::watch_applied`].
//!
//! Today the engine is a one-node group ([`Node::open`]): a command is committed once its log
//! entry is synced to RocksDB. The multi-node raft-rs engine slots in behind the same handle;
//! [`ClusterError::ForwardToLeader`] is already part of the contract.

mod error;
mod node;
mod state_machine;
mod storage;

pub use error::ClusterError;
pub use node::{Node, NodeConfig, RaftHandle};
pub use state_machine::StateMachine;
