//! The actix shells around the pipelines. The supervisor watches the metadata and makes what
//! runs on this node match it: a store and a connector actor per running project, each on an
//! arbiter (thread) of its own so reading and writing use both cores.

mod component;
mod messages;
mod reconcile;
mod supervisor;

pub use messages::{ComponentExited, ComponentKind, Shutdown};
pub use supervisor::{LiveStatus, Supervisor, SupervisorConfig};
