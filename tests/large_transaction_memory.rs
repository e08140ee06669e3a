//! Proves: memory is bounded by size, not by transaction or row count: one 2,000,000-row
//! transaction, and one transaction of 400 rows of 640 kB BLOBs, each sync whole, every row
//! delivered and counted once, with the node's peak resident memory under 400 MiB.

mod common;

use serde_json::json;
use std::time::Duration;

const PEAK_LIMIT_MIB: u64 = 400;

/// Creates `{db}.t` with `columns`, runs `insert` (one transaction of `rows` rows; `{db}` is
/// replaced) under a project, waits for every row, and returns the node's peak RSS in MiB.
fn sync_one_transaction(name: &str, columns: &str, insert: &str, rows: u64) -> u64 {
    let (services, node, mut sql, db) = common::setup(name);
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t ({columns})"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": name, "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "start": {"file": start.0, "pos": start.1}
    }));
    sql.exec(&insert.replace("{db}", &db));
    let done = node.wait_project(name, Duration::from_secs(300), |p| {
        p["rows"].as_u64() >= Some(rows) || p["state"] != "running"
    });
    assert_eq!(done["state"], "running", "{done}");
    assert_eq!(done["rows"].as_u64(), Some(rows), "every row counted once: {done}");
    let peak = node.peak_rss_mib();
    sql.exec(&format!("DROP DATABASE {db}"));
    peak
}

#[test]
fn a_two_million_row_transaction_syncs_in_bounded_memory() {
    const ROWS: u64 = 2_000_000;
    // One statement, one transaction (MariaDB's SEQUENCE engine makes the rows).
    let peak = sync_one_transaction(
        "bigtx",
        "id BIGINT PRIMARY KEY, k INT, c VARCHAR(100)",
        &format!(
            "INSERT INTO {{db}}.t SELECT seq, seq % 1000, CONCAT('a row of the big transaction ', seq) \
             FROM {{db}}.seq_1_to_{ROWS}"
        ),
        ROWS,
    );
    println!("peak RSS {peak} MiB for one {ROWS}-row transaction");
    assert!(peak < PEAK_LIMIT_MIB, "peak RSS {peak} MiB >= {PEAK_LIMIT_MIB} MiB");
}

#[test]
fn a_transaction_of_large_blobs_syncs_in_bounded_memory() {
    const BLOBS: u64 = 400;
    const BLOB_BYTES: u64 = 640_000;
    // 400 rows of 640 kB (256 MB; 341 MB of messages in base64) in one transaction.
    let peak = sync_one_transaction(
        "blobtx",
        "id BIGINT PRIMARY KEY, b LONGBLOB",
        &format!(
            "INSERT INTO {{db}}.t SELECT seq, REPEAT(SHA2(seq, 256), {}) FROM {{db}}.seq_1_to_{BLOBS}",
            BLOB_BYTES / 64
        ),
        BLOBS,
    );
    println!("peak RSS {peak} MiB for a transaction of {BLOBS} rows of {BLOB_BYTES} bytes");
    assert!(peak < PEAK_LIMIT_MIB, "peak RSS {peak} MiB >= {PEAK_LIMIT_MIB} MiB");
}
