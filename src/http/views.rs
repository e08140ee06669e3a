//! Request and response bodies of the API.

use super::secure::{SaslBody, SaslView, TlsBody, TlsView};
use super::ApiError;
use crate::codec::Format;
use crate::meta::{
    DataSource, DataSourceKind, DatahubRecordType, LogicalTable, Partition, ProjectOptions, SnapshotOptions,
    StoreOptions, SyncModes,
};
use crate::sink::datahub;
use crate::source::{filter::ObjectRule, RouteRule, StartPoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A name of a data source or project: 1-64 of `A-Z a-z 0-9 _ - .`, starting alphanumeric.
pub fn validate_name(field: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: {name:?} is not a valid name (1-64 characters of A-Z a-z 0-9 _ - ., starting with a letter or digit)"
        )))
    }
}

/// `POST /datasources`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NewDataSource {
    /// A MySQL or MariaDB server: a source, or a destination. `tls`: encrypt every connection
    /// and check the server's certificate (default: plain TCP).
    Mysql {
        name: String,
        host: String,
        port: u16,
        user: String,
        password: String,
        #[serde(default)]
        tls: Option<TlsBody>,
    },
    /// A Kafka destination. `replication_factor`: of the topics Ferry creates (default: the
    /// broker's default). `dead_letter_topic`: where a message the brokers refuse for good (too
    /// large, not allowed) goes instead, with headers saying why (default: none, the project
    /// fails naming the topic and the reason).
    Kafka {
        name: String,
        bootstrap_servers: String,
        #[serde(default)]
        replication_factor: Option<i16>,
        #[serde(default)]
        dead_letter_topic: Option<String>,
        /// TLS to the brokers (`security.protocol` SSL, SASL_SSL with `sasl`).
        #[serde(default)]
        tls: Option<TlsBody>,
        /// SASL authentication (SASL_PLAINTEXT, SASL_SSL with `tls`).
        #[serde(default)]
        sasl: Option<SaslBody>,
    },
    /// An OceanBase database (a MySQL-mode tenant): a destination; `tls` as for mysql.
    Oceanbase {
        name: String,
        host: String,
        port: u16,
        user: String,
        password: String,
        #[serde(default)]
        tls: Option<TlsBody>,
    },
    /// A sharded source (a DataBase Proxy's): mysql data sources (`instances`, by name) holding
    /// the physical shards of logical tables. Every pattern is checked against the instances:
    /// shards missing, extra or on two instances are refused by name.
    Dbp { name: String, instances: Vec<String>, tables: Vec<LogicalTable> },
    /// An Alibaba Cloud DataHub project (`endpoint` `http(s)://host[:port]`): a destination, a
    /// topic per table holding `record_type` records (default `tuple`). `access_key` is the
    /// AccessKey secret.
    Datahub {
        name: String,
        endpoint: String,
        project: String,
        access_id: String,
        access_key: String,
        #[serde(default)]
        record_type: DatahubRecordType,
        /// Where a record over DataHub's 1 MiB goes instead, a BLOB topic Ferry creates
        /// (default: none, the project fails naming it).
        #[serde(default)]
        dead_letter_topic: Option<String>,
        /// Days the topics Ferry creates keep their records, 1 to 7 (default 7).
        #[serde(default)]
        lifecycle_days: Option<u32>,
    },
    /// An Apache RocketMQ cluster: a destination, a topic per table. `name_server`:
    /// `host:port[;host:port...]`; `producer_group` (default `FERRY`); with ACL, `access_key`
    /// and `secret_key`; `tag`: every message's tag (default `default_tag`);
    /// `send_timeout_ms`: how long one send may take (default 3000).
    Rocketmq {
        name: String,
        name_server: String,
        #[serde(default = "default_producer_group")]
        producer_group: String,
        #[serde(default)]
        access_key: Option<String>,
        #[serde(default)]
        secret_key: Option<String>,
        #[serde(default = "default_tag")]
        tag: String,
        #[serde(default = "default_send_timeout_ms")]
        send_timeout_ms: u32,
        /// Where a message over RocketMQ's 4 MiB goes instead (default: none, the project fails
        /// naming it).
        #[serde(default)]
        dead_letter_topic: Option<String>,
    },
}

fn default_producer_group() -> String {
    "FERRY".into()
}

fn default_tag() -> String {
    "default_tag".into()
}

fn default_send_timeout_ms() -> u32 {
    3000
}

impl NewDataSource {
    pub fn name(&self) -> &str {
        match self {
            NewDataSource::Mysql { name, .. }
            | NewDataSource::Kafka { name, .. }
            | NewDataSource::Oceanbase { name, .. }
            | NewDataSource::Dbp { name, .. }
            | NewDataSource::Datahub { name, .. }
            | NewDataSource::Rocketmq { name, .. } => name,
        }
    }
}

/// A data source as the API shows it: never the password.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataSourceView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// MySQL, OceanBase and Kafka: TLS to the server, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsView>,
    /// Kafka: SASL authentication, when set (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<String>,
    /// Kafka: the replication factor of topics Ferry creates (absent: the broker's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i16>,
    /// Kafka, RocketMQ, DataHub: where messages the destination refuses for good go (absent:
    /// such a message fails the project).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    /// DataHub: the endpoint, project, AccessKey id (never the secret) and record type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_type: Option<DatahubRecordType>,
    /// DataHub: days the topics Ferry creates keep their records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_days: Option<u32>,
    /// RocketMQ: the name servers, producer group, ACL access key (never the secret key), tag
    /// and send timeout (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_timeout_ms: Option<u32>,
    /// A sharded source's instances (mysql data sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<String>>,
    /// A sharded source's logical tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<LogicalTable>>,
    /// A sharded source's shards, where they were found when it was registered or replaced:
    /// `instance -> [db.table]` (only in the answer to registering or replacing it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

impl From<&DataSource> for DataSourceView {
    fn from(ds: &DataSource) -> Self {
        let mut view = DataSourceView {
            name: ds.name.clone(),
            kind: ds.kind.type_name(),
            host: None,
            port: None,
            user: None,
            tls: None,
            sasl: None,
            bootstrap_servers: None,
            replication_factor: None,
            dead_letter_topic: None,
            endpoint: None,
            project: None,
            access_id: None,
            record_type: None,
            lifecycle_days: None,
            name_server: None,
            producer_group: None,
            access_key: None,
            tag: None,
            send_timeout_ms: None,
            instances: None,
            tables: None,
            shards: None,
        };
        match &ds.kind {
            DataSourceKind::Mysql { host, port, user, tls, .. }
            | DataSourceKind::Oceanbase { host, port, user, tls, .. } => {
                view.host = Some(host.clone());
                view.port = Some(*port);
                view.user = Some(user.clone());
                view.tls = tls.as_ref().map(TlsView::from);
            }
            DataSourceKind::Kafka { bootstrap_servers, replication_factor, dead_letter_topic, tls, sasl } => {
                view.bootstrap_servers = Some(bootstrap_servers.clone());
                view.replication_factor = *replication_factor;
                view.dead_letter_topic = dead_letter_topic.clone();
                view.tls = tls.as_ref().map(TlsView::from);
                view.sasl = sasl.as_ref().map(SaslView::from);
            }
            DataSourceKind::Datahub {
                endpoint,
                project,
                access_id,
                record_type,
                dead_letter_topic,
                lifecycle_days,
                ..
            } => {
                view.endpoint = Some(endpoint.clone());
                view.project = Some(project.clone());
                view.access_id = Some(access_id.clone());
                view.record_type = Some(*record_type);
                view.dead_letter_topic = dead_letter_topic.clone();
                view.lifecycle_days = Some(lifecycle_days.unwrap_or(datahub::LIFECYCLE_DAYS));
            }
            DataSourceKind::Rocketmq {
                name_server,
                producer_group,
                access_key,
                tag,
                send_timeout_ms,
                dead_letter_topic,
                ..
            } => {
                view.dead_letter_topic = dead_letter_topic.clone();
                view.name_server = Some(name_server.clone());
                view.producer_group = Some(producer_group.clone());
                view.access_key = access_key.clone();
                view.tag = Some(tag.clone());
                view.send_timeout_ms = Some(*send_timeout_ms);
            }
            DataSourceKind::Dbp { instances, tables } => {
                view.instances = Some(instances.clone());
                view.tables = Some(tables.clone());
            }
        }
        view
    }
}

/// The forms of `start` the API accepts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StartBody {
    /// `{"from": "now"}`: the source's position when the project is started.
    From { from: String },
    /// A binlog file and offset (at least 4).
    FilePos { file: String, pos: u64 },
    /// A GTID position.
    Gtid { gtid: String },
    /// A time on the source's binlog (unix seconds).
    Timestamp { timestamp: u64 },
}

impl StartBody {
    pub fn into_start(self) -> Result<StartPoint, ApiError> {
        match self {
            StartBody::From { from } if from == "now" => Ok(StartPoint::Now),
            StartBody::From { from } => Err(ApiError::bad_request(format!(
                "start.from: {from:?} is not supported (use \"now\", or give file+pos, gtid or timestamp)"
            ))),
            StartBody::FilePos { file, pos } if !file.is_empty() && pos >= 4 => {
                Ok(StartPoint::FilePos { file, pos })
            }
            StartBody::FilePos { .. } => {
                Err(ApiError::bad_request("start: file must be non-empty and pos >= 4"))
            }
            StartBody::Gtid { gtid } => Ok(StartPoint::Gtid { gtid }),
            StartBody::Timestamp { timestamp } => Ok(StartPoint::Timestamp { timestamp }),
        }
    }

    pub fn from_start(start: &StartPoint) -> Self {
        match start {
            StartPoint::Now => StartBody::From { from: "now".into() },
            StartPoint::FilePos { file, pos } => StartBody::FilePos { file: file.clone(), pos: *pos },
            StartPoint::Gtid { gtid } => StartBody::Gtid { gtid: gtid.clone() },
            StartPoint::Timestamp { timestamp } => StartBody::Timestamp { timestamp: *timestamp },
        }
    }
}

/// `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
    pub source: String,
    /// One destination (the project's one connector, `default`)...
    pub destination: Option<String>,
    /// ...or several connectors, each with its destination, format and partition rule.
    #[serde(default)]
    pub connectors: Vec<NewConnector>,
    pub objects: Vec<ObjectRule>,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub partition: Partition,
    /// Where to begin reading the source (default `{"from": "now"}`).
    #[schema(value_type = Option<StartBody>)]
    pub start: Option<serde_json::Value>,
    #[serde(default)]
    pub options: ProjectOptions,
    #[serde(default)]
    pub store: StoreOptions,
    /// Where source tables land downstream (table and column renames); the first rule that
    /// matches a table wins.
    #[serde(default)]
    pub routes: Vec<RouteRule>,
    /// `["incremental"]` (default: changes from `start` on), or `["full", "incremental"]`: each
    /// selected table's existing rows first (without a lock), then every change.
    #[serde(default)]
    #[schema(value_type = Vec<crate::meta::SyncMode>)]
    pub sync: SyncModes,
    /// How a full sync copies tables.
    #[serde(default)]
    pub snapshot: SnapshotOptions,
}

/// One connector of `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    pub id: String,
    pub destination: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub partition: Partition,
    /// Topic pattern for every synced table (`{database}`, `{table}`); none: the objects' own.
    pub topic: Option<String>,
}

/// A connector as the project shows it: its settings and how far it has delivered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: String,
    pub destination: String,
    pub format: Format,
    pub partition: Partition,
    pub topic: Option<String>,
    pub sync_timestamp: Option<u32>,
    pub latency_ms: Option<u64>,
    pub position: Option<PositionView>,
    pub rows: u64,
    pub bytes: u64,
    /// Live figures from the node that runs it (none while it does not run, or that node did
    /// not answer).
    pub live: Option<ConnectorLiveView>,
}

/// A running connector's live figures, as the node that runs it keeps them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectorLiveView {
    pub node: u64,
    /// Rows and message bytes the destination acknowledged per second, over the last
    /// checkpoint interval.
    pub rows_per_s: u64,
    pub bytes_per_s: u64,
    /// Times it stopped on an error and was restarted, in this run of the project.
    pub retries: u64,
    pub last_error: Option<String>,
    /// Source commit -> destination acknowledgement, per transaction over the last minute
    /// (commit times have a resolution of one second); none without transactions.
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionView {
    pub file: String,
    pub pos: u64,
    pub gtid: Option<String>,
}

impl From<&crate::model::Position> for PositionView {
    fn from(p: &crate::model::Position) -> Self {
        PositionView { file: p.file.clone(), pos: p.pos, gtid: p.gtid.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    pub database: String,
    pub table: String,
    pub topic: Option<String>,
    /// Row changes delivered.
    pub rows: u64,
}

/// A synchronized table with what was delivered of it (`GET /projects/{name}/objects`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectView {
    pub database: String,
    pub table: String,
    /// Where its changes go.
    pub topic: Option<String>,
    /// Row changes delivered since the project began.
    pub rows: u64,
    /// By operation, counted since checkpoints carried them (Ferry 0.6).
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Source commit time (unix ms, one-second resolution) of its last delivered change.
    pub last_change_ms: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectsView {
    pub project: String,
    /// Whose checkpoint the counts are: the connector furthest behind.
    pub connector: Option<String>,
    /// False when the source did not answer: only tables with delivered changes are listed.
    pub source_listed: bool,
    pub objects: Vec<ObjectView>,
}

/// `POST /datasources/{name}/tables`: which tables these object rules match.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesQuery {
    pub objects: Vec<ObjectRule>,
}

/// A table that object rules match on the source, and where it would go.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableMatchView {
    pub database: String,
    pub table: String,
    pub topic: Option<String>,
    pub has_primary_key: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TablesView {
    pub source: String,
    pub tables: Vec<TableMatchView>,
}

/// A project's store or connector: where it runs and under which placement epoch.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ComponentView {
    pub kind: &'static str,
    pub id: String,
    /// The node it is placed on (none while waiting for a live node).
    pub node: Option<u64>,
    pub epoch: u64,
    pub state: &'static str,
    /// How far it has come: the store's pulled position, a connector's checkpoint.
    pub position: Option<PositionView>,
    /// The source time there (unix seconds).
    pub timestamp: Option<u32>,
    /// How far behind the source (ms): 0 when caught up.
    pub delay_ms: Option<u64>,
    /// Rows and bytes per second: pulled (the store) or acknowledged (a connector), from the
    /// node that runs it.
    pub rows_per_s: Option<u64>,
    pub bytes_per_s: Option<u64>,
    /// The store's retained range.
    pub retained: Option<RetainedView>,
    /// A connector's restarts after an error in this run.
    pub retries: Option<u64>,
    pub last_error: Option<String>,
    /// A connector's source commit -> acknowledgement over the last minute.
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub name: String,
    pub state: &'static str,
    /// The node that runs the project.
    pub node: Option<u64>,
    /// The placement epoch (raised on every start, resume and move).
    pub epoch: u64,
    pub components: Vec<ComponentView>,
    pub error: Option<String>,
    pub source: String,
    pub destination: String,
    pub objects: Vec<ObjectRule>,
    pub format: Format,
    pub partition: Partition,
    pub start: StartBody,
    pub options: ProjectOptions,
    pub store: StoreOptions,
    /// Where source tables land downstream.
    pub routes: Vec<RouteRule>,
    #[schema(value_type = Vec<crate::meta::SyncMode>)]
    pub sync: SyncModes,
    pub snapshot: SnapshotOptions,
    /// A full sync's progress (from the node that runs the store; none without a full sync).
    pub full_sync: Option<FullSyncView>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// Each connector: its destination, format and checkpoint.
    pub connectors: Vec<ConnectorView>,
    /// Commit time (unix seconds) of the last change the destination acknowledged (of the
    /// connector furthest behind, when there are several).
    pub sync_timestamp: Option<u32>,
    /// Now minus the sync timestamp; 0 when everything read from the source is delivered.
    pub latency_ms: Option<u64>,
    /// The checkpoint: where a restart resumes.
    pub position: Option<PositionView>,
    /// How far the store has read.
    pub store_position: Option<PositionView>,
    /// The source's time (unix seconds) of the last transaction or progress the store read.
    pub store_timestamp: Option<u32>,
    /// Now minus `store_timestamp`: how far the store is behind the source; 0 at its end.
    pub store_delay_ms: Option<u64>,
    /// The source's current end of binlog (only on `GET /projects/{name}`).
    pub source_position: Option<PositionView>,
    /// Bytes of binlog between the checkpoint and the source's end (same file only).
    pub behind_bytes: Option<u64>,
    pub rows: u64,
    pub bytes: u64,
    /// Rows read from the source by the store (this run).
    pub rows_read: Option<u64>,
    /// The last transient error (being retried); cleared once a checkpoint moves again.
    pub last_error: Option<String>,
    /// The store's log and pulling (only from the node that runs it).
    pub store_status: Option<StoreStatusView>,
    pub tables: Vec<TableView>,
    /// On a sharded source, each instance's store and what each connector delivered of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceView>,
}

/// `POST /projects/{name}/snapshot`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    /// Tables to copy again, `database.table`, among those the project syncs.
    pub tables: Vec<String>,
}

/// The tables a project copies again.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotView {
    pub project: String,
    pub tables: Vec<String>,
}

/// How far a full sync has copied the project's tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct FullSyncView {
    /// `copying`, or `done` once every table's rows are in the store.
    pub state: &'static str,
    pub tables_done: usize,
    pub tables: Vec<TableCopyView>,
    /// Rows read so far, of about `estimated_rows` (the server's estimate when planned).
    pub copied_rows: u64,
    pub estimated_rows: u64,
    /// Rows copied per second since the store (re)started.
    pub rows_per_s: u64,
    /// Seconds left at that rate, by the estimate (none while the rate is unknown).
    pub eta_s: Option<u64>,
}

/// One table's copy.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableCopyView {
    /// `db.table`.
    pub table: String,
    pub estimated_rows: u64,
    pub copied_rows: u64,
    pub chunks: u64,
    pub done: bool,
}

/// The store of one instance of a sharded source.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceView {
    /// The instance (a mysql data source).
    pub instance: String,
    /// How far its store has read, and the source time there (from the node that runs it).
    pub store_position: Option<PositionView>,
    pub store_timestamp: Option<u32>,
    /// Rows its store read (this run) and pulls per second.
    pub rows_read: Option<u64>,
    pub rows_per_s: Option<u64>,
    pub store_status: Option<StoreStatusView>,
    /// Each connector's checkpoint in this store.
    pub connectors: Vec<InstanceConnectorView>,
}

/// A connector's checkpoint in one instance's store.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceConnectorView {
    pub id: String,
    pub sync_timestamp: Option<u32>,
    pub position: Option<PositionView>,
    pub rows: u64,
    /// Everything the store read is delivered (only from the node that runs it).
    pub caught_up: Option<bool>,
}

/// What the store holds and how fast it pulls.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreStatusView {
    /// `pulling`, or `paused` at its disk high-water mark (`paused_reason` says more).
    pub state: &'static str,
    pub paused_reason: Option<String>,
    pub retained: RetainedView,
    pub rows_per_s: u64,
    pub bytes_per_s: u64,
    /// Synced tables whose changes stopped (`db.table` -> why: a DDL Ferry could not follow,
    /// quoted); the project's other tables go on.
    pub stopped_tables: std::collections::BTreeMap<String, String>,
    /// XA transactions prepared and awaiting their outcome (null when none): their rows are
    /// held, and a restart reads the source again from before the oldest, so one left
    /// prepared for long (`oldest_prepared_at`) holds both.
    pub xa_prepared: Option<crate::source::XaPrepared>,
}

/// The range a connector can be reset into: transactions committed after `oldest_timestamp`
/// up to `newest_timestamp` (unix seconds).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetainedView {
    pub oldest_seq: u64,
    pub oldest_timestamp: u32,
    pub newest_seq: u64,
    pub newest_timestamp: u32,
    pub bytes: u64,
}

/// `POST /projects/{name}/connectors/{id}/reset`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum ResetBody {
    /// Resend every transaction committed at or after this unix time (seconds).
    Timestamp { timestamp: u32 },
    /// Continue after the transaction that ends at this source position.
    Position { position: ResetPosition },
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPosition {
    pub file: String,
    pub pos: u64,
}

/// A connector after a reset: where it continues from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetView {
    pub project: String,
    pub connector: String,
    /// The transaction end it continues after (`seq` in the store's log).
    pub seq: u64,
    pub position: PositionView,
    /// Commit time (unix seconds) of that transaction: the project's sync timestamp now.
    pub commit_timestamp: u32,
    /// The project's epoch after the reset (it restarts under it).
    pub epoch: u64,
}

/// The body of `POST /projects/{name}/connectors/{id}/move`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The node to run the connector on; null: back on its store's node.
    pub node: Option<u64>,
}

/// A connector after a move: where it runs and where its store runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoveView {
    pub project: String,
    pub connector: String,
    pub node: u64,
    pub store_node: u64,
    /// The project's epoch after the move (it restarts under it).
    pub epoch: u64,
}

/// The body of `POST /projects/{name}/verify`: every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The connector whose destination is compared; default: the project's first connector
    /// into a database (mysql, oceanbase).
    #[serde(default)]
    pub connector: Option<String>,
    /// Source tables, `database.table`; default: every table the project syncs.
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    /// Run the repair statements on the destination.
    #[serde(default)]
    pub repair: bool,
}
