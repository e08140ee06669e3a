//! Failure drills: real `ferry` processes forming a cluster on loopback addresses, a real
//! MariaDB and a real Kafka broker (from scripts/services.sh), at least 100,000 row changes
//! each, checked in the topic by an independent consumer. Run with `scripts/test.sh --drills`.

#[path = "../../tests/common/mod.rs"]
pub mod common;

pub mod drill;
pub mod load;
pub mod netcut;
pub mod verify;
