//! `debezium` golden messages.

use super::*;
use crate::codec::DebeziumEncoder;
use serde_json::json;

/// Row `A` as Debezium writes it (decimal.handling.mode=string).
const ROW_A: &str = r#"{
    "id": 42, "region": "eu", "tiny_u": 255, "small": -32768, "medium": 8388607,
    "big": -9223372036854775808, "big_u": 18446744073709551615,
    "dec": "-12.3400", "dec_zero": "0.00", "dec_short": "7.500", "f": 1.1, "d": -2.5e-7,
    "day": 20780, "day_zero": null, "t3": -3723450000, "t_min": -3020399000000,
    "dt6": 1795437296123456, "dt0": -1000,
    "ts3": "2026-11-23T12:34:56.120Z", "ts_zero": null, "y0": 0, "y": 2026,
    "name": "hi 😀", "note": "€ \"q\"\n", "bin": "AQD/AA==", "vbin": "YWKA", "blob": "",
    "size": "medium", "size_err": "", "tags": "a,c,d", "tags_none": "", "flag": true, "bits": "AQI=",
    "doc": "{\"a\": [1, 2.5, null]}", "doc_bad": "not json", "missing": null
}"#;

const B_CHANGES: [(&str, &str); 5] = [
    ("small", "7"),
    ("ts3", r#""2026-11-23T12:34:57.120Z""#),
    ("note", r#""plain""#),
    ("flag", "false"),
    ("missing", r#""now set""#),
];

const ENVELOPE_ORDER: [&str; 8] =
    ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"];
const SOURCE_ORDER: [&str; 17] = [
    "version",
    "connector",
    "name",
    "ts_ms",
    "snapshot",
    "db",
    "sequence",
    "ts_us",
    "ts_ns",
    "table",
    "server_id",
    "gtid",
    "file",
    "pos",
    "row",
    "thread",
    "query",
];

fn row_b_json() -> J {
    with(ROW_A, &B_CHANGES)
}

fn row_c_json() -> J {
    let mut v = row_b_json();
    v["id"] = json!(43);
    v
}

fn message(before: J, after: J, op: &str, row: u64) -> J {
    json!({
        "before": before,
        "after": after,
        "source": {
            "version": env!("CARGO_PKG_VERSION"),
            "connector": "mariadb",
            "name": "shop-sync",
            "ts_ms": 1_795_437_296_000u64,
            "snapshot": "false",
            "db": "shop",
            "sequence": null,
            "ts_us": 1_795_437_296_000_000u64,
            "ts_ns": 1_795_437_296_000_000_000u64,
            "table": "orders",
            "server_id": 1,
            "gtid": "0-1-1234",
            "file": "mysql-bin.000003",
            "pos": 4096,
            "row": row,
            "thread": null,
            "query": null
        },
        "transaction": null,
        "op": op,
        "ts_ms": 1_795_437_300_123u64,
        "ts_us": 1_795_437_300_123_000u64,
        "ts_ns": 1_795_437_300_123_000_000u64
    })
}

const KEY_42: &str = r#"{"id":42,"region":"eu"}"#;
const KEY_43: &str = r#"{"id":43,"region":"eu"}"#;

fn encoder() -> DebeziumEncoder {
    DebeziumEncoder::new(ctx())
}

#[track_caller]
fn assert_order(msg: &Message) {
    let text = std::str::from_utf8(msg.value.as_deref().unwrap()).unwrap();
    let fields = object_fields(text);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ENVELOPE_ORDER);
    assert_eq!(field_names(fields[2].1), SOURCE_ORDER);
}

#[track_caller]
fn assert_tombstone(msg: &Message, key: &str, key_text: &str, row_index: usize) {
    assert_eq!(msg.value, None);
    assert_envelope(msg, Some(key), key_text, row_index);
}

#[test]
fn insert() {
    let schema = schema();
    let batch = batch(1, Op::Insert, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some(KEY_42), "42\u{1}eu", 0);
    assert_eq!(header_names(&msgs[0]), ["ferry.position", "ferry.gtid"]);
    assert_json(&value_json(&msgs[0]), &message(J::Null, parse(ROW_A), "c", 0));
    assert_order(&msgs[0]);
    let text = std::str::from_utf8(msgs[0].value.as_deref().unwrap()).unwrap();
    assert!(text.contains(r#""big_u":18446744073709551615,"#), "{text}");
    assert!(text.contains(r#""f":1.1,"#), "{text}");
}

#[test]
fn update() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some(KEY_42), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), row_b_json(), "u", 0));
    assert_order(&msgs[0]);
}

#[test]
fn delete_is_followed_by_a_tombstone() {
    let schema = schema();
    let batch = batch(1, Op::Delete, vec![deleted(row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 2);
    assert_envelope(&msgs[0], Some(KEY_42), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(row_b_json(), J::Null, "d", 0));
    assert_order(&msgs[0]);
    assert_tombstone(&msgs[1], KEY_42, "42\u{1}eu", 0);
}

#[test]
fn no_tombstone_when_the_project_turns_them_off() {
    let schema = schema();
    let batch = batch(1, Op::Delete, vec![deleted(row_b())]);
    let mut enc = DebeziumEncoder::new(CodecContext { tombstones: false, ..ctx() });
    let msgs = encode(&mut enc, &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].value.is_some());
}

#[test]
fn primary_key_change_is_delete_tombstone_create_with_key_headers() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b()), updated(row_b(), row_c())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 4);

    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), row_b_json(), "u", 0));
    assert_eq!(header_names(&msgs[0]), ["ferry.position", "ferry.gtid"]);

    assert_envelope(&msgs[1], Some(KEY_42), "42\u{1}eu", 1);
    assert_json(&value_json(&msgs[1]), &message(row_b_json(), J::Null, "d", 1));
    assert_order(&msgs[1]);
    assert_eq!(header(&msgs[1], "__debezium.newkey"), Some(KEY_43));
    assert_eq!(header(&msgs[1], "__debezium.oldkey"), None);

    assert_tombstone(&msgs[2], KEY_42, "42\u{1}eu", 1);
    assert_eq!(header(&msgs[2], "__debezium.newkey"), Some(KEY_43));

    assert_envelope(&msgs[3], Some(KEY_43), "43\u{1}eu", 1);
    assert_json(&value_json(&msgs[3]), &message(J::Null, row_c_json(), "c", 1));
    assert_eq!(header(&msgs[3], "__debezium.oldkey"), Some(KEY_42));
    assert_eq!(header(&msgs[3], "__debezium.newkey"), None);
}

#[test]
fn table_without_primary_key_has_null_key_and_no_tombstone() {
    let schema = keyless_schema();
    let batch = batch(2, Op::Delete, vec![deleted(vec![Value::Text("x".into()), Value::Int(1)])]);
    let mut enc = DebeziumEncoder::new(CodecContext { flavor: SourceFlavor::MySql, ..ctx() });
    let msgs = encode(&mut enc, &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].key, None);
    assert_eq!(msgs[0].key_text, "");
    let v = value_json(&msgs[0]);
    assert_eq!(v["before"], json!({"msg": "x", "n": 1}));
    assert_eq!(v["source"]["connector"], "mysql");
    assert_eq!(v["source"]["table"], "log");
}

#[test]
fn source_gtid_is_null_without_one() {
    let schema = schema();
    let mut batch = batch(1, Op::Insert, vec![inserted(row_a())]);
    batch.gtid = None;
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(header_names(&msgs[0]), ["ferry.position"]);
    assert_eq!(value_json(&msgs[0])["source"]["gtid"], J::Null);
}

#[test]
fn heartbeats_are_debeziums() {
    let m = encoder().heartbeat(1_795_437_296, 9).expect("a heartbeat message");
    assert_eq!(m.key.as_deref(), Some(&br#"{"serverName":"shop-sync"}"#[..]));
    assert_eq!(m.value.as_deref(), Some(&br#"{"ts_ms":1795437296000}"#[..]));
}

#[test]
fn ddl_is_one_schema_change_event() {
    let got = ddl_messages(&mut encoder());
    assert_eq!(got.len(), 1);
    let (topic, key, value) = &got[0];
    assert_eq!(*topic, DdlTopic::SchemaChanges);
    assert_eq!(*key, Some(json!({"databaseName": "shop"})));
    let ms = u64::from(TS) * 1000;
    assert_eq!(
        *value,
        json!({
            "source": {
                "version": env!("CARGO_PKG_VERSION"), "connector": "mariadb", "name": "shop-sync",
                "ts_ms": ms, "snapshot": "false", "db": "shop", "sequence": null, "ts_us": ms * 1000,
                "ts_ns": ms * 1_000_000, "table": "orders,orders_old", "server_id": 1, "gtid": GTID,
                "file": "mysql-bin.000003", "pos": 4096, "row": 0, "thread": null, "query": null
            },
            "ts_ms": NOW_MS, "databaseName": "shop", "schemaName": null,
            "ddl": "RENAME TABLE orders TO orders_old",
            "tableChanges": [
                {"type": "ALTER", "id": "\"shop\".\"orders\"", "table": null},
                {"type": "ALTER", "id": "\"shop\".\"orders_old\"", "table": null}
            ]
        })
    );
}

#[test]
fn truncate_is_an_op_t_event_only_when_asked() {
    let mut ddl = rename_ddl();
    ddl.kind = DdlKind::TruncateTable;
    ddl.tables.truncate(1);
    ddl.sql = "TRUNCATE TABLE orders".into();
    let mut out = Vec::new();
    encoder().ddl(&ddl, 5, NOW_MS, &mut out);
    assert_eq!(out.len(), 1, "by default only the schema change event");
    assert_eq!(out[0].0, DdlTopic::SchemaChanges);
    let mut asked = DebeziumEncoder::new(CodecContext { truncate_events: true, ..ctx() });
    out.clear();
    asked.ddl(&ddl, 5, NOW_MS, &mut out);
    assert_eq!(out.len(), 2);
    let (topic, m) = &out[0];
    assert_eq!(*topic, DdlTopic::Table(TableName::new("shop", "orders")));
    assert_eq!(m.key, None);
    let v: J = serde_json::from_slice(m.value.as_ref().unwrap()).unwrap();
    assert_eq!((v["op"].as_str(), &v["before"], &v["after"]), (Some("t"), &J::Null, &J::Null));
    assert_eq!(v["source"]["table"], "orders");
    assert_eq!(v["ts_ms"], NOW_MS);
    let change: J = serde_json::from_slice(out[1].1.value.as_ref().unwrap()).unwrap();
    assert_eq!(change["tableChanges"], json!([]), "a TRUNCATE changes no table's structure");
}

#[test]
fn a_row_a_full_sync_copied_is_a_read_from_the_snapshot() {
    let schema = schema();
    let batch = batch(1, Op::Read, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1, "no tombstone, no key headers");
    // A copied row's position ends in its row sequence (1000), unique in the store.
    assert_envelope(&msgs[0], Some(KEY_42), "42\u{1}eu", 1000);
    let mut expected = message(J::Null, parse(ROW_A), "r", 0);
    expected["source"]["snapshot"] = json!("true");
    assert_json(&value_json(&msgs[0]), &expected);
    assert_order(&msgs[0]);
}
