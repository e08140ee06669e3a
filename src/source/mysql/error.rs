//! Source errors split by what happens next: `is_transient()` errors are retried (reconnect and
//! resume from the durable position); the others are definite: shown to the user, not retried.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot reach {host}:{port}: {reason}")]
    Unreachable { host: String, port: u16, reason: String },
    /// The TLS handshake failed (an untrusted certificate, a name it does not hold, a server
    /// without TLS): definite until the data source's `tls` or the server changes.
    #[error("TLS to {host}:{port} failed: {reason}")]
    Tls { host: String, port: u16, reason: String },
    #[error("access denied for user {user:?}: {reason}")]
    AccessDenied { user: String, reason: String },
    #[error("missing privilege: {0}")]
    Privilege(String),
    /// The server no longer has (or never had) the requested binlog position.
    #[error(
        "binlog position {requested} is not available on the server (oldest available: {oldest}): {reason}"
    )]
    PositionPurged { requested: String, oldest: String, reason: String },
    /// A GTID resume point the server has not reached: a lagging replica, or another server's
    /// history.
    #[error(
        "the server's binlog GTID state is {server}, which does not reach the requested {requested}: \
         it has not written those transactions (a replica behind its primary, or a server with \
         another history); point the data source at a server that has them"
    )]
    GtidAhead { requested: String, server: String },
    /// Another replica registered with the source under the same server id, and the server
    /// dropped this one's binlog dump for it.
    #[error(
        "another replica connected to the source with server_id {server_id} and the server dropped \
         this project's binlog dump ({message}): another Ferry deployment with a project of the \
         same name, or a replica using that id. Give this project a unique options.server_id"
    )]
    ReplicaIdTaken { server_id: u32, message: String },
    #[error("the server is not set up for CDC: {0}")]
    Misconfigured(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    /// A table's columns changed between reading its definition and reading its rows: read
    /// the definition again.
    #[error("table {table}: its definition changed while it was being read")]
    DefinitionChanged { table: String },
    /// The connection dropped or the server went away mid-stream.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// A change to a synced table logged as SQL text, not as rows.
    #[error(
        "table {table}: a change at {position} was logged as a statement, not as rows \
         (the writing session had binlog_format=STATEMENT or MIXED): {statement:?}. Ferry reads \
         row events only: SET GLOBAL binlog_format=ROW (sessions keep theirs until they \
         reconnect), then start the project again from a position after this one and re-sync \
         the table"
    )]
    StatementLogged { table: String, position: String, statement: String },
    #[error("cannot decode binlog event at {position}: {reason}")]
    Decode { position: String, reason: String },
    /// The schema history (kept in the store) could not be read or written.
    #[error("schema history: {0}")]
    SchemaHistory(String),
    #[error("server error {code}: {message}")]
    Server { code: u16, message: String },
}

impl SourceError {
    /// Worth a reconnect and resume from the last durable position.
    pub fn is_transient(&self) -> bool {
        matches!(self, SourceError::Unreachable { .. } | SourceError::ConnectionLost(_))
    }
}
