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
    /// Run a node (a one-node cluster) and serve the admin API.
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
        /// Key file for stored passwords (default: <data-dir>.key beside the data dir).
        #[arg(long, env = "FERRY_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
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
        Cmd::Node { data_dir, http, admin_token, key_file } => {
            actix_web::rt::System::new().block_on(ferry::app::run_node(ferry::app::NodeOptions {
                data_dir,
                http,
                admin_token,
                key_file,
            }))
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
