//! Apache RocketMQ: a topic per table pattern, created when missing, written through
//! `rocketmq-client-rust` (the rocketmq-rust project's client: maintained, async on tokio,
//! speaks the broker's remoting protocol with ACL signing; the only Rust client of RocketMQ 5).
//!
//! Invariants:
//! - Acknowledged after the broker stored it: a message is acknowledged (one delivery of its
//!   change log record) once the broker answered SEND_OK for its batch, so a checkpoint never
//!   passes a change the broker does not hold.
//! - Per-key order: the partition rule picks the message queue (`hash`: by primary key over the
//!   topic's writable queues in (broker, id) order; `table`; `one`), and each queue's messages
//!   are sent in the change log's order, one batch in flight per queue; a failed batch is sent
//!   again before anything after it (`lanes`), so a retry may duplicate, never reorder.
//! - Fenced: the permit is asked before a message is queued, and a queued message older than
//!   the delivery timeout (bounded by the node's lease) is never sent.
//! - Bounded: at most 100,000 messages or 128 MiB wait; `send` waits for room and gives up
//!   when the connector stops.
//!
//! Messages: the body is the format's message value (a Debezium tombstone, which has none, is
//! left out); the keys are the primary key's values; the tag is the data source's `tag`; the
//! user properties are the format's headers (`ferry.position`, `ferry.gtid`, ...) and
//! `ferry.epoch`, the run's placement epoch. At most 4 MiB a message; a larger one fails the
//! project, naming its topic.
//!
//! Topics: `names` maps the rules' names to RocketMQ's (`shop.orders` -> `shop_orders`).
//! Ferry creates a missing topic on the brokers that hold `TBW102` with the project's
//! `topic_partitions` queues.
//!
//! Errors: the broker's refusals that sending again cannot change (no permission, an illegal
//! message, an invalid parameter) fail the project at once; anything else (timeouts, a broker
//! down or busy, a flush or replication timeout) is retried with backoff until the delivery
//! timeout, then the run restarts from its checkpoint, until the project's retry limit.

mod client;
mod config;
mod lanes;
mod names;
mod producer;
#[cfg(test)]
mod tests;

pub use client::reachable;
pub use config::RocketmqSinkConfig;
pub use producer::RocketmqProducer;

/// The largest message RocketMQ takes by default (the broker's `maxMessageSize`).
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
