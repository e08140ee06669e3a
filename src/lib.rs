//! Ferry: real-time sync of MySQL/MariaDB binlog changes into Kafka and databases.
//! `docs/ARCHITECTURE.md` explains how the modules fit together.

pub mod app;
pub mod client_tls;
pub mod codec;
pub mod ctl;
pub mod http;
pub mod meta;
pub mod model;
pub mod peers;
pub mod pipeline;
pub mod runtime;
pub mod secrets;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod tail;
pub mod verify;
