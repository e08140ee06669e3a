//! The node agent: runs on every node and makes what runs here match the applied placements
//! ([`reconcile`](super::reconcile::reconcile)): the store actor of each project whose store is
//! placed here and an actor per connector placed here, each on an arbiter (thread) of its own
//! so reading and writing use both cores and a stalled destination holds up only its
//! connector. A connector placed apart from its store reads the store's log from the store's
//! node ([`RemoteFeed`]). Each project stops on its own: a project starts again only once its
//! stop is over (a restart never overlaps the run it replaces), and a project slow to stop (a
//! connector blocked on a broker that is down) holds up no other.
//!
//! It starts work only while the node holds its lease; every component gets a [`Gate`] that
//! closes when the lease lapses or the project is placed elsewhere. A project the supervisor
//! asks to release (or every project, when the node shuts down) is stopped cleanly, its
//! connector saving a last checkpoint, and reported `Released`.

use super::component::{ComponentActor, TaskFuture};
use super::lease::{Gate, Gates, Lease};
use super::messages::{
    follow_generation, ComponentExited, ComponentKind, Exit, MetaChanged, Shutdown, StopComponent,
};
use super::reconcile::{reconcile, Step};
use crate::codec::CodecContext;
use crate::meta::{
    self, checkpoint_key, CheckpointSaver, Command, ConnectorSpec, DataSourceKind, HistoryEntry, Meta,
    MetaState, Project, ProjectSources, ProjectState, SourceServer,
};
use crate::pipeline::ack::AckTracker;
use crate::pipeline::connector::{now_ms, ConnectorError, ConnectorTask};
use crate::pipeline::feed::{Feed, LocalFeed};
use crate::pipeline::remote_feed::RemoteFeed;
use crate::pipeline::status::PipelineStatus;
use crate::pipeline::store::{default_max_disk_bytes, ReplicateHistory, StoreTask, StoreTaskError};
use crate::secrets::Keyring;
use crate::sink::database::DatabaseSinkConfig;
use crate::sink::datahub::DatahubSinkConfig;
use crate::sink::kafka::KafkaSinkConfig;
use crate::sink::rocketmq::RocketmqSinkConfig;
use crate::sink::{stable_hash, Destination, SinkContext, SinkError};
use crate::source::mysql::server_info_and_zone;
use crate::source::shape::Shapes;
use crate::source::{Routes, TableFilter};
use crate::store::{ChangeLog, Retention, RocksChangeLog};
use actix::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A project running on this node, as the API sees it.
#[derive(Clone)]
pub struct LiveProject {
    pub epoch: u64,
    /// The project's figures: its store's (of a project with one), its connectors' (by
    /// checkpoint key) and errors.
    pub status: Arc<PipelineStatus>,
    /// Its store's log, when the store runs here (to resolve a connector reset, and to serve
    /// connectors on other nodes); none on a sharded source, whose stores are `instances`.
    pub store: Option<LocalFeed>,
    /// On a sharded source, the store of each instance that runs here, with its figures.
    pub instances: Vec<InstanceStore>,
}

/// The store of one instance of a sharded source.
#[derive(Clone)]
pub struct InstanceStore {
    pub instance: String,
    pub status: Arc<PipelineStatus>,
    pub store: LocalFeed,
}

/// Live figures of the projects running on this node, for the API.
#[derive(Clone, Default)]
pub struct LiveStatus(Arc<Mutex<HashMap<String, LiveProject>>>);

impl LiveStatus {
    pub fn get(&self, project: &str) -> Option<Arc<PipelineStatus>> {
        self.project(project).map(|p| p.status)
    }

    pub fn project(&self, project: &str) -> Option<LiveProject> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(project).cloned()
    }

    /// Every project running here.
    pub fn all(&self) -> Vec<(String, LiveProject)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(name, p)| (name.clone(), p.clone())).collect()
    }

    fn set(&self, project: &str, live: Option<LiveProject>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match live {
            Some(s) => map.insert(project.to_string(), s),
            None => map.remove(project),
        };
    }
}

pub struct AgentConfig {
    pub node_id: u64,
    pub data_dir: PathBuf,
    pub meta: Meta,
    pub keyring: Arc<Keyring>,
    pub live: LiveStatus,
    pub lease: Arc<Lease>,
    pub gates: Gates,
    pub checkpoints: CheckpointSaver,
    /// What this node presents to another node's API (reading a store's log from there).
    pub admin_token: Arc<str>,
    /// How it calls another node's API.
    pub peers: crate::peers::Peers,
    /// Raised when the applied metadata may move work (see `MetaState::generation`).
    pub generation: watch::Receiver<u64>,
    /// How long a connector may fail on transient errors without progress before its project
    /// fails with the error.
    pub retry_limit: Duration,
}

/// A connector failing on transient errors: in which run of its project, since when without
/// progress, at which checkpoint, when last, how many times.
struct Failing {
    epoch: u64,
    since: Instant,
    seq: Option<u64>,
    last: Instant,
    attempts: u32,
}

/// A failure this long after the previous one starts a new run of failures: the connector
/// worked in between (a failing one restarts within 30 s and fails again).
const FAILURES_APART: Duration = Duration::from_secs(120);

/// The pause before restarting a connector after its `attempts`-th transient failure in a
/// row: 2 s, doubling, at most 30 s.
fn retry_delay(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_mul(1 << attempts.min(4)).min(30))
}

/// One connector of a running project: its actor, on a thread of its own, so a destination
/// that blocks (a metadata fetch waiting on a broker that is down) holds up only it.
struct ConnectorRun {
    arbiter: Arbiter,
    actor: Addr<ComponentActor>,
}

/// The store of a project, when it is placed here.
struct StoreRun {
    actor: Addr<ComponentActor>,
    arbiter: Arbiter,
}

/// What runs here of a project: its stores, its connectors, or both.
struct Running {
    epoch: u64,
    /// One per store of the project, as [`Plan::streams`].
    streams: Vec<StreamRun>,
    /// By checkpoint key (the connector's id, with `@instance` on a sharded source).
    connectors: BTreeMap<String, ConnectorRun>,
    status: Arc<PipelineStatus>,
    gate: Arc<Gate>,
}

/// One store of a project and its log.
struct StreamRun {
    store: Option<StoreRun>,
    /// The store's log, here or on its node.
    feed: Arc<dyn Feed>,
}

pub struct NodeAgent {
    config: AgentConfig,
    running: BTreeMap<String, Running>,
    /// Projects whose components are stopping here: each starts again only once its stop is
    /// over (its store's files are free), while other projects go on.
    stopping: BTreeSet<String>,
    /// How many stops are in flight (the shutdown waits for them).
    in_flight: watch::Sender<usize>,
    /// The node is stopping: start nothing more.
    shutting_down: bool,
    /// Connectors failing on transient errors, by project and connector.
    failing: BTreeMap<(String, String), Failing>,
}

/// What a component needs to know about its project, resolved from the metadata.
struct Plan {
    project: Project,
    /// The servers of the project's stores: its source, or each instance of a sharded source.
    streams: Vec<SourceServer>,
    /// Each connector with its destination.
    connectors: Vec<(ConnectorSpec, Destination)>,
    /// Which tables the stores read and where they land: on a sharded source, its shards and
    /// each shard to (where the project's routes take) its logical table.
    filter: Arc<TableFilter>,
    /// What of each table the stores keep (row filters, columns).
    shapes: Arc<Shapes>,
    routes: Arc<Routes>,
    /// The server id the stores register with on their sources.
    server_id: u32,
}

impl Plan {
    /// The stream and connector a checkpoint key names.
    fn connector(&self, key: &str) -> Option<(usize, &ConnectorSpec, &Destination)> {
        self.streams.iter().enumerate().find_map(|(i, stream)| {
            self.connectors
                .iter()
                .find(|(c, _)| checkpoint_key(&c.id, stream.instance.as_deref()) == key)
                .map(|(c, d)| (i, c, d))
        })
    }
}

impl NodeAgent {
    pub fn new(config: AgentConfig) -> Self {
        Self {
            config,
            running: BTreeMap::new(),
            stopping: BTreeSet::new(),
            in_flight: watch::channel(0).0,
            shutting_down: false,
            failing: BTreeMap::new(),
        }
    }

    fn stores_dir(&self) -> PathBuf {
        crate::store::stores_dir(&self.config.data_dir)
    }

    fn stored_projects(&self) -> Vec<String> {
        std::fs::read_dir(self.stores_dir())
            .map(|dir| dir.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default()
    }

    fn plan(&self, state: &MetaState, name: &str) -> Result<Plan, String> {
        let project = state.projects.get(name).ok_or("project vanished")?.clone();
        let ProjectSources { servers: streams, objects, routes } =
            state.project_sources(&self.config.keyring, &project).map_err(|e| e.to_string())?;
        let mut connectors = Vec::new();
        for connector in project.spec.connectors() {
            let destination = match state.data_sources.get(&connector.destination).map(|d| &d.kind) {
                Some(kind @ DataSourceKind::Kafka { .. }) => Destination::Kafka(
                    KafkaSinkConfig::of(kind, &self.config.keyring)
                        .expect("a kafka data source")
                        .map_err(|e| e.to_string())?,
                ),
                Some(kind @ DataSourceKind::Datahub { .. }) => Destination::Datahub(
                    DatahubSinkConfig::of(kind, &self.config.keyring)
                        .expect("a datahub data source")
                        .map_err(|e| e.to_string())?,
                ),
                Some(kind @ DataSourceKind::Rocketmq { .. }) => Destination::Rocketmq(
                    RocketmqSinkConfig::of(kind, &self.config.keyring)
                        .expect("a rocketmq data source")
                        .map_err(|e| e.to_string())?,
                ),
                Some(kind) => Destination::Database(
                    DatabaseSinkConfig::of(kind, &self.config.keyring)
                        .ok_or_else(|| {
                            format!(
                                "{} is a {} data source, not a destination",
                                connector.destination,
                                kind.type_name()
                            )
                        })?
                        .map_err(|e| e.to_string())?,
                ),
                None => return Err(format!("destination {} does not exist", connector.destination)),
            };
            connectors.push((connector, destination));
        }
        let filter = Arc::new(TableFilter::new(&objects).map_err(|e| e.to_string())?);
        // On a sharded source `objects` are the shards' (whole: shaping is refused there).
        let shapes = Arc::new(Shapes::new(&objects).map_err(|e| e.to_string())?);
        let server_id = project
            .spec
            .options
            .server_id
            .unwrap_or_else(|| replica_server_id(state.key_check.as_deref().unwrap_or_default(), name));
        let routes = Arc::new(Routes::new(&routes).map_err(|e| e.to_string())?);
        Ok(Plan { project, streams, connectors, filter, shapes, routes, server_id })
    }

    /// Opens a local store (in `dir`, `name` in logs), ready to continue from the oldest
    /// connector checkpoint: a store that ran here before is kept when its log agrees with that
    /// checkpoint, otherwise it starts over from the checkpoint's position.
    fn open_store(
        &self,
        dir: PathBuf,
        name: &str,
        checkpoint: &crate::model::Checkpoint,
    ) -> Result<Arc<RocksChangeLog>, String> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let log = RocksChangeLog::open(&dir).map_err(|e| format!("cannot open the store: {e}"))?;
        if checkpoint.seq == 0 || log.agrees_with(checkpoint.seq, &checkpoint.position) {
            return Ok(Arc::new(log));
        }
        drop(log);
        if dir.exists() {
            tracing::info!(
                project = name,
                seq = checkpoint.seq,
                "the local store is not at the checkpoint: starting it over from there"
            );
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot reset the store: {e}"))?;
        }
        let log = RocksChangeLog::open(&dir).map_err(|e| format!("cannot open the store: {e}"))?;
        log.rebase(checkpoint.seq, checkpoint.position.clone())
            .map_err(|e| format!("cannot prepare the store: {e}"))?;
        Ok(Arc::new(log))
    }

    fn start(&mut self, name: &str, epoch: u64, ctx: &mut Context<Self>) {
        let plan = self.config.meta.read(|s| self.plan(s, name));
        let plan = match plan {
            Ok(plan) => plan,
            Err(error) => return self.fail(name, epoch, error),
        };
        let Some(placement) = plan.project.placement.clone() else { return };
        let me = self.config.node_id;
        let status = Arc::new(PipelineStatus::default());
        let sharded = plan.streams.iter().any(|s| s.instance.is_some());
        let mut streams = Vec::new();
        let (mut store_feed, mut instances) = (None, Vec::new());
        for stream in &plan.streams {
            // A sharded source's stores each have figures of their own.
            let stream_status = if sharded { Arc::new(PipelineStatus::default()) } else { status.clone() };
            let (store, local) = if placement.node == me {
                match self.start_store(&plan, stream, epoch, &stream_status, ctx) {
                    Ok((store, local)) => (Some(store), Some(local)),
                    Err(error) => {
                        // What started already stops with the failed project.
                        for started in streams.iter().filter_map(|s: &StreamRun| s.store.as_ref()) {
                            started.actor.do_send(StopComponent);
                        }
                        return self.fail(name, epoch, error);
                    }
                }
            } else {
                (None, None)
            };
            let feed: Arc<dyn Feed> = match &local {
                Some(local) => Arc::new(local.clone()),
                None => {
                    let http =
                        self.config.meta.read(|s| s.nodes.get(&placement.node).map(|n| n.http.clone()));
                    let http = http.unwrap_or_default();
                    let token = self.config.admin_token.clone();
                    Arc::new(RemoteFeed::new(&self.config.peers, placement.node, &http, name, token, epoch))
                }
            };
            match (&stream.instance, local) {
                (Some(instance), Some(local)) => instances.push(InstanceStore {
                    instance: instance.clone(),
                    status: stream_status.clone(),
                    store: local,
                }),
                (None, local) => store_feed = local,
                (Some(_), None) => {}
            }
            streams.push(StreamRun { store, feed });
        }
        let gate = self.config.gates.issue(&self.config.lease, name, epoch);
        let mut running =
            Running { epoch, streams, connectors: BTreeMap::new(), status: status.clone(), gate };
        // The connectors of a sharded source run beside their stores.
        let here = |c: &ConnectorSpec| match sharded {
            true => placement.node == me,
            false => placement.connector_node(&c.id) == me,
        };
        for (stream_index, stream) in plan.streams.iter().enumerate() {
            for (connector, destination) in plan.connectors.iter().filter(|(c, _)| here(c)) {
                let arbiter = Arbiter::new();
                let actor = self.start_connector(
                    &plan,
                    stream_index,
                    connector,
                    destination,
                    &running,
                    &arbiter.handle(),
                    ctx,
                );
                let key = checkpoint_key(&connector.id, stream.instance.as_deref());
                running.connectors.insert(key, ConnectorRun { arbiter, actor });
            }
        }
        self.config.live.set(name, Some(LiveProject { epoch, status, store: store_feed, instances }));
        self.running.insert(name.to_string(), running);
        tracing::info!(
            project = name,
            epoch,
            node = me,
            store_node = placement.node,
            connectors = ?placement.connectors,
            "project started on this node"
        );
    }

    /// Opens the store of `stream` and starts its actor.
    fn start_store(
        &self,
        plan: &Plan,
        stream: &SourceServer,
        epoch: u64,
        status: &Arc<PipelineStatus>,
        ctx: &mut Context<Self>,
    ) -> Result<(StoreRun, LocalFeed), String> {
        let name = plan.project.spec.name.as_str();
        let instance = stream.instance.clone();
        let checkpoint = plan.project.oldest_checkpoint_in(instance.as_deref());
        // A sharded source's stores are folders of the project's: `<stores>/<project>/<instance>`.
        let (dir, label) = match &instance {
            Some(i) => (self.stores_dir().join(name).join(i), format!("{name}@{i}")),
            None => (self.stores_dir().join(name), name.to_string()),
        };
        let log = self.open_store(dir.clone(), &label, &checkpoint)?;
        *status.store_started.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((now_ms(), log.appended_bytes()));
        let (appended_tx, appended) = watch::channel(log.last_seq());
        let store = &plan.project.spec.store;
        let max_disk_bytes = store.max_disk_bytes.unwrap_or_else(|| default_max_disk_bytes(&dir));
        let meta = self.config.meta.clone();
        let project = name.to_string();
        // The replicated checkpoints: what every connector (wherever it runs) has delivered.
        let of = instance.clone();
        let oldest_checkpoint = Arc::new(move || {
            meta.read(|s| s.projects.get(&project).map_or(0, |p| p.oldest_checkpoint_in(of.as_deref()).seq))
        });
        let history = HistoryKeys::of(instance.as_deref());
        let store_task = StoreTask {
            project: label.clone(),
            source: stream.connection.clone(),
            replica_server_id: plan.server_id,
            heartbeat: (plan.project.spec.options.heartbeat_ms > 0)
                .then(|| Duration::from_millis(plan.project.spec.options.heartbeat_ms)),
            filter: plan.filter.clone(),
            start: plan.project.spec.start.clone(),
            log: log.clone(),
            appended: appended_tx,
            status: status.clone(),
            retention: Retention {
                max_age_secs: store.retention_hours * 3600,
                max_bytes: store.retention_bytes,
            },
            max_disk_bytes,
            oldest_checkpoint,
            replicated_history: plan
                .project
                .schema_history
                .iter()
                .filter_map(|e| Some((history.local(&e.key)?, e.value.clone())))
                .collect(),
            replicate_history: replicate_history(self.config.meta.clone(), name.to_string(), epoch, history),
            shapes: plan.shapes.clone(),
            full: plan.project.spec.sync.full,
            snapshot: plan.project.spec.snapshot.clone(),
        };
        let report = ctx.address().recipient();
        let arbiter = Arbiter::new();
        let project = name.to_string();
        let actor = ComponentActor::start_in_arbiter(&arbiter.handle(), move |_| {
            let task = Box::new(move |stop| -> TaskFuture {
                Box::pin(async move { store_exit(store_task.run(stop).await) })
            });
            ComponentActor::new(project, epoch, ComponentKind::Store, task, report)
        });
        Ok((StoreRun { actor, arbiter }, LocalFeed { log, appended, base: checkpoint.seq }))
    }

    /// Starts `connector` on the store of `plan.streams[stream]`; it checkpoints under its key
    /// there ([`checkpoint_key`]).
    #[allow(clippy::too_many_arguments)]
    fn start_connector(
        &self,
        plan: &Plan,
        stream: usize,
        connector: &ConnectorSpec,
        destination: &Destination,
        running: &Running,
        arbiter: &ArbiterHandle,
        ctx: &mut Context<Self>,
    ) -> Addr<ComponentActor> {
        let spec = &plan.project.spec;
        let name = spec.name.clone();
        let epoch = running.epoch;
        let id = checkpoint_key(&connector.id, plan.streams[stream].instance.as_deref());
        let checkpoint = self
            .config
            .meta
            .read(|s| s.projects.get(&name).and_then(|p| p.checkpoints.get(&id).cloned()))
            .unwrap_or_default();
        let destination = destination.clone();
        // Half the lease: a paused node's queued messages expire well before the supervisor
        // gives its work to another node.
        let delivery_timeout = (self.config.lease.duration() / 2).max(Duration::from_secs(1));
        let partition = connector.partition;
        let (resume, incarnation) = (checkpoint.position.clone(), plan.project.created_at_ms);
        let routes = plan.routes.clone();
        let (checkpoints, gate, feed, filter, status, mysql) = (
            self.config.checkpoints.clone(),
            running.gate.clone(),
            running.streams[stream].feed.clone(),
            plan.filter.clone(),
            running.status.clone(),
            plan.streams[stream].connection.clone(),
        );
        let (format, options, topic) = (connector.format, spec.options.clone(), connector.topic.clone());
        let report = ctx.address().recipient();
        let (project, kind) = (name.clone(), ComponentKind::Connector(id.clone()));
        ComponentActor::start_in_arbiter(arbiter, move |_| {
            let task = Box::new(move |stop| -> TaskFuture {
                Box::pin(async move {
                    let live = status.connector(&id);
                    let run = async {
                        let (info, zone) = match server_info_and_zone(&mysql).await {
                            Ok(found) => found,
                            Err(e) if e.is_transient() => return Exit::Transient(e.to_string()),
                            Err(e) => return Exit::Definite(e.to_string()),
                        };
                        // A store started over from an older connector's checkpoint numbers its
                        // log anew: this connector starts there and skips through its own
                        // checkpoint by source position.
                        let begin = match feed.begin(checkpoint).await {
                            Ok(begin) => begin,
                            Err(e) => return Exit::Transient(e.to_string()),
                        };
                        live.begin(now_ms(), begin.checkpoint.rows, begin.checkpoint.bytes);
                        let acks = Arc::new(AckTracker::new(begin.checkpoint).observed_by(live.clone()));
                        let sink_context = SinkContext {
                            project: name.clone(),
                            connector: id.clone(),
                            epoch,
                            acks: acks.clone(),
                            filter: filter.clone(),
                            topic,
                            routes,
                            resume,
                            incarnation,
                            format,
                            codec: CodecContext {
                                project: name.clone(),
                                store_id: name.clone(),
                                flavor: info.flavor,
                                server_zone: Arc::new(zone),
                                tombstones: options.tombstones,
                                truncate_events: options.truncate_events,
                            },
                            partition,
                            topic_partitions: options.topic_partitions,
                            split_key_updates: options.split_key_updates,
                            delivery_timeout,
                        };
                        let sink = match destination.build(sink_context) {
                            Ok(sink) => sink,
                            Err(e) => return Exit::Transient(e.to_string()),
                        };
                        let task = ConnectorTask {
                            project: name,
                            connector: id,
                            skip_through: begin.skip_through,
                            epoch,
                            checkpoints,
                            gate,
                            feed,
                            sink,
                            filter,
                            acks,
                            checkpoint_interval: Duration::from_millis(options.checkpoint_interval_ms),
                            status: status.clone(),
                            live: live.clone(),
                        };
                        connector_exit(task.run(stop).await)
                    };
                    let exit = run.await;
                    if let Exit::Transient(e) | Exit::Definite(e) = &exit {
                        status.set_error(Some(e.clone()));
                        live.set_error(Some(e.clone()));
                    }
                    exit
                })
            });
            ComponentActor::new(project, epoch, kind, task, report)
        })
    }

    /// Proposes that `project` failed; the state change then stops it everywhere.
    fn fail(&self, project: &str, epoch: u64, error: String) {
        tracing::error!(project, epoch, %error, "project failed");
        let meta = self.config.meta.clone();
        let command = Command::Fail { name: project.to_string(), epoch, error, now_ms: now_ms() };
        actix::spawn(async move {
            if let Err(e) = meta::propose(&meta, command).await {
                tracing::warn!(error = %e, "could not record the failure");
            }
        });
    }

    /// Tells the supervisor these projects are stopped here.
    fn report_released(
        &self,
        projects: Vec<(String, u64)>,
    ) -> impl std::future::Future<Output = ()> + 'static {
        let meta = self.config.meta.clone();
        let node = self.config.node_id;
        async move {
            if projects.is_empty() {
                return;
            }
            tracing::info!(node, ?projects, "released projects");
            // A hint: without it the supervisor still moves the work once the lease expires.
            let released = Command::Released { node, projects }.into();
            if let Err(e) = meta.propose_within(released, Duration::from_secs(2)).await {
                tracing::warn!(error = %e, "could not report released projects");
            }
        }
    }
}

/// The default replica server id: distinct per cluster (`cluster` is its key check, random at
/// the cluster's creation) and project, and away from the small ids servers usually have.
fn replica_server_id(cluster: &[u8], project: &str) -> u32 {
    let mut bytes = cluster.to_vec();
    bytes.extend_from_slice(project.as_bytes());
    1_000_000 + (stable_hash(&bytes) % 1_000_000_000) as u32
}

fn store_exit(result: Result<(), StoreTaskError>) -> Exit {
    match result {
        Ok(()) => Exit::Stopped,
        Err(StoreTaskError::Fenced(_)) => Exit::Fenced,
        Err(e) => Exit::Definite(e.to_string()),
    }
}

/// Schema history bytes per proposal, about (an entry is never split).
const HISTORY_PROPOSAL_BYTES: usize = 256 << 10;

/// Where a store's schema history entries are in the project's replicated history: as they are
/// for the one store of a project, under a prefix of the instance's for each of a sharded
/// source's.
#[derive(Clone)]
struct HistoryKeys {
    prefix: Vec<u8>,
}

impl HistoryKeys {
    fn of(instance: Option<&str>) -> Self {
        let prefix = instance.map(|i| [b"@", i.as_bytes(), b"\0"].concat()).unwrap_or_default();
        HistoryKeys { prefix }
    }

    /// The replicated key of a store's entry.
    fn replicated(&self, key: Vec<u8>) -> Vec<u8> {
        match self.prefix.is_empty() {
            true => key,
            false => [self.prefix.as_slice(), &key].concat(),
        }
    }

    /// The store's key of a replicated entry, when it is this store's.
    fn local(&self, key: &[u8]) -> Option<Vec<u8>> {
        key.strip_prefix(self.prefix.as_slice()).map(<[u8]>::to_vec)
    }
}

/// How a store of `epoch` replicates its schema history: proposed until it commits (a leader
/// change or a lost quorum is waited out), refused only when the epoch is stale.
fn replicate_history(meta: Meta, project: String, epoch: u64, keys: HistoryKeys) -> ReplicateHistory {
    Arc::new(move |entries| {
        let (meta, project, keys) = (meta.clone(), project.clone(), keys.clone());
        Box::pin(async move {
            // A baseline of many tables goes in several proposals of bounded size.
            let mut chunks: Vec<Vec<HistoryEntry>> = vec![Vec::new()];
            let mut bytes = 0;
            for (key, value) in entries {
                if bytes >= HISTORY_PROPOSAL_BYTES {
                    chunks.push(Vec::new());
                    bytes = 0;
                }
                bytes += key.len() + value.len();
                let key = keys.replicated(key);
                chunks.last_mut().expect("one at least").push(HistoryEntry { key, value });
            }
            for entries in chunks.into_iter().filter(|c| !c.is_empty()) {
                loop {
                    let command =
                        Command::SaveSchemaHistory { name: project.clone(), epoch, entries: entries.clone() };
                    match meta::propose(&meta, command).await {
                        Ok(Ok(())) => break,
                        Ok(Err(e)) => return Err(e.to_string()),
                        Err(e) => {
                            tracing::warn!(project, error = %e, "schema history not replicated yet; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            }
            Ok(())
        })
    })
}

fn connector_exit(result: Result<(), ConnectorError>) -> Exit {
    match result {
        Ok(()) => Exit::Stopped,
        Err(ConnectorError::Fenced(_) | ConnectorError::LeaseLost) => Exit::Fenced,
        Err(e @ (ConnectorError::Sink(SinkError::Refused(_)) | ConnectorError::Gap { .. })) => {
            Exit::Definite(e.to_string())
        }
        Err(e) => Exit::Transient(e.to_string()),
    }
}

impl Actor for NodeAgent {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Every second too: retry what failed to start, restart connectors after transient
        // errors, start work once the lease is (again) held.
        let generation = self.config.generation.clone();
        follow_generation(self, ctx, &generation, Duration::from_secs(1));
    }
}

/// How long the node's shutdown waits for a connector to drain and save its last checkpoint.
const CONNECTOR_STOP: Duration = Duration::from_secs(3);

/// Stops each project's connector (which drains and saves a last checkpoint), then its store.
async fn stop_all(stops: BTreeMap<String, Running>, live: LiveStatus, gates: Gates) {
    for (name, running) in stops {
        let name = &name;
        let stopping = running.connectors.iter().map(|(id, connector)| async move {
            match tokio::time::timeout(CONNECTOR_STOP, connector.actor.send(StopComponent)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(project = %name, connector = %id, error = %e, "connector was already gone"),
                // Its thread is held by a call to its destination (a metadata request to a
                // broker that does not answer): what it did not deliver is in no checkpoint.
                Err(_) => tracing::warn!(project = %name, connector = %id, "connector did not stop in time: left behind"),
            }
        });
        futures_util::future::join_all(stopping).await;
        for store in running.streams.iter().filter_map(|s| s.store.as_ref()) {
            if let Err(e) = store.actor.send(StopComponent).await {
                tracing::warn!(project = %name, error = %e, "store was already gone");
            }
            store.arbiter.stop();
        }
        for connector in running.connectors.values() {
            connector.arbiter.stop();
        }
        gates.remove(name, running.epoch);
        live.set(name, None);
        tracing::info!(project = %name, "project stopped on this node");
    }
}

impl NodeAgent {
    fn steps(&self) -> Vec<Step> {
        let running: BTreeMap<String, u64> = self.running.iter().map(|(n, r)| (n.clone(), r.epoch)).collect();
        let stored = self.stored_projects();
        let may_start = self.config.lease.is_valid() && !self.shutting_down;
        self.config.meta.read(|s| reconcile(s, self.config.node_id, &running, &stored, may_start))
    }

    fn stop_now(&mut self, project: &str, ctx: &mut Context<Self>) {
        if let Some(r) = self.running.remove(project) {
            r.gate.revoke();
            self.stop_project(project.to_string(), r, None, ctx);
        }
    }

    /// Stops what runs here of `project` (its connectors drain and save a last checkpoint unless
    /// its gate is closed), reports it released when asked (`release`: its epoch), then plans
    /// again: the project starts anew only after this.
    fn stop_project(
        &mut self,
        project: String,
        running: Running,
        release: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        self.stopping.insert(project.clone());
        self.in_flight.send_modify(|n| *n += 1);
        let stopped = stop_all(
            [(project.clone(), running)].into(),
            self.config.live.clone(),
            self.config.gates.clone(),
        );
        let report =
            self.report_released(release.map(|epoch| vec![(project.clone(), epoch)]).unwrap_or_default());
        let stop = async move {
            stopped.await;
            report.await
        };
        ctx.spawn(stop.into_actor(self).map(move |_, act, ctx| {
            act.stopping.remove(&project);
            act.in_flight.send_modify(|n| *n -= 1);
            if !act.shutting_down {
                ctx.notify(MetaChanged);
            }
        }));
    }
}

impl Handler<MetaChanged> for NodeAgent {
    type Result = ();

    /// Stops what must stop, each project on its own (awaiting its connectors' last
    /// checkpoints), reports what was released, and starts or purges the rest; a project being
    /// stopped is started or purged by the pass that follows its stop.
    fn handle(&mut self, _: MetaChanged, ctx: &mut Context<Self>) {
        if self.shutting_down {
            return;
        }
        for step in self.steps() {
            match step {
                Step::Stop { project } => {
                    if let Some(r) = self.running.remove(&project) {
                        // A newer run of the project takes over (a move, a reset, a new
                        // source): this one's last checkpoint would be refused, so it stops
                        // at once instead of draining what it has queued.
                        let superseded = self.config.meta.read(|s| {
                            s.projects
                                .get(&project)
                                .is_some_and(|p| p.state == ProjectState::Running && p.epoch != r.epoch)
                        });
                        if superseded {
                            r.gate.revoke();
                        }
                        self.stop_project(project, r, None, ctx);
                    }
                }
                Step::Release { project, epoch } => match self.running.remove(&project) {
                    Some(r) => self.stop_project(project, r, Some(epoch), ctx),
                    // Stopping: reported by the pass after its stop.
                    None if self.stopping.contains(&project) => {}
                    None => {
                        ctx.spawn(self.report_released(vec![(project, epoch)]).into_actor(self));
                    }
                },
                Step::Start { project, epoch } if !self.stopping.contains(&project) => {
                    self.start(&project, epoch, ctx)
                }
                Step::Purge { project } if !self.stopping.contains(&project) => {
                    let dir = self.stores_dir().join(&project);
                    match std::fs::remove_dir_all(&dir) {
                        Ok(()) => tracing::info!(project, "released the project's store"),
                        Err(e) => tracing::warn!(project, error = %e, "cannot remove the store"),
                    }
                }
                Step::Start { .. } | Step::Purge { .. } => {}
            }
        }
    }
}

impl Handler<ComponentExited> for NodeAgent {
    type Result = ();

    fn handle(&mut self, msg: ComponentExited, ctx: &mut Context<Self>) {
        let Some(running) = self.running.get(&msg.project).filter(|r| r.epoch == msg.epoch) else {
            return; // an exit we asked for, or of an older run
        };
        match (msg.exit, msg.kind) {
            (Exit::Stopped, _) => {}
            (Exit::Definite(error), _) => self.fail(&msg.project, msg.epoch, error),
            (Exit::Fenced, _) => self.stop_now(&msg.project, ctx),
            (Exit::Transient(error), ComponentKind::Connector(id)) => {
                running.status.count_error(&format!("connector/{id}"));
                let (project, epoch) = (msg.project.clone(), running.epoch);
                let seq = self
                    .config
                    .meta
                    .read(|s| s.projects.get(&project).and_then(|p| p.checkpoints.get(&id)).map(|c| c.seq));
                let now = Instant::now();
                let fresh = Failing { epoch, since: now, seq, last: now, attempts: 0 };
                let failing = self.failing.entry((project.clone(), id.clone())).or_insert(fresh);
                if failing.epoch != epoch || failing.seq != seq || failing.last.elapsed() > FAILURES_APART {
                    // Another run, or it delivered something since: a new run of failures.
                    *failing = Failing { epoch, since: now, seq, last: now, attempts: 0 };
                }
                failing.attempts += 1;
                failing.last = now;
                let failed_for = failing.since.elapsed();
                if failed_for >= self.config.retry_limit {
                    let error = format!(
                        "connector {id} kept failing for {} s without delivering anything: {error}",
                        failed_for.as_secs()
                    );
                    self.failing.remove(&(project.clone(), id));
                    return self.fail(&project, epoch, error);
                }
                let delay = retry_delay(failing.attempts - 1);
                tracing::warn!(project = %msg.project, connector = %id, %error, ?delay, "connector failed, restarting");
                ctx.run_later(delay, move |act, ctx| {
                    let plan = act.config.meta.read(|s| act.plan(s, &project));
                    let (Ok(plan), Some(running)) = (plan, act.running.get(&project)) else { return };
                    let Some((stream, connector, destination)) = plan.connector(&id) else { return };
                    let Some(arbiter) = running.connectors.get(&id).map(|c| c.arbiter.handle()) else {
                        return;
                    };
                    if running.epoch == epoch && running.gate.is_open() {
                        let actor = act.start_connector(
                            &plan,
                            stream,
                            connector,
                            destination,
                            running,
                            &arbiter,
                            ctx,
                        );
                        if let Some(c) = act.running.get_mut(&project).and_then(|r| r.connectors.get_mut(&id))
                        {
                            c.actor = actor;
                        }
                    }
                });
            }
            (Exit::Transient(error), ComponentKind::Store) => self.fail(&msg.project, msg.epoch, error),
        }
    }
}

impl Handler<Shutdown> for NodeAgent {
    type Result = ResponseActFuture<Self, ()>;

    /// Stops every project here (connectors drain and checkpoint) and reports them released,
    /// so the supervisor places them elsewhere at once.
    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) -> Self::Result {
        self.shutting_down = true;
        let stops = std::mem::take(&mut self.running);
        let released: Vec<(String, u64)> = stops.iter().map(|(n, r)| (n.clone(), r.epoch)).collect();
        let stopped = stop_all(stops, self.config.live.clone(), self.config.gates.clone());
        let report = self.report_released(released);
        let mut in_flight = self.in_flight.subscribe();
        Box::pin(
            async move {
                stopped.await;
                report.await;
                // And the stops that were already under way.
                let _ = in_flight.wait_for(|n| *n == 0).await;
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        )
    }
}
