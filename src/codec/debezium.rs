//! Debezium's MySQL/MariaDB change event envelope, JSON without an embedded schema.
//!
//! Invariants: envelope and `source` fields come in Debezium's order (FORMATS.md); the key is
//! `{pk columns in key order}` (none for a table without a primary key); a delete is followed
//! by a tombstone (same key and headers, no value) when the project keeps tombstones and the
//! table has a key to compact on; the halves of a split primary-key change carry
//! `__debezium.newkey` (delete and its tombstone) and `__debezium.oldkey` (create).

use super::{
    ddl_message, json, source_headers, values, CodecContext, DdlTopic, Encoder, Message, RowChange,
    SourceFlavor,
};
use crate::model::{DdlKind, DdlRecord, Op, TableSchema, Value};

pub struct DebeziumEncoder {
    ctx: CodecContext,
    /// `,"source":{"version":...,"connector":...,"name":...,"ts_ms":`: fixed for the
    /// connector's life.
    source_prefix: Vec<u8>,
    /// `source.connector`: `mariadb` or `mysql`.
    connector: &'static str,
    size_hint: usize,
}

impl DebeziumEncoder {
    pub fn new(ctx: CodecContext) -> Self {
        let connector = match ctx.flavor {
            SourceFlavor::MariaDb => "mariadb",
            SourceFlavor::MySql | SourceFlavor::OceanBase => "mysql",
        };
        let mut source_prefix = b",\"source\":{\"version\":".to_vec();
        json::string(&mut source_prefix, env!("CARGO_PKG_VERSION"));
        source_prefix.extend_from_slice(b",\"connector\":");
        json::string(&mut source_prefix, connector);
        source_prefix.extend_from_slice(b",\"name\":");
        json::string(&mut source_prefix, &ctx.project);
        source_prefix.extend_from_slice(b",\"ts_ms\":");
        Self { ctx, source_prefix, connector, size_hint: 512 }
    }

    fn envelope(&self, change: &RowChange<'_>, now_ms: u64) -> Vec<u8> {
        let schema = change.schema;
        let batch = change.batch;
        let (before, after, op) = match change.op {
            Op::Insert => (None, change.after, b'c'),
            Op::Read => (None, change.after, b'r'),
            Op::Update => (change.before, change.after, b'u'),
            Op::Delete => (change.before, None, b'd'),
        };
        let mut buf = Vec::with_capacity(self.size_hint);
        buf.extend_from_slice(b"{\"before\":");
        image(&mut buf, schema, before);
        buf.extend_from_slice(b",\"after\":");
        image(&mut buf, schema, after);

        let event_ms = u64::from(batch.ts) * 1000;
        buf.extend_from_slice(&self.source_prefix);
        json::u64(&mut buf, event_ms);
        buf.extend_from_slice(match change.op {
            Op::Read => b",\"snapshot\":\"true\",\"db\":",
            _ => b",\"snapshot\":\"false\",\"db\":",
        });
        json::string(&mut buf, &schema.name.database);
        buf.extend_from_slice(b",\"sequence\":null");
        instants_after_ms(&mut buf, event_ms);
        buf.extend_from_slice(b",\"table\":");
        json::string(&mut buf, &schema.name.table);
        buf.extend_from_slice(b",\"server_id\":");
        json::u64(&mut buf, u64::from(batch.server_id));
        buf.extend_from_slice(b",\"gtid\":");
        match &batch.gtid {
            Some(gtid) => json::string(&mut buf, gtid),
            None => json::null(&mut buf),
        }
        buf.extend_from_slice(b",\"file\":");
        json::string(&mut buf, &batch.file);
        buf.extend_from_slice(b",\"pos\":");
        json::u64(&mut buf, batch.pos);
        buf.extend_from_slice(b",\"row\":");
        json::u64(&mut buf, change.row_index as u64);
        buf.extend_from_slice(b",\"thread\":null,\"query\":null},\"transaction\":null,\"op\":\"");
        buf.push(op);
        buf.extend_from_slice(b"\",\"ts_ms\":");
        json::u64(&mut buf, now_ms);
        instants_after_ms(&mut buf, now_ms);
        buf.push(b'}');
        buf
    }
}

impl Encoder for DebeziumEncoder {
    fn encode(&mut self, change: &RowChange<'_>, now_ms: u64, out: &mut Vec<Message>) {
        let schema = change.schema;
        let has_key = schema.has_primary_key();
        let key_text = values::key_text(schema, change.key_image());
        let key = has_key.then(|| key_json(schema, change.key_image()));
        let value = self.envelope(change, now_ms);
        self.size_hint = value.len() + 64;

        let mut headers = source_headers(change);
        if let (Some(moved), true) = (change.key_moved, has_key) {
            match change.op {
                Op::Delete => headers.push(("__debezium.newkey", key_json(schema, moved))),
                Op::Insert => headers.push(("__debezium.oldkey", key_json(schema, moved))),
                Op::Update | Op::Read => {}
            }
        }

        if change.op == Op::Delete && self.ctx.tombstones && has_key {
            out.push(Message {
                key: key.clone(),
                value: Some(value),
                headers: headers.clone(),
                key_text: key_text.clone(),
                partition: None,
            });
            out.push(Message { key, value: None, headers, key_text, partition: None });
        } else {
            out.push(Message { key, value: Some(value), headers, key_text, partition: None });
        }
    }

    /// Debezium's heartbeat: key `{"serverName":<project>}`, value `{"ts_ms":<ms>}`.
    fn heartbeat(&mut self, ts: u32, _seq: u64) -> Option<Message> {
        let mut key = b"{\"serverName\":".to_vec();
        json::string(&mut key, &self.ctx.project);
        key.push(b'}');
        let mut value = b"{\"ts_ms\":".to_vec();
        json::u64(&mut value, u64::from(ts) * 1000);
        value.push(b'}');
        Some(Message { key: Some(key), value: Some(value), ..Default::default() })
    }

    /// A schema change event on `<project>.schema-changes`: key `{"databaseName"}`, value with
    /// `source`, `databaseName`, `ddl` and `tableChanges` (`type` and `id` of each table; its
    /// column structure is not written: `table` is null). With `truncate_events`, a TRUNCATE is
    /// also an `op: "t"` event (null key, before and after) on the table's topic.
    fn ddl(&mut self, ddl: &DdlRecord, _seq: u64, now_ms: u64, out: &mut Vec<(DdlTopic, Message)>) {
        let event_ms = u64::from(ddl.ts) * 1000;
        let database = ddl.tables.first().map_or(ddl.database.as_str(), |t| t.database.as_str());
        let change_type = match ddl.kind {
            DdlKind::CreateTable => Some("CREATE"),
            DdlKind::DropTable => Some("DROP"),
            DdlKind::AlterTable | DdlKind::RenameTable | DdlKind::CreateIndex | DdlKind::DropIndex => {
                Some("ALTER")
            }
            DdlKind::TruncateTable | DdlKind::Other => None,
        };
        let table_changes: Vec<serde_json::Value> = change_type
            .map(|kind| {
                ddl.tables
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "type": kind, "id": format!("\"{}\".\"{}\"", t.database, t.table), "table": null
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let source = |database: &str, table: &str| {
            serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"), "connector": self.connector, "name": self.ctx.project,
                "ts_ms": event_ms, "snapshot": "false", "db": database, "sequence": null,
                "ts_us": event_ms * 1000, "ts_ns": event_ms * 1_000_000, "table": table,
                "server_id": ddl.server_id, "gtid": ddl.gtid, "file": ddl.file, "pos": ddl.pos,
                "row": 0, "thread": null, "query": null,
            })
        };
        if ddl.kind == DdlKind::TruncateTable && self.ctx.truncate_events {
            for t in &ddl.tables {
                let value = serde_json::json!({
                    "before": null, "after": null, "source": source(&t.database, &t.table),
                    "transaction": null, "op": "t", "ts_ms": now_ms, "ts_us": now_ms * 1000,
                    "ts_ns": now_ms * 1_000_000,
                });
                out.push((DdlTopic::Table(t.clone()), ddl_message(ddl, None, value)));
            }
        }
        let tables: Vec<&str> = ddl.tables.iter().map(|t| t.table.as_str()).collect();
        let value = serde_json::json!({
            "source": source(database, &tables.join(",")),
            "ts_ms": now_ms,
            "databaseName": database,
            "schemaName": null,
            "ddl": ddl.sql,
            "tableChanges": table_changes,
        });
        let key = serde_json::to_vec(&serde_json::json!({"databaseName": database})).expect("JSON");
        out.push((DdlTopic::SchemaChanges, ddl_message(ddl, Some(key), value)));
    }
}

fn image(out: &mut Vec<u8>, schema: &TableSchema, image: Option<&[Value]>) {
    match image {
        Some(image) => values::object(out, &schema.columns, image, values::write_debezium),
        None => json::null(out),
    }
}

/// `{"pk1":v1,...}`: the primary key columns of `image` in key order, as Debezium writes them.
fn key_json(schema: &TableSchema, image: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.push(b'{');
    for &i in &schema.primary_key {
        let (Some(col), Some(v)) = (schema.columns.get(i), image.get(i)) else {
            continue;
        };
        if out.len() > 1 {
            out.push(b',');
        }
        json::field(&mut out, &col.name);
        values::write_debezium(&mut out, col, v);
    }
    out.push(b'}');
    out
}

/// `,"ts_us":...,"ts_ns":...` for an instant given in milliseconds.
fn instants_after_ms(out: &mut Vec<u8>, ms: u64) {
    out.extend_from_slice(b",\"ts_us\":");
    json::u64(out, ms.saturating_mul(1000));
    out.extend_from_slice(b",\"ts_ns\":");
    json::u64(out, ms.saturating_mul(1_000_000));
}
