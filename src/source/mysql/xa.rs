//! XA transactions on MariaDB: `XA PREPARE` ends a binlog group of its own (GTID flagged
//! PREPARED_XA, the rows, `XA END`, an XA_PREPARE event), and the outcome comes later in another
//! group (GTID flagged COMPLETED_XA, then `XA COMMIT` or `XA ROLLBACK`), with any number of other
//! transactions between. A prepared transaction's rows are held here until its outcome: they go
//! out at `XA COMMIT`, in commit order, and are dropped at `XA ROLLBACK`.
//!
//! Held rows live in memory only, so while any transaction is prepared the reader's resume
//! point stays where the oldest prepared group began: a restart reads that group again (and the
//! groups after it, which go out again: at least once, never lost).

use crate::model::Position;
use crate::source::{SourceEvent, XaPrepared};

/// MariaDB GTID flags (`Gtid_log_event::flags2`).
const FL_GROUP_COMMIT_ID: u8 = 2;
const FL_PREPARED_XA: u8 = 64;
const FL_COMPLETED_XA: u8 = 128;

/// What a MariaDB GTID event says about XA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XaGroup {
    /// The group prepares the XA transaction with this xid.
    Prepare(Vec<u8>),
    /// The group commits or rolls back the XA transaction with this xid.
    Complete(Vec<u8>),
}

/// Reads the XA part of a MariaDB GTID event's body (seq u64, domain u32, flags u8, then an
/// optional commit id u64, then for XA: format id u32, gtrid length u8, bqual length u8, data).
/// `Err` when the flags promise more bytes than the event has.
pub(crate) fn xa_group(body: &[u8]) -> Result<Option<XaGroup>, String> {
    let Some(&flags) = body.get(12) else {
        return Err("short GTID event".into());
    };
    if flags & (FL_PREPARED_XA | FL_COMPLETED_XA) == 0 {
        return Ok(None);
    }
    let mut at = 13;
    if flags & FL_GROUP_COMMIT_ID != 0 {
        at += 8;
    }
    let short = || format!("GTID event of {} bytes too short for its XA id", body.len());
    let head = body.get(at..at + 6).ok_or_else(short)?;
    let len = usize::from(head[4]) + usize::from(head[5]);
    // The xid as the server compares it: format id, both lengths, gtrid and bqual.
    let xid = body.get(at..at + 6 + len).ok_or_else(short)?.to_vec();
    Ok(Some(if flags & FL_PREPARED_XA != 0 { XaGroup::Prepare(xid) } else { XaGroup::Complete(xid) }))
}

struct Prepared {
    xid: Vec<u8>,
    events: Vec<SourceEvent>,
    /// The resume point before the prepared group.
    since: Position,
    /// When it was prepared (unix seconds).
    at: u32,
}

/// Prepared XA transactions awaiting their outcome, oldest first.
#[derive(Default)]
pub(crate) struct XaTransactions {
    prepared: Vec<Prepared>,
}

impl XaTransactions {
    /// The group for `xid`, which began after resume point `since`, was prepared with these rows.
    pub fn prepared(&mut self, xid: Vec<u8>, events: Vec<SourceEvent>, since: Position, at: u32) {
        self.prepared.retain(|p| p.xid != xid);
        self.prepared.push(Prepared { xid, events, since, at });
    }

    /// What is prepared now, for the status.
    pub fn summary(&self) -> Option<XaPrepared> {
        let oldest = self.prepared.first()?;
        Some(XaPrepared {
            transactions: self.prepared.len(),
            oldest_xid: xid_text(&oldest.xid),
            oldest_prepared_at: oldest.at,
        })
    }

    /// The rows of `xid`, now committed; `None` if its prepare was not read (it came before the
    /// stream's start).
    pub fn commit(&mut self, xid: &[u8]) -> Option<Vec<SourceEvent>> {
        let i = self.prepared.iter().position(|p| p.xid == xid)?;
        Some(self.prepared.remove(i).events)
    }

    pub fn rollback(&mut self, xid: &[u8]) {
        self.prepared.retain(|p| p.xid != xid);
    }

    /// Where a restart must read from so no prepared rows are lost: the resume point before the
    /// oldest prepared group, while there is one.
    pub fn hold(&self) -> Option<&Position> {
        self.prepared.first().map(|p| &p.since)
    }
}

/// An xid as `xa_group` reads it (format id, lengths, gtrid, bqual) -> `gtrid[,bqual]`.
fn xid_text(xid: &[u8]) -> String {
    let (Some(&g), Some(&b)) = (xid.get(4), xid.get(5)) else {
        return String::new();
    };
    let data = &xid[6..];
    let gtrid = String::from_utf8_lossy(data.get(..g as usize).unwrap_or(data));
    match data.get(g as usize..g as usize + b as usize) {
        Some(bqual) if !bqual.is_empty() => format!("{gtrid},{}", String::from_utf8_lossy(bqual)),
        _ => gtrid.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtid_body(flags: u8, commit_id: bool, gtrid: &[u8]) -> Vec<u8> {
        let mut b = 7u64.to_le_bytes().to_vec();
        b.extend(0u32.to_le_bytes());
        b.push(flags);
        if commit_id {
            b.extend(99u64.to_le_bytes());
        }
        b.extend(1u32.to_le_bytes());
        b.extend([gtrid.len() as u8, 0]);
        b.extend(gtrid);
        b
    }

    #[test]
    fn the_xid_is_read_past_a_commit_id() {
        let prepare = xa_group(&gtid_body(FL_PREPARED_XA, false, b"x1")).unwrap();
        let complete = xa_group(&gtid_body(FL_COMPLETED_XA | FL_GROUP_COMMIT_ID, true, b"x1")).unwrap();
        match (prepare, complete) {
            (Some(XaGroup::Prepare(a)), Some(XaGroup::Complete(b))) => assert_eq!(a, b),
            other => panic!("{other:?}"),
        }
        assert_eq!(xa_group(&gtid_body(0, false, b"")).unwrap(), None);
        let mut cut = gtid_body(FL_PREPARED_XA, false, b"x1");
        cut.pop();
        assert!(xa_group(&cut).is_err(), "a length past the end is an error, not a panic");
    }

    #[test]
    fn the_hold_is_the_oldest_prepared_group() {
        let at = |pos| Position { file: "bin.1".into(), pos, gtid: None };
        let mut xa = XaTransactions::default();
        assert!(xa.hold().is_none());
        let xid = |g: &[u8]| [&[1, 0, 0, 0, g.len() as u8, 0][..], g].concat();
        xa.prepared(xid(b"a"), vec![], at(100), 1_000);
        xa.prepared(xid(b"b"), vec![], at(200), 2_000);
        assert_eq!(xa.hold(), Some(&at(100)));
        assert_eq!(
            xa.summary(),
            Some(XaPrepared { transactions: 2, oldest_xid: "a".into(), oldest_prepared_at: 1_000 })
        );
        assert!(xa.commit(&xid(b"a")).is_some());
        assert_eq!(xa.hold(), Some(&at(200)));
        assert!(xa.commit(&xid(b"a")).is_none(), "committed once");
        xa.rollback(&xid(b"b"));
        assert!(xa.hold().is_none());
        assert_eq!(xa.summary(), None);
    }
}
