//! What a verification found and how far it is, as `GET /projects/{name}/verify` shows it.
//! [`Progress`] is the one writer (the running verification) and reader (the API) of a report;
//! the rates are worked out here, when a report is read.

use super::plan::{Job, TargetPlan};
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use utoipa::ToSchema;

/// How many keys of each kind a table's report lists.
pub const KEYS_SHOWN: usize = 10;
/// How many repair statements a report lists.
pub const STATEMENTS_SHOWN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerifyState {
    Running,
    Done,
    /// Stopped by an error (`error`), or finished with tables it could not compare.
    Failed,
}

/// Where a target table's verification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableState {
    Waiting,
    /// Reading the source tables and the target rows of their keys.
    Comparing,
    /// Reading the target's keys for rows no source table holds.
    ScanningTarget,
    /// Checking differences again (sync may be catching up).
    Rechecking,
    Done,
    Failed,
}

/// A verification: its state, totals, each target table, and the repair statements.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyReport {
    pub project: String,
    /// The connector whose destination is compared.
    pub connector: String,
    /// That destination (a data source).
    pub destination: String,
    pub state: VerifyState,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix milliseconds.
    pub started_at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    pub elapsed_s: f64,
    /// Source rows compared so far.
    pub rows: u64,
    pub rows_per_s: f64,
    /// Source rows the target holds as they are.
    pub matched: u64,
    /// Source rows the target lacks.
    pub missing: u64,
    /// Target rows no source table holds.
    pub extra: u64,
    /// Source rows the target holds with other values.
    pub different: u64,
    pub tables: Vec<TableReport>,
    pub repair: RepairReport,
}

/// One target table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableReport {
    /// `database.table` on the destination.
    pub target: String,
    /// The source tables compared with it (`database.table`).
    pub sources: Vec<String>,
    pub state: TableState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Source rows compared so far.
    pub rows: u64,
    /// Chunks of source rows compared so far.
    pub chunks: u64,
    /// Target rows whose key was looked for in the source tables.
    pub target_rows: u64,
    pub matched: u64,
    pub missing: u64,
    pub extra: u64,
    pub different: u64,
    /// The first missing keys, each a JSON array of the key's values.
    pub missing_keys: Vec<serde_json::Value>,
    pub extra_keys: Vec<serde_json::Value>,
    pub different_keys: Vec<serde_json::Value>,
    /// Keys held by more than one source table routed here (without a shard column they
    /// overwrite each other in the target: add `shard_column` to the route).
    pub collisions: u64,
    /// The first colliding keys, each with the source tables holding it.
    pub collision_keys: Vec<Collision>,
    pub elapsed_s: f64,
    pub rows_per_s: f64,
}

/// A primary key two or more shards hold.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Collision {
    /// The key's values.
    #[schema(value_type = Vec<Object>)]
    pub key: serde_json::Value,
    /// The source tables that hold it: `database.table`, on a sharded source
    /// `instance:database.table`.
    pub shards: Vec<String>,
}

/// The statements that make the destination equal to the source for the keys reported.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RepairReport {
    /// They are run on the destination (`"repair": true`).
    pub apply: bool,
    /// The first statements: `REPLACE INTO` for missing and different rows, `DELETE` for extra ones.
    pub statements: Vec<String>,
    /// How many there are.
    pub total: u64,
    /// How many ran on the destination.
    pub applied: u64,
}

/// What differs about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    Missing,
    Extra,
    Different,
}

struct Clock {
    started: Option<Instant>,
    took: Option<Duration>,
}

impl Clock {
    fn seconds(&self, now: Instant) -> f64 {
        match (self.started, self.took) {
            (_, Some(took)) => took.as_secs_f64(),
            (Some(started), None) => now.duration_since(started).as_secs_f64(),
            (None, None) => 0.0,
        }
    }
}

struct State {
    report: VerifyReport,
    run: Clock,
    tables: Vec<Clock>,
}

/// A report being written: the running verification updates it, the API reads copies.
pub struct Progress {
    state: Mutex<State>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `x` to the nearest `1 / per`.
fn round(x: f64, per: f64) -> f64 {
    (x * per).round() / per
}

/// Rows a second, to a tenth.
fn rate(rows: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round(rows as f64 / seconds, 10.0)
    } else {
        0.0
    }
}

impl Progress {
    pub fn new(job: &Job) -> Self {
        let report = VerifyReport {
            project: job.project.clone(),
            connector: job.connector.clone(),
            destination: job.destination.clone(),
            state: VerifyState::Running,
            error: None,
            started_at_ms: now_ms(),
            finished_at_ms: None,
            elapsed_s: 0.0,
            rows: 0,
            rows_per_s: 0.0,
            matched: 0,
            missing: 0,
            extra: 0,
            different: 0,
            tables: Vec::new(),
            repair: RepairReport { apply: job.repair, ..Default::default() },
        };
        let run = Clock { started: Some(Instant::now()), took: None };
        Progress { state: Mutex::new(State { report, run, tables: Vec::new() }) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The report as of now, with elapsed times and rates.
    pub fn snapshot(&self) -> VerifyReport {
        let now = Instant::now();
        self.with(|s| {
            let mut r = s.report.clone();
            r.elapsed_s = round(s.run.seconds(now), 1000.0);
            r.rows_per_s = rate(r.rows, r.elapsed_s);
            for (t, clock) in r.tables.iter_mut().zip(&s.tables) {
                t.elapsed_s = round(clock.seconds(now), 1000.0);
                t.rows_per_s = rate(t.rows, t.elapsed_s);
            }
            r
        })
    }

    pub fn is_running(&self) -> bool {
        self.with(|s| s.report.state == VerifyState::Running)
    }

    pub fn set_tables(&self, plans: &[TargetPlan]) {
        self.with(|s| {
            s.report.tables = plans
                .iter()
                .map(|p| TableReport {
                    target: p.target.to_string(),
                    sources: p.compare.iter().map(|t| t.name.to_string()).collect(),
                    state: TableState::Waiting,
                    error: None,
                    rows: 0,
                    chunks: 0,
                    target_rows: 0,
                    matched: 0,
                    missing: 0,
                    extra: 0,
                    different: 0,
                    missing_keys: Vec::new(),
                    extra_keys: Vec::new(),
                    different_keys: Vec::new(),
                    collisions: 0,
                    collision_keys: Vec::new(),
                    elapsed_s: 0.0,
                    rows_per_s: 0.0,
                })
                .collect();
            s.tables = plans.iter().map(|_| Clock { started: None, took: None }).collect();
        })
    }

    pub fn table_state(&self, table: usize, state: TableState) {
        self.with(|s| {
            let clock = &mut s.tables[table];
            if clock.started.is_none() {
                clock.started = Some(Instant::now());
            }
            if matches!(state, TableState::Done | TableState::Failed) {
                clock.took = clock.started.map(|t| t.elapsed());
            }
            s.report.tables[table].state = state;
        })
    }

    pub fn table_failed(&self, table: usize, error: String) {
        self.table_state(table, TableState::Failed);
        self.with(|s| s.report.tables[table].error = Some(error));
    }

    /// A chunk of `rows` source rows compared, `matched` of them the same in the target.
    pub fn chunk(&self, table: usize, rows: usize, matched: usize) {
        self.with(|s| {
            let t = &mut s.report.tables[table];
            t.rows += rows as u64;
            t.chunks += 1;
            t.matched += matched as u64;
            s.report.rows += rows as u64;
            s.report.matched += matched as u64;
        })
    }

    pub fn target_chunk(&self, table: usize, rows: usize) {
        self.with(|s| s.report.tables[table].target_rows += rows as u64)
    }

    /// A source row first seen as differing is the same after all.
    pub fn settled(&self, table: usize) {
        self.with(|s| {
            s.report.tables[table].matched += 1;
            s.report.matched += 1;
        })
    }

    /// A key more than one source table holds.
    pub fn collided(&self, table: usize, collision: Collision) {
        self.with(|s| {
            let t = &mut s.report.tables[table];
            t.collisions += 1;
            if t.collision_keys.len() < KEYS_SHOWN {
                t.collision_keys.push(collision);
            }
        })
    }

    /// A difference that persisted, with its key (a JSON array).
    pub fn found(&self, table: usize, finding: Finding, key: serde_json::Value) {
        self.with(|s| {
            let r = &mut s.report;
            let t = &mut r.tables[table];
            let (count, keys, total) = match finding {
                Finding::Missing => (&mut t.missing, &mut t.missing_keys, &mut r.missing),
                Finding::Extra => (&mut t.extra, &mut t.extra_keys, &mut r.extra),
                Finding::Different => (&mut t.different, &mut t.different_keys, &mut r.different),
            };
            *count += 1;
            *total += 1;
            if keys.len() < KEYS_SHOWN {
                keys.push(key);
            }
        })
    }

    /// A repair statement, `applied` when it ran on the destination.
    pub fn statement(&self, statement: String, applied: bool) {
        self.with(|s| {
            let repair = &mut s.report.repair;
            repair.total += 1;
            repair.applied += u64::from(applied);
            if repair.statements.len() < STATEMENTS_SHOWN {
                repair.statements.push(statement);
            }
        })
    }

    /// The end: done, or failed with `error` (a failed table fails the whole).
    pub fn finish(&self, error: Option<String>) {
        self.with(|s| {
            s.run.took = s.run.started.map(|t| t.elapsed());
            let failed_tables: Vec<String> = s
                .report
                .tables
                .iter()
                .filter_map(|t| t.error.as_ref().map(|e| format!("{}: {e}", t.target)))
                .collect();
            let error = error.or_else(|| {
                (!failed_tables.is_empty()).then(|| {
                    format!(
                        "{} table(s) could not be verified: {}",
                        failed_tables.len(),
                        failed_tables.join("; ")
                    )
                })
            });
            s.report.state = if error.is_some() { VerifyState::Failed } else { VerifyState::Done };
            s.report.error = error;
            s.report.finished_at_ms = Some(now_ms());
        })
    }
}
