//! The replicated metadata: data sources, projects, their placements and checkpoints, and the
//! nodes of the cluster.
//!
//! Every change is a [`Command`] applied by [`MetaState::apply`] in log order (through the
//! `cluster` crate). `apply` is pure: callers put clock readings into the commands. The log
//! holds commands as [`LogCommand`], a versioned wire type (`wire.rs`).

mod checkpoints;
mod command;
mod node;
mod project;
mod sources;
mod state;
mod wire;

pub use checkpoints::{CheckpointSaver, SaveError};
pub use command::{Action, CheckpointUpdate, Command};
pub use node::NodeRecord;
pub use project::{
    checkpoint_key, ConnectorSpec, DataSource, DataSourceKind, DatahubRecordType, HistoryEntry, LogicalTable,
    Partition, Placement, Project, ProjectOptions, ProjectSpec, ProjectState, Sasl, SaslMechanism,
    SnapshotOptions, StoreOptions, SyncMode, SyncModes, Tls, DEFAULT_CONNECTOR,
};
pub use sources::{ProjectSources, SourceServer, SourcesError};
pub use state::{MetaError, MetaState};
pub use wire::LogCommand;

/// The handle the rest of Ferry uses to read and change metadata.
pub type Meta = cluster::RaftHandle<MetaState>;

/// Proposes `command` and returns the state machine's answer. Cluster errors (no quorum, the
/// node stopping) are the outer `Result`.
pub async fn propose(meta: &Meta, command: Command) -> Result<Result<(), MetaError>, cluster::ClusterError> {
    meta.propose(command.into()).await
}
