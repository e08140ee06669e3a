use super::project::{DataSource, ProjectSpec};
use crate::model::Checkpoint;
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

/// Every change to the metadata. `now_ms` is the proposer's clock, so `apply` stays pure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    CreateDataSource {
        source: DataSource,
    },
    DeleteDataSource {
        name: String,
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
    SaveCheckpoint {
        name: String,
        epoch: u64,
        checkpoint: Checkpoint,
    },
}
