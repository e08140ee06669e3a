//! Canal's flatMessage: one message per row change, `data` holding that one row.
//!
//! Fields come in the order Canal's own JSON serializer writes them (alphabetical), and a
//! field Canal leaves unset is written as `null` as Canal's Kafka producer does: `old` outside
//! UPDATE (and for an UPDATE that changed no column), `pkNames` for a table without a primary
//! key. Every value is a string in Canal's form (see `values::write_canal`).
//!
//! Invariant: `sqlType` and `mysqlType` depend on the schema only, so they are rendered once
//! per schema and cached by `schema_id`, checked against the table name and column count.

use super::{
    ddl_message, json, text_keyed, values, CodecContext, DdlTopic, Encoder, Message, RowChange, ServerZone,
};
use crate::model::{Column, ColumnKind, DdlKind, DdlRecord, Op, TableName, TableSchema};
use std::collections::HashMap;

/// Schemas whose type maps are kept; past this the cache starts over.
const MAX_CACHED_SCHEMAS: usize = 4096;

pub struct CanalEncoder {
    ctx: CodecContext,
    types: HashMap<u64, TypeMaps>,
    size_hint: usize,
}

/// `,"mysqlType":{...}` and `,"sqlType":{...}` of one schema.
struct TypeMaps {
    table: TableName,
    columns: usize,
    mysql_type: Vec<u8>,
    sql_type: Vec<u8>,
}

impl TypeMaps {
    fn new(schema: &TableSchema) -> Self {
        let mut mysql_type = b",\"mysqlType\":{".to_vec();
        let mut sql_type = b",\"sqlType\":{".to_vec();
        for (n, col) in schema.columns.iter().enumerate() {
            if n > 0 {
                mysql_type.push(b',');
                sql_type.push(b',');
            }
            json::field(&mut mysql_type, &col.name);
            json::string(&mut mysql_type, &col.sql_type());
            json::field(&mut sql_type, &col.name);
            json::i64(&mut sql_type, i64::from(java_sql_type(col)));
        }
        mysql_type.push(b'}');
        sql_type.push(b'}');
        Self { table: schema.name.clone(), columns: schema.columns.len(), mysql_type, sql_type }
    }

    fn fits(&self, schema: &TableSchema) -> bool {
        self.columns == schema.columns.len() && self.table == schema.name
    }
}

impl CanalEncoder {
    pub fn new(ctx: CodecContext) -> Self {
        Self { ctx, types: HashMap::new(), size_hint: 512 }
    }

    /// Takes the cache alone, so an encode may hold other fields (the zone) meanwhile.
    fn type_maps<'a>(
        types: &'a mut HashMap<u64, TypeMaps>,
        schema_id: u64,
        schema: &TableSchema,
    ) -> &'a TypeMaps {
        let fresh = types.get(&schema_id).is_some_and(|t| t.fits(schema));
        if !fresh {
            if types.len() >= MAX_CACHED_SCHEMAS {
                types.clear();
            }
            types.insert(schema_id, TypeMaps::new(schema));
        }
        &types[&schema_id]
    }
}

impl Encoder for CanalEncoder {
    fn encode(&mut self, change: &RowChange<'_>, now_ms: u64, out: &mut Vec<Message>) {
        let schema = change.schema;
        let batch = change.batch;
        let zone = &*self.ctx.server_zone;
        let key_text = values::key_text(schema, change.key_image());
        let data = match change.op {
            Op::Delete => change.before,
            Op::Insert | Op::Update | Op::Read => change.after,
        };
        let write = |out: &mut Vec<u8>, col: &Column, v: &_| values::write_canal(out, col, v, zone);

        let mut buf = Vec::with_capacity(self.size_hint);
        buf.extend_from_slice(b"{\"data\":");
        match data {
            Some(row) => {
                buf.push(b'[');
                values::object(&mut buf, &schema.columns, row, write);
                buf.push(b']');
            }
            None => json::null(&mut buf),
        }
        buf.extend_from_slice(b",\"database\":");
        json::string(&mut buf, &schema.name.database);
        buf.extend_from_slice(b",\"es\":");
        json::u64(&mut buf, u64::from(batch.ts) * 1000);
        buf.extend_from_slice(b",\"id\":");
        json::u64(&mut buf, change.row_seq);
        buf.extend_from_slice(b",\"isDdl\":false");
        let types = Self::type_maps(&mut self.types, batch.schema_id, schema);
        buf.extend_from_slice(&types.mysql_type);

        buf.extend_from_slice(b",\"old\":");
        write_old(&mut buf, change, zone);
        buf.extend_from_slice(b",\"pkNames\":");
        if schema.has_primary_key() {
            buf.push(b'[');
            for (n, name) in schema.primary_key_names().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                json::string(&mut buf, name);
            }
            buf.push(b']');
        } else {
            json::null(&mut buf);
        }
        buf.extend_from_slice(b",\"sql\":\"\"");
        buf.extend_from_slice(&types.sql_type);
        buf.extend_from_slice(b",\"table\":");
        json::string(&mut buf, &schema.name.table);
        buf.extend_from_slice(b",\"ts\":");
        json::u64(&mut buf, now_ms);
        buf.extend_from_slice(b",\"type\":\"");
        buf.extend_from_slice(change.op.as_str().as_bytes());
        buf.extend_from_slice(b"\"}");
        self.size_hint = buf.len() + 64;
        out.push(text_keyed(change, key_text, buf));
    }

    /// One flatMessage per table with `isDdl: true`, `type` in Canal's words and `sql`.
    fn ddl(&mut self, ddl: &DdlRecord, seq: u64, now_ms: u64, out: &mut Vec<(DdlTopic, Message)>) {
        let kind = match ddl.kind {
            DdlKind::CreateTable => "CREATE",
            DdlKind::AlterTable => "ALTER",
            DdlKind::DropTable => "ERASE",
            DdlKind::RenameTable => "RENAME",
            DdlKind::TruncateTable => "TRUNCATE",
            DdlKind::CreateIndex => "CINDEX",
            DdlKind::DropIndex => "DINDEX",
            DdlKind::Other => "QUERY",
        };
        for table in &ddl.tables {
            let value = serde_json::json!({
                "data": null, "database": table.database, "es": u64::from(ddl.ts) * 1000, "id": seq,
                "isDdl": true, "mysqlType": null, "old": null, "pkNames": null, "sql": ddl.sql,
                "sqlType": null, "table": table.table, "ts": now_ms, "type": kind,
            });
            out.push((DdlTopic::Table(table.clone()), ddl_message(ddl, None, value)));
        }
    }
}

/// `[{col: old value}]` with only the columns an UPDATE changed; `null` otherwise.
fn write_old(buf: &mut Vec<u8>, change: &RowChange<'_>, zone: &ServerZone) {
    let (Op::Update, Some(before), Some(after)) = (change.op, change.before, change.after) else {
        json::null(buf);
        return;
    };
    let start = buf.len();
    buf.extend_from_slice(b"[{");
    let mut any = false;
    for ((col, old), new) in change.schema.columns.iter().zip(before).zip(after) {
        if old != new {
            if any {
                buf.push(b',');
            }
            any = true;
            json::field(buf, &col.name);
            values::write_canal(buf, col, old, zone);
        }
    }
    if any {
        buf.extend_from_slice(b"}]");
    } else {
        buf.truncate(start);
        json::null(buf);
    }
}

/// The `java.sql.Types` code Canal reports for a column. Canal widens an unsigned integer's
/// code only for values past the signed range; here the widened code is the column's, so a
/// column keeps one type whatever its values.
fn java_sql_type(col: &Column) -> i32 {
    const BIT: i32 = -7;
    const TINYINT: i32 = -6;
    const BIGINT: i32 = -5;
    const CHAR: i32 = 1;
    const DECIMAL: i32 = 3;
    const INTEGER: i32 = 4;
    const SMALLINT: i32 = 5;
    const REAL: i32 = 7;
    const DOUBLE: i32 = 8;
    const VARCHAR: i32 = 12;
    const DATE: i32 = 91;
    const TIME: i32 = 92;
    const TIMESTAMP: i32 = 93;
    const BLOB: i32 = 2004;
    const CLOB: i32 = 2005;
    let unsigned = col.unsigned;
    match &col.kind {
        ColumnKind::TinyInt if unsigned => SMALLINT,
        ColumnKind::TinyInt => TINYINT,
        ColumnKind::SmallInt if unsigned => INTEGER,
        ColumnKind::SmallInt => SMALLINT,
        ColumnKind::MediumInt => INTEGER,
        ColumnKind::Int if unsigned => BIGINT,
        ColumnKind::Int => INTEGER,
        ColumnKind::BigInt if unsigned => DECIMAL,
        ColumnKind::BigInt => BIGINT,
        ColumnKind::Decimal { .. } => DECIMAL,
        ColumnKind::Float => REAL,
        ColumnKind::Double => DOUBLE,
        ColumnKind::Date => DATE,
        ColumnKind::Time { .. } => TIME,
        ColumnKind::DateTime { .. } | ColumnKind::Timestamp { .. } => TIMESTAMP,
        // Canal carries YEAR as text ("0000" for year 0).
        ColumnKind::Year => VARCHAR,
        ColumnKind::Char { .. } => CHAR,
        ColumnKind::VarChar { .. } | ColumnKind::Json => VARCHAR,
        ColumnKind::Text => CLOB,
        ColumnKind::Binary { .. } | ColumnKind::VarBinary { .. } | ColumnKind::Blob => BLOB,
        // Canal's raw codes are INTEGER and BIT (it writes the index and bits); Ferry writes
        // the labels, so it reports what JDBC reports for them.
        ColumnKind::Enum { .. } | ColumnKind::Set { .. } => CHAR,
        ColumnKind::Bit { .. } => BIT,
        ColumnKind::Other { .. } => BLOB,
    }
}
