//! Proves: `ferry ctl` drives a node through its API: data sources and projects created from
//! JSON and TOML files, listed as tables and as JSON, a project started, watched until caught
//! up and paused; an API error prints the API's message and exits non-zero.

mod common;

use common::{ferry_bin, Node};
use serde_json::{json, Value};
use std::process::Command;

struct Ctl<'a> {
    node: &'a Node,
    token: String,
}

impl Ctl<'_> {
    /// Runs `ferry ctl <args>`: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(ferry_bin())
            .args(["ctl", "--api", &format!("127.0.0.1:{}", self.node.port), "--token", &self.token])
            .args(args)
            .env_remove("FERRY_API")
            .env_remove("FERRY_ADMIN_TOKEN")
            .output()
            .expect("run ferry ctl");
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
    }

    /// Runs and expects success: stdout.
    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "ferry ctl {args:?}: {stdout}{stderr}");
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("--json prints JSON")
    }
}

#[test]
fn ctl_creates_lists_starts_watches_and_pauses_and_reports_api_errors() {
    let (services, node, mut sql, db) = common::setup("ctl");
    let ctl = Ctl { node: &node, token: node.token.clone() };
    let dir = node.data_dir.with_extension("files");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, content: String| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    };
    let maria = file("maria.json", services.mysql_source("maria").to_string());
    let kafka = file(
        "kafka.toml",
        format!("name = \"kafka\"\ntype = \"kafka\"\nbootstrap_servers = \"{}\"\n", services.kafka),
    );
    assert!(ctl.ok(&["source", "create", &maria]).contains("created data source maria"));
    assert!(ctl.ok(&["source", "create", &kafka]).contains("created data source kafka"));

    let list = ctl.ok(&["source", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("TYPE") && lines[0].contains("ADDRESS"),
        "{list}"
    );
    assert!(lines.iter().any(|l| l.starts_with("kafka ") && l.contains(&services.kafka)), "{list}");
    assert!(lines.iter().any(|l| l.starts_with("maria ") && l.contains("mysql")), "{list}");
    assert_eq!(ctl.json(&["source", "list"]).as_array().map(Vec::len), Some(2));

    // An API error: the API's message, a non-zero exit.
    let (code, _, stderr) = ctl.run(&["source", "create", &maria]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists") && stderr.contains("409"), "{stderr}");
    let broken = file("broken.toml", "name = \n".into());
    let (code, _, stderr) = ctl.run(&["project", "create", &broken]);
    assert_ne!(code, 0);
    assert!(stderr.contains("broken.toml is not valid TOML"), "{stderr}");

    // A TOML project body passes through as it is, routing rules included.
    let routed = file(
        "routed.toml",
        format!(
            "name = \"routed\"\nsource = \"maria\"\ndestination = \"kafka\"\npartition = \"table\"\n\
             objects = [{{ database = \"{db}\" }}]\n\n\
             [[routes]]\nfrom = \"{db}.t_*\"\nto = \"{db}.t\"\ncolumns = {{ v = \"value\" }}\n"
        ),
    );
    assert!(ctl.ok(&["project", "create", &routed]).contains("created project routed"));
    assert_eq!(
        ctl.json(&["project", "show", "routed"])["routes"],
        json!([{"from": format!("{db}.t_*"), "to": format!("{db}.t"), "columns": {"v": "value"}}])
    );
    assert!(ctl.ok(&["project", "delete", "routed"]).contains("deleted project routed"));

    let start = sql.position();
    sql.exec(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"));
    let project = file(
        "project.json",
        json!({
            "name": db, "source": "maria", "destination": "kafka",
            "objects": [{"database": db, "topic": "{database}.{table}"}],
            "format": "default", "start": {"file": start.0, "pos": start.1}
        })
        .to_string(),
    );
    assert!(ctl.ok(&["project", "create", &project]).contains(&format!("created project {db} (created)")));
    assert!(ctl.ok(&["project", "start", &db]).contains("running"));
    sql.exec(&format!("INSERT INTO {db}.t SELECT seq, 'a' FROM {db}.seq_1_to_200"));

    let watched = ctl.ok(&[
        "project",
        "watch",
        &db,
        "--until-caught-up",
        "--interval-secs",
        "0.3",
        "--timeout-secs",
        "60",
    ]);
    let lines: Vec<&str> = watched.lines().collect();
    assert!(lines[0].starts_with("STATE") && lines[0].contains("ROWS/S"), "{watched}");
    assert!(lines.last().unwrap().contains("caught up"), "{watched}");
    assert_eq!(ctl.json(&["project", "show", &db])["rows"], json!(200));

    let list = ctl.ok(&["project", "list"]);
    let row = list.lines().find(|l| l.starts_with(&db)).unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("running") && row.contains(" 200 "), "{row}");
    let show = ctl.ok(&["project", "show", &db]);
    assert!(show.contains("COMPONENT") && show.contains(&format!("{db}/store")), "{show}");
    assert!(show.contains(&format!("{db}.t")), "the synced table: {show}");
    let connector = show.lines().skip_while(|l| !l.starts_with("CONNECTOR")).nth(1).unwrap_or_default();
    let connector: Vec<&str> = connector.split_whitespace().collect();
    assert_eq!(
        connector[..3],
        ["default", "1", "kafka"],
        "the connector's node from its live figures: {show}"
    );
    let objects = ctl.ok(&["project", "objects", &db]);
    let header = objects.lines().next().unwrap_or_default();
    assert!(header.contains("INSERTED") && header.contains("LAST_CHANGE"), "{objects}");
    let t =
        objects.lines().find(|l| l.starts_with(&format!("{db}.t "))).unwrap_or_else(|| panic!("{objects}"));
    let cells: Vec<&str> = t.split_whitespace().collect();
    assert_eq!(cells[2..6], ["200", "200", "0", "0"], "rows, inserted, updated, deleted: {objects}");
    assert!(cells[6].ends_with('Z'), "{objects}");

    let cluster = ctl.ok(&["cluster", "show"]);
    assert!(cluster.contains("leader 1") && cluster.contains("RUNS"), "{cluster}");

    assert!(ctl.ok(&["project", "pause", &db]).contains("paused"));
    let (code, _, stderr) = ctl.run(&["project", "pause", &db]);
    assert_ne!(code, 0, "pausing a paused project");
    assert!(stderr.contains("paused: cannot pause"), "{stderr}");

    let wrong = Ctl { node: &node, token: "wrong".into() };
    let (code, _, stderr) = wrong.run(&["project", "list"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("bearer token is not valid") && stderr.contains("401"), "{stderr}");
}
