//! Proves: the web console the node serves works in a real browser (Debian's chromium, headless,
//! driven through chromedriver) against a real node, MariaDB and Kafka. A wrong token shows the
//! API's error; a data source added through the form shows the connection check's findings (and
//! an error naming a value with HTML in it shows it as text); a project created through the form
//! previews the tables its wildcard matches, runs, and its page shows its real state, its store's
//! and connector's node, the rows the test wrote (by operation, per table) and charts of the last
//! hour; the cluster page shows node 1 leading and running the project; pausing leaves only the
//! legal actions; a connector reset says where it continues, as the API does. Every assertion is
//! on rendered text, and the page raises no uncaught error.

mod common;

use common::{free_port, wait_for, Node};
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page may take to show something (it refreshes every 2 s).
const PATIENCE: Duration = Duration::from_secs(30);

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: `scripts/services.sh up` installs Debian's chromium and chromium-driver"
            );
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        wait_for("chromedriver to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless chromium session driven step by step: the test's node and SQL helpers block, so
/// every browser call runs to completion on a runtime of its own.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    base: String,
}

impl Browser {
    fn open(driver: &Driver, base: String) -> Browser {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1000", "--lang=en-US"]
            }
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url),
            )
            .unwrap_or_else(|e| panic!("a chromium session through chromedriver at {url}: {e}"));
        Browser { rt, client: Some(client), base }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    fn run<T>(&self, what: &str, step: impl Future<Output = Result<T, CmdError>>) -> T {
        self.rt.block_on(step).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Opens a console page: `#/...`, or "" for the console's root.
    fn goto(&self, hash: &str) {
        let url = format!("{}{hash}", self.base);
        self.run(&format!("open {url}"), self.client().goto(&url));
    }

    fn find(&self, css: &str) -> fantoccini::elements::Element {
        // The page may still be drawing it.
        wait_for(&format!("element {css}"), PATIENCE, || {
            self.rt.block_on(self.client().find(Locator::Css(css))).ok()
        })
    }

    fn click(&self, css: &str) {
        // Parts of a page are redrawn every 2 s: a click on an element just replaced is retried.
        wait_for(&format!("a click on {css}"), PATIENCE, || {
            self.rt.block_on(async { self.client().find(Locator::Css(css)).await.ok()?.click().await.ok() })
        });
    }

    /// Replaces the text of input `css`.
    fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.run(&format!("clear {css}"), element.clear());
        self.run(&format!("type into {css}"), element.send_keys(text));
    }

    fn select(&self, css: &str, value: &str) {
        // A select filled from an API answer has its options a moment later.
        self.find(&format!("{css} option[value=\"{value}\"]"));
        let element = self.find(css);
        self.run(&format!("select {value} in {css}"), element.select_by_value(value));
    }

    /// The rendered text of `css`, if it is on the page now.
    fn text(&self, css: &str) -> Option<String> {
        self.rt.block_on(async {
            let element = self.client().find(Locator::Css(css)).await.ok()?;
            element.text().await.ok()
        })
    }

    /// Accepts the confirm() dialog the last click opened.
    fn accept_dialog(&self) {
        wait_for("a dialog", PATIENCE, || self.rt.block_on(self.client().accept_alert()).ok());
    }

    /// Waits until the text of `css` satisfies `ok`; panics with it and the page's text.
    fn wait_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.text(css);
            if let Some(text) = text.as_deref().filter(|t| ok(t)) {
                return text.to_string();
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "{css}: {what} not shown within {PATIENCE:?}; it shows {text:?}\n--- page:\n{}",
                    self.text("body").unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_equal(&self, css: &str, want: &str) -> String {
        self.wait_text(css, &format!("{want:?}"), |t| t.trim() == want)
    }

    fn wait_contains(&self, css: &str, want: &str) -> String {
        self.wait_text(css, &format!("text containing {want:?}"), |t| t.contains(want))
    }

    /// The value of `attr` of every element matching `css`, in page order.
    fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        self.rt.block_on(async {
            let Ok(elements) = self.client().find_all(Locator::Css(css)).await else { return Vec::new() };
            let mut out = Vec::new();
            for e in elements {
                if let Ok(Some(v)) = e.attr(attr).await {
                    out.push(v);
                }
            }
            out
        })
    }

    /// Waits until the elements matching `css` carry exactly these `attr` values.
    fn wait_attrs(&self, css: &str, attr: &str, want: &[&str]) {
        let start = Instant::now();
        loop {
            let got = self.attrs(css, attr);
            if got == want {
                return;
            }
            assert!(start.elapsed() < PATIENCE, "{css} [{attr}]: want {want:?}, the page has {got:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn hash(&self) -> String {
        let url = self.run("current URL", self.client().current_url());
        url.fragment().map(|f| format!("#{f}")).unwrap_or_default()
    }

    /// Counts the page's uncaught errors and rejected promises from now on (the console is
    /// one document: hash routes keep the counter).
    fn watch_errors(&self) {
        let script = "window.__errors = []; \
            window.addEventListener('error', e => window.__errors.push(String(e.message))); \
            window.addEventListener('unhandledrejection', e => window.__errors.push(String(e.reason)));";
        self.run("watch the page's errors", self.client().execute(script, vec![]));
    }

    fn errors(&self) -> Value {
        self.run("the page's errors", self.client().execute("return window.__errors;", vec![]))
    }

    /// Saves what the browser shows as `<dir>/<name>.png`: `FERRY_CONSOLE_SCREENSHOTS`, else
    /// the test's output dir (`console-screenshots/` under the cargo target dir).
    fn screenshot(&self, name: &str) {
        let dir = std::env::var("FERRY_CONSOLE_SCREENSHOTS").unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_string());
            format!("{target}/console-screenshots")
        });
        // The whole page, not only the window.
        let height =
            self.run("page height", self.client().execute("return document.body.scrollHeight;", vec![]));
        let height = height.as_u64().unwrap_or(1000).clamp(1000, 4000) as u32;
        self.run("resize", self.client().set_window_size(1400, height + 120));
        let png = self.run("screenshot", self.client().screenshot());
        self.run("resize back", self.client().set_window_size(1400, 1000));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    fn close(mut self) {
        if let Some(client) = self.client.take() {
            self.run("close the session", client.close());
        }
    }
}

impl Drop for Browser {
    /// After a failed step too: ending the session ends its chromium (killing chromedriver
    /// alone would leave it running).
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
    }
}

#[test]
fn console_logs_in_adds_a_source_creates_watches_and_pauses_a_project() {
    let started = Instant::now();
    let (services, node, mut sql, db) = common::setup("console");
    node.ok("/datasources", services.kafka_destination("kafka"), 201);
    sql.exec(&format!("CREATE TABLE {db}.orders (id INT PRIMARY KEY, v VARCHAR(20))"));
    sql.exec(&format!("CREATE TABLE {db}.notes (id INT PRIMARY KEY, v VARCHAR(20))"));

    served_without_a_token(&node);

    let driver = Driver::start();
    let browser = Browser::open(&driver, format!("http://127.0.0.1:{}/", node.port));

    // Log in: without a token the console asks for one; a wrong one shows the API's error.
    browser.goto("");
    browser.find("#login-token");
    assert_eq!(browser.hash(), "#/login");
    browser.watch_errors();
    browser.fill("#login-token", "not-the-token");
    browser.click("#login-submit");
    let error = browser.wait_contains("#login-error", "the bearer token is not valid");
    assert!(error.contains("401"), "{error}");
    browser.fill("#login-token", &node.token);
    browser.click("#login-submit");
    browser.wait_contains("#view h1", "Projects");
    browser.wait_contains("#projects tbody", "No projects yet");
    browser.screenshot("1-projects-empty");

    // A data source through the form; a refused one first, its name shown as text, not HTML.
    browser.click("#nav a[data-nav=datasources]");
    browser.wait_contains("#datasources tbody", "kafka");
    browser.select("#ds-type", "mysql");
    browser.fill("#ds-name", "<b>x</b>");
    browser.click("#ds-submit");
    browser.wait_contains("#ds-form-msg", "\"<b>x</b>\" is not a valid name");
    browser.fill("#ds-name", "maria");
    browser.fill("#ds-host", "127.0.0.1");
    browser.fill("#ds-port", &services.mysql_port.to_string());
    browser.fill("#ds-user", &services.user);
    browser.fill("#ds-password", &services.password);
    browser.click("#ds-submit");
    let summary = browser.wait_text("#check-summary", "the check's summary", |t| t.contains("checks"));
    let (status, check) = node.post("/datasources/maria/check", json!({}));
    assert_eq!(status, 200, "{check}");
    let findings = check["findings"].as_array().expect("findings");
    let failed = findings.iter().filter(|f| f["ok"] == false).count();
    if failed == 0 {
        assert_eq!(summary, format!("All {} checks passed.", findings.len()));
    } else {
        assert!(summary.starts_with(&format!("{failed} of {} checks failed", findings.len())), "{summary}");
    }
    for f in findings {
        let row = browser
            .wait_contains(&format!("#findings tr[data-check=\"{}\"]", f["check"].as_str().unwrap()), "");
        let mark = if f["ok"] == true { "✓ ok" } else { "✗ failed" };
        assert!(row.contains(mark) && row.contains(f["message"].as_str().unwrap()), "{row} for {f}");
    }
    assert!(browser.text("#findings").unwrap().contains("binlog_format is ROW"));
    browser.screenshot("2-datasources");
    let row = browser.wait_contains("#datasources tr[data-datasource=maria]", "mysql");
    assert!(
        row.contains(&format!("127.0.0.1:{}", services.mysql_port)) && row.contains(&services.user),
        "{row}"
    );

    // A project through the form: its wildcard previews the one table it matches.
    browser.click("#nav a[data-nav=create-project]");
    browser.fill("#create-name", &db);
    browser.select("#create-source", "maria");
    browser.select("#create-destination", "kafka");
    browser.fill("#create-rules .rule-database", &db);
    browser.fill("#create-rules .rule-tables", "ord*");
    browser.select("#create-format", "default");
    browser.select("#create-partition", "hash");
    browser.select("#create-start", "now");
    browser.select("#create-sync", "full,incremental");
    browser.click("#create-preview");
    let rules = json!({"objects": [{"database": db, "tables": ["ord*"]}]});
    let (status, preview) = node.post("/datasources/maria/tables", rules);
    assert_eq!(status, 200, "{preview}");
    browser.wait_equal("#preview-count", "1 table(s) match.");
    let row = browser.wait_contains(&format!("#preview tr[data-table=\"{db}.orders\"]"), "orders");
    assert!(row.contains(&format!("{db}.orders")) && row.ends_with("yes"), "{row}");
    assert!(!browser.text("#preview").unwrap().contains("notes"), "notes does not match ord*");
    browser.screenshot("3-create-project");
    browser.click("#create-submit");
    let page = format!("#/projects/{db}");
    wait_for("the project's page", PATIENCE, || (browser.hash() == page).then_some(()));
    browser.wait_contains("#flash", &format!("Created and started project {db}."));
    browser.wait_equal("#project-state", "running");
    browser.wait_attrs("#project-actions button", "data-action", &["pause", "stop"]);

    // Its full sync copied the empty table: what follows are changes only.
    node.wait_project(&db, Duration::from_secs(60), |p| p["full_sync"]["state"] == "done");

    // Rows written now reach Kafka; the page shows what the API says, from the node.
    sql.exec(&format!("INSERT INTO {db}.orders SELECT seq, 'a' FROM {db}.seq_1_to_250"));
    // What follows commits in a later second than the insert: the reset below resends it.
    let inserted_by = sql.now();
    let after_insert = sql.next_second(inserted_by);
    sql.exec(&format!("UPDATE {db}.orders SET v = 'b' WHERE id <= 10"));
    sql.exec(&format!("DELETE FROM {db}.orders WHERE id > 245"));
    sql.exec(&format!("INSERT INTO {db}.notes VALUES (1, 'not synced')"));
    let project = node.wait_project(&db, Duration::from_secs(60), |p| p["rows"] == 265);
    browser.wait_equal("#project-summary [data-field=rows]", "265");
    browser.wait_equal("#project-summary [data-field=node]", "1");
    browser.wait_equal("[data-component=store] [data-field=node]", "1");
    browser.wait_equal("[data-component=store] [data-field=state]", "running");
    // Created with a full sync: the table was empty then, so its copy is done at once.
    browser.wait_contains("[data-component=store] [data-field=full_sync]", "done: 0 of ~0 rows, 1/1 tables");
    browser.wait_equal("[data-connector=default] [data-field=rows]", "265");
    browser.wait_equal("[data-connector=default] [data-field=node]", "1");
    let checkpoint = &project["position"];
    let shown =
        browser.wait_contains("#project-summary [data-field=position]", checkpoint["file"].as_str().unwrap());
    assert!(shown.starts_with(&format!("{}:", checkpoint["file"].as_str().unwrap())), "{shown}");
    let table = format!("#objects tr[data-table=\"{db}.orders\"]");
    browser.wait_equal(&format!("{table} [data-field=rows]"), "265");
    browser.wait_equal(&format!("{table} [data-field=inserted]"), "250");
    browser.wait_equal(&format!("{table} [data-field=updated]"), "10");
    browser.wait_equal(&format!("{table} [data-field=deleted]"), "5");
    // The filter box keeps the table and hides what does not match.
    browser.fill("#objects-filter", "no-such-table");
    browser.wait_contains("#objects-count", "0 of");
    browser.fill("#objects-filter", "orders");
    browser.wait_contains("#objects-count", "1 of");
    // Charts of the last hour: a point every 10 s while the project runs.
    // A point averages its 10 s, so the one after the writes shows them: the throughput
    // charts are not empty.
    for chart in [
        "[data-component=store] [data-chart=\"Rows/s pulled\"]",
        "[data-connector=default] [data-chart=\"Rows/s delivered\"]",
    ] {
        let title = browser.wait_text(&format!("{chart} .title"), "a maximum above 0/s", |t| {
            t.contains(" · max ") && !t.ends_with("max 0/s")
        });
        assert!(title.ends_with("/s"), "{title}");
        browser.find(&format!("{chart} svg polyline"));
    }
    browser.screenshot("4-project-running");

    // The cluster page: node 1 leads and runs the project's store and connector.
    browser.click("#nav a[data-nav=cluster]");
    browser.wait_equal("#cluster-summary [data-field=leader]", "node 1");
    browser.wait_equal("#members tr[data-node=\"1\"] [data-field=role]", "leader");
    let runs =
        browser.wait_contains("#members tr[data-node=\"1\"] [data-field=runs]", &format!("{db} store"));
    assert!(runs.contains(&format!("{db} connector/default")), "{runs}");
    assert!(browser.text("#members tr[data-node=\"1\"]").unwrap().contains("yes"), "node 1 is alive");
    browser.screenshot("5-cluster");

    // Back to the project through its link there; pause: the page says so and offers only
    // what a paused project may do.
    browser.click("#members tr[data-node=\"1\"] [data-field=runs] a");
    wait_for("the project's page again", PATIENCE, || (browser.hash() == page).then_some(()));
    browser.wait_equal("#project-state", "running");
    browser.click("#project-actions button[data-action=pause]");
    browser.wait_equal("#project-state", "paused");
    browser.wait_attrs("#project-actions button", "data-action", &["resume", "stop", "release"]);
    browser.wait_contains("#project-action-msg", "the project is paused now");
    assert_eq!(node.get(&format!("/projects/{db}")).1["state"], "paused");
    browser.wait_equal("[data-component=store] [data-field=state]", "paused");

    // A connector reset (its store keeps the changes while paused): confirmed in a dialog, the
    // page says where it continues, which is where the API now has its checkpoint.
    browser.fill("#reset-time", &after_insert.to_string());
    browser.click("#reset-form button[type=submit]");
    browser.accept_dialog();
    let said = browser.wait_contains("#reset-msg", "Connector default continues after ");
    let position = &node.get(&format!("/projects/{db}")).1["connectors"][0]["position"];
    let at = format!("{}:{}", position["file"].as_str().unwrap(), position["pos"]);
    assert!(said.contains(&at), "{said} (the API's checkpoint {at})");
    browser.screenshot("6-project-paused");

    browser.click("#nav a[data-nav=projects]");
    let row = browser.wait_contains(&format!("#projects tr[data-project=\"{db}\"]"), "paused");
    assert!(row.contains("maria → kafka") && row.contains("265"), "{row}");
    browser.screenshot("7-projects");
    assert_eq!(browser.errors(), json!([]), "the page's uncaught errors");

    // Logging out forgets the token: the console asks for it again.
    browser.click("#logout");
    browser.find("#login-token");
    browser.goto("#/cluster");
    browser.find("#login-token");
    assert_eq!(browser.hash(), "#/login");
    browser.close();
    eprintln!("console test took {:.1} s", started.elapsed().as_secs_f64());
}

/// The console's files need no token, carry their type, and are revalidated on every load.
fn served_without_a_token(node: &Node) {
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| http.get(format!("http://127.0.0.1:{}{path}", node.port)).send().unwrap();
    for (path, kind) in
        [("/", "text/html"), ("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")]
    {
        let resp = get(path);
        assert_eq!(resp.status(), 200, "{path}");
        let header = |name: &str| resp.headers()[name].to_str().unwrap().to_string();
        assert!(header("content-type").starts_with(kind), "{path}: {}", header("content-type"));
        assert_eq!(header("cache-control"), "no-cache", "{path}");
        assert!(header("content-security-policy").contains("script-src 'self'"), "{path}");
    }
    assert!(get("/").text().unwrap().contains("/console/console.js"));
    assert_eq!(get("/console/nope.js").status(), 404);
}
