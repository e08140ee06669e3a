//! Data sources and projects as stored in the metadata.

use crate::codec::Format;
use crate::model::Checkpoint;
use crate::secrets::{Keyring, SecretError};
use crate::source::mysql::MysqlConfig;
use crate::source::{filter::ObjectRule, RouteRule, StartPoint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The id of the one connector of a project created with a single `destination`.
pub const DEFAULT_CONNECTOR: &str = "default";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    pub name: String,
    pub kind: DataSourceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataSourceKind {
    /// A MySQL/MariaDB server: a project's source, or a destination. `password_sealed` is the
    /// password encrypted with the node's key (see `secrets`).
    Mysql {
        host: String,
        port: u16,
        user: String,
        password_sealed: Vec<u8>,
    },
    Kafka {
        bootstrap_servers: String,
    },
    /// An OceanBase database (a MySQL-mode tenant), a destination; `password_sealed` as for
    /// `Mysql`.
    Oceanbase {
        host: String,
        port: u16,
        user: String,
        password_sealed: Vec<u8>,
    },
}

impl DataSourceKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            DataSourceKind::Mysql { .. } => "mysql",
            DataSourceKind::Kafka { .. } => "kafka",
            DataSourceKind::Oceanbase { .. } => "oceanbase",
        }
    }

    /// How to reach a MySQL-protocol server (a mysql or oceanbase data source), its password
    /// opened with `keyring`; `None` for Kafka.
    pub fn connection(&self, keyring: &Keyring) -> Option<Result<MysqlConfig, SecretError>> {
        match self {
            DataSourceKind::Mysql { host, port, user, password_sealed }
            | DataSourceKind::Oceanbase { host, port, user, password_sealed } => {
                Some(keyring.open(password_sealed).map(|password| MysqlConfig {
                    host: host.clone(),
                    port: *port,
                    user: user.clone(),
                    password,
                }))
            }
            DataSourceKind::Kafka { .. } => None,
        }
    }
}

/// How messages are spread over a topic's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Partition {
    /// By primary key: every key stays in order.
    #[default]
    Hash,
    /// By database and table: every table stays in order.
    Table,
    /// Everything to partition 0: whole transactions in commit order.
    One,
}

/// Tuning a project may set; every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectOptions {
    /// Partitions of topics Ferry creates.
    pub topic_partitions: u32,
    /// Write an UPDATE that changes the primary key as DELETE + INSERT.
    pub split_key_updates: bool,
    /// Debezium format: a tombstone after each delete.
    pub tombstones: bool,
    /// How often the connector saves its checkpoint, in milliseconds.
    pub checkpoint_interval_ms: u64,
    /// The server id Ferry registers with on the source as a replica; by default derived from
    /// the cluster's identity and the project's name.
    pub server_id: Option<u32>,
    /// How often an idle source still moves the sync timestamp with a heartbeat record, in
    /// milliseconds (`default` and `debezium` also write it to `__ferry-heartbeat.<project>`);
    /// 0: no heartbeat records.
    pub heartbeat_ms: u64,
    /// Debezium format: write a TRUNCATE of a synced table as an `op: "t"` event on its topic
    /// (Debezium skips them by default too).
    pub truncate_events: bool,
}

impl Default for ProjectOptions {
    fn default() -> Self {
        Self {
            topic_partitions: 4,
            split_key_updates: true,
            tombstones: true,
            checkpoint_interval_ms: 500,
            server_id: None,
            heartbeat_ms: 0,
            truncate_events: false,
        }
    }
}

/// What the project's store keeps and how much disk it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreOptions {
    /// Keep changes at least this many hours (1-8760), so a connector can be reset into them.
    pub retention_hours: u64,
    /// ...and at most this many bytes of them (at least 1 MiB). The store drops a change only
    /// once it is outside this window and every connector has delivered it.
    pub retention_bytes: u64,
    /// Pause pulling from the source while the store's files take more than this (at least 16
    /// MiB); none: 80% of the disk's free space when the store starts.
    pub max_disk_bytes: Option<u64>,
}

pub const MIN_RETENTION_BYTES: u64 = 1 << 20;
pub const MIN_DISK_BYTES: u64 = 16 << 20;

impl Default for StoreOptions {
    fn default() -> Self {
        Self { retention_hours: 24, retention_bytes: 10 << 30, max_disk_bytes: None }
    }
}

impl StoreOptions {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=8760).contains(&self.retention_hours) {
            return Err("store.retention_hours must be between 1 and 8760".into());
        }
        if self.retention_bytes < MIN_RETENTION_BYTES {
            return Err(format!("store.retention_bytes must be at least {MIN_RETENTION_BYTES} (1 MiB)"));
        }
        if self.max_disk_bytes.is_some_and(|b| b < MIN_DISK_BYTES) {
            return Err(format!("store.max_disk_bytes must be at least {MIN_DISK_BYTES} (16 MiB)"));
        }
        Ok(())
    }
}

/// One consumer of the project's store: a destination with its own format, partition rule,
/// topics and checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorSpec {
    pub id: String,
    pub destination: String,
    pub format: Format,
    pub partition: Partition,
    /// Topic pattern for every synced table (`{database}`, `{table}`); none: the objects' own.
    pub topic: Option<String>,
}

/// What the user asked for when creating the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSpec {
    pub name: String,
    pub source: String,
    pub destination: String,
    pub objects: Vec<ObjectRule>,
    pub format: Format,
    pub partition: Partition,
    pub start: StartPoint,
    pub options: ProjectOptions,
    /// Retention and disk bounds of the project's store.
    #[serde(default)]
    pub store: StoreOptions,
    /// Several consumers of the store; empty: one, [`DEFAULT_CONNECTOR`], made of
    /// `destination`, `format` and `partition` (which then repeat the first connector's).
    #[serde(default)]
    pub connectors: Vec<ConnectorSpec>,
    /// Where source tables land downstream (table and column renames); the first rule that
    /// matches a table wins, a table none matches keeps its name.
    #[serde(default)]
    pub routes: Vec<RouteRule>,
}

impl ProjectSpec {
    /// The project's connectors, in order.
    pub fn connectors(&self) -> Vec<ConnectorSpec> {
        if !self.connectors.is_empty() {
            return self.connectors.clone();
        }
        vec![ConnectorSpec {
            id: DEFAULT_CONNECTOR.into(),
            destination: self.destination.clone(),
            format: self.format,
            partition: self.partition,
            topic: None,
        }]
    }

    pub fn connector(&self, id: &str) -> Option<ConnectorSpec> {
        self.connectors().into_iter().find(|c| c.id == id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectState {
    Created,
    Running,
    Paused,
    Stopped,
    Failed,
    Released,
}

impl ProjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Created => "created",
            ProjectState::Running => "running",
            ProjectState::Paused => "paused",
            ProjectState::Stopped => "stopped",
            ProjectState::Failed => "failed",
            ProjectState::Released => "released",
        }
    }
}

/// Where a running project's store and connectors run: the store on `node`, each connector
/// with it unless `connectors` places it on another node (it then reads the store's log over
/// the network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The store's node (and that of every connector not in `connectors`).
    pub node: u64,
    /// The node was asked to hand the project off: it stops it, saves a last checkpoint and
    /// reports `Released`, then the supervisor places it elsewhere.
    pub releasing: bool,
    /// Connector id -> its node, for the connectors that run apart from the store.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connectors: BTreeMap<String, u64>,
}

impl Placement {
    /// Everything on `node`.
    pub fn on(node: u64) -> Self {
        Placement { node, releasing: false, connectors: BTreeMap::new() }
    }

    /// The node connector `id` runs on.
    pub fn connector_node(&self, id: &str) -> u64 {
        self.connectors.get(id).copied().unwrap_or(self.node)
    }

    /// The store or a connector runs on `node`.
    pub fn uses(&self, node: u64) -> bool {
        self.node == node || self.connectors.values().any(|&n| n == node)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub spec: ProjectSpec,
    pub state: ProjectState,
    /// Why the project failed (set with `Failed`, cleared on resume).
    pub error: Option<String>,
    /// Raised on every start/resume and every placement; checkpoints from an older epoch are
    /// refused, which fences out a worker that kept running after it was replaced.
    pub epoch: u64,
    /// The node that runs the project, while it is running, paused or failed.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// Each connector's checkpoint, by connector id (none before its first).
    #[serde(default)]
    pub checkpoints: BTreeMap<String, Checkpoint>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// The store's schema history (opaque entries, by key), replicated so that a store started
    /// over on any node decodes old binlog with the definitions in force there.
    #[serde(default)]
    pub schema_history: Vec<HistoryEntry>,
}

/// One entry of a project's schema history (`source::mysql::SchemaHistory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl Project {
    /// Adds or replaces entries by key (kept sorted by key).
    pub fn save_history(&mut self, entries: Vec<HistoryEntry>) {
        for e in entries {
            match self.schema_history.binary_search_by(|h| h.key.cmp(&e.key)) {
                Ok(i) => self.schema_history[i] = e,
                Err(i) => self.schema_history.insert(i, e),
            }
        }
    }
}

#[cfg(test)]
impl Project {
    /// A project for tests: source `s`, destination `d`, every option at its default.
    pub fn sample(name: &str, state: ProjectState, epoch: u64, placement: Option<Placement>) -> Project {
        Project {
            spec: ProjectSpec {
                name: name.into(),
                source: "s".into(),
                destination: "d".into(),
                objects: vec![],
                format: Default::default(),
                partition: Default::default(),
                start: Default::default(),
                options: ProjectOptions::default(),
                store: StoreOptions::default(),
                connectors: Vec::new(),
                routes: Vec::new(),
            },
            state,
            error: None,
            epoch,
            placement,
            checkpoints: BTreeMap::new(),
            schema_history: Vec::new(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

impl Project {
    /// The checkpoint of connector `id` (the start, before its first).
    pub fn checkpoint(&self, id: &str) -> Checkpoint {
        self.checkpoints.get(id).cloned().unwrap_or_default()
    }

    /// The checkpoint of the connector furthest behind: where the store must still hold
    /// everything after, and where a new store starts.
    pub fn oldest_checkpoint(&self) -> Checkpoint {
        self.furthest_behind().map(|(_, checkpoint)| checkpoint).unwrap_or_default()
    }

    /// The connector furthest behind and its checkpoint (none without connectors).
    pub fn furthest_behind(&self) -> Option<(String, Checkpoint)> {
        self.spec
            .connectors()
            .into_iter()
            .map(|c| (self.checkpoint(&c.id), c.id))
            .min_by_key(|(cp, _)| cp.seq)
            .map(|(checkpoint, id)| (id, checkpoint))
    }
}
