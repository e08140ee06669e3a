//! `canal` (flatMessage) golden messages.

use super::*;
use crate::codec::CanalEncoder;
use serde_json::json;

/// Row `A` as Canal writes it (server time zone +08:00).
const ROW_A: &str = r#"{
    "id": "42", "region": "eu", "tiny_u": "255", "small": "-32768", "medium": "8388607",
    "big": "-9223372036854775808", "big_u": "18446744073709551615",
    "dec": "-12.3400", "dec_zero": "0.00", "dec_short": "7.500", "f": "1.1", "d": "-2.5e-7",
    "day": "2026-11-23", "day_zero": "0000-00-00", "t3": "-01:02:03.450", "t_min": "-838:59:59",
    "dt6": "2026-11-23 12:34:56.123456", "dt0": "1969-12-31 23:59:59",
    "ts3": "2026-11-23 20:34:56.120", "ts_zero": "0000-00-00 00:00:00", "y0": "0000", "y": "2026",
    "name": "hi 😀", "note": "€ \"q\"\n", "bin": "\u0001\u0000\u00ff\u0000", "vbin": "ab\u0080",
    "blob": "", "size": "medium", "size_err": "", "tags": "a,c,d", "tags_none": "",
    "flag": "1", "bits": "513", "doc": "{\"a\": [1, 2.5, null]}", "doc_bad": "not json",
    "missing": null
}"#;

const B_CHANGES: [(&str, &str); 5] = [
    ("small", r#""7""#),
    ("ts3", r#""2026-11-23 20:34:57.120""#),
    ("note", r#""plain""#),
    ("flag", r#""0""#),
    ("missing", r#""now set""#),
];

/// `old` of the update `A -> B`: the five changed columns, before values, column order.
const OLD_A_B: &str = r#"[{"small": "-32768", "ts3": "2026-11-23 20:34:56.120", "note": "€ \"q\"\n",
    "flag": "1", "missing": null}]"#;

const MYSQL_TYPE: &str = r#"{
    "id": "int(11)", "region": "varchar(16)", "tiny_u": "tinyint(3) unsigned", "small": "smallint(6)",
    "medium": "mediumint(9)", "big": "bigint(20)", "big_u": "bigint(20) unsigned",
    "dec": "decimal(10,4)", "dec_zero": "decimal(5,2)", "dec_short": "decimal(8,3)",
    "f": "float", "d": "double", "day": "date", "day_zero": "date", "t3": "time(3)", "t_min": "time",
    "dt6": "datetime(6)", "dt0": "datetime", "ts3": "timestamp(3)", "ts_zero": "timestamp",
    "y0": "year(4)", "y": "year(4)", "name": "char(8)", "note": "text", "bin": "binary(4)",
    "vbin": "varbinary(16)", "blob": "blob",
    "size": "enum('small','medium','large')", "size_err": "enum('small','medium','large')",
    "tags": "set('a','b','c','d')", "tags_none": "set('a','b','c','d')",
    "flag": "bit(1)", "bits": "bit(10)", "doc": "json", "doc_bad": "json", "missing": "varchar(8)"
}"#;

/// java.sql.Types: TINYINT -6, SMALLINT 5, INTEGER 4, BIGINT -5, DECIMAL 3, REAL 7, DOUBLE 8,
/// DATE 91, TIME 92, TIMESTAMP 93, CHAR 1, VARCHAR 12, CLOB 2005, BLOB 2004, BIT -7.
const SQL_TYPE: &str = r#"{
    "id": 4, "region": 12, "tiny_u": 5, "small": 5, "medium": 4, "big": -5, "big_u": 3,
    "dec": 3, "dec_zero": 3, "dec_short": 3, "f": 7, "d": 8, "day": 91, "day_zero": 91,
    "t3": 92, "t_min": 92, "dt6": 93, "dt0": 93, "ts3": 93, "ts_zero": 93, "y0": 12, "y": 12,
    "name": 1, "note": 2005, "bin": 2004, "vbin": 2004, "blob": 2004,
    "size": 1, "size_err": 1, "tags": 1, "tags_none": 1, "flag": -7, "bits": -7,
    "doc": 12, "doc_bad": 12, "missing": 12
}"#;

/// Canal's field order: its serializer writes fields alphabetically.
const FIELD_ORDER: [&str; 13] = [
    "data",
    "database",
    "es",
    "id",
    "isDdl",
    "mysqlType",
    "old",
    "pkNames",
    "sql",
    "sqlType",
    "table",
    "ts",
    "type",
];

fn row_b_json() -> J {
    with(ROW_A, &B_CHANGES)
}

fn row_c_json() -> J {
    let mut v = row_b_json();
    v["id"] = json!("43");
    v
}

fn message(data: J, old: J, id: u64, kind: &str) -> J {
    json!({
        "data": [data],
        "database": "shop",
        "es": 1_795_437_296_000u64,
        "id": id,
        "isDdl": false,
        "mysqlType": parse(MYSQL_TYPE),
        "old": old,
        "pkNames": ["id", "region"],
        "sql": "",
        "sqlType": parse(SQL_TYPE),
        "table": "orders",
        "ts": NOW_MS,
        "type": kind
    })
}

fn encoder() -> CanalEncoder {
    CanalEncoder::new(ctx())
}

#[test]
fn insert() {
    let schema = schema();
    let batch = batch(1, Op::Insert, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), J::Null, 1000, "INSERT"));
    let text = std::str::from_utf8(msgs[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(field_names(text), FIELD_ORDER);
    // Column order inside the maps is the table's.
    let data = &object_fields(text)[0].1;
    let row = &data[1..data.len() - 1];
    let names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(field_names(row), names);
}

#[test]
fn update_has_only_the_changed_columns_in_old() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(row_b_json(), parse(OLD_A_B), 1000, "UPDATE"));
    let text = std::str::from_utf8(msgs[0].value.as_deref().unwrap()).unwrap();
    let old = object_fields(text)[6].1;
    assert_eq!(field_names(&old[1..old.len() - 1]), ["small", "ts3", "note", "flag", "missing"]);
}

#[test]
fn update_changing_nothing_has_null_old() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), J::Null, 1000, "UPDATE"));
}

#[test]
fn delete() {
    let schema = schema();
    let batch = batch(1, Op::Delete, vec![deleted(row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(row_b_json(), J::Null, 1000, "DELETE"));
}

#[test]
fn primary_key_change_is_delete_then_insert() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b()), updated(row_b(), row_c())]);
    let mut enc = encoder();
    let msgs = encode(&mut enc, &schema, &batch, true);
    assert_eq!(msgs.len(), 3);
    assert_json(&value_json(&msgs[0]), &message(row_b_json(), parse(OLD_A_B), 1000, "UPDATE"));
    assert_envelope(&msgs[1], Some("42\u{1}eu"), "42\u{1}eu", 1);
    assert_json(&value_json(&msgs[1]), &message(row_b_json(), J::Null, 1001, "DELETE"));
    assert_envelope(&msgs[2], Some("43\u{1}eu"), "43\u{1}eu", 1);
    assert_json(&value_json(&msgs[2]), &message(row_c_json(), J::Null, 1001, "INSERT"));
}

#[test]
fn table_without_primary_key_has_null_pk_names() {
    let schema = keyless_schema();
    let batch = batch(2, Op::Insert, vec![inserted(vec![Value::Text("x".into()), Value::Null])]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs[0].key, None);
    assert_eq!(msgs[0].key_text, "");
    let expected = json!({
        "data": [{"msg": "x", "n": null}], "database": "shop", "es": 1_795_437_296_000u64,
        "id": 1000, "isDdl": false, "mysqlType": {"msg": "text", "n": "int(11)"}, "old": null,
        "pkNames": null, "sql": "", "sqlType": {"msg": 2005, "n": 4}, "table": "log",
        "ts": NOW_MS, "type": "INSERT"
    });
    assert_json(&value_json(&msgs[0]), &expected);
}

#[test]
fn type_maps_follow_a_schema_change_under_a_reused_id() {
    // Same schema id, another table: the cached maps must not be reused.
    let mut enc = encoder();
    let keyless = keyless_schema();
    let b1 = batch(5, Op::Insert, vec![inserted(vec![Value::Text("x".into()), Value::Int(1)])]);
    encode(&mut enc, &keyless, &b1, true);
    let schema = schema();
    let b2 = batch(5, Op::Insert, vec![inserted(row_a())]);
    let msgs = encode(&mut enc, &schema, &b2, true);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), J::Null, 1000, "INSERT"));
}

#[test]
fn ddl_is_a_flat_message_with_is_ddl_and_sql() {
    let got = ddl_messages(&mut encoder());
    assert_eq!(got.len(), 2);
    let (topic, key, value) = &got[0];
    assert_eq!(*topic, DdlTopic::Table(TableName::new("shop", "orders")));
    assert_eq!(*key, None);
    assert_eq!(
        *value,
        json!({
            "data": null, "database": "shop", "es": u64::from(TS) * 1000, "id": 77, "isDdl": true,
            "mysqlType": null, "old": null, "pkNames": null, "sql": "RENAME TABLE orders TO orders_old",
            "sqlType": null, "table": "orders", "ts": NOW_MS, "type": "RENAME"
        })
    );
}

#[test]
fn a_row_a_full_sync_copied_is_an_insert() {
    let schema = schema();
    let batch = batch(1, Op::Read, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), J::Null, 1000, "INSERT"));
}
