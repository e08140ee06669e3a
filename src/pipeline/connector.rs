//! The connector's loop: read the change log from the checkpoint, encode, send, and save a
//! checkpoint for what the destination acknowledged in order.
//!
//! Invariant: a checkpoint names a transaction end whose every message, and every message
//! before it, the destination acknowledged. After a crash the connector resends from there, so
//! a consumer sees duplicates only after the last checkpoint, never a gap.
//!
//! Fencing: nothing is sent unless the run's [`Permit`] is granted (the node's lease is valid
//! and the placement still ours); when it closes, what is queued is abandoned and the run ends.

use super::ack::AckTracker;
use super::feed::{Feed, FeedError};
use super::status::{ConnectorStatus, PipelineStatus};
use crate::meta::{CheckpointSaver, CheckpointUpdate, SaveError};
use crate::model::{Checkpoint, Position, Record, TxEnd};
use crate::sink::{Permit, Sink, SinkError, TableId};
use crate::source::TableFilter;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("saving the checkpoint: {0}")]
    Checkpoint(String),
    /// Another run of this project took over (its epoch is newer): stop without writing.
    #[error("fenced out: {0}")]
    Fenced(String),
    /// The store no longer holds the records after the checkpoint (retention dropped them).
    #[error("the store no longer holds change {wanted} (its oldest is {oldest}): the connector cannot continue from its checkpoint; reset it inside the retained range")]
    Gap { wanted: u64, oldest: u64 },
    /// The node's lease lapsed or the project was placed elsewhere: stop without writing.
    #[error("the node's lease lapsed or the project moved: stopped writing")]
    LeaseLost,
}

pub struct ConnectorTask {
    pub project: String,
    /// This connector's id in the project.
    pub connector: String,
    /// Deliver nothing up to and including the transaction that ends at this source position:
    /// set when the store started over before this connector's checkpoint (see the agent).
    pub skip_through: Option<Position>,
    pub epoch: u64,
    pub checkpoints: CheckpointSaver,
    /// The run's permit to write (the node's lease and the project's placement).
    pub gate: Arc<dyn Permit>,
    /// The store's log, here or on another node.
    pub feed: Arc<dyn Feed>,
    pub sink: Box<dyn Sink>,
    pub filter: Arc<TableFilter>,
    pub acks: Arc<AckTracker>,
    pub checkpoint_interval: Duration,
    pub status: Arc<PipelineStatus>,
    /// This connector's own figures (rates, latency, last error).
    pub live: Arc<ConnectorStatus>,
}

/// The connector's checkpoints: the last one Raft confirmed, and at most one on its way.
struct Saving {
    confirmed: Checkpoint,
    in_flight: Option<(Checkpoint, oneshot::Receiver<Result<(), SaveError>>)>,
}

/// A table as the sink opened it, resolved once per schema id.
struct Target {
    /// `None` when the project does not sync this table.
    sink_table: Option<TableId>,
    table: String,
}

/// How long a stopping connector waits for the destination to take what is queued: stopping
/// takes seconds whatever the destination does (what it did not take is sent again after).
const DRAIN: Duration = Duration::from_secs(2);

/// A run's permit to write: its gate, and whether it is stopping.
struct RunPermit {
    gate: Arc<dyn Permit>,
    stop: watch::Receiver<bool>,
}

impl Permit for RunPermit {
    fn granted(&self) -> bool {
        self.gate.granted()
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl ConnectorTask {
    /// Runs until `stop` turns true (then drains, within [`DRAIN`], and saves a last
    /// checkpoint) or an error.
    pub async fn run(mut self, stop: watch::Receiver<bool>) -> Result<(), ConnectorError> {
        let mut saved = Saving { confirmed: self.acks.checkpoint(), in_flight: None };
        match self.pump(&mut saved, stop).await {
            Err(ConnectorError::Sink(SinkError::Interrupted)) => {
                // Stopping while the destination took nothing more: what is queued was not
                // acknowledged, so no checkpoint holds it; save what was.
                tracing::info!(project = %self.project, connector = %self.connector, "stopping: dropped what the destination did not take");
                self.sink.abandon();
                self.save_last(&mut saved).await
            }
            other => other,
        }
    }

    async fn pump(
        &mut self,
        saved: &mut Saving,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ConnectorError> {
        // Asked before each write: the run's gate, and whether it is stopping.
        let permit = RunPermit { gate: self.gate.clone(), stop: stop.clone() };
        let mut next = saved.confirmed.seq + 1;
        if let Some(held) = self.sink.holds_through().await? {
            // The destination recorded more than the checkpoint says (it keeps its own, written
            // with the changes): skip through there, so nothing is applied twice.
            if self.skip_through.as_ref().is_none_or(|p| held.is_after(p))
                && held.is_after(&saved.confirmed.position)
            {
                tracing::info!(project = %self.project, connector = %self.connector, %held, "the destination holds changes past the checkpoint");
                self.skip_through = Some(held);
            }
        }
        let mut targets: HashMap<u64, Target> = HashMap::new();
        // Rows records read while skipping, until their transaction's end.
        let mut skipped: Vec<u64> = Vec::new();
        let mut last_save = Instant::now();
        loop {
            // None read: wait for more, until the next checkpoint is due.
            let wait = self.checkpoint_interval.saturating_sub(last_save.elapsed());
            let feed = self.feed.clone();
            let records = tokio::select! {
                records = feed.read(next, wait) => records?,
                _ = stop.wait_for(|s| *s) => return self.finish(saved).await,
            };
            if let Some(&(first, _)) = records.first() {
                if first != next {
                    return Err(ConnectorError::Gap { wanted: next, oldest: first });
                }
            }
            for (seq, record) in records {
                next = seq + 1;
                if let Some(through) = &self.skip_through {
                    // A transaction is delivered already when it ends at or before `through`:
                    // its rows are held back until its end says so (an XA transaction's rows
                    // come before positions its commit is after).
                    match record {
                        Record::Rows(_) | Record::Ddl(_) => skipped.push(seq),
                        Record::TxEnd(end) | Record::Heartbeat(end) if !end.position.is_after(through) => {
                            for rows in skipped.drain(..) {
                                self.acks.register(rows, 0, 0, 0, None);
                            }
                            self.acks.register_tx_end(seq, 0, end.position, end.ts);
                        }
                        Record::TxEnd(_) | Record::Heartbeat(_) => {
                            // The first one not delivered: read it again, from its first record.
                            tracing::info!(project = %self.project, connector = %self.connector, seq, "skipped what was delivered before");
                            self.skip_through = None;
                            next = skipped.first().copied().unwrap_or(seq);
                            skipped.clear();
                            break;
                        }
                    }
                    continue;
                }
                match record {
                    Record::Rows(batch) => {
                        if let Entry::Vacant(slot) = targets.entry(batch.schema_id) {
                            slot.insert(self.resolve(batch.schema_id).await?);
                        }
                        let target = &targets[&batch.schema_id];
                        let Some(table) = target.sink_table else {
                            self.acks.register(seq, 0, 0, 0, None);
                            continue;
                        };
                        let written = self.sink.rows(table, &batch, seq, &permit).await;
                        let written = self.written(written)?;
                        self.acks.register(
                            seq,
                            written.deliveries,
                            batch.rows.len() as u32,
                            written.bytes,
                            Some((&target.table, batch.op)),
                        );
                    }
                    Record::Ddl(ddl) => {
                        let written = self.sink.ddl(&ddl, seq, &permit).await;
                        let written = self.written(written)?;
                        self.acks.register(seq, written.deliveries, 0, 0, None);
                    }
                    Record::TxEnd(end) => self.end(&end, false, seq, &permit).await?,
                    Record::Heartbeat(end) => self.end(&end, true, seq, &permit).await?,
                }
            }
            let synced = self.sink.sync(&permit).await;
            self.written(synced)?;
            if let Some(error) = self.acks.error() {
                return Err(error.into());
            }
            if last_save.elapsed() >= self.checkpoint_interval {
                self.save(saved).await?;
                last_save = Instant::now();
            }
            if *stop.borrow() {
                return self.finish(saved).await;
            }
        }
    }

    /// A sink's answer; a closed permit ends the run.
    fn written<T>(&mut self, result: Result<T, SinkError>) -> Result<T, ConnectorError> {
        match result {
            Ok(t) => Ok(t),
            Err(SinkError::Revoked) => Err(self.shut_out()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the end of a transaction (or a heartbeat): the next checkpoint candidate.
    async fn end(
        &mut self,
        end: &TxEnd,
        heartbeat: bool,
        seq: u64,
        permit: &RunPermit,
    ) -> Result<(), ConnectorError> {
        let written = self.sink.end(end, heartbeat, seq, permit).await;
        let written = self.written(written)?;
        self.acks.register_tx_end(seq, written.deliveries, end.position.clone(), end.ts);
        Ok(())
    }

    async fn resolve(&mut self, schema_id: u64) -> Result<Target, ConnectorError> {
        let schema = self.feed.schema(schema_id).await?;
        let table = schema.name.to_string();
        let sink_table = match self.filter.matches(&schema.name.database, &schema.name.table) {
            true => Some(self.sink.open(schema).await?),
            false => None,
        };
        Ok(Target { sink_table, table })
    }

    /// Drops what the sink has queued: the gate closed.
    fn shut_out(&mut self) -> ConnectorError {
        self.sink.abandon();
        tracing::warn!(project = %self.project, epoch = self.epoch, "gate closed: stopped writing");
        ConnectorError::LeaseLost
    }

    /// Takes Raft's answer to a checkpoint: once confirmed, the store may drop what it covers
    /// (when its retention window lets go of it).
    fn settle(
        &self,
        saved: &mut Saving,
        answer: Result<(), SaveError>,
        checkpoint: Checkpoint,
    ) -> Result<(), ConnectorError> {
        match answer {
            Ok(()) => {
                saved.confirmed = checkpoint;
                // Data flows again: an earlier transient error is history.
                self.status.set_error(None);
                self.live.set_error(None);
                Ok(())
            }
            Err(SaveError::Fenced(e)) => Err(ConnectorError::Fenced(e)),
            // No quorum for now: sending goes on while the gate is open; the next interval
            // proposes the checkpoint again.
            Err(e @ SaveError::Cluster(_)) => {
                tracing::warn!(project = %self.project, error = %e, "checkpoint not saved, will try again");
                self.status.set_error(Some(e.to_string()));
                self.live.set_error(Some(e.to_string()));
                Ok(())
            }
        }
    }

    /// Settles the checkpoint in flight, then hands the next one to the node's saver if the
    /// acknowledged checkpoint moved. The one in flight was proposed an interval ago and is
    /// normally answered by now; if not (Raft slow, no quorum), this waits for it, so the
    /// destination never runs more than an interval ahead of what Raft confirmed.
    async fn save(&self, saved: &mut Saving) -> Result<(), ConnectorError> {
        if let Some((checkpoint, answer)) = saved.in_flight.take() {
            let answer =
                answer.await.map_err(|_| ConnectorError::Checkpoint("the node is stopping".into()))?;
            self.settle(saved, answer, checkpoint)?;
        }
        let checkpoint = self.acks.checkpoint();
        self.live.sample(checkpoint.rows, checkpoint.bytes);
        if checkpoint != saved.confirmed {
            let update = CheckpointUpdate::between(
                &self.project,
                &self.connector,
                self.epoch,
                &saved.confirmed,
                &checkpoint,
            );
            saved.in_flight = Some((checkpoint, self.checkpoints.submit(update)));
        }
        Ok(())
    }

    /// Saves the last checkpoint and waits for Raft to confirm it.
    async fn save_last(&self, saved: &mut Saving) -> Result<(), ConnectorError> {
        self.save(saved).await?;
        if let Some((checkpoint, answer)) = saved.in_flight.take() {
            match answer.await.map_err(|_| ConnectorError::Checkpoint("the node is stopping".into()))? {
                Err(SaveError::Cluster(e)) => return Err(ConnectorError::Checkpoint(e)),
                answer => self.settle(saved, answer, checkpoint)?,
            }
        }
        Ok(())
    }

    /// Waits (bounded) for outstanding acknowledgements and saves the last checkpoint.
    async fn finish(&mut self, saved: &mut Saving) -> Result<(), ConnectorError> {
        if !self.gate.granted() {
            return Err(self.shut_out());
        }
        let flushed = self.sink.flush(DRAIN).await;
        self.save_last(saved).await?;
        flushed.map_err(Into::into)
    }
}
