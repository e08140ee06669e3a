//! The data paths, as plain async code the runtime's actors own:
//! - [`store`]: source events -> change log, resuming from the log's saved position;
//! - [`connector`]: change log -> encoder -> sink, saving a checkpoint only for what the
//!   destination acknowledged, in order ([`ack`]).

pub mod ack;
pub mod connector;
pub mod status;
pub mod store;
