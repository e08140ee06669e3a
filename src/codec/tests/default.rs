//! `default` (OMS) golden messages.

use super::*;
use crate::codec::DefaultEncoder;
use serde_json::json;

/// Row `A` as `default` writes it.
const ROW_A: &str = r#"{
    "id": 42, "region": "eu", "tiny_u": 255, "small": -32768, "medium": 8388607,
    "big": -9223372036854775808, "big_u": 18446744073709551615,
    "dec": "-12.3400", "dec_zero": "0.00", "dec_short": "7.500", "f": 1.1, "d": -2.5e-7,
    "day": "2026-11-23", "day_zero": null, "t3": "-01:02:03.450", "t_min": "-838:59:59",
    "dt6": "2026-11-23T12:34:56.123456", "dt0": "1969-12-31T23:59:59",
    "ts3": "2026-11-23T12:34:56.120Z", "ts_zero": null, "y0": 0, "y": 2026,
    "name": "hi 😀", "note": "€ \"q\"\n", "bin": "AQD/AA==", "vbin": "YWKA", "blob": "",
    "size": "medium", "size_err": "", "tags": "a,c,d", "tags_none": "", "flag": 1, "bits": 513,
    "doc": {"a": [1, 2.5, null]}, "doc_bad": "not json", "missing": null
}"#;

const B_CHANGES: [(&str, &str); 5] = [
    ("small", "7"),
    ("ts3", r#""2026-11-23T12:34:57.120Z""#),
    ("note", r#""plain""#),
    ("flag", "0"),
    ("missing", r#""now set""#),
];

fn row_b_json() -> J {
    with(ROW_A, &B_CHANGES)
}

fn row_c_json() -> J {
    let mut v = row_b_json();
    v["id"] = json!(43);
    v
}

fn message(prev: J, post: J, pk_value: &str, seq: u64, record_type: &str) -> J {
    json!({
        "prevStruct": prev,
        "postStruct": post,
        "allMetaData": {
            "checkpoint": "1795437296",
            "record_primary_key": "id\u{1}region",
            "record_primary_value": pk_value,
            "source_identity": "store-1",
            "dbType": "MYSQL",
            "storeDataSequence": seq,
            "db": "shop",
            "table_name": "orders",
            "timestamp": "1795437296",
            "uniqueId": "0-1-1234",
            "transId": "0-1-1234"
        },
        "recordType": record_type
    })
}

fn encoder() -> DefaultEncoder {
    DefaultEncoder::new(ctx())
}

#[test]
fn insert() {
    let schema = schema();
    let batch = batch(1, Op::Insert, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 0);
    assert_eq!(header_names(&msgs[0]), ["ferry.position", "ferry.gtid"]);
    assert_json(&value_json(&msgs[0]), &message(J::Null, parse(ROW_A), "42\u{1}eu", 1000, "INSERT"));

    let text = std::str::from_utf8(msgs[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(field_names(text), ["prevStruct", "postStruct", "allMetaData", "recordType"]);
    // Digits that a float or a signed 64-bit detour would lose.
    assert!(text.contains(r#""f":1.1,"#), "{text}");
    assert!(text.contains(r#""big_u":18446744073709551615,"#), "{text}");
    // Valid JSON is embedded as written.
    assert!(text.contains(r#""doc":{"a": [1, 2.5, null]},"#), "{text}");
    let meta = &object_fields(text)[2].1;
    let expected_meta = [
        "checkpoint",
        "record_primary_key",
        "record_primary_value",
        "source_identity",
        "dbType",
        "storeDataSequence",
        "db",
        "table_name",
        "timestamp",
        "uniqueId",
        "transId",
    ];
    assert_eq!(field_names(meta), expected_meta);
}

#[test]
fn update() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), row_b_json(), "42\u{1}eu", 1000, "UPDATE"));
}

#[test]
fn delete() {
    let schema = schema();
    let batch = batch(1, Op::Delete, vec![deleted(row_a()), deleted(row_b())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 2, "no tombstones in this format");
    assert_envelope(&msgs[1], Some("42\u{1}eu"), "42\u{1}eu", 1);
    assert_json(&value_json(&msgs[1]), &message(row_b_json(), J::Null, "42\u{1}eu", 1001, "DELETE"));
}

#[test]
fn primary_key_change_is_delete_then_insert() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_a(), row_b()), updated(row_b(), row_c())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 3);
    assert_json(&value_json(&msgs[0]), &message(parse(ROW_A), row_b_json(), "42\u{1}eu", 1000, "UPDATE"));
    assert_envelope(&msgs[1], Some("42\u{1}eu"), "42\u{1}eu", 1);
    assert_json(&value_json(&msgs[1]), &message(row_b_json(), J::Null, "42\u{1}eu", 1001, "DELETE"));
    assert_envelope(&msgs[2], Some("43\u{1}eu"), "43\u{1}eu", 1);
    assert_json(&value_json(&msgs[2]), &message(J::Null, row_c_json(), "43\u{1}eu", 1001, "INSERT"));
    // Only Debezium names the other key.
    assert_eq!(header_names(&msgs[1]), ["ferry.position", "ferry.gtid"]);
    assert_eq!(header_names(&msgs[2]), ["ferry.position", "ferry.gtid"]);
}

#[test]
fn unsplit_primary_key_change_is_one_update_under_the_new_key() {
    let schema = schema();
    let batch = batch(1, Op::Update, vec![updated(row_b(), row_c())]);
    let msgs = encode(&mut encoder(), &schema, &batch, false);
    assert_eq!(msgs.len(), 1);
    assert_envelope(&msgs[0], Some("43\u{1}eu"), "43\u{1}eu", 0);
    assert_json(&value_json(&msgs[0]), &message(row_b_json(), row_c_json(), "43\u{1}eu", 1000, "UPDATE"));
}

#[test]
fn table_without_primary_key_has_no_key() {
    let schema = keyless_schema();
    let mut batch = batch(2, Op::Insert, vec![inserted(vec![Value::Text("x".into()), Value::Int(1)])]);
    batch.gtid = None;
    let mut enc = DefaultEncoder::new(CodecContext { flavor: SourceFlavor::OceanBase, ..ctx() });
    let msgs = encode(&mut enc, &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].key, None);
    assert_eq!(msgs[0].key_text, "");
    assert_eq!(header_names(&msgs[0]), ["ferry.position"]);
    let expected = json!({
        "prevStruct": null,
        "postStruct": {"msg": "x", "n": 1},
        "allMetaData": {
            "checkpoint": "1795437296", "record_primary_key": "", "record_primary_value": "",
            "source_identity": "store-1", "dbType": "OB_MYSQL", "storeDataSequence": 1000,
            "db": "shop", "table_name": "log", "timestamp": "1795437296",
            "uniqueId": "", "transId": ""
        },
        "recordType": "INSERT"
    });
    assert_json(&value_json(&msgs[0]), &expected);
}

#[test]
fn heartbeats_are_heartbeat_records() {
    let m = encoder().heartbeat(1_795_437_296, 9).expect("a heartbeat message");
    assert_eq!(m.key, None);
    let v: J = serde_json::from_slice(m.value.as_ref().unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"prevStruct": null, "postStruct": null, "recordType": "HEARTBEAT",
            "allMetaData": {"checkpoint": "1795437296", "source_identity": "store-1", "dbType": "MYSQL",
                            "storeDataSequence": 9, "timestamp": "1795437296"}})
    );
}

#[test]
fn ddl_is_a_ddl_record_per_table_with_the_statement() {
    let got = ddl_messages(&mut encoder());
    assert_eq!(got.len(), 2);
    let (topic, key, value) = &got[1];
    assert_eq!(*topic, DdlTopic::Table(TableName::new("shop", "orders_old")));
    assert_eq!(*key, None);
    assert_eq!(
        *value,
        json!({
            "prevStruct": null, "postStruct": {"ddl": "RENAME TABLE orders TO orders_old"},
            "allMetaData": {
                "checkpoint": TS.to_string(), "record_primary_key": "", "record_primary_value": "",
                "source_identity": "store-1", "dbType": "MYSQL", "storeDataSequence": 77,
                "db": "shop", "table_name": "orders_old", "timestamp": TS.to_string(),
                "uniqueId": GTID, "transId": GTID, "ddlType": "RENAME_TABLE"
            },
            "recordType": "DDL"
        })
    );
}

#[test]
fn a_row_a_full_sync_copied_is_a_row_record() {
    let schema = schema();
    let batch = batch(1, Op::Read, vec![inserted(row_a())]);
    let msgs = encode(&mut encoder(), &schema, &batch, true);
    assert_eq!(msgs.len(), 1);
    // A copied row's position ends in its row sequence (1000), unique in the store.
    assert_envelope(&msgs[0], Some("42\u{1}eu"), "42\u{1}eu", 1000);
    assert_json(&value_json(&msgs[0]), &message(J::Null, parse(ROW_A), "42\u{1}eu", 1000, "ROW"));
}
