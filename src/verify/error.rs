//! Why a verification cannot start (the request does not fit the project) or did not finish.

use crate::source::mysql::SourceError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("project {project:?} has no connector {connector:?}; its connectors: {known}")]
    UnknownConnector { project: String, connector: String, known: String },
    #[error(
        "connector {connector:?} of project {project:?} writes into {destination:?}, a {kind} data \
         source: verification compares database destinations (mysql, oceanbase)"
    )]
    NotADatabase { project: String, connector: String, destination: String, kind: &'static str },
    #[error("data source {0:?} is not a database (mysql, oceanbase) data source any more")]
    UnknownDataSource(String),
    #[error("the password of data source {data_source:?} cannot be decrypted: {reason}")]
    Secret { data_source: String, reason: String },
    #[error("the project's rules: {0}")]
    Rules(String),
    #[error("tables[{index}]: {value:?} is not database.table")]
    BadTableName { index: usize, value: String },
    #[error("tables: project {project:?} does not sync {table}")]
    NotSynced { project: String, table: String },
    #[error("a verification of project {project:?} is running: see GET /api/v1/projects/{project}/verify")]
    Running { project: String },
    #[error("source table {table} does not exist")]
    SourceTableMissing { table: String },
    #[error("table {table} has no primary key: a verification compares rows by primary key")]
    NoPrimaryKey { table: String },
    #[error("source: {0}")]
    Source(SourceError),
    /// An instance of a sharded source failed.
    #[error("source instance {instance:?}: {error}")]
    Instance { instance: String, error: SourceError },
    /// Two instances of a sharded source hold the same physical table.
    #[error(
        "source table {table} is on instances {first:?} and {second:?}: a shard of a sharded \
         source must live on one instance"
    )]
    OnTwoInstances { table: String, first: String, second: String },
    #[error("destination: {0}")]
    Target(SourceError),
    #[error("reading {table} on the {side}: {message}")]
    Query { side: &'static str, table: String, message: String },
    #[error("repairing {table}: {message}; statement: {statement}")]
    Repair { table: String, message: String, statement: String },
}
