//! What the server says about itself, its binlog and its tables: server identity, the current
//! binlog position, the list of synced tables, and table schemas from `information_schema`.
//!
//! Invariant: a [`TableSchema`] built here from `information_schema` equals the one
//! `schema.rs` builds from a `binlog_row_metadata=FULL` table map of the same table (same
//! [`ColumnKind`]s, lengths in characters for CHAR/VARCHAR, in bytes for BINARY/VARBINARY).

use super::conn::{self, query_error};
use super::{MysqlConfig, SourceError};
use crate::codec::SourceFlavor;
use crate::model::{Column, ColumnKind, Position, TableName, TableSchema};
use crate::source::TableFilter;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Schemas no project syncs.
pub(crate) const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

/// Who the source server is.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    pub flavor: SourceFlavor,
    /// `SELECT VERSION()`, e.g. `10.11.19-MariaDB-log`.
    pub version: String,
    pub server_id: u32,
    /// `binlog_row_metadata=FULL`: table maps carry column names, signedness, charsets, labels
    /// and the primary key. Otherwise those come from `information_schema`.
    pub row_metadata_full: bool,
}

pub(crate) fn flavor_of(version: &str) -> SourceFlavor {
    let v = version.to_ascii_lowercase();
    if v.contains("mariadb") {
        SourceFlavor::MariaDb
    } else if v.contains("oceanbase") {
        SourceFlavor::OceanBase
    } else {
        SourceFlavor::MySql
    }
}

/// Connects and describes the server.
pub async fn server_info(cfg: &MysqlConfig) -> Result<ServerInfo, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let info = server_info_on(&mut c).await;
    conn::close(c).await;
    info
}

/// Connects and asks for the server's version (`SELECT VERSION()`) only: what a server that is
/// no binlog source (a database destination) is checked with.
pub async fn server_version(cfg: &MysqlConfig) -> Result<String, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let row: Result<Option<Row>, _> = c.query_first("SELECT VERSION()").await;
    conn::close(c).await;
    let row = row.map_err(query_error)?;
    row.and_then(|r| text(&r, 0))
        .ok_or_else(|| SourceError::Server { code: 0, message: "SELECT VERSION() returned no row".into() })
}

pub(crate) async fn server_info_on(c: &mut Conn) -> Result<ServerInfo, SourceError> {
    let row: Option<Row> = c.query_first("SELECT VERSION(), @@server_id").await.map_err(query_error)?;
    let row = row
        .ok_or_else(|| SourceError::Server { code: 0, message: "SELECT VERSION() returned no row".into() })?;
    let version = text(&row, 0).unwrap_or_default();
    let server_id = number(&row, 1).unwrap_or(0) as u32;
    let row_metadata_full =
        global_variable(c, "binlog_row_metadata").await?.is_some_and(|v| v.eq_ignore_ascii_case("FULL"));
    Ok(ServerInfo { flavor: flavor_of(&version), version, server_id, row_metadata_full })
}

/// `SHOW GLOBAL VARIABLES LIKE name`: `None` when the server has no such variable.
pub(crate) async fn global_variable(c: &mut Conn, name: &str) -> Result<Option<String>, SourceError> {
    let rows: Vec<Row> =
        c.exec("SHOW GLOBAL VARIABLES WHERE Variable_name = ?", (name,)).await.map_err(query_error)?;
    Ok(rows.first().and_then(|r| text(r, 1)))
}

/// The end of the server's binlog now, with the MariaDB GTID state at that point.
pub async fn current_position(cfg: &MysqlConfig) -> Result<Position, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let version: Option<Row> = c.query_first("SELECT VERSION()").await.map_err(query_error)?;
    let flavor = flavor_of(&version.and_then(|r| text(&r, 0)).unwrap_or_default());
    let pos = current_position_on(&mut c, flavor).await;
    conn::close(c).await;
    pos
}

pub(crate) async fn current_position_on(c: &mut Conn, flavor: SourceFlavor) -> Result<Position, SourceError> {
    let row: Option<Row> = match c.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        // MySQL 8.4 dropped SHOW MASTER STATUS.
        Err(mysql_async::Error::Server(e)) if e.code == 1064 => {
            c.query_first("SHOW BINARY LOG STATUS").await.map_err(query_error)?
        }
        Err(e) => return Err(query_error(e)),
    };
    let row = row.ok_or_else(|| {
        SourceError::Misconfigured(
            "binary logging is off (SHOW MASTER STATUS is empty): start the server with log_bin".into(),
        )
    })?;
    let file = text(&row, 0).unwrap_or_default();
    let pos = text(&row, 1).and_then(|p| p.parse().ok()).unwrap_or(4);
    let gtid = match flavor {
        SourceFlavor::MariaDb => gtid_at(c, &file, pos).await?,
        _ => None,
    };
    Ok(Position { file, pos, gtid })
}

/// MariaDB's GTID state at a binlog file and offset (`BINLOG_GTID_POS`), `None` when the
/// server has no GTIDs there or the offset is not an event boundary.
pub(crate) async fn gtid_at(c: &mut Conn, file: &str, pos: u64) -> Result<Option<String>, SourceError> {
    let g: Option<Row> =
        c.exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file, pos)).await.map_err(query_error)?;
    Ok(g.and_then(|r| text(&r, 0)).filter(|g| !g.is_empty()))
}

/// One line of `SHOW BINARY LOGS`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinlogFile {
    pub name: String,
    pub size: u64,
}

/// `SHOW BINARY LOGS`, oldest first.
pub(crate) async fn binary_logs(c: &mut Conn) -> Result<Vec<BinlogFile>, SourceError> {
    let rows: Vec<Row> = c.query("SHOW BINARY LOGS").await.map_err(|e| match e {
        mysql_async::Error::Server(se) if se.code == 1381 => {
            SourceError::Misconfigured("binary logging is off: start the server with log_bin".into())
        }
        e => query_error(e),
    })?;
    Ok(rows
        .iter()
        .map(|r| BinlogFile {
            name: text(r, 0).unwrap_or_default(),
            size: text(r, 1).and_then(|s| s.parse().ok()).unwrap_or(0),
        })
        .collect())
}

/// A base table the project could sync.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableInfo {
    pub name: TableName,
    pub has_primary_key: bool,
}

/// Base tables matching `filter`, outside the system schemas, sorted by name.
pub async fn list_tables(cfg: &MysqlConfig, filter: &TableFilter) -> Result<Vec<TableInfo>, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let result = list_tables_on(&mut c, filter).await;
    conn::close(c).await;
    result
}

pub(crate) async fn list_tables_on(
    c: &mut Conn,
    filter: &TableFilter,
) -> Result<Vec<TableInfo>, SourceError> {
    let sys = SYSTEM_SCHEMAS.map(|s| format!("'{s}'")).join(",");
    let tables: Vec<Row> = c
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ({sys})"
        ))
        .await
        .map_err(query_error)?;
    let with_pk: Vec<Row> = c
        .query(format!(
            // STATISTICS, not TABLE_CONSTRAINTS: MariaDB hides constraints from a user with
            // only SELECT (the replication user), but shows it the indexes.
            "SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME FROM information_schema.STATISTICS \
             WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA NOT IN ({sys})"
        ))
        .await
        .map_err(query_error)?;
    let pair = |r: &Row| Some((text(r, 0)?, text(r, 1)?));
    let with_pk: std::collections::HashSet<(String, String)> = with_pk.iter().filter_map(pair).collect();
    let mut out: Vec<TableInfo> = tables
        .iter()
        .filter_map(pair)
        .filter(|(db, t)| filter.matches(db, t))
        .map(|(db, t)| {
            let has_primary_key = with_pk.contains(&(db.clone(), t.clone()));
            TableInfo { name: TableName::new(db, t), has_primary_key }
        })
        .collect();
    out.sort();
    Ok(out)
}

/// A table as the decoder needs it: its schema, and per column the character set and the
/// MariaDB JSON flag.
#[derive(Debug)]
pub(crate) struct CatalogTable {
    pub schema: TableSchema,
    /// Per column: its character set name (`None` for non-character columns).
    pub charsets: Vec<Option<String>>,
    /// Per column: a MariaDB JSON column (LONGTEXT with a `json_valid` check).
    pub json: Vec<bool>,
}

impl CatalogTable {
    /// The table `def` describes. Character columns without a character set of their own
    /// take the table's, else `database_charset`.
    pub(crate) fn from_definition(
        name: TableName,
        def: &TableDefinition,
        database_charset: Option<&str>,
    ) -> Self {
        let mut columns = Vec::with_capacity(def.columns.len());
        let mut charsets = Vec::with_capacity(def.columns.len());
        let mut json = Vec::with_capacity(def.columns.len());
        for c in &def.columns {
            columns.push(c.to_column());
            let charset = match &c.charset {
                Some(cs) => Some(cs.clone()),
                None if c.is_character() => {
                    def.charset.clone().or_else(|| database_charset.map(str::to_string))
                }
                None => None,
            };
            charsets.push(charset);
            json.push(c.json);
        }
        let primary_key = def
            .primary_key
            .iter()
            .filter_map(|k| def.columns.iter().position(|c| c.name.eq_ignore_ascii_case(k)))
            .collect();
        Self { schema: TableSchema { name, columns, primary_key }, charsets, json }
    }
}

/// The schema of `name` from `information_schema`.
pub async fn table_schema(cfg: &MysqlConfig, name: &TableName) -> Result<TableSchema, SourceError> {
    let mut c = conn::connect(cfg).await?;
    let t = load_definition(&mut c, name).await;
    conn::close(c).await;
    match t? {
        Some(def) => Ok(CatalogTable::from_definition(name.clone(), &def, None).schema),
        None => Err(SourceError::Table {
            table: name.to_string(),
            reason: "not found in information_schema".into(),
        }),
    }
}

/// The definition of `name` in `information_schema`; `None` when the table does not exist.
pub(crate) async fn load_definition(
    c: &mut Conn,
    name: &TableName,
) -> Result<Option<TableDefinition>, SourceError> {
    let rows: Vec<Row> = c
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, \
                    CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, \
                    DATETIME_PRECISION, CHARACTER_SET_NAME \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&name.database, &name.table),
        )
        .await
        .map_err(query_error)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let json_cols = json_columns(c, name).await?;
    let mut columns = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut def = ColumnDefinition {
            name: text(r, 0).unwrap_or_default(),
            data_type: text(r, 1).unwrap_or_default().to_ascii_lowercase(),
            column_type: text(r, 2).unwrap_or_default(),
            char_max_len: number(r, 3),
            octet_len: number(r, 4),
            numeric_precision: number(r, 5),
            numeric_scale: number(r, 6),
            datetime_precision: number(r, 7),
            charset: text(r, 8),
            json: false,
        };
        def.json = def.data_type == "longtext" && json_cols.contains(&def.name);
        columns.push(def);
    }
    let key: Vec<Row> = c
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
            (&name.database, &name.table),
        )
        .await
        .map_err(query_error)?;
    let primary_key = key.iter().filter_map(|r| text(r, 0)).collect();
    let collation: Option<Row> = c
        .exec_first(
            "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&name.database, &name.table),
        )
        .await
        .map_err(query_error)?;
    let charset = collation.and_then(|r| text(&r, 0)).map(|c| charset_of_collation(&c));
    Ok(Some(TableDefinition { columns, primary_key, charset }))
}

/// A database's default character set; `None` when it does not exist.
pub(crate) async fn database_charset(c: &mut Conn, database: &str) -> Result<Option<String>, SourceError> {
    let row: Option<Row> = c
        .exec_first(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await
        .map_err(query_error)?;
    Ok(row.and_then(|r| text(&r, 0)))
}

/// The character set a collation belongs to: `utf8mb4_bin` -> `utf8mb4`, `binary` -> `binary`.
pub(crate) fn charset_of_collation(collation: &str) -> String {
    let lower = collation.to_ascii_lowercase();
    match lower.split_once('_') {
        Some((cs, _)) => cs.to_string(),
        None => lower,
    }
}

/// Columns of `name` under a `json_valid(col)` check: MariaDB's JSON columns.
async fn json_columns(c: &mut Conn, name: &TableName) -> Result<Vec<String>, SourceError> {
    let clauses: Vec<Row> = match c
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (&name.database, &name.table),
        )
        .await
    {
        Ok(rows) => rows,
        // Servers without CHECK_CONSTRAINTS (MySQL < 8.0.16) have no MariaDB JSON columns.
        Err(mysql_async::Error::Server(_)) => Vec::new(),
        Err(e) => return Err(query_error(e)),
    };
    Ok(clauses.iter().filter_map(|r| text(r, 0)).flat_map(|clause| json_valid_columns(&clause)).collect())
}

/// Column names inside `json_valid(...)` calls of a check clause.
pub(crate) fn json_valid_columns(clause: &str) -> Vec<String> {
    let lower = clause.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find("json_valid(") {
        let start = from + p + "json_valid(".len();
        let rest = clause[start..].trim_start();
        let name = if let Some(quoted) = rest.strip_prefix('`') {
            let mut name = String::new();
            let mut chars = quoted.chars().peekable();
            while let Some(ch) = chars.next() {
                if ch == '`' {
                    if chars.peek() == Some(&'`') {
                        chars.next();
                        name.push('`');
                    } else {
                        break;
                    }
                } else {
                    name.push(ch);
                }
            }
            name
        } else {
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$').collect()
        };
        if !name.is_empty() {
            out.push(name);
        }
        from = start;
    }
    out
}

/// A table's definition as `information_schema` gives it (or as Ferry derives it from DDL,
/// `ddl.rs`): what decoding its rows needs when the binlog does not carry it. Kept in the
/// schema history, so its serialized form is stable: add fields with `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TableDefinition {
    pub columns: Vec<ColumnDefinition>,
    /// Primary key column names, in key order.
    pub primary_key: Vec<String>,
    /// The table's default character set (`None`: the database's).
    pub charset: Option<String>,
}

/// One column, in the words of `information_schema.COLUMNS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ColumnDefinition {
    pub name: String,
    /// Lowercase: `int`, `varchar`, `enum`...
    pub data_type: String,
    /// `int(10) unsigned`, `enum('a','b')`...
    pub column_type: String,
    pub char_max_len: Option<u64>,
    pub octet_len: Option<u64>,
    pub numeric_precision: Option<u64>,
    pub numeric_scale: Option<u64>,
    pub datetime_precision: Option<u64>,
    /// The column's own character set (`None`: the table's, for character columns).
    pub charset: Option<String>,
    /// A MariaDB JSON column (LONGTEXT with a `json_valid` check).
    pub json: bool,
}

impl ColumnDefinition {
    /// A column of a type with no lengths, precision or character set (yet).
    pub(crate) fn new(name: impl Into<String>, data_type: &str, column_type: &str) -> Self {
        ColumnDefinition {
            name: name.into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            char_max_len: None,
            octet_len: None,
            numeric_precision: None,
            numeric_scale: None,
            datetime_precision: None,
            charset: None,
            json: false,
        }
    }

    /// Whether the column holds text in a character set.
    pub(crate) fn is_character(&self) -> bool {
        matches!(
            self.data_type.as_str(),
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
        )
    }

    fn to_column(&self) -> Column {
        let is_json = self.json;
        use ColumnKind::*;
        let len = |v: Option<u64>| v.unwrap_or(0).min(u32::MAX as u64) as u32;
        let fsp = self.datetime_precision.unwrap_or(0).min(6) as u8;
        let kind = match self.data_type.as_str() {
            "tinyint" => TinyInt,
            "smallint" => SmallInt,
            "mediumint" => MediumInt,
            "int" | "integer" => Int,
            "bigint" => BigInt,
            "decimal" | "numeric" => Decimal {
                precision: self.numeric_precision.unwrap_or(10) as u8,
                scale: self.numeric_scale.unwrap_or(0) as u8,
            },
            "float" => Float,
            "double" | "real" | "double precision" => Double,
            "date" => Date,
            "time" => Time { fsp },
            "datetime" => DateTime { fsp },
            "timestamp" => Timestamp { fsp },
            "year" => Year,
            "char" => Char { len: len(self.char_max_len) },
            "varchar" => VarChar { len: len(self.char_max_len) },
            "binary" => Binary { len: len(self.octet_len) },
            "varbinary" => VarBinary { len: len(self.octet_len) },
            "tinytext" | "text" | "mediumtext" | "longtext" => {
                if is_json {
                    Json
                } else {
                    Text
                }
            }
            "tinyblob" | "blob" | "mediumblob" | "longblob" => Blob,
            "enum" => Enum { labels: parse_labels(&self.column_type) },
            "set" => Set { labels: parse_labels(&self.column_type) },
            "bit" => Bit { bits: self.numeric_precision.unwrap_or(1) as u8 },
            "json" => Json,
            other => Other { name: other.to_string() },
        };
        let unsigned = self.column_type.to_ascii_lowercase().contains("unsigned")
            && matches!(
                kind,
                TinyInt | SmallInt | MediumInt | Int | BigInt | Decimal { .. } | Float | Double
            );
        Column { name: self.name.clone(), kind, unsigned }
    }
}

/// The labels of an `enum('a','b')` / `set(...)` column type, unescaped (`''` and `\x`).
pub(crate) fn parse_labels(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let mut labels = Vec::new();
    let mut chars = column_type[open + 1..].chars().peekable();
    loop {
        // Skip to the next quote, or stop at the closing parenthesis.
        match chars.next() {
            Some('\'') => {}
            Some(')') | None => break,
            Some(_) => continue,
        }
        let mut label = String::new();
        while let Some(ch) = chars.next() {
            match ch {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                '\\' => match chars.next() {
                    Some('n') => label.push('\n'),
                    Some('r') => label.push('\r'),
                    Some('t') => label.push('\t'),
                    Some('0') => label.push('\0'),
                    Some('Z') => label.push('\u{1a}'),
                    Some(c) => label.push(c),
                    None => break,
                },
                c => label.push(c),
            }
        }
        labels.push(label);
    }
    labels
}

/// Character sets the server knows: collation id -> (charset, bytes per character).
#[derive(Debug, Clone, Default)]
pub(crate) struct Charsets {
    by_collation: HashMap<u32, (String, u8)>,
    maxlen: HashMap<String, u8>,
}

impl Charsets {
    pub(crate) async fn load(c: &mut Conn) -> Result<Self, SourceError> {
        let sets: Vec<Row> = c
            .query("SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS")
            .await
            .map_err(query_error)?;
        // MariaDB 10.10+ also lists collations without an id or charset (UCA 14.0 aliases).
        let collations: Vec<Row> = c
            .query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS")
            .await
            .map_err(query_error)?;
        let mut this = Self::default();
        for r in &sets {
            if let (Some(name), Some(maxlen)) = (text(r, 0), number(r, 1)) {
                this.maxlen.insert(name.to_ascii_lowercase(), maxlen as u8);
            }
        }
        for r in &collations {
            if let (Some(id), Some(cs)) = (number(r, 0), text(r, 1)) {
                let cs = cs.to_ascii_lowercase();
                let maxlen = this.maxlen_of(&cs);
                this.by_collation.insert(id as u32, (cs, maxlen));
            }
        }
        Ok(this)
    }

    /// (charset name, bytes per character) of a collation id from a table map.
    pub(crate) fn collation(&self, id: u32) -> Option<(&str, u8)> {
        if let Some((cs, maxlen)) = self.by_collation.get(&id) {
            return Some((cs, *maxlen));
        }
        // The ids every server shares, for when the table above is empty.
        match id {
            63 => Some(("binary", 1)),
            5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 => Some(("latin1", 1)),
            11 | 65 => Some(("ascii", 1)),
            33 | 83 | 192..=215 | 223 => Some(("utf8mb3", 3)),
            45 | 46 | 224..=247 | 255..=323 => Some(("utf8mb4", 4)),
            _ => None,
        }
    }

    /// Bytes per character of a charset by name (1 when unknown).
    pub(crate) fn maxlen_of(&self, charset: &str) -> u8 {
        let cs = charset.to_ascii_lowercase();
        if let Some(m) = self.maxlen.get(&cs) {
            return *m;
        }
        match cs.as_str() {
            "utf8mb4" | "utf16" | "utf16le" | "utf32" | "gb18030" => 4,
            "utf8" | "utf8mb3" | "ujis" | "eucjpms" => 3,
            "ucs2" | "gbk" | "gb2312" | "big5" | "sjis" | "cp932" | "euckr" => 2,
            _ => 1,
        }
    }
}

/// A column of a row as text (the text protocol, or a string in the binary one).
pub(crate) fn text(r: &Row, i: usize) -> Option<String> {
    match r.as_ref(i)? {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        v => Some(v.as_sql(true).trim_matches('\'').to_string()),
    }
}

pub(crate) fn number(r: &Row, i: usize) -> Option<u64> {
    match r.as_ref(i)? {
        mysql_async::Value::Int(v) => u64::try_from(*v).ok(),
        mysql_async::Value::UInt(v) => Some(*v),
        mysql_async::Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unescaped() {
        assert_eq!(parse_labels("enum('a','b')"), vec!["a", "b"]);
        assert_eq!(parse_labels("set('it''s','x,y','')"), vec!["it's", "x,y", ""]);
        assert_eq!(parse_labels(r"enum('back\\slash','p(q)')"), vec![r"back\slash", "p(q)"]);
        assert!(parse_labels("int(11)").is_empty());
    }

    #[test]
    fn json_valid_columns_are_found() {
        assert_eq!(json_valid_columns("json_valid(`j`)"), vec!["j"]);
        assert_eq!(json_valid_columns("json_valid(`a`) and JSON_VALID(`b``c`)"), vec!["a", "b`c"]);
        assert!(json_valid_columns("`x` > 0").is_empty());
    }

    #[test]
    fn flavors() {
        assert_eq!(flavor_of("10.11.19-MariaDB-0+deb12u1-log"), SourceFlavor::MariaDb);
        assert_eq!(flavor_of("8.0.36"), SourceFlavor::MySql);
        assert_eq!(flavor_of("5.7.25-OceanBase seekdb-v1.4.0.0"), SourceFlavor::OceanBase);
    }
}
