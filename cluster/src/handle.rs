//! What the application holds: propose commands from any node, read the applied state (locally
//! or linearizably), watch the leader and the applied index, change membership.

use crate::node::{Request, Shared};
use crate::{ClusterError, StateMachine};
use std::sync::{Arc, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    Leader,
    #[default]
    Follower,
    Candidate,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
        }
    }
}

/// A member as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub raft_addr: String,
    pub voter: bool,
    /// On the leader: the highest log index known replicated on the member.
    pub matched: Option<u64>,
    /// On the leader: whether the member answered within the last election timeout.
    pub recent_active: Option<bool>,
}

/// This node's view of the cluster, refreshed every tick.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterStatus {
    pub id: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub role: Role,
    pub commit_index: u64,
    pub applied_index: u64,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add { id: u64, raft_addr: String },
    Remove { id: u64 },
}

pub struct RaftHandle<S: StateMachine> {
    shared: Arc<Shared<S>>,
}

impl<S: StateMachine> Clone for RaftHandle<S> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<S: StateMachine> RaftHandle<S> {
    pub(crate) fn new(shared: Arc<Shared<S>>) -> Self {
        Self { shared }
    }

    pub fn node_id(&self) -> u64 {
        self.shared.id
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<u64> {
        *self.shared.leader.borrow()
    }

    pub fn watch_leader(&self) -> watch::Receiver<Option<u64>> {
        self.shared.leader.subscribe()
    }

    /// The applied index, updated after every batch of applied entries.
    pub fn watch_applied(&self) -> watch::Receiver<u64> {
        self.shared.applied.subscribe()
    }

    pub fn status(&self) -> ClusterStatus {
        self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `f` on the state as applied on this node (possibly behind the leader).
    pub fn read<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.state())
    }

    fn state(&self) -> RwLockReadGuard<'_, S> {
        self.shared.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, r: Request<S>) -> Result<(), ClusterError> {
        self.shared.requests.send(r).map_err(|_| ClusterError::Stopped)
    }

    /// Waits until a leader is known, or `deadline`.
    async fn await_leader(&self, deadline: Instant) -> Result<(), ClusterError> {
        let mut leader = self.watch_leader();
        let waited =
            tokio::time::timeout_at(deadline, leader.wait_for(|l| l.is_some())).await.map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClusterError::Stopped),
            Err(_) => Err(ClusterError::NoLeader),
        }
    }

    /// Appends `command` to the replicated log (through the leader, from any node) and returns
    /// what the state machine answered once this node applied it. Gives up after the node's
    /// request timeout with `NoLeader` or `Timeout`.
    pub async fn propose(&self, command: S::Command) -> Result<S::Response, ClusterError> {
        self.propose_within(command, self.shared.request_timeout).await
    }

    pub async fn propose_within(
        &self,
        command: S::Command,
        timeout: Duration,
    ) -> Result<S::Response, ClusterError> {
        let data = bincode::serde::encode_to_vec(&command, bincode::config::standard())
            .map_err(|e| ClusterError::Snapshot(e.to_string()))?;
        let deadline = Instant::now() + timeout;
        loop {
            let (reply, answer) = oneshot::channel();
            self.send(Request::Propose { data: data.clone(), reply })?;
            match tokio::time::timeout_at(deadline, answer).await {
                Err(_) => return Err(ClusterError::Timeout(timeout)),
                Ok(Err(_)) => return Err(ClusterError::Stopped),
                Ok(Ok(Err(ClusterError::NoLeader))) => self.await_leader(deadline).await?,
                // Refused before it entered the log: safe to try again.
                Ok(Ok(Err(ClusterError::Busy(reason)))) => {
                    tracing::debug!(%reason, "proposal refused for now, retrying");
                    if tokio::time::timeout_at(deadline, tokio::time::sleep(Duration::from_millis(50)))
                        .await
                        .is_err()
                    {
                        return Err(ClusterError::Timeout(timeout));
                    }
                }
                Ok(Ok(result)) => return result,
            }
        }
    }

    /// Makes sure this node has applied everything committed when the call was made (Raft's
    /// ReadIndex, confirmed by a quorum), so a following `read` is linearizable.
    pub async fn read_index(&self) -> Result<(), ClusterError> {
        let timeout = self.shared.request_timeout;
        let deadline = Instant::now() + timeout;
        let index = loop {
            let (reply, answer) = oneshot::channel();
            self.send(Request::ReadIndex { reply })?;
            // A read can be dropped (a leader not yet settled in its term): ask again soon.
            let attempt = (Instant::now() + Duration::from_millis(500)).min(deadline);
            match tokio::time::timeout_at(attempt, answer).await {
                Ok(Ok(Ok(index))) => break index,
                Ok(Ok(Err(ClusterError::NoLeader))) => self.await_leader(deadline).await?,
                Ok(Ok(Err(e))) => return Err(e),
                Ok(Err(_)) => return Err(ClusterError::Stopped),
                Err(_) if Instant::now() >= deadline => return Err(ClusterError::Timeout(timeout)),
                Err(_) => {}
            }
        };
        let mut applied = self.watch_applied();
        let waited =
            tokio::time::timeout_at(deadline, applied.wait_for(|a| *a >= index)).await.map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClusterError::Stopped),
            Err(_) => Err(ClusterError::Timeout(timeout)),
        }
    }

    /// `read_index`, then `f` on the state.
    pub async fn read_linearizable<R>(&self, f: impl FnOnce(&S) -> R) -> Result<R, ClusterError> {
        self.read_index().await?;
        Ok(self.read(f))
    }

    /// Adds or removes a member (one change at a time, through the leader).
    pub async fn change_members(&self, change: MemberChange) -> Result<(), ClusterError> {
        let timeout = self.shared.request_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            let (reply, answer) = oneshot::channel();
            self.send(Request::ChangeMembers { change: change.clone(), reply })?;
            match tokio::time::timeout_at(deadline, answer).await {
                Ok(Ok(Err(ClusterError::NoLeader))) => self.await_leader(deadline).await?,
                Ok(Ok(result)) => return result,
                Ok(Err(_)) => return Err(ClusterError::Stopped),
                Err(_) => return Err(ClusterError::Timeout(timeout)),
            }
        }
    }

    /// Asks the leader to hand leadership to `to` (a hint; raft-rs may ignore it).
    pub fn transfer_leader(&self, to: u64) {
        let _ = self.send(Request::TransferLeader(to));
    }

    /// Stops the Raft loop; pending requests are answered `Stopped`.
    pub fn stop(&self) {
        let _ = self.send(Request::Stop);
    }

    /// Stops the Raft loop and waits, blocking this thread, until it released its storage or
    /// `timeout` passed; whether it did. For synchronous teardown (a process about to exit
    /// must not leave RocksDB's threads running into its static destructors).
    pub fn shutdown_blocking(&self, timeout: std::time::Duration) -> bool {
        self.stop();
        let deadline = std::time::Instant::now() + timeout;
        while *self.shared.running.borrow() {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        true
    }

    /// Stops the Raft loop and waits until it released its storage.
    pub async fn shutdown(&self) {
        self.stop();
        let mut running = self.shared.running.subscribe();
        let _ = running.wait_for(|r| !*r).await;
    }
}
