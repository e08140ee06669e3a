//! Full sync: a table's existing rows copied into the change log beside its changes, without a
//! lock (the DBLog method: Netflix's "DBLog: A Watermark Based Change-Data-Capture Framework").
//!
//! A table is copied in chunks of its key's order (`source::mysql::snapshot` reads them). Each
//! chunk is read between two watermarks the store sees in the binlog stream, a low one written
//! before the read and a high one after it; every change of the chunk's table between them
//! takes its key out of the chunk, and what is left goes into the change log at the high
//! watermark. So a copied row never comes after a newer change of it: a change before the low
//! watermark is older than the read (the read saw it), one after the high watermark comes
//! after the copy in the log, and one between them removes the copied row.
//!
//! Layout: `window.rs` (one chunk's window: which rows survive; pure).

pub mod window;
