//! The composition root of a node.
//!
//! Start-up: the Raft node (its log replayed), the network to its peers, the lease keeper,
//! the node agent and the supervisor, then the HTTP API. In the background, a key check:
//! a node whose key file differs from the cluster's stops with a message saying so.
//!
//! Shutdown (SIGTERM/SIGINT), in order, bounded so the process exits within 15 s even
//! without a quorum: the API stops accepting requests; the node says it is leaving (it gets
//! no new work) while, at the same time, the agent stops every project here (each connector drains its in-flight
//! messages and saves a last checkpoint, then its store stops) and reports them released, so
//! the supervisor places them elsewhere at once; a leader hands leadership over; Raft stops.

mod args;
mod options;
mod tls;

pub use args::NodeArgs;
pub use options::{parse_peers, resolve, ClusterOptions};
pub use tls::TlsOptions;

use crate::http::{self, ApiContext, ClusterContext};
use crate::meta::{self, CheckpointSaver, Command, Meta, MetaState};
use crate::runtime::{
    keep_lease, keep_series, watch_meta, AgentConfig, Gates, Lease, LiveStatus, Liveness, NodeAddress,
    NodeAgent, Series, Shutdown, Supervisor, SupervisorConfig,
};
use crate::secrets::Keyring;
use actix::Actor;
use actix_web::{App, HttpServer};
use anyhow::Context as _;
use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct NodeOptions {
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub admin_token: Option<String>,
    /// A read-only token, if any.
    pub viewer_token: Option<String>,
    /// `/metrics` needs a token.
    pub metrics_auth: bool,
    pub key_file: Option<PathBuf>,
    pub cluster: ClusterOptions,
    /// How long a node's lease lasts without renewal.
    pub lease: Duration,
    /// How long a connector may fail on transient errors without progress before its project
    /// fails.
    pub retry_limit: Duration,
    /// Serve HTTPS (and call the other nodes over it).
    pub tls: Option<TlsOptions>,
}

/// The key file lives outside the data directory: `<data-dir>.key` beside it by default.
fn default_key_file(data_dir: &Path) -> PathBuf {
    let mut name = data_dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "ferry".into());
    name.push(".key");
    data_dir.with_file_name(name)
}

/// The admin token: given, or read from `<data-dir>/admin.token`, or generated there (mode
/// 0600, written atomically). Never printed: the log says where it is.
fn admin_token(data_dir: &Path, given: Option<String>) -> anyhow::Result<String> {
    if let Some(token) = given.filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let path = data_dir.join("admin.token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    write_private(&path, token.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("ferry: generated an admin token into {} (readable by this user only)", path.display());
    Ok(token)
}

/// Writes `bytes` to `path` readable by this user only: into a temporary file beside it, synced,
/// then renamed over it, so no reader ever sees a partial file.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates the data directory (and its missing parents) readable by this user only; an
/// existing one is left as it is.
fn create_data_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// What the key check seals: a node that cannot open it holds another key.
const KEY_CHECK: &str = "ferry key check v1";

/// Checks that this node's key is the cluster's, and stops the node (through `fatal`) if not:
/// - the replicated state holds a value sealed with the cluster's key: once the node has it
///   (replayed from its own log at a restart, or caught up), its key must open it;
/// - a node that has no state yet learns it from its peers: when every peer refuses its cluster
///   secret, its key is the odd one out;
/// - the first node to catch up with a cluster that has no key check records one.
async fn check_key(
    meta: Meta,
    keyring: Arc<Keyring>,
    key_file: PathBuf,
    transport: Option<Arc<cluster::TcpTransport>>,
    fatal: watch::Sender<Option<String>>,
) {
    let differs = |why: String| {
        format!("this node's key file {} differs from the cluster's: {why}", key_file.display())
    };
    loop {
        if let Some(sealed) = meta.read(|s| s.key_check.clone()) {
            if keyring.open(&sealed).ok().as_deref() != Some(KEY_CHECK) {
                fatal.send_replace(Some(differs(
                    "it cannot open what the cluster sealed with its key".into(),
                )));
            }
            return;
        }
        if let Some(reason) = transport.as_ref().and_then(|t| t.refused_by_every_peer()) {
            fatal.send_replace(Some(differs(reason)));
            return;
        }
        let caught_up = tokio::time::timeout(Duration::from_secs(1), meta.read_index()).await;
        if matches!(caught_up, Ok(Ok(()))) && meta.read(|s| s.key_check.is_none()) {
            let sealed = keyring.seal(KEY_CHECK);
            match meta::propose(&meta, Command::SetKeyCheck { sealed }).await {
                // Recorded (or another node's was first): check it on the next turn.
                Ok(_) => continue,
                Err(e) => tracing::debug!(error = %e, "could not record the key check yet"),
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub async fn run_node(opts: NodeOptions) -> anyhow::Result<()> {
    create_data_dir(&opts.data_dir)
        .with_context(|| format!("creating data dir {}", opts.data_dir.display()))?;
    if opts.data_dir.join("meta").exists() && !opts.data_dir.join("raft").exists() {
        anyhow::bail!(
            "{} holds metadata of Ferry's earlier one-node engine ({}/meta), which this version does not read: start with a new data dir and create the data sources and projects again",
            opts.data_dir.display(),
            opts.data_dir.display()
        );
    }
    // Bad certificate files stop the node before anything starts.
    let tls = match &opts.tls {
        Some(tls) => Some((tls.server_config()?, tls.peers()?)),
        None => None,
    };
    let peers = tls.as_ref().map(|(_, peers)| peers.clone()).unwrap_or_default();
    let key_file = opts.key_file.clone().unwrap_or_else(|| default_key_file(&opts.data_dir));
    let keyring = Arc::new(Keyring::load_or_create(&key_file)?);
    let token = admin_token(&opts.data_dir, opts.admin_token)?;
    let cluster_opts = &opts.cluster;
    let node_id = cluster_opts.node_id;

    let (mailbox, inbox) = cluster::Mailbox::new();
    let tcp = match cluster_opts.raft {
        Some(raft) => Some(Arc::new(cluster::TcpTransport::start(
            node_id,
            raft,
            keyring.derive("cluster secret"),
            mailbox,
        )?)),
        None => None,
    };
    let transport: Arc<dyn cluster::Transport> = match &tcp {
        Some(t) => t.clone(),
        None => Arc::new(cluster::transport::NoPeers),
    };
    let raft_config =
        cluster::NodeConfig::new(node_id, opts.data_dir.join("raft"), cluster_opts.bootstrap.clone());
    let meta: Meta = cluster::Node::start(raft_config, MetaState::default(), transport, inbox)?;

    let (fatal_tx, mut fatal) = watch::channel(None::<String>);
    tokio::spawn(check_key(meta.clone(), keyring.clone(), key_file, tcp.clone(), fatal_tx));

    let lease = Lease::new(opts.lease);
    let gates = Gates::default();
    let liveness = Liveness::default();
    let generation = watch_meta(meta.clone(), liveness.clone());
    let (stop_lease, stop_lease_rx) = watch::channel(false);
    let address = NodeAddress {
        id: node_id,
        raft: cluster_opts.raft.map(|a| a.to_string()).unwrap_or_default(),
        http: opts.http.to_string(),
    };
    let mut lease_keeper =
        tokio::spawn(keep_lease(meta.clone(), address, lease.clone(), gates.clone(), stop_lease_rx));
    let checkpoints = CheckpointSaver::start(meta.clone());
    let live = LiveStatus::default();
    let token: Arc<str> = token.into();
    let agent = NodeAgent::new(AgentConfig {
        node_id,
        data_dir: opts.data_dir.clone(),
        meta: meta.clone(),
        keyring: keyring.clone(),
        live: live.clone(),
        lease: lease.clone(),
        gates,
        checkpoints,
        admin_token: token.clone(),
        peers: peers.clone(),
        generation: generation.clone(),
        retry_limit: opts.retry_limit,
    })
    .start();
    // Lost: silent past the lease, plus the delivery timeout of what it may have queued
    // (half a lease), plus a margin for clocks and scheduling.
    let lost_after = opts.lease + opts.lease / 2 + Duration::from_millis(500);
    let _supervisor = Supervisor::new(SupervisorConfig {
        meta: meta.clone(),
        liveness: liveness.clone(),
        lease: opts.lease,
        lost_after,
        generation,
    })
    .start();

    let series = Series::default();
    tokio::spawn(keep_series(live.clone(), series.clone()));
    let ctx = ApiContext {
        meta: meta.clone(),
        keyring,
        live,
        series,
        admin_token: token,
        viewer_token: opts.viewer_token.filter(|t| !t.is_empty()).map(Into::into),
        metrics_auth: opts.metrics_auth,
        cluster: ClusterContext { liveness, lease: opts.lease, lost_after, transport: tcp },
        data_dir: opts.data_dir.clone(),
        peers,
        verifications: Default::default(),
    };
    let server = HttpServer::new(move || App::new().configure(http::configure(ctx.clone())))
        .workers(2)
        .shutdown_timeout(3)
        // Signals are ours: actix-server would stop the whole System on SIGTERM, taking the
        // components' arbiters down before their connectors could drain and checkpoint.
        .disable_signals();
    let server = match tls {
        Some((config, _)) => server.bind_rustls_0_23(opts.http, config),
        None => server.bind(opts.http),
    };
    let server = server.with_context(|| format!("binding the API to {}", opts.http))?.run();
    let api = server.handle();
    let serving = actix_web::rt::spawn(server);
    tracing::info!(node = node_id, http = %opts.http, https = opts.tls.is_some(), raft = ?cluster_opts.raft, data_dir = %opts.data_dir.display(), "ferry node up");

    let fatal = async {
        match fatal.wait_for(|f| f.is_some()).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // The key check passed and ended: nothing fatal can come from it any more.
            Err(_) => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        signal = termination() => Ok(signal?),
        reason = fatal => Err(reason),
    };
    let started = Instant::now();
    match &outcome {
        Ok(signal) => tracing::info!(signal, "stopping: the API first"),
        Err(reason) => tracing::error!("stopping: {reason}"),
    }
    api.stop(true).await;
    let _ = serving.await;
    // Everything below is bounded (API 3 s, hand-off 8 s, Raft 2 s): without a quorum the node
    // still exits within 15 s.
    let leave = async {
        let leaving = async {
            // Without a known leader the cluster has no quorum to tell: just stop.
            if outcome.is_ok() && meta.leader().is_some() {
                match meta
                    .propose_within(Command::NodeLeaving { node: node_id }.into(), Duration::from_secs(2))
                    .await
                {
                    Ok(_) => tracing::info!("told the cluster this node is leaving"),
                    Err(e) => tracing::warn!(error = %e, "could not tell the cluster this node is leaving"),
                }
            }
        };
        // Both at once: the leaving notice is proposed first (before the projects' release
        // report), and the projects stop taking new changes now. Waiting for the notice first
        // let connectors write for its 2 s timeout when the cluster had just lost its quorum:
        // changes no checkpoint could cover, sent again after the restart.
        tokio::join!(leaving, async { agent.send(Shutdown).await.ok() });
        hand_over_leadership(&meta).await;
    };
    if tokio::time::timeout(Duration::from_secs(8), leave).await.is_err() {
        tracing::warn!("projects did not stop in time; exiting anyway");
    }
    stop_lease.send_replace(true);
    if tokio::time::timeout(Duration::from_millis(500), &mut lease_keeper).await.is_err() {
        lease_keeper.abort(); // mid-renewal without a quorum: nothing to finish
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), meta.shutdown()).await;
    tracing::info!(took_ms = started.elapsed().as_millis() as u64, "ferry node stopped");
    outcome.map(|_| ()).map_err(anyhow::Error::msg)
}

/// A leader that stops hands leadership to another voter first, so the cluster does not wait
/// for an election timeout.
async fn hand_over_leadership(meta: &Meta) {
    let status = meta.status();
    if status.leader != Some(status.id) {
        return;
    }
    let Some(to) =
        status.members.iter().find(|m| m.id != status.id && m.voter && m.recent_active == Some(true))
    else {
        return;
    };
    meta.transfer_leader(to.id);
    let mut leader = meta.watch_leader();
    let me = status.id;
    let _ =
        tokio::time::timeout(Duration::from_secs(2), leader.wait_for(|l| l.is_some_and(|l| l != me))).await;
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn termination() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
