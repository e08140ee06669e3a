//! The load a drill drives: `rows` inserts into `<db>.load (id, k, c)` in transactions of
//! 1,000, each followed by an UPDATE of every 100th key it inserted, paced so the load spans
//! the drill's faults. Every key's changes are known: INSERT, then UPDATE for every 100th.

use crate::common::{Services, Sql};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PER_TX: u64 = 1_000;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Row changes a load of `rows` inserts makes.
pub fn changes(rows: u64) -> u64 {
    rows + rows / 100
}

pub struct Load {
    handle: Option<JoinHandle<i64>>,
    finished_ms: Option<i64>,
    /// Row changes committed so far.
    pub committed: Arc<AtomicU64>,
    pub started_ms: i64,
    pub rows: u64,
}

impl Load {
    /// Starts writing `rows` rows into `db.load` at about `rate` row changes per second.
    pub fn start(services: &Services, db: &str, rows: u64, rate: u64) -> Load {
        let committed = Arc::new(AtomicU64::new(0));
        let (services, db, done) = (services.clone(), db.to_string(), committed.clone());
        let per_tx = Duration::from_secs_f64(changes(PER_TX) as f64 / rate as f64);
        let started_ms = now_ms();
        let handle = std::thread::spawn(move || {
            let mut sql = Sql::connect(&services);
            let start = std::time::Instant::now();
            for tx in 0..rows / PER_TX {
                let (first, last) = (tx * PER_TX + 1, (tx + 1) * PER_TX);
                let values: Vec<String> =
                    (first..=last).map(|id| format!("({id}, {}, 'row {id}')", id % 1000)).collect();
                sql.exec(&format!("INSERT INTO {db}.load VALUES {}", values.join(",")));
                sql.exec(&format!(
                    "UPDATE {db}.load SET k = k + 1 WHERE id BETWEEN {first} AND {last} AND id % 100 = 0"
                ));
                done.fetch_add(changes(PER_TX), Ordering::Relaxed);
                if let Some(wait) = (per_tx * (tx as u32 + 1)).checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            now_ms()
        });
        Load { handle: Some(handle), finished_ms: None, committed, started_ms, rows }
    }

    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }

    /// Waits until `share` (0..1) of the load is committed.
    pub fn wait_share(&self, share: f64) {
        let target = (changes(self.rows) as f64 * share) as u64;
        crate::common::wait_for("the load to progress", Duration::from_secs(300), || {
            (self.committed() >= target).then_some(())
        });
    }

    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            self.finished_ms = Some(h.join().expect("the load failed"));
        }
    }

    /// When the last transaction committed (unix ms), once joined.
    pub fn finished_ms(&self) -> Option<i64> {
        self.finished_ms
    }

    /// Row changes the load wrote per second while it ran.
    pub fn rate(&self) -> f64 {
        let end = self.finished_ms.unwrap_or_else(now_ms);
        let secs = ((end - self.started_ms) as f64 / 1000.0).max(0.001);
        self.committed() as f64 / secs
    }
}
