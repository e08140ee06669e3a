//! How Raft messages travel between nodes. A [`Transport`] sends, best effort (Raft retransmits
//! what is lost); what arrives is handed to the receiving node's [`Mailbox`].
//!
//! - [`tcp`]: between processes, each connection authenticated with the cluster secret;
//! - [`memory`]: in one process, for tests, able to drop, delay, reorder and partition.

pub mod memory;
pub mod tcp;

use raft::eraftpb::Message;
use std::collections::BTreeMap;

pub trait Transport: Send + Sync + 'static {
    /// Queues `messages` for their `to` nodes; never blocks.
    fn send(&self, messages: Vec<Message>);

    /// The members' Raft addresses, from the replicated membership (called at start and after
    /// every membership change).
    fn set_peers(&self, _peers: &BTreeMap<u64, String>) {}
}

/// What reaches a node from outside its Raft loop.
pub(crate) enum Inbound {
    Raft(Message),
    Unreachable(u64),
}

/// The receiving end a transport delivers to. Cheap to clone.
#[derive(Clone)]
pub struct Mailbox {
    tx: crossbeam_channel::Sender<Inbound>,
}

/// The node's side of its [`Mailbox`], given to [`crate::Node::start`].
pub struct Inbox {
    pub(crate) rx: crossbeam_channel::Receiver<Inbound>,
}

impl Mailbox {
    pub fn new() -> (Mailbox, Inbox) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Mailbox { tx }, Inbox { rx })
    }

    pub fn deliver(&self, message: Message) {
        let _ = self.tx.send(Inbound::Raft(message));
    }

    /// `peer` could not be reached: the leader probes it instead of streaming to it.
    pub fn unreachable(&self, peer: u64) {
        let _ = self.tx.send(Inbound::Unreachable(peer));
    }
}

/// The transport of a one-node cluster: there is no one to send to.
pub struct NoPeers;

impl Transport for NoPeers {
    fn send(&self, messages: Vec<Message>) {
        if let Some(m) = messages.first() {
            tracing::warn!(to = m.to, "a one-node cluster has no transport: message dropped");
        }
    }
}
