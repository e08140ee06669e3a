//! The statements a database destination runs, and row values as statement parameters. Pure:
//! no IO, so every statement has a test.

use crate::codec::time::Civil;
use crate::model::{Column, ColumnKind, TableName, TableSchema, Value};
use mysql_async::Value as Param;

/// The most rows one statement carries, and the most placeholders (the protocol's limit is
/// 65,535).
pub const MAX_ROWS: usize = 256;
const MAX_PLACEHOLDERS: usize = 60_000;

pub use crate::source::mysql::statement::{ident, table};

/// The column type a created table gets: the source's, with TEXT and BLOB widened to their
/// LONG forms (the schema does not say which size the source has) and TIMESTAMP explicitly
/// nullable (no automatic initialisation).
pub fn column_type(col: &Column) -> String {
    match &col.kind {
        ColumnKind::Text => "longtext".into(),
        ColumnKind::Blob => "longblob".into(),
        ColumnKind::Timestamp { .. } => format!("{} NULL", col.sql_type()),
        _ => col.sql_type(),
    }
}

/// `CREATE TABLE IF NOT EXISTS` for the target of `schema` (already routed): its columns, the
/// primary key, utf8mb4.
pub fn create_table(schema: &TableSchema) -> String {
    let mut parts: Vec<String> = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let null = if schema.primary_key.contains(&i) { " NOT NULL" } else { "" };
            format!("{} {}{null}", ident(&c.name), column_type(c))
        })
        .collect();
    let key: Vec<String> = schema.primary_key_names().map(ident).collect();
    parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n) DEFAULT CHARSET=utf8mb4",
        table(&schema.name),
        parts.join(",\n  ")
    )
}

/// `ALTER TABLE ... ADD COLUMN` for a column the target lacks.
pub fn add_column(name: &TableName, col: &Column) -> String {
    format!("ALTER TABLE {} ADD COLUMN {} {}", table(name), ident(&col.name), column_type(col))
}

/// Rows per statement for a table of `columns` columns.
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_PLACEHOLDERS / columns.max(1)).clamp(1, MAX_ROWS)
}

/// How `n` rows split into statements: the largest power of two up to `max` first, so a
/// table needs at most a handful of distinct (prepared) statement texts.
pub fn chunks(mut n: usize, max: usize) -> Vec<usize> {
    let top = if max.is_power_of_two() { max } else { max.next_power_of_two() / 2 };
    let mut out = Vec::new();
    let mut size = top;
    while n > 0 {
        while size > n {
            size /= 2;
        }
        out.push(size);
        n -= size;
    }
    out
}

/// `INSERT ... ON DUPLICATE KEY UPDATE` of `rows` full rows: an insert, or an update that
/// sets every column, whatever the target holds (replaying it changes nothing).
pub fn upsert(schema: &TableSchema, rows: usize) -> String {
    let columns: Vec<String> = schema.columns.iter().map(|c| ident(&c.name)).collect();
    let one = format!("({})", vec!["?"; columns.len()].join(","));
    let values = vec![one.as_str(); rows].join(",");
    let mut set: Vec<String> = schema
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !schema.primary_key.contains(i))
        .map(|(_, c)| format!("{0}=VALUES({0})", ident(&c.name)))
        .collect();
    if set.is_empty() {
        // Every column is in the key: a duplicate is the same row.
        let first = &columns[schema.primary_key[0]];
        set.push(format!("{first}={first}"));
    }
    format!(
        "INSERT INTO {} ({}) VALUES {} ON DUPLICATE KEY UPDATE {}",
        table(&schema.name),
        columns.join(","),
        values,
        set.join(",")
    )
}

/// `DELETE` of `rows` rows by primary key.
pub fn delete(schema: &TableSchema, rows: usize) -> String {
    let key: Vec<String> = schema.primary_key_names().map(ident).collect();
    let (columns, one) = match key.len() {
        1 => (key[0].clone(), "?".to_string()),
        n => (format!("({})", key.join(",")), format!("({})", vec!["?"; n].join(","))),
    };
    format!(
        "DELETE FROM {} WHERE {} IN ({})",
        table(&schema.name),
        columns,
        vec![one.as_str(); rows].join(",")
    )
}

/// A decoded value as a statement parameter for a column of the same type. The session runs
/// in UTC, so TIMESTAMPs go as their UTC date and time.
pub fn param(col: &Column, v: &Value) -> Param {
    match v {
        Value::Null => Param::NULL,
        Value::Int(i) => Param::Int(*i),
        Value::UInt(u) | Value::Bit(u) => Param::UInt(*u),
        Value::Float(f) => Param::Float(*f),
        Value::Double(d) => Param::Double(*d),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => Param::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => Param::Bytes(b.clone()),
        Value::Date { year, month, day } => Param::Date(*year, *month, *day, 0, 0, 0, 0),
        Value::DateTime { year, month, day, hour, minute, second, micros } => {
            Param::Date(*year, *month, *day, *hour, *minute, *second, *micros)
        }
        Value::Timestamp { secs: 0, micros: 0 } => Param::Date(0, 0, 0, 0, 0, 0, 0),
        Value::Timestamp { secs, micros } => {
            let c = Civil::from_unix(*secs);
            Param::Date(
                c.year as u16,
                c.month as u8,
                c.day as u8,
                c.hour as u8,
                c.minute as u8,
                c.second as u8,
                *micros,
            )
        }
        Value::Time { negative, hours, minutes, seconds, micros } => {
            Param::Time(*negative, u32::from(*hours / 24), (*hours % 24) as u8, *minutes, *seconds, *micros)
        }
        Value::Year(y) => Param::UInt(u64::from(*y)),
        Value::Enum(i) => match &col.kind {
            ColumnKind::Enum { labels } => Param::Bytes(
                labels.get(usize::from(*i).wrapping_sub(1)).map_or(Vec::new(), |l| l.as_bytes().to_vec()),
            ),
            _ => Param::UInt(u64::from(*i)),
        },
        Value::Set(bits) => match &col.kind {
            ColumnKind::Set { labels } => {
                let names: Vec<&str> = labels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && bits & (1 << i) != 0)
                    .map(|(_, l)| l.as_str())
                    .collect();
                Param::Bytes(names.join(",").into_bytes())
            }
            _ => Param::UInt(*bits),
        },
    }
}
