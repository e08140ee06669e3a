//! `ferry tail`: print the messages of a topic (every partition, from the start or the end),
//! one JSON line each: partition, offset, key, headers, value. For looking at what landed.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

pub struct TailOptions {
    pub brokers: String,
    pub topic: String,
    pub from_beginning: bool,
    /// Stop after this many messages.
    pub max: Option<u64>,
    /// Stop after this long without a new message.
    pub idle_timeout: Duration,
}

fn text(bytes: Option<&[u8]>) -> serde_json::Value {
    match bytes {
        None => serde_json::Value::Null,
        Some(b) => serde_json::from_slice(b).unwrap_or_else(|_| String::from_utf8_lossy(b).into()),
    }
}

pub fn run(opts: TailOptions) -> anyhow::Result<u64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &opts.brokers)
        .set("group.id", "ferry-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    let md = consumer.fetch_metadata(Some(&opts.topic), Duration::from_secs(10))?;
    let topic = md
        .topics()
        .iter()
        .find(|t| t.name() == opts.topic && t.error().is_none())
        .ok_or_else(|| anyhow::anyhow!("topic {} does not exist", opts.topic))?;
    let mut tpl = TopicPartitionList::new();
    let offset = if opts.from_beginning { Offset::Beginning } else { Offset::End };
    for p in topic.partitions() {
        tpl.add_partition_offset(&opts.topic, p.id(), offset)?;
    }
    consumer.assign(&tpl)?;
    let mut count = 0;
    let mut last = Instant::now();
    while opts.max.is_none_or(|m| count < m) && last.elapsed() < opts.idle_timeout {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else { continue };
        let msg = msg?;
        last = Instant::now();
        count += 1;
        let headers: serde_json::Map<String, serde_json::Value> = msg
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_string(), text(h.value))).collect())
            .unwrap_or_default();
        let line = serde_json::json!({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": text(msg.key()),
            "headers": headers,
            "value": text(msg.payload()),
        });
        println!("{line}");
    }
    Ok(count)
}
