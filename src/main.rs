use clap::{Parser, Subcommand};
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
    Node(ferry::app::NodeArgs),
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
                // The clients' own chatter (RocketMQ's schedules its tasks at INFO) only when it warns.
                .unwrap_or_else(|_| {
                    "info,librdkafka=warn,rdkafka=warn,rocketmq_client_rust=warn,rocketmq_transport=warn"
                        .into()
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    ferry::client_tls::install_crypto_provider();
    match Cli::parse().command {
        Cmd::Node(args) => {
            let options = args.into_options()?;
            actix_web::rt::System::new().block_on(ferry::app::run_node(options))
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
