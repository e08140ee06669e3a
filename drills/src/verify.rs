//! What a drill checks in the topic, read back with an independent consumer (`assign`, from
//! the start of every partition):
//! - every change arrived (deduplicated on the `ferry.position` header, as a consumer would);
//! - per key, the changes arrived in source order;
//! - in every partition, no message of an older epoch (`ferry.epoch`) follows one of a newer;
//! - duplicates are counted, for the drill to bound.

use crate::common::{read_topic, Msg};
use crate::load::changes;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

pub struct Delivery {
    pub messages: Vec<Msg>,
    pub unique: usize,
    pub duplicates: usize,
}

pub fn epoch(m: &Msg) -> u64 {
    m.headers.get("ferry.epoch").expect("ferry.epoch header").parse().expect("numeric epoch")
}

/// Reads until every change of a load of `rows` inserts is there, then a little longer for
/// trailing duplicates; checks order and epochs.
pub fn check(kafka: &str, topic: &str, rows: u64) -> Delivery {
    let want = changes(rows) as usize;
    let unique_count = |msgs: &[Msg]| msgs.iter().map(|m| m.position()).collect::<HashSet<_>>().len();
    // Read until as many messages as changes are missing have arrived, then count again.
    let mut target = want;
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let got = read_topic(kafka, topic, left, |m| m.len() >= target);
        let unique = unique_count(&got);
        if unique >= want || left.is_zero() {
            break;
        }
        target = got.len() + (want - unique);
    }
    // A little longer: duplicates may trail.
    let messages = read_topic(kafka, topic, Duration::from_secs(5), |_| false);

    let mut by_partition: BTreeMap<i32, Vec<&Msg>> = BTreeMap::new();
    for m in &messages {
        by_partition.entry(m.partition).or_default().push(m);
    }
    let mut seen = HashSet::new();
    let mut per_key: HashMap<u64, Vec<String>> = HashMap::new();
    let mut duplicates = 0;
    for (partition, msgs) in &mut by_partition {
        msgs.sort_by_key(|m| m.offset);
        let mut newest = 0;
        for m in msgs.iter() {
            let e = epoch(m);
            assert!(
                e >= newest,
                "partition {partition} offset {}: a message of epoch {e} after one of epoch {newest}",
                m.offset
            );
            newest = e;
            if !seen.insert(m.position()) {
                duplicates += 1;
                continue;
            }
            let v = m.value.as_ref().expect("a value");
            let id = v["allMetaData"]["record_primary_value"].as_str().unwrap().parse().unwrap();
            per_key.entry(id).or_default().push(v["recordType"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), want, "every change delivered (after dedup)");
    assert_eq!(per_key.len() as u64, rows, "every key delivered");
    for (id, ops) in &per_key {
        let expected: &[&str] = if id % 100 == 0 { &["INSERT", "UPDATE"] } else { &["INSERT"] };
        assert_eq!(ops, expected, "key {id}: changes in source order");
    }
    Delivery { unique: seen.len(), duplicates, messages }
}

impl Delivery {
    /// Kafka timestamp of the first message of an epoch newer than `epoch`.
    pub fn first_after_epoch(&self, epoch_seen: u64) -> Option<i64> {
        self.messages.iter().filter(|m| epoch(m) > epoch_seen).filter_map(|m| m.timestamp_ms).min()
    }

    /// Kafka timestamp of the last message of epoch `epoch` or older.
    pub fn last_of_epoch(&self, epoch_seen: u64) -> Option<i64> {
        self.messages.iter().filter(|m| epoch(m) <= epoch_seen).filter_map(|m| m.timestamp_ms).max()
    }

    /// The longest time without a new message while the load ran, in ms.
    pub fn longest_gap_ms(&self, from_ms: i64, to_ms: i64) -> i64 {
        let mut times: Vec<i64> = self
            .messages
            .iter()
            .filter_map(|m| m.timestamp_ms)
            .filter(|t| *t >= from_ms && *t <= to_ms)
            .collect();
        times.sort();
        times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }
}
