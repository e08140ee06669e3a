//! Reading for a verification: the sessions, a page of a table in key order, rows by key. Every
//! read is one statement (no transaction is held) and goes over the binary protocol, so values
//! arrive typed.

use super::compare::{equal, key_of, Key};
use super::plan::SourceTable;
use super::{sql, VerifyError, CHUNK_ROWS};
use crate::model::{Column, TableName, TableSchema};
use crate::sink::database::DatabaseKind;
use crate::source::mysql::{connect_caching, MysqlConfig};
use crate::source::Routes;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use std::collections::HashSet;

/// Prepared statements kept per session (a page, a full lookup and the odd last sizes).
const STATEMENT_CACHE: usize = 64;

/// Which side of the comparison a session reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "destination",
        }
    }
}

/// A session on one side, in UTC.
pub struct Session {
    side: Side,
    conn: Conn,
}

impl Session {
    /// Opens a session. The destination's also takes zero dates and an explicit 0 in an
    /// AUTO_INCREMENT column (repairs write what the source has), and on OceanBase statements
    /// as long as a large table's pages need.
    pub async fn open(side: Side, cfg: &MysqlConfig, kind: DatabaseKind) -> Result<Session, VerifyError> {
        let wrap = |e| match side {
            Side::Source => VerifyError::Source(e),
            Side::Target => VerifyError::Target(e),
        };
        let conn = connect_caching(cfg, STATEMENT_CACHE).await.map_err(wrap)?;
        let mut setup = vec!["SET SESSION time_zone = '+00:00'"];
        if side == Side::Target {
            setup.push("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'");
            if kind == DatabaseKind::Oceanbase {
                setup.push("SET SESSION ob_query_timeout = 600000000");
            }
        }
        let mut session = Session { side, conn };
        for statement in setup {
            session.conn.query_drop(statement).await.map_err(|e| session.error("the session", e))?;
        }
        Ok(session)
    }

    fn error(&self, table: &str, e: mysql_async::Error) -> VerifyError {
        VerifyError::Query { side: self.side.name(), table: table.to_string(), message: e.to_string() }
    }

    async fn rows(
        &mut self,
        table: &TableName,
        statement: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Value>>, VerifyError> {
        let rows: Vec<Row> = if params.is_empty() {
            self.conn.exec(statement, ()).await
        } else {
            self.conn.exec(statement, params).await
        }
        .map_err(|e| self.error(&table.to_string(), e))?;
        Ok(rows.into_iter().map(Row::unwrap).collect())
    }

    /// Up to [`CHUNK_ROWS`] rows of `columns` after the key `after` (from the start without),
    /// in the order of `key`.
    pub async fn page(
        &mut self,
        table: &TableName,
        columns: &[&str],
        key: &[&str],
        after: Option<&[Value]>,
    ) -> Result<Vec<Vec<Value>>, VerifyError> {
        let statement = sql::page(table, columns, key, after.is_some(), CHUNK_ROWS);
        self.rows(table, statement, after.map(sql::page_params).unwrap_or_default()).await
    }

    /// The rows (`columns`) of `keys`, values of the `key` columns, in no particular order.
    pub async fn by_keys(
        &mut self,
        table: &TableName,
        columns: &[&str],
        key: &[&str],
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, VerifyError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK_ROWS) {
            let params = chunk.iter().flatten().cloned().collect();
            out.extend(self.rows(table, sql::by_keys(table, columns, key, chunk.len()), params).await?);
        }
        Ok(out)
    }

    /// Which of `keys` the table holds.
    pub async fn holds(
        &mut self,
        table: &TableName,
        key: &[&str],
        keys: &[Vec<Value>],
    ) -> Result<HashSet<Key>, VerifyError> {
        let all: Vec<usize> = (0..key.len()).collect();
        Ok(self.by_keys(table, key, key, keys).await?.iter().map(|k| key_of(k, &all)).collect())
    }

    /// The table exists.
    pub async fn exists(&mut self, table: &TableName) -> Result<bool, VerifyError> {
        let found: Option<Row> = self
            .conn
            .exec_first(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&table.database, &table.table),
            )
            .await
            .map_err(|e| self.error(&table.to_string(), e))?;
        Ok(found.is_some())
    }

    /// Runs a repair statement.
    pub async fn run(&mut self, table: &TableName, statement: &str) -> Result<(), VerifyError> {
        self.conn.query_drop(statement).await.map_err(|e| VerifyError::Repair {
            table: table.to_string(),
            message: e.to_string(),
            statement: statement.to_string(),
        })
    }

    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// A source table and how its rows look in its target table: its columns renamed by the route,
/// and when the route has a shard column, that column (the source table's name) after them and
/// at the end of the key. Rows and keys are compared in the target's layout.
#[derive(Debug, Clone)]
pub struct Shard {
    /// The source table, on its server.
    pub source: SourceTable,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Its primary key: positions in `columns`.
    pub source_key: Vec<usize>,
    /// The same columns in the target, with their types, and the shard column if any.
    pub target_columns: Vec<Column>,
    /// The target's primary key: positions in `target_columns`.
    pub key: Vec<usize>,
    /// The shard column's value in this table's rows.
    pub tag: Option<Value>,
}

impl Shard {
    /// Source table `schema` on server `server` (a position in `Job::sources`).
    pub fn new(server: usize, schema: &TableSchema, routes: &Routes) -> Result<Shard, VerifyError> {
        if !schema.has_primary_key() {
            return Err(VerifyError::NoPrimaryKey { table: schema.name.to_string() });
        }
        // As the destination lays the table out (`sink::database`).
        let (target, tag) = routes.database_layout(schema);
        let tag = tag.map(|name| Value::Bytes(name.into_bytes()));
        Ok(Shard {
            source: SourceTable { server, name: schema.name.clone() },
            columns: schema.columns.iter().map(|c| c.name.clone()).collect(),
            source_key: schema.primary_key.clone(),
            target_columns: target.columns,
            key: target.primary_key,
            tag,
        })
    }

    pub fn source_names(&self) -> Vec<&str> {
        self.columns.iter().map(String::as_str).collect()
    }

    pub fn source_key_names(&self) -> Vec<&str> {
        self.source_key.iter().map(|&i| self.columns[i].as_str()).collect()
    }

    pub fn target_names(&self) -> Vec<&str> {
        self.target_columns.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn target_key_names(&self) -> Vec<&str> {
        self.key.iter().map(|&i| self.target_columns[i].name.as_str()).collect()
    }

    /// A row (or key) of the source table as the target holds it: the shard column's value
    /// after its own.
    pub fn widen(&self, mut row: Vec<Value>) -> Vec<Value> {
        row.extend(self.tag.clone());
        row
    }

    /// The key's values in a row of the target's layout.
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.key.iter().map(|&i| row[i].clone()).collect()
    }

    /// The source key of a target key, when this table may hold it (not when its shard column
    /// names another table).
    pub fn source_key_of(&self, key: &[Value]) -> Option<Vec<Value>> {
        match &self.tag {
            None => Some(key.to_vec()),
            Some(tag) => {
                let (last, own) = key.split_last()?;
                equal(last, tag).then(|| own.to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColumnKind;
    use crate::source::RouteRule;

    #[test]
    fn a_shard_column_joins_the_row_and_the_key() {
        let schema = TableSchema {
            name: TableName::new("s", "orders_1"),
            columns: vec![Column::new("id", ColumnKind::BigInt), Column::new("note", ColumnKind::Text)],
            primary_key: vec![0],
        };
        let routes = Routes::new(&[RouteRule {
            from: "s.orders_*".into(),
            to: Some("s.orders".into()),
            columns: [("note".to_string(), "remark".to_string())].into(),
            shard_column: Some("src".into()),
        }])
        .unwrap();
        let shard = Shard::new(1, &schema, &routes).unwrap();
        assert_eq!(shard.source, SourceTable { server: 1, name: schema.name.clone() });
        assert_eq!(shard.target_names(), ["id", "remark", "src"]);
        assert_eq!(shard.target_key_names(), ["id", "src"]);
        assert_eq!(shard.source_key_names(), ["id"]);
        let tag = Value::Bytes(b"s.orders_1".to_vec());
        let row = shard.widen(vec![Value::Int(7), Value::NULL]);
        assert_eq!(shard.key_values(&row), [Value::Int(7), tag.clone()]);
        assert_eq!(shard.source_key_of(&[Value::Int(7), tag]), Some(vec![Value::Int(7)]));
        assert_eq!(shard.source_key_of(&[Value::Int(7), Value::Bytes(b"s.orders_2".to_vec())]), None);
        let plain = Shard::new(0, &schema, &Routes::default()).unwrap();
        assert_eq!(plain.widen(vec![Value::Int(1)]), [Value::Int(1)]);
        assert_eq!(plain.source_key_of(&[Value::Int(1)]), Some(vec![Value::Int(1)]));
    }
}
