//! The schema history: each table's definition over binlog positions, kept where the store keeps
//! its log, so a row decodes with the columns its table had where the binlog has it, also when
//! the store reads old binlog again (a restart, a reconnect, a project that was behind).
//!
//! A version takes effect at a position (the end of the DDL event that made it, or the start
//! position for the baseline the store takes of every synced table before its first read) and
//! holds until the next. Versions are derived again, the same, when binlog is read again, so
//! writing one twice is harmless.
//!
//! Without `binlog_row_metadata=FULL` this is where names, labels and keys come from; with it,
//! the table map carries them and the history is kept for the day the setting changes.

use super::catalog::TableDefinition;
use super::SourceError;
use crate::model::TableName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A saved entry: key and value bytes.
pub type Entry = (Vec<u8>, Vec<u8>);
/// Saved entries.
pub type Entries = Vec<Entry>;

/// Where the history is saved: the store's own database.
pub trait SchemaStore: Send + Sync {
    /// Every entry saved, in any order.
    fn schema_entries(&self) -> Result<Entries, String>;
    /// Saves an entry (durably: the rows decoded with it may be appended next).
    fn save_schema_entry(&self, key: &[u8], value: &[u8]) -> Result<(), String>;
}

/// A binlog position as the history orders it: the server generation (raised when the source
/// turns out to be another server, whose files and offsets are another sequence), then file,
/// then offset. File names of one server sort by their zero-padded sequence number; `("", 4)`
/// is the beginning (a GTID start).
pub(crate) type At = (u32, String, u64);

/// The key of the server record (no table name starts with a NUL byte).
const SERVER_KEY: &[u8] = b"\0server";

/// Which server the positions of the newest generation belong to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Server {
    server_id: u32,
    generation: u32,
}

/// A table's state from a position on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Version {
    Table(TableDefinition),
    Dropped,
    /// A DDL Ferry could not follow: rows of the table past it are not decoded.
    Stopped {
        statement: String,
        reason: String,
        position: String,
    },
    /// Created in a way that gives no definition (`CREATE ... SELECT`): ask the server.
    Unknown,
}

/// One project's schema history.
pub struct SchemaHistory {
    store: Box<dyn SchemaStore>,
    versions: Mutex<BTreeMap<TableName, Vec<(At, Version)>>>,
    server: Mutex<Option<Server>>,
}

impl std::fmt::Debug for SchemaHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaHistory").finish_non_exhaustive()
    }
}

impl SchemaHistory {
    /// Loads what `store` saved.
    pub fn open(store: Box<dyn SchemaStore>) -> Result<Self, SourceError> {
        let mut versions: BTreeMap<TableName, Vec<(At, Version)>> = BTreeMap::new();
        let mut server = None;
        for (key, value) in store.schema_entries().map_err(SourceError::SchemaHistory)? {
            if key == SERVER_KEY {
                server = Some(
                    serde_json::from_slice(&value)
                        .map_err(|e| SourceError::SchemaHistory(format!("server record: {e}")))?,
                );
                continue;
            }
            let (table, at) = decode_key(&key)
                .ok_or_else(|| SourceError::SchemaHistory(format!("unreadable history key {key:?}")))?;
            let version: Version = serde_json::from_slice(&value)
                .map_err(|e| SourceError::SchemaHistory(format!("history entry of {table}: {e}")))?;
            versions.entry(table).or_default().push((at, version));
        }
        for list in versions.values_mut() {
            list.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(Self { store, versions: Mutex::new(versions), server: Mutex::new(server) })
    }

    /// The reader connected to the server `server_id`, resuming at `resume` (a position of the
    /// last generation's server; `None`: the latest). Returns the generation its positions
    /// belong to: a new one when the server is another (a switch to a replica), into which
    /// every table's version in force at `resume` is carried.
    /// Entries written go to `written`.
    pub(crate) fn connected(
        &self,
        server_id: u32,
        resume: Option<(&str, u64)>,
        written: &mut Entries,
    ) -> Result<u32, SourceError> {
        let known = *self.server.lock().unwrap_or_else(|p| p.into_inner());
        let generation = match known {
            Some(s) if s.server_id == server_id => return Ok(s.generation),
            Some(s) => {
                let old = resume.map(|(f, p)| (s.generation, f.to_string(), p));
                let new = (s.generation + 1, String::new(), 0);
                let tables: Vec<TableName> = self.lock().keys().cloned().collect();
                for table in tables {
                    let version = match &old {
                        Some(at) => self.at(&table, at),
                        None => self.lock().get(&table).and_then(|l| l.last()).map(|(_, v)| v.clone()),
                    };
                    if let Some(v) = version {
                        written.extend(self.record(&table, new.clone(), v)?);
                    }
                }
                tracing::info!(
                    from = s.server_id,
                    to = server_id,
                    "schema history: the source is another server now"
                );
                s.generation + 1
            }
            None => 0,
        };
        let record = Server { server_id, generation };
        let value = serde_json::to_vec(&record).map_err(|e| SourceError::SchemaHistory(e.to_string()))?;
        self.store.save_schema_entry(SERVER_KEY, &value).map_err(SourceError::SchemaHistory)?;
        written.push((SERVER_KEY.to_vec(), value));
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(record);
        Ok(generation)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<TableName, Vec<(At, Version)>>> {
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No version of any table yet: the baseline is still to take.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The table's version in force at `at`: the last one at or before it, else (a read before
    /// anything the history saw) the first one. `None` when the history has none.
    pub(crate) fn at(&self, table: &TableName, at: &At) -> Option<Version> {
        let versions = self.lock();
        let list = versions.get(table)?;
        let i = list.partition_point(|(p, _)| p <= at);
        Some(list[i.saturating_sub(1)].1.clone())
    }

    /// The tables of `database` that exist at `at`.
    pub(crate) fn tables_in(&self, database: &str, at: &At) -> Vec<TableName> {
        let names: Vec<TableName> = self.lock().keys().filter(|n| n.database == database).cloned().collect();
        names.into_iter().filter(|n| matches!(self.at(n, at), Some(Version::Table(_)))).collect()
    }

    /// Saves `version` as the table's from `at` on, unless that is already what holds there
    /// (a DDL that changes no column, as partition upkeep or an index, adds nothing). Returns
    /// the entry written (for the store to replicate), `None` when nothing changed.
    pub(crate) fn record(
        &self,
        table: &TableName,
        at: At,
        version: Version,
    ) -> Result<Option<Entry>, SourceError> {
        let in_force = self.lock().get(table).and_then(|l| {
            let i = l.partition_point(|(p, _)| *p <= at);
            i.checked_sub(1).map(|i| l[i].1 == version)
        });
        if in_force == Some(true) {
            return Ok(None);
        }
        let value = serde_json::to_vec(&version).map_err(|e| SourceError::SchemaHistory(e.to_string()))?;
        let key = encode_key(table, &at);
        self.store.save_schema_entry(&key, &value).map_err(SourceError::SchemaHistory)?;
        let mut versions = self.lock();
        let list = versions.entry(table.clone()).or_default();
        match list.binary_search_by(|(p, _)| p.cmp(&at)) {
            Ok(i) => list[i].1 = version,
            Err(i) => list.insert(i, (at, version)),
        }
        Ok(Some((key, value)))
    }
}

/// `database \0 table \0 generation(4 bytes) file \0 offset(8 bytes)`, numbers big-endian.
fn encode_key(table: &TableName, at: &At) -> Vec<u8> {
    let mut k = Vec::with_capacity(table.database.len() + table.table.len() + at.1.len() + 15);
    for part in [&table.database, &table.table] {
        k.extend_from_slice(part.as_bytes());
        k.push(0);
    }
    k.extend_from_slice(&at.0.to_be_bytes());
    k.extend_from_slice(at.1.as_bytes());
    k.push(0);
    k.extend_from_slice(&at.2.to_be_bytes());
    k
}

fn decode_key(k: &[u8]) -> Option<(TableName, At)> {
    let (head, offset) = k.split_at_checked(k.len().checked_sub(8)?)?;
    let mut parts = head.splitn(3, |b| *b == 0);
    let database = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let table = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let rest = parts.next()?;
    let (generation, file) = rest.split_at_checked(4)?;
    let file = String::from_utf8(file.strip_suffix(&[0])?.to_vec()).ok()?;
    let generation = u32::from_be_bytes(generation.try_into().ok()?);
    let offset = u64::from_be_bytes(offset.try_into().ok()?);
    Some((TableName::new(database, table), (generation, file, offset)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Default, Clone)]
    struct Memory(Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>);

    impl SchemaStore for Memory {
        fn schema_entries(&self) -> Result<Entries, String> {
            Ok(self.0.lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        fn save_schema_entry(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
            self.0.lock().unwrap().insert(key.to_vec(), value.to_vec());
            Ok(())
        }
    }

    fn def(columns: &[&str]) -> Version {
        Version::Table(TableDefinition {
            columns: columns
                .iter()
                .map(|n| super::super::catalog::ColumnDefinition::new(*n, "int", "int"))
                .collect(),
            primary_key: vec![],
            charset: None,
        })
    }

    fn at(file: &str, pos: u64) -> At {
        (0, file.to_string(), pos)
    }

    #[test]
    fn the_version_in_force_is_the_last_at_or_before_and_survives_a_reopen() {
        let store = Memory::default();
        let h = SchemaHistory::open(Box::new(store.clone())).unwrap();
        let t = TableName::new("shop", "t");
        assert!(h.is_empty());
        h.record(&t, at("b.000001", 300), def(&["a"])).unwrap();
        h.record(&t, at("b.000002", 120), def(&["a", "b"])).unwrap();
        h.record(&t, at("b.000001", 900), def(&["x"])).unwrap();
        h.record(&TableName::new("shop", "u"), at("b.000002", 4), Version::Dropped).unwrap();
        assert_eq!(
            h.record(&t, at("b.000009", 4), def(&["a", "b"])).unwrap(),
            None,
            "what is already in force is not written again"
        );
        let h = SchemaHistory::open(Box::new(store)).unwrap();
        assert_eq!(h.at(&t, &at("b.000001", 100)), Some(def(&["a"])), "before anything: the first");
        assert_eq!(h.at(&t, &at("b.000001", 300)), Some(def(&["a"])));
        assert_eq!(h.at(&t, &at("b.000001", 899)), Some(def(&["a"])));
        assert_eq!(h.at(&t, &at("b.000001", 900)), Some(def(&["x"])));
        assert_eq!(h.at(&t, &at("b.000002", 4)), Some(def(&["x"])));
        assert_eq!(h.at(&t, &at("b.000010", 4)), Some(def(&["a", "b"])));
        assert_eq!(h.at(&TableName::new("shop", "v"), &at("b.000001", 4)), None);
        assert_eq!(h.tables_in("shop", &at("b.000003", 4)), vec![t.clone()]);
    }

    #[test]
    fn another_server_starts_a_generation_from_the_versions_at_the_resume_point() {
        let store = Memory::default();
        let h = SchemaHistory::open(Box::new(store.clone())).unwrap();
        let t = TableName::new("shop", "t");
        let mut written = Vec::new();
        assert_eq!(h.connected(1, None, &mut written).unwrap(), 0);
        assert_eq!(written.len(), 1, "the server record");
        h.record(&t, at("b.000001", 300), def(&["a"])).unwrap();
        h.record(&t, at("b.000003", 100), def(&["a", "b"])).unwrap();
        assert_eq!(h.connected(1, Some(("b.000002", 4)), &mut written).unwrap(), 0, "the same server");
        // The replica's files are another sequence: its b.000001 is not the primary's.
        let h = SchemaHistory::open(Box::new(store.clone())).unwrap();
        let mut written = Vec::new();
        assert_eq!(h.connected(2, Some(("b.000002", 4)), &mut written).unwrap(), 1);
        assert_eq!(written.len(), 2, "the carried version and the server record");
        assert_eq!(h.at(&t, &(1, "b.000001".into(), 4)), Some(def(&["a"])));
        let h = SchemaHistory::open(Box::new(store)).unwrap();
        assert_eq!(h.connected(2, Some(("b.000001", 9)), &mut Vec::new()).unwrap(), 1, "remembered");
    }
}
