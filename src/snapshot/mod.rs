//! Full sync: a table's existing rows copied into the change log beside its changes, without a
//! lock (the DBLog method: Netflix's "DBLog: A Watermark Based Change-Data-Capture Framework").
//!
//! A table is copied in chunks of its key's order (`source::mysql::snapshot` reads them), each
//! in a consistent snapshot whose binlog position the server gives (MariaDB's
//! `binlog_snapshot_position`): that position is the low watermark, exact. The store has a
//! window open on the table from before the read; when its stream has passed the position, a
//! change of the table at or after it takes its key out of the chunk, and what is left goes
//! into the change log there (the high watermark). So a copied row never comes after a newer
//! change of it: a change before the position is in the read, one after it either comes after
//! the copy in the log or removes the copied row. Nothing is written to the source.
//!
//! Layout: `window.rs` (one chunk's window: which rows survive; pure), `merge.rs` (the store's
//! windows and the chunks waiting for the stream; pure), `copier.rs` (the task reading chunks),
//! `progress.rs` (each table's progress, saved with its chunks).

pub mod copier;
pub mod merge;
pub mod progress;
pub mod window;

pub use copier::{Copier, Pending, ToStore};
pub use progress::TableProgress;
