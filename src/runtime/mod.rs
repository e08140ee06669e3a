//! The actix shells around the pipelines, and the cluster's work placement:
//! - [`agent`]: on every node, runs the store and connector actors of the projects placed on
//!   it (each on an arbiter of its own so reading and writing use both cores);
//! - [`supervisor`]: on the leader, places projects on live nodes and moves them off lost or
//!   leaving ones ([`placement`] is the pure rule);
//! - [`lease`]: the node's lease and the gates that stop a component writing once it lapses;
//! - [`liveness`]: when each node last renewed, as seen here;
//! - [`series`]: the last hour of each running project's figures, for the console.

mod agent;
mod component;
mod lease;
mod liveness;
mod messages;
mod placement;
mod reconcile;
pub mod series;
mod supervisor;

pub use agent::{AgentConfig, LiveProject, LiveStatus, NodeAgent};
pub use lease::{keep_lease, Gate, Gates, Lease, NodeAddress};
pub use liveness::Liveness;
pub use messages::{ComponentExited, ComponentKind, Shutdown};
pub use series::{keep_series, Series};
pub use supervisor::{watch_meta, Supervisor, SupervisorConfig};
