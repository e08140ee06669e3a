use super::command::{Action, Command};
use super::node::NodeRecord;
use super::project::{DataSource, DataSourceKind, Placement, Project, ProjectState};
use super::wire::LogCommand;
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
    /// A project would write into the data source it reads.
    #[error("data source {name:?} is the project's source: it cannot be its destination too")]
    DestinationIsSource { name: String },
    #[error("project {0:?} already exists")]
    ProjectExists(String),
    #[error("project {0:?} does not exist")]
    UnknownProject(String),
    #[error("project {project:?} has no connector {connector:?}")]
    UnknownConnector { project: String, connector: String },
    #[error("project {name:?} is {state}: cannot {action}")]
    IllegalTransition { name: String, state: String, action: String },
    #[error("project {name:?} is {state}: only created or released projects can be deleted")]
    DeleteNotAllowed { name: String, state: String },
    #[error("stale epoch {epoch} for project {name:?} (current {current})")]
    StaleEpoch { name: String, epoch: u64, current: u64 },
    /// Checkpoints of these projects were refused: a newer placement owns them.
    #[error("fenced out: project(s) {projects:?} run elsewhere now")]
    Fenced { projects: Vec<String> },
    #[error("node {0} is not known to the cluster")]
    UnknownNode(u64),
    #[error("node {0} is leaving the cluster: it takes no new work")]
    NodeLeaving(u64),
    #[error("node {0} renewed its lease since it was thought lost")]
    NodeAlive(u64),
}

/// The replicated metadata. Serialized (as JSON, fields only ever added with defaults) into
/// Raft snapshots.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MetaState {
    pub data_sources: BTreeMap<String, DataSource>,
    pub projects: BTreeMap<String, Project>,
    pub nodes: BTreeMap<u64, NodeRecord>,
    /// A value sealed with the cluster's key file: a node that cannot open it has another key.
    pub key_check: Option<Vec<u8>>,
    /// Raised by every command that can change what should run where (not by checkpoints or
    /// heartbeats), so the node agents and the supervisor need not look at every applied entry.
    pub generation: u64,
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
    /// The projects placed on `node`, with their epochs.
    pub fn placed_on(&self, node: u64) -> impl Iterator<Item = &Project> + '_ {
        self.projects.values().filter(move |p| p.placement.as_ref().is_some_and(|pl| pl.uses(node)))
    }

    /// A move to `to` (a known node that is not leaving), and away from `lost` (a node and the
    /// heartbeats seen from it: one committed since refuses the move).
    fn check_move(&self, to: Option<u64>, lost: Option<(u64, u64)>) -> Result<(), MetaError> {
        if let Some(node) = to {
            match self.nodes.get(&node) {
                None => return Err(MetaError::UnknownNode(node)),
                Some(n) if n.leaving => return Err(MetaError::NodeLeaving(node)),
                Some(_) => {}
            }
        }
        match lost {
            Some((lost, heartbeats)) if self.nodes.get(&lost).is_some_and(|n| n.heartbeats != heartbeats) => {
                Err(MetaError::NodeAlive(lost))
            }
            _ => Ok(()),
        }
    }

    fn node_mut(&mut self, id: u64) -> Result<&mut NodeRecord, MetaError> {
        self.nodes.get_mut(&id).ok_or(MetaError::UnknownNode(id))
    }

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

    /// The projects that read or write `source`, and the sharded sources it is an instance of.
    fn users_of(&self, source: &str) -> Vec<String> {
        let projects = self.projects.values().filter(|p| {
            p.spec.source == source || p.spec.connectors().iter().any(|c| c.destination == source)
        });
        let sharded = self.data_sources.values().filter(
            |d| matches!(&d.kind, DataSourceKind::Dbp { instances, .. } if instances.iter().any(|i| i == source)),
        );
        projects.map(|p| p.spec.name.clone()).chain(sharded.map(|d| d.name.clone())).collect()
    }

    /// The instances of a sharded source: every one a mysql data source.
    fn check_instances(&self, source: &DataSource) -> Result<(), MetaError> {
        if let DataSourceKind::Dbp { instances, .. } = &source.kind {
            for instance in instances {
                self.require_source(instance, "mysql")?;
            }
        }
        Ok(())
    }

    /// The mysql servers a project reading `source` reads: its instances, or itself.
    fn source_servers(&self, source: &str) -> Vec<String> {
        match self.data_sources.get(source).map(|d| &d.kind) {
            Some(DataSourceKind::Dbp { instances, .. }) => instances.clone(),
            _ => vec![source.to_string()],
        }
    }

    fn execute(&mut self, command: Command) -> Result<(), MetaError> {
        match command {
            Command::CreateDataSource { source } => {
                if self.data_sources.contains_key(&source.name) {
                    return Err(MetaError::DataSourceExists(source.name));
                }
                self.check_instances(&source)?;
                self.data_sources.insert(source.name.clone(), source);
            }
            Command::UpdateDataSource { source, now_ms } => {
                let old = self
                    .data_sources
                    .get(&source.name)
                    .ok_or_else(|| MetaError::UnknownDataSource(source.name.clone()))?;
                if old.kind.type_name() != source.kind.type_name() {
                    return Err(MetaError::WrongDataSourceType {
                        name: source.name,
                        expected: old.kind.type_name().to_string(),
                        actual: source.kind.type_name().to_string(),
                    });
                }
                self.check_instances(&source)?;
                if matches!(source.kind, DataSourceKind::Dbp { .. }) && old.kind != source.kind {
                    let projects: Vec<String> = self
                        .projects
                        .values()
                        .filter(|p| p.spec.source == source.name)
                        .map(|p| p.spec.name.clone())
                        .collect();
                    if !projects.is_empty() {
                        return Err(MetaError::DataSourceInUse { name: source.name, projects });
                    }
                }
                let users = self.users_of(&source.name);
                // A project reading a sharded source through this instance restarts with it too.
                let readers: Vec<String> = self
                    .projects
                    .values()
                    .filter(|p| p.instances.contains(&source.name))
                    .map(|p| p.spec.name.clone())
                    .collect();
                self.data_sources.insert(source.name.clone(), source);
                for name in users.into_iter().chain(readers) {
                    let Some(project) = self.projects.get_mut(&name) else { continue };
                    if project.state == ProjectState::Running {
                        project.epoch += 1;
                        project.updated_at_ms = now_ms;
                    }
                }
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
                let instances = match self.data_sources.get(&spec.source).map(|d| &d.kind) {
                    Some(DataSourceKind::Dbp { instances, .. }) => instances.clone(),
                    _ => {
                        self.require_source(&spec.source, "mysql")?;
                        Vec::new()
                    }
                };
                let servers = self.source_servers(&spec.source);
                // Every kind is a destination (Kafka, or a database), but not the source itself.
                for connector in spec.connectors() {
                    if connector.destination == spec.source || servers.contains(&connector.destination) {
                        return Err(MetaError::DestinationIsSource { name: connector.destination });
                    }
                    match self.data_sources.get(&connector.destination).map(|d| &d.kind) {
                        None => return Err(MetaError::UnknownDataSource(connector.destination)),
                        Some(DataSourceKind::Dbp { .. }) => {
                            return Err(MetaError::WrongDataSourceType {
                                name: connector.destination,
                                expected: "a destination (kafka, rocketmq, datahub, mysql or oceanbase)"
                                    .into(),
                                actual: "dbp".into(),
                            })
                        }
                        Some(_) => {}
                    }
                }
                let project = Project {
                    spec,
                    state: ProjectState::Created,
                    error: None,
                    epoch: 0,
                    placement: None,
                    checkpoints: Default::default(),
                    schema_history: Vec::new(),
                    instances,
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
                match next {
                    ProjectState::Running => {
                        // Resume where it ran (its store is there); the supervisor moves it if
                        // that node is gone.
                        project.epoch += 1;
                        project.error = None;
                        if let Some(p) = &mut project.placement {
                            p.releasing = false;
                        }
                    }
                    ProjectState::Stopped | ProjectState::Released => project.placement = None,
                    _ => {}
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
            Command::SaveCheckpoints { node: _, checkpoints } => {
                let mut fenced = Vec::new();
                for update in checkpoints {
                    match self.projects.get_mut(&update.project) {
                        Some(p) if p.epoch == update.epoch && p.has_checkpoint_key(&update.connector) => {
                            let checkpoint = p.checkpoints.entry(update.connector.clone()).or_default();
                            update.apply_to(checkpoint)
                        }
                        _ => fenced.push(update.project),
                    }
                }
                if !fenced.is_empty() {
                    return Err(MetaError::Fenced { projects: fenced });
                }
            }
            Command::ResetCheckpoint { name, connector, epoch, seq, position, commit_ts, now_ms } => {
                let project = self.project_mut(&name)?;
                // (A paused or failed project resumes from the reset checkpoint.)
                let resettable = [ProjectState::Running, ProjectState::Paused, ProjectState::Failed];
                if epoch != project.epoch || !resettable.contains(&project.state) {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                if project.spec.connector(&connector).is_none() {
                    return Err(MetaError::UnknownConnector { project: name, connector });
                }
                let checkpoint = project.checkpoints.entry(connector).or_default();
                checkpoint.seq = seq;
                checkpoint.position = position;
                checkpoint.commit_ts = commit_ts;
                project.epoch += 1;
                project.updated_at_ms = now_ms;
            }
            Command::SaveSchemaHistory { name, epoch, entries } => {
                let project = self.project_mut(&name)?;
                if epoch != project.epoch {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                project.save_history(entries);
            }
            Command::NodeUp { node, raft, http } => {
                let record = self.nodes.entry(node).or_insert_with(|| NodeRecord {
                    id: node,
                    raft: String::new(),
                    http: String::new(),
                    leaving: false,
                    heartbeats: 0,
                    applied: 0,
                });
                record.raft = raft;
                record.http = http;
                record.leaving = false;
            }
            Command::Heartbeat { node, applied } => {
                let record = self.node_mut(node)?;
                record.heartbeats += 1;
                record.applied = applied;
            }
            Command::NodeLeaving { node } => {
                self.node_mut(node)?.leaving = true;
                for project in self.projects.values_mut() {
                    if let Some(p) = project.placement.as_mut().filter(|p| p.node == node) {
                        p.releasing = true;
                    }
                }
            }
            Command::NodeRemoved { node } => {
                self.nodes.remove(&node).ok_or(MetaError::UnknownNode(node))?;
            }
            Command::Place { project: name, node, epoch, lost } => {
                self.check_move(Some(node), lost)?;
                let project = self.project_mut(&name)?;
                if epoch != project.epoch || project.state != ProjectState::Running {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                project.epoch += 1;
                // Connectors placed apart stay where they are, unless on the lost node (they
                // come with the store) or on the store's new node.
                let mut placement = project.placement.take().unwrap_or_else(|| Placement::on(node));
                let gone = lost.map(|(n, _)| n);
                placement.connectors.retain(|_, n| *n != node && Some(*n) != gone);
                placement.node = node;
                placement.releasing = false;
                project.placement = Some(placement);
            }
            Command::PlaceConnector { project: name, connector, node, epoch, lost } => {
                self.check_move(node, lost)?;
                let project = self.project_mut(&name)?;
                if project.spec.connector(&connector).is_none() {
                    return Err(MetaError::UnknownConnector { project: name, connector });
                }
                let placement = match &mut project.placement {
                    Some(p) if epoch == project.epoch && project.state == ProjectState::Running => p,
                    _ => return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch }),
                };
                match node.filter(|&n| n != placement.node) {
                    Some(n) => placement.connectors.insert(connector, n),
                    None => placement.connectors.remove(&connector),
                };
                project.epoch += 1;
            }
            Command::Release { project: name, epoch } => {
                let project = self.project_mut(&name)?;
                if epoch != project.epoch {
                    return Err(MetaError::StaleEpoch { name, epoch, current: project.epoch });
                }
                if let Some(p) = &mut project.placement {
                    p.releasing = true;
                }
            }
            Command::Released { node, projects } => {
                for (name, epoch) in projects {
                    if let Some(p) = self.projects.get_mut(&name) {
                        if p.epoch == epoch && p.placement.as_ref().is_some_and(|pl| pl.node == node) {
                            p.placement = None;
                        }
                    }
                }
            }
            Command::SetKeyCheck { sealed } => {
                self.key_check.get_or_insert(sealed);
            }
        }
        Ok(())
    }
}

/// Whether a command can change what should run where.
fn moves_work(command: &Command) -> bool {
    !matches!(
        command,
        Command::SaveCheckpoints { .. }
            | Command::SaveSchemaHistory { .. }
            | Command::Heartbeat { .. }
            | Command::SetKeyCheck { .. }
    )
}

impl cluster::StateMachine for MetaState {
    type Command = LogCommand;
    type Response = Result<(), MetaError>;

    fn apply(&mut self, index: u64, command: LogCommand) -> Result<(), MetaError> {
        self.applied = index;
        let kafka_only = command.destinations_kafka_only();
        let command = command.into_command();
        if moves_work(&command) {
            self.generation += 1;
        }
        // An entry is applied under the rules it was written with, so replaying the log accepts
        // and refuses what it did then.
        if let (true, Command::CreateProject { spec, .. }) = (kafka_only, &command) {
            for connector in spec.connectors() {
                self.require_source(&connector.destination, "kafka")?;
            }
        }
        self.execute(command)
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata serializes")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let mut json: serde_json::Value =
            serde_json::from_slice(snapshot).map_err(|e| format!("metadata snapshot: {e}"))?;
        upgrade_snapshot(&mut json);
        *self = serde_json::from_value(json).map_err(|e| format!("metadata snapshot: {e}"))?;
        Ok(())
    }
}

/// Snapshots written before projects had several connectors hold one `checkpoint` per project:
/// it becomes the checkpoint of the `default` connector.
fn upgrade_snapshot(json: &mut serde_json::Value) {
    let Some(projects) = json.get_mut("projects").and_then(|p| p.as_object_mut()) else { return };
    for project in projects.values_mut().filter_map(|p| p.as_object_mut()) {
        if let Some(old) = project.remove("checkpoint").filter(|c| !c.is_null()) {
            project.insert("checkpoints".into(), serde_json::json!({ super::DEFAULT_CONNECTOR: old }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::CheckpointUpdate;
    use crate::meta::{DataSourceKind, HistoryEntry, ProjectOptions, ProjectSpec};
    use crate::model::{Checkpoint, Position, TableChanges};
    use cluster::StateMachine;

    /// Applies a model command the way the log does (through its wire form).
    fn run(s: &mut MetaState, c: Command) -> Result<(), MetaError> {
        s.apply(s.applied + 1, c.into())
    }

    fn state_with_sources() -> MetaState {
        let mut s = MetaState::default();
        let mysql = DataSourceKind::Mysql {
            host: "h".into(),
            port: 1,
            user: "u".into(),
            password_sealed: vec![],
            tls: None,
        };
        let kafka = DataSourceKind::Kafka {
            bootstrap_servers: "k:1".into(),
            replication_factor: None,
            dead_letter_topic: None,
            tls: None,
            sasl: None,
        };
        for (name, kind) in [("db", mysql), ("mq", kafka)] {
            let source = DataSource { name: name.into(), kind };
            run(&mut s, Command::CreateDataSource { source }).unwrap();
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
            store: Default::default(),
            connectors: Vec::new(),
            routes: Vec::new(),
            sync: Default::default(),
            snapshot: Default::default(),
        }
    }

    fn act(s: &mut MetaState, action: Action) -> Result<(), MetaError> {
        run(s, Command::Transition { name: "p".into(), action, now_ms: 5, start_at: None })
    }

    #[test]
    fn a_data_source_update_restarts_its_running_projects_only() {
        let mut s = state_with_sources();
        for name in ["p", "idle"] {
            run(&mut s, Command::CreateProject { spec: spec(name), now_ms: 1 }).unwrap();
        }
        act(&mut s, Action::Start).unwrap();
        let moved = DataSourceKind::Mysql {
            host: "replica".into(),
            port: 2,
            user: "u".into(),
            password_sealed: vec![],
            tls: None,
        };
        let update =
            |kind| Command::UpdateDataSource { source: DataSource { name: "db".into(), kind }, now_ms: 9 };
        run(&mut s, update(moved.clone())).unwrap();
        assert_eq!(s.data_sources["db"].kind, moved);
        assert_eq!(
            (s.projects["p"].epoch, s.projects["p"].updated_at_ms),
            (2, 9),
            "the running one restarts"
        );
        assert_eq!(s.projects["idle"].epoch, 0, "one that does not run is left alone");
        let kafka = DataSourceKind::Kafka {
            bootstrap_servers: "k:2".into(),
            replication_factor: None,
            dead_letter_topic: None,
            tls: None,
            sasl: None,
        };
        assert!(matches!(run(&mut s, update(kafka)), Err(MetaError::WrongDataSourceType { .. })));
        let unknown =
            Command::UpdateDataSource { source: DataSource { name: "nope".into(), kind: moved }, now_ms: 9 };
        assert_eq!(run(&mut s, unknown), Err(MetaError::UnknownDataSource("nope".into())));
    }

    #[test]
    fn a_sharded_source_reads_mysql_instances_checkpointed_each_on_its_own() {
        let mut s = state_with_sources();
        let dbp = |instances: &[&str]| DataSource {
            name: "shop".into(),
            kind: DataSourceKind::Dbp {
                instances: instances.iter().map(|i| i.to_string()).collect(),
                tables: vec![crate::meta::LogicalTable {
                    logical: "shop.orders".into(),
                    physical: "shop_{0..1}.orders".into(),
                }],
            },
        };
        let create = |instances: &[&str]| Command::CreateDataSource { source: dbp(instances) };
        assert!(matches!(run(&mut s, create(&["db", "mq"])), Err(MetaError::WrongDataSourceType { .. })));
        assert_eq!(run(&mut s, create(&["db", "nope"])), Err(MetaError::UnknownDataSource("nope".into())));
        let b = DataSourceKind::Mysql {
            host: "b".into(),
            port: 1,
            user: "u".into(),
            password_sealed: vec![],
            tls: None,
        };
        run(&mut s, Command::CreateDataSource { source: DataSource { name: "db_b".into(), kind: b } })
            .unwrap();
        run(&mut s, create(&["db", "db_b"])).unwrap();
        // An instance is not the project's destination, nor can it go while the source uses it.
        let into_instance = ProjectSpec { source: "shop".into(), destination: "db_b".into(), ..spec("p") };
        let refused = run(&mut s, Command::CreateProject { spec: into_instance, now_ms: 1 });
        assert!(matches!(refused, Err(MetaError::DestinationIsSource { .. })), "{refused:?}");
        let used = run(&mut s, Command::DeleteDataSource { name: "db_b".into() });
        assert!(matches!(used, Err(MetaError::DataSourceInUse { .. })), "{used:?}");

        let sharded = ProjectSpec { source: "shop".into(), ..spec("p") };
        run(&mut s, Command::CreateProject { spec: sharded, now_ms: 1 }).unwrap();
        assert_eq!(s.projects["p"].instances, ["db", "db_b"]);
        act(&mut s, Action::Start).unwrap();
        let at = |seq, commit_ts, rows| Checkpoint { seq, commit_ts, rows, ..Default::default() };
        let save = |key: &str, cp: &Checkpoint| Command::SaveCheckpoints {
            node: 1,
            checkpoints: vec![CheckpointUpdate::between("p", key, 1, &Checkpoint::default(), cp)],
        };
        assert!(matches!(run(&mut s, save("default", &at(1, 1, 1))), Err(MetaError::Fenced { .. })));
        assert!(matches!(run(&mut s, save("default@db_c", &at(1, 1, 1))), Err(MetaError::Fenced { .. })));
        run(&mut s, save("default@db", &at(9, 100, 5))).unwrap();
        let p = &s.projects["p"];
        assert_eq!(p.connector_checkpoint("default"), None, "none before every instance has one");
        assert_eq!(p.oldest_checkpoint_in(Some("db")).seq, 9);
        assert_eq!(p.oldest_checkpoint_in(Some("db_b")).seq, 0);
        run(&mut s, save("default@db_b", &at(4, 90, 2))).unwrap();
        let merged = s.projects["p"].checkpoint("default");
        assert_eq!((merged.commit_ts, merged.rows), (90, 7), "the oldest time, the rows of both");
    }

    #[test]
    fn schema_history_is_kept_by_key_from_the_current_epoch_only() {
        let mut s = state_with_sources();
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        let entry = |k: &str, v: &str| HistoryEntry { key: k.into(), value: v.into() };
        let save = |epoch, entries| Command::SaveSchemaHistory { name: "p".into(), epoch, entries };
        run(&mut s, save(1, vec![entry("b", "1"), entry("a", "1")])).unwrap();
        run(&mut s, save(1, vec![entry("b", "2")])).unwrap();
        assert_eq!(s.projects["p"].schema_history, vec![entry("a", "1"), entry("b", "2")]);
        assert!(matches!(run(&mut s, save(0, vec![entry("c", "1")])), Err(MetaError::StaleEpoch { .. })));
        assert_eq!(s.projects["p"].schema_history.len(), 2);
    }

    #[test]
    fn lifecycle_follows_the_transition_table() {
        let mut s = state_with_sources();
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
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
        let del = run(&mut s, Command::DeleteProject { name: "p".into() });
        assert!(matches!(del, Err(MetaError::DeleteNotAllowed { .. })));
        assert!(matches!(act(&mut s, Action::Release), Err(MetaError::IllegalTransition { .. })));
        act(&mut s, Action::Stop).unwrap();
        act(&mut s, Action::Release).unwrap();
        assert_eq!(s.projects["p"].state, ProjectState::Released);
        run(&mut s, Command::DeleteProject { name: "p".into() }).unwrap();
        assert!(s.projects.is_empty());
    }

    #[test]
    fn failure_and_checkpoints_are_fenced_by_epoch() {
        let mut s = state_with_sources();
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        let cp = Checkpoint { seq: 7, ..Default::default() };
        let update = |epoch| CheckpointUpdate::between("p", "default", epoch, &Checkpoint::default(), &cp);
        let stale = Command::SaveCheckpoints { node: 1, checkpoints: vec![update(0)] };
        assert_eq!(run(&mut s, stale), Err(MetaError::Fenced { projects: vec!["p".into()] }));
        let fresh = Command::SaveCheckpoints { node: 1, checkpoints: vec![update(1)] };
        run(&mut s, fresh).unwrap();
        assert_eq!(s.projects["p"].checkpoint("default").seq, 7);
        let unknown = CheckpointUpdate::between("p", "k9", 1, &Checkpoint::default(), &cp);
        let refused = run(&mut s, Command::SaveCheckpoints { node: 1, checkpoints: vec![unknown] });
        assert_eq!(refused, Err(MetaError::Fenced { projects: vec!["p".into()] }), "no connector k9");
        let fail = Command::Fail { name: "p".into(), epoch: 1, error: "boom".into(), now_ms: 2 };
        run(&mut s, fail).unwrap();
        assert_eq!(s.projects["p"].state, ProjectState::Failed);
        act(&mut s, Action::Resume).unwrap();
        assert_eq!(s.projects["p"].error, None);
    }

    #[test]
    fn sources_in_use_cannot_be_deleted_and_types_are_checked() {
        let mut s = state_with_sources();
        let mut bad = spec("p");
        bad.destination = "db".into();
        let err = run(&mut s, Command::CreateProject { spec: bad, now_ms: 1 }).unwrap_err();
        assert_eq!(err, MetaError::DestinationIsSource { name: "db".into() });
        let mut bad = spec("p");
        bad.source = "mq".into();
        let err = run(&mut s, Command::CreateProject { spec: bad, now_ms: 1 }).unwrap_err();
        assert!(matches!(err, MetaError::WrongDataSourceType { .. }));
        let mut bad = spec("p");
        bad.destination = "nowhere".into();
        let err = run(&mut s, Command::CreateProject { spec: bad, now_ms: 1 }).unwrap_err();
        assert_eq!(err, MetaError::UnknownDataSource("nowhere".into()));
        // A database is a destination too: another MySQL server, or OceanBase.
        for (name, kind) in [
            (
                "db2",
                DataSourceKind::Mysql {
                    host: "h2".into(),
                    port: 1,
                    user: "u".into(),
                    password_sealed: vec![],
                    tls: None,
                },
            ),
            (
                "ob",
                DataSourceKind::Oceanbase {
                    host: "o".into(),
                    port: 2881,
                    user: "u".into(),
                    password_sealed: vec![],
                    tls: None,
                },
            ),
        ] {
            run(&mut s, Command::CreateDataSource { source: DataSource { name: name.into(), kind } })
                .unwrap();
            let mut into_db = spec(&format!("into-{name}"));
            into_db.destination = name.into();
            run(&mut s, Command::CreateProject { spec: into_db, now_ms: 1 }).unwrap();
        }
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        let err = run(&mut s, Command::DeleteDataSource { name: "mq".into() }).unwrap_err();
        assert_eq!(err, MetaError::DataSourceInUse { name: "mq".into(), projects: vec!["p".into()] });
    }

    #[test]
    fn snapshot_round_trips() {
        let mut s = state_with_sources();
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        let mut restored = MetaState::default();
        restored.restore(&s.snapshot()).unwrap();
        assert_eq!(restored.projects, s.projects);
        assert_eq!(restored.data_sources, s.data_sources);
    }

    fn node_up(s: &mut MetaState, node: u64) {
        let up = Command::NodeUp {
            node,
            raft: format!("10.0.0.{node}:7001"),
            http: format!("10.0.0.{node}:8990"),
        };
        run(s, up).unwrap();
    }

    #[test]
    fn a_connector_runs_apart_from_its_store_until_its_node_is_lost() {
        let mut s = state_with_sources();
        for n in 1..=3 {
            node_up(&mut s, n);
        }
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        run(&mut s, Command::Place { project: "p".into(), node: 1, epoch: 1, lost: None }).unwrap();
        let place = |node, epoch, lost| Command::PlaceConnector {
            project: "p".into(),
            connector: "default".into(),
            node,
            epoch,
            lost,
        };
        let gen = s.generation;
        run(&mut s, place(Some(2), 2, None)).unwrap();
        assert!(s.generation > gen, "a connector placement moves work");
        let p = &s.projects["p"];
        let pl = p.placement.as_ref().unwrap();
        assert_eq!((p.epoch, pl.node, pl.connector_node("default")), (3, 1, 2));
        assert!(pl.uses(2) && !pl.uses(3));
        assert_eq!(s.placed_on(2).count(), 1);
        // Stale, unknown connector, unknown node: refused.
        assert!(matches!(run(&mut s, place(Some(3), 2, None)), Err(MetaError::StaleEpoch { .. })));
        let unknown = Command::PlaceConnector {
            project: "p".into(),
            connector: "nope".into(),
            node: Some(3),
            epoch: 3,
            lost: None,
        };
        assert!(matches!(run(&mut s, unknown), Err(MetaError::UnknownConnector { .. })));
        assert_eq!(run(&mut s, place(Some(9), 3, None)), Err(MetaError::UnknownNode(9)));
        // The store moves off lost node 1: the connector stays on node 2.
        let seen = s.nodes[&1].heartbeats;
        run(&mut s, Command::Place { project: "p".into(), node: 3, epoch: 3, lost: Some((1, seen)) })
            .unwrap();
        let pl = s.projects["p"].placement.clone().unwrap();
        assert_eq!((pl.node, pl.connector_node("default")), (3, 2));
        // Node 2 is lost in turn: the connector comes back with the store.
        let seen = s.nodes[&2].heartbeats;
        run(&mut s, place(None, 4, Some((2, seen)))).unwrap();
        let pl = s.projects["p"].placement.clone().unwrap();
        assert_eq!((pl.node, pl.connector_node("default"), s.projects["p"].epoch), (3, 3, 5));
        assert!(pl.connectors.is_empty());
        // The store moving to the connector's node takes it in.
        run(&mut s, place(Some(2), 5, None)).unwrap();
        run(&mut s, Command::Place { project: "p".into(), node: 2, epoch: 6, lost: None }).unwrap();
        assert!(s.projects["p"].placement.as_ref().unwrap().connectors.is_empty());
        // The placement survives a snapshot.
        run(&mut s, place(Some(1), 7, None)).unwrap();
        let mut restored = MetaState::default();
        restored.restore(&s.snapshot()).unwrap();
        assert_eq!(restored.projects["p"].placement, s.projects["p"].placement);
    }

    #[test]
    fn placements_raise_the_epoch_and_fence_the_previous_run() {
        let mut s = state_with_sources();
        node_up(&mut s, 1);
        node_up(&mut s, 2);
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        let gen = s.generation;
        run(&mut s, Command::Place { project: "p".into(), node: 1, epoch: 1, lost: None }).unwrap();
        assert!(s.generation > gen, "a placement moves work");
        assert_eq!((s.projects["p"].epoch, s.projects["p"].placement.as_ref().unwrap().node), (2, 1));
        // A second supervisor decision based on epoch 1 is stale.
        let late = run(&mut s, Command::Place { project: "p".into(), node: 2, epoch: 1, lost: None });
        assert!(matches!(late, Err(MetaError::StaleEpoch { .. })));

        // Node 1 renews after the supervisor counted its heartbeats: the move is refused.
        let seen = s.nodes[&1].heartbeats;
        let gen = s.generation;
        run(&mut s, Command::Heartbeat { node: 1, applied: 9 }).unwrap();
        assert_eq!(s.generation, gen, "heartbeats move no work");
        let refused =
            run(&mut s, Command::Place { project: "p".into(), node: 2, epoch: 2, lost: Some((1, seen)) });
        assert_eq!(refused, Err(MetaError::NodeAlive(1)));
        run(&mut s, Command::Place { project: "p".into(), node: 2, epoch: 2, lost: Some((1, seen + 1)) })
            .unwrap();
        assert_eq!(s.projects["p"].epoch, 3);

        // The old run's checkpoint is refused, the new one's is taken, in one batch.
        let cp =
            Checkpoint { seq: 9, rows: 4, tables: [("shop.a".to_string(), 4)].into(), ..Default::default() };
        let batch = Command::SaveCheckpoints {
            node: 1,
            checkpoints: vec![
                CheckpointUpdate::between("p", "default", 2, &Checkpoint::default(), &cp),
                CheckpointUpdate::between("gone", "default", 1, &Checkpoint::default(), &cp),
            ],
        };
        assert_eq!(run(&mut s, batch), Err(MetaError::Fenced { projects: vec!["p".into(), "gone".into()] }));
        assert!(s.projects["p"].checkpoints.is_empty());
        let ok = Command::SaveCheckpoints {
            node: 2,
            checkpoints: vec![CheckpointUpdate::between("p", "default", 3, &Checkpoint::default(), &cp)],
        };
        run(&mut s, ok).unwrap();
        assert_eq!(s.projects["p"].checkpoint("default").tables["shop.a"], 4);

        // Only changed table counters travel; the others are kept.
        let mut next = cp.clone();
        next.seq = 12;
        next.tables.insert("shop.b".into(), 1);
        let update = CheckpointUpdate::between("p", "default", 3, &cp, &next);
        assert_eq!(update.tables, vec![("shop.b".to_string(), 1)]);
        run(&mut s, Command::SaveCheckpoints { node: 2, checkpoints: vec![update] }).unwrap();
        assert_eq!(s.projects["p"].checkpoint("default").tables, next.tables);

        // Changes by operation travel the same way: only the tables whose counts moved.
        let mut counted = next.clone();
        counted.seq = 13;
        counted
            .changes
            .insert("shop.a".into(), TableChanges { inserted: 2, updated: 1, deleted: 0, last_ts: 77 });
        let update = CheckpointUpdate::between("p", "default", 3, &next, &counted);
        assert_eq!((update.tables.len(), update.changes.len()), (0, 1));
        run(&mut s, Command::SaveCheckpoints { node: 2, checkpoints: vec![update] }).unwrap();
        assert_eq!(s.projects["p"].checkpoint("default"), counted);
    }

    #[test]
    fn a_connector_resets_while_its_project_runs_is_paused_or_failed_not_once_stopped() {
        let mut s = state_with_sources();
        node_up(&mut s, 1);
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        run(&mut s, Command::Place { project: "p".into(), node: 1, epoch: 1, lost: None }).unwrap();
        let reset = |epoch: u64, seq: u64| Command::ResetCheckpoint {
            name: "p".into(),
            connector: "default".into(),
            epoch,
            seq,
            position: Position { file: "bin.000001".into(), pos: seq * 100, gtid: None },
            commit_ts: 5,
            now_ms: 9,
        };
        run(&mut s, reset(2, 4)).unwrap();
        assert_eq!((s.projects["p"].epoch, s.projects["p"].checkpoint("default").seq), (3, 4));
        act(&mut s, Action::Pause).unwrap();
        let epoch = s.projects["p"].epoch;
        run(&mut s, reset(epoch, 2)).unwrap();
        assert_eq!(s.projects["p"].checkpoint("default").position.pos, 200, "paused: resumes there");
        act(&mut s, Action::Stop).unwrap();
        let epoch = s.projects["p"].epoch;
        assert!(matches!(run(&mut s, reset(epoch, 1)), Err(MetaError::StaleEpoch { .. })));
        assert_eq!(s.projects["p"].checkpoint("default").seq, 2);
    }

    #[test]
    fn a_leaving_node_releases_its_projects_and_gets_no_new_ones() {
        let mut s = state_with_sources();
        node_up(&mut s, 1);
        node_up(&mut s, 2);
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        act(&mut s, Action::Start).unwrap();
        run(&mut s, Command::Place { project: "p".into(), node: 1, epoch: 1, lost: None }).unwrap();
        run(&mut s, Command::NodeLeaving { node: 1 }).unwrap();
        assert!(s.projects["p"].placement.as_ref().unwrap().releasing);
        let refused = run(&mut s, Command::Place { project: "p".into(), node: 1, epoch: 2, lost: None });
        assert_eq!(refused, Err(MetaError::NodeLeaving(1)));
        // A report for another epoch or node changes nothing; the right one frees the project.
        run(&mut s, Command::Released { node: 2, projects: vec![("p".into(), 2)] }).unwrap();
        run(&mut s, Command::Released { node: 1, projects: vec![("p".into(), 1)] }).unwrap();
        assert!(s.projects["p"].placement.is_some());
        run(&mut s, Command::Released { node: 1, projects: vec![("p".into(), 2)] }).unwrap();
        assert_eq!(s.projects["p"].placement, None);
        run(&mut s, Command::Place { project: "p".into(), node: 2, epoch: 2, lost: None }).unwrap();
        // Restarted, the node is active again; removed, it is forgotten.
        node_up(&mut s, 1);
        assert!(!s.nodes[&1].leaving);
        run(&mut s, Command::NodeRemoved { node: 1 }).unwrap();
        assert!(!s.nodes.contains_key(&1));
        assert_eq!(run(&mut s, Command::Heartbeat { node: 1, applied: 1 }), Err(MetaError::UnknownNode(1)));
    }

    #[test]
    fn snapshots_are_json_and_tolerate_missing_fields() {
        let mut s = state_with_sources();
        node_up(&mut s, 3);
        let mut restored = MetaState::default();
        restored.restore(&s.snapshot()).unwrap();
        assert_eq!(restored.nodes, s.nodes);
        // A snapshot written before nodes and placements existed still restores.
        let old = r#"{"data_sources":{},"projects":{},"applied":7}"#;
        restored.restore(old.as_bytes()).unwrap();
        assert_eq!((restored.applied, restored.nodes.len()), (7, 0));
        // A project's one checkpoint, from before several connectors, is its default connector's.
        run(&mut s, Command::CreateProject { spec: spec("p"), now_ms: 1 }).unwrap();
        s.projects
            .get_mut("p")
            .unwrap()
            .checkpoints
            .insert("default".into(), Checkpoint { seq: 5, ..Default::default() });
        let mut json: serde_json::Value = serde_json::from_slice(&s.snapshot()).unwrap();
        let project = json["projects"]["p"].as_object_mut().unwrap();
        let checkpoints = project.remove("checkpoints").unwrap();
        project.insert("checkpoint".into(), checkpoints["default"].clone());
        restored.restore(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(restored.projects["p"].checkpoint("default").seq, 5);
    }
}
