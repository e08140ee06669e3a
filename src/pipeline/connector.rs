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
use crate::codec::{split_row, DdlTopic, Encoder, Message};
use crate::meta::{CheckpointSaver, CheckpointUpdate, SaveError};
use crate::model::{Checkpoint, DdlRecord, Position, Record, TableName, TableSchema};
use crate::sink::{Permit, Route, Sink, SinkError};
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

pub struct ConnectorTask<S> {
    pub project: String,
    /// This connector's id in the project.
    pub connector: String,
    /// Topic pattern for every synced table; none: the objects' own.
    pub topic: Option<String>,
    /// Deliver nothing up to and including the transaction that ends at this source position:
    /// set when the store started over before this connector's checkpoint (see the agent).
    pub skip_through: Option<Position>,
    pub epoch: u64,
    pub checkpoints: CheckpointSaver,
    /// The run's permit to write (the node's lease and the project's placement).
    pub gate: Arc<dyn Permit>,
    /// The store's log, here or on another node.
    pub feed: Arc<dyn Feed>,
    pub sink: S,
    pub encoder: Box<dyn Encoder>,
    pub filter: Arc<TableFilter>,
    pub acks: Arc<AckTracker>,
    pub split_key_updates: bool,
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

/// A table's schema and route, resolved once per schema id.
struct Target {
    schema: Arc<TableSchema>,
    /// `None` when the project does not sync this table.
    route: Option<Route>,
    table: String,
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl<S: Sink> ConnectorTask<S> {
    /// Runs until `stop` turns true (then drains and saves a last checkpoint) or an error.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), ConnectorError> {
        let mut saved = Saving { confirmed: self.acks.checkpoint(), in_flight: None };
        let mut next = saved.confirmed.seq + 1;
        let mut targets: HashMap<u64, Target> = HashMap::new();
        let mut heartbeat_route: Option<Route> = None;
        let mut out: Vec<Message> = Vec::new();
        // Rows records read while skipping, until their transaction's end.
        let mut skipped: Vec<u64> = Vec::new();
        let mut last_save = Instant::now();
        loop {
            // None read: wait for more, until the next checkpoint is due.
            let wait = self.checkpoint_interval.saturating_sub(last_save.elapsed());
            let feed = self.feed.clone();
            let records = tokio::select! {
                records = feed.read(next, wait) => records?,
                _ = stop.wait_for(|s| *s) => return self.finish(&mut saved).await,
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
                        let Some(route) = &target.route else {
                            self.acks.register(seq, 0, 0, 0, None);
                            continue;
                        };
                        out.clear();
                        let now = now_ms();
                        for (i, row) in batch.rows.iter().enumerate() {
                            split_row(&target.schema, &batch, i, row, self.split_key_updates, |c| {
                                self.encoder.encode(&c, now, &mut out)
                            });
                        }
                        let bytes: usize = out
                            .iter()
                            .map(|m| {
                                m.value.as_ref().map_or(0, Vec::len) + m.key.as_ref().map_or(0, Vec::len)
                            })
                            .sum();
                        self.acks.register(
                            seq,
                            out.len() as u32,
                            batch.rows.len() as u32,
                            bytes as u64,
                            Some((&target.table, batch.op)),
                        );
                        for message in &out {
                            self.send(route, message, seq).await?;
                        }
                    }
                    Record::Ddl(ddl) => self.send_ddl(&ddl, seq).await?,
                    Record::TxEnd(end) => self.acks.register_tx_end(seq, 0, end.position, end.ts),
                    Record::Heartbeat(end) => {
                        let Some(message) = self.encoder.heartbeat(end.ts, seq) else {
                            self.acks.register_tx_end(seq, 0, end.position, end.ts);
                            continue;
                        };
                        if heartbeat_route.is_none() {
                            heartbeat_route = Some(self.heartbeat_route().await?);
                        }
                        let route = heartbeat_route.as_ref().expect("resolved above");
                        self.acks.register_tx_end(seq, 1, end.position, end.ts);
                        self.send(route, &message, seq).await?;
                    }
                }
            }
            if let Some(error) = self.acks.error() {
                return Err(SinkError::Unavailable(error).into());
            }
            if last_save.elapsed() >= self.checkpoint_interval {
                self.save(&mut saved).await?;
                last_save = Instant::now();
            }
            if *stop.borrow() {
                return self.finish(&mut saved).await;
            }
        }
    }

    /// Sends one message of record `seq` under the run's permit; a closed permit ends the run.
    async fn send(&mut self, route: &Route, message: &Message, seq: u64) -> Result<(), ConnectorError> {
        match self.sink.send(route, message, seq, &*self.gate).await {
            Ok(()) => Ok(()),
            Err(SinkError::Revoked) => Err(self.shut_out()),
            Err(e) => Err(e.into()),
        }
    }

    /// The topic heartbeat messages go to: `__ferry-heartbeat.<project>`.
    async fn heartbeat_route(&mut self) -> Result<Route, ConnectorError> {
        let topic = format!("__ferry-heartbeat.{}", self.project);
        self.route_to(TableName::new(self.project.clone(), "heartbeat"), &topic).await
    }

    /// A route to `topic` for messages that are not rows of `name` (no schema needed).
    async fn route_to(&mut self, name: TableName, topic: &str) -> Result<Route, ConnectorError> {
        let schema = TableSchema { name, columns: Vec::new(), primary_key: Vec::new() };
        Ok(self.sink.route(&schema, topic).await?)
    }

    /// Writes a DDL statement's messages: to each synced table's topic, or the project's
    /// schema change topic, as the format says. DDL is rare: routes are resolved each time.
    async fn send_ddl(&mut self, ddl: &DdlRecord, seq: u64) -> Result<(), ConnectorError> {
        let mut messages = Vec::new();
        self.encoder.ddl(ddl, seq, now_ms(), &mut messages);
        let mut sends = Vec::with_capacity(messages.len());
        for (topic, message) in messages {
            let route = match topic {
                DdlTopic::Table(name) => match self.filter.topic_as(&name, self.topic.as_deref()) {
                    Some(topic) => self.route_to(name, &topic).await?,
                    None => continue,
                },
                DdlTopic::SchemaChanges => {
                    let topic = format!("{}.schema-changes", self.project);
                    self.route_to(TableName::new(self.project.clone(), "schema-changes"), &topic).await?
                }
            };
            sends.push((route, message));
        }
        self.acks.register(seq, sends.len() as u32, 0, 0, None);
        for (route, message) in &sends {
            self.send(route, message, seq).await?;
        }
        Ok(())
    }

    async fn resolve(&mut self, schema_id: u64) -> Result<Target, ConnectorError> {
        let schema = self.feed.schema(schema_id).await?;
        let route = match self.filter.topic_as(&schema.name, self.topic.as_deref()) {
            Some(topic) => Some(self.sink.route(&schema, &topic).await?),
            None => None,
        };
        Ok(Target { table: schema.name.to_string(), schema, route })
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
        let flushed = self.sink.flush(Duration::from_secs(5));
        self.save_last(saved).await?;
        flushed.map_err(Into::into)
    }
}
