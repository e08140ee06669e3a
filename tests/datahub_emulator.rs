//! The DataHub emulator answers the official SDK as the service does: pydatahub
//! (tests/datahub_emulator.py) creates a TUPLE and a BLOB topic, puts records as plain JSON
//! and as LZ4, reads them back through OLDEST, SEQUENCE and LATEST cursors, and is refused
//! for a wrong AccessKey, a stale Date, malformed records and records over DataHub's limits.
//! What the SDK got and what the emulator holds are both checked.

mod common;

use common::datahub::{Data, Emulator, ACCESS_ID, ACCESS_KEY};
use serde_json::{json, Value};
use std::process::Command;

/// The project venv's Python (scripts/services.sh installs pydatahub there).
/// Runs the pydatahub script against `emulator`; its JSON output.
fn run_sdk(emulator: &Emulator, project: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/datahub_emulator.py");
    let output = Command::new(common::python())
        .args([script, emulator.endpoint(), project, ACCESS_ID, ACCESS_KEY])
        .output()
        .expect("running the venv's python (scripts/services.sh up installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the pydatahub script failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .expect("the script prints one JSON object")
}

/// The SDK's error of a step: its exception class and ErrorCode.
fn refused(out: &Value, step: &str) -> (String, String, i64) {
    let e = &out[step];
    assert!(e.is_object(), "{step} was not refused: {e}");
    (
        e["class"].as_str().unwrap().to_string(),
        e["code"].as_str().unwrap().to_string(),
        e["status"].as_i64().unwrap(),
    )
}

#[test]
fn pydatahub_gets_what_the_service_answers() {
    let emulator = Emulator::start();
    let project = "ferry_fidelity";
    emulator.create_project(project);
    let out = run_sdk(&emulator, project);

    // Topics as created.
    assert_eq!(
        out["tuple_topic"],
        json!({"record_type": "TUPLE", "shard_count": 2, "life_cycle": 1, "comment": "fidelity",
               "fields": [["b", "bigint"], ["d", "double"], ["flag", "boolean"], ["ts", "timestamp"], ["s", "string"],
                          ["dec", "decimal"], ["i", "integer"], ["f", "float"], ["ti", "tinyint"], ["si", "smallint"]]})
    );
    assert_eq!(out["shards"], json!([["0", "ACTIVE"], ["1", "ACTIVE"]]));
    assert_eq!(
        refused(&out, "create_again"),
        ("ResourceExistException".into(), "TopicAlreadyExist".into(), 400)
    );
    assert_eq!(
        refused(&out, "no_such_topic"),
        ("ResourceNotFoundException".into(), "NoSuchTopic".into(), 404)
    );
    assert_eq!(
        refused(&out, "no_such_project"),
        ("ResourceNotFoundException".into(), "NoSuchProject".into(), 404)
    );

    // Records put, plain and LZ4, come back as they were, in their shards, in order.
    assert_eq!(out["tuple_put"], 0);
    assert_eq!(out["lz4_put"], 0);
    let lz4 = emulator
        .requests()
        .into_iter()
        .any(|r| r.method == "POST" && r.body_bytes > 20_000 && r.status == 200);
    assert!(lz4, "the LZ4 body was read at its uncompressed size");
    let shard0 = &out["read_oldest"]["0"];
    assert_eq!(shard0["count"], 3);
    let values: Vec<&Value> = shard0["records"].as_array().unwrap().iter().map(|r| &r["values"]).collect();
    assert_eq!(
        *values[0],
        json!([
            9223372036854775807_i64,
            1.5,
            true,
            1795437296120000_i64,
            "h\u{e9}llo \"x\"\n\u{1F600}",
            "-12.3400",
            -2147483648_i64,
            0.25,
            -128,
            32767
        ])
    );
    assert_eq!(*values[1], json!([null, null, null, null, null, null, null, null, null, null]));
    assert_eq!(values[2][4].as_str().unwrap().len(), 20_000);
    assert_eq!(shard0["records"][0]["attributes"], json!({"ferry.position": "bin.000001:0:0"}));
    let sequences: Vec<i64> =
        shard0["records"].as_array().unwrap().iter().map(|r| r["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [0, 1, 2]);
    let shard1 = &out["read_oldest"]["1"];
    assert_eq!(shard1["count"], 1);
    assert_eq!(
        shard1["records"][0]["values"],
        json!([
            -9223372036854775808_i64,
            -0.001,
            false,
            -62135798400000000_i64,
            "",
            "0",
            0,
            -1.5,
            127,
            -32768
        ])
    );
    assert_eq!(out["read_sequence_1"]["cursor_sequence"], 1);
    assert_eq!(out["read_sequence_1"]["records"][0]["sequence"], 1);
    assert_eq!(out["read_sequence_1"]["count"], 2);
    assert_eq!(out["read_latest"]["records"][0]["sequence"], 2);
    assert_eq!(out["read_limit_1"]["count"], 1);
    assert_eq!(
        refused(&out, "seek_out_of_range"),
        ("SeekOutOfRangeException".into(), "SeekOutOfRange".into(), 400)
    );
    assert_eq!(refused(&out, "bad_cursor"), ("InvalidCursorException".into(), "InvalidCursor".into(), 400));

    // The emulator holds what the SDK sent: the SDK's text of each value.
    let held = emulator.records(project, "tuple_topic");
    let first = held.iter().find(|r| r.shard == "0" && r.sequence == 0).unwrap();
    assert_eq!(first.values()[0].as_deref(), Some("9223372036854775807"));
    assert_eq!(first.values()[2].as_deref(), Some("true"));
    assert_eq!(first.values()[5].as_deref(), Some("-12.3400"));
    assert_eq!(first.values()[1].as_deref().map(|d| d.parse::<f64>().unwrap()), Some(1.5));
    assert_eq!(first.attributes.get("ferry.position").map(String::as_str), Some("bin.000001:0:0"));

    // AppendField, then records of the wider schema.
    assert_eq!(out["fields_after_append"].as_array().unwrap().last().unwrap(), &json!(["added", "string"]));
    assert_eq!(out["appended_put"], 0);
    let after_append = &out["read_after_append"]["records"];
    assert_eq!(
        after_append[0]["values"].as_array().unwrap().len(),
        11,
        "an older record reads with the new field"
    );
    assert_eq!(after_append[0]["values"][10], Value::Null);
    assert_eq!(after_append[1]["values"][10], "new");
    assert!(out["raw_good"].is_null(), "a well-formed raw request passes: {}", out["raw_good"]);
    let shard1: Vec<_> = held.iter().filter(|r| r.shard == "1").collect();
    assert_eq!(shard1.len(), 3, "the row put first, the appended one and the raw one");
    assert_eq!(shard1[0].values().len(), 10, "records keep the schema they were put with");
    assert_eq!(shard1[1].values()[10].as_deref(), Some("new"));

    // Malformed records fail the whole request; nothing of them is kept.
    for step in [
        "too_few_values",
        "not_a_bigint",
        "tinyint_out_of_range",
        "not_a_boolean",
        "not_a_decimal",
        "number_not_string",
    ] {
        assert_eq!(
            refused(&out, step),
            ("InvalidParameterException".into(), "MalformedRecord".into(), 400),
            "{step}"
        );
    }
    assert_eq!(refused(&out, "no_such_shard").1, "InvalidParameter");
    assert_eq!(emulator.records(project, "tuple_topic").len(), 6, "3 + 1 in shard 0, 1 + 1 + 1 in shard 1");

    // Signatures: a wrong key or id, or a stale Date, is refused; the right ones pass.
    for step in ["wrong_key", "wrong_id", "wrong_key_put", "stale_date"] {
        assert_eq!(
            refused(&out, step),
            ("AuthorizationFailedException".into(), "Unauthorized".into(), 403),
            "{step}"
        );
    }
    assert!(out["date_restored"].is_null());
    let unauthorized = emulator.requests().iter().filter(|r| r.error_code == "Unauthorized").count();
    assert_eq!(unauthorized, 4);

    // BLOB records: bytes as they were, attributes, and DataHub's size limits.
    assert_eq!(out["blob_put"], 0);
    let blobs: Vec<Vec<u8>> = vec![
        vec![0, 255, 1, 2, 128, b'a', b'b', b'c'],
        br#"{"k": "v"}"#.to_vec(),
        (0..=255u8).cycle().take(2048).collect(),
    ];
    use base64::Engine as _;
    let read: Vec<Vec<u8>> = out["blob_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(read, blobs);
    assert_eq!(out["blob_read"][2]["attributes"], json!({"n": "2"}));
    let held_blobs: Vec<Vec<u8>> = emulator
        .records(project, "blob_topic")
        .into_iter()
        .take(3)
        .map(|r| match r.data {
            Data::Blob(bytes) => bytes,
            Data::Tuple(_) => panic!("a TUPLE record in a BLOB topic"),
        })
        .collect();
    assert_eq!(held_blobs, blobs);
    assert!(out["record_at_limit"].is_null(), "a record of exactly 1 MiB passes: {}", out["record_at_limit"]);
    assert_eq!(
        refused(&out, "record_over_limit"),
        ("InvalidParameterException".into(), "InvalidParameter".into(), 400)
    );
    assert_eq!(
        refused(&out, "request_over_limit"),
        ("InvalidParameterException".into(), "InvalidParameter".into(), 400)
    );
    assert!(out["request_under_limit"].is_null(), "{}", out["request_under_limit"]);
    assert_eq!(out["blob_count"], 3 + 1 + 2);
    let topic = emulator.topic(project, "blob_topic").unwrap();
    assert_eq!((topic.record_type.as_str(), topic.shards, topic.comment.as_str()), ("BLOB", 1, "blobs"));
}
