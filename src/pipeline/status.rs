//! Live figures of a running project, written by its store and connector, read by the API.

use super::latency::{LatencyWindow, Quantiles};
use crate::model::{Position, TableName};
use crate::snapshot::TableProgress;
use crate::source::XaPrepared;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// Each connector running on this node, by id.
    connectors: Mutex<BTreeMap<String, Arc<ConnectorStatus>>>,
    /// When the store started here (unix ms) and its log's appended bytes then: where its
    /// counters start (`store_rows` counts from 0).
    pub store_started: Mutex<Option<(u64, u64)>>,
    /// A full sync's progress, each table's as its last chunk in the log left it.
    snapshot: Mutex<SnapshotStatus>,
    /// Tables the API asked to copy again, until the store takes them.
    snapshot_requests: Mutex<Vec<TableName>>,
    /// Raised with each request.
    pub snapshot_requested: tokio::sync::Notify,
}

/// A full sync as the store last recorded it.
#[derive(Debug, Clone, Default)]
pub struct SnapshotStatus {
    pub tables: BTreeMap<String, TableProgress>,
    /// When this run's copy began, and the rows copied by then (the rate since).
    pub began: Option<(Instant, u64)>,
}

impl SnapshotStatus {
    pub fn copied_rows(&self) -> u64 {
        self.tables.values().map(|t| t.copied_rows).sum()
    }

    /// Rows copied per second in this run.
    pub fn rows_per_s(&self) -> u64 {
        match self.began {
            Some((at, rows)) => {
                let secs = at.elapsed().as_secs_f64();
                if secs < 0.5 {
                    0
                } else {
                    (self.copied_rows().saturating_sub(rows) as f64 / secs) as u64
                }
            }
            None => 0,
        }
    }
}

/// Live figures of one connector, kept by the node that runs it.
pub struct ConnectorStatus {
    pub rows_per_s: AtomicU64,
    pub bytes_per_s: AtomicU64,
    last_error: Mutex<Option<String>>,
    latency: Mutex<LatencyWindow>,
    /// The last rate sample: when, rows and bytes acknowledged by then.
    sampled: Mutex<Option<(Instant, u64, u64)>>,
    /// When this run began (unix ms), rows and bytes acknowledged by then.
    started: Mutex<Option<(u64, u64, u64)>>,
}

impl Default for ConnectorStatus {
    fn default() -> Self {
        Self {
            rows_per_s: AtomicU64::new(0),
            bytes_per_s: AtomicU64::new(0),
            last_error: Mutex::new(None),
            latency: Mutex::new(LatencyWindow::default()),
            sampled: Mutex::new(None),
            started: Mutex::new(None),
        }
    }
}

impl ConnectorStatus {
    pub fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A transaction the destination acknowledged at `now_ms`, committed at `commit_ts`
    /// (unix seconds).
    pub fn acknowledged(&self, now_ms: u64, commit_ts: u32) {
        let latency = now_ms.saturating_sub(u64::from(commit_ts) * 1000);
        self.latency.lock().unwrap_or_else(|p| p.into_inner()).record(now_ms, latency);
    }

    /// Source commit -> acknowledgement over the minute before `now_ms`.
    pub fn latency(&self, now_ms: u64) -> Option<Quantiles> {
        self.latency.lock().unwrap_or_else(|p| p.into_inner()).quantiles(now_ms)
    }

    /// A run begins at `now_ms` from a checkpoint with these totals.
    pub fn begin(&self, now_ms: u64, rows: u64, bytes: u64) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some((now_ms, rows, bytes));
        self.sample(rows, bytes);
    }

    /// When this run began (unix ms), and its totals then.
    pub fn started(&self) -> Option<(u64, u64, u64)> {
        *self.started.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows and bytes acknowledged since the project began, as of the last sample.
    pub fn totals(&self) -> Option<(u64, u64)> {
        self.sampled.lock().unwrap_or_else(|p| p.into_inner()).map(|(_, rows, bytes)| (rows, bytes))
    }

    /// Rows and bytes acknowledged so far (since the project began): sets the rates over the
    /// time since the last sample.
    pub fn sample(&self, rows: u64, bytes: u64) {
        let now = Instant::now();
        let mut sampled = self.sampled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, old_rows, old_bytes)) = *sampled {
            let secs = now.duration_since(at).as_secs_f64();
            if secs < 0.5 {
                return;
            }
            let rate = |new: u64, old: u64| (new.saturating_sub(old) as f64 / secs) as u64;
            self.rows_per_s.store(rate(rows, old_rows), Ordering::Relaxed);
            self.bytes_per_s.store(rate(bytes, old_bytes), Ordering::Relaxed);
        }
        *sampled = Some((now, rows, bytes));
    }
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

    /// Connector `id`'s figures (created on first use).
    pub fn connector(&self, id: &str) -> Arc<ConnectorStatus> {
        let mut connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        connectors.entry(id.to_string()).or_default().clone()
    }

    /// Every connector that ran on this node, with its figures.
    pub fn connectors_here(&self) -> Vec<(String, Arc<ConnectorStatus>)> {
        let connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        connectors.iter().map(|(id, c)| (id.clone(), c.clone())).collect()
    }

    /// The figures of connector `id`, when it ran on this node.
    pub fn connector_here(&self, id: &str) -> Option<Arc<ConnectorStatus>> {
        self.connectors.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    pub fn store_committed_seq(&self) -> u64 {
        self.store_committed_seq.load(Ordering::Relaxed)
    }

    /// The full sync's tables as a store run starts (from its log): the rate counts from here.
    pub fn snapshot_begins(&self, tables: &[TableProgress]) {
        let mut s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        s.tables = tables.iter().map(|t| (t.table.to_string(), t.clone())).collect();
        s.began = Some((Instant::now(), s.copied_rows()));
    }

    /// A table's progress, as a chunk just appended left it.
    pub fn snapshot_progress(&self, table: &TableProgress) {
        let mut s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        s.tables.insert(table.table.to_string(), table.clone());
    }

    /// Asks the store to copy `tables` again (from their first row), beside its changes.
    pub fn request_snapshot(&self, tables: Vec<TableName>) {
        self.snapshot_requests.lock().unwrap_or_else(|p| p.into_inner()).extend(tables);
        self.snapshot_requested.notify_one();
    }

    /// The tables asked for since the last call.
    pub fn take_snapshot_requests(&self) -> Vec<TableName> {
        std::mem::take(&mut *self.snapshot_requests.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The full sync's progress (no tables: the project copies none).
    pub fn snapshot(&self) -> SnapshotStatus {
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
