//! The OMS `default` format: one JSON object per row change,
//! `{"prevStruct", "postStruct", "allMetaData", "recordType"}` (FORMATS.md).
//!
//! Invariants: one message per change; `prevStruct` only for UPDATE/DELETE and `postStruct`
//! only for INSERT/UPDATE, whatever images the change carries; the message key is the
//! `record_primary_value` text (none for a table without a primary key).

use super::{
    ddl_message, json, text_keyed, values, CodecContext, DdlTopic, Encoder, Message, RowChange, SourceFlavor,
};
use crate::model::{DdlKind, DdlRecord, Op, TableSchema, Value};

pub struct DefaultEncoder {
    ctx: CodecContext,
    db_type: &'static str,
    /// Size of the last message: the next buffer starts at about that capacity.
    size_hint: usize,
}

impl DefaultEncoder {
    pub fn new(ctx: CodecContext) -> Self {
        let db_type = match ctx.flavor {
            SourceFlavor::OceanBase => "OB_MYSQL",
            SourceFlavor::MariaDb | SourceFlavor::MySql => "MYSQL",
        };
        Self { ctx, db_type, size_hint: 512 }
    }

    fn image(out: &mut Vec<u8>, schema: &TableSchema, image: Option<&[Value]>) {
        match image {
            Some(image) => values::object(out, &schema.columns, image, values::write_default),
            None => json::null(out),
        }
    }
}

impl Encoder for DefaultEncoder {
    fn encode(&mut self, change: &RowChange<'_>, _now_ms: u64, out: &mut Vec<Message>) {
        let schema = change.schema;
        let batch = change.batch;
        let key_text = values::key_text(schema, change.key_image());
        let (prev, post) = match change.op {
            Op::Insert | Op::Read => (None, change.after),
            Op::Update => (change.before, change.after),
            Op::Delete => (change.before, None),
        };

        let mut buf = Vec::with_capacity(self.size_hint);
        buf.extend_from_slice(b"{\"prevStruct\":");
        Self::image(&mut buf, schema, prev);
        buf.extend_from_slice(b",\"postStruct\":");
        Self::image(&mut buf, schema, post);

        buf.extend_from_slice(b",\"allMetaData\":{\"checkpoint\":\"");
        json::u64(&mut buf, u64::from(batch.ts));
        buf.extend_from_slice(b"\",\"record_primary_key\":\"");
        for (n, name) in schema.primary_key_names().enumerate() {
            if n > 0 {
                buf.extend_from_slice(b"\\u0001");
            }
            json::string_contents(&mut buf, name);
        }
        buf.extend_from_slice(b"\",\"record_primary_value\":");
        json::string(&mut buf, &key_text);
        buf.extend_from_slice(b",\"source_identity\":");
        json::string(&mut buf, &self.ctx.store_id);
        buf.extend_from_slice(b",\"dbType\":\"");
        buf.extend_from_slice(self.db_type.as_bytes());
        buf.extend_from_slice(b"\",\"storeDataSequence\":");
        json::u64(&mut buf, change.row_seq);
        buf.extend_from_slice(b",\"db\":");
        json::string(&mut buf, &schema.name.database);
        buf.extend_from_slice(b",\"table_name\":");
        json::string(&mut buf, &schema.name.table);
        buf.extend_from_slice(b",\"timestamp\":\"");
        json::u64(&mut buf, u64::from(batch.ts));
        let trans_id = batch.gtid.as_deref().unwrap_or("");
        buf.extend_from_slice(b"\",\"uniqueId\":");
        json::string(&mut buf, trans_id);
        buf.extend_from_slice(b",\"transId\":");
        json::string(&mut buf, trans_id);
        buf.extend_from_slice(b"},\"recordType\":\"");
        buf.extend_from_slice(match change.op {
            Op::Read => b"ROW",
            op => op.as_str().as_bytes(),
        });
        buf.extend_from_slice(b"\"}");
        self.size_hint = buf.len() + 64;
        out.push(text_keyed(change, key_text, buf));
    }

    fn heartbeat(&mut self, ts: u32, seq: u64) -> Option<Message> {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"{\"prevStruct\":null,\"postStruct\":null,\"allMetaData\":{\"checkpoint\":\"");
        json::u64(&mut buf, u64::from(ts));
        buf.extend_from_slice(b"\",\"source_identity\":");
        json::string(&mut buf, &self.ctx.store_id);
        buf.extend_from_slice(b",\"dbType\":\"");
        buf.extend_from_slice(self.db_type.as_bytes());
        buf.extend_from_slice(b"\",\"storeDataSequence\":");
        json::u64(&mut buf, seq);
        buf.extend_from_slice(b",\"timestamp\":\"");
        json::u64(&mut buf, u64::from(ts));
        buf.extend_from_slice(b"\"},\"recordType\":\"HEARTBEAT\"}");
        Some(Message { key: None, value: Some(buf), ..Default::default() })
    }

    /// One DDL record per table, on the table's topic: `postStruct.ddl` holds the statement.
    fn ddl(&mut self, ddl: &DdlRecord, seq: u64, _now_ms: u64, out: &mut Vec<(DdlTopic, Message)>) {
        let (ts, trans_id) = (ddl.ts.to_string(), ddl.gtid.clone().unwrap_or_default());
        for table in &ddl.tables {
            let value = serde_json::json!({
                "prevStruct": null,
                "postStruct": {"ddl": ddl.sql},
                "allMetaData": {
                    "checkpoint": ts, "record_primary_key": "", "record_primary_value": "",
                    "source_identity": self.ctx.store_id, "dbType": self.db_type,
                    "storeDataSequence": seq, "db": table.database, "table_name": table.table,
                    "timestamp": ts, "uniqueId": trans_id, "transId": trans_id,
                    "ddlType": oms_ddl_type(ddl.kind),
                },
                "recordType": "DDL",
            });
            out.push((DdlTopic::Table(table.clone()), ddl_message(ddl, None, value)));
        }
    }
}

/// The OMS `ddlType` of a DDL.
fn oms_ddl_type(kind: DdlKind) -> &'static str {
    match kind {
        DdlKind::CreateTable => "CREATE_TABLE",
        DdlKind::AlterTable => "ALTER_TABLE",
        DdlKind::DropTable => "DROP_TABLE",
        DdlKind::RenameTable => "RENAME_TABLE",
        DdlKind::TruncateTable => "TRUNCATE_TABLE",
        DdlKind::CreateIndex => "CREATE_INDEX",
        DdlKind::DropIndex => "DROP_INDEX",
        DdlKind::Other => "OTHER",
    }
}
