//! The store's side of a full sync: a window per chunk being read, and the chunks read waiting
//! for the stream to pass the position they were read at. Pure: the store tells it every change
//! it appends and asks which chunks can go into the log now.
//!
//! Invariants:
//! - Chunks come out in the order their windows were opened (a table's chunks in key order,
//!   so the progress saved with each is a prefix of the table).
//! - A chunk comes out only once the stream has passed its position: every change logged
//!   before it is in the log already, every change at or after it either took its key out of
//!   the chunk or comes after it.

use super::window::{Chunk, Window};
use crate::model::{Position, TableName, Value};
use std::collections::VecDeque;

/// Open windows and their chunks; `T` travels with a chunk (what the store appends it with).
#[derive(Debug)]
pub struct Merge<T> {
    next_id: u64,
    slots: VecDeque<Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    id: u64,
    window: Window,
    read: Option<(Chunk, T)>,
}

impl<T> Default for Merge<T> {
    fn default() -> Self {
        Merge { next_id: 1, slots: VecDeque::new() }
    }
}

impl<T> Merge<T> {
    /// A window on the next chunk of `table` (by `key`'s columns), before it is read: its id.
    pub fn open(&mut self, table: TableName, key: Vec<usize>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.slots.push_back(Slot { id, window: Window::open(table, key), read: None });
        id
    }

    /// The chunk window `id` was opened for, read. An unknown id (a window closed meanwhile)
    /// hands `payload` back.
    pub fn read(&mut self, id: u64, chunk: Chunk, payload: T) -> Result<(), T> {
        match self.slots.iter_mut().find(|s| s.id == id) {
            Some(slot) => {
                slot.read = Some((chunk, payload));
                Ok(())
            }
            None => Err(payload),
        }
    }

    /// A change the store appends: a row event of `table` at `at`, with its images.
    pub fn change(
        &mut self,
        table: &TableName,
        at: &Position,
        before: Option<&[Value]>,
        after: Option<&[Value]>,
    ) {
        for slot in &mut self.slots {
            slot.window.change(table, at, before, after);
        }
    }

    /// `table` emptied at `at` (TRUNCATE, DROP).
    pub fn clear(&mut self, table: &TableName, at: &Position) {
        for slot in &mut self.slots {
            slot.window.clear(table, at);
        }
    }

    /// A window is open on `table`.
    pub fn copies(&self, table: &TableName) -> bool {
        self.slots.iter().any(|s| s.window.table() == table)
    }

    /// Closes window `id` without a chunk (its read failed).
    pub fn cancel(&mut self, id: u64) {
        self.slots.retain(|s| s.id != id);
    }

    /// No window open: nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The chunks the stream has passed (`passed`: every event before it is in the log), oldest
    /// first, each with the rows its window keeps; a chunk not read yet holds back those opened
    /// after it.
    pub fn ready(&mut self, passed: &Position) -> Vec<(Chunk, T)> {
        let mut out = Vec::new();
        while let Some(slot) = self.slots.front() {
            match &slot.read {
                Some((chunk, _)) if !chunk.at.is_after(passed) => {}
                _ => break,
            }
            let slot = self.slots.pop_front().expect("a front slot");
            let (chunk, payload) = slot.read.expect("read");
            let at = chunk.at.clone();
            out.push((Chunk { at, rows: slot.window.close(chunk).0 }, payload));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(pos: u64) -> Position {
        Position { file: "bin.000003".into(), pos, gtid: None }
    }

    fn row(id: i64) -> Vec<Value> {
        vec![Value::Int(id)]
    }

    fn t() -> TableName {
        TableName::new("shop", "t")
    }

    #[test]
    fn chunks_leave_in_order_once_the_stream_passed_them() {
        let mut m = Merge::default();
        let first = m.open(t(), vec![0]);
        let second = m.open(t(), vec![0]);
        m.read(second, Chunk { at: at(200), rows: vec![row(3), row(4)] }, "second").unwrap();
        assert!(m.ready(&at(900)).is_empty(), "the first chunk, not read yet, holds the second back");
        m.read(first, Chunk { at: at(300), rows: vec![row(1), row(2)] }, "first").unwrap();
        m.change(&t(), &at(310), Some(&row(2)), None);
        assert!(m.ready(&at(299)).is_empty(), "the stream has not reached the first chunk's position");
        let out = m.ready(&at(300));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            (Chunk { at: at(300), rows: vec![row(1)] }, "first"),
            "key 2 changed after the read"
        );
        assert_eq!(out[1], (Chunk { at: at(200), rows: vec![row(3), row(4)] }, "second"));
        assert!(m.is_empty());
    }

    #[test]
    fn a_cancelled_window_holds_nothing_back() {
        let mut m = Merge::default();
        let failed = m.open(t(), vec![0]);
        let next = m.open(t(), vec![0]);
        assert!(m.copies(&t()));
        m.read(next, Chunk { at: at(10), rows: vec![row(1)] }, ()).unwrap();
        m.cancel(failed);
        assert_eq!(m.ready(&at(10)), vec![(Chunk { at: at(10), rows: vec![row(1)] }, ())]);
        assert!(!m.copies(&t()));
    }

    #[test]
    fn a_chunk_for_a_closed_window_is_handed_back() {
        let mut m: Merge<&str> = Merge::default();
        assert_eq!(m.read(7, Chunk { at: at(1), rows: vec![] }, "late"), Err("late"));
    }
}
