//! One chunk's window, from its low watermark to its high one: the chunk's rows, less those whose
//! key a change touched while the window was open. Pure; the store drives it.
//!
//! Invariants:
//! - A key touched while open is dropped from the chunk, whether the change came before or after
//!   the chunk was read (both orders happen: the read runs concurrently with the stream).
//! - A change's before and after image are both looked at: a primary-key change touches both keys.
//! - Rows come out in the chunk's (key) order.

use crate::model::{TableName, Value};
use std::collections::HashSet;

/// A key as comparable bytes: two rows of a table have the same key exactly when their key
/// values decode the same.
type KeyBytes = Vec<u8>;

fn key_bytes(row: &[Value], key: &[usize]) -> KeyBytes {
    let values: Vec<&Value> = key.iter().map(|&i| &row[i]).collect();
    bincode::serde::encode_to_vec(&values, bincode::config::standard()).expect("values serialize")
}

/// A chunk read from the source: its table, key (column indexes) and rows in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub table: TableName,
    pub key: Vec<usize>,
    pub rows: Vec<Vec<Value>>,
}

/// A window over one chunk of `table`.
#[derive(Debug)]
pub struct Window {
    table: TableName,
    key: Vec<usize>,
    touched: HashSet<KeyBytes>,
    chunk: Option<Chunk>,
}

impl Window {
    /// Opened at the low watermark, for a chunk of `table` keyed by `key`.
    pub fn open(table: TableName, key: Vec<usize>) -> Window {
        Window { table, key, touched: HashSet::new(), chunk: None }
    }

    /// A change of `table` seen in the stream while the window is open: its images' keys are
    /// taken out of the chunk.
    pub fn change(&mut self, table: &TableName, before: Option<&[Value]>, after: Option<&[Value]>) {
        if *table != self.table {
            return;
        }
        for image in [before, after].into_iter().flatten() {
            self.touched.insert(key_bytes(image, &self.key));
        }
    }

    /// The chunk, once read.
    pub fn fill(&mut self, chunk: Chunk) {
        debug_assert_eq!(chunk.table, self.table);
        self.chunk = Some(chunk);
    }

    pub fn is_filled(&self) -> bool {
        self.chunk.is_some()
    }

    /// At the high watermark: the chunk's rows no change touched, in key order; and the last
    /// key read (where the next chunk starts), even when every row was dropped.
    pub fn close(self) -> (Vec<Vec<Value>>, Option<Vec<Value>>) {
        let Some(chunk) = self.chunk else { return (Vec::new(), None) };
        let last = chunk.rows.last().map(|row| chunk.key.iter().map(|&i| row[i].clone()).collect());
        let rows =
            chunk.rows.into_iter().filter(|row| !self.touched.contains(&key_bytes(row, &self.key))).collect();
        (rows, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, v: &str) -> Vec<Value> {
        vec![Value::Int(id), Value::Text(v.into())]
    }

    fn orders() -> TableName {
        TableName::new("shop", "orders")
    }

    #[test]
    fn a_row_changed_inside_the_window_is_left_to_its_change() {
        let mut w = Window::open(orders(), vec![0]);
        w.change(&orders(), None, Some(&row(2, "inserted before the read")));
        w.fill(Chunk { table: orders(), key: vec![0], rows: vec![row(1, "a"), row(2, "b"), row(3, "c")] });
        w.change(&orders(), Some(&row(3, "c")), None);
        w.change(&TableName::new("shop", "other"), Some(&row(1, "a")), None);
        let (rows, last) = w.close();
        assert_eq!(rows, vec![row(1, "a")]);
        assert_eq!(last, Some(vec![Value::Int(3)]), "the next chunk starts after the last key read");
    }

    #[test]
    fn a_key_change_touches_the_old_and_the_new_key() {
        let mut w = Window::open(orders(), vec![0]);
        w.fill(Chunk { table: orders(), key: vec![0], rows: vec![row(1, "a"), row(5, "e"), row(9, "i")] });
        w.change(&orders(), Some(&row(1, "a")), Some(&row(5, "moved")));
        let (rows, _) = w.close();
        assert_eq!(rows, vec![row(9, "i")]);
    }

    #[test]
    fn an_empty_chunk_ends_the_table() {
        let mut w = Window::open(orders(), vec![0]);
        w.fill(Chunk { table: orders(), key: vec![0], rows: vec![] });
        assert_eq!(w.close(), (vec![], None));
    }
}
