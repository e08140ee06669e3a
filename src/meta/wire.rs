//! The metadata log's file format: [`LogCommand`], a versioned copy of [`Command`].
//!
//! The Raft log keeps every command for as long as it is not covered by a snapshot, and a
//! restart replays it; so what the log holds must decode forever. The types below are frozen:
//! never change a `v1` type. To change a command, add `v2` types and a `LogCommand::V2`, and
//! turn `V1` into the model by upgrading it. The model types (`Command`, `ProjectSpec`, ...) and
//! the API's JSON types are free to change; only the conversions here follow them.
//!
//! An entry is applied under the rules of the version that wrote it: where a later version
//! allows more (v7: a project may write into a database), [`LogCommand`] tells `apply` which
//! entries predate it, so a replay refuses what was refused when they were first applied.

use super::command::{Action, CheckpointUpdate, Command};
use super::project::{
    ConnectorSpec, DataSource, DataSourceKind, DatahubRecordType, HistoryEntry, LogicalTable, Partition,
    ProjectOptions, ProjectSpec, Sasl, SaslMechanism, SnapshotOptions, StoreOptions, SyncModes, Tls,
};
use crate::codec::Format;
use crate::model::{Position, TableChanges};
use crate::source::{filter::ObjectRule, RouteRule, StartPoint};
use serde::{Deserialize, Serialize};

/// What a metadata log entry holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogCommand {
    V1(v1::Command),
    V2(v2::Command),
    V3(v3::Command),
    V4(v4::Command),
    V5(v5::Command),
    V6(v6::Command),
    V7(v7::Command),
    V8(v8::Command),
    V9(v9::Command),
    V10(v10::Command),
    V11(v11::Command),
    V12(v12::Command),
}

impl From<Command> for LogCommand {
    fn from(c: Command) -> Self {
        match c {
            Command::CreateDataSource { source } => {
                LogCommand::V11(v11::Command::CreateDataSource { source: source.into() })
            }
            Command::CreateProject { spec, now_ms } => {
                LogCommand::V12(v12::Command::CreateProject { spec: spec.into(), now_ms })
            }
            Command::SaveCheckpoints { node, checkpoints } => LogCommand::V6(v6::Command::SaveCheckpoints {
                node,
                checkpoints: checkpoints.into_iter().map(Into::into).collect(),
            }),
            Command::ResetCheckpoint { name, connector, epoch, seq, position, commit_ts, now_ms } => {
                LogCommand::V3(v3::Command::ResetCheckpoint {
                    name,
                    connector,
                    epoch,
                    seq,
                    position: position.into(),
                    commit_ts,
                    now_ms,
                })
            }
            Command::UpdateDataSource { source, now_ms } => {
                LogCommand::V11(v11::Command::UpdateDataSource { source: source.into(), now_ms })
            }
            Command::SaveSchemaHistory { name, epoch, entries } => {
                let entries = entries.into_iter().map(|e| (e.key, e.value)).collect();
                LogCommand::V4(v4::Command::SaveSchemaHistory { name, epoch, entries })
            }
            Command::PlaceConnector { project, connector, node, epoch, lost } => {
                LogCommand::V5(v5::Command::PlaceConnector { project, connector, node, epoch, lost })
            }
            c => LogCommand::V1(c.into()),
        }
    }
}

impl LogCommand {
    /// The command in today's model, whatever version wrote it.
    pub fn into_command(self) -> Command {
        match self {
            LogCommand::V1(c) => c.into(),
            LogCommand::V2(v2::Command::CreateProject { spec, now_ms }) => {
                Command::CreateProject { spec: spec.into(), now_ms }
            }
            LogCommand::V3(v3::Command::CreateProject { spec, now_ms }) => {
                Command::CreateProject { spec: spec.into(), now_ms }
            }
            LogCommand::V3(v3::Command::SaveCheckpoints { node, checkpoints }) => Command::SaveCheckpoints {
                node,
                checkpoints: checkpoints.into_iter().map(Into::into).collect(),
            },
            LogCommand::V3(v3::Command::ResetCheckpoint {
                name,
                connector,
                epoch,
                seq,
                position,
                commit_ts,
                now_ms,
            }) => Command::ResetCheckpoint {
                name,
                connector,
                epoch,
                seq,
                position: position.into(),
                commit_ts,
                now_ms,
            },
            LogCommand::V4(v4::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V4(v4::Command::SaveSchemaHistory { name, epoch, entries }) => {
                Command::SaveSchemaHistory {
                    name,
                    epoch,
                    entries: entries.into_iter().map(|(key, value)| HistoryEntry { key, value }).collect(),
                }
            }
            LogCommand::V5(v5::Command::PlaceConnector { project, connector, node, epoch, lost }) => {
                Command::PlaceConnector { project, connector, node, epoch, lost }
            }
            LogCommand::V6(v6::Command::SaveCheckpoints { node, checkpoints }) => Command::SaveCheckpoints {
                node,
                checkpoints: checkpoints.into_iter().map(Into::into).collect(),
            },
            LogCommand::V7(v7::Command::CreateDataSource { source }) => {
                Command::CreateDataSource { source: source.into() }
            }
            LogCommand::V7(v7::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V7(v7::Command::CreateProject { spec, now_ms }) => {
                Command::CreateProject { spec: spec.into(), now_ms }
            }
            LogCommand::V8(v8::Command::CreateDataSource { source }) => {
                Command::CreateDataSource { source: source.into() }
            }
            LogCommand::V8(v8::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V9(v9::Command::CreateDataSource { source }) => {
                Command::CreateDataSource { source: source.into() }
            }
            LogCommand::V9(v9::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V10(v10::Command::CreateDataSource { source }) => {
                Command::CreateDataSource { source: source.into() }
            }
            LogCommand::V10(v10::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V11(v11::Command::CreateDataSource { source }) => {
                Command::CreateDataSource { source: source.into() }
            }
            LogCommand::V11(v11::Command::UpdateDataSource { source, now_ms }) => {
                Command::UpdateDataSource { source: source.into(), now_ms }
            }
            LogCommand::V12(v12::Command::CreateProject { spec, now_ms }) => {
                Command::CreateProject { spec: spec.into(), now_ms }
            }
        }
    }

    /// A project it creates may only write into Kafka: it was written before v7, when that
    /// was the rule (`MetaState::apply` keeps to it, so a replay refuses what was refused then).
    pub fn destinations_kafka_only(&self) -> bool {
        matches!(
            self,
            LogCommand::V1(v1::Command::CreateProject { .. })
                | LogCommand::V2(v2::Command::CreateProject { .. })
                | LogCommand::V3(v3::Command::CreateProject { .. })
        )
    }
}

pub mod v1 {
    //! Version 1 of the log's commands. Frozen.
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        DeleteDataSource { name: String },
        CreateProject { spec: ProjectSpec, now_ms: u64 },
        DeleteProject { name: String },
        Transition { name: String, action: Action, now_ms: u64, start_at: Option<StartPoint> },
        Fail { name: String, epoch: u64, error: String, now_ms: u64 },
        SaveCheckpoints { node: u64, checkpoints: Vec<CheckpointUpdate> },
        NodeUp { node: u64, raft: String, http: String },
        Heartbeat { node: u64, applied: u64 },
        NodeLeaving { node: u64 },
        NodeRemoved { node: u64 },
        Place { project: String, node: u64, epoch: u64, lost: Option<(u64, u64)> },
        Release { project: String, epoch: u64 },
        Released { node: u64, projects: Vec<(String, u64)> },
        SetKeyCheck { sealed: Vec<u8> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql { host: String, port: u16, user: String, password_sealed: Vec<u8> },
        Kafka { bootstrap_servers: String },
    }

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
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ObjectRule {
        pub database: String,
        pub tables: Vec<String>,
        pub exclude: Vec<String>,
        pub topic: String,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub enum Format {
        Default,
        Canal,
        Debezium,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub enum Partition {
        Hash,
        Table,
        One,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum StartPoint {
        Now,
        FilePos { file: String, pos: u64 },
        Gtid { gtid: String },
        Timestamp { timestamp: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectOptions {
        pub topic_partitions: u32,
        pub split_key_updates: bool,
        pub tombstones: bool,
        pub checkpoint_interval_ms: u64,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub enum Action {
        Start,
        Pause,
        Resume,
        Stop,
        Release,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Position {
        pub file: String,
        pub pos: u64,
        pub gtid: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CheckpointUpdate {
        pub project: String,
        pub epoch: u64,
        pub seq: u64,
        pub position: Position,
        pub commit_ts: u32,
        pub rows: u64,
        pub bytes: u64,
        pub tables: Vec<(String, u64)>,
    }
}

pub mod v2 {
    //! Version 2: only what changed since v1 (project options gained `server_id` and
    //! `heartbeat_ms`); commands whose shape did not change are still written as v1. Frozen.
    use super::v1;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateProject { spec: ProjectSpec, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectSpec {
        pub name: String,
        pub source: String,
        pub destination: String,
        pub objects: Vec<v1::ObjectRule>,
        pub format: v1::Format,
        pub partition: v1::Partition,
        pub start: v1::StartPoint,
        pub options: ProjectOptions,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectOptions {
        pub topic_partitions: u32,
        pub split_key_updates: bool,
        pub tombstones: bool,
        pub checkpoint_interval_ms: u64,
        pub server_id: Option<u32>,
        pub heartbeat_ms: u64,
    }
}

pub mod v8 {
    //! Version 8: data sources gained `Dbp` (a sharded source: mysql instances and logical
    //! tables with the patterns of their shards). Frozen.
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        UpdateDataSource { source: DataSource, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql { host: String, port: u16, user: String, password_sealed: Vec<u8> },
        Kafka { bootstrap_servers: String },
        Oceanbase { host: String, port: u16, user: String, password_sealed: Vec<u8> },
        Dbp { instances: Vec<String>, tables: Vec<LogicalTable> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct LogicalTable {
        pub logical: String,
        pub physical: String,
    }
}

pub mod v7 {
    //! Version 7: data sources gained `Oceanbase` (a database destination), and a project may
    //! write into a database; project specs gained routing rules. Frozen.
    use super::v3;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        UpdateDataSource { source: DataSource, now_ms: u64 },
        CreateProject { spec: ProjectSpec, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql { host: String, port: u16, user: String, password_sealed: Vec<u8> },
        Kafka { bootstrap_servers: String },
        Oceanbase { host: String, port: u16, user: String, password_sealed: Vec<u8> },
    }

    /// A v3 spec and the routing rules.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectSpec {
        pub spec: v3::ProjectSpec,
        pub routes: Vec<RouteRule>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RouteRule {
        pub from: String,
        pub to: Option<String>,
        /// Column renames (source name, destination name), in source-name order.
        pub columns: Vec<(String, String)>,
        pub shard_column: Option<String>,
    }
}

pub mod v6 {
    //! Version 6: checkpoints count each table's inserts, updates and deletes, with the time
    //! of its last change. Frozen.
    use super::v1;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        SaveCheckpoints { node: u64, checkpoints: Vec<CheckpointUpdate> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CheckpointUpdate {
        pub project: String,
        pub connector: String,
        pub epoch: u64,
        pub seq: u64,
        pub position: v1::Position,
        pub commit_ts: u32,
        pub rows: u64,
        pub bytes: u64,
        pub tables: Vec<(String, u64)>,
        pub changes: Vec<(String, TableChanges)>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub struct TableChanges {
        pub inserted: u64,
        pub updated: u64,
        pub deleted: u64,
        pub last_ts: u32,
    }
}

pub mod v5 {
    //! Version 5: a connector can run on another node than its store. Frozen.
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        PlaceConnector {
            project: String,
            connector: String,
            node: Option<u64>,
            epoch: u64,
            lost: Option<(u64, u64)>,
        },
    }
}

pub mod v4 {
    //! Version 4: a data source's connection can change; projects keep a schema history.
    //! Frozen.
    use super::v1;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        UpdateDataSource { source: v1::DataSource, now_ms: u64 },
        SaveSchemaHistory { name: String, epoch: u64, entries: Vec<(Vec<u8>, Vec<u8>)> },
    }
}

pub mod v3 {
    //! Version 3: project specs gained `store` (retention and disk bounds) and `connectors`;
    //! checkpoints name their connector, and a connector can be reset. Frozen.
    use super::{v1, v2};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateProject {
            spec: ProjectSpec,
            now_ms: u64,
        },
        SaveCheckpoints {
            node: u64,
            checkpoints: Vec<CheckpointUpdate>,
        },
        ResetCheckpoint {
            name: String,
            connector: String,
            epoch: u64,
            seq: u64,
            position: v1::Position,
            commit_ts: u32,
            now_ms: u64,
        },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CheckpointUpdate {
        pub project: String,
        pub connector: String,
        pub epoch: u64,
        pub seq: u64,
        pub position: v1::Position,
        pub commit_ts: u32,
        pub rows: u64,
        pub bytes: u64,
        pub tables: Vec<(String, u64)>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ConnectorSpec {
        pub id: String,
        pub destination: String,
        pub format: v1::Format,
        pub partition: v1::Partition,
        pub topic: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectSpec {
        pub name: String,
        pub source: String,
        pub destination: String,
        pub objects: Vec<v1::ObjectRule>,
        pub format: v1::Format,
        pub partition: v1::Partition,
        pub start: v1::StartPoint,
        pub options: v2::ProjectOptions,
        /// The project option added in v3 (the others are v2's).
        pub truncate_events: bool,
        pub store: StoreOptions,
        pub connectors: Vec<ConnectorSpec>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct StoreOptions {
        pub retention_hours: u64,
        pub retention_bytes: u64,
        pub max_disk_bytes: Option<u64>,
    }
}

pub mod v9 {
    //! Version 9: data sources gained `Datahub`; Kafka gained the replication factor of the
    //! topics Ferry creates, and room for a dead-letter topic, TLS and SASL (MySQL and
    //! OceanBase for TLS), which the model does not hold yet. Frozen.
    use serde::{Deserialize, Serialize};

    pub use super::v8::LogicalTable;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        UpdateDataSource { source: DataSource, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Kafka {
            bootstrap_servers: String,
            replication_factor: Option<i16>,
            dead_letter_topic: Option<String>,
            tls: Option<Tls>,
            sasl: Option<Sasl>,
        },
        Oceanbase {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Dbp {
            instances: Vec<String>,
            tables: Vec<LogicalTable>,
        },
        Datahub {
            endpoint: String,
            project: String,
            access_id: String,
            access_key_sealed: Vec<u8>,
            record_type: RecordType,
        },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Tls {
        /// PEM certificates to trust; none: the system's.
        pub ca_pem: Option<String>,
        /// A client certificate (PEM) and its key (sealed).
        pub cert_pem: Option<String>,
        pub key_sealed: Option<Vec<u8>>,
        pub verify_hostname: bool,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Sasl {
        /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
        pub mechanism: String,
        pub username: String,
        pub password_sealed: Vec<u8>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub enum RecordType {
        Tuple,
        Blob,
    }
}

pub mod v10 {
    //! Version 10: data sources gained `Rocketmq`, with room for a dead-letter topic and TLS
    //! (the model holds TLS and SASL for mysql, oceanbase and kafka; not yet RocketMQ's).
    //! Frozen.
    use serde::{Deserialize, Serialize};

    pub use super::v9::{LogicalTable, RecordType, Sasl, Tls};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        UpdateDataSource { source: DataSource, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Kafka {
            bootstrap_servers: String,
            replication_factor: Option<i16>,
            dead_letter_topic: Option<String>,
            tls: Option<Tls>,
            sasl: Option<Sasl>,
        },
        Oceanbase {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Dbp {
            instances: Vec<String>,
            tables: Vec<LogicalTable>,
        },
        Datahub {
            endpoint: String,
            project: String,
            access_id: String,
            access_key_sealed: Vec<u8>,
            record_type: RecordType,
        },
        Rocketmq {
            name_server: String,
            producer_group: String,
            access_key: Option<String>,
            secret_key_sealed: Option<Vec<u8>>,
            tag: String,
            send_timeout_ms: u32,
            dead_letter_topic: Option<String>,
            tls: bool,
        },
    }
}

pub mod v11 {
    //! Version 11: DataHub data sources gained a dead-letter topic and the lifecycle of the
    //! topics Ferry creates, with room for TLS (a custom CA); RocketMQ's TLS became settings
    //! (room: the model holds none yet). Frozen.
    use serde::{Deserialize, Serialize};

    pub use super::v10::{LogicalTable, RecordType, Sasl, Tls};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateDataSource { source: DataSource },
        UpdateDataSource { source: DataSource, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataSource {
        pub name: String,
        pub kind: DataSourceKind,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum DataSourceKind {
        Mysql {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Kafka {
            bootstrap_servers: String,
            replication_factor: Option<i16>,
            dead_letter_topic: Option<String>,
            tls: Option<Tls>,
            sasl: Option<Sasl>,
        },
        Oceanbase {
            host: String,
            port: u16,
            user: String,
            password_sealed: Vec<u8>,
            tls: Option<Tls>,
        },
        Dbp {
            instances: Vec<String>,
            tables: Vec<LogicalTable>,
        },
        Datahub {
            endpoint: String,
            project: String,
            access_id: String,
            access_key_sealed: Vec<u8>,
            record_type: RecordType,
            dead_letter_topic: Option<String>,
            lifecycle_days: Option<u32>,
            tls: Option<Tls>,
        },
        Rocketmq {
            name_server: String,
            producer_group: String,
            access_key: Option<String>,
            secret_key_sealed: Option<Vec<u8>>,
            tag: String,
            send_timeout_ms: u32,
            dead_letter_topic: Option<String>,
            tls: Option<Tls>,
        },
    }
}

pub mod v12 {
    //! Version 12: project specs gained what a project syncs (existing rows, changes or both)
    //! and how a full sync copies tables, with room for a row filter and column selection per
    //! object rule (the model holds none yet). Frozen.
    use super::v7;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Command {
        CreateProject { spec: ProjectSpec, now_ms: u64 },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ProjectSpec {
        pub spec: v7::ProjectSpec,
        pub full: bool,
        pub incremental: bool,
        pub chunk_rows: u32,
        pub parallelism: u32,
        /// Room: one per object rule of `spec`, in their order.
        pub object_filters: Vec<ObjectFilter>,
    }

    /// Room: a row filter and the columns kept, for the tables an object rule selects.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ObjectFilter {
        pub row_filter: Option<String>,
        pub columns: Option<Vec<String>>,
        pub exclude_columns: Vec<String>,
    }
}

// --- model <-> v12 ----------------------------------------------------------------------------

impl From<ProjectSpec> for v12::ProjectSpec {
    fn from(s: ProjectSpec) -> Self {
        let (sync, snapshot) = (s.sync, s.snapshot.clone());
        // One per object rule when any shapes rows or columns; none otherwise.
        let object_filters = match s.objects.iter().any(ObjectRule::shapes) {
            true => s
                .objects
                .iter()
                .map(|o| v12::ObjectFilter {
                    row_filter: o.row_filter.clone(),
                    columns: o.columns.clone(),
                    exclude_columns: o.exclude_columns.clone(),
                })
                .collect(),
            false => Vec::new(),
        };
        v12::ProjectSpec {
            spec: s.into(),
            full: sync.full,
            incremental: sync.incremental,
            chunk_rows: snapshot.chunk_rows,
            parallelism: snapshot.parallelism,
            object_filters,
        }
    }
}

impl From<v12::ProjectSpec> for ProjectSpec {
    fn from(s: v12::ProjectSpec) -> Self {
        let mut spec: ProjectSpec = s.spec.into();
        for (object, f) in spec.objects.iter_mut().zip(s.object_filters) {
            object.row_filter = f.row_filter;
            object.columns = f.columns;
            object.exclude_columns = f.exclude_columns;
        }
        ProjectSpec {
            sync: SyncModes { full: s.full, incremental: s.incremental },
            snapshot: SnapshotOptions { chunk_rows: s.chunk_rows, parallelism: s.parallelism },
            ..spec
        }
    }
}

// --- model <-> v11 ----------------------------------------------------------------------------

impl From<Tls> for v10::Tls {
    fn from(t: Tls) -> Self {
        v10::Tls {
            ca_pem: t.ca_pem,
            cert_pem: t.cert_pem,
            key_sealed: t.key_sealed,
            verify_hostname: t.verify_hostname,
        }
    }
}

impl From<v10::Tls> for Tls {
    fn from(t: v10::Tls) -> Self {
        Tls {
            ca_pem: t.ca_pem,
            cert_pem: t.cert_pem,
            key_sealed: t.key_sealed,
            verify_hostname: t.verify_hostname,
        }
    }
}

impl From<Sasl> for v10::Sasl {
    fn from(s: Sasl) -> Self {
        v10::Sasl {
            mechanism: s.mechanism.as_str().into(),
            username: s.username,
            password_sealed: s.password_sealed,
        }
    }
}

/// A mechanism the model does not know (never written: the API takes only those it knows)
/// reads as SCRAM-SHA-512, the strongest; the login then fails naming it.
impl From<v10::Sasl> for Sasl {
    fn from(s: v10::Sasl) -> Self {
        Sasl {
            mechanism: SaslMechanism::parse(&s.mechanism).unwrap_or(SaslMechanism::ScramSha512),
            username: s.username,
            password_sealed: s.password_sealed,
        }
    }
}

impl From<DataSource> for v11::DataSource {
    fn from(d: DataSource) -> Self {
        let kind = match d.kind {
            DataSourceKind::Mysql { host, port, user, password_sealed, tls } => {
                v11::DataSourceKind::Mysql { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            DataSourceKind::Kafka { bootstrap_servers, replication_factor, dead_letter_topic, tls, sasl } => {
                v11::DataSourceKind::Kafka {
                    bootstrap_servers,
                    replication_factor,
                    dead_letter_topic,
                    tls: tls.map(Into::into),
                    sasl: sasl.map(Into::into),
                }
            }
            DataSourceKind::Oceanbase { host, port, user, password_sealed, tls } => {
                v11::DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            DataSourceKind::Dbp { instances, tables } => v11::DataSourceKind::Dbp {
                instances,
                tables: tables
                    .into_iter()
                    .map(|t| v11::LogicalTable { logical: t.logical, physical: t.physical })
                    .collect(),
            },
            DataSourceKind::Datahub {
                endpoint,
                project,
                access_id,
                access_key_sealed,
                record_type,
                dead_letter_topic,
                lifecycle_days,
            } => v11::DataSourceKind::Datahub {
                endpoint,
                project,
                access_id,
                access_key_sealed,
                record_type: match record_type {
                    DatahubRecordType::Tuple => v11::RecordType::Tuple,
                    DatahubRecordType::Blob => v11::RecordType::Blob,
                },
                dead_letter_topic,
                lifecycle_days,
                tls: None,
            },
            DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
            } => v11::DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
                tls: None,
            },
        };
        v11::DataSource { name: d.name, kind }
    }
}

impl From<v11::DataSource> for DataSource {
    fn from(d: v11::DataSource) -> Self {
        let kind = match d.kind {
            v11::DataSourceKind::Mysql { host, port, user, password_sealed, tls } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v11::DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls,
                sasl,
            } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls: tls.map(Into::into),
                sasl: sasl.map(Into::into),
            },
            v11::DataSourceKind::Oceanbase { host, port, user, password_sealed, tls } => {
                DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v11::DataSourceKind::Dbp { instances, tables } => DataSourceKind::Dbp {
                instances,
                tables: tables
                    .into_iter()
                    .map(|t| LogicalTable { logical: t.logical, physical: t.physical })
                    .collect(),
            },
            v11::DataSourceKind::Datahub {
                endpoint,
                project,
                access_id,
                access_key_sealed,
                record_type,
                dead_letter_topic,
                lifecycle_days,
                tls: _,
            } => DataSourceKind::Datahub {
                endpoint,
                project,
                access_id,
                access_key_sealed,
                record_type: match record_type {
                    v11::RecordType::Tuple => DatahubRecordType::Tuple,
                    v11::RecordType::Blob => DatahubRecordType::Blob,
                },
                dead_letter_topic,
                lifecycle_days,
            },
            v11::DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
                tls: _,
            } => DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
            },
        };
        DataSource { name: d.name, kind }
    }
}

// --- model <-> v10 (read only) ----------------------------------------------------------------

impl From<v10::DataSource> for DataSource {
    fn from(d: v10::DataSource) -> Self {
        let kind = match d.kind {
            v10::DataSourceKind::Mysql { host, port, user, password_sealed, tls } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v10::DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls,
                sasl,
            } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls: tls.map(Into::into),
                sasl: sasl.map(Into::into),
            },
            v10::DataSourceKind::Oceanbase { host, port, user, password_sealed, tls } => {
                DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v10::DataSourceKind::Dbp { instances, tables } => DataSourceKind::Dbp {
                instances,
                tables: tables
                    .into_iter()
                    .map(|t| LogicalTable { logical: t.logical, physical: t.physical })
                    .collect(),
            },
            v10::DataSourceKind::Datahub { endpoint, project, access_id, access_key_sealed, record_type } => {
                DataSourceKind::Datahub {
                    endpoint,
                    project,
                    access_id,
                    access_key_sealed,
                    record_type: match record_type {
                        v10::RecordType::Tuple => DatahubRecordType::Tuple,
                        v10::RecordType::Blob => DatahubRecordType::Blob,
                    },
                    dead_letter_topic: None,
                    lifecycle_days: None,
                }
            }
            v10::DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
                tls: _,
            } => DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                secret_key_sealed,
                tag,
                send_timeout_ms,
                dead_letter_topic,
            },
        };
        DataSource { name: d.name, kind }
    }
}

// --- model <-> v9 (read only) -----------------------------------------------------------------

impl From<v9::DataSource> for DataSource {
    fn from(d: v9::DataSource) -> Self {
        let kind = match d.kind {
            v9::DataSourceKind::Mysql { host, port, user, password_sealed, tls } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v9::DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls,
                sasl,
            } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls: tls.map(Into::into),
                sasl: sasl.map(Into::into),
            },
            v9::DataSourceKind::Oceanbase { host, port, user, password_sealed, tls } => {
                DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: tls.map(Into::into) }
            }
            v9::DataSourceKind::Dbp { instances, tables } => DataSourceKind::Dbp {
                instances,
                tables: tables
                    .into_iter()
                    .map(|t| LogicalTable { logical: t.logical, physical: t.physical })
                    .collect(),
            },
            v9::DataSourceKind::Datahub { endpoint, project, access_id, access_key_sealed, record_type } => {
                DataSourceKind::Datahub {
                    endpoint,
                    project,
                    access_id,
                    access_key_sealed,
                    record_type: match record_type {
                        v9::RecordType::Tuple => DatahubRecordType::Tuple,
                        v9::RecordType::Blob => DatahubRecordType::Blob,
                    },
                    dead_letter_topic: None,
                    lifecycle_days: None,
                }
            }
        };
        DataSource { name: d.name, kind }
    }
}

// --- model <-> v8 -----------------------------------------------------------------------------

impl From<v8::DataSource> for DataSource {
    fn from(d: v8::DataSource) -> Self {
        let kind = match d.kind {
            v8::DataSourceKind::Mysql { host, port, user, password_sealed } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: None }
            }
            v8::DataSourceKind::Kafka { bootstrap_servers } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor: None,
                dead_letter_topic: None,
                tls: None,
                sasl: None,
            },
            v8::DataSourceKind::Oceanbase { host, port, user, password_sealed } => {
                DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: None }
            }
            v8::DataSourceKind::Dbp { instances, tables } => DataSourceKind::Dbp {
                instances,
                tables: tables
                    .into_iter()
                    .map(|t| LogicalTable { logical: t.logical, physical: t.physical })
                    .collect(),
            },
        };
        DataSource { name: d.name, kind }
    }
}

// --- model <-> v7 -----------------------------------------------------------------------------

impl From<v7::DataSource> for DataSource {
    fn from(d: v7::DataSource) -> Self {
        let kind = match d.kind {
            v7::DataSourceKind::Mysql { host, port, user, password_sealed } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: None }
            }
            v7::DataSourceKind::Kafka { bootstrap_servers } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor: None,
                dead_letter_topic: None,
                tls: None,
                sasl: None,
            },
            v7::DataSourceKind::Oceanbase { host, port, user, password_sealed } => {
                DataSourceKind::Oceanbase { host, port, user, password_sealed, tls: None }
            }
        };
        DataSource { name: d.name, kind }
    }
}

impl From<ProjectSpec> for v7::ProjectSpec {
    fn from(mut s: ProjectSpec) -> Self {
        let routes = std::mem::take(&mut s.routes)
            .into_iter()
            .map(|r| v7::RouteRule {
                from: r.from,
                to: r.to,
                columns: r.columns.into_iter().collect(),
                shard_column: r.shard_column,
            })
            .collect();
        v7::ProjectSpec { spec: s.into(), routes }
    }
}

impl From<v7::ProjectSpec> for ProjectSpec {
    fn from(s: v7::ProjectSpec) -> Self {
        let routes = s
            .routes
            .into_iter()
            .map(|r| RouteRule {
                from: r.from,
                to: r.to,
                columns: r.columns.into_iter().collect(),
                shard_column: r.shard_column,
            })
            .collect();
        ProjectSpec { routes, ..s.spec.into() }
    }
}

// --- model <-> v3 -----------------------------------------------------------------------------

impl From<ProjectSpec> for v3::ProjectSpec {
    fn from(s: ProjectSpec) -> Self {
        let store = v3::StoreOptions {
            retention_hours: s.store.retention_hours,
            retention_bytes: s.store.retention_bytes,
            max_disk_bytes: s.store.max_disk_bytes,
        };
        let connectors = s
            .connectors
            .iter()
            .map(|c| v3::ConnectorSpec {
                id: c.id.clone(),
                destination: c.destination.clone(),
                format: c.format.into(),
                partition: c.partition.into(),
                topic: c.topic.clone(),
            })
            .collect();
        let truncate_events = s.options.truncate_events;
        let v2 = v2::ProjectSpec::from(s);
        v3::ProjectSpec {
            truncate_events,
            connectors,
            name: v2.name,
            source: v2.source,
            destination: v2.destination,
            objects: v2.objects,
            format: v2.format,
            partition: v2.partition,
            start: v2.start,
            options: v2.options,
            store,
        }
    }
}

impl From<v3::ProjectSpec> for ProjectSpec {
    fn from(s: v3::ProjectSpec) -> Self {
        let store = StoreOptions {
            retention_hours: s.store.retention_hours,
            retention_bytes: s.store.retention_bytes,
            max_disk_bytes: s.store.max_disk_bytes,
        };
        let connectors = s
            .connectors
            .into_iter()
            .map(|c| ConnectorSpec {
                id: c.id,
                destination: c.destination,
                format: c.format.into(),
                partition: c.partition.into(),
                topic: c.topic,
            })
            .collect();
        let v2 = v2::ProjectSpec {
            name: s.name,
            source: s.source,
            destination: s.destination,
            objects: s.objects,
            format: s.format,
            partition: s.partition,
            start: s.start,
            options: s.options,
        };
        let mut spec = ProjectSpec { store, connectors, ..v2.into() };
        spec.options.truncate_events = s.truncate_events;
        spec
    }
}

// --- model <-> v2 -----------------------------------------------------------------------------

impl From<ProjectSpec> for v2::ProjectSpec {
    fn from(s: ProjectSpec) -> Self {
        let o = s.options;
        v2::ProjectSpec {
            name: s.name,
            source: s.source,
            destination: s.destination,
            objects: s.objects.into_iter().map(Into::into).collect(),
            format: s.format.into(),
            partition: s.partition.into(),
            start: s.start.into(),
            options: v2::ProjectOptions {
                topic_partitions: o.topic_partitions,
                split_key_updates: o.split_key_updates,
                tombstones: o.tombstones,
                checkpoint_interval_ms: o.checkpoint_interval_ms,
                server_id: o.server_id,
                heartbeat_ms: o.heartbeat_ms,
            },
        }
    }
}

impl From<v2::ProjectSpec> for ProjectSpec {
    fn from(s: v2::ProjectSpec) -> Self {
        let o = s.options;
        ProjectSpec {
            name: s.name,
            source: s.source,
            destination: s.destination,
            objects: s.objects.into_iter().map(Into::into).collect(),
            format: s.format.into(),
            partition: s.partition.into(),
            start: s.start.into(),
            options: ProjectOptions {
                topic_partitions: o.topic_partitions,
                split_key_updates: o.split_key_updates,
                tombstones: o.tombstones,
                checkpoint_interval_ms: o.checkpoint_interval_ms,
                server_id: o.server_id,
                heartbeat_ms: o.heartbeat_ms,
                truncate_events: false,
            },
            store: StoreOptions::default(),
            connectors: Vec::new(),
            routes: Vec::new(),
            sync: SyncModes::default(),
            snapshot: SnapshotOptions::default(),
        }
    }
}

// --- model <-> v1 -----------------------------------------------------------------------------

impl From<Command> for v1::Command {
    fn from(c: Command) -> Self {
        use v1::Command as W;
        match c {
            Command::DeleteDataSource { name } => W::DeleteDataSource { name },
            Command::DeleteProject { name } => W::DeleteProject { name },
            Command::Transition { name, action, now_ms, start_at } => {
                W::Transition { name, action: action.into(), now_ms, start_at: start_at.map(Into::into) }
            }
            Command::Fail { name, epoch, error, now_ms } => W::Fail { name, epoch, error, now_ms },
            Command::SaveCheckpoints { node, checkpoints } => {
                W::SaveCheckpoints { node, checkpoints: checkpoints.into_iter().map(Into::into).collect() }
            }
            Command::NodeUp { node, raft, http } => W::NodeUp { node, raft, http },
            Command::Heartbeat { node, applied } => W::Heartbeat { node, applied },
            Command::NodeLeaving { node } => W::NodeLeaving { node },
            Command::NodeRemoved { node } => W::NodeRemoved { node },
            Command::Place { project, node, epoch, lost } => W::Place { project, node, epoch, lost },
            Command::Release { project, epoch } => W::Release { project, epoch },
            Command::Released { node, projects } => W::Released { node, projects },
            Command::SetKeyCheck { sealed } => W::SetKeyCheck { sealed },
            Command::ResetCheckpoint { .. } => unreachable!("written as v3"),
            Command::SaveSchemaHistory { .. } => unreachable!("written as v4"),
            Command::PlaceConnector { .. } => unreachable!("written as v5"),
            Command::CreateDataSource { .. }
            | Command::UpdateDataSource { .. }
            | Command::CreateProject { .. } => unreachable!("written as v7 or v8"),
        }
    }
}

impl From<v1::Command> for Command {
    fn from(c: v1::Command) -> Self {
        use v1::Command as W;
        match c {
            W::CreateDataSource { source } => Command::CreateDataSource { source: source.into() },
            W::DeleteDataSource { name } => Command::DeleteDataSource { name },
            W::CreateProject { spec, now_ms } => Command::CreateProject { spec: spec.into(), now_ms },
            W::DeleteProject { name } => Command::DeleteProject { name },
            W::Transition { name, action, now_ms, start_at } => Command::Transition {
                name,
                action: action.into(),
                now_ms,
                start_at: start_at.map(Into::into),
            },
            W::Fail { name, epoch, error, now_ms } => Command::Fail { name, epoch, error, now_ms },
            W::SaveCheckpoints { node, checkpoints } => Command::SaveCheckpoints {
                node,
                checkpoints: checkpoints.into_iter().map(Into::into).collect(),
            },
            W::NodeUp { node, raft, http } => Command::NodeUp { node, raft, http },
            W::Heartbeat { node, applied } => Command::Heartbeat { node, applied },
            W::NodeLeaving { node } => Command::NodeLeaving { node },
            W::NodeRemoved { node } => Command::NodeRemoved { node },
            W::Place { project, node, epoch, lost } => Command::Place { project, node, epoch, lost },
            W::Release { project, epoch } => Command::Release { project, epoch },
            W::Released { node, projects } => Command::Released { node, projects },
            W::SetKeyCheck { sealed } => Command::SetKeyCheck { sealed },
        }
    }
}

impl From<v1::DataSource> for DataSource {
    fn from(d: v1::DataSource) -> Self {
        let kind = match d.kind {
            v1::DataSourceKind::Mysql { host, port, user, password_sealed } => {
                DataSourceKind::Mysql { host, port, user, password_sealed, tls: None }
            }
            v1::DataSourceKind::Kafka { bootstrap_servers } => DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor: None,
                dead_letter_topic: None,
                tls: None,
                sasl: None,
            },
        };
        DataSource { name: d.name, kind }
    }
}

impl From<v1::ProjectSpec> for ProjectSpec {
    fn from(s: v1::ProjectSpec) -> Self {
        ProjectSpec {
            name: s.name,
            source: s.source,
            destination: s.destination,
            objects: s.objects.into_iter().map(Into::into).collect(),
            format: s.format.into(),
            partition: s.partition.into(),
            start: s.start.into(),
            options: s.options.into(),
            store: StoreOptions::default(),
            connectors: Vec::new(),
            routes: Vec::new(),
            sync: SyncModes::default(),
            snapshot: SnapshotOptions::default(),
        }
    }
}

impl From<ObjectRule> for v1::ObjectRule {
    fn from(r: ObjectRule) -> Self {
        v1::ObjectRule { database: r.database, tables: r.tables, exclude: r.exclude, topic: r.topic }
    }
}

impl From<v1::ObjectRule> for ObjectRule {
    fn from(r: v1::ObjectRule) -> Self {
        ObjectRule {
            database: r.database,
            tables: r.tables,
            exclude: r.exclude,
            topic: r.topic,
            ..Default::default()
        }
    }
}

impl From<Format> for v1::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Default => v1::Format::Default,
            Format::Canal => v1::Format::Canal,
            Format::Debezium => v1::Format::Debezium,
        }
    }
}

impl From<v1::Format> for Format {
    fn from(f: v1::Format) -> Self {
        match f {
            v1::Format::Default => Format::Default,
            v1::Format::Canal => Format::Canal,
            v1::Format::Debezium => Format::Debezium,
        }
    }
}

impl From<Partition> for v1::Partition {
    fn from(p: Partition) -> Self {
        match p {
            Partition::Hash => v1::Partition::Hash,
            Partition::Table => v1::Partition::Table,
            Partition::One => v1::Partition::One,
        }
    }
}

impl From<v1::Partition> for Partition {
    fn from(p: v1::Partition) -> Self {
        match p {
            v1::Partition::Hash => Partition::Hash,
            v1::Partition::Table => Partition::Table,
            v1::Partition::One => Partition::One,
        }
    }
}

impl From<StartPoint> for v1::StartPoint {
    fn from(s: StartPoint) -> Self {
        match s {
            StartPoint::Now => v1::StartPoint::Now,
            StartPoint::FilePos { file, pos } => v1::StartPoint::FilePos { file, pos },
            StartPoint::Gtid { gtid } => v1::StartPoint::Gtid { gtid },
            StartPoint::Timestamp { timestamp } => v1::StartPoint::Timestamp { timestamp },
        }
    }
}

impl From<v1::StartPoint> for StartPoint {
    fn from(s: v1::StartPoint) -> Self {
        match s {
            v1::StartPoint::Now => StartPoint::Now,
            v1::StartPoint::FilePos { file, pos } => StartPoint::FilePos { file, pos },
            v1::StartPoint::Gtid { gtid } => StartPoint::Gtid { gtid },
            v1::StartPoint::Timestamp { timestamp } => StartPoint::Timestamp { timestamp },
        }
    }
}

impl From<v1::ProjectOptions> for ProjectOptions {
    fn from(o: v1::ProjectOptions) -> Self {
        ProjectOptions {
            topic_partitions: o.topic_partitions,
            split_key_updates: o.split_key_updates,
            tombstones: o.tombstones,
            checkpoint_interval_ms: o.checkpoint_interval_ms,
            ..ProjectOptions::default()
        }
    }
}

impl From<Action> for v1::Action {
    fn from(a: Action) -> Self {
        match a {
            Action::Start => v1::Action::Start,
            Action::Pause => v1::Action::Pause,
            Action::Resume => v1::Action::Resume,
            Action::Stop => v1::Action::Stop,
            Action::Release => v1::Action::Release,
        }
    }
}

impl From<v1::Action> for Action {
    fn from(a: v1::Action) -> Self {
        match a {
            v1::Action::Start => Action::Start,
            v1::Action::Pause => Action::Pause,
            v1::Action::Resume => Action::Resume,
            v1::Action::Stop => Action::Stop,
            v1::Action::Release => Action::Release,
        }
    }
}

impl From<Position> for v1::Position {
    fn from(p: Position) -> Self {
        v1::Position { file: p.file, pos: p.pos, gtid: p.gtid }
    }
}

impl From<v1::Position> for Position {
    fn from(p: v1::Position) -> Self {
        Position { file: p.file, pos: p.pos, gtid: p.gtid }
    }
}

impl From<CheckpointUpdate> for v1::CheckpointUpdate {
    fn from(c: CheckpointUpdate) -> Self {
        v1::CheckpointUpdate {
            project: c.project,
            epoch: c.epoch,
            seq: c.seq,
            position: c.position.into(),
            commit_ts: c.commit_ts,
            rows: c.rows,
            bytes: c.bytes,
            tables: c.tables,
        }
    }
}

impl From<TableChanges> for v6::TableChanges {
    fn from(c: TableChanges) -> Self {
        v6::TableChanges { inserted: c.inserted, updated: c.updated, deleted: c.deleted, last_ts: c.last_ts }
    }
}

impl From<v6::TableChanges> for TableChanges {
    fn from(c: v6::TableChanges) -> Self {
        TableChanges { inserted: c.inserted, updated: c.updated, deleted: c.deleted, last_ts: c.last_ts }
    }
}

impl From<CheckpointUpdate> for v6::CheckpointUpdate {
    fn from(c: CheckpointUpdate) -> Self {
        let changes = c.changes.into_iter().map(|(t, c)| (t, c.into())).collect();
        v6::CheckpointUpdate {
            project: c.project,
            connector: c.connector,
            epoch: c.epoch,
            seq: c.seq,
            position: c.position.into(),
            commit_ts: c.commit_ts,
            rows: c.rows,
            bytes: c.bytes,
            tables: c.tables,
            changes,
        }
    }
}

impl From<v6::CheckpointUpdate> for CheckpointUpdate {
    fn from(c: v6::CheckpointUpdate) -> Self {
        let changes = c.changes.into_iter().map(|(t, c)| (t, c.into())).collect();
        CheckpointUpdate {
            project: c.project,
            connector: c.connector,
            epoch: c.epoch,
            seq: c.seq,
            position: c.position.into(),
            commit_ts: c.commit_ts,
            rows: c.rows,
            bytes: c.bytes,
            tables: c.tables,
            changes,
        }
    }
}

impl From<v3::CheckpointUpdate> for CheckpointUpdate {
    fn from(c: v3::CheckpointUpdate) -> Self {
        CheckpointUpdate {
            project: c.project,
            connector: c.connector,
            epoch: c.epoch,
            seq: c.seq,
            position: c.position.into(),
            commit_ts: c.commit_ts,
            rows: c.rows,
            bytes: c.bytes,
            tables: c.tables,
            // Counted by operation since v6.
            changes: Vec::new(),
        }
    }
}

/// v1 checkpoints were of the one connector a project had then.
impl From<v1::CheckpointUpdate> for CheckpointUpdate {
    fn from(c: v1::CheckpointUpdate) -> Self {
        CheckpointUpdate {
            project: c.project,
            connector: super::DEFAULT_CONNECTOR.into(),
            epoch: c.epoch,
            seq: c.seq,
            position: c.position.into(),
            commit_ts: c.commit_ts,
            rows: c.rows,
            bytes: c.bytes,
            tables: c.tables,
            // Counted by operation since v6.
            changes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{MetaError, MetaState};
    use cluster::StateMachine;

    /// A v1 log, as bytes: what `FIXTURE_V1` commands encoded to when v1 was written. Changing
    /// a v1 type changes these bytes and fails this test: add a v2 instead.
    const FIXTURE: &str = include_str!("testdata/log_v1.hex");

    fn fixture_commands() -> Vec<Command> {
        let spec = ProjectSpec {
            name: "shop-sync".into(),
            source: "maria".into(),
            destination: "kafka".into(),
            objects: vec![ObjectRule {
                database: "shop".into(),
                tables: vec!["orders".into()],
                exclude: vec![],
                topic: "{database}.{table}".into(),
                ..Default::default()
            }],
            format: Format::Canal,
            partition: Partition::Table,
            start: StartPoint::FilePos { file: "bin.000001".into(), pos: 4 },
            options: ProjectOptions { topic_partitions: 3, ..Default::default() },
            store: StoreOptions::default(),
            connectors: Vec::new(),
            routes: Vec::new(),
            sync: SyncModes::default(),
            snapshot: SnapshotOptions::default(),
        };
        vec![
            Command::CreateDataSource {
                source: DataSource {
                    name: "maria".into(),
                    kind: DataSourceKind::Mysql {
                        host: "db".into(),
                        port: 3306,
                        user: "ferry".into(),
                        password_sealed: vec![1, 2, 3],
                        tls: None,
                    },
                },
            },
            Command::CreateDataSource {
                source: DataSource {
                    name: "kafka".into(),
                    kind: DataSourceKind::Kafka {
                        bootstrap_servers: "k:9092".into(),
                        replication_factor: None,
                        dead_letter_topic: None,
                        tls: None,
                        sasl: None,
                    },
                },
            },
            Command::NodeUp { node: 2, raft: "127.0.0.12:7001".into(), http: "127.0.0.12:8990".into() },
            Command::CreateProject { spec, now_ms: 1_700_000_000_000 },
            Command::Transition {
                name: "shop-sync".into(),
                action: Action::Start,
                now_ms: 1,
                start_at: None,
            },
            Command::Place { project: "shop-sync".into(), node: 2, epoch: 1, lost: None },
            Command::Heartbeat { node: 2, applied: 6 },
            Command::SaveCheckpoints {
                node: 2,
                checkpoints: vec![CheckpointUpdate {
                    project: "shop-sync".into(),
                    connector: "default".into(),
                    epoch: 2,
                    seq: 10,
                    position: Position { file: "bin.000001".into(), pos: 900, gtid: Some("0-1-5".into()) },
                    commit_ts: 1_700_000_001,
                    rows: 7,
                    bytes: 700,
                    tables: vec![("shop.orders".into(), 7)],
                    changes: vec![],
                }],
            },
        ]
    }

    fn encode(c: &LogCommand) -> Vec<u8> {
        bincode::serde::encode_to_vec(c, bincode::config::standard()).unwrap()
    }

    #[test]
    fn a_v1_log_still_decodes_and_replays() {
        check_fixture(FIXTURE, fixture_commands(), |c| matches!(c, LogCommand::V1(_)));
        let mut state = MetaState::default();
        for (i, line) in FIXTURE.lines().filter(|l| !l.is_empty()).enumerate() {
            let (decoded, _): (LogCommand, _) =
                bincode::serde::decode_from_slice(&hex::decode(line).unwrap(), bincode::config::standard())
                    .unwrap();
            state.apply(i as u64 + 1, decoded).unwrap();
        }
        let p = &state.projects["shop-sync"];
        assert_eq!((p.epoch, p.placement.as_ref().map(|pl| pl.node)), (2, Some(2)));
        let cp = p.checkpoint("default");
        assert_eq!((cp.seq, cp.rows, cp.position.pos, cp.tables["shop.orders"]), (10, 7, 900, 7));
        assert_eq!(state.nodes[&2].heartbeats, 1);
    }

    /// A v2 entry as bytes; like the v1 fixture, frozen.
    const FIXTURE_V2: &str = include_str!("testdata/log_v2.hex");

    #[test]
    fn a_v2_project_keeps_its_replica_server_id_and_heartbeat() {
        let mut spec = match fixture_commands().remove(3) {
            Command::CreateProject { spec, .. } => spec,
            other => panic!("{other:?}"),
        };
        spec.options.server_id = Some(4242);
        spec.options.heartbeat_ms = 1500;
        let command = Command::CreateProject { spec: spec.clone(), now_ms: 1_700_000_000_000 };
        let line = FIXTURE_V2.trim();
        let as_v2 =
            LogCommand::V2(v2::Command::CreateProject { spec: spec.into(), now_ms: 1_700_000_000_000 });
        assert_eq!(hex::encode(encode(&as_v2)), line, "v2 encodes as written");
        let (decoded, _): (LogCommand, _) =
            bincode::serde::decode_from_slice(&hex::decode(line).unwrap(), bincode::config::standard())
                .unwrap();
        assert_eq!(decoded.into_command(), command, "a v2 project has the default store options");
    }

    /// v3 entries as bytes; frozen.
    const FIXTURE_V3: &str = include_str!("testdata/log_v3.hex");

    fn v3_commands() -> Vec<Command> {
        let mut spec = match fixture_commands().remove(3) {
            Command::CreateProject { spec, .. } => spec,
            other => panic!("{other:?}"),
        };
        spec.store =
            StoreOptions { retention_hours: 2, retention_bytes: 5 << 20, max_disk_bytes: Some(1 << 30) };
        spec.options.truncate_events = true;
        spec.connectors = vec![ConnectorSpec {
            id: "k2".into(),
            destination: "kafka".into(),
            format: Format::Debezium,
            partition: Partition::One,
            topic: Some("all.{database}".into()),
        }];
        vec![
            Command::CreateProject { spec, now_ms: 1_700_000_000_000 },
            Command::SaveCheckpoints {
                node: 2,
                checkpoints: vec![CheckpointUpdate {
                    project: "shop-sync".into(),
                    connector: "k2".into(),
                    epoch: 2,
                    seq: 10,
                    position: Position { file: "bin.000001".into(), pos: 900, gtid: None },
                    commit_ts: 1_700_000_001,
                    rows: 7,
                    bytes: 700,
                    tables: vec![("shop.orders".into(), 7)],
                    changes: vec![],
                }],
            },
            Command::ResetCheckpoint {
                name: "shop-sync".into(),
                connector: "k2".into(),
                epoch: 2,
                seq: 4,
                position: Position { file: "bin.000001".into(), pos: 400, gtid: None },
                commit_ts: 1_700_000_000,
                now_ms: 1_700_000_100_000,
            },
        ]
    }

    #[test]
    fn v3_keeps_store_options_connectors_and_their_checkpoints() {
        check_fixture(FIXTURE_V3, v3_commands(), |c| matches!(c, LogCommand::V3(_)));
    }

    /// v4 entries as bytes; frozen.
    const FIXTURE_V4: &str = include_str!("testdata/log_v4.hex");

    fn v4_commands() -> Vec<Command> {
        let source = DataSource {
            name: "maria".into(),
            kind: DataSourceKind::Mysql {
                host: "10.0.0.2".into(),
                port: 3307,
                user: "ferry".into(),
                password_sealed: vec![1, 2, 3],
                tls: None,
            },
        };
        vec![
            Command::UpdateDataSource { source, now_ms: 1_700_000_200_000 },
            Command::SaveSchemaHistory {
                name: "shop-sync".into(),
                epoch: 3,
                entries: vec![HistoryEntry { key: b"shop\0t\0".to_vec(), value: b"{}".to_vec() }],
            },
        ]
    }

    /// Each command is written in the version `written_as` accepts, encodes as the fixture's
    /// line, and decodes back to itself.
    /// (A command a later version took over is written in that one now: its entry must still
    /// decode, and re-encode as written.)
    fn check_fixture(fixture: &str, commands: Vec<Command>, written_as: fn(&LogCommand) -> bool) {
        let lines: Vec<&str> = fixture.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), commands.len());
        for (i, (line, command)) in lines.iter().zip(commands).enumerate() {
            let (decoded, _): (LogCommand, _) =
                bincode::serde::decode_from_slice(&hex::decode(line).unwrap(), bincode::config::standard())
                    .unwrap();
            assert!(written_as(&decoded), "entry {i} was written as {decoded:?}");
            assert_eq!(hex::encode(encode(&decoded)), *line, "entry {i} re-encodes as written");
            let written = LogCommand::from(command.clone());
            if written_as(&written) {
                assert_eq!(written, decoded, "entry {i} is still written this way");
            }
            assert_eq!(decoded.into_command(), command, "entry {i}");
        }
    }

    #[test]
    fn v4_keeps_data_source_updates_and_schema_history() {
        check_fixture(FIXTURE_V4, v4_commands(), |c| matches!(c, LogCommand::V4(_)));
    }

    /// v5 entries as bytes; frozen.
    const FIXTURE_V5: &str = include_str!("testdata/log_v5.hex");

    fn v5_commands() -> Vec<Command> {
        vec![
            Command::PlaceConnector {
                project: "shop-sync".into(),
                connector: "k2".into(),
                node: Some(3),
                epoch: 4,
                lost: None,
            },
            Command::PlaceConnector {
                project: "shop-sync".into(),
                connector: "k2".into(),
                node: None,
                epoch: 5,
                lost: Some((3, 17)),
            },
        ]
    }

    #[test]
    fn v5_keeps_connector_placements() {
        check_fixture(FIXTURE_V5, v5_commands(), |c| matches!(c, LogCommand::V5(_)));
    }

    /// v6 entries as bytes; frozen.
    const FIXTURE_V6: &str = include_str!("testdata/log_v6.hex");

    fn v6_commands() -> Vec<Command> {
        let changes = TableChanges { inserted: 5, updated: 1, deleted: 1, last_ts: 1_700_000_001 };
        vec![Command::SaveCheckpoints {
            node: 2,
            checkpoints: vec![CheckpointUpdate {
                project: "shop-sync".into(),
                connector: "k2".into(),
                epoch: 2,
                seq: 10,
                position: Position { file: "bin.000001".into(), pos: 900, gtid: Some("0-1-12".into()) },
                commit_ts: 1_700_000_001,
                rows: 7,
                bytes: 700,
                tables: vec![("shop.orders".into(), 7)],
                changes: vec![("shop.orders".into(), changes)],
            }],
        }]
    }

    #[test]
    fn v6_keeps_changes_by_operation() {
        if FIXTURE_V6.trim().is_empty() {
            for c in v6_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V6, v6_commands(), |c| matches!(c, LogCommand::V6(_)));
    }

    /// v7 entries as bytes; frozen.
    const FIXTURE_V7: &str = include_str!("testdata/log_v7.hex");

    fn v7_commands() -> Vec<Command> {
        let mut spec = match v3_commands().remove(0) {
            Command::CreateProject { spec, .. } => spec,
            other => panic!("{other:?}"),
        };
        spec.connectors[0].destination = "ob".into();
        spec.routes = vec![
            RouteRule {
                from: "shop_*.orders_*".into(),
                to: Some("shop.orders".into()),
                columns: [("amt".to_string(), "amount".to_string()), ("id".into(), "order_id".into())].into(),
                shard_column: Some("shard".into()),
            },
            RouteRule { from: "crm.*".into(), to: None, columns: Default::default(), shard_column: None },
        ];
        let oceanbase = |host: &str| DataSource {
            name: "ob".into(),
            kind: DataSourceKind::Oceanbase {
                host: host.into(),
                port: 2881,
                user: "root@sys".into(),
                password_sealed: vec![4, 5, 6],
                tls: None,
            },
        };
        vec![
            Command::CreateDataSource { source: oceanbase("10.0.0.5") },
            Command::CreateDataSource {
                source: DataSource {
                    name: "kafka".into(),
                    kind: DataSourceKind::Kafka {
                        bootstrap_servers: "k:9092".into(),
                        replication_factor: None,
                        dead_letter_topic: None,
                        tls: None,
                        sasl: None,
                    },
                },
            },
            Command::UpdateDataSource {
                source: DataSource {
                    name: "maria".into(),
                    kind: DataSourceKind::Mysql {
                        host: "10.0.0.3".into(),
                        port: 3306,
                        user: "ferry".into(),
                        password_sealed: vec![7],
                        tls: None,
                    },
                },
                now_ms: 1_700_000_300_000,
            },
            Command::UpdateDataSource { source: oceanbase("10.0.0.6"), now_ms: 1_700_000_400_000 },
            Command::CreateProject { spec, now_ms: 1_700_000_500_000 },
        ]
    }

    #[test]
    fn v7_keeps_oceanbase_data_sources_and_routes() {
        if FIXTURE_V7.trim().is_empty() {
            for c in v7_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V7, v7_commands(), |c| matches!(c, LogCommand::V7(_)));
    }

    /// v8 entries as bytes; frozen.
    const FIXTURE_V8: &str = include_str!("testdata/log_v8.hex");

    fn v8_commands() -> Vec<Command> {
        let dbp = |physical: &str| DataSource {
            name: "shop".into(),
            kind: DataSourceKind::Dbp {
                instances: vec!["maria".into(), "maria2".into()],
                tables: vec![
                    LogicalTable { logical: "shop.orders".into(), physical: physical.into() },
                    LogicalTable { logical: "shop.users".into(), physical: "shop_{00..03}.users".into() },
                ],
            },
        };
        let mut v7 = v7_commands();
        vec![
            v7.remove(0),
            Command::CreateDataSource { source: dbp("shop_{00..03}.orders_{00..15}") },
            Command::UpdateDataSource { source: dbp("shop_*.orders_*"), now_ms: 1_700_000_600_000 },
            v7.remove(2),
        ]
    }

    #[test]
    fn v8_keeps_sharded_data_sources() {
        if FIXTURE_V8.trim().is_empty() {
            for c in v8_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V8, v8_commands(), |c| matches!(c, LogCommand::V8(_)));
        // The v7 entries of data sources still decode as they were.
        let v7: Vec<&str> = FIXTURE_V7.lines().filter(|l| !l.is_empty()).collect();
        let (decoded, _): (LogCommand, _) =
            bincode::serde::decode_from_slice(&hex::decode(v7[0]).unwrap(), bincode::config::standard())
                .unwrap();
        assert_eq!(decoded.into_command(), v8_commands().remove(0));
    }

    /// v9 entries as bytes; frozen.
    const FIXTURE_V9: &str = include_str!("testdata/log_v9.hex");

    fn v9_commands() -> Vec<Command> {
        let kafka = |replication_factor| DataSource {
            name: "kafka".into(),
            kind: DataSourceKind::Kafka {
                bootstrap_servers: "k:9092".into(),
                replication_factor,
                dead_letter_topic: None,
                tls: None,
                sasl: None,
            },
        };
        vec![
            Command::CreateDataSource { source: kafka(Some(3)) },
            Command::UpdateDataSource { source: kafka(None), now_ms: 1_700_000_700_000 },
            Command::CreateDataSource {
                source: DataSource {
                    name: "dh".into(),
                    kind: DataSourceKind::Datahub {
                        endpoint: "http://dh:8080".into(),
                        project: "ferry".into(),
                        access_id: "id".into(),
                        access_key_sealed: vec![9, 8],
                        record_type: DatahubRecordType::Blob,
                        dead_letter_topic: None,
                        lifecycle_days: None,
                    },
                },
            },
            v8_commands().remove(1),
        ]
    }

    #[test]
    fn v9_keeps_kafka_replication_and_datahub_data_sources() {
        if FIXTURE_V9.trim().is_empty() {
            for c in v9_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V9, v9_commands(), |c| matches!(c, LogCommand::V9(_)));
    }

    /// v10 entries as bytes; frozen.
    const FIXTURE_V10: &str = include_str!("testdata/log_v10.hex");

    fn v10_commands() -> Vec<Command> {
        let rocketmq = |access_key: Option<&str>| DataSource {
            name: "rmq".into(),
            kind: DataSourceKind::Rocketmq {
                name_server: "ns1:9876;ns2:9876".into(),
                producer_group: "FERRY".into(),
                access_key: access_key.map(Into::into),
                secret_key_sealed: access_key.map(|_| vec![7, 6, 5]),
                tag: "default_tag".into(),
                send_timeout_ms: 3000,
                dead_letter_topic: None,
            },
        };
        let kafka = DataSource {
            name: "kafka".into(),
            kind: DataSourceKind::Kafka {
                bootstrap_servers: "k:9092".into(),
                replication_factor: Some(2),
                dead_letter_topic: Some("ferry.dlq".into()),
                tls: None,
                sasl: None,
            },
        };
        vec![
            Command::CreateDataSource { source: rocketmq(Some("ak")) },
            Command::UpdateDataSource { source: rocketmq(None), now_ms: 1_700_000_800_000 },
            Command::CreateDataSource { source: kafka },
            v9_commands().remove(2),
        ]
    }

    #[test]
    fn v10_keeps_rocketmq_data_sources_and_kafka_dead_letter_topics() {
        if FIXTURE_V10.trim().is_empty() {
            for c in v10_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V10, v10_commands(), |c| matches!(c, LogCommand::V10(_)));
    }

    #[test]
    fn v10_keeps_tls_and_sasl_of_database_and_kafka_data_sources() {
        let tls = |ca: Option<&str>| Tls {
            ca_pem: ca.map(Into::into),
            cert_pem: Some("client chain".into()),
            key_sealed: Some(vec![1, 2]),
            verify_hostname: ca.is_none(),
        };
        let kinds = [
            DataSourceKind::Mysql {
                host: "db".into(),
                port: 3306,
                user: "u".into(),
                password_sealed: vec![3],
                tls: Some(tls(Some("ca"))),
            },
            DataSourceKind::Oceanbase {
                host: "ob".into(),
                port: 2881,
                user: "u".into(),
                password_sealed: vec![4],
                tls: Some(tls(None)),
            },
            DataSourceKind::Kafka {
                bootstrap_servers: "k:9093".into(),
                replication_factor: None,
                dead_letter_topic: None,
                tls: Some(tls(Some("ca"))),
                sasl: Some(Sasl {
                    mechanism: SaslMechanism::ScramSha256,
                    username: "ferry".into(),
                    password_sealed: vec![5, 6],
                }),
            },
        ];
        for kind in kinds {
            let command = Command::CreateDataSource { source: DataSource { name: "s".into(), kind } };
            let bytes = encode(&LogCommand::from(command.clone()));
            let (decoded, _): (LogCommand, _) =
                bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
            assert!(matches!(decoded, LogCommand::V11(_)));
            assert_eq!(decoded.into_command(), command);
        }
    }

    /// v11 entries as bytes; frozen.
    const FIXTURE_V11: &str = include_str!("testdata/log_v11.hex");

    fn v11_commands() -> Vec<Command> {
        let datahub = |dead_letter_topic: Option<&str>, lifecycle_days| DataSource {
            name: "dh".into(),
            kind: DataSourceKind::Datahub {
                endpoint: "https://dh.example:443".into(),
                project: "ferry".into(),
                access_id: "id".into(),
                access_key_sealed: vec![4, 2],
                record_type: DatahubRecordType::Tuple,
                dead_letter_topic: dead_letter_topic.map(Into::into),
                lifecycle_days,
            },
        };
        vec![
            Command::CreateDataSource { source: datahub(Some("ferry_dlq"), Some(3)) },
            Command::UpdateDataSource { source: datahub(None, None), now_ms: 1_700_000_900_000 },
            v10_commands().remove(0),
        ]
    }

    #[test]
    fn v11_keeps_datahub_dead_letter_topics_and_lifecycles() {
        if FIXTURE_V11.trim().is_empty() {
            for c in v11_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V11, v11_commands(), |c| matches!(c, LogCommand::V11(_)));
    }

    /// v12 entries as bytes; frozen.
    const FIXTURE_V12: &str = include_str!("testdata/log_v12.hex");

    fn v12_commands() -> Vec<Command> {
        let mut spec = match v7_commands().remove(4) {
            Command::CreateProject { spec, .. } => spec,
            other => panic!("{other:?}"),
        };
        spec.sync = SyncModes { full: true, incremental: true };
        spec.snapshot = SnapshotOptions { chunk_rows: 5000, parallelism: 2 };
        let mut filtered = spec.clone();
        filtered.name = "filtered".into();
        filtered.objects[0].row_filter = Some("status <> 'deleted'".into());
        filtered.objects[0].columns = Some(vec!["id".into(), "status".into()]);
        filtered.objects.push(ObjectRule {
            database: "crm".into(),
            exclude_columns: vec!["secret".into()],
            ..Default::default()
        });
        vec![
            Command::CreateProject { spec, now_ms: 1_700_001_000_000 },
            Command::CreateProject { spec: filtered, now_ms: 1_700_001_100_000 },
        ]
    }

    #[test]
    fn v12_keeps_what_a_project_syncs() {
        if FIXTURE_V12.trim().is_empty() {
            for c in v12_commands() {
                println!("{}", hex::encode(encode(&LogCommand::from(c))));
            }
        }
        check_fixture(FIXTURE_V12, v12_commands(), |c| matches!(c, LogCommand::V12(_)));
    }

    #[test]
    fn a_project_of_before_v7_writes_into_kafka_only_when_replayed() {
        let mut state = MetaState::default();
        let mut index = 0;
        let mut apply = |state: &mut MetaState, c: LogCommand| {
            index += 1;
            state.apply(index, c)
        };
        for c in v7_commands().into_iter().take(2).chain([fixture_commands().remove(0)]) {
            apply(&mut state, c.into()).unwrap();
        }
        let spec = match v7_commands().remove(4) {
            Command::CreateProject { spec, .. } => spec,
            other => panic!("{other:?}"),
        };
        let as_v3 = LogCommand::V3(v3::Command::CreateProject { spec: spec.clone().into(), now_ms: 1 });
        assert!(matches!(apply(&mut state, as_v3), Err(MetaError::WrongDataSourceType { .. })));
        assert!(state.projects.is_empty());
        apply(&mut state, Command::CreateProject { spec, now_ms: 1 }.into()).unwrap();
        assert_eq!(state.projects["shop-sync"].spec.routes.len(), 2);
    }
}
