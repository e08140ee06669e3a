//! Data sources and projects as stored in the metadata.

pub use crate::client_tls::ClientTls;
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
    /// With `tls`, every connection is encrypted and the server's certificate checked.
    Mysql { host: String, port: u16, user: String, password_sealed: Vec<u8>, tls: Option<Tls> },
    Kafka {
        bootstrap_servers: String,
        /// Replication factor of the topics Ferry creates; none: the broker's default.
        replication_factor: Option<i16>,
        /// Where a message the brokers refuse for good goes instead (none: the project fails).
        dead_letter_topic: Option<String>,
        /// TLS to the brokers (`security.protocol` SSL, or SASL_SSL with `sasl`).
        tls: Option<Tls>,
        /// SASL authentication (PLAIN or SCRAM).
        sasl: Option<Sasl>,
    },
    /// An OceanBase database (a MySQL-mode tenant), a destination; `password_sealed` and `tls`
    /// as for `Mysql`.
    Oceanbase { host: String, port: u16, user: String, password_sealed: Vec<u8>, tls: Option<Tls> },
    /// A sharded source behind a DataBase Proxy: logical tables split into physical shards
    /// across several MySQL instances (mysql data sources, by name). A project reading it runs a
    /// store per instance and maps every shard's changes to its logical table.
    Dbp { instances: Vec<String>, tables: Vec<LogicalTable> },
    /// An Alibaba Cloud DataHub project, a destination: a topic per table, of `record_type`
    /// records. `access_key_sealed` is the AccessKey secret, sealed as passwords are.
    Datahub {
        endpoint: String,
        project: String,
        access_id: String,
        access_key_sealed: Vec<u8>,
        record_type: DatahubRecordType,
        /// Where a record DataHub cannot take (over 1 MiB) goes instead, a BLOB topic (none: the
        /// project fails naming it).
        dead_letter_topic: Option<String>,
        /// Days the topics Ferry creates keep their records (none: 7).
        lifecycle_days: Option<u32>,
    },
    /// An Apache RocketMQ cluster (its name servers), a destination: a topic per table, each
    /// message tagged `tag`. With ACL, `access_key` and the secret key, sealed as passwords are.
    Rocketmq {
        name_server: String,
        producer_group: String,
        access_key: Option<String>,
        secret_key_sealed: Option<Vec<u8>>,
        tag: String,
        send_timeout_ms: u32,
        /// Where a message RocketMQ cannot take (over 4 MiB) goes instead (none: the project
        /// fails naming it).
        dead_letter_topic: Option<String>,
    },
}

/// TLS to a server Ferry connects to (a MySQL-protocol server, Kafka brokers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tls {
    /// PEM certificates to trust; none: the public (web PKI) roots.
    pub ca_pem: Option<String>,
    /// Mutual TLS: Ferry's certificate chain (PEM) and its private key (PEM, sealed as passwords
    /// are); both or neither.
    pub cert_pem: Option<String>,
    pub key_sealed: Option<Vec<u8>>,
    /// Check that the server's certificate names the host connected to.
    pub verify_hostname: bool,
}

impl Tls {
    /// The settings with the private key opened, for a connection.
    pub fn open(&self, keyring: &Keyring) -> Result<ClientTls, SecretError> {
        let identity = match (&self.cert_pem, &self.key_sealed) {
            (Some(cert), Some(key)) => Some((cert.clone(), keyring.open(key)?)),
            _ => None,
        };
        Ok(ClientTls { ca_pem: self.ca_pem.clone(), identity, verify_hostname: self.verify_hostname })
    }
}

/// SASL authentication to Kafka brokers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sasl {
    pub mechanism: SaslMechanism,
    pub username: String,
    /// Sealed as passwords are.
    pub password_sealed: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// Kafka's name for it (`sasl.mechanism`).
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    pub fn parse(name: &str) -> Option<SaslMechanism> {
        [SaslMechanism::Plain, SaslMechanism::ScramSha256, SaslMechanism::ScramSha512]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

/// What a DataHub topic Ferry creates holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatahubRecordType {
    /// A record per row change with the table's columns as fields (and Ferry's own).
    #[default]
    Tuple,
    /// A record per message of the project's format (DDL too).
    Blob,
}

/// A logical table of a sharded source and the pattern of its physical shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogicalTable {
    /// The logical table, `database.table` (`shop.orders`).
    pub logical: String,
    /// Its physical shards, `database.table` with ranges, lists and wildcards
    /// (`shop_{00..03}.orders_{00..15}`, `shop_{a,b}.users_*`).
    pub physical: String,
}

impl DataSourceKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            DataSourceKind::Mysql { .. } => "mysql",
            DataSourceKind::Kafka { .. } => "kafka",
            DataSourceKind::Oceanbase { .. } => "oceanbase",
            DataSourceKind::Dbp { .. } => "dbp",
            DataSourceKind::Datahub { .. } => "datahub",
            DataSourceKind::Rocketmq { .. } => "rocketmq",
        }
    }

    /// How to reach a MySQL-protocol server (a mysql or oceanbase data source), its password
    /// opened with `keyring`; `None` for message destinations and a sharded source (whose
    /// instances each have one).
    pub fn connection(&self, keyring: &Keyring) -> Option<Result<MysqlConfig, SecretError>> {
        match self {
            DataSourceKind::Mysql { host, port, user, password_sealed, tls }
            | DataSourceKind::Oceanbase { host, port, user, password_sealed, tls } => {
                Some((|| -> Result<MysqlConfig, SecretError> {
                    Ok(MysqlConfig {
                        host: host.clone(),
                        port: *port,
                        user: user.clone(),
                        password: keyring.open(password_sealed)?,
                        tls: tls.as_ref().map(|tls| tls.open(keyring)).transpose()?,
                    })
                })())
            }
            DataSourceKind::Kafka { .. }
            | DataSourceKind::Dbp { .. }
            | DataSourceKind::Datahub { .. }
            | DataSourceKind::Rocketmq { .. } => None,
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

/// What a project syncs: each selected table's existing rows (`full`), then every change
/// (`incremental`). As JSON, the list of those it does, `["full", "incremental"]`; by default
/// `["incremental"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<SyncMode>", into = "Vec<SyncMode>")]
pub struct SyncModes {
    pub full: bool,
    pub incremental: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Full,
    Incremental,
}

impl Default for SyncModes {
    fn default() -> Self {
        SyncModes { full: false, incremental: true }
    }
}

impl TryFrom<Vec<SyncMode>> for SyncModes {
    type Error = String;

    fn try_from(modes: Vec<SyncMode>) -> Result<Self, String> {
        if modes.is_empty() {
            return Err("sync: give \"full\", \"incremental\" or both".into());
        }
        Ok(SyncModes {
            full: modes.contains(&SyncMode::Full),
            incremental: modes.contains(&SyncMode::Incremental),
        })
    }
}

impl From<SyncModes> for Vec<SyncMode> {
    fn from(m: SyncModes) -> Self {
        [(m.full, SyncMode::Full), (m.incremental, SyncMode::Incremental)]
            .into_iter()
            .filter_map(|(on, mode)| on.then_some(mode))
            .collect()
    }
}

/// How a full sync copies tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotOptions {
    /// Rows read per chunk (100-100000): each chunk is one short read of the table, in key order.
    pub chunk_rows: u32,
    /// Chunks read ahead of the change log (1-64): more copies faster and holds more memory
    /// (about `chunk_rows` rows each).
    pub parallelism: u32,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions { chunk_rows: 8192, parallelism: 4 }
    }
}

impl SnapshotOptions {
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=100_000).contains(&self.chunk_rows) {
            return Err("snapshot.chunk_rows must be between 100 and 100000".into());
        }
        if !(1..=64).contains(&self.parallelism) {
            return Err("snapshot.parallelism must be between 1 and 64".into());
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
    /// Existing rows, changes, or both.
    #[serde(default)]
    pub sync: SyncModes,
    /// How a full sync copies tables.
    #[serde(default)]
    pub snapshot: SnapshotOptions,
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
    /// The instances of a sharded (dbp) source, as they were when the project was created:
    /// each has a store of its own, and each connector a checkpoint per instance
    /// ([`checkpoint_key`]). Empty: one store, of the project's mysql source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
}

/// The key of connector `connector`'s checkpoint in the store of `instance` (none: the one store).
pub fn checkpoint_key(connector: &str, instance: Option<&str>) -> String {
    match instance {
        Some(instance) => format!("{connector}@{instance}"),
        None => connector.to_string(),
    }
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
                sync: Default::default(),
                snapshot: Default::default(),
            },
            state,
            error: None,
            epoch,
            placement,
            checkpoints: BTreeMap::new(),
            schema_history: Vec::new(),
            instances: Vec::new(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

impl Project {
    /// The project's stores: one per instance of a sharded source, else one (`None`).
    pub fn streams(&self) -> Vec<Option<&str>> {
        match self.instances.is_empty() {
            true => vec![None],
            false => self.instances.iter().map(|i| Some(i.as_str())).collect(),
        }
    }

    /// `key` names a checkpoint of this project: a connector's, or on a sharded source a
    /// connector's in one instance's store.
    pub fn has_checkpoint_key(&self, key: &str) -> bool {
        match key.split_once('@') {
            Some((id, instance)) => {
                self.instances.iter().any(|i| i == instance) && self.spec.connector(id).is_some()
            }
            None => self.instances.is_empty() && self.spec.connector(key).is_some(),
        }
    }

    /// The checkpoint stored under `key` (the start, before the first).
    fn checkpoint_at(&self, key: &str) -> Checkpoint {
        self.checkpoints.get(key).cloned().unwrap_or_default()
    }

    /// The checkpoint of connector `id` in the store of `instance` (the start, before its first).
    pub fn checkpoint_in(&self, id: &str, instance: Option<&str>) -> Checkpoint {
        self.checkpoint_at(&checkpoint_key(id, instance))
    }

    /// The checkpoint of connector `id` (the start, before its first). On a sharded source, what
    /// it has delivered of every instance: the rows and counts of all, the time of the one
    /// furthest behind, and the position and sequence only when there is one instance
    /// (positions of two servers do not compare).
    pub fn checkpoint(&self, id: &str) -> Checkpoint {
        self.connector_checkpoint(id).unwrap_or_default()
    }

    /// As [`checkpoint`](Self::checkpoint), none before the first (of every instance).
    pub fn connector_checkpoint(&self, id: &str) -> Option<Checkpoint> {
        if self.instances.is_empty() {
            return self.checkpoints.get(id).cloned();
        }
        let all: Vec<&Checkpoint> = self
            .instances
            .iter()
            .map(|i| self.checkpoints.get(&checkpoint_key(id, Some(i))))
            .collect::<Option<_>>()?;
        let mut merged = match all.as_slice() {
            [one] => (*one).clone(),
            _ => Checkpoint::default(),
        };
        if all.len() > 1 {
            merged.seq = all.iter().map(|c| c.seq).sum();
            merged.commit_ts = all.iter().map(|c| c.commit_ts).min().unwrap_or(0);
            for cp in &all {
                merged.rows += cp.rows;
                merged.bytes += cp.bytes;
                for (table, rows) in &cp.tables {
                    *merged.tables.entry(table.clone()).or_default() += rows;
                }
                for (table, changes) in &cp.changes {
                    let m = merged.changes.entry(table.clone()).or_default();
                    m.inserted += changes.inserted;
                    m.updated += changes.updated;
                    m.deleted += changes.deleted;
                    m.last_ts = m.last_ts.max(changes.last_ts);
                }
            }
        }
        Some(merged)
    }

    /// The checkpoint of the connector furthest behind in the store of `instance`: where that
    /// store must still hold everything after, and where it starts when new.
    pub fn oldest_checkpoint_in(&self, instance: Option<&str>) -> Checkpoint {
        self.spec
            .connectors()
            .into_iter()
            .map(|c| self.checkpoint_in(&c.id, instance))
            .min_by_key(|cp| cp.seq)
            .unwrap_or_default()
    }

    /// The connector furthest behind and its checkpoint (none without connectors); on a
    /// sharded source, by the time it has delivered.
    pub fn furthest_behind(&self) -> Option<(String, Checkpoint)> {
        let all = self.spec.connectors().into_iter().map(|c| (self.checkpoint(&c.id), c.id));
        match self.instances.is_empty() {
            true => all.min_by_key(|(cp, _)| cp.seq),
            false => all.min_by_key(|(cp, _)| cp.commit_ts),
        }
        .map(|(checkpoint, id)| (id, checkpoint))
    }
}
