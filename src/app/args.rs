//! The flags of `ferry node`, as clap reads them, and the node's options they make.

use super::{resolve, NodeOptions, TlsOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct NodeArgs {
    /// Where the node keeps its metadata and stores.
    #[arg(long, env = "FERRY_DATA_DIR")]
    data_dir: PathBuf,
    /// Address of the HTTP admin API.
    #[arg(long, env = "FERRY_HTTP", default_value = "127.0.0.1:8990")]
    http: SocketAddr,
    /// Bearer token for the API; generated into <data-dir>/admin.token when absent.
    #[arg(long, env = "FERRY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// A read-only bearer token: it can see everything and change nothing (a 403 names
    /// the call it may not make).
    #[arg(long, env = "FERRY_VIEWER_TOKEN", hide_env_values = true)]
    viewer_token: Option<String>,
    /// Require the admin or viewer token on `/metrics` (open by default, for scrapers).
    #[arg(long, env = "FERRY_METRICS_AUTH")]
    metrics_auth: bool,
    /// Key file for stored passwords (default: <data-dir>.key beside the data dir). Every
    /// node of a cluster needs the same one: it also authenticates the nodes to each other.
    #[arg(long, env = "FERRY_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// This node's id in the cluster (1, 2, ...).
    #[arg(long, env = "FERRY_NODE_ID")]
    node_id: Option<u64>,
    /// This node's Raft address: it listens there and connects to its peers from that IP.
    #[arg(long, env = "FERRY_RAFT")]
    raft: Option<SocketAddr>,
    /// The cluster's nodes when it is first formed: `1=ip:port,2=ip:port,3=ip:port`.
    #[arg(long, env = "FERRY_PEERS")]
    peers: Option<String>,
    /// Join a running cluster (add the node with `POST /api/v1/cluster/nodes`).
    #[arg(long)]
    join: bool,
    /// How long a node's lease lasts without renewal, in milliseconds: a node cut off for
    /// that long stops writing, and its work moves.
    #[arg(long, env = "FERRY_LEASE_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(500..=60_000))]
    lease_ms: u64,
    /// How long a connector may keep failing on errors worth retrying (a broker or database
    /// down, timeouts) without delivering anything, in seconds, before its project fails with
    /// the error. Retries back off from 2 s to 30 s.
    #[arg(long, env = "FERRY_RETRY_LIMIT_S", default_value_t = 600, value_parser = clap::value_parser!(u64).range(5..=604_800))]
    retry_limit_s: u64,
    /// Serve the API and console over HTTPS with this certificate chain (PEM); needs
    /// --tls-key. The nodes then call each other over HTTPS too.
    #[arg(long, env = "FERRY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "FERRY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Certificates (PEM) this node trusts when it calls another node (default: its own
    /// --tls-cert, which must then name every node's address).
    #[arg(long, env = "FERRY_TLS_CA")]
    tls_ca: Option<PathBuf>,
}

impl NodeArgs {
    /// The node's options; a flag that cannot work is an error naming it.
    pub fn into_options(self) -> anyhow::Result<NodeOptions> {
        let cluster =
            resolve(self.node_id, self.raft, self.peers.as_deref(), self.join).map_err(anyhow::Error::msg)?;
        Ok(NodeOptions {
            tls: TlsOptions::from_args(self.tls_cert, self.tls_key, self.tls_ca)?,
            data_dir: self.data_dir,
            http: self.http,
            admin_token: self.admin_token,
            viewer_token: self.viewer_token,
            metrics_auth: self.metrics_auth,
            key_file: self.key_file,
            cluster,
            lease: Duration::from_millis(self.lease_ms),
            retry_limit: Duration::from_secs(self.retry_limit_s),
        })
    }
}
