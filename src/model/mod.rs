//! Plain data types shared by every layer: values, table schemas, change records, positions.
//! Nothing here does IO; everything is serializable so the store can keep it.

mod change;
mod position;
mod schema;
mod value;

pub use change::{DdlKind, DdlRecord, Op, Record, RowImage, RowsBatch, TxEnd};
pub use position::{Checkpoint, Position, TableChanges};
pub use schema::{Column, ColumnKind, TableName, TableSchema};
pub use value::Value;
