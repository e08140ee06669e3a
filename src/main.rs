use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Ferry: real-time sync of MySQL/MariaDB binlog changes into Kafka.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a node of a cluster (alone, a one-node cluster) and serve the admin API.
    Node {
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
    },
    /// Drive a node or cluster through its admin API: data sources, projects, the cluster.
    Ctl(ferry::ctl::CtlArgs),
    /// Print a topic's messages as JSON lines.
    Tail {
        #[arg(long, env = "FERRY_KAFKA", default_value = "127.0.0.1:19092")]
        brokers: String,
        #[arg(long)]
        topic: String,
        /// Read from the oldest message instead of only new ones.
        #[arg(long)]
        from_beginning: bool,
        /// Stop after this many messages.
        #[arg(long)]
        max: Option<u64>,
        /// Stop after this many seconds without a message.
        #[arg(long, default_value_t = 5)]
        idle_secs: u64,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,librdkafka=warn,rdkafka=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Cmd::Node {
            data_dir,
            http,
            admin_token,
            viewer_token,
            metrics_auth,
            key_file,
            node_id,
            raft,
            peers,
            join,
            lease_ms,
            tls_cert,
            tls_key,
            tls_ca,
        } => {
            let cluster =
                ferry::app::resolve(node_id, raft, peers.as_deref(), join).map_err(anyhow::Error::msg)?;
            let tls = ferry::app::TlsOptions::from_args(tls_cert, tls_key, tls_ca)?;
            actix_web::rt::System::new().block_on(ferry::app::run_node(ferry::app::NodeOptions {
                data_dir,
                http,
                admin_token,
                viewer_token,
                metrics_auth,
                key_file,
                cluster,
                lease: Duration::from_millis(lease_ms),
                tls,
            }))
        }
        Cmd::Ctl(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            if let Err(e) = runtime.block_on(ferry::ctl::run(args)) {
                eprintln!("ferry ctl: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Tail { brokers, topic, from_beginning, max, idle_secs } => {
            let n = ferry::tail::run(ferry::tail::TailOptions {
                brokers,
                topic,
                from_beginning,
                max,
                idle_timeout: Duration::from_secs(idle_secs),
            })?;
            eprintln!("ferry tail: {n} message(s)");
            Ok(())
        }
    }
}
