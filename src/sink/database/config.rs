use super::DatabaseSink;
use crate::meta::DataSourceKind;
use crate::secrets::{Keyring, SecretError};
use crate::sink::{SinkContext, SinkError};
use crate::source::mysql::MysqlConfig;

/// Which server a database destination is: the statements are the same, the session
/// settings differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Mysql,
    Oceanbase,
}

impl DatabaseKind {
    /// The database a data source is, `None` when it is no database (Kafka, a sharded source).
    pub fn of(kind: &DataSourceKind) -> Option<DatabaseKind> {
        match kind {
            DataSourceKind::Mysql { .. } => Some(DatabaseKind::Mysql),
            DataSourceKind::Oceanbase { .. } => Some(DatabaseKind::Oceanbase),
            DataSourceKind::Kafka { .. }
            | DataSourceKind::Dbp { .. }
            | DataSourceKind::Datahub { .. }
            | DataSourceKind::Rocketmq { .. } => None,
        }
    }
}

/// How a project writes into a MySQL or OceanBase (MySQL tenant) database.
#[derive(Debug, Clone)]
pub struct DatabaseSinkConfig {
    pub kind: DatabaseKind,
    pub connection: MysqlConfig,
}

/// The database (on the target) that keeps each connector's checkpoint, written in the same
/// transaction as the changes it covers.
pub const META_DATABASE: &str = "__ferry";

impl DatabaseSinkConfig {
    /// The destination a mysql or oceanbase data source is, its password opened with
    /// `keyring`; `None` when it is no database.
    pub fn of(kind: &DataSourceKind, keyring: &Keyring) -> Option<Result<Self, SecretError>> {
        let database = DatabaseKind::of(kind)?;
        Some(kind.connection(keyring)?.map(|connection| DatabaseSinkConfig { kind: database, connection }))
    }

    /// The sink; it connects when first used.
    pub fn build(&self, ctx: SinkContext) -> Result<DatabaseSink, SinkError> {
        Ok(DatabaseSink::new(self.clone(), ctx))
    }
}
