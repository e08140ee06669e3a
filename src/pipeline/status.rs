//! Live figures of a running project, written by its store and connector, read by the API.

use crate::model::Position;
use crate::source::XaPrepared;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct PipelineStatus {
    /// Rows the store appended to the change log.
    pub store_rows: AtomicU64,
    /// Change-log sequence of the last transaction end the store appended: the connector is
    /// caught up when its checkpoint reaches it.
    pub store_committed_seq: AtomicU64,
    pub store_position: Mutex<Option<Position>>,
    /// Time (unix seconds) of the last transaction end or progress the store read: how far in
    /// the source's time it has come.
    pub store_ts: AtomicU64,
    /// The last error of the store or connector (transient ones too), for the API.
    pub last_error: Mutex<Option<String>>,
    /// Why the store stopped pulling (its disk high-water mark), while it waits.
    pub store_paused: Mutex<Option<String>>,
    /// Rows and bytes the store pulled per second, over its last few seconds.
    pub store_rows_per_s: AtomicU64,
    pub store_bytes_per_s: AtomicU64,
    /// Synced tables whose rows the store no longer decodes (`db.table` -> why).
    pub stopped_tables: Mutex<BTreeMap<String, String>>,
    /// XA transactions prepared and awaiting their outcome, as the store last read.
    pub xa_prepared: Mutex<Option<XaPrepared>>,
    /// Errors each component (`store`, `connector/<id>`) stopped on and was restarted after.
    pub errors: Mutex<BTreeMap<String, u64>>,
}

impl PipelineStatus {
    pub fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn store_position(&self) -> Option<Position> {
        self.store_position.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn store_ts(&self) -> u32 {
        self.store_ts.load(Ordering::Relaxed) as u32
    }

    pub fn store_paused(&self) -> Option<String> {
        self.store_paused.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn stopped_tables(&self) -> BTreeMap<String, String> {
        self.stopped_tables.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn xa_prepared(&self) -> Option<XaPrepared> {
        self.xa_prepared.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn count_error(&self, component: &str) {
        *self.errors.lock().unwrap_or_else(|p| p.into_inner()).entry(component.to_string()).or_default() += 1;
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn store_committed_seq(&self) -> u64 {
        self.store_committed_seq.load(Ordering::Relaxed)
    }
}
