//! Message encoders: one per format, all behind [`Encoder`]. Encoding is pure: no IO, no clock
//! (the caller passes `now_ms`), so every format has golden tests.
//!
//! The connector turns each row of a [`RowsBatch`] into [`RowChange`]s with [`split_row`] (an
//! UPDATE that changes the primary key becomes a DELETE plus an INSERT unless the project keeps
//! it whole), then asks the encoder for that change's messages.

mod canal;
mod debezium;
mod default;
mod json;
pub mod time;
mod values;
mod zone;

#[cfg(test)]
mod tests;

use crate::model::{DdlRecord, Op, RowImage, RowsBatch, TableName, TableSchema, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use canal::CanalEncoder;
pub use debezium::DebeziumEncoder;
pub use default::DefaultEncoder;
pub use zone::ServerZone;

/// The message layouts Ferry writes (see docs/FORMATS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Default,
    Canal,
    Debezium,
}

/// What kind of server the changes come from; decides `dbType` and Debezium's `connector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFlavor {
    MariaDb,
    MySql,
    OceanBase,
}

/// Everything an encoder may use besides the change itself. Fixed for a connector's life.
#[derive(Debug, Clone)]
pub struct CodecContext {
    /// The project's name (Debezium `source.name`).
    pub project: String,
    /// The store's id (OMS `source_identity`).
    pub store_id: String,
    pub flavor: SourceFlavor,
    /// The source server's time zone (Canal writes TIMESTAMP in server time).
    pub server_zone: Arc<ServerZone>,
    /// Debezium: write a tombstone after each delete.
    pub tombstones: bool,
    /// Debezium: write a TRUNCATE as an `op: "t"` event on the table's topic.
    pub truncate_events: bool,
}

/// One logical row change, ready to encode.
#[derive(Debug, Clone, Copy)]
pub struct RowChange<'a> {
    pub schema: &'a TableSchema,
    /// The binlog event the row came from (file, pos, ts, gtid, server id).
    pub batch: &'a RowsBatch,
    /// Index of the row inside its binlog event.
    pub row_index: usize,
    /// `storeDataSequence`: the row's sequence in the store.
    pub row_seq: u64,
    pub op: Op,
    pub before: Option<&'a [Value]>,
    pub after: Option<&'a [Value]>,
    /// Set when this change is one half of a primary-key-changing UPDATE that was split:
    /// for the DELETE half, the new row's values; for the INSERT half, the old row's values.
    pub key_moved: Option<&'a [Value]>,
}

impl RowChange<'_> {
    /// The row image whose primary key identifies this change (after for inserts and
    /// updates, before for deletes).
    pub fn key_image(&self) -> &[Value] {
        match self.op {
            Op::Delete => self.before.unwrap_or_default(),
            _ => self.after.or(self.before).unwrap_or_default(),
        }
    }
}

/// One message for the destination. `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// The primary key values in their Canal string form joined by `\u{1}` (empty for a table
    /// without a primary key): what the `hash` partition rule hashes.
    pub key_text: String,
    /// A partition of its own, whatever the partition rule (DDL goes to partition 0).
    pub partition: Option<u32>,
}

/// Where a DDL message goes.
#[derive(Debug, Clone, PartialEq)]
pub enum DdlTopic {
    /// The topic of this table's rows.
    Table(TableName),
    /// The project's schema change topic, `<project>.schema-changes` (Debezium).
    SchemaChanges,
}

pub trait Encoder: Send {
    /// Appends the messages for `change` to `out`, in the order they must be delivered.
    fn encode(&mut self, change: &RowChange<'_>, now_ms: u64, out: &mut Vec<Message>);

    /// The heartbeat message of an idle source alive at `ts` (unix seconds), `seq` its store
    /// sequence; `None` for formats without one (the sync timestamp still moves).
    fn heartbeat(&mut self, _ts: u32, _seq: u64) -> Option<Message> {
        None
    }

    /// Appends the messages of a DDL statement on synced tables, with where each goes; `seq`
    /// is its sequence in the store.
    fn ddl(&mut self, ddl: &DdlRecord, seq: u64, now_ms: u64, out: &mut Vec<(DdlTopic, Message)>);
}

/// A DDL message: partition 0, the source position in the headers.
fn ddl_message(ddl: &DdlRecord, key: Option<Vec<u8>>, value: serde_json::Value) -> Message {
    let mut headers = vec![("ferry.position", format!("{}:{}:0", ddl.file, ddl.pos).into_bytes())];
    if let Some(gtid) = &ddl.gtid {
        headers.push(("ferry.gtid", gtid.as_bytes().to_vec()));
    }
    Message {
        key,
        value: Some(serde_json::to_vec(&value).expect("JSON values serialize")),
        headers,
        key_text: String::new(),
        partition: Some(0),
    }
}

/// Builds the encoder for `format`.
pub fn encoder(format: Format, ctx: CodecContext) -> Box<dyn Encoder> {
    match format {
        Format::Default => Box::new(DefaultEncoder::new(ctx)),
        Format::Canal => Box::new(CanalEncoder::new(ctx)),
        Format::Debezium => Box::new(DebeziumEncoder::new(ctx)),
    }
}

/// Expands one row of a batch into the changes to encode. An UPDATE whose primary key changed
/// becomes DELETE(old) then INSERT(new) when `split_key_updates` is set.
pub fn split_row<'a>(
    schema: &'a TableSchema,
    batch: &'a RowsBatch,
    row_index: usize,
    row: &'a RowImage,
    split_key_updates: bool,
    mut emit: impl FnMut(RowChange<'a>),
) {
    let base = RowChange {
        schema,
        batch,
        row_index,
        row_seq: batch.first_row_seq + row_index as u64,
        op: batch.op,
        before: row.before.as_deref(),
        after: row.after.as_deref(),
        key_moved: None,
    };
    if let (Op::Update, true, Some(before), Some(after)) =
        (batch.op, split_key_updates, base.before, base.after)
    {
        let moved = schema.primary_key.iter().any(|&i| before[i] != after[i]);
        if moved {
            emit(RowChange { op: Op::Delete, after: None, key_moved: Some(after), ..base });
            emit(RowChange { op: Op::Insert, before: None, key_moved: Some(before), ..base });
            return;
        }
    }
    emit(base);
}

/// A message of the text-keyed formats (`default`, `canal`): the key is the primary key text,
/// none for a table without a primary key.
fn text_keyed(change: &RowChange<'_>, key_text: String, value: Vec<u8>) -> Message {
    Message {
        key: change.schema.has_primary_key().then(|| key_text.as_bytes().to_vec()),
        value: Some(value),
        headers: source_headers(change),
        key_text,
        partition: None,
    }
}

/// The `ferry.position` header value: `<file>:<event start>:<row index>`; for a copied row
/// (`Op::Read`), `<file>:<position read at>:<row sequence>`, unique in the store as the row
/// index of a binlog event is in its event.
pub fn position_header(change: &RowChange<'_>) -> Vec<u8> {
    let index = match change.batch.op {
        Op::Read => change.row_seq,
        _ => change.row_index as u64,
    };
    format!("{}:{}:{index}", change.batch.file, change.batch.pos).into_bytes()
}

/// The headers every message carries: `ferry.position`, and `ferry.gtid` when the
/// transaction has a GTID.
fn source_headers(change: &RowChange<'_>) -> Vec<(&'static str, Vec<u8>)> {
    let mut headers = Vec::with_capacity(3);
    headers.push(("ferry.position", position_header(change)));
    if let Some(gtid) = &change.batch.gtid {
        headers.push(("ferry.gtid", gtid.as_bytes().to_vec()));
    }
    headers
}
