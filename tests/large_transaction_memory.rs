//! Proves: memory is bounded by size, not by transaction: one 2,000,000-row transaction syncs
//! whole, every row delivered and counted once, with the node's peak resident memory under
//! 400 MiB.

mod common;

use serde_json::json;
use std::time::Duration;

const ROWS: u64 = 2_000_000;
const PEAK_LIMIT_MIB: u64 = 400;

#[test]
fn a_two_million_row_transaction_syncs_in_bounded_memory() {
    let (services, node, mut sql, db) = common::setup("bigtx");
    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, k INT, c VARCHAR(100))"));
    node.register_sources(&services);
    node.start_project(json!({
        "name": "bigtx", "source": "maria", "destination": "kafka",
        "objects": [{"database": db, "topic": "{database}.{table}"}],
        "format": "default", "start": {"file": start.0, "pos": start.1}
    }));
    // One statement, one transaction (MariaDB's SEQUENCE engine makes the rows).
    sql.exec(&format!(
        "INSERT INTO {db}.t SELECT seq, seq % 1000, CONCAT('a row of the big transaction ', seq) \
         FROM seq_1_to_{ROWS}"
    ));
    let done = node.wait_project("bigtx", Duration::from_secs(300), |p| {
        p["rows"].as_u64() >= Some(ROWS) || p["state"] != "running"
    });
    assert_eq!(done["state"], "running", "{done}");
    assert_eq!(done["rows"].as_u64(), Some(ROWS), "every row counted once: {done}");
    let peak = node.peak_rss_mib();
    println!("peak RSS {peak} MiB for one {ROWS}-row transaction");
    assert!(peak < PEAK_LIMIT_MIB, "peak RSS {peak} MiB >= {PEAK_LIMIT_MIB} MiB");
    sql.exec(&format!("DROP DATABASE {db}"));
}
