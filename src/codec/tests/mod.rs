//! Golden tests of the three formats. One table with a column of every kind, one row image
//! per case; every expected message is written by hand from FORMATS.md and compared as
//! parsed JSON (plus the raw text where order or digits matter).
//!
//! The rows: `A` is inserted; `A -> B` updates five columns; `B -> C` moves the primary key
//! (id 42 -> 43); `B` is deleted.

mod canal;
mod debezium;
mod default;

use super::{split_row, CodecContext, DdlTopic, Encoder, Message, ServerZone, SourceFlavor};
use crate::model::{
    Column, ColumnKind as K, DdlKind, DdlRecord, Op, RowImage, RowsBatch, TableName, TableSchema, Value,
};
use serde_json::Value as J;
use std::sync::Arc;

/// Build time the tests pass as `now_ms`.
const NOW_MS: u64 = 1_795_437_300_123;
/// 2026-11-23 12:34:56 UTC.
const TS: u32 = 1_795_437_296;
const POSITION: &str = "mysql-bin.000003:4096";
const GTID: &str = "0-1-1234";

fn ctx() -> CodecContext {
    CodecContext {
        project: "shop-sync".into(),
        store_id: "store-1".into(),
        flavor: SourceFlavor::MariaDb,
        server_zone: Arc::new(ServerZone::fixed(8 * 3600)),
        tombstones: true,
        truncate_events: false,
    }
}

/// `RENAME TABLE shop.orders TO shop.orders_old, shop.items TO shop.orders` with both synced.
fn rename_ddl() -> DdlRecord {
    DdlRecord {
        kind: DdlKind::RenameTable,
        database: "shop".into(),
        tables: vec![TableName::new("shop", "orders"), TableName::new("shop", "orders_old")],
        sql: "RENAME TABLE orders TO orders_old".into(),
        file: "mysql-bin.000003".into(),
        pos: 4096,
        ts: TS,
        server_id: 1,
        gtid: Some(GTID.into()),
    }
}

/// The DDL messages of `rename_ddl` with their destinations, values parsed.
fn ddl_messages(enc: &mut dyn Encoder) -> Vec<(DdlTopic, Option<J>, J)> {
    let mut out = Vec::new();
    enc.ddl(&rename_ddl(), 77, NOW_MS, &mut out);
    out.into_iter()
        .map(|(topic, m)| {
            assert_eq!(m.partition, Some(0), "DDL goes to partition 0");
            let header = m.headers.iter().find(|(k, _)| *k == "ferry.position").map(|(_, v)| v.clone());
            assert_eq!(header.as_deref(), Some(&b"mysql-bin.000003:4096:0"[..]));
            let key = m.key.map(|k| serde_json::from_slice(&k).unwrap());
            (topic, key, serde_json::from_slice(&m.value.unwrap()).unwrap())
        })
        .collect()
}

fn labels(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

fn schema() -> TableSchema {
    let sizes = labels(&["small", "medium", "large"]);
    let tags = labels(&["a", "b", "c", "d"]);
    let columns = vec![
        Column::new("id", K::Int),
        Column::new("region", K::VarChar { len: 16 }),
        Column::new("tiny_u", K::TinyInt).unsigned(),
        Column::new("small", K::SmallInt),
        Column::new("medium", K::MediumInt),
        Column::new("big", K::BigInt),
        Column::new("big_u", K::BigInt).unsigned(),
        Column::new("dec", K::Decimal { precision: 10, scale: 4 }),
        Column::new("dec_zero", K::Decimal { precision: 5, scale: 2 }),
        Column::new("dec_short", K::Decimal { precision: 8, scale: 3 }),
        Column::new("f", K::Float),
        Column::new("d", K::Double),
        Column::new("day", K::Date),
        Column::new("day_zero", K::Date),
        Column::new("t3", K::Time { fsp: 3 }),
        Column::new("t_min", K::Time { fsp: 0 }),
        Column::new("dt6", K::DateTime { fsp: 6 }),
        Column::new("dt0", K::DateTime { fsp: 0 }),
        Column::new("ts3", K::Timestamp { fsp: 3 }),
        Column::new("ts_zero", K::Timestamp { fsp: 0 }),
        Column::new("y0", K::Year),
        Column::new("y", K::Year),
        Column::new("name", K::Char { len: 8 }),
        Column::new("note", K::Text),
        Column::new("bin", K::Binary { len: 4 }),
        Column::new("vbin", K::VarBinary { len: 16 }),
        Column::new("blob", K::Blob),
        Column::new("size", K::Enum { labels: sizes.clone() }),
        Column::new("size_err", K::Enum { labels: sizes }),
        Column::new("tags", K::Set { labels: tags.clone() }),
        Column::new("tags_none", K::Set { labels: tags }),
        Column::new("flag", K::Bit { bits: 1 }),
        Column::new("bits", K::Bit { bits: 10 }),
        Column::new("doc", K::Json),
        Column::new("doc_bad", K::Json),
        Column::new("missing", K::VarChar { len: 8 }),
    ];
    TableSchema { name: TableName::new("shop", "orders"), columns, primary_key: vec![0, 1] }
}

fn row_a() -> Vec<Value> {
    vec![
        Value::Int(42),
        Value::Text("eu".into()),
        Value::UInt(255),
        Value::Int(-32768),
        Value::Int(8_388_607),
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Decimal("-12.3400".into()),
        Value::Decimal("0.00".into()),
        Value::Decimal("7.5".into()),
        Value::Float(1.1),
        Value::Double(-2.5e-7),
        Value::Date { year: 2026, month: 11, day: 23 },
        Value::Date { year: 0, month: 0, day: 0 },
        Value::Time { negative: true, hours: 1, minutes: 2, seconds: 3, micros: 450_000 },
        Value::Time { negative: true, hours: 838, minutes: 59, seconds: 59, micros: 0 },
        Value::DateTime { year: 2026, month: 11, day: 23, hour: 12, minute: 34, second: 56, micros: 123_456 },
        Value::DateTime { year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59, micros: 0 },
        Value::Timestamp { secs: i64::from(TS), micros: 120_000 },
        Value::Timestamp { secs: 0, micros: 0 },
        Value::Year(0),
        Value::Year(2026),
        Value::Text("hi 😀".into()),
        Value::Text("€ \"q\"\n".into()),
        Value::Bytes(vec![0x01, 0x00, 0xff, 0x00]),
        Value::Bytes(b"ab\x80".to_vec()),
        Value::Bytes(Vec::new()),
        Value::Enum(2),
        Value::Enum(0),
        Value::Set(0b1101),
        Value::Set(0),
        Value::Bit(1),
        Value::Bit(513),
        Value::Json(r#"{"a": [1, 2.5, null]}"#.into()),
        Value::Json("not json".into()),
        Value::Null,
    ]
}

/// `A` with `small`, `ts3`, `note`, `flag` and `missing` changed.
fn row_b() -> Vec<Value> {
    let mut row = row_a();
    row[3] = Value::Int(7);
    row[18] = Value::Timestamp { secs: i64::from(TS) + 1, micros: 120_000 };
    row[23] = Value::Text("plain".into());
    row[31] = Value::Bit(0);
    row[35] = Value::Text("now set".into());
    row
}

/// `B` under a new primary key.
fn row_c() -> Vec<Value> {
    let mut row = row_b();
    row[0] = Value::Int(43);
    row
}

fn batch(schema_id: u64, op: Op, rows: Vec<RowImage>) -> RowsBatch {
    RowsBatch {
        schema_id,
        op,
        rows,
        file: "mysql-bin.000003".into(),
        pos: 4096,
        ts: TS,
        server_id: 1,
        gtid: Some(GTID.into()),
        first_row_seq: 1000,
    }
}

fn inserted(row: Vec<Value>) -> RowImage {
    RowImage { before: None, after: Some(row) }
}

fn updated(before: Vec<Value>, after: Vec<Value>) -> RowImage {
    RowImage { before: Some(before), after: Some(after) }
}

fn deleted(row: Vec<Value>) -> RowImage {
    RowImage { before: Some(row), after: None }
}

/// Every message of every row of `batch`, in order, as the connector would produce them.
fn encode(enc: &mut dyn Encoder, schema: &TableSchema, batch: &RowsBatch, split: bool) -> Vec<Message> {
    let mut out = Vec::new();
    for (i, row) in batch.rows.iter().enumerate() {
        split_row(schema, batch, i, row, split, |change| enc.encode(&change, NOW_MS, &mut out));
    }
    out
}

/// A message's value, parsed (and checked to be UTF-8 JSON).
fn value_json(msg: &Message) -> J {
    let bytes = msg.value.as_deref().expect("a value, not a tombstone");
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}

fn parse(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad expected JSON ({e}): {text}"))
}

/// `base` (a JSON object's text) with some fields replaced by the given JSON texts.
fn with(base: &str, changes: &[(&str, &str)]) -> J {
    let mut v = parse(base);
    for (k, new) in changes {
        let map = v.as_object_mut().expect("an object");
        assert!(map.contains_key(*k), "no field {k}");
        map.insert(k.to_string(), parse(new));
    }
    v
}

/// Asserts `actual == expected`, naming every path that differs.
#[track_caller]
fn assert_json(actual: &J, expected: &J) {
    let mut diffs = Vec::new();
    diff("$", actual, expected, &mut diffs);
    assert!(diffs.is_empty(), "JSON differs:\n{}\nactual: {actual}", diffs.join("\n"));
}

fn diff(path: &str, a: &J, e: &J, out: &mut Vec<String>) {
    match (a, e) {
        (J::Object(a), J::Object(e)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff(&format!("{path}.{k}"), av, ev, out),
                    None => out.push(format!("{path}.{k}: missing, expected {ev}")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected {}", a[k]));
            }
        }
        (J::Array(a), J::Array(e)) if a.len() == e.len() => {
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                diff(&format!("{path}[{i}]"), av, ev, out);
            }
        }
        _ if a != e => out.push(format!("{path}: got {a}, expected {e}")),
        _ => {}
    }
}

fn header<'m>(msg: &'m Message, name: &str) -> Option<&'m str> {
    msg.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| std::str::from_utf8(v).unwrap())
}

fn header_names(msg: &Message) -> Vec<&'static str> {
    msg.headers.iter().map(|(n, _)| *n).collect()
}

/// Checks the key, key text and source headers every message carries.
#[track_caller]
fn assert_envelope(msg: &Message, key: Option<&str>, key_text: &str, row_index: usize) {
    assert_eq!(msg.key.as_deref().map(|k| std::str::from_utf8(k).unwrap()), key, "key");
    assert_eq!(msg.key_text, key_text, "key_text");
    assert_eq!(header(msg, "ferry.position"), Some(format!("{POSITION}:{row_index}").as_str()));
    assert_eq!(header(msg, "ferry.gtid"), Some(GTID));
}

/// The fields of a JSON object's text in the order written, each with its value's raw text.
/// The text must be valid JSON (parse it first).
fn object_fields(text: &str) -> Vec<(String, &str)> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    assert_eq!(b[i], b'{');
    i += 1;
    let mut fields = Vec::new();
    loop {
        i = skip_ws(b, i);
        if b[i] == b'}' {
            return fields;
        }
        let key_end = scan_value(b, i);
        let key: String = serde_json::from_str(&text[i..key_end]).unwrap();
        i = skip_ws(b, key_end);
        assert_eq!(b[i], b':');
        i = skip_ws(b, i + 1);
        let end = scan_value(b, i);
        fields.push((key, &text[i..end]));
        i = skip_ws(b, end);
        if b[i] == b',' {
            i += 1;
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End of the JSON value starting at `i`.
fn scan_value(b: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    loop {
        match b[j] {
            b'"' => {
                j += 1;
                while b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b',' | b':' if depth == 0 => return j,
            _ => {}
        }
        j += 1;
        if depth == 0 && (j == b.len() || matches!(b[j], b',' | b'}' | b']' | b':')) {
            return j;
        }
    }
}

fn field_names(text: &str) -> Vec<String> {
    object_fields(text).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn object_fields_reads_nested_text() {
    let text = r#"{"a":{"x":[1,"]}"]},"b":"q\"uote","c":-1.5e3,"d":null}"#;
    let fields = object_fields(text);
    let names: Vec<_> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(fields[0].1, r#"{"x":[1,"]}"]}"#);
    assert_eq!(fields[1].1, r#""q\"uote""#);
    assert_eq!(fields[2].1, "-1.5e3");
}

/// A two-column table without a primary key.
fn keyless_schema() -> TableSchema {
    TableSchema {
        name: TableName::new("shop", "log"),
        columns: vec![Column::new("msg", K::Text), Column::new("n", K::Int)],
        primary_key: vec![],
    }
}
