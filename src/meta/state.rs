use super::command::{Action, Command};
use super::project::{DataSource, Project, ProjectState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why a command was refused. The state is unchanged when a command is refused.
#[derive(Debug, Clone, PartialEq, Error, Serialize, Deserialize)]
pub enum MetaError {
    #[error("data source {0:?} already exists")]
    DataSourceExists(String),
    #[error("data source {0:?} does not exist")]
    UnknownDataSource(String),
    #[error("data source {name:?} is used by project(s) {projects:?}")]
    DataSourceInUse { name: String, projects: Vec<String> },
    #[error("data source {name:?} is a {actual} source, a {expected} one is needed here")]
    WrongDataSourceType { name: String, expected: String, actual: String },
    #[error("project {0:?} already exists")]
    ProjectExists(String),
    #[error("project {0:?} does not exist")]
    UnknownProject(String),
    #[error("project {name:?} is {state}: cannot {action}")]
    IllegalTransition { name: String, state: String, action: String },
    #[error("project {name:?} is {state}: only created or released projects can be deleted")]
    DeleteNotAllowed { name: String, state: String },
    #[error("stale epoch {epoch} for project {name:?} (current {current})")]
    StaleEpoch { name: String, epoch: u64, current: u64 },
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct MetaState {
    pub data_sources: BTreeMap<String, DataSource>,
    pub projects: BTreeMap<String, Project>,
    /// Index of the last applied command.
    pub applied: u64,
}

/// The transition table (as OMS has it): the state after `action` from `state`, if legal.
pub fn next_state(state: ProjectState, action: Action) -> Option<ProjectState> {
    use Action::*;
    use ProjectState::*;
    match (state, action) {
        (Created, Start) => Some(Running),
        (Running, Pause) => Some(Paused),
        (Paused | Failed, Resume) => Some(Running),
        (Running | Paused | Failed, Stop) => Some(Stopped),
        (Paused | Stopped | Failed, Release) => Some(Released),
        _ => None,
    }
}

impl MetaState {
    fn project_mut(&mut self, name: &str) -> Result<&mut Project, MetaError> {
        self.projects.get_mut(name).ok_or_else(|| MetaError::UnknownProject(name.to_string()))
    }

    fn require_source(&self, name: &str, expected: &str) -> Result<(), MetaError> {
        let ds = self.data_sources.get(name).ok_or_else(|| MetaError::UnknownDataSource(name.to_string()))?;
        if ds.kind.type_name() != expected {
            return Err(MetaError::WrongDataSourceType {
                name: name.to_string(),
                expected: expected.to_string(),
                actual: ds.kind.type_name().to_string(),
            });
        }
        Ok(())
    }

    fn users_of(&self, source: &str) -> Vec<String> {
        self.projects
            .values()
            .filter(|p| p.spec.source == source || p.spec.destination == source)
            .map(|p| p.spec.name.clone())
            .collect()
    }

    fn execute(&mut self, command: Command) -> Result<(), MetaError> {
        match command {
            Command::CreateDataSource { source } => {
                if self.data_sources.contains_key(&source.name) {
                    return Err(MetaError::DataSourceExists(source.name));
                }
                self.data_sources.insert(source.name.clone(), source);
            }
            Command::DeleteDataSource { name } => {
                if !self.data_sources.contains_key(&name) {
                    return Err(MetaError::UnknownDataSource(name));
                }
                let projects = self.users_of(&name);
                if !projects.is_empty() {
                    return Err(MetaError::DataSourceInUse { name, projects });
                }
                self.data_sources.remove(&name);
            }
            Command::CreateProject { spec, now_ms } => {
                if self.projects.contains_key(&spec.name) {
                    return Err(MetaError::ProjectExists(spec.name));
                }
                self.require_source(&spec.source, "mysql")?;
                self.require_source(&spec.destination, "kafka")?;
                let project = Project {
                    spec,
                    state: ProjectState::Created,
                    error: None,
                    epoch: 0,
                    checkpoint: None,
                    created_at_ms: now_ms,
                    updated_at_ms: now_ms,
                };
                self.projects.insert(project.spec.name.clone(), project);
            }
            Command::DeleteProject { name } => {
                let project = self.project_mut(&name)?;
                if !matches!(project.state, ProjectState::Created | ProjectState::Released) {
                    let state = project.state.as_str().to_string();
                    return Err(MetaError::DeleteNotAllowed { name, state });
                }
                self.projects.remove(&name);
            }
            Command::Transition { name, action, now_ms, start_at } => {
                let project = self.project_mut(&name)?;
                let next = next_state(project.state, action).ok_or_else(|| MetaError::IllegalTransition {
                    name: name.clone(),
                    state: project.state.as_str().to_string(),
                    action: action.as_str().to_string(),
                })?;
                if next == ProjectState::Running {
                    project.epoch += 1;
                    project.error = None;
                }
                if let (Action::Start, Some(start)) = (action, start_at) {
                    project.spec.start = start;
                }
                project.state = next;
                project.updated_at_ms = now_ms;
            }
            Command::Fail { name, epoch, error, now_ms } => {
                let project = self.project_mut(&name)?;
                if epoch != project.epoch || project.state != ProjectState::Running {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                project.state = ProjectState::Failed;
                project.error = Some(error);
                project.updated_at_ms = now_ms;
            }
            Command::SaveCheckpoint { name, epoch, checkpoint } => {
                let project = self.project_mut(&name)?;
                if epoch != project.epoch {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                project.checkpoint = Some(checkpoint);
            }
        }
        Ok(())
    }
}

impl cluster::StateMachine for MetaState {
    type Command = Command;
    type Response = Result<(), MetaError>;

    fn apply(&mut self, index: u64, command: Command) -> Result<(), MetaError> {
        self.applied = index;
        self.execute(command)
    }

    fn snapshot(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(self, bincode::config::standard()).expect("metadata serializes")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let (state, _) = bincode::serde::decode_from_slice(snapshot, bincode::config::standard())
            .map_err(|e| e.to_string())?;
        *self = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{DataSourceKind, ProjectOptions, ProjectSpec};
    use crate::model::Checkpoint;
    use cluster::StateMachine;

    fn state_with_sources() -> MetaState {
        let mut s = MetaState::default();
        let mysql =
            DataSourceKind::Mysql { host: "h".into(), port: 1, user: "u".into(), password_sealed: vec![] };
        let kafka = DataSourceKind::Kafka { bootstrap_servers: "k:1".into() };
        for (name, kind) in [("db", mysql), ("mq", kafka)] {
            let source = DataSource { name: name.into(), kind };
            s.apply(1, Command::CreateDataSource { source }).unwrap();
        }
        s
    }

    fn spec(name: &str) -> ProjectSpec {
        ProjectSpec {
            name: name.into(),
            source: "db".into(),
            destination: "mq".into(),
            objects: vec![],
            format: Default::default(),
            partition: Default::default(),
            start: Default::default(),
            options: ProjectOptions::default(),
        }
    }

    fn act(s: &mut MetaState, action: Action) -> Result<(), MetaError> {
        s.apply(9, Command::Transition { name: "p".into(), action, now_ms: 5, start_at: None })
    }

    #[test]
    fn lifecycle_follows_the_transition_table() {
        let mut s = state_with_sources();
        s.apply(2, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        assert_eq!(
            act(&mut s, Action::Pause),
            Err(MetaError::IllegalTransition {
                name: "p".into(),
                state: "created".into(),
                action: "pause".into()
            })
        );
        act(&mut s, Action::Start).unwrap();
        assert_eq!(s.projects["p"].epoch, 1);
        act(&mut s, Action::Pause).unwrap();
        act(&mut s, Action::Resume).unwrap();
        assert_eq!(s.projects["p"].epoch, 2);
        let del = s.apply(10, Command::DeleteProject { name: "p".into() });
        assert!(matches!(del, Err(MetaError::DeleteNotAllowed { .. })));
        assert!(matches!(act(&mut s, Action::Release), Err(MetaError::IllegalTransition { .. })));
        act(&mut s, Action::Stop).unwrap();
        act(&mut s, Action::Release).unwrap();
        assert_eq!(s.projects["p"].state, ProjectState::Released);
        s.apply(11, Command::DeleteProject { name: "p".into() }).unwrap();
        assert!(s.projects.is_empty());
    }

    #[test]
    fn failure_and_checkpoints_are_fenced_by_epoch() {
        let mut s = state_with_sources();
        s.apply(2, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        let cp = Checkpoint { seq: 7, ..Default::default() };
        let stale = Command::SaveCheckpoint { name: "p".into(), epoch: 0, checkpoint: cp.clone() };
        assert!(matches!(s.apply(3, stale), Err(MetaError::StaleEpoch { .. })));
        let fresh = Command::SaveCheckpoint { name: "p".into(), epoch: 1, checkpoint: cp };
        s.apply(4, fresh).unwrap();
        assert_eq!(s.projects["p"].checkpoint.as_ref().unwrap().seq, 7);
        let fail = Command::Fail { name: "p".into(), epoch: 1, error: "boom".into(), now_ms: 2 };
        s.apply(5, fail).unwrap();
        assert_eq!(s.projects["p"].state, ProjectState::Failed);
        act(&mut s, Action::Resume).unwrap();
        assert_eq!(s.projects["p"].error, None);
    }

    #[test]
    fn sources_in_use_cannot_be_deleted_and_types_are_checked() {
        let mut s = state_with_sources();
        let mut bad = spec("p");
        bad.destination = "db".into();
        let err = s.apply(2, Command::CreateProject { spec: bad, now_ms: 1 }).unwrap_err();
        assert!(matches!(err, MetaError::WrongDataSourceType { .. }));
        s.apply(3, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        let err = s.apply(4, Command::DeleteDataSource { name: "mq".into() }).unwrap_err();
        assert_eq!(err, MetaError::DataSourceInUse { name: "mq".into(), projects: vec!["p".into()] });
    }

    #[test]
    fn snapshot_round_trips() {
        let mut s = state_with_sources();
        s.apply(2, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        let mut restored = MetaState::default();
        restored.restore(&s.snapshot()).unwrap();
        assert_eq!(restored.projects, s.projects);
        assert_eq!(restored.data_sources, s.data_sources);
    }
}
