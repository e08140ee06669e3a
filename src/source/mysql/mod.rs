//! MySQL / MariaDB source: prechecks, catalog queries and the binlog reader.
//!
//! Layout: `conn.rs` (connecting, typed connection errors), `precheck.rs`, `catalog.rs`
//! (tables, primary keys, information_schema schemas, positions), `reader.rs` (the replication
//! loop, one handler per event kind), `decode.rs` (binlog values -> [`crate::model::Value`]),
//! `schema.rs` (TABLE_MAP -> [`crate::model::TableSchema`], cached per table id), `sql.rs`
//! (which tables a QUERY event's statement touches), `ddl.rs` (DDL applied to table
//! definitions), `history.rs` (table definitions over binlog positions, kept in the store),
//! `xa.rs` (prepared XA transactions held until their outcome), `zone.rs` (the server's time
//! zone as UTC offsets over time), `snapshot.rs` (a table's rows read in key pages, decoded as
//! the binlog decoder does, for a full sync), `statement.rs` (quoted names and keyset pages, shared
//! with verification and database destinations).

mod catalog;
mod conn;
mod ddl;
mod decode;
mod error;
mod history;
mod precheck;
mod reader;
mod schema;
pub mod snapshot;
pub(crate) mod sql;
pub mod statement;
mod xa;
mod zone;

pub use catalog::{
    current_position, list_tables, server_info, server_version, table_schema, ServerInfo, TableInfo,
};
pub(crate) use conn::connect_caching;
pub use error::SourceError;
pub use history::{Entries, SchemaHistory, SchemaStore};
pub use precheck::precheck;
pub use reader::{BinlogReader, ResumeFrom};
pub use zone::{server_info_and_zone, server_zone, server_zone_on};

use crate::client_tls::ClientTls;

/// How to reach a MySQL-compatible server.
#[derive(Clone, PartialEq)]
pub struct MysqlConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// TLS for every connection (none: plain TCP).
    pub tls: Option<ClientTls>,
}

impl std::fmt::Debug for MysqlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("tls", &self.tls)
            .finish()
    }
}
