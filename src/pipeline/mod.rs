//! The data paths, as plain async code the runtime's actors own:
//! - [`store`]: source events -> change log, resuming from the log's saved position;
//! - [`connector`]: change log -> encoder -> sink, saving a checkpoint only for what the
//!   destination acknowledged, in order ([`ack`]);
//! - [`latency`]: source commit -> acknowledgement over the last minute, per connector;
//! - [`feed`]: what a connector reads the change log through, on the store's node or
//!   ([`remote_feed`]) on another.

pub mod ack;
pub mod connector;
pub mod feed;
pub mod latency;
pub mod remote_feed;
pub mod status;
pub mod store;
