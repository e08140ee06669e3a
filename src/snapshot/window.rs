//! One chunk's window: the chunk's rows, less those whose key a change touched at or after the
//! binlog position the chunk was read at. Pure; the store drives it.
//!
//! The store opens a window for a table before the chunk is read, so it sees every change the
//! read might have missed; the read happens in a consistent snapshot whose binlog position `at`
//! the server gives. Changes logged before `at` are in the chunk; those at or after it come
//! after the chunk in the change log, so their keys leave the chunk.
//!
//! Invariants:
//! - A change's before and after image are both looked at: a primary-key change touches both keys.
//! - Rows come out in the chunk's (key) order.

use crate::model::{Position, TableName, Value};
use std::collections::HashMap;

/// A key as comparable bytes: two rows of a table have the same key exactly when their key
/// values decode the same.
type KeyBytes = Vec<u8>;

fn key_bytes(row: &[Value], key: &[usize]) -> KeyBytes {
    let values: Vec<&Value> = key.iter().map(|&i| &row[i]).collect();
    bincode::serde::encode_to_vec(&values, bincode::config::standard()).expect("values serialize")
}

/// A chunk read from the source: its rows in key order, as of binlog position `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub at: Position,
    pub rows: Vec<Vec<Value>>,
}

/// A window over one chunk of `table`, keyed by `key` (column indexes).
#[derive(Debug)]
pub struct Window {
    table: TableName,
    key: Vec<usize>,
    /// The last position each key was touched at while the window was open.
    touched: HashMap<KeyBytes, Position>,
    /// The last position the whole table was emptied at (TRUNCATE, DROP) while the window was open.
    cleared: Option<Position>,
}

impl Window {
    /// Opened before the chunk is read.
    pub fn open(table: TableName, key: Vec<usize>) -> Window {
        Window { table, key, touched: HashMap::new(), cleared: None }
    }

    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// A change seen in the stream: a row event of `table` starting at `at`, with its images.
    pub fn change(
        &mut self,
        table: &TableName,
        at: &Position,
        before: Option<&[Value]>,
        after: Option<&[Value]>,
    ) {
        if *table != self.table {
            return;
        }
        for image in [before, after].into_iter().flatten() {
            self.touched.insert(key_bytes(image, &self.key), at.clone());
        }
    }

    /// `table` emptied at `at` (TRUNCATE, DROP): a chunk read before that keeps no row.
    pub fn clear(&mut self, table: &TableName, at: &Position) {
        if *table == self.table {
            self.cleared = Some(at.clone());
        }
    }

    /// The chunk's rows no change at or after its position touched, in key order; and the last
    /// key read (where the next chunk starts), even when every row was dropped.
    pub fn close(self, chunk: Chunk) -> (Vec<Vec<Value>>, Option<Vec<Value>>) {
        let last = chunk.rows.last().map(|row| self.key.iter().map(|&i| row[i].clone()).collect());
        if self.cleared.as_ref().is_some_and(|p| !chunk.at.is_after(p)) {
            return (Vec::new(), last);
        }
        let newer = |row: &Vec<Value>| {
            self.touched.get(&key_bytes(row, &self.key)).is_some_and(|p| !chunk.at.is_after(p))
        };
        let rows = chunk.rows.iter().filter(|row| !newer(row)).cloned().collect();
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

    fn at(pos: u64) -> Position {
        Position { file: "bin.000002".into(), pos, gtid: None }
    }

    #[test]
    fn a_row_changed_at_or_after_the_read_is_left_to_its_change() {
        let mut w = Window::open(orders(), vec![0]);
        w.change(&orders(), &at(100), None, Some(&row(2, "logged before the read: in the chunk")));
        w.change(&orders(), &at(500), Some(&row(3, "c")), None);
        w.change(&orders(), &at(400), Some(&row(4, "d")), Some(&row(4, "D")));
        w.change(&TableName::new("shop", "other"), &at(600), Some(&row(1, "a")), None);
        let chunk = Chunk { at: at(400), rows: vec![row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d")] };
        let (rows, last) = w.close(chunk);
        assert_eq!(rows, vec![row(1, "a"), row(2, "b")]);
        assert_eq!(last, Some(vec![Value::Int(4)]), "the next chunk starts after the last key read");
    }

    #[test]
    fn a_key_change_touches_the_old_and_the_new_key() {
        let mut w = Window::open(orders(), vec![0]);
        w.change(&orders(), &at(900), Some(&row(1, "a")), Some(&row(5, "moved")));
        let chunk = Chunk { at: at(800), rows: vec![row(1, "a"), row(5, "e"), row(9, "i")] };
        assert_eq!(w.close(chunk).0, vec![row(9, "i")]);
    }

    #[test]
    fn a_table_emptied_after_the_read_keeps_no_row_of_it() {
        let mut w = Window::open(orders(), vec![0]);
        w.clear(&TableName::new("shop", "other"), &at(700));
        let chunk = || Chunk { at: at(600), rows: vec![row(1, "a")] };
        let mut before = Window::open(orders(), vec![0]);
        before.clear(&orders(), &at(500));
        assert_eq!(
            before.close(chunk()).0,
            vec![row(1, "a")],
            "emptied before the read: the read is after it"
        );
        w.clear(&orders(), &at(700));
        assert_eq!(w.close(chunk()), (vec![], Some(vec![Value::Int(1)])));
    }

    #[test]
    fn an_empty_chunk_ends_the_table() {
        let w = Window::open(orders(), vec![0]);
        assert_eq!(w.close(Chunk { at: at(1), rows: vec![] }), (vec![], None));
    }
}
