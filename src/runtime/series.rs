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

/// One project's figures at one moment, from one node.
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

#[derive(Clone, Default)]
pub struct Series(Arc<Mutex<HashMap<String, VecDeque<Point>>>>);

impl Series {
    /// Project `name`'s points after `since_ms`, oldest first.
    pub fn since(&self, name: &str, since_ms: u64) -> Vec<Point> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).map(|q| q.iter().filter(|p| p.at_ms > since_ms).cloned().collect()).unwrap_or_default()
    }

    fn push(&self, name: &str, point: Point) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let points = map.entry(name.to_string()).or_default();
        points.push_back(point);
        while points.len() > KEPT {
            points.pop_front();
        }
    }

    /// Forgets projects with no point in the last hour.
    fn prune(&self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(KEPT as u64 * RESOLUTION_S * 1000);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, q| q.back().is_some_and(|p| p.at_ms > horizon));
    }

    /// One point for every project running here, at `at_ms`.
    pub fn sample(&self, live: &LiveStatus, at_ms: u64) {
        for (name, project) in live.all() {
            let status = &project.status;
            let store = project.store.is_some();
            let connectors = status
                .connectors_here()
                .into_iter()
                .map(|(id, c)| {
                    let point = ConnectorPoint {
                        rows_per_s: c.rows_per_s.load(Ordering::Relaxed),
                        bytes_per_s: c.bytes_per_s.load(Ordering::Relaxed),
                        latency_p99_ms: c.latency(at_ms).map(|q| q.p99_ms),
                    };
                    (id, point)
                })
                .collect();
            let point = Point {
                at_ms,
                store_rows_per_s: store.then(|| status.store_rows_per_s.load(Ordering::Relaxed)),
                store_bytes_per_s: store.then(|| status.store_bytes_per_s.load(Ordering::Relaxed)),
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
