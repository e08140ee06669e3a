use super::batch::{self, Batch, REQUEST_MAX};
use super::client::{parse_fields, record_schema, Field, FieldType, Shard};
use super::tuple::{self, Layout, Slot};
use super::{names, shards, sign};
use crate::meta::Partition;
use crate::model::{Column, ColumnKind, Op, TableName, TableSchema, Value};
use std::time::{Duration, UNIX_EPOCH};

/// Computed with pydatahub 2.29's own signing code (`datahub.auth.AliyunAccount`):
/// `sign_request` of a `requests` POST (then GET) to
/// `http://127.0.0.1:1/projects/ferry_proj/topics/shop_orders/shards` with headers
/// `x-datahub-client-version: 1.1`, `Content-Type: application/json`,
/// `Date: Mon, 23 Nov 2026 12:34:56 GMT`, `User-Agent: ferry`, access id `ferry-test-id`,
/// key `ferry-test-secret-key`. Its canonical string for the POST was printed by
/// `AliyunAccount._build_canonical_str`.
#[test]
fn signatures_match_pydatahub() {
    let date = "Mon, 23 Nov 2026 12:34:56 GMT";
    let path = "/projects/ferry_proj/topics/shop_orders/shards";
    let headers = [("x-datahub-client-version", "1.1")];
    let post = sign::canonical("POST", "application/json", date, &headers, path, &[]);
    assert_eq!(
        post,
        "POST\napplication/json\nMon, 23 Nov 2026 12:34:56 GMT\nx-datahub-client-version:1.1\n/projects/ferry_proj/topics/shop_orders/shards"
    );
    assert_eq!(
        sign::authorization("ferry-test-id", "ferry-test-secret-key", &post),
        "DATAHUB ferry-test-id:4gZDdDf+GzyqGIsfGFs+g1K3TSI="
    );
    let get = sign::canonical("GET", "application/json", date, &headers, path, &[]);
    assert_eq!(
        sign::authorization("ferry-test-id", "ferry-test-secret-key", &get),
        "DATAHUB ferry-test-id:27B6IJAzrUrc27wTWcv/i4U9PJc="
    );
}

#[test]
fn canonical_strings_sort_datahub_headers_and_the_query() {
    let s = sign::canonical(
        "GET",
        "application/json",
        "D",
        &[("X-Datahub-Security-Token", "t"), ("x-datahub-client-version", "1.1"), ("User-Agent", "u")],
        "/projects/p",
        &[("mode", "id"), ("donetime", "")],
    );
    assert_eq!(s, "GET\napplication/json\nD\nx-datahub-client-version:1.1\nx-datahub-security-token:t\n/projects/p?donetime&mode=id");
}

#[test]
fn dates_are_rfc_822_gmt() {
    let at = UNIX_EPOCH + Duration::from_secs(1_795_437_296);
    assert_eq!(sign::http_date(at), "Mon, 23 Nov 2026 12:34:56 GMT");
}

#[test]
fn topic_names_take_only_letters_digits_and_underscores() {
    assert_eq!(names::topic("shop.orders").unwrap(), "shop_orders");
    assert_eq!(names::topic("shop-eu.orders$2026").unwrap(), "shop_eu_orders_2026");
    assert_eq!(names::topic("2026.orders").unwrap(), "t_2026_orders");
    assert_eq!(names::topic("_x.y").unwrap(), "t__x_y");
    assert_eq!(names::topic("ab").unwrap(), "ab_");
    assert_eq!(names::topic("é.t").unwrap(), "t___t", "a non-ASCII letter is no letter to DataHub");
    assert_eq!(names::topic(&"a".repeat(128)).unwrap().len(), 128);
    assert!(names::topic(&"a".repeat(129)).is_err());
    assert_eq!(names::field("order id").unwrap(), "order_id");
    assert_eq!(names::field("1st").unwrap(), "_1st");
    assert_eq!(names::field("Name").unwrap(), "Name");
    assert!(names::same("Shop_Orders", "shop_orders"));
}

fn col(kind: ColumnKind) -> Column {
    Column::new("c", kind)
}

#[test]
fn columns_map_to_field_types() {
    use ColumnKind as K;
    use FieldType as F;
    let cases = [
        (col(K::TinyInt), F::Tinyint),
        (col(K::TinyInt).unsigned(), F::Smallint),
        (col(K::SmallInt), F::Smallint),
        (col(K::Year), F::Smallint),
        (col(K::SmallInt).unsigned(), F::Integer),
        (col(K::MediumInt).unsigned(), F::Integer),
        (col(K::Int), F::Integer),
        (col(K::Int).unsigned(), F::Bigint),
        (col(K::BigInt), F::Bigint),
        (col(K::BigInt).unsigned(), F::Decimal),
        (col(K::Decimal { precision: 65, scale: 30 }), F::Decimal),
        (col(K::Float), F::Float),
        (col(K::Double), F::Double),
        (col(K::DateTime { fsp: 6 }), F::Timestamp),
        (col(K::Timestamp { fsp: 0 }), F::Timestamp),
        (col(K::Date), F::String),
        (col(K::Time { fsp: 3 }), F::String),
        (col(K::Bit { bits: 1 }), F::Boolean),
        (col(K::Bit { bits: 63 }), F::Bigint),
        (col(K::Bit { bits: 64 }), F::Decimal),
        (col(K::VarChar { len: 10 }), F::String),
        (col(K::Blob), F::String),
        (col(K::Enum { labels: vec![] }), F::String),
        (col(K::Json), F::String),
    ];
    for (column, want) in cases {
        assert_eq!(tuple::field_type(&column), want, "{}", column.sql_type());
    }
}

/// The text a field of type `ty` gets for `v` (None: null); Err when it does not fit.
fn text(kind: ColumnKind, v: Value, ty: FieldType) -> Result<Option<String>, String> {
    let mut out = String::new();
    tuple::value_text(&mut out, &col(kind), &v, ty).map(|present| present.then_some(out))
}

fn ok(kind: ColumnKind, v: Value, ty: FieldType) -> Option<String> {
    text(kind, v, ty).unwrap()
}

#[test]
fn values_are_written_as_their_field_types_hold_them() {
    use ColumnKind as K;
    use FieldType as F;
    assert_eq!(ok(K::BigInt, Value::UInt(u64::MAX), F::Decimal).as_deref(), Some("18446744073709551615"));
    assert_eq!(
        ok(K::Decimal { precision: 10, scale: 4 }, Value::Decimal("-12.34".into()), F::Decimal).as_deref(),
        Some("-12.3400")
    );
    assert_eq!(ok(K::Float, Value::Float(1.1), F::Float).as_deref(), Some("1.1"));
    assert_eq!(ok(K::Double, Value::Double(f64::NAN), F::Double).as_deref(), Some("NaN"));
    assert_eq!(ok(K::Double, Value::Double(-0.5), F::Double).as_deref(), Some("-0.5"));
    assert_eq!(ok(K::TinyInt, Value::Int(-128), F::Tinyint).as_deref(), Some("-128"));
    assert_eq!(ok(K::Year, Value::Year(0), F::Smallint).as_deref(), Some("0"));
    assert_eq!(ok(K::Bit { bits: 1 }, Value::Bit(1), F::Boolean).as_deref(), Some("true"));
    assert_eq!(ok(K::Bit { bits: 1 }, Value::Bit(0), F::Boolean).as_deref(), Some("false"));
    assert_eq!(
        ok(K::Bit { bits: 64 }, Value::Bit(u64::MAX), F::Decimal).as_deref(),
        Some("18446744073709551615")
    );
    let dt =
        Value::DateTime { year: 2026, month: 11, day: 23, hour: 12, minute: 34, second: 56, micros: 120_000 };
    assert_eq!(ok(K::DateTime { fsp: 3 }, dt.clone(), F::Timestamp).as_deref(), Some("1795437296120000"));
    assert_eq!(ok(K::DateTime { fsp: 3 }, dt, F::String).as_deref(), Some("2026-11-23T12:34:56.120"));
    let ts = Value::Timestamp { secs: 1, micros: 5 };
    assert_eq!(ok(K::Timestamp { fsp: 6 }, ts.clone(), F::Timestamp).as_deref(), Some("1000005"));
    assert_eq!(ok(K::Timestamp { fsp: 6 }, ts, F::String).as_deref(), Some("1970-01-01T00:00:01.000005Z"));
    assert_eq!(ok(K::Timestamp { fsp: 0 }, Value::Timestamp { secs: 0, micros: 0 }, F::Timestamp), None);
    let zero = Value::DateTime { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, micros: 0 };
    assert_eq!(ok(K::DateTime { fsp: 0 }, zero, F::Timestamp), None, "zero dates are null");
    assert_eq!(ok(K::Date, Value::Date { year: 2026, month: 11, day: 0 }, F::String), None);
    assert_eq!(
        ok(K::Date, Value::Date { year: 2026, month: 11, day: 23 }, F::String).as_deref(),
        Some("2026-11-23")
    );
    let t = Value::Time { negative: true, hours: 838, minutes: 59, seconds: 59, micros: 0 };
    assert_eq!(ok(K::Time { fsp: 0 }, t, F::String).as_deref(), Some("-838:59:59"));
    assert_eq!(ok(K::Blob, Value::Bytes(vec![0, 255]), F::String).as_deref(), Some("AP8="));
    let labels = vec!["x".to_string(), "y".to_string()];
    assert_eq!(ok(K::Enum { labels: labels.clone() }, Value::Enum(2), F::String).as_deref(), Some("y"));
    assert_eq!(ok(K::Set { labels }, Value::Set(0b11), F::String).as_deref(), Some("x,y"));
    assert_eq!(ok(K::Json, Value::Json("{\"a\": [1]}".into()), F::String).as_deref(), Some("{\"a\": [1]}"));
    assert_eq!(ok(K::Int, Value::Null, F::Integer), None);
}

#[test]
fn values_that_do_not_fit_their_field_are_refused() {
    use ColumnKind as K;
    use FieldType as F;
    assert!(text(K::Int, Value::Int(128), F::Tinyint).unwrap_err().contains("out of range"));
    assert!(text(K::BigInt, Value::UInt(u64::MAX), F::Bigint).is_err());
    assert!(text(K::VarChar { len: 3 }, Value::Text("abc".into()), F::Bigint)
        .unwrap_err()
        .contains("no integer"));
    assert!(text(K::Int, Value::Int(2), F::Boolean).is_err());
    assert!(text(
        K::Time { fsp: 0 },
        Value::Time { negative: false, hours: 1, minutes: 0, seconds: 0, micros: 0 },
        F::Timestamp
    )
    .is_err());
}

fn orders() -> TableSchema {
    TableSchema {
        name: TableName::new("shop", "orders"),
        columns: vec![
            Column::new("id", ColumnKind::BigInt),
            Column::new("note-text", ColumnKind::VarChar { len: 20 }),
            Column::new("at", ColumnKind::DateTime { fsp: 0 }),
        ],
        primary_key: vec![0],
    }
}

#[test]
fn tuple_records_start_with_ferrys_fields() {
    let schema = orders();
    let fields = tuple::fields(&schema).unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["ferry_op", "ferry_ts", "id", "note_text", "at"]);
    let layout = Layout::new(&fields, &schema).unwrap();
    let image = [
        Value::Int(7),
        Value::Text("a \"quoted\"\n".into()),
        Value::DateTime { year: 1970, month: 1, day: 2, hour: 0, minute: 0, second: 0, micros: 0 },
    ];
    let mut data = Vec::new();
    let bytes = tuple::write_data(&mut data, &layout, &schema, Op::Update, 60, &image).unwrap();
    assert_eq!(
        String::from_utf8(data).unwrap(),
        r#"["update","60000000","7","a \"quoted\"\n","86400000000"]"#
    );
    assert_eq!(bytes, "update".len() + "60000000".len() + 1 + 11 + "86400000000".len());
    assert_eq!(tuple::key_text(&schema, &image), "7");
}

#[test]
fn a_topic_is_written_as_it_is() {
    let schema = orders();
    // An older topic: the columns in another order, one the table no longer has, one in
    // other case, `at` as a STRING.
    let fields = vec![
        Field::new("ID", FieldType::Bigint),
        Field::new("gone", FieldType::String),
        Field::new("at", FieldType::String),
        Field::new("ferry_op", FieldType::String),
    ];
    let layout = Layout::new(&fields, &schema).unwrap();
    assert_eq!(layout.slots, [Slot::Column(0), Slot::Null, Slot::Column(2), Slot::Op]);
    let image = [
        Value::Int(1),
        Value::Null,
        Value::DateTime { year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, micros: 0 },
    ];
    let mut data = Vec::new();
    tuple::write_data(&mut data, &layout, &schema, Op::Delete, 0, &image).unwrap();
    assert_eq!(String::from_utf8(data).unwrap(), r#"["1",null,"2026-01-02T03:04:05","delete"]"#);
    let mut strict = fields.clone();
    strict[1].notnull = true;
    assert!(Layout::new(&strict, &schema).unwrap_err().contains("gone"));
}

#[test]
fn colliding_column_names_are_refused() {
    let mut schema = orders();
    schema.columns.push(Column::new("note_text", ColumnKind::Text));
    assert!(tuple::fields(&schema).unwrap_err().contains("note_text"));
    let mut schema = orders();
    schema.columns.push(Column::new("FERRY_OP", ColumnKind::Text));
    assert!(tuple::fields(&schema).unwrap_err().contains("Ferry's field"));
}

#[test]
fn record_schemas_round_trip() {
    let mut fields = tuple::fields(&orders()).unwrap();
    fields[2].notnull = true;
    let json = record_schema(&fields);
    assert_eq!(json["fields"][0], serde_json::json!({"name": "ferry_op", "type": "string", "comment": ""}));
    assert_eq!(json["fields"][2]["notnull"], true);
    assert_eq!(parse_fields(&json).unwrap(), fields);
    let upper = serde_json::json!({"fields": [{"name": "a", "type": "BIGINT"}]});
    assert_eq!(parse_fields(&upper).unwrap(), [Field::new("a", FieldType::Bigint)]);
}

#[test]
fn records_carry_shard_data_and_attributes() {
    let json =
        batch::record("3", &batch::blob_data(b"hi"), &[("ferry.position", "bin.000001:4:0"), ("k", "\"")]);
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"ShardId": "3", "Data": "aGk=", "Attributes": {"ferry.position": "bin.000001:4:0", "k": "\""}})
    );
}

#[test]
fn batches_stay_within_a_request() {
    let record = vec![b'x'; 1 << 20];
    let mut batch = Batch::default();
    let mut pushed = 0;
    while batch.fits(record.len()) {
        batch.push(pushed, record.clone());
        pushed += 1;
    }
    assert_eq!(pushed, 3, "three 1 MiB records and the envelope fit in 4 MiB, four do not");
    let body = batch.body(0);
    assert!(body.len() <= REQUEST_MAX);
    assert_eq!(body.len(), batch.bytes() + r#"{"Action":"pub","Records":[]}"#.len());
    assert!(Batch::fits_alone(REQUEST_MAX - 64));
    assert!(!Batch::fits_alone(REQUEST_MAX));

    let mut batch = Batch::default();
    for seq in 0..3 {
        batch.push(seq, format!("{{\"n\":{seq}}}").into_bytes());
    }
    let tail: serde_json::Value = serde_json::from_slice(&batch.body(1)).unwrap();
    assert_eq!(tail, serde_json::json!({"Action": "pub", "Records": [{"n": 1}, {"n": 2}]}));
}

#[test]
fn shards_are_chosen_by_the_partition_rule_over_active_shards() {
    let listed = ["10", "2", "0", "1"].map(|id| Shard { id: id.into(), state: "ACTIVE".into() });
    let mut listed = listed.to_vec();
    listed.push(Shard { id: "3".into(), state: "CLOSED".into() });
    assert_eq!(shards::active(&listed), ["0", "1", "2", "10"]);
    assert_eq!(shards::index(Partition::One, 4, None, "k", "shop.orders"), 0);
    assert_eq!(shards::index(Partition::Hash, 4, Some(0), "k", "shop.orders"), 0, "DDL: the first shard");
    assert_eq!(shards::index(Partition::Hash, 4, Some(9), "k", "t"), 3);
    let by_key = shards::index(Partition::Hash, 4, None, "42", "shop.orders");
    assert_eq!(by_key, (crate::sink::stable_hash(b"42") % 4) as usize);
    for _ in 0..3 {
        assert_eq!(
            shards::index(Partition::Hash, 4, None, "42", "other.table"),
            by_key,
            "a key stays on its shard"
        );
    }
    let by_table = shards::index(Partition::Table, 4, None, "1", "shop.orders");
    assert_eq!(shards::index(Partition::Table, 4, None, "2", "shop.orders"), by_table);
    let spread: std::collections::BTreeSet<usize> =
        (0..100).map(|k| shards::index(Partition::Hash, 4, None, &k.to_string(), "")).collect();
    assert_eq!(spread.len(), 4, "keys spread over every shard");
}
