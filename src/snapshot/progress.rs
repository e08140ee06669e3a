//! How far a full sync has copied each table: saved in the store with the chunk it counts, so a
//! restart resumes after the last chunk in the log; shown in the project's status.

use crate::model::{TableName, Value};
use serde::{Deserialize, Serialize};

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProgress {
    pub table: TableName,
    /// Rows the table held when its copy was planned (the server's estimate).
    pub estimated_rows: u64,
    /// Rows read so far (those a change made newer are read too, and left to the change).
    pub copied_rows: u64,
    /// Chunks in the log.
    pub chunks: u64,
    /// The last key copied: the next chunk starts after it (none: from the first row).
    pub last_key: Option<Vec<Value>>,
    pub done: bool,
}

impl TableProgress {
    /// A table not copied yet.
    pub fn planned(table: TableName, estimated_rows: u64) -> TableProgress {
        TableProgress { table, estimated_rows, copied_rows: 0, chunks: 0, last_key: None, done: false }
    }

    /// The store's key and value for it.
    pub fn entry(&self) -> (Vec<u8>, Vec<u8>) {
        let value =
            bincode::serde::encode_to_vec(self, bincode::config::standard()).expect("progress serializes");
        (self.table.to_string().into_bytes(), value)
    }

    /// Read back from [`TableProgress::entry`]'s value.
    pub fn decode(value: &[u8]) -> Result<TableProgress, String> {
        bincode::serde::decode_from_slice(value, bincode::config::standard())
            .map(|(p, _)| p)
            .map_err(|e| format!("full sync progress: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_with_its_key() {
        let mut p = TableProgress::planned(TableName::new("shop", "orders"), 1000);
        p.last_key = Some(vec![Value::Int(42), Value::Text("x".into())]);
        p.copied_rows = 500;
        let (key, value) = p.entry();
        assert_eq!(key, b"shop.orders");
        assert_eq!(TableProgress::decode(&value).unwrap(), p);
    }
}
