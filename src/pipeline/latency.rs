//! End-to-end latency over the last minute: source commit -> destination acknowledgement, one
//! sample per transaction, kept as per-second histograms so memory and cost stay fixed however
//! many transactions flow. Quantiles are the upper bound of the bucket they fall in.
//!
//! Source commit times have a resolution of one second (the binlog's), so a sample is "now
//! minus the commit's second": a transaction acknowledged 5 ms after it committed reads
//! between 5 and 1,005 ms.

/// Upper bounds (ms) of the buckets; one more bucket holds everything above the last.
const BOUNDS_MS: [u64; 17] =
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000];
const BUCKETS: usize = BOUNDS_MS.len() + 1;
/// Seconds kept.
const WINDOW_S: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Quantiles {
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
    /// Transactions the window holds.
    pub samples: u64,
}

#[derive(Debug, Clone)]
pub struct LatencyWindow {
    /// Slot `s % WINDOW_S` holds the histogram of unix second `s` (when `seconds` says so).
    slots: [[u32; BUCKETS]; WINDOW_S as usize],
    seconds: [u64; WINDOW_S as usize],
}

impl Default for LatencyWindow {
    fn default() -> Self {
        Self { slots: [[0; BUCKETS]; WINDOW_S as usize], seconds: [u64::MAX; WINDOW_S as usize] }
    }
}

impl LatencyWindow {
    /// One transaction acknowledged at `now_ms`, `latency_ms` after its commit.
    pub fn record(&mut self, now_ms: u64, latency_ms: u64) {
        let second = now_ms / 1000;
        let slot = (second % WINDOW_S) as usize;
        if self.seconds[slot] != second {
            self.seconds[slot] = second;
            self.slots[slot] = [0; BUCKETS];
        }
        let bucket = BOUNDS_MS.iter().position(|b| latency_ms <= *b).unwrap_or(BOUNDS_MS.len());
        self.slots[slot][bucket] = self.slots[slot][bucket].saturating_add(1);
    }

    /// p50/p95/p99 of the transactions acknowledged in the minute before `now_ms`; none when
    /// there were none. Above the last bound reads as that bound.
    pub fn quantiles(&self, now_ms: u64) -> Option<Quantiles> {
        let second = now_ms / 1000;
        let mut total = [0u64; BUCKETS];
        for (slot, at) in self.seconds.iter().enumerate() {
            if *at != u64::MAX && *at <= second && second - at < WINDOW_S {
                for (sum, n) in total.iter_mut().zip(self.slots[slot]) {
                    *sum += u64::from(n);
                }
            }
        }
        let samples: u64 = total.iter().sum();
        if samples == 0 {
            return None;
        }
        let at = |q: f64| {
            let rank = ((samples as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in total.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return BOUNDS_MS[i.min(BOUNDS_MS.len() - 1)];
                }
            }
            BOUNDS_MS[BOUNDS_MS.len() - 1]
        };
        Some(Quantiles { p50_ms: at(0.50), p95_ms: at(0.95), p99_ms: at(0.99), samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_last_minute() {
        let mut w = LatencyWindow::default();
        let t0 = 1_700_000_000_000;
        assert_eq!(w.quantiles(t0), None);
        for i in 0..98 {
            w.record(t0 + i * 10, 3);
        }
        w.record(t0 + 5, 700);
        w.record(t0 + 6, 40_000);
        let q = w.quantiles(t0 + 1_000).unwrap();
        assert_eq!((q.p50_ms, q.p95_ms, q.p99_ms, q.samples), (5, 5, 1_000, 100));
        // 61 s later, all of it has left the window; a new sample starts afresh.
        assert_eq!(w.quantiles(t0 + 61_000), None);
        w.record(t0 + 61_000, 150);
        let q = w.quantiles(t0 + 61_500).unwrap();
        assert_eq!((q.p50_ms, q.p99_ms, q.samples), (200, 200, 1));
    }

    #[test]
    fn slots_are_reused_without_counting_old_seconds() {
        let mut w = LatencyWindow::default();
        let t0 = 1_700_000_000_000;
        w.record(t0, 1);
        // The same slot, one window later: the old second's counts are gone.
        w.record(t0 + WINDOW_S * 1000, 4_000_000);
        let q = w.quantiles(t0 + WINDOW_S * 1000).unwrap();
        assert_eq!((q.p50_ms, q.samples), (3_600_000, 1));
    }
}
