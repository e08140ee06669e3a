//! One verification: the target tables one after the other; for each, its source tables page
//! by page against the target rows of the same keys, then the target's keys against every
//! source table routed there; differences checked again until they settle or persist.
//!
//! A source table is read on the server that holds it (an instance of a sharded source): each
//! target table opens one source session per server holding a table routed there.

use super::chunk::{Session, Shard, Side};
use super::compare::{compare_chunk, key_json, key_of, rows_equal, Key};
use super::plan::{self, Job, SourceTable, TargetPlan};
use super::report::{Collision, Finding, Progress, TableState};
use super::{sql, VerifyError, CHUNK_ROWS, RECHECKS, RECHECK_INTERVAL};
use crate::model::TableName;
use crate::source::mysql;
use crate::source::{Routes, TableFilter};
use mysql_async::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Differing keys held before they are checked again (bounds the memory a very different
/// target takes).
const PENDING_MAX: usize = 10_000;

/// Runs `job`, writing what it finds into `progress`, and ends it there.
pub(super) async fn run(job: Job, progress: Arc<Progress>) {
    tracing::info!(project = %job.project, connector = %job.connector, repair = job.repair, "verification started");
    let error = verify(&job, &progress).await.err().map(|e| e.to_string());
    progress.finish(error);
    let r = progress.snapshot();
    tracing::info!(
        project = %job.project,
        connector = %job.connector,
        state = ?r.state,
        rows = r.rows,
        matched = r.matched,
        missing = r.missing,
        extra = r.extra,
        different = r.different,
        repaired = r.repair.applied,
        error = r.error.as_deref().unwrap_or(""),
        "verification ended"
    );
}

async fn verify(job: &Job, progress: &Progress) -> Result<(), VerifyError> {
    let filter = TableFilter::new(&job.objects).map_err(|e| VerifyError::Rules(e.to_string()))?;
    let routes = Routes::new(&job.routes).map_err(|e| VerifyError::Rules(e.to_string()))?;
    let mut listed = Vec::with_capacity(job.sources.len());
    for server in &job.sources {
        let tables = mysql::list_tables(&server.connection, &filter)
            .await
            .map_err(|e| plan::server_error(server, e))?;
        listed.push(tables.into_iter().map(|t| t.name).collect());
    }
    let synced = plan::locate(&job.sources, listed)?;
    let plans = plan::group(&synced, job.tables.as_deref(), &routes)?;
    progress.set_tables(&plans);
    for (index, plan) in plans.iter().enumerate() {
        progress.table_state(index, TableState::Comparing);
        match verify_table(job, &routes, plan, progress, index).await {
            Ok(()) => progress.table_state(index, TableState::Done),
            Err(e) => progress.table_failed(index, e.to_string()),
        }
    }
    Ok(())
}

async fn verify_table(
    job: &Job,
    routes: &Routes,
    plan: &TargetPlan,
    progress: &Progress,
    index: usize,
) -> Result<(), VerifyError> {
    let mut shards = Vec::with_capacity(plan.lookup.len());
    for table in &plan.lookup {
        let server = &job.sources[table.server];
        let schema = mysql::table_schema(&server.connection, &table.name)
            .await
            .map_err(|e| plan::server_error(server, e))?;
        shards.push(Shard::new(table.server, &schema, routes)?);
    }
    let compared = plan.compare.iter().filter_map(|t| shards.iter().position(|s| &s.source == t)).collect();
    let sources = Sources::open(job, &shards).await?;
    let mut dest = Session::open(Side::Target, &job.target, job.kind).await?;
    let target_exists = dest.exists(&plan.target).await?;
    let mut table = TableRun {
        job,
        progress,
        index,
        target: &plan.target,
        target_exists,
        shards,
        sources,
        dest,
        pending: Vec::new(),
    };
    table.compare(compared).await?;
    if target_exists {
        table.scan_target().await?;
    }
    // Checked again once for both passes: a late change has had the whole scan to land.
    table.settle(TableState::Done).await?;
    table.sources.close().await;
    table.dest.close().await;
    Ok(())
}

/// The source sessions of one target table: one on each server holding a table routed there.
struct Sources {
    /// By server (a position in `Job::sources`); none on a server without such a table.
    sessions: Vec<Option<Session>>,
}

impl Sources {
    /// Opens a session on the server of each of `shards`.
    async fn open(job: &Job, shards: &[Shard]) -> Result<Sources, VerifyError> {
        let mut sessions: Vec<Option<Session>> = job.sources.iter().map(|_| None).collect();
        for shard in shards {
            let at = shard.source.server;
            if sessions[at].is_some() {
                continue;
            }
            let server = &job.sources[at];
            let session =
                Session::open(Side::Source, &server.connection, job.kind).await.map_err(|e| match e {
                    VerifyError::Source(e) => plan::server_error(server, e),
                    e => e,
                })?;
            sessions[at] = Some(session);
        }
        Ok(Sources { sessions })
    }

    /// The session on the server of `table`, one of the shards it was opened for.
    fn on(&mut self, table: &SourceTable) -> &mut Session {
        self.sessions[table.server].as_mut().expect("a session is open on the server of every shard")
    }

    async fn close(self) {
        for session in self.sessions.into_iter().flatten() {
            session.close().await;
        }
    }
}

/// A key to check again: from a source row, or from a target row no source table held.
struct Suspect {
    key: Vec<Value>,
    from_source: bool,
}

/// What a key is, checked against every source table and the target.
enum Outcome {
    Same,
    Missing { shard: usize, row: Vec<Value> },
    Different { shard: usize, row: Vec<Value> },
    Extra { key: Vec<Value> },
}

/// The verification of one target table.
struct TableRun<'a> {
    job: &'a Job,
    progress: &'a Progress,
    index: usize,
    target: &'a TableName,
    target_exists: bool,
    /// Every source table routed to the target.
    shards: Vec<Shard>,
    sources: Sources,
    dest: Session,
    pending: Vec<Suspect>,
}

impl TableRun<'_> {
    /// Compares the source tables `compared` (positions in `shards`), page by page.
    async fn compare(&mut self, compared: Vec<usize>) -> Result<(), VerifyError> {
        for s in compared {
            let shard = self.shards[s].clone();
            let (columns, key) = (shard.source_names(), shard.source_key_names());
            let (target_columns, target_key) = (shard.target_names(), shard.target_key_names());
            let mut after: Option<Vec<Value>> = None;
            loop {
                let source = self.sources.on(&shard.source);
                let page = source.page(&shard.source.name, &columns, &key, after.as_deref()).await?;
                let Some(last) = page.last() else { break };
                after = Some(shard.source_key.iter().map(|&i| last[i].clone()).collect());
                let full = page.len() == CHUNK_ROWS;
                let rows: Vec<Vec<Value>> = page.into_iter().map(|r| shard.widen(r)).collect();
                let keys: Vec<Vec<Value>> = rows.iter().map(|r| shard.key_values(r)).collect();
                let target = match self.target_exists {
                    true => self.dest.by_keys(self.target, &target_columns, &target_key, &keys).await?,
                    false => Vec::new(),
                };
                let diff = compare_chunk(&rows, &target, &shard.key);
                self.progress.chunk(self.index, rows.len(), diff.matched);
                let suspects =
                    diff.suspects.into_iter().map(|i| Suspect { key: keys[i].clone(), from_source: true });
                self.pending.extend(suspects);
                if self.pending.len() >= PENDING_MAX {
                    self.settle(TableState::Comparing).await?;
                }
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Which of `keys` (the target's) the source tables hold, each looked for in the tables
    /// that may hold it until one does; with their rows (in the target's layout) and tables.
    async fn in_source(
        &mut self,
        keys: &[Vec<Value>],
        columns: bool,
    ) -> Result<HashMap<Key, (usize, Vec<Value>)>, VerifyError> {
        let all: Vec<usize> = (0..self.shards[0].key.len()).collect();
        let mut found: HashMap<Key, (usize, Vec<Value>)> = HashMap::new();
        for (s, shard) in self.shards.iter().enumerate() {
            let looked: Vec<Vec<Value>> = keys
                .iter()
                .filter(|k| !found.contains_key(&key_of(k, &all)))
                .filter_map(|k| shard.source_key_of(k))
                .collect();
            if looked.is_empty() {
                continue;
            }
            let key = shard.source_key_names();
            let source = self.sources.on(&shard.source);
            let rows = match columns {
                true => source.by_keys(&shard.source.name, &shard.source_names(), &key, &looked).await?,
                false => source.by_keys(&shard.source.name, &key, &key, &looked).await?,
            };
            for row in rows {
                let row = shard.widen(row);
                let canon = match columns {
                    true => key_of(&row, &shard.key),
                    false => key_of(&row, &all),
                };
                found.entry(canon).or_insert((s, row));
            }
        }
        Ok(found)
    }

    /// Looks for target rows no source table holds: the target's keys, page by page, in every
    /// source table routed there.
    async fn scan_target(&mut self) -> Result<(), VerifyError> {
        self.progress.table_state(self.index, TableState::ScanningTarget);
        let key: Vec<String> = self.shards[0].target_key_names().into_iter().map(String::from).collect();
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        let all: Vec<usize> = (0..key.len()).collect();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let keys = self.dest.page(self.target, &key, &key, after.as_deref()).await?;
            let Some(last) = keys.last() else { break };
            after = Some(last.clone());
            let held = self.held(&keys).await?;
            self.progress.target_chunk(self.index, keys.len());
            let extra = keys.iter().filter(|k| !held.contains(&key_of(k, &all)));
            self.pending.extend(extra.map(|k| Suspect { key: k.clone(), from_source: false }));
            if self.pending.len() >= PENDING_MAX {
                self.settle(TableState::ScanningTarget).await?;
            }
            if keys.len() < CHUNK_ROWS {
                break;
            }
        }
        Ok(())
    }

    /// Which of `keys` (a page of the target's) some source table holds. Shards merged without
    /// a shard column may hold the same key, their rows overwriting each other: then every
    /// source table is asked for every key, and the keys more than one holds are reported as
    /// collisions; otherwise each key is looked for until a table holds it.
    async fn held(&mut self, keys: &[Vec<Value>]) -> Result<HashSet<Key>, VerifyError> {
        if self.shards.len() < 2 || self.shards.iter().any(|s| s.tag.is_some()) {
            return Ok(self.in_source(keys, false).await?.into_keys().collect());
        }
        let all: Vec<usize> = (0..keys.first().map_or(0, Vec::len)).collect();
        let mut holders: HashMap<Key, Vec<String>> = HashMap::new();
        for shard in &self.shards {
            let key = shard.source_key_names();
            for row in self.sources.on(&shard.source).by_keys(&shard.source.name, &key, &key, keys).await? {
                holders.entry(key_of(&row, &all)).or_default().push(self.job.source_name(&shard.source));
            }
        }
        for key in keys {
            if let Some(shards) = holders.get(&key_of(key, &all)).filter(|h| h.len() > 1) {
                self.progress.collided(self.index, Collision { key: key_json(key), shards: shards.clone() });
            }
        }
        Ok(holders.into_keys().collect())
    }

    /// Checks the pending keys again, up to [`RECHECKS`] times, and reports (and repairs) what
    /// persists; then goes back to `state`.
    async fn settle(&mut self, state: TableState) -> Result<(), VerifyError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.progress.table_state(self.index, TableState::Rechecking);
        let all: Vec<usize> = (0..self.shards[0].key.len()).collect();
        let mut seen = HashSet::new();
        let mut suspects: Vec<Suspect> = std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|s| seen.insert(key_of(&s.key, &all)))
            .collect();
        let mut persisting = Vec::new();
        for _ in 0..RECHECKS {
            tokio::time::sleep(RECHECK_INTERVAL).await;
            let outcomes = self.classify(&suspects).await?;
            let mut left = Vec::new();
            persisting.clear();
            for (suspect, outcome) in suspects.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Same if suspect.from_source => self.progress.settled(self.index),
                    Outcome::Same => {}
                    outcome => {
                        left.push(suspect);
                        persisting.push(outcome);
                    }
                }
            }
            suspects = left;
            if suspects.is_empty() {
                break;
            }
        }
        for outcome in persisting {
            self.report(outcome).await?;
        }
        self.progress.table_state(self.index, state);
        Ok(())
    }

    /// What each suspect's key is now: its row looked for in the source tables (the first
    /// that holds it counts), then in the target.
    async fn classify(&mut self, suspects: &[Suspect]) -> Result<Vec<Outcome>, VerifyError> {
        let all: Vec<usize> = (0..self.shards[0].key.len()).collect();
        let keys: Vec<Vec<Value>> = suspects.iter().map(|x| x.key.clone()).collect();
        let found = self.in_source(&keys, true).await?;
        let mut outcomes: HashMap<Key, Outcome> = HashMap::new();
        for (s, shard) in self.shards.iter().enumerate() {
            let mine: Vec<(&Key, &Vec<Value>)> =
                found.iter().filter(|(_, (at, _))| *at == s).map(|(k, (_, row))| (k, row)).collect();
            if mine.is_empty() {
                continue;
            }
            let keys: Vec<Vec<Value>> = mine.iter().map(|(_, row)| shard.key_values(row)).collect();
            let (columns, key) = (shard.target_names(), shard.target_key_names());
            let target = match self.target_exists {
                true => self.dest.by_keys(self.target, &columns, &key, &keys).await?,
                false => Vec::new(),
            };
            let target: HashMap<Key, Vec<Value>> =
                target.into_iter().map(|row| (key_of(&row, &shard.key), row)).collect();
            for (key, row) in mine {
                let outcome = match target.get(key) {
                    None => Outcome::Missing { shard: s, row: row.clone() },
                    Some(t) if !rows_equal(row, t) => Outcome::Different { shard: s, row: row.clone() },
                    Some(_) => Outcome::Same,
                };
                outcomes.insert(key.clone(), outcome);
            }
        }
        let absent: Vec<Vec<Value>> =
            keys.into_iter().filter(|k| !found.contains_key(&key_of(k, &all))).collect();
        let present = match self.target_exists && !absent.is_empty() {
            true => self.dest.holds(self.target, &self.shards[0].target_key_names(), &absent).await?,
            false => HashSet::new(),
        };
        for key in absent {
            let canon = key_of(&key, &all);
            let outcome = if present.contains(&canon) { Outcome::Extra { key } } else { Outcome::Same };
            outcomes.insert(canon, outcome);
        }
        Ok(suspects.iter().map(|x| outcomes.remove(&key_of(&x.key, &all)).unwrap_or(Outcome::Same)).collect())
    }

    /// Reports a persisting difference with its repair statement, and runs that when asked.
    async fn report(&mut self, outcome: Outcome) -> Result<(), VerifyError> {
        let (finding, key, statement) = match outcome {
            Outcome::Same => return Ok(()),
            Outcome::Missing { shard, row } => self.upsert(Finding::Missing, shard, &row),
            Outcome::Different { shard, row } => self.upsert(Finding::Different, shard, &row),
            Outcome::Extra { key } => {
                let shard = &self.shards[0];
                let columns: Vec<_> = shard.key.iter().map(|&i| &shard.target_columns[i]).collect();
                let pairs: Vec<_> = columns.into_iter().zip(&key).collect();
                (Finding::Extra, key_json(&key), sql::delete(self.target, &pairs))
            }
        };
        self.progress.found(self.index, finding, key);
        let applied = if self.job.repair {
            self.dest.run(self.target, &statement).await?;
            true
        } else {
            false
        };
        self.progress.statement(statement, applied);
        Ok(())
    }

    /// A missing or different source row: its key and the `REPLACE` that writes it.
    fn upsert(&self, finding: Finding, shard: usize, row: &[Value]) -> (Finding, serde_json::Value, String) {
        let shard = &self.shards[shard];
        (finding, key_json(&shard.key_values(row)), sql::replace(self.target, &shard.target_columns, row))
    }
}
