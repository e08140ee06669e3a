//! In-order acknowledgement: the destination acknowledges deliveries in any order (Kafka
//! partitions are independent), even before the connector counted their record in (the sink
//! writes a record before the connector knows how many deliveries it made); the checkpoint may
//! only move past a transaction end once every delivery before it is acknowledged.

use super::status::ConnectorStatus;
use crate::model::{Checkpoint, Op, Position};
use crate::sink::{Acknowledge, SinkError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

struct Pending {
    seq: u64,
    /// Deliveries of this record not yet acknowledged.
    outstanding: u32,
    rows: u32,
    bytes: u64,
    /// The table and operation of a rows record.
    table: Option<(String, Op)>,
    tx_end: Option<(Position, u32)>,
}

struct Inner {
    pending: VecDeque<Pending>,
    acked: Checkpoint,
    /// Counts of acknowledged records of the transaction not yet ended: they join `acked` with
    /// its end, so a checkpoint's counts always match its position (a restart resends, and
    /// would count twice, whatever lies after the position).
    open: Checkpoint,
    /// The last record registered.
    registered: u64,
    /// Acknowledgements of records not registered yet (the one being written), by record.
    early: Vec<(u64, u32)>,
    error: Option<SinkError>,
}

/// Shared by the connector (which registers records in order) and the sink's delivery
/// callbacks (which acknowledge messages by record sequence).
pub struct AckTracker {
    inner: Mutex<Inner>,
    /// Told of every transaction end acknowledged (for the latency figures).
    observer: Option<Arc<ConnectorStatus>>,
}

impl AckTracker {
    pub fn new(start: Checkpoint) -> Self {
        Self {
            inner: Mutex::new(Inner {
                pending: VecDeque::new(),
                acked: start,
                open: Checkpoint::default(),
                registered: 0,
                early: Vec::new(),
                error: None,
            }),
            observer: None,
        }
    }

    /// Reports each transaction end acknowledged to `status`.
    pub fn observed_by(mut self, status: Arc<ConnectorStatus>) -> Self {
        self.observer = Some(status);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers record `seq` (sequences must increase) with the number of messages it was
    /// sent as. `rows`, `bytes` and `table` (with the rows' operation) feed the delivered
    /// counters.
    pub fn register(&self, seq: u64, messages: u32, rows: u32, bytes: u64, table: Option<(&str, Op)>) {
        let mut inner = self.lock();
        let table = table.map(|(t, op)| (t.to_string(), op));
        let outstanding = inner.outstanding(seq, messages);
        inner.pending.push_back(Pending { seq, outstanding, rows, bytes, table, tx_end: None });
        inner.advance(self.observer.as_deref());
    }

    /// Registers the end of a transaction at `seq`: a checkpoint candidate.
    /// Record `seq` ends a transaction (or is a heartbeat) at `position`, after `messages` of
    /// its own (a heartbeat message) are acknowledged.
    pub fn register_tx_end(&self, seq: u64, messages: u32, position: Position, ts: u32) {
        let mut inner = self.lock();
        let outstanding = inner.outstanding(seq, messages);
        inner.pending.push_back(Pending {
            seq,
            outstanding,
            rows: 0,
            bytes: 0,
            table: None,
            tx_end: Some((position, ts)),
        });
        inner.advance(self.observer.as_deref());
    }

    /// One message of record `seq` is in the destination.
    pub fn ack(&self, seq: u64) {
        let mut inner = self.lock();
        if seq > inner.registered {
            match inner.early.iter_mut().find(|(s, _)| *s == seq) {
                Some((_, n)) => *n += 1,
                None => inner.early.push((seq, 1)),
            }
            return;
        }
        let Some(front) = inner.pending.front().map(|p| p.seq) else { return };
        let Some(index) = seq.checked_sub(front) else { return };
        // Sequences are dense within a connector run except for records that produced no
        // messages; a direct index usually hits, a search covers the rest.
        let slot = match inner.pending.get(index as usize) {
            Some(p) if p.seq == seq => Some(index as usize),
            _ => inner.pending.iter().position(|p| p.seq == seq),
        };
        if let Some(i) = slot {
            let p = &mut inner.pending[i];
            p.outstanding = p.outstanding.saturating_sub(1);
            if i == 0 {
                inner.advance(self.observer.as_deref());
            }
        }
    }

    /// A message could not be delivered: the connector must stop (the first failure counts).
    pub fn fail(&self, error: SinkError) {
        self.lock().error.get_or_insert(error);
    }

    pub fn error(&self) -> Option<SinkError> {
        self.lock().error.clone()
    }

    /// The checkpoint of everything acknowledged in order so far.
    pub fn checkpoint(&self) -> Checkpoint {
        self.lock().acked.clone()
    }

    /// Messages sent but not acknowledged, as records still pending.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }
}

impl Acknowledge for AckTracker {
    fn ack(&self, seq: u64) {
        AckTracker::ack(self, seq)
    }

    fn fail(&self, error: SinkError) {
        AckTracker::fail(self, error)
    }
}

impl Inner {
    /// Registers `seq`: of its `messages`, those not acknowledged already.
    fn outstanding(&mut self, seq: u64, messages: u32) -> u32 {
        self.registered = seq;
        let mut acked = 0;
        self.early.retain(|&(s, n)| {
            if s == seq {
                acked += n;
            }
            s > seq
        });
        messages.saturating_sub(acked)
    }

    fn advance(&mut self, observer: Option<&ConnectorStatus>) {
        // Read the clock once per call, and only when a transaction end passes.
        let mut now_ms = None;
        while self.pending.front().is_some_and(|p| p.outstanding == 0) {
            let p = self.pending.pop_front().expect("front exists");
            self.open.rows += u64::from(p.rows);
            self.open.bytes += p.bytes;
            if let Some((table, op)) = p.table {
                self.open.changes.entry(table).or_default().add(op, u64::from(p.rows));
            }
            if let Some((position, ts)) = p.tx_end {
                let open = std::mem::take(&mut self.open);
                self.acked.rows += open.rows;
                self.acked.bytes += open.bytes;
                for (table, mut changes) in open.changes {
                    *self.acked.tables.entry(table.clone()).or_default() += changes.rows();
                    changes.last_ts = ts;
                    self.acked.changes.entry(table).or_default().merge(&changes);
                }
                self.acked.seq = p.seq;
                self.acked.position = position;
                self.acked.commit_ts = ts;
                if let Some(observer) = observer {
                    observer.acknowledged(*now_ms.get_or_insert_with(super::connector::now_ms), ts);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(p: u64) -> Position {
        Position { file: "f".into(), pos: p, gtid: None }
    }

    #[test]
    fn checkpoint_moves_only_past_fully_acknowledged_transactions() {
        let t = AckTracker::new(Checkpoint::default());
        t.register(1, 2, 2, 10, Some(("shop.a", Op::Insert)));
        t.register(2, 1, 1, 5, Some(("shop.b", Op::Delete)));
        t.register_tx_end(3, 0, pos(300), 11);
        t.register(4, 1, 1, 5, Some(("shop.a", Op::Update)));
        t.register_tx_end(5, 0, pos(500), 12);
        t.ack(2);
        t.ack(4);
        t.ack(1);
        assert_eq!(t.checkpoint().seq, 0, "record 1 still has a message out");
        t.ack(1);
        let cp = t.checkpoint();
        assert_eq!((cp.seq, cp.position.pos, cp.commit_ts), (5, 500, 12));
        assert_eq!((cp.rows, cp.bytes), (4, 20));
        assert_eq!(cp.tables["shop.a"], 3);
        let a = cp.changes["shop.a"];
        assert_eq!((a.inserted, a.updated, a.deleted, a.last_ts), (2, 1, 0, 12));
        let b = cp.changes["shop.b"];
        assert_eq!((b.inserted, b.updated, b.deleted, b.last_ts), (0, 0, 1, 11));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn counts_move_with_the_position_not_before() {
        let t = AckTracker::new(Checkpoint::default());
        t.register(1, 1, 3, 30, Some(("shop.a", Op::Insert)));
        t.ack(1);
        // The transaction has not ended: a restart from here would resend those rows.
        assert_eq!(t.checkpoint(), Checkpoint::default());
        t.register_tx_end(2, 0, pos(20), 5);
        let cp = t.checkpoint();
        assert_eq!((cp.seq, cp.rows, cp.bytes, cp.tables["shop.a"]), (2, 3, 30, 3));
    }

    #[test]
    fn a_record_without_messages_does_not_block() {
        let t = AckTracker::new(Checkpoint::default());
        t.register(1, 0, 0, 0, None);
        t.register_tx_end(2, 0, pos(2), 1);
        assert_eq!(t.checkpoint().seq, 2);
        t.ack(99); // unknown acks are ignored
        t.fail(SinkError::Unavailable("x".into()));
        t.fail(SinkError::Refused("y".into()));
        assert!(matches!(t.error(), Some(SinkError::Unavailable(e)) if e == "x"));
    }

    #[test]
    fn deliveries_acknowledged_before_their_record_is_registered_count() {
        let t = AckTracker::new(Checkpoint::default());
        // The sink wrote record 1 as three messages; two came back before the connector
        // registered it.
        t.ack(1);
        t.ack(1);
        t.register(1, 3, 3, 30, Some(("shop.a", Op::Insert)));
        t.register_tx_end(2, 0, pos(20), 5);
        assert_eq!(t.checkpoint().seq, 0, "one message of record 1 is still out");
        t.ack(1);
        assert_eq!(t.checkpoint().seq, 2);
        // A transaction end acknowledged by the destination before it was registered (a
        // database sink commits inside `end`).
        t.ack(3);
        t.register_tx_end(3, 1, pos(30), 6);
        assert_eq!((t.checkpoint().seq, t.pending()), (3, 0));
    }
}
