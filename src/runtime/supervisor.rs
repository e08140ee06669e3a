//! The supervisor: on the Raft leader only, it places running projects on live nodes and moves
//! the work of lost and leaving nodes ([`plan`]), proposing each move through Raft. A new
//! leader's supervisor starts from the replicated placements (healthy work stays where it is)
//! and from its own record of when it applied each node's renewals: applying comes after
//! committing, which comes after the node sent the renewal its lease counts from, so that
//! record never makes a lease look older than it is. A node started after the renewal it last
//! saw counts from its own start.

use super::liveness::Liveness;
use super::messages::{follow_generation, MetaChanged};
use super::placement::{plan, Move};
use crate::meta::{self, Command, Meta};
use actix::prelude::*;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;

pub struct SupervisorConfig {
    pub meta: Meta,
    pub liveness: Liveness,
    /// A node renewed within this is alive (may get work).
    pub lease: Duration,
    /// A node silent this long is lost (its lease and its queued messages have expired).
    pub lost_after: Duration,
    pub generation: watch::Receiver<u64>,
}

pub struct Supervisor {
    config: SupervisorConfig,
    leading: bool,
    /// Projects with a move proposed and not yet answered.
    in_flight: HashSet<String>,
}

impl Supervisor {
    pub fn new(config: SupervisorConfig) -> Self {
        Self { config, leading: false, in_flight: HashSet::new() }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Leases expire with time, not with log entries: look every 250 ms too.
        let generation = self.config.generation.clone();
        follow_generation(self, ctx, &generation, Duration::from_millis(250));
    }
}

fn command(m: &Move) -> Command {
    match m.clone() {
        Move::Place { project, node, epoch, lost } => Command::Place { project, node, epoch, lost },
        Move::Release { project, epoch } => Command::Release { project, epoch },
        Move::Rejoin { project, connector, epoch, lost } => {
            Command::PlaceConnector { project, connector, node: None, epoch, lost }
        }
    }
}

impl Handler<MetaChanged> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: MetaChanged, ctx: &mut Context<Self>) {
        let meta = &self.config.meta;
        if meta.leader() != Some(meta.node_id()) {
            self.leading = false;
            return;
        }
        if !self.leading {
            self.leading = true;
            tracing::info!(node = meta.node_id(), "this node leads: supervising placements");
        }
        let health = self.config.liveness.health(self.config.lease, self.config.lost_after);
        let moves = meta.read(|s| plan(s, &health));
        for m in moves {
            if !self.in_flight.insert(m.project().to_string()) {
                continue;
            }
            match &m {
                Move::Place { project, node, epoch, lost: Some((from, _)) } => {
                    tracing::warn!(project, node, epoch = epoch + 1, from, "moving a project off a lost node")
                }
                Move::Place { project, node, epoch, lost: None } => {
                    tracing::info!(project, node, epoch = epoch + 1, "placing a project")
                }
                Move::Release { project, epoch } => {
                    tracing::info!(project, epoch, "asking a leaving node to release a project")
                }
                Move::Rejoin { project, connector, epoch, .. } => {
                    tracing::warn!(
                        project,
                        connector,
                        epoch = epoch + 1,
                        "a connector's node is lost or leaving: it rejoins its store"
                    )
                }
            }
            let meta = meta.clone();
            let project = m.project().to_string();
            let propose = async move { meta::propose(&meta, command(&m)).await };
            ctx.spawn(propose.into_actor(self).map(move |result, act, _| {
                act.in_flight.remove(&project);
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::info!(project, error = %e, "move not applied"),
                    Err(e) => tracing::warn!(project, error = %e, "move not confirmed"),
                }
            }));
        }
    }
}

/// Follows the applied metadata: notes lease renewals in `liveness` and publishes the
/// metadata's generation (which moves only when work may have to move).
pub fn watch_meta(meta: Meta, liveness: Liveness) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(meta.read(|s| s.generation));
    let mut applied = meta.watch_applied();
    tokio::spawn(async move {
        loop {
            let generation = meta.read(|s| {
                liveness.observe(s);
                s.generation
            });
            tx.send_if_modified(|g| std::mem::replace(g, generation) != generation);
            if applied.changed().await.is_err() {
                return;
            }
        }
    });
    rx
}
