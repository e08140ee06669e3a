//! The composition root of a node. Start-up: metadata (replayed from its log), the supervisor,
//! then the HTTP API. Shutdown (SIGTERM/SIGINT), in order: the API stops accepting requests,
//! the supervisor stops every project (each connector drains its in-flight messages and saves a
//! last checkpoint, then its store stops), then the metadata is closed.

use crate::http::{self, ApiContext};
use crate::meta::MetaState;
use crate::runtime::{LiveStatus, Shutdown, Supervisor, SupervisorConfig};
use crate::secrets::Keyring;
use actix::Actor;
use actix_web::{App, HttpServer};
use anyhow::Context as _;
use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct NodeOptions {
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub admin_token: Option<String>,
    pub key_file: Option<PathBuf>,
}

/// The key file lives outside the data directory: `<data-dir>.key` beside it by default.
fn default_key_file(data_dir: &Path) -> PathBuf {
    let mut name = data_dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "ferry".into());
    name.push(".key");
    data_dir.with_file_name(name)
}

/// The admin token: given, or read from `<data-dir>/admin.token`, or generated there and
/// printed once.
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
    std::fs::write(&path, &token).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("ferry: generated admin token {token} (saved in {})", path.display());
    Ok(token)
}

pub async fn run_node(opts: NodeOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating data dir {}", opts.data_dir.display()))?;
    let key_file = opts.key_file.clone().unwrap_or_else(|| default_key_file(&opts.data_dir));
    let keyring = Arc::new(Keyring::load_or_create(&key_file)?);
    let token = admin_token(&opts.data_dir, opts.admin_token)?;
    let meta =
        cluster::Node::open(cluster::NodeConfig::new(opts.data_dir.join("meta")), MetaState::default())?;
    let live = LiveStatus::default();
    let supervisor = Supervisor::new(SupervisorConfig {
        data_dir: opts.data_dir.clone(),
        meta: meta.clone(),
        keyring: keyring.clone(),
        live: live.clone(),
    })
    .start();
    let ctx = ApiContext { meta, keyring, live, admin_token: token.into() };
    let server = HttpServer::new(move || App::new().configure(http::configure(ctx.clone())))
        .workers(2)
        .shutdown_timeout(5)
        // Signals are ours: actix-server would stop the whole System on SIGTERM, taking the
        // components' arbiters down before their connectors could drain and checkpoint.
        .disable_signals()
        .bind(opts.http)
        .with_context(|| format!("binding the API to {}", opts.http))?
        .run();
    let api = server.handle();
    let serving = actix_web::rt::spawn(server);
    tracing::info!(http = %opts.http, data_dir = %opts.data_dir.display(), "ferry node up");
    let signal = termination().await?;
    tracing::info!(signal, "stopping: the API first");
    api.stop(true).await;
    let _ = serving.await;
    tracing::info!("API stopped; stopping projects");
    supervisor.send(Shutdown).await.ok();
    tracing::info!("ferry node stopped");
    Ok(())
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
