use super::DatabaseSink;
use crate::sink::{SinkContext, SinkError};
use crate::source::mysql::MysqlConfig;

/// Which server a database destination is: the statements are the same, the session
/// settings differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Mysql,
    Oceanbase,
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
    /// The sink; it connects when first used.
    pub fn build(&self, ctx: SinkContext) -> Result<DatabaseSink, SinkError> {
        Ok(DatabaseSink::new(self.clone(), ctx))
    }
}
