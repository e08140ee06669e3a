//! The Raft loop: one thread owns the `RawNode`, its storage and the state machine's writes.
//!
//! Each turn: take what arrived (Raft messages, proposals, reads, membership changes), tick
//! every `tick`, then handle the Ready in raft-rs's documented order: send the messages that
//! may go early, install a snapshot, apply committed entries, persist entries and HardState
//! in one synced batch, send the messages that needed them persisted, advance, handle the
//! LightReady, advance the applied index. Nothing is sent that depends on unsynced state.
//!
//! Proposals carry `(proposer node, proposal id)` in the entry context: a follower's proposal
//! is forwarded to the leader by raft-rs, and every node answers its own proposals when it
//! applies their entries. A proposal made on the leader also records its index: if another
//! entry is applied at that index (a new leader overwrote it), it is answered `Dropped`.

use crate::handle::{ClusterStatus, Member, MemberChange, RaftHandle, Role};
use crate::storage::RaftStorage;
use crate::transport::{Inbound, Inbox, Transport};
use crate::{ClusterError, StateMachine};
use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfState, Entry, EntryType, Snapshot};
use raft::{RawNode, ReadState, StateRole};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: u64,
    /// Where the Raft log, HardState and snapshots live (a RocksDB directory).
    pub dir: PathBuf,
    /// The voters (id -> Raft address) to bootstrap with when the directory is new. Empty: the
    /// node joins an existing cluster and waits to be added.
    pub bootstrap: BTreeMap<u64, String>,
    pub tick: Duration,
    /// Election timeout, in ticks (randomized between this and twice this).
    pub election_ticks: usize,
    pub heartbeat_ticks: usize,
    /// Take a snapshot of the state machine and compact the log every this many entries.
    pub snapshot_every: u64,
    /// How long `propose` and linearizable reads wait before answering no quorum.
    pub request_timeout: Duration,
}

impl NodeConfig {
    /// A one-node cluster in `dir`.
    pub fn single(dir: impl Into<PathBuf>) -> Self {
        Self::new(1, dir, [(1, String::new())].into())
    }

    pub fn new(id: u64, dir: impl Into<PathBuf>, bootstrap: BTreeMap<u64, String>) -> Self {
        Self {
            id,
            dir: dir.into(),
            bootstrap,
            tick: Duration::from_millis(100),
            election_ticks: 10,
            heartbeat_ticks: 2,
            snapshot_every: 10_000,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// What a snapshot carries besides raft's metadata: the member addresses and the state.
#[derive(Serialize, Deserialize)]
struct SnapshotData {
    version: u32,
    members: BTreeMap<u64, String>,
    state: Vec<u8>,
}

const SNAPSHOT_VERSION: u32 = 1;

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).expect("in-memory encoding")
}

fn decode<T: serde::de::DeserializeOwned>(index: u64, bytes: &[u8]) -> Result<T, ClusterError> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| ClusterError::Corrupt { index, reason: e.to_string() })
}

pub(crate) enum Request<S: StateMachine> {
    Propose { data: Vec<u8>, reply: oneshot::Sender<Result<S::Response, ClusterError>> },
    ChangeMembers { change: MemberChange, reply: oneshot::Sender<Result<(), ClusterError>> },
    ReadIndex { reply: oneshot::Sender<Result<u64, ClusterError>> },
    TransferLeader(u64),
    Stop,
}

enum Reply<R> {
    Command(oneshot::Sender<Result<R, ClusterError>>),
    Members(oneshot::Sender<Result<(), ClusterError>>),
}

impl<R> Reply<R> {
    fn fail(self, e: ClusterError) {
        match self {
            Reply::Command(r) => drop(r.send(Err(e))),
            Reply::Members(r) => drop(r.send(Err(e))),
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Reply::Command(r) => r.is_closed(),
            Reply::Members(r) => r.is_closed(),
        }
    }
}

/// What the handle and the loop share.
pub(crate) struct Shared<S: StateMachine> {
    pub id: u64,
    pub state: RwLock<S>,
    pub requests: crossbeam_channel::Sender<Request<S>>,
    pub applied: watch::Sender<u64>,
    pub leader: watch::Sender<Option<u64>>,
    pub status: Mutex<ClusterStatus>,
    pub request_timeout: Duration,
    /// False once the loop ended and released its storage.
    pub running: watch::Sender<bool>,
}

/// Starts a node: opens (or bootstraps) its storage, restores the state machine from the last
/// snapshot and runs the Raft loop on a thread of its own. Committed entries after the snapshot
/// are re-applied by the loop before anything new.
pub struct Node;

impl Node {
    pub fn start<S: StateMachine>(
        config: NodeConfig,
        mut state: S,
        transport: Arc<dyn Transport>,
        inbox: Inbox,
    ) -> Result<RaftHandle<S>, ClusterError> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| ClusterError::Config(format!("creating {}: {e}", config.dir.display())))?;
        let mut storage = RaftStorage::open(&config.dir)?;
        if !storage.is_initialized() && !config.bootstrap.is_empty() {
            if !config.bootstrap.contains_key(&config.id) {
                return Err(ClusterError::Config(format!(
                    "node {} is not one of the peers it bootstraps with ({:?})",
                    config.id,
                    config.bootstrap.keys().collect::<Vec<_>>()
                )));
            }
            // Every bootstrapping node starts from the same snapshot at index 1: the voters,
            // their addresses and the empty state. A node added later receives it (or a newer
            // one) from the leader.
            let mut snap = Snapshot::default();
            let meta = snap.mut_metadata();
            meta.index = 1;
            meta.term = 1;
            meta.mut_conf_state().voters = config.bootstrap.keys().copied().collect();
            let data = SnapshotData {
                version: SNAPSHOT_VERSION,
                members: config.bootstrap.clone(),
                state: state.snapshot(),
            };
            snap.data = encode(&data).into();
            storage.install_snapshot(snap)?;
            tracing::info!(node = config.id, voters = ?config.bootstrap.keys().collect::<Vec<_>>(), "bootstrapped a new cluster log");
        }
        let snap = storage.snapshot_ref().clone();
        let snap_index = snap.get_metadata().index;
        let mut members = BTreeMap::new();
        if snap_index > 0 {
            let data: SnapshotData = decode(snap_index, &snap.data)?;
            state.restore(&data.state).map_err(ClusterError::Snapshot)?;
            members = data.members;
        }
        let conf_state = snap.get_metadata().get_conf_state().clone();
        let raft_config = raft::Config {
            id: config.id,
            election_tick: config.election_ticks,
            heartbeat_tick: config.heartbeat_ticks,
            applied: snap_index,
            check_quorum: true,
            pre_vote: true,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            ..Default::default()
        };
        raft_config.validate()?;
        let logger = crate::logger::logger(config.id);
        let mut rn = RawNode::new(&raft_config, storage, &logger)?;
        let voters = conf_state.voters.clone();
        if voters == [config.id] {
            // Alone: no one to wait for.
            rn.campaign()?;
        }
        transport.set_peers(&members);
        let (requests, requests_rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            id: config.id,
            state: RwLock::new(state),
            requests,
            applied: watch::channel(snap_index).0,
            leader: watch::channel(None).0,
            status: Mutex::new(ClusterStatus::default()),
            request_timeout: config.request_timeout,
            running: watch::channel(true).0,
        });
        let core = Core {
            id: config.id,
            rn,
            shared: shared.clone(),
            transport,
            members,
            conf_state,
            applied: snap_index,
            snapshot_every: config.snapshot_every.max(1),
            last_snapshot: snap_index,
            pending: HashMap::new(),
            by_index: BTreeMap::new(),
            reads: HashMap::new(),
            next_id: 1,
        };
        let tick = config.tick;
        std::thread::Builder::new()
            .name(format!("raft-{}", config.id))
            .spawn(move || {
                let shared = core.run(inbox, requests_rx, tick);
                // The core (and with it the storage) is gone: the directory can be reopened.
                shared.running.send_replace(false);
            })
            .map_err(|e| ClusterError::Config(format!("starting the raft thread: {e}")))?;
        Ok(RaftHandle::new(shared))
    }
}

struct Pending<R> {
    reply: Reply<R>,
}

struct Core<S: StateMachine> {
    id: u64,
    rn: RawNode<RaftStorage>,
    shared: Arc<Shared<S>>,
    transport: Arc<dyn Transport>,
    members: BTreeMap<u64, String>,
    conf_state: ConfState,
    applied: u64,
    snapshot_every: u64,
    last_snapshot: u64,
    pending: HashMap<u64, Pending<S::Response>>,
    /// Index -> proposal id, for proposals made while leader.
    by_index: BTreeMap<u64, u64>,
    reads: HashMap<u64, oneshot::Sender<Result<u64, ClusterError>>>,
    next_id: u64,
}

fn context(node: u64, id: u64) -> Vec<u8> {
    let mut c = node.to_be_bytes().to_vec();
    c.extend_from_slice(&id.to_be_bytes());
    c
}

fn parse_context(c: &[u8]) -> Option<(u64, u64)> {
    (c.len() == 16).then(|| {
        (
            u64::from_be_bytes(c[..8].try_into().expect("8 bytes")),
            u64::from_be_bytes(c[8..].try_into().expect("8 bytes")),
        )
    })
}

impl<S: StateMachine> Core<S> {
    fn run(
        mut self,
        inbox: Inbox,
        requests: crossbeam_channel::Receiver<Request<S>>,
        tick: Duration,
    ) -> Arc<Shared<S>> {
        let mut inbox = inbox.rx;
        let mut next_tick = Instant::now() + tick;
        let mut stop = false;
        while !stop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            crossbeam_channel::select! {
                recv(inbox) -> m => match m {
                    Ok(m) => self.inbound(m),
                    // No transport (a one-node cluster): nothing will ever arrive.
                    Err(_) => inbox = crossbeam_channel::never(),
                },
                recv(requests) -> r => match r {
                    Ok(Request::Stop) | Err(_) => stop = true,
                    Ok(r) => self.request(r),
                },
                default(wait) => {}
            }
            // Take what else is waiting, a bounded amount so ticks keep their pace.
            for m in inbox.try_iter().take(1024) {
                self.inbound(m);
            }
            for r in requests.try_iter().take(1024) {
                match r {
                    Request::Stop => stop = true,
                    r => self.request(r),
                }
            }
            if Instant::now() >= next_tick {
                self.rn.tick();
                next_tick = Instant::now() + tick;
                self.housekeeping();
            }
            if let Err(e) = self.on_ready() {
                tracing::error!(node = self.id, error = %e, "the raft loop stopped");
                break;
            }
        }
        for (_, p) in self.pending.drain() {
            p.reply.fail(ClusterError::Stopped);
        }
        for (_, r) in self.reads.drain() {
            let _ = r.send(Err(ClusterError::Stopped));
        }
        self.shared.leader.send_replace(None);
        tracing::info!(node = self.id, "raft loop ended");
        self.shared.clone()
    }

    fn inbound(&mut self, m: Inbound) {
        match m {
            Inbound::Raft(m) => {
                if let Err(e) = self.rn.step(m) {
                    tracing::debug!(node = self.id, error = %e, "raft message not stepped");
                }
            }
            Inbound::Unreachable(peer) => self.rn.report_unreachable(peer),
        }
    }

    fn leader_known(&self) -> bool {
        self.rn.raft.leader_id != raft::INVALID_ID
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Remembers a proposal just handed to raft.
    fn track(&mut self, id: u64, reply: Reply<S::Response>) {
        if self.rn.raft.state == StateRole::Leader {
            let index = self.rn.raft.raft_log.last_index();
            self.by_index.insert(index, id);
        }
        self.pending.insert(id, Pending { reply });
    }

    fn request(&mut self, r: Request<S>) {
        match r {
            Request::Propose { data, reply } => {
                if !self.leader_known() {
                    let _ = reply.send(Err(ClusterError::NoLeader));
                    return;
                }
                let id = self.next_id();
                match self.rn.propose(context(self.id, id), data) {
                    Ok(()) => self.track(id, Reply::Command(reply)),
                    Err(e) => drop(reply.send(Err(ClusterError::Busy(e.to_string())))),
                }
            }
            Request::ChangeMembers { change, reply } => {
                if let Err(e) = self.check_change(&change) {
                    let _ = reply.send(Err(e));
                    return;
                }
                let mut cc = ConfChange::default();
                match change {
                    MemberChange::Add { id, raft_addr } => {
                        cc.set_change_type(ConfChangeType::AddNode);
                        cc.node_id = id;
                        cc.context = raft_addr.into_bytes().into();
                    }
                    MemberChange::Remove { id } => {
                        cc.set_change_type(ConfChangeType::RemoveNode);
                        cc.node_id = id;
                    }
                }
                let id = self.next_id();
                match self.rn.propose_conf_change(context(self.id, id), cc) {
                    Ok(()) => self.track(id, Reply::Members(reply)),
                    Err(e) => drop(reply.send(Err(ClusterError::Busy(e.to_string())))),
                }
            }
            Request::ReadIndex { reply } => {
                if !self.leader_known() {
                    let _ = reply.send(Err(ClusterError::NoLeader));
                    return;
                }
                let id = self.next_id();
                self.rn.read_index(id.to_be_bytes().to_vec());
                self.reads.insert(id, reply);
            }
            Request::TransferLeader(to) => self.rn.transfer_leader(to),
            Request::Stop => {}
        }
    }

    fn check_change(&self, change: &MemberChange) -> Result<(), ClusterError> {
        if !self.leader_known() {
            return Err(ClusterError::NoLeader);
        }
        // A follower's change is forwarded to the leader; only the leader knows for sure
        // whether one is still being applied.
        if self.rn.raft.state == StateRole::Leader && self.rn.raft.has_pending_conf() {
            return Err(ClusterError::Membership("another membership change is still being applied".into()));
        }
        match change {
            MemberChange::Add { id, raft_addr } => {
                if *id == 0 {
                    return Err(ClusterError::Membership("node ids start at 1".into()));
                }
                if self.members.contains_key(id) {
                    return Err(ClusterError::Membership(format!("node {id} is already a member")));
                }
                if let Some((other, _)) = self.members.iter().find(|(_, a)| *a == raft_addr) {
                    return Err(ClusterError::Membership(format!(
                        "the Raft address {raft_addr} is already used by node {other}"
                    )));
                }
            }
            MemberChange::Remove { id } => {
                if !self.members.contains_key(id) {
                    return Err(ClusterError::Membership(format!("node {id} is not a member")));
                }
                if self.conf_state.voters == [*id] {
                    return Err(ClusterError::Membership(format!(
                        "node {id} is the last node: it cannot be removed"
                    )));
                }
            }
        }
        Ok(())
    }

    fn housekeeping(&mut self) {
        // Callers that gave up (timed out) no longer need an answer.
        self.pending.retain(|_, p| !p.reply.is_closed());
        let pending = &self.pending;
        self.by_index.retain(|_, id| pending.contains_key(id));
        self.reads.retain(|_, r| !r.is_closed());
        self.publish_status();
    }

    fn on_ready(&mut self) -> Result<(), ClusterError> {
        if !self.rn.has_ready() {
            return Ok(());
        }
        let mut ready = self.rn.ready();
        let leader_changed = ready.ss().is_some();
        if !ready.messages().is_empty() {
            self.send(ready.take_messages());
        }
        if !ready.snapshot().is_empty() {
            self.install_snapshot(ready.snapshot().clone())?;
        }
        for rs in ready.take_read_states() {
            self.read_state(rs);
        }
        self.apply(ready.take_committed_entries())?;
        self.rn.mut_store().persist(ready.entries(), ready.hs())?;
        if !ready.persisted_messages().is_empty() {
            self.send(ready.take_persisted_messages());
        }
        let mut light = self.rn.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.rn.mut_store().set_commit(commit)?;
        }
        let messages = light.take_messages();
        if !messages.is_empty() {
            self.send(messages);
        }
        self.apply(light.take_committed_entries())?;
        self.rn.advance_apply();
        self.maybe_compact()?;
        self.shared.applied.send_if_modified(|a| std::mem::replace(a, self.applied) != self.applied);
        if leader_changed {
            let leader = Some(self.rn.raft.leader_id).filter(|l| *l != raft::INVALID_ID);
            let changed = self.shared.leader.send_if_modified(|l| std::mem::replace(l, leader) != leader);
            if changed {
                tracing::info!(node = self.id, ?leader, term = self.rn.raft.term, "leader changed");
            }
        }
        self.publish_status();
        Ok(())
    }

    /// Hands messages to the transport. A snapshot is reported sent at once: the leader then
    /// probes the follower, and if the snapshot was lost the probe fails and it sends another
    /// (without a report it would wait for that follower forever).
    fn send(&mut self, messages: Vec<raft::eraftpb::Message>) {
        let snapshots: Vec<u64> = messages
            .iter()
            .filter(|m| m.get_msg_type() == raft::eraftpb::MessageType::MsgSnapshot)
            .map(|m| m.to)
            .collect();
        self.transport.send(messages);
        for to in snapshots {
            self.rn.report_snapshot(to, raft::SnapshotStatus::Finish);
        }
    }

    fn read_state(&mut self, rs: ReadState) {
        let Ok(bytes) = <[u8; 8]>::try_from(rs.request_ctx.as_slice()) else { return };
        if let Some(reply) = self.reads.remove(&u64::from_be_bytes(bytes)) {
            let _ = reply.send(Ok(rs.index));
        }
    }

    fn install_snapshot(&mut self, snap: Snapshot) -> Result<(), ClusterError> {
        let index = snap.get_metadata().index;
        let data: SnapshotData = decode(index, &snap.data)?;
        self.shared
            .state
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .restore(&data.state)
            .map_err(ClusterError::Snapshot)?;
        self.members = data.members;
        self.conf_state = snap.get_metadata().get_conf_state().clone();
        self.rn.mut_store().install_snapshot(snap)?;
        self.transport.set_peers(&self.members);
        self.applied = index;
        self.last_snapshot = index;
        // Proposals we made at indexes the snapshot covers are settled, we cannot tell how.
        let covered: Vec<u64> = self.by_index.range(..=index).map(|(_, id)| *id).collect();
        for id in covered {
            if let Some(p) = self.pending.remove(&id) {
                p.reply.fail(ClusterError::Timeout(Duration::ZERO));
            }
        }
        self.by_index = self.by_index.split_off(&(index + 1));
        tracing::info!(node = self.id, index, "installed a snapshot from the leader");
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), ClusterError> {
        if entries.is_empty() {
            return Ok(());
        }
        let shared = self.shared.clone();
        let mut state = shared.state.write().unwrap_or_else(|p| p.into_inner());
        for e in entries {
            let index = e.index;
            let proposal = parse_context(&e.context);
            let ours = proposal.filter(|(node, _)| *node == self.id).map(|(_, id)| id);
            if let Some(id) = self.by_index.remove(&index) {
                if ours != Some(id) {
                    if let Some(p) = self.pending.remove(&id) {
                        p.reply.fail(ClusterError::Dropped("a new leader replaced it".into()));
                    }
                }
            }
            match e.get_entry_type() {
                EntryType::EntryNormal if e.data.is_empty() => {} // a new leader's first entry
                EntryType::EntryNormal => {
                    let command = decode::<S::Command>(index, &e.data)?;
                    let response = state.apply(index, command);
                    if let Some(Pending { reply: Reply::Command(r) }) =
                        ours.and_then(|id| self.pending.remove(&id))
                    {
                        let _ = r.send(Ok(response));
                    }
                }
                EntryType::EntryConfChange => {
                    let cc = ConfChange::parse_from_bytes(&e.data)
                        .map_err(|err| ClusterError::Corrupt { index, reason: err.to_string() })?;
                    self.conf_state = self.rn.apply_conf_change(&cc)?;
                    match cc.get_change_type() {
                        ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
                            let addr = String::from_utf8_lossy(&cc.context).into_owned();
                            tracing::info!(node = self.id, added = cc.node_id, %addr, "membership: node added");
                            self.members.insert(cc.node_id, addr);
                        }
                        ConfChangeType::RemoveNode => {
                            tracing::info!(node = self.id, removed = cc.node_id, "membership: node removed");
                            self.members.remove(&cc.node_id);
                            if cc.node_id == self.id && self.rn.raft.state == StateRole::Leader {
                                // raft-rs lets a removed leader go on leading: hand over to
                                // the most up-to-date remaining voter.
                                let raft = &self.rn.raft;
                                let next = self
                                    .conf_state
                                    .voters
                                    .iter()
                                    .filter_map(|id| raft.prs().get(*id).map(|p| (p.matched, *id)))
                                    .max();
                                if let Some((_, to)) = next {
                                    tracing::info!(
                                        node = self.id,
                                        to,
                                        "removed from the cluster: handing leadership over"
                                    );
                                    self.rn.transfer_leader(to);
                                }
                            }
                        }
                    }
                    self.transport.set_peers(&self.members);
                    if let Some(p) = ours.and_then(|id| self.pending.remove(&id)) {
                        match p.reply {
                            Reply::Members(r) => drop(r.send(Ok(()))),
                            other => other.fail(ClusterError::Dropped("not a command".into())),
                        }
                    }
                }
                EntryType::EntryConfChangeV2 => {
                    return Err(ClusterError::Corrupt {
                        index,
                        reason: "unexpected ConfChangeV2 entry".into(),
                    })
                }
            }
            self.applied = index;
        }
        Ok(())
    }

    /// Snapshots the state machine and compacts the log every `snapshot_every` entries, or
    /// at once when a follower needs a snapshot the stored one cannot serve (a node added
    /// after it was taken).
    fn maybe_compact(&mut self) -> Result<(), ClusterError> {
        let wanted = self.rn.store().take_snapshot_request() && self.applied > self.last_snapshot;
        if self.applied < self.last_snapshot + self.snapshot_every && !wanted {
            return Ok(());
        }
        let term = self.rn.store().term_of(self.applied).ok_or_else(|| ClusterError::Corrupt {
            index: self.applied,
            reason: "applied entry not in the log".into(),
        })?;
        let state = self.shared.state.read().unwrap_or_else(|p| p.into_inner()).snapshot();
        let data = SnapshotData { version: SNAPSHOT_VERSION, members: self.members.clone(), state };
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = self.applied;
        snap.mut_metadata().term = term;
        snap.mut_metadata().set_conf_state(self.conf_state.clone());
        snap.data = encode(&data).into();
        self.rn.mut_store().compact(snap)?;
        tracing::debug!(node = self.id, index = self.applied, "compacted the raft log");
        self.last_snapshot = self.applied;
        Ok(())
    }

    fn publish_status(&self) {
        let raft = &self.rn.raft;
        let leader = Some(raft.leader_id).filter(|l| *l != raft::INVALID_ID);
        let is_leader = raft.state == StateRole::Leader;
        let members = self
            .members
            .iter()
            .map(|(id, addr)| {
                let progress = if is_leader { raft.prs().get(*id) } else { None };
                Member {
                    id: *id,
                    raft_addr: addr.clone(),
                    voter: self.conf_state.voters.contains(id),
                    matched: progress.map(|p| p.matched),
                    recent_active: progress.map(|p| p.recent_active || *id == self.id),
                }
            })
            .collect();
        let status = ClusterStatus {
            id: self.id,
            leader,
            term: raft.term,
            role: match raft.state {
                StateRole::Leader => Role::Leader,
                StateRole::Follower => Role::Follower,
                StateRole::Candidate | StateRole::PreCandidate => Role::Candidate,
            },
            commit_index: raft.raft_log.committed,
            applied_index: self.applied,
            members,
        };
        *self.shared.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }
}
