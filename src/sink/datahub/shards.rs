//! Which shard of a topic a record goes to, by the connector's partition rule, over the
//! topic's ACTIVE shards in id order: `hash` by the primary key's text (a key's changes all
//! go to one shard, in order), `table` by `database.table`, `one` to the first shard. A record
//! with a shard of its own (DDL: the first) goes there whatever the rule.
//!
//! Pure: the same shards and key give the same shard in every run and version (FNV-1a, as
//! Kafka partitions).

use super::client::Shard;
use crate::meta::Partition;
use crate::sink::stable_hash;

/// The ids of the ACTIVE shards among `shards`, in id order (numeric ids by number).
pub fn active(shards: &[Shard]) -> Vec<String> {
    let mut ids: Vec<String> = shards.iter().filter(|s| s.state == "ACTIVE").map(|s| s.id.clone()).collect();
    ids.sort_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    });
    ids
}

/// The index (into `shards` ACTIVE shards) of a record: `fixed` when it has a shard of its
/// own, else by `rule` from its key text or its table's `db.table`.
pub fn index(rule: Partition, shards: usize, fixed: Option<u32>, key_text: &str, table: &str) -> usize {
    let n = shards.max(1) as u64;
    let i = match (fixed, rule) {
        (Some(p), _) => u64::from(p).min(n - 1),
        (None, Partition::One) => 0,
        (None, Partition::Table) => stable_hash(table.as_bytes()) % n,
        (None, Partition::Hash) => stable_hash(key_text.as_bytes()) % n,
    };
    i as usize
}
