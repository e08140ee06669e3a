//! Source errors split by what happens next: `is_transient()` errors are retried (reconnect and
//! resume from the durable position); the others are definite: shown to the user, not retried.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot reach {host}:{port}: {reason}")]
    Unreachable { host: String, port: u16, reason: String },
    #[error("access denied for user {user:?}: {reason}")]
    AccessDenied { user: String, reason: String },
    #[error("missing privilege: {0}")]
    Privilege(String),
    /// The server no longer has (or never had) the requested binlog position.
    #[error(
        "binlog position {requested} is not available on the server (oldest available: {oldest}): {reason}"
    )]
    PositionPurged { requested: String, oldest: String, reason: String },
    #[error("the server is not set up for CDC: {0}")]
    Misconfigured(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    /// The connection dropped or the server went away mid-stream.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    #[error("cannot decode binlog event at {position}: {reason}")]
    Decode { position: String, reason: String },
    #[error("server error {code}: {message}")]
    Server { code: u16, message: String },
}

impl SourceError {
    /// Worth a reconnect and resume from the last durable position.
    pub fn is_transient(&self) -> bool {
        matches!(self, SourceError::Unreachable { .. } | SourceError::ConnectionLost(_))
    }
}
