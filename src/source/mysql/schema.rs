//! Table maps -> table schemas and per-column decoders, cached per binlog table id.
//!
//! A TABLE_MAP event precedes the rows of every statement; the server keeps a table's id while
//! its definition stays cached, so the cache compares the event's bytes with the ones it built
//! from and rebuilds only when they differ.
//!
//! Two ways to a schema, one result:
//! - `binlog_row_metadata=FULL`: names, signedness, charsets, ENUM/SET labels and the primary
//!   key travel in the table map (MariaDB JSON columns are still looked up: the binlog shows
//!   them as LONGTEXT);
//! - otherwise: the same from `information_schema` (cached per table, dropped when a QUERY
//!   event carries DDL for the table), checked against the table map's column types.
//!
//! Either way the [`ColumnKind`] comes from the table map's types and metadata by the same rules
//! `catalog.rs` applies to `information_schema`, so both paths agree.

use super::catalog::{self, CatalogTable, Charsets, TableDefinition};
use super::conn;
use super::ddl::{self, Change};
use super::decode::{text_encoding, Conv, TextEncoding};
use super::history::{At, Entries, SchemaHistory, Version};
use super::sql::Ddl;
use super::{MysqlConfig, SourceError};
use crate::codec::SourceFlavor;
use crate::model::{Column, ColumnKind, TableName, TableSchema};
use crate::source::TableFilter;
use mysql_async::binlog::events::{Event, TableMapEvent};
use mysql_async::consts::ColumnType;
use mysql_async::Conn;
use std::collections::HashMap;
use std::sync::Arc;

/// How to decode one column of a rows event.
#[derive(Debug, Clone)]
pub(crate) struct ColDef {
    /// The real type (ENUM/SET/STRING resolved, DATE as NEWDATE).
    pub ty: ColumnType,
    meta: [u8; 2],
    meta_len: u8,
    pub unsigned: bool,
    pub conv: Conv,
}

impl ColDef {
    pub fn meta(&self) -> &[u8] {
        &self.meta[..self.meta_len as usize]
    }
}

/// A table as the rows events of one table id need it.
#[derive(Debug)]
pub(crate) struct TableDef {
    pub schema: Arc<TableSchema>,
    pub cols: Vec<ColDef>,
}

/// What the reader does with the rows of a table id.
pub(crate) enum Mapped<'a> {
    Synced(&'a Arc<TableDef>),
    /// Not synced by the project's filter.
    Skipped,
    /// Synced, but a DDL Ferry could not follow stopped the table: the reason.
    Stopped(&'a TableName, &'a str),
    /// No table map seen for this id.
    Unknown,
}

struct Entry {
    /// The TABLE_MAP event body this entry was built from.
    raw: Vec<u8>,
    def: Option<Arc<TableDef>>,
    /// Why a synced table's rows are not decoded (its definition is unknown past a DDL).
    stopped: Option<(TableName, String)>,
}

/// Cached table ids beyond which the cache is emptied, between statements only (a server with
/// many tables churns through ids; a statement's TABLE_MAPs must outlive its rows events).
const MAX_IDS: usize = 4096;

pub(crate) struct SchemaCache {
    cfg: MysqlConfig,
    flavor: SourceFlavor,
    filter: Arc<TableFilter>,
    /// For information_schema; opened on first need.
    conn: Option<Conn>,
    charsets: Option<Charsets>,
    by_id: HashMap<u64, Entry>,
    catalog: HashMap<TableName, Option<Arc<CatalogTable>>>,
    /// Table definitions over positions; without it, definitions come from the server as it is
    /// now (a reader outside a store).
    history: Option<Arc<SchemaHistory>>,
    /// The position of the event being handled (what the history is asked at).
    at: At,
    /// History entries written since the reader last took them (to replicate).
    written: Entries,
    database_charsets: HashMap<String, Option<String>>,
}

/// The outcome of looking a table up without the binlog's column names.
enum Lookup {
    Found(Arc<CatalogTable>),
    Missing,
    /// Stopped by a DDL Ferry could not follow: why.
    Stopped(String),
}

impl SchemaCache {
    pub fn new(cfg: MysqlConfig, flavor: SourceFlavor, filter: Arc<TableFilter>) -> Self {
        Self {
            cfg,
            flavor,
            filter,
            conn: None,
            charsets: None,
            by_id: HashMap::new(),
            catalog: HashMap::new(),
            history: None,
            at: (0, String::new(), 4),
            written: Vec::new(),
            database_charsets: HashMap::new(),
        }
    }

    /// Decode with the definitions of `history` at each event's position.
    pub fn with_history(mut self, history: Option<Arc<SchemaHistory>>) -> Self {
        self.history = history;
        self
    }

    /// The position of the event about to be handled.
    pub fn set_position(&mut self, file: &str, pos: u64) {
        if self.at.1 != file {
            self.at.1 = file.to_string();
        }
        self.at.2 = pos;
    }

    /// History entries written since the last call: what the store must replicate before it
    /// appends anything decoded with them.
    pub fn take_written(&mut self) -> Option<Entries> {
        (!self.written.is_empty()).then(|| std::mem::take(&mut self.written))
    }

    /// The position of the event being handled, in the history's terms.
    pub fn position(&self) -> At {
        self.at.clone()
    }

    /// Before the first read: the history learns which server answers (`resume`: where the
    /// reader resumes, in the terms of the server before). With an empty history, every synced
    /// table's definition now becomes the version in force from `start` on (the baseline).
    pub async fn connected(
        &mut self,
        c: &mut Conn,
        server_id: u32,
        resume: Option<(&str, u64)>,
        start: (&str, u64),
    ) -> Result<(), SourceError> {
        let Some(history) = self.history.clone() else { return Ok(()) };
        let empty = history.is_empty();
        let generation = history.connected(server_id, resume, &mut self.written)?;
        self.at = (generation, start.0.to_string(), start.1);
        if !empty {
            return Ok(());
        }
        let at = self.at.clone();
        let tables = catalog::list_tables_on(c, &self.filter).await?;
        for t in &tables {
            if let Some(def) = catalog::load_definition(c, &t.name).await? {
                self.written.extend(history.record(&t.name, at.clone(), Version::Table(def))?);
            }
        }
        tracing::info!(tables = tables.len(), position = ?at, "schema history: baseline taken");
        Ok(())
    }

    /// Whether the project syncs `database.table` (never the server's system schemas).
    pub fn synced(&self, database: &str, table: &str) -> bool {
        !catalog::SYSTEM_SCHEMAS.contains(&database) && self.filter.matches(database, table)
    }

    pub fn get(&self, table_id: u64) -> Mapped<'_> {
        match self.by_id.get(&table_id) {
            Some(Entry { def: Some(d), .. }) => Mapped::Synced(d),
            Some(Entry { stopped: Some((t, why)), .. }) => Mapped::Stopped(t, why),
            Some(Entry { def: None, .. }) => Mapped::Skipped,
            None => Mapped::Unknown,
        }
    }

    /// Handles a TABLE_MAP event: reuses the cached definition when the event is unchanged.
    pub async fn table_map(&mut self, ev: &Event) -> Result<(), SourceError> {
        let raw = ev.data();
        let head = RawTableMap::parse(raw).ok_or_else(|| decode_err(ev, "short TABLE_MAP"))?;
        if let Some(e) = self.by_id.get(&head.table_id) {
            if e.raw == raw {
                return Ok(());
            }
        }
        let name =
            TableName::new(String::from_utf8_lossy(head.database), String::from_utf8_lossy(head.table));
        let mut stopped = None;
        let def = if self.synced(&name.database, &name.table) {
            let tme: TableMapEvent<'_> =
                ev.read_event().map_err(|e| decode_err(ev, &format!("TABLE_MAP: {e}")))?;
            match self.build(name.clone(), &tme, head.optional).await {
                Ok(def) => Some(Arc::new(def)),
                Err(Built::Stopped(why)) => {
                    stopped = Some((name, why));
                    None
                }
                Err(Built::Failed(e)) => return Err(e),
            }
        } else {
            None
        };
        self.by_id.insert(head.table_id, Entry { raw: raw.to_vec(), def, stopped });
        Ok(())
    }

    /// A statement's last rows event (or its transaction) ended: the cache may be emptied now
    /// if it grew past its bound, since the next statement maps its tables again.
    pub fn statement_ended(&mut self) {
        if self.by_id.len() >= MAX_IDS {
            self.by_id.clear();
        }
    }

    /// Whether any table of `database` was synced since the last invalidation.
    pub fn syncs_database(&self, database: &str) -> bool {
        self.by_id.values().any(|e| e.def.as_ref().is_some_and(|d| d.schema.name.database == database))
    }

    /// A DDL statement ended at `at`: its changes go into the history (when there is one) and
    /// what it may have changed is forgotten. Tables it stopped are logged here and reported
    /// when their rows come.
    pub fn ddl(&mut self, sql: &str, default_db: &str, ddl: &Ddl, at: At) -> Result<(), SourceError> {
        if let Some(history) = self.history.clone() {
            let mut changes = Vec::new();
            match ddl {
                Ddl::Tables(_) => {
                    let before = self.at.clone();
                    changes = ddl::apply(sql, default_db, &mut |n| match history.at(n, &before) {
                        Some(Version::Table(d)) => Some(d),
                        _ => None,
                    });
                }
                Ddl::Database(db) => {
                    changes = history.tables_in(db, &self.at).into_iter().map(Change::Dropped).collect();
                }
                Ddl::None | Ddl::Unknown => {}
            }
            for change in changes {
                let (name, version) = match change {
                    Change::Defined(n, d) => (n, Version::Table(d)),
                    Change::Dropped(n) => (n, Version::Dropped),
                    // A stopped table stays stopped: an ALTER of it cannot be followed either.
                    Change::Unknown(n)
                        if matches!(history.at(&n, &self.at), Some(Version::Stopped { .. })) =>
                    {
                        continue
                    }
                    Change::Unknown(n) => (n, Version::Unknown),
                    Change::Unparsed(n, reason) => {
                        let position = format!("{}:{}", self.at.1, self.at.2);
                        if self.synced(&n.database, &n.table) {
                            tracing::warn!(table = %n, %reason, %position, statement = %sql, "DDL not followed: the table stops");
                        }
                        (n, Version::Stopped { statement: sql.to_string(), reason, position })
                    }
                };
                // Only tables the project syncs, or once synced (renamed away, say).
                let tracked =
                    self.synced(&name.database, &name.table) || history.at(&name, &self.at).is_some();
                if !tracked {
                    continue;
                }
                self.written.extend(history.record(&name, at.clone(), version)?);
            }
        }
        match ddl {
            Ddl::None => {}
            Ddl::Unknown => self.invalidate(None),
            Ddl::Database(d) => self.invalidate_database(d),
            Ddl::Tables(names) => self.invalidate(Some(names)),
        }
        Ok(())
    }

    /// Forgets every table of `database`.
    pub fn invalidate_database(&mut self, database: &str) {
        self.catalog.retain(|n, _| n.database != database);
        self.by_id.retain(|_, e| e.def.as_ref().is_none_or(|d| d.schema.name.database != database));
    }

    /// Forgets what DDL may have changed: the named tables, or everything.
    pub fn invalidate(&mut self, tables: Option<&[TableName]>) {
        match tables {
            None => {
                self.catalog.clear();
                self.by_id.clear();
            }
            Some(names) => {
                for n in names {
                    self.catalog.remove(n);
                }
                self.by_id.retain(|_, e| match &e.def {
                    Some(d) => !names.contains(&d.schema.name),
                    None => true,
                });
            }
        }
    }

    async fn build(
        &mut self,
        name: TableName,
        tme: &TableMapEvent<'_>,
        optional: &[u8],
    ) -> Result<TableDef, Built> {
        let n = tme.columns_count() as usize;
        let mut types = Vec::with_capacity(n);
        for i in 0..n {
            let ty = tme
                .get_column_type(i)
                .ok()
                .flatten()
                .ok_or_else(|| table_err(&name, format!("column {i}: unknown binlog type")))?;
            let meta = tme.get_column_metadata(i).unwrap_or(&[]);
            types.push((ty, meta));
        }
        let opt = OptionalMeta::parse(optional, &types)
            .map_err(|e| table_err(&name, format!("table map metadata: {e}")))?;
        if self.charsets.is_none() {
            let c = self.conn().await?;
            match Charsets::load(c).await {
                Ok(cs) => self.charsets = Some(cs),
                Err(e) => {
                    self.conn = None;
                    return Err(e.into());
                }
            }
        }
        if opt.names.is_some() {
            Ok(self.build_full(name, &types, opt).await?)
        } else {
            self.build_from_catalog(name, &types, opt).await
        }
    }

    /// `binlog_row_metadata=FULL`: everything from the table map but MariaDB's JSON flag.
    async fn build_full(
        &mut self,
        name: TableName,
        types: &[(ColumnType, &[u8])],
        opt: OptionalMeta,
    ) -> Result<TableDef, SourceError> {
        let mut names = opt.names.unwrap_or_default().into_iter();
        let mut signed = opt.signedness.unwrap_or_default().into_iter();
        let mut charsets = opt.charsets.unwrap_or_default().into_iter();
        let mut es_charsets = opt.enum_set_charsets.unwrap_or_default().into_iter();
        let mut enum_labels = opt.enum_labels.unwrap_or_default().into_iter();
        let mut set_labels = opt.set_labels.unwrap_or_default().into_iter();
        let mut geometry = opt.geometry.unwrap_or_default().into_iter();
        // MariaDB JSON is LONGTEXT: only then ask information_schema.
        let json = if self.flavor == SourceFlavor::MariaDb
            && types.iter().any(|(t, m)| *t == ColumnType::MYSQL_TYPE_BLOB && m.first() == Some(&4))
        {
            match self.lookup(&name).await? {
                Lookup::Found(t) => t
                    .schema
                    .columns
                    .iter()
                    .zip(&t.json)
                    .filter(|(_, j)| **j)
                    .map(|(c, _)| c.name.clone())
                    .collect(),
                Lookup::Missing | Lookup::Stopped(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let cs = self.charsets.as_ref().expect("loaded in build");
        let mut columns = Vec::with_capacity(types.len());
        let mut cols = Vec::with_capacity(types.len());
        for (i, &(ty, meta)) in types.iter().enumerate() {
            let col_name = names.next().unwrap_or_else(|| format!("@{i}"));
            let unsigned = if is_numeric(ty) { signed.next().unwrap_or(false) } else { false };
            let charset = if is_character(ty) {
                charsets.next().and_then(|id| cs.collation(id))
            } else if is_enum_or_set(ty) {
                es_charsets.next().and_then(|id| cs.collation(id))
            } else {
                None
            };
            let (charset_name, maxlen) = charset.map_or(("binary", 1), |(n, m)| (n, m));
            let labels = match ty {
                ColumnType::MYSQL_TYPE_ENUM => enum_labels.next(),
                ColumnType::MYSQL_TYPE_SET => set_labels.next(),
                _ => None,
            };
            let enc = text_encoding(charset_name);
            let labels = labels.map(|ls| {
                ls.into_iter()
                    .map(|l| super::decode::decode_text(enc.unwrap_or(TextEncoding::Utf8), l))
                    .collect()
            });
            let geometry_name = if ty == ColumnType::MYSQL_TYPE_GEOMETRY {
                Some(geometry_name(geometry.next().unwrap_or(0)).to_string())
            } else {
                None
            };
            let is_json = json.contains(&col_name);
            let spec = ColumnSpec {
                ty,
                meta,
                unsigned,
                charset: charset_name,
                maxlen,
                labels,
                is_json,
                geometry_name,
            };
            let (column, col) = spec.build(col_name);
            columns.push(column);
            cols.push(col);
        }
        let primary_key = opt.primary_key.unwrap_or_default();
        if primary_key.iter().any(|&k| k >= columns.len()) {
            return Err(table_err(&name, "primary key index out of range in table map".into()));
        }
        Ok(TableDef { schema: Arc::new(TableSchema { name, columns, primary_key }), cols })
    }

    /// No column names in the table map: names, signedness, charsets, labels and the key come
    /// from information_schema, which must still describe the table the binlog logged.
    async fn build_from_catalog(
        &mut self,
        name: TableName,
        types: &[(ColumnType, &[u8])],
        _opt: OptionalMeta,
    ) -> Result<TableDef, Built> {
        let cat = match self.lookup(&name).await? {
            Lookup::Found(cat) => cat,
            Lookup::Stopped(why) => return Err(Built::Stopped(why)),
            Lookup::Missing => {
                return Err(table_err(
                    &name,
                    "not found in information_schema (dropped since?); without \
                     binlog_row_metadata=FULL its rows cannot be decoded"
                        .into(),
                )
                .into())
            }
        };
        // With a history, a table whose definition disagrees with the binlog stops alone; a
        // reader without one (a plain read of the server) fails.
        let from = if self.history.is_some() { "the schema history" } else { "information_schema" };
        let mismatch = |reason: String| match self.history {
            Some(_) => Built::Stopped(format!("{reason}; its rows are not decoded")),
            None => Built::Failed(table_err(&name, reason)),
        };
        if cat.schema.columns.len() != types.len() {
            return Err(mismatch(format!(
                "the binlog has {} columns, {from} {}: the table changed since this event was \
                 written; set binlog_row_metadata=FULL to decode old events",
                types.len(),
                cat.schema.columns.len()
            )));
        }
        let cs = self.charsets.as_ref().expect("loaded in build");
        let mut columns = Vec::with_capacity(types.len());
        let mut cols = Vec::with_capacity(types.len());
        for (i, &(ty, meta)) in types.iter().enumerate() {
            let known = &cat.schema.columns[i];
            let charset_name = cat.charsets[i].as_deref().unwrap_or("binary");
            let labels = match &known.kind {
                ColumnKind::Enum { labels } | ColumnKind::Set { labels } => Some(labels.clone()),
                _ => None,
            };
            let geometry_name = match &known.kind {
                ColumnKind::Other { name } if ty == ColumnType::MYSQL_TYPE_GEOMETRY => Some(name.clone()),
                _ => None,
            };
            let spec = ColumnSpec {
                ty,
                meta,
                unsigned: known.unsigned,
                charset: charset_name,
                maxlen: cs.maxlen_of(charset_name),
                labels,
                is_json: cat.json[i],
                geometry_name,
            };
            let (column, col) = spec.build(known.name.clone());
            let same_family = std::mem::discriminant(&column.kind) == std::mem::discriminant(&known.kind)
                || matches!(known.kind, ColumnKind::Other { .. });
            if !same_family {
                return Err(mismatch(format!(
                    "column {} is {} in {from} but {} in the binlog: the table changed since this \
                     event was written; set binlog_row_metadata=FULL",
                    known.name,
                    known.sql_type(),
                    column.sql_type()
                )));
            }
            columns.push(column);
            cols.push(col);
        }
        let schema = TableSchema { name, columns, primary_key: cat.schema.primary_key.clone() };
        Ok(TableDef { schema: Arc::new(schema), cols })
    }

    /// The table's definition where the reader is: from the history when it has one, else from
    /// `information_schema` (saved into the history as the table's from here on).
    async fn lookup(&mut self, name: &TableName) -> Result<Lookup, SourceError> {
        if let Some(t) = self.catalog.get(name) {
            return Ok(t.clone().map_or(Lookup::Missing, Lookup::Found));
        }
        let known = self.history.as_ref().and_then(|h| h.at(name, &self.at));
        let def = match known {
            Some(Version::Table(def)) => Some(def),
            Some(Version::Dropped) => None,
            Some(Version::Stopped { statement, reason, position }) => {
                return Ok(Lookup::Stopped(format!(
                    "stopped at {position}: Ferry could not follow {statement:?} ({reason}), and without \
                     binlog_row_metadata=FULL its rows cannot be decoded past it. Set \
                     binlog_row_metadata=FULL, or re-create the table, and re-sync it"
                )))
            }
            Some(Version::Unknown) | None => {
                let loaded = self.load_definition(name).await?;
                if let (Some(h), Some(def)) = (&self.history, &loaded) {
                    self.written.extend(h.record(name, self.at.clone(), Version::Table(def.clone()))?);
                }
                loaded
            }
        };
        let table = match def {
            Some(def) => {
                let db_charset =
                    if def.charset.is_none() { self.database_charset(&name.database).await? } else { None };
                Some(Arc::new(CatalogTable::from_definition(name.clone(), &def, db_charset.as_deref())))
            }
            None => None,
        };
        self.catalog.insert(name.clone(), table.clone());
        Ok(table.map_or(Lookup::Missing, Lookup::Found))
    }

    async fn load_definition(&mut self, name: &TableName) -> Result<Option<TableDefinition>, SourceError> {
        let c = self.conn().await?;
        let t = catalog::load_definition(c, name).await;
        if t.is_err() {
            // The connection may be broken: open a fresh one next time.
            self.conn = None;
        }
        t
    }

    async fn database_charset(&mut self, database: &str) -> Result<Option<String>, SourceError> {
        if let Some(cs) = self.database_charsets.get(database) {
            return Ok(cs.clone());
        }
        let c = self.conn().await?;
        let cs = catalog::database_charset(c, database).await;
        if cs.is_err() {
            self.conn = None;
        }
        let cs = cs?;
        self.database_charsets.insert(database.to_string(), cs.clone());
        Ok(cs)
    }

    async fn conn(&mut self) -> Result<&mut Conn, SourceError> {
        if self.conn.is_none() {
            self.conn = Some(conn::connect(&self.cfg).await?);
        }
        Ok(self.conn.as_mut().expect("just set"))
    }

    /// Closes the information_schema connection.
    pub async fn close(&mut self) {
        if let Some(c) = self.conn.take() {
            conn::close(c).await;
        }
    }
}

/// Why a table map gave no definition.
pub(crate) enum Built {
    /// The table is stopped (a DDL Ferry could not follow): skip its rows, say why.
    Stopped(String),
    Failed(SourceError),
}

impl From<SourceError> for Built {
    fn from(e: SourceError) -> Self {
        Built::Failed(e)
    }
}

/// Everything that decides a column's kind and decoder.
struct ColumnSpec<'a> {
    ty: ColumnType,
    meta: &'a [u8],
    unsigned: bool,
    /// Charset name (`binary` for binary strings and non-character columns).
    charset: &'a str,
    /// Bytes per character of the charset.
    maxlen: u8,
    labels: Option<Vec<String>>,
    is_json: bool,
    geometry_name: Option<String>,
}

impl ColumnSpec<'_> {
    fn build(self, name: String) -> (Column, ColDef) {
        use ColumnType::*;
        let m = |i: usize| self.meta.get(i).copied().unwrap_or(0);
        let enc = text_encoding(self.charset);
        let chars = |bytes: u32| bytes / self.maxlen.max(1) as u32;
        let text_or_bytes = |enc: Option<TextEncoding>| enc.map_or(Conv::Bytes, Conv::Text);
        let int = |bits| Conv::Int { bits, unsigned: self.unsigned };
        let (kind, conv) = match self.ty {
            MYSQL_TYPE_TINY => (ColumnKind::TinyInt, int(8)),
            MYSQL_TYPE_SHORT => (ColumnKind::SmallInt, int(16)),
            MYSQL_TYPE_INT24 => (ColumnKind::MediumInt, int(24)),
            MYSQL_TYPE_LONG => (ColumnKind::Int, int(32)),
            MYSQL_TYPE_LONGLONG => (ColumnKind::BigInt, int(64)),
            MYSQL_TYPE_NEWDECIMAL => {
                (ColumnKind::Decimal { precision: m(0), scale: m(1) }, Conv::Decimal { scale: m(1) })
            }
            MYSQL_TYPE_FLOAT => (ColumnKind::Float, Conv::Float),
            MYSQL_TYPE_DOUBLE => (ColumnKind::Double, Conv::Double),
            MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATE => (ColumnKind::Date, Conv::Date),
            MYSQL_TYPE_TIME => (ColumnKind::Time { fsp: 0 }, Conv::Time),
            MYSQL_TYPE_TIME2 => (ColumnKind::Time { fsp: m(0) }, Conv::Time2 { fsp: m(0) }),
            MYSQL_TYPE_DATETIME => (ColumnKind::DateTime { fsp: 0 }, Conv::DateTime),
            MYSQL_TYPE_DATETIME2 => (ColumnKind::DateTime { fsp: m(0) }, Conv::DateTime),
            MYSQL_TYPE_TIMESTAMP => (ColumnKind::Timestamp { fsp: 0 }, Conv::Timestamp),
            MYSQL_TYPE_TIMESTAMP2 => (ColumnKind::Timestamp { fsp: m(0) }, Conv::Timestamp),
            MYSQL_TYPE_YEAR => (ColumnKind::Year, Conv::Year),
            MYSQL_TYPE_STRING => {
                let bytes = string_len(self.meta);
                match enc {
                    None => (ColumnKind::Binary { len: bytes }, Conv::Binary { len: bytes }),
                    Some(e) => (ColumnKind::Char { len: chars(bytes) }, Conv::Text(e)),
                }
            }
            MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
                let bytes = u16::from_le_bytes([m(0), m(1)]) as u32;
                match enc {
                    None => (ColumnKind::VarBinary { len: bytes }, Conv::Bytes),
                    Some(e) => (ColumnKind::VarChar { len: chars(bytes) }, Conv::Text(e)),
                }
            }
            MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB => {
                match enc {
                    None => (ColumnKind::Blob, Conv::Bytes),
                    Some(_) if self.is_json => (ColumnKind::Json, Conv::Json),
                    Some(e) => (ColumnKind::Text, Conv::Text(e)),
                }
            }
            MYSQL_TYPE_ENUM => (ColumnKind::Enum { labels: self.labels.unwrap_or_default() }, Conv::Enum),
            MYSQL_TYPE_SET => (ColumnKind::Set { labels: self.labels.unwrap_or_default() }, Conv::Set),
            MYSQL_TYPE_BIT => {
                let bits = (m(1) as u32 * 8 + m(0) as u32).min(64) as u8;
                (ColumnKind::Bit { bits }, Conv::Bit)
            }
            MYSQL_TYPE_JSON => (ColumnKind::Json, Conv::Json),
            MYSQL_TYPE_GEOMETRY => (
                ColumnKind::Other { name: self.geometry_name.unwrap_or_else(|| "geometry".into()) },
                Conv::Bytes,
            ),
            other => (ColumnKind::Other { name: format!("{other:?}") }, text_or_bytes(None)),
        };
        let unsigned = self.unsigned && is_numeric(self.ty);
        let mut meta = [0u8; 2];
        let meta_len = self.meta.len().min(2);
        meta[..meta_len].copy_from_slice(&self.meta[..meta_len]);
        let column = Column { name, kind, unsigned };
        let col = ColDef { ty: self.ty, meta, meta_len: meta_len as u8, unsigned, conv };
        (column, col)
    }
}

/// CHAR/BINARY length in bytes from STRING metadata (with the high bits folded into byte 0).
fn string_len(meta: &[u8]) -> u32 {
    let (b0, b1) = (meta.first().copied().unwrap_or(0) as u32, meta.get(1).copied().unwrap_or(0) as u32);
    if b0 & 0x30 != 0x30 {
        b1 | (((b0 & 0x30) ^ 0x30) << 4)
    } else {
        b1
    }
}

fn geometry_name(code: u64) -> &'static str {
    match code {
        1 => "point",
        2 => "linestring",
        3 => "polygon",
        4 => "multipoint",
        5 => "multilinestring",
        6 => "multipolygon",
        7 => "geometrycollection",
        _ => "geometry",
    }
}

/// Columns with a signedness bit in the table map's optional metadata.
fn is_numeric(ty: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        ty,
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
    )
}

/// Columns with an entry in the table map's charset metadata.
fn is_character(ty: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        ty,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_GEOMETRY
    )
}

fn is_enum_or_set(ty: ColumnType) -> bool {
    matches!(ty, ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET)
}

/// The fixed start of a TABLE_MAP body and where its optional metadata begins.
struct RawTableMap<'a> {
    table_id: u64,
    database: &'a [u8],
    table: &'a [u8],
    optional: &'a [u8],
}

impl<'a> RawTableMap<'a> {
    /// Parses a v4 TABLE_MAP body (6-byte table id).
    fn parse(b: &'a [u8]) -> Option<Self> {
        let mut r = Reader(b);
        let id = r.take(6)?;
        let table_id = id.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64);
        r.take(2)?; // flags
        let dl = r.u8()? as usize;
        let database = r.take(dl)?;
        r.take(1)?;
        let tl = r.u8()? as usize;
        let table = r.take(tl)?;
        r.take(1)?;
        let n = r.lenenc()? as usize;
        r.take(n)?; // types
        let ml = r.lenenc()? as usize;
        r.take(ml)?; // metadata
        r.take(n.div_ceil(8))?; // null bitmap
        Some(Self { table_id, database, table, optional: r.0 })
    }
}

/// The optional metadata of a table map (MySQL 8.0.1+, MariaDB 10.5+), per column kind.
#[derive(Debug, Default)]
struct OptionalMeta {
    /// Per numeric column: UNSIGNED.
    signedness: Option<Vec<bool>>,
    /// Per character column: collation id.
    charsets: Option<Vec<u32>>,
    /// Per ENUM/SET column: collation id.
    enum_set_charsets: Option<Vec<u32>>,
    names: Option<Vec<String>>,
    enum_labels: Option<Vec<Vec<Vec<u8>>>>,
    set_labels: Option<Vec<Vec<Vec<u8>>>>,
    geometry: Option<Vec<u64>>,
    primary_key: Option<Vec<usize>>,
}

impl OptionalMeta {
    fn parse(mut b: &[u8], types: &[(ColumnType, &[u8])]) -> Result<Self, String> {
        let count = |f: fn(ColumnType) -> bool| types.iter().filter(|(t, _)| f(*t)).count();
        let mut out = OptionalMeta::default();
        while !b.is_empty() {
            let mut r = Reader(b);
            let field = r.u8().ok_or("truncated field type")?;
            let len = r.lenenc().ok_or("truncated field length")? as usize;
            let value = r.take(len).ok_or("truncated field")?;
            b = r.0;
            let mut v = Reader(value);
            match field {
                1 => {
                    let n = count(is_numeric);
                    out.signedness = Some(
                        (0..n)
                            .map(|i| value.get(i / 8).is_some_and(|x| x & (0x80 >> (i % 8)) != 0))
                            .collect(),
                    );
                }
                2 | 10 => {
                    let n = if field == 2 { count(is_character) } else { count(is_enum_or_set) };
                    let default = v.lenenc().ok_or("charset")? as u32;
                    let mut ids = vec![default; n];
                    while !v.0.is_empty() {
                        let idx = v.lenenc().ok_or("charset index")? as usize;
                        let id = v.lenenc().ok_or("charset id")? as u32;
                        if let Some(slot) = ids.get_mut(idx) {
                            *slot = id;
                        }
                    }
                    if field == 2 {
                        out.charsets = Some(ids);
                    } else {
                        out.enum_set_charsets = Some(ids);
                    }
                }
                3 | 11 => {
                    let mut ids = Vec::new();
                    while !v.0.is_empty() {
                        ids.push(v.lenenc().ok_or("column charset")? as u32);
                    }
                    if field == 3 {
                        out.charsets = Some(ids);
                    } else {
                        out.enum_set_charsets = Some(ids);
                    }
                }
                4 => {
                    let mut names = Vec::with_capacity(types.len());
                    while !v.0.is_empty() {
                        let l = v.lenenc().ok_or("column name")? as usize;
                        names.push(String::from_utf8_lossy(v.take(l).ok_or("column name")?).into_owned());
                    }
                    out.names = Some(names);
                }
                5 | 6 => {
                    let mut all = Vec::new();
                    while !v.0.is_empty() {
                        let k = v.lenenc().ok_or("label count")? as usize;
                        let mut labels = Vec::with_capacity(k);
                        for _ in 0..k {
                            let l = v.lenenc().ok_or("label")? as usize;
                            labels.push(v.take(l).ok_or("label")?.to_vec());
                        }
                        all.push(labels);
                    }
                    if field == 5 {
                        out.set_labels = Some(all);
                    } else {
                        out.enum_labels = Some(all);
                    }
                }
                7 => {
                    let mut g = Vec::new();
                    while !v.0.is_empty() {
                        g.push(v.lenenc().ok_or("geometry type")?);
                    }
                    out.geometry = Some(g);
                }
                8 | 9 => {
                    let mut pk = Vec::new();
                    while !v.0.is_empty() {
                        pk.push(v.lenenc().ok_or("primary key")? as usize);
                        if field == 9 {
                            v.lenenc().ok_or("key prefix")?;
                        }
                    }
                    out.primary_key = Some(pk);
                }
                // Column visibility, vector dimensions, future fields.
                _ => {}
            }
        }
        Ok(out)
    }
}

/// A little cursor over bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn lenenc(&mut self) -> Option<u64> {
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64);
        match self.u8()? {
            x @ 0..=0xfa => Some(x as u64),
            0xfc => self.take(2).map(le),
            0xfd => self.take(3).map(le),
            0xfe => self.take(8).map(le),
            _ => None,
        }
    }
}

fn table_err(name: &TableName, reason: String) -> SourceError {
    SourceError::Table { table: name.to_string(), reason }
}

fn decode_err(ev: &Event, reason: &str) -> SourceError {
    let h = ev.header();
    SourceError::Decode {
        position: format!("end {} (event size {})", h.log_pos(), h.event_size()),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_lengths_fold_high_bits() {
        // CHAR(255) utf8mb4 = 1020 bytes: 0xfe ^ ((1020 >> 4) & 0x30), 1020 & 0xff
        let len: u32 = 1020;
        let b0 = 0xfe ^ (((len >> 4) & 0x30) as u8);
        assert_eq!(string_len(&[b0, (len & 0xff) as u8]), 1020);
        assert_eq!(string_len(&[0xfe, 10]), 10);
    }

    #[test]
    fn raw_table_map_head() {
        let mut b = vec![7, 0, 0, 0, 0, 0, 1, 0];
        b.extend([2, b'd', b'b', 0, 1, b't', 0, 2, 3, 15, 2, 0x10, 0, 0b10]);
        b.extend([1, 1, 0x80]);
        let h = RawTableMap::parse(&b).unwrap();
        assert_eq!(h.table_id, 7);
        assert_eq!(h.database, b"db");
        assert_eq!(h.table, b"t");
        assert_eq!(h.optional, &[1, 1, 0x80]);
    }

    /// A TABLE_MAP event (v4, no checksum) for `db.table` with one INT column.
    fn table_map_event(table_id: u64, db: &str, table: &str) -> Event {
        let mut body = table_id.to_le_bytes()[..6].to_vec();
        body.extend([0, 0]);
        for name in [db, table] {
            body.push(name.len() as u8);
            body.extend(name.as_bytes());
            body.push(0);
        }
        body.extend([1, 3, 0, 0]); // 1 column, LONG, no metadata, null bitmap
        let mut ev = Vec::new();
        ev.extend(1u32.to_le_bytes()); // timestamp
        ev.push(19); // TABLE_MAP
        ev.extend(1u32.to_le_bytes()); // server id
        ev.extend(((19 + body.len()) as u32).to_le_bytes());
        ev.extend(0u32.to_le_bytes()); // log pos
        ev.extend(0u16.to_le_bytes()); // flags
        ev.extend(body);
        let fde = mysql_async::binlog::events::FormatDescriptionEvent::new(
            mysql_async::binlog::BinlogVersion::Version4,
        );
        Event::read(&fde, &ev[..]).unwrap()
    }

    #[tokio::test]
    async fn the_cache_is_emptied_between_statements_never_inside_one() {
        let cfg = MysqlConfig {
            host: "unused".into(),
            port: 1,
            user: "u".into(),
            password: String::new(),
            tls: None,
        };
        let rule: crate::source::filter::ObjectRule =
            serde_json::from_value(serde_json::json!({"database": "synced_nowhere"})).unwrap();
        let filter = Arc::new(TableFilter::new(&[rule]).unwrap());
        let mut cache = SchemaCache::new(cfg, SourceFlavor::MariaDb, filter);
        for id in 1..MAX_IDS as u64 {
            cache.table_map(&table_map_event(id, "db", &format!("t{id}"))).await.unwrap();
            cache.statement_ended();
        }
        // One statement over two tables (a multi-table UPDATE) as the cache reaches its bound.
        cache.table_map(&table_map_event(9001, "db", "a")).await.unwrap();
        cache.table_map(&table_map_event(9002, "db", "b")).await.unwrap();
        assert!(matches!(cache.get(9001), Mapped::Skipped), "the statement's first table is still mapped");
        assert!(matches!(cache.get(9002), Mapped::Skipped));
        cache.statement_ended();
        assert!(matches!(cache.get(9001), Mapped::Unknown), "emptied once the statement ended");
    }
}
