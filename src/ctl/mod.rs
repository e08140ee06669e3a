//! `ferry ctl`: the admin API from a shell, against any node. Tables for people, `--json` (the
//! API's own JSON) for scripts; an API error prints its message and exits non-zero.

mod client;
mod table;

pub use client::{Client, CtlError};

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use table::{millis, position, render, text, unix_ms, Column};

#[derive(clap::Args)]
pub struct CtlArgs {
    /// Any node's API address (`host:port` or a URL).
    #[arg(long, env = "FERRY_API", default_value = "127.0.0.1:8990")]
    pub api: String,
    /// The admin token (the viewer token for reading).
    #[arg(long, env = "FERRY_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The certificates (PEM) an `https://` API is checked against (needed for HTTPS).
    #[arg(long, env = "FERRY_CA_CERT")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(clap::Subcommand)]
pub enum CtlCommand {
    /// Data sources: MySQL/MariaDB sources; Kafka, MySQL/MariaDB and OceanBase destinations.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Sync projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// The cluster's nodes, its leader and what runs where.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

#[derive(clap::Subcommand)]
pub enum SourceCommand {
    List,
    Show {
        name: String,
    },
    /// Create from a JSON or TOML file (the API's body; `.toml` by its extension).
    Create {
        file: PathBuf,
    },
    Delete {
        name: String,
    },
    /// Run the connection check (binlog settings, privileges...) and show each finding.
    Check {
        name: String,
    },
}

#[derive(clap::Subcommand)]
pub enum ProjectCommand {
    List,
    Show {
        name: String,
    },
    /// Create from a JSON or TOML file (the API's body; `.toml` by its extension).
    Create {
        file: PathBuf,
    },
    Start {
        name: String,
    },
    Pause {
        name: String,
    },
    Resume {
        name: String,
    },
    Stop {
        name: String,
    },
    Release {
        name: String,
    },
    Delete {
        name: String,
    },
    /// Every synchronized table: topic, rows inserted/updated/deleted, last change.
    Objects {
        name: String,
    },
    /// Print progress (rows, rows/s, latency, positions) every interval until interrupted.
    Watch {
        name: String,
        /// Stop once everything the source has is delivered (exit 0), or when the project fails
        /// (exit 1).
        #[arg(long)]
        until_caught_up: bool,
        #[arg(long, default_value_t = 1.0)]
        interval_secs: f64,
        /// Give up after this many seconds (exit 1).
        #[arg(long)]
        timeout_secs: Option<f64>,
    },
}

#[derive(clap::Subcommand)]
pub enum ClusterCommand {
    Show,
}

/// Runs one command, printing to stdout.
pub async fn run(args: CtlArgs) -> Result<(), CtlError> {
    let client = Client::new(&args.api, &args.token, args.ca_cert.as_deref())?;
    let out = Output { json: args.json };
    match args.command {
        CtlCommand::Source { command } => source(&client, &out, command).await,
        CtlCommand::Project { command } => project(&client, &out, command).await,
        CtlCommand::Cluster { command: ClusterCommand::Show } => {
            let cluster = client.get("/cluster").await?;
            out.print(&cluster, || {
                let head = format!(
                    "node {} of the cluster; leader {}, term {}, commit {}, applied {}\n",
                    text(&cluster["node_id"]),
                    text(&cluster["leader"]),
                    text(&cluster["term"]),
                    text(&cluster["commit_index"]),
                    text(&cluster["applied_index"]),
                );
                head + &render(&MEMBER_COLUMNS, cluster["members"].as_array().map_or(&[], Vec::as_slice))
            });
            Ok(())
        }
    }
}

struct Output {
    json: bool,
}

impl Output {
    /// `value` as JSON with `--json`, else what `table` makes of it.
    fn print(&self, value: &Value, table: impl FnOnce() -> String) {
        let text =
            if self.json { serde_json::to_string_pretty(value).expect("JSON") + "\n" } else { table() };
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
}

const SOURCE_COLUMNS: [Column; 3] = [
    Column { header: "NAME", cell: |r| text(&r["name"]) },
    Column { header: "TYPE", cell: |r| text(&r["type"]) },
    Column {
        header: "ADDRESS",
        cell: |r| match r.get("bootstrap_servers") {
            Some(servers) => text(servers),
            None => format!("{}@{}:{}", text(&r["user"]), text(&r["host"]), text(&r["port"])),
        },
    },
];

const PROJECT_COLUMNS: [Column; 8] = [
    Column { header: "NAME", cell: |r| text(&r["name"]) },
    Column { header: "STATE", cell: |r| text(&r["state"]) },
    Column { header: "NODE", cell: |r| text(&r["node"]) },
    Column { header: "SYNC_TIMESTAMP", cell: |r| text(&r["sync_timestamp"]) },
    Column { header: "LATENCY", cell: |r| millis(&r["latency_ms"]) },
    Column { header: "ROWS", cell: |r| text(&r["rows"]) },
    Column { header: "POSITION", cell: |r| position(&r["position"]) },
    Column { header: "ERROR", cell: |r| text(&r["error"]) },
];

const COMPONENT_COLUMNS: [Column; 4] = [
    Column { header: "COMPONENT", cell: |r| text(&r["id"]) },
    Column { header: "NODE", cell: |r| text(&r["node"]) },
    Column { header: "STATE", cell: |r| text(&r["state"]) },
    Column { header: "EPOCH", cell: |r| text(&r["epoch"]) },
];

const CONNECTOR_COLUMNS: [Column; 10] = [
    Column { header: "CONNECTOR", cell: |r| text(&r["id"]) },
    Column { header: "NODE", cell: |r| text(&r["live"]["node"]) },
    Column { header: "DESTINATION", cell: |r| text(&r["destination"]) },
    Column { header: "FORMAT", cell: |r| text(&r["format"]) },
    Column { header: "LATENCY", cell: |r| millis(&r["latency_ms"]) },
    Column { header: "P99", cell: |r| millis(&r["live"]["latency_p99_ms"]) },
    Column { header: "ROWS", cell: |r| text(&r["rows"]) },
    Column { header: "ROWS/S", cell: |r| text(&r["live"]["rows_per_s"]) },
    Column { header: "POSITION", cell: |r| position(&r["position"]) },
    Column { header: "LAST_ERROR", cell: |r| text(&r["live"]["last_error"]) },
];

const OBJECT_COLUMNS: [Column; 7] = [
    Column { header: "TABLE", cell: |r| format!("{}.{}", text(&r["database"]), text(&r["table"])) },
    Column { header: "TOPIC", cell: |r| text(&r["topic"]) },
    Column { header: "ROWS", cell: |r| text(&r["rows"]) },
    Column { header: "INSERTED", cell: |r| text(&r["inserted"]) },
    Column { header: "UPDATED", cell: |r| text(&r["updated"]) },
    Column { header: "DELETED", cell: |r| text(&r["deleted"]) },
    Column { header: "LAST_CHANGE", cell: |r| unix_ms(&r["last_change_ms"]) },
];

const TABLE_COLUMNS: [Column; 3] = [
    Column { header: "TABLE", cell: |r| format!("{}.{}", text(&r["database"]), text(&r["table"])) },
    Column { header: "TOPIC", cell: |r| text(&r["topic"]) },
    Column { header: "ROWS", cell: |r| text(&r["rows"]) },
];

const MEMBER_COLUMNS: [Column; 5] = [
    Column { header: "ID", cell: |r| text(&r["id"]) },
    Column { header: "ROLE", cell: |r| text(&r["role"]) },
    Column { header: "ALIVE", cell: |r| text(&r["alive"]) },
    Column { header: "HTTP", cell: |r| text(&r["http"]) },
    Column {
        header: "RUNS",
        cell: |r| {
            let runs = r["runs"].as_array().map_or(&[][..], Vec::as_slice);
            let runs: Vec<String> = runs
                .iter()
                .map(|run| format!("{}/{}", text(&run["project"]), text(&run["component"])))
                .collect();
            if runs.is_empty() {
                "-".into()
            } else {
                runs.join(",")
            }
        },
    },
];

const FINDING_COLUMNS: [Column; 4] = [
    Column { header: "CHECK", cell: |r| text(&r["check"]) },
    Column { header: "OK", cell: |r| text(&r["ok"]) },
    Column { header: "MESSAGE", cell: |r| text(&r["message"]) },
    Column { header: "FIX", cell: |r| text(&r["fix"]).replace('\n', " ") },
];

fn rows(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A create body from a JSON or (by its extension) TOML file.
fn read_body(file: &Path) -> Result<Value, CtlError> {
    let content = std::fs::read_to_string(file)
        .map_err(|e| CtlError::Input(format!("cannot read {}: {e}", file.display())))?;
    let toml = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed = if toml {
        toml::from_str::<Value>(&content).map_err(|e| e.to_string())
    } else {
        serde_json::from_str::<Value>(&content).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        CtlError::Input(format!(
            "{} is not valid {}: {e}",
            file.display(),
            if toml { "TOML" } else { "JSON" }
        ))
    })
}

async fn source(client: &Client, out: &Output, command: SourceCommand) -> Result<(), CtlError> {
    match command {
        SourceCommand::List => {
            let list = client.get("/datasources").await?;
            out.print(&list, || render(&SOURCE_COLUMNS, rows(&list)));
        }
        SourceCommand::Show { name } => {
            let ds = client.get(&format!("/datasources/{name}")).await?;
            out.print(&ds, || render(&SOURCE_COLUMNS, std::slice::from_ref(&ds)));
        }
        SourceCommand::Create { file } => {
            let created = client.post("/datasources", &read_body(&file)?).await?;
            out.print(&created, || format!("created data source {}\n", text(&created["name"])));
        }
        SourceCommand::Delete { name } => {
            client.delete(&format!("/datasources/{name}")).await?;
            out.print(&json!({"deleted": name}), || format!("deleted data source {name}\n"));
        }
        SourceCommand::Check { name } => {
            let check = client.post(&format!("/datasources/{name}/check"), &json!({})).await?;
            out.print(&check, || {
                let verdict = if check["ok"] == json!(true) { "ok" } else { "NOT ready" };
                format!("{name}: {verdict}\n") + &render(&FINDING_COLUMNS, rows(&check["findings"]))
            });
            if check["ok"] != json!(true) {
                return Err(CtlError::Input(format!("data source {name} failed its check (see above)")));
            }
        }
    }
    Ok(())
}

async fn project(client: &Client, out: &Output, command: ProjectCommand) -> Result<(), CtlError> {
    let act = |name: String, action: &'static str| async move {
        let p = client.post(&format!("/projects/{name}/{action}"), &json!({})).await?;
        out.print(&p, || format!("project {name}: {} (epoch {})\n", text(&p["state"]), text(&p["epoch"])));
        Ok::<(), CtlError>(())
    };
    match command {
        ProjectCommand::List => {
            let list = client.get("/projects").await?;
            out.print(&list, || render(&PROJECT_COLUMNS, rows(&list)));
        }
        ProjectCommand::Show { name } => {
            let p = client.get(&format!("/projects/{name}")).await?;
            out.print(&p, || {
                [
                    render(&PROJECT_COLUMNS, std::slice::from_ref(&p)),
                    render(&COMPONENT_COLUMNS, rows(&p["components"])),
                    render(&CONNECTOR_COLUMNS, rows(&p["connectors"])),
                    render(&TABLE_COLUMNS, rows(&p["tables"])),
                ]
                .join("\n")
            });
        }
        ProjectCommand::Objects { name } => {
            let objects = client.get(&format!("/projects/{name}/objects")).await?;
            out.print(&objects, || render(&OBJECT_COLUMNS, rows(&objects["objects"])));
        }
        ProjectCommand::Create { file } => {
            let p = client.post("/projects", &read_body(&file)?).await?;
            out.print(&p, || format!("created project {} ({})\n", text(&p["name"]), text(&p["state"])));
        }
        ProjectCommand::Start { name } => act(name, "start").await?,
        ProjectCommand::Pause { name } => act(name, "pause").await?,
        ProjectCommand::Resume { name } => act(name, "resume").await?,
        ProjectCommand::Stop { name } => act(name, "stop").await?,
        ProjectCommand::Release { name } => act(name, "release").await?,
        ProjectCommand::Delete { name } => {
            client.delete(&format!("/projects/{name}")).await?;
            out.print(&json!({"deleted": name}), || format!("deleted project {name}\n"));
        }
        ProjectCommand::Watch { name, until_caught_up, interval_secs, timeout_secs } => {
            watch(client, out, &name, until_caught_up, interval_secs, timeout_secs).await?
        }
    }
    Ok(())
}

const WATCH_COLUMNS: [Column; 8] = [
    Column { header: "STATE", cell: |r| text(&r["state"]) },
    Column { header: "ROWS", cell: |r| text(&r["rows"]) },
    Column { header: "ROWS/S", cell: |r| text(&r["rows_per_s"]) },
    Column { header: "LATENCY", cell: |r| millis(&r["latency_ms"]) },
    Column { header: "STORE_DELAY", cell: |r| millis(&r["store_delay_ms"]) },
    Column { header: "POSITION", cell: |r| position(&r["position"]) },
    Column { header: "STORE_POSITION", cell: |r| position(&r["store_position"]) },
    Column { header: "SOURCE_POSITION", cell: |r| position(&r["source_position"]) },
];

/// One line per interval (JSON lines with `--json`); the header once.
async fn watch(
    client: &Client,
    out: &Output,
    name: &str,
    until_caught_up: bool,
    interval_secs: f64,
    timeout_secs: Option<f64>,
) -> Result<(), CtlError> {
    let interval = Duration::from_secs_f64(interval_secs.max(0.1));
    let started = Instant::now();
    let mut last: Option<(Instant, u64)> = None;
    let mut first = true;
    loop {
        let mut p = client.get(&format!("/projects/{name}")).await?;
        let rows = p["rows"].as_u64().unwrap_or(0);
        let now = Instant::now();
        let rate = last
            .map(|(t, r)| (rows.saturating_sub(r) as f64 / (now - t).as_secs_f64().max(1e-3)).round() as u64);
        last = Some((now, rows));
        p["rows_per_s"] = rate.map_or(Value::Null, Value::from);
        let line = if out.json {
            serde_json::to_string(&p).expect("JSON") + "\n"
        } else {
            let table = render(&WATCH_COLUMNS, std::slice::from_ref(&p));
            let mut lines = table.lines();
            let header = lines.next().unwrap_or_default();
            let row = lines.next().unwrap_or_default();
            if std::mem::take(&mut first) {
                format!("{header}\n{row}\n")
            } else {
                format!("{row}\n")
            }
        };
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(line.as_bytes());
        let _ = stdout.flush();
        drop(stdout);
        let state = p["state"].as_str().unwrap_or_default();
        if state == "failed" {
            return Err(CtlError::Input(format!("project {name} failed: {}", text(&p["error"]))));
        }
        if until_caught_up && state == "running" && p["latency_ms"] == json!(0) {
            if !out.json {
                println!("project {name} is caught up: everything the source has is delivered");
            }
            return Ok(());
        }
        if timeout_secs.is_some_and(|t| started.elapsed().as_secs_f64() >= t) {
            return Err(CtlError::Input(format!(
                "project {name} did not catch up within {} s",
                timeout_secs.unwrap_or(0.0)
            )));
        }
        tokio::time::sleep(interval).await;
    }
}
