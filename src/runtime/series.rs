//! The recent figures of the projects running on this node, every 10 s for the last hour, in
//! memory: what the console plots. Each node keeps what it runs (a store, connectors); the API
//! merges the nodes' series of a project.

use super::LiveStatus;
use crate::pipeline::connector::now_ms;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seconds between points.
pub const RESOLUTION_S: u64 = 10;
/// Points kept per project: one hour.
const KEPT: usize = (3600 / RESOLUTION_S) as usize;

/// One project's figures over the 10 s before `at_ms`, from one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Point {
    /// Unix ms, a multiple of the resolution (so the nodes' points line up).
    pub at_ms: u64,
    /// The store's pull rates, when the store ran on this node.
    pub store_rows_per_s: Option<u64>,
    pub store_bytes_per_s: Option<u64>,
    /// Each connector that ran on this node.
    pub connectors: BTreeMap<String, ConnectorPoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectorPoint {
    pub rows_per_s: u64,
    pub bytes_per_s: u64,
    /// p99 of source commit -> acknowledgement over the minute before (none without
    /// transactions).
    pub latency_p99_ms: Option<u64>,
}

/// A component's counters at its last sample: when (unix ms), rows and bytes by then.
type Totals = (u64, u64, u64);

#[derive(Clone, Default)]
pub struct Series {
    points: Arc<Mutex<HashMap<String, VecDeque<Point>>>>,
    /// Per (project, component): when it was last sampled and its rows and bytes by then.
    totals: Arc<Mutex<HashMap<(String, String), Totals>>>,
}

impl Series {
    /// Rows/s and bytes/s of `component` since its last sample, or at its first since it
    /// `started` (what a point stands for: its whole interval), from counters that only grow
    /// while it runs; none when neither is known (or its counters started over).
    fn average(
        &self,
        project: &str,
        component: &str,
        started: Option<Totals>,
        at_ms: u64,
        rows: u64,
        bytes: u64,
    ) -> Option<(u64, u64)> {
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        let key = (project.to_string(), component.to_string());
        let last = totals.insert(key, (at_ms, rows, bytes)).or(started)?;
        let (then, old_rows, old_bytes) = last;
        let secs = at_ms.checked_sub(then).filter(|ms| *ms > 0)? as f64 / 1000.0;
        let rate = |new: u64, old: u64| new.checked_sub(old).map(|d| (d as f64 / secs).round() as u64);
        Some((rate(rows, old_rows)?, rate(bytes, old_bytes)?))
    }

    /// Project `name`'s points after `since_ms`, oldest first.
    pub fn since(&self, name: &str, since_ms: u64) -> Vec<Point> {
        let map = self.points.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).map(|q| q.iter().filter(|p| p.at_ms > since_ms).cloned().collect()).unwrap_or_default()
    }

    fn push(&self, name: &str, point: Point) {
        let mut map = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let points = map.entry(name.to_string()).or_default();
        points.push_back(point);
        while points.len() > KEPT {
            points.pop_front();
        }
    }

    /// Forgets projects with no point in the last hour.
    fn prune(&self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(KEPT as u64 * RESOLUTION_S * 1000);
        let mut map = self.points.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, q| q.back().is_some_and(|p| p.at_ms > horizon));
        drop(map);
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals.retain(|_, (at, _, _)| *at > horizon);
    }

    /// One point for every project running here, at `at_ms`: rates averaged over the interval
    /// since the last point (the last few seconds' rates at a component's first point).
    pub fn sample(&self, live: &LiveStatus, at_ms: u64) {
        for (name, project) in live.all() {
            let status = &project.status;
            let connectors = status
                .connectors_here()
                .into_iter()
                .map(|(id, c)| {
                    let recent =
                        (c.rows_per_s.load(Ordering::Relaxed), c.bytes_per_s.load(Ordering::Relaxed));
                    let (rows, bytes) = c.totals().unwrap_or((0, 0));
                    let averaged = self.average(&name, &id, c.started(), at_ms, rows, bytes);
                    let (rows_per_s, bytes_per_s) = averaged.unwrap_or(recent);
                    let point = ConnectorPoint {
                        rows_per_s,
                        bytes_per_s,
                        latency_p99_ms: c.latency(at_ms).map(|q| q.p99_ms),
                    };
                    (id, point)
                })
                .collect();
            let store = project.store.as_ref().map(|store| {
                let recent = (
                    status.store_rows_per_s.load(Ordering::Relaxed),
                    status.store_bytes_per_s.load(Ordering::Relaxed),
                );
                let (rows, bytes) = (status.store_rows.load(Ordering::Relaxed), store.log.appended_bytes());
                let started = *status.store_started.lock().unwrap_or_else(|p| p.into_inner());
                let started = started.map(|(at, bytes)| (at, 0, bytes));
                self.average(&name, "store", started, at_ms, rows, bytes).unwrap_or(recent)
            });
            let point = Point {
                at_ms,
                store_rows_per_s: store.map(|s| s.0),
                store_bytes_per_s: store.map(|s| s.1),
                connectors,
            };
            self.push(&name, point);
        }
        self.prune(at_ms);
    }
}

/// Samples every [`RESOLUTION_S`] seconds, on the boundary, until the runtime stops.
pub async fn keep_series(live: LiveStatus, series: Series) {
    let step = RESOLUTION_S * 1000;
    loop {
        let now = now_ms();
        let next = (now / step + 1) * step;
        tokio::time::sleep(Duration::from_millis(next - now)).await;
        series.sample(&live, next);
    }
}

/// Merges the points of several nodes by time: the store's figures from whichever node had
/// them, each connector's from its own.
pub fn merge(sets: Vec<Vec<Point>>) -> Vec<Point> {
    let mut by_time: BTreeMap<u64, Point> = BTreeMap::new();
    for point in sets.into_iter().flatten() {
        let merged =
            by_time.entry(point.at_ms).or_insert_with(|| Point { at_ms: point.at_ms, ..Default::default() });
        if point.store_rows_per_s.is_some() {
            merged.store_rows_per_s = point.store_rows_per_s;
            merged.store_bytes_per_s = point.store_bytes_per_s;
        }
        merged.connectors.extend(point.connectors);
    }
    by_time.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: u64, store: Option<u64>, connector: Option<(&str, u64)>) -> Point {
        Point {
            at_ms,
            store_rows_per_s: store,
            store_bytes_per_s: store.map(|r| r * 100),
            connectors: connector
                .map(|(id, r)| {
                    (
                        id.to_string(),
                        ConnectorPoint { rows_per_s: r, bytes_per_s: r * 90, latency_p99_ms: None },
                    )
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn nodes_points_merge_by_time() {
        let store_node =
            vec![point(10_000, Some(5), Some(("k1", 4))), point(20_000, Some(6), Some(("k1", 5)))];
        let other = vec![point(20_000, None, Some(("k2", 7))), point(30_000, None, Some(("k2", 8)))];
        let merged = merge(vec![other, store_node]);
        assert_eq!(merged.iter().map(|p| p.at_ms).collect::<Vec<_>>(), [10_000, 20_000, 30_000]);
        assert_eq!(merged[1].store_rows_per_s, Some(6));
        assert_eq!(merged[1].connectors.keys().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(merged[2].store_rows_per_s, None);
    }

    #[test]
    fn a_point_averages_its_interval() {
        let series = Series::default();
        assert_eq!(series.average("p", "store", None, 10_000, 100, 1_000), None, "a first sample");
        assert_eq!(series.average("p", "store", None, 20_000, 350, 6_000), Some((25, 500)));
        assert_eq!(series.average("p", "store", None, 30_000, 350, 6_000), Some((0, 0)), "idle");
        assert_eq!(series.average("p", "store", None, 40_000, 10, 60), None, "counters started over");
        assert_eq!(series.average("p", "store", None, 50_000, 60, 160), Some((5, 10)));
        assert_eq!(series.average("p", "k1", None, 50_000, 1, 1), None, "each component apart");
        // A first sample counts from the component's start: a burst before it shows.
        let started = Some((45_000, 1_000, 500));
        assert_eq!(series.average("p", "k2", started, 50_000, 1_250, 1_000), Some((50, 100)));
        assert_eq!(series.average("p", "k2", started, 60_000, 1_250, 1_000), Some((0, 0)));
    }

    #[test]
    fn an_hour_is_kept() {
        let series = Series::default();
        for i in 0..(KEPT as u64 + 5) {
            series.push("p", point(i * 10_000, Some(i), None));
        }
        let all = series.since("p", 0);
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].at_ms, 50_000);
        assert_eq!(series.since("p", all[KEPT - 2].at_ms).len(), 1);
        series.prune(all[KEPT - 1].at_ms + 3_600_001);
        assert!(series.since("p", 0).is_empty(), "a project gone for an hour is forgotten");
    }
}
