//! The replicated metadata: data sources, projects and their checkpoints.
//!
//! Every change is a [`Command`] applied by [`MetaState::apply`] in log order (through the
//! `cluster` crate). `apply` is pure: callers put clock readings into the commands.

mod command;
mod project;
mod state;

pub use command::{Action, Command};
pub use project::{
    DataSource, DataSourceKind, Partition, Project, ProjectOptions, ProjectSpec, ProjectState,
};
pub use state::{MetaError, MetaState};

/// The handle the rest of Ferry uses to read and change metadata.
pub type Meta = cluster::RaftHandle<MetaState>;
