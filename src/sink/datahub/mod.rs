//! Alibaba Cloud DataHub: a topic per table (the connector's topic rules), written over
//! DataHub's HTTP API (JSON protocol, signed with an AccessKey, bodies uncompressed).
//!
//! Invariants:
//! - Acknowledged after DataHub has it: a record is acknowledged (one delivery of its change
//!   log record) only once a PutRecords answer counts it in, so a checkpoint never passes a
//!   change DataHub does not hold. A failed record is sent again with every record queued
//!   after it in its shard (duplicates, never a gap or a reordering of last copies); after
//!   the retries or the delivery timeout the sink gives up and the run restarts from its
//!   checkpoint (at least once).
//! - Per-key order: a key's records go to one shard (the `hash` rule over the topic's ACTIVE
//!   shards in id order), queued and sent in the change log's order, one request at a time
//!   per shard. `table` keeps a table in one shard, `one` everything in the first.
//! - Fenced: the permit is asked before every request (at `flush`, the connector asked it just
//!   before), and a request may take no longer than the delivery timeout (bounded by the
//!   node's lease). Once the connector is stopping, a request DataHub has not answered within
//!   1.5 s is given up (`Interrupted`, nothing acknowledged), so stopping takes seconds.
//! - Within DataHub's limits: at most 1 MiB of data a record and 4 MiB a request. A larger
//!   record is never sent: it goes to the data source's dead-letter topic (a BLOB topic; its
//!   attributes plus `ferry.dlq.topic`, `ferry.dlq.error`, `ferry.dlq.bytes`, the error as its
//!   data; delivered once that topic has it), or without one fails the sink (`Refused`).
//!
//! Records carry the change's source in their Attributes: `ferry.position`
//! (`<binlog file>:<row event start>:<row index>`), `ferry.gtid` when the server has one,
//! `ferry.epoch` (the run's placement epoch); BLOB records also the format's other message
//! headers and `ferry.key` (the message key).
//!
//! Topics: `names` maps the rules' names to DataHub's (`shop.orders` -> `shop_orders`).
//! Ferry creates missing topics with the project's `topic_partitions` shards and the data
//! source's lifecycle (7 days unless set); an existing topic must hold the destination's record
//! type.
//!
//! TUPLE topics: one record per row change, the after image (the before image for a delete),
//! fields `ferry_op` STRING (`insert`, `update`, `delete`, `read` for a row a full sync copied; a primary key change is a delete
//! and an insert unless the project keeps it whole) and `ferry_ts` TIMESTAMP (the change's
//! binlog event time), then one field per column (its name mapped as topic names are). A
//! column the table gains becomes a field appended to the topic (at the table's first rows
//! after the change, once the records queued before are sent); a field the table lost is
//! written null. DDL is logged and skipped (as OMS does). Columns map to fields as:
//!
//! | MySQL | DataHub | value |
//! |---|---|---|
//! | TINYINT | TINYINT | |
//! | TINYINT UNSIGNED, SMALLINT, YEAR | SMALLINT | YEAR 0000 is 0 |
//! | SMALLINT UNSIGNED, MEDIUMINT (UNSIGNED), INT | INTEGER | |
//! | INT UNSIGNED, BIGINT | BIGINT | |
//! | BIGINT UNSIGNED, DECIMAL(p,s) | DECIMAL | exact; DECIMAL with exactly s decimals |
//! | FLOAT, DOUBLE | FLOAT, DOUBLE | shortest text that reads back the same |
//! | DATETIME(fsp), TIMESTAMP(fsp) | TIMESTAMP | µs since the epoch; DATETIME read as UTC |
//! | DATE | STRING | `2026-11-23` |
//! | TIME(fsp) | STRING | `-838:59:59`, `12:34:56.120` |
//! | BIT(1) | BOOLEAN | |
//! | BIT(2..63) | BIGINT | the bits as a number |
//! | BIT(64) | DECIMAL | the bits as a number |
//! | CHAR, VARCHAR, TEXT, ENUM, SET, JSON | STRING | labels for ENUM and SET, JSON as text |
//! | BINARY, VARBINARY, BLOB, others | STRING | base64 |
//!
//! NULL and zero dates (`0000-00-00`...) are null. Values are written for the field's type as
//! the topic holds it, so an existing topic is written as it is; a value that does not fit
//! its field is refused, never cut.
//!
//! BLOB topics: one record per message of the connector's format (`codec`), as Kafka gets
//! them, DDL included (to the table's topic, or `<project>.schema-changes` for Debezium); the
//! format's heartbeats go to `ferry_heartbeat_<project>`; Debezium tombstones are left out.
//!
//! Errors: 5xx, throttling (`LimitExceeded`), timeouts and refused connections are
//! `Unavailable`; any other refusal (bad signature, no such project, a record that does not
//! fit the schema) is `Refused` with DataHub's ErrorCode and ErrorMessage.

mod batch;
mod client;
mod config;
mod names;
mod shards;
mod sign;
mod sink;
#[cfg(test)]
mod tests;
mod tuple;

pub use client::CallError;
pub use config::{DatahubSinkConfig, RecordType, LIFECYCLE_DAYS};

/// Signs a GetProject with the data source's AccessKey, within 5 s: what registering and
/// checking a datahub data source ask (an endpoint that answers is not enough: the project must
/// exist and the key be accepted).
pub async fn check_access(config: &DatahubSinkConfig) -> Result<(), CallError> {
    let client = client::Client::new(config, std::time::Duration::from_secs(5))
        .map_err(|e| CallError::Transport(e.to_string()))?;
    client.get_project().await
}
pub use sink::DatahubSink;
