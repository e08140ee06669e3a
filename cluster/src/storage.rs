//! `raft::Storage` on RocksDB: the log entries, the HardState and the latest snapshot.
//!
//! Invariants:
//! - entries `(snapshot.index, last_index]` are all present, in RocksDB and mirrored in memory
//!   (the log is compacted every few thousand entries, so the mirror stays small);
//! - new entries and the HardState that goes with them are written in one synced batch
//!   ([`RaftStorage::persist`]) before any message that depends on them is sent;
//! - a snapshot and the removal of the entries it covers are one synced batch;
//! - the ConfState lives in the snapshot's metadata: conf changes after it are re-applied from
//!   the log at start, like every other committed entry.

use crate::ClusterError;
use protobuf::Message as _;
use raft::eraftpb::{Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const CF_ENTRIES: &str = "entries";
const CF_META: &str = "meta";
const KEY_HARD_STATE: &[u8] = b"hard_state";
const KEY_SNAPSHOT: &[u8] = b"snapshot";

pub struct RaftStorage {
    /// Set when a follower asked for a snapshot the stored one cannot serve.
    snapshot_requested: AtomicBool,
    db: DB,
    sync: WriteOptions,
    hard_state: HardState,
    snapshot: Snapshot,
    /// Entries after the snapshot, in index order.
    entries: Vec<Entry>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Corrupt { index: 0, reason: format!("{what}: {e}") }
}

impl RaftStorage {
    pub fn open(dir: &Path) -> Result<Self, ClusterError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_ENTRIES, CF_META].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        let meta = db.cf_handle(CF_META).expect("column family created at open");
        let hard_state = match db.get_cf(meta, KEY_HARD_STATE)? {
            Some(b) => HardState::parse_from_bytes(&b).map_err(|e| corrupt("hard state", e))?,
            None => HardState::default(),
        };
        let snapshot = match db.get_cf(meta, KEY_SNAPSHOT)? {
            Some(b) => Snapshot::parse_from_bytes(&b).map_err(|e| corrupt("snapshot", e))?,
            None => Snapshot::default(),
        };
        let mut entries = Vec::new();
        let start = (snapshot.get_metadata().index + 1).to_be_bytes();
        let cf = db.cf_handle(CF_ENTRIES).expect("column family created at open");
        for item in db.iterator_cf(cf, rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward)) {
            let (_, v) = item?;
            let entry = Entry::parse_from_bytes(&v).map_err(|e| corrupt("log entry", e))?;
            let expected = snapshot.get_metadata().index + 1 + entries.len() as u64;
            if entry.index != expected {
                return Err(ClusterError::Corrupt {
                    index: entry.index,
                    reason: format!("log gap: expected entry {expected}"),
                });
            }
            entries.push(entry);
        }
        Ok(Self { snapshot_requested: AtomicBool::new(false), db, sync, hard_state, snapshot, entries })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family created at open")
    }

    /// True once the node has a log: bootstrapped, joined or restarted.
    pub fn is_initialized(&self) -> bool {
        self.snapshot.get_metadata().index > 0 || !self.entries.is_empty() || self.hard_state.term > 0
    }

    pub fn snapshot_ref(&self) -> &Snapshot {
        &self.snapshot
    }

    fn first(&self) -> u64 {
        self.snapshot.get_metadata().index + 1
    }

    fn last(&self) -> u64 {
        self.snapshot.get_metadata().index + self.entries.len() as u64
    }

    /// Persists new entries (replacing any from the first one's index on) and the HardState,
    /// in one synced write.
    pub fn persist(&mut self, entries: &[Entry], hard_state: Option<&HardState>) -> Result<(), ClusterError> {
        if entries.is_empty() && hard_state.is_none() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        if let Some(first) = entries.first() {
            assert!(first.index >= self.first(), "append of compacted entry {}", first.index);
            assert!(first.index <= self.last() + 1, "gap before entry {}", first.index);
            if first.index <= self.last() {
                batch.delete_range_cf(self.cf(CF_ENTRIES), first.index.to_be_bytes(), u64::MAX.to_be_bytes());
            }
            for e in entries {
                let bytes = e.write_to_bytes().map_err(|e| corrupt("encode entry", e))?;
                batch.put_cf(self.cf(CF_ENTRIES), e.index.to_be_bytes(), bytes);
            }
        }
        if let Some(hs) = hard_state {
            let bytes = hs.write_to_bytes().map_err(|e| corrupt("encode hard state", e))?;
            batch.put_cf(self.cf(CF_META), KEY_HARD_STATE, bytes);
        }
        self.db.write_opt(batch, &self.sync)?;
        if let Some(first) = entries.first() {
            let keep = (first.index - self.first()) as usize;
            self.entries.truncate(keep);
            self.entries.extend_from_slice(entries);
        }
        if let Some(hs) = hard_state {
            self.hard_state = hs.clone();
        }
        Ok(())
    }

    /// Records a commit index learnt after the entries were persisted. Not synced: a lost commit
    /// index is learnt again from the leader.
    pub fn set_commit(&mut self, commit: u64) -> Result<(), ClusterError> {
        self.hard_state.commit = commit;
        let bytes = self.hard_state.write_to_bytes().map_err(|e| corrupt("encode hard state", e))?;
        self.db.put_cf(self.cf(CF_META), KEY_HARD_STATE, bytes)?;
        Ok(())
    }

    /// Installs a snapshot received from the leader (or the bootstrap snapshot): it replaces the
    /// whole log.
    pub fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<(), ClusterError> {
        let meta = snapshot.get_metadata();
        let mut hs = self.hard_state.clone();
        hs.term = hs.term.max(meta.term);
        hs.commit = hs.commit.max(meta.index);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_ENTRIES), 0u64.to_be_bytes(), u64::MAX.to_be_bytes());
        batch.put_cf(
            self.cf(CF_META),
            KEY_SNAPSHOT,
            snapshot.write_to_bytes().map_err(|e| corrupt("snapshot", e))?,
        );
        batch.put_cf(
            self.cf(CF_META),
            KEY_HARD_STATE,
            hs.write_to_bytes().map_err(|e| corrupt("hard state", e))?,
        );
        self.db.write_opt(batch, &self.sync)?;
        self.entries.clear();
        self.hard_state = hs;
        self.snapshot = snapshot;
        Ok(())
    }

    /// Keeps `snapshot` (of the state machine at an applied index) as the latest snapshot and
    /// drops the entries it covers.
    pub fn compact(&mut self, snapshot: Snapshot) -> Result<(), ClusterError> {
        let index = snapshot.get_metadata().index;
        if index <= self.snapshot.get_metadata().index {
            return Ok(());
        }
        assert!(index <= self.last(), "snapshot {index} beyond the log's last entry {}", self.last());
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_META),
            KEY_SNAPSHOT,
            snapshot.write_to_bytes().map_err(|e| corrupt("snapshot", e))?,
        );
        batch.delete_range_cf(self.cf(CF_ENTRIES), 0u64.to_be_bytes(), (index + 1).to_be_bytes());
        self.db.write_opt(batch, &self.sync)?;
        let drop = (index - self.snapshot.get_metadata().index) as usize;
        self.entries.drain(..drop);
        self.snapshot = snapshot;
        Ok(())
    }

    /// Whether a follower asked for a newer snapshot since the last call.
    pub fn take_snapshot_request(&self) -> bool {
        self.snapshot_requested.swap(false, Ordering::AcqRel)
    }

    /// The term of entry `index`, if the log has it (or the snapshot ends there).
    pub fn term_of(&self, index: u64) -> Option<u64> {
        raft::Storage::term(self, index).ok()
    }
}

impl raft::Storage for RaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.snapshot.get_metadata().get_conf_state().clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let offset = self.first();
        let mut out = self.entries[(low - offset) as usize..(high - offset) as usize].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let meta = self.snapshot.get_metadata();
        if idx == meta.index {
            return Ok(meta.term);
        }
        if idx < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last() {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.entries[(idx - self.first()) as usize].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let meta = self.snapshot.get_metadata();
        let conf = meta.get_conf_state();
        let knows_to = conf.voters.contains(&to) || conf.learners.contains(&to);
        if meta.index < request_index || !knows_to {
            // Too old for this follower (it was added after the snapshot was taken): the Raft
            // loop takes a new one, raft asks again later.
            self.snapshot_requested.store(true, Ordering::Release);
            return Err(raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage as _;

    fn entry(index: u64, term: u64) -> Entry {
        Entry { index, term, data: format!("e{index}").into_bytes().into(), ..Default::default() }
    }

    fn snapshot(index: u64, term: u64, voters: Vec<u64>) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = term;
        s.mut_metadata().mut_conf_state().voters = voters;
        s.data = b"state".to_vec().into();
        s
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cluster-storage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn entries_hard_state_and_snapshots_survive_reopen() {
        let d = dir("reopen");
        {
            let mut s = RaftStorage::open(&d).unwrap();
            assert!(!s.is_initialized());
            s.install_snapshot(snapshot(1, 1, vec![1, 2, 3])).unwrap();
            let hs = HardState { term: 2, vote: 3, commit: 3, ..Default::default() };
            s.persist(&[entry(2, 1), entry(3, 2), entry(4, 2)], Some(&hs)).unwrap();
            // A new leader overwrites the tail from index 4.
            s.persist(&[entry(4, 3), entry(5, 3)], None).unwrap();
            assert_eq!(s.last_index().unwrap(), 5);
            assert_eq!(s.term(4).unwrap(), 3);
        }
        let mut s = RaftStorage::open(&d).unwrap();
        assert!(s.is_initialized());
        let state = s.initial_state().unwrap();
        assert_eq!((state.hard_state.term, state.hard_state.vote), (2, 3));
        assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (2, 5));
        let got = s.entries(2, 6, None, GetEntriesContext::empty(false)).unwrap();
        assert_eq!(
            got.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
            [(2, 1), (3, 2), (4, 3), (5, 3)]
        );

        s.compact(snapshot(4, 3, vec![1, 2])).unwrap();
        assert_eq!(s.first_index().unwrap(), 5);
        assert_eq!(s.term(4).unwrap(), 3);
        assert!(matches!(s.term(3), Err(raft::Error::Store(StorageError::Compacted))));
        assert!(matches!(
            s.entries(4, 6, None, GetEntriesContext::empty(false)),
            Err(raft::Error::Store(StorageError::Compacted))
        ));
        drop(s);
        let s = RaftStorage::open(&d).unwrap();
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (5, 5));
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2]);
        assert_eq!(s.snapshot(4, 2).unwrap().data.as_ref(), b"state");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn size_limit_returns_at_least_one_entry() {
        let d = dir("limit");
        let mut s = RaftStorage::open(&d).unwrap();
        s.persist(&[entry(1, 1), entry(2, 1), entry(3, 1)], None).unwrap();
        assert_eq!(s.entries(1, 4, Some(0), GetEntriesContext::empty(false)).unwrap().len(), 1);
        assert_eq!(s.entries(1, 4, None, GetEntriesContext::empty(false)).unwrap().len(), 3);
        std::fs::remove_dir_all(d).unwrap();
    }
}
