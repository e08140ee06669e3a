use super::project::{DataSource, HistoryEntry, ProjectSpec};
use crate::model::{Checkpoint, Position, TableChanges};
use crate::source::StartPoint;
use serde::{Deserialize, Serialize};

/// A project lifecycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
    Pause,
    Resume,
    Stop,
    Release,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Stop => "stop",
            Action::Release => "release",
        }
    }
}

/// A connector's checkpoint as it travels through the log: the position and totals, and only
/// the per-table counters that changed since its last saved checkpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckpointUpdate {
    pub project: String,
    pub connector: String,
    pub epoch: u64,
    pub seq: u64,
    pub position: Position,
    pub commit_ts: u32,
    pub rows: u64,
    pub bytes: u64,
    /// `db.table` -> rows delivered, for the tables whose count changed.
    pub tables: Vec<(String, u64)>,
    /// `db.table` -> changes by operation, for the tables whose counts changed.
    pub changes: Vec<(String, TableChanges)>,
}

impl CheckpointUpdate {
    /// The update that takes a connector from `saved` to `current`.
    pub fn between(
        project: &str,
        connector: &str,
        epoch: u64,
        saved: &Checkpoint,
        current: &Checkpoint,
    ) -> Self {
        let tables = current
            .tables
            .iter()
            .filter(|(t, n)| saved.tables.get(*t) != Some(n))
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        let changes = current
            .changes
            .iter()
            .filter(|(t, c)| saved.changes.get(*t) != Some(c))
            .map(|(t, c)| (t.clone(), *c))
            .collect();
        Self {
            project: project.to_string(),
            connector: connector.to_string(),
            epoch,
            seq: current.seq,
            position: current.position.clone(),
            commit_ts: current.commit_ts,
            rows: current.rows,
            bytes: current.bytes,
            tables,
            changes,
        }
    }

    /// Applies the update to the checkpoint it was computed against.
    pub fn apply_to(self, checkpoint: &mut Checkpoint) {
        checkpoint.seq = self.seq;
        checkpoint.position = self.position;
        checkpoint.commit_ts = self.commit_ts;
        checkpoint.rows = self.rows;
        checkpoint.bytes = self.bytes;
        checkpoint.tables.extend(self.tables);
        checkpoint.changes.extend(self.changes);
    }
}

/// Every change to the metadata. `now_ms` is the proposer's clock, so `apply` stays pure.
/// The log holds these as [`super::wire::LogCommand`], a versioned copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateDataSource {
        source: DataSource,
    },
    DeleteDataSource {
        name: String,
    },
    /// A data source's connection changes (a source moved to a replica, a new password). Its
    /// running projects get a new epoch: they restart with it.
    UpdateDataSource {
        source: DataSource,
        now_ms: u64,
    },
    CreateProject {
        spec: ProjectSpec,
        now_ms: u64,
    },
    DeleteProject {
        name: String,
    },
    /// `start_at`: on `Start`, the source position "now" resolved to when the user started the
    /// project (so every change committed after the API answered is synced).
    Transition {
        name: String,
        action: Action,
        now_ms: u64,
        start_at: Option<StartPoint>,
    },
    /// A running project's store or connector hit a definite error.
    Fail {
        name: String,
        epoch: u64,
        error: String,
        now_ms: u64,
    },
    /// Every checkpoint a node's connectors saved since its last batch. Those of a stale epoch
    /// are refused (`MetaError::Fenced` names them); the others apply.
    SaveCheckpoints {
        node: u64,
        checkpoints: Vec<CheckpointUpdate>,
    },
    /// Entries of a project's schema history, from its store of `epoch`: replicated before the
    /// store appends anything decoded with them, so no checkpoint passes a definition the
    /// cluster does not have.
    SaveSchemaHistory {
        name: String,
        epoch: u64,
        entries: Vec<HistoryEntry>,
    },
    /// A node (re)started: it is active, at these addresses.
    NodeUp {
        node: u64,
        raft: String,
        http: String,
    },
    /// A node renews its lease. `applied` is its applied index when it sent this.
    Heartbeat {
        node: u64,
        applied: u64,
    },
    /// A node is going away (SIGTERM, or about to be removed): it gets no new work and hands
    /// off what it runs.
    NodeLeaving {
        node: u64,
    },
    /// The node is no longer a member of the Raft group.
    NodeRemoved {
        node: u64,
    },
    /// The supervisor places a running project on `node`, raising its epoch. `epoch` is the
    /// epoch it saw; `lost` is the node it moves the project away from, with the number of
    /// heartbeats it had seen from it: a heartbeat committed since then refuses the move.
    Place {
        project: String,
        node: u64,
        epoch: u64,
        lost: Option<(u64, u64)>,
    },
    /// Connector `connector` of a running project goes to `node` (none: back with the store),
    /// raising the epoch: the whole project restarts, the connector on its new node reading the
    /// store's log over the network. `lost` as for `Place`: a move off a node thought lost.
    PlaceConnector {
        project: String,
        connector: String,
        node: Option<u64>,
        epoch: u64,
        lost: Option<(u64, u64)>,
    },
    /// The supervisor asks the project's node to hand it off (stop it, save a last checkpoint).
    Release {
        project: String,
        epoch: u64,
    },
    /// A node stopped these projects (name, epoch) after a `Release` or when leaving.
    Released {
        node: u64,
        projects: Vec<(String, u64)>,
    },
    /// A connector goes to another transaction end its store still holds (`seq` in the change
    /// log, `position` in the source). Only for the running epoch that resolved it; the epoch is
    /// raised, so the project restarts with the connector from there.
    ResetCheckpoint {
        name: String,
        connector: String,
        epoch: u64,
        seq: u64,
        position: Position,
        commit_ts: u32,
        now_ms: u64,
    },
    /// Records the proof that the cluster's key file is known (a value sealed with it), once.
    SetKeyCheck {
        sealed: Vec<u8>,
    },
}
