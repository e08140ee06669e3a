//! The MySQL/MariaDB source against the real MariaDB of scripts/services.sh: decoded values of
//! every column type (with `binlog_row_metadata` FULL and NO_LOG), transaction boundaries,
//! row images, the table filter, start points, and the errors a user sees.
//!
//! Environment: FERRY_MYSQL_HOST (127.0.0.1), FERRY_MYSQL_PORT (33061), FERRY_MYSQL_USER /
//! FERRY_MYSQL_PASSWORD (ferry/ferry), FERRY_MYSQL_ADMIN_USER / FERRY_MYSQL_ADMIN_PASSWORD
//! (ferry_admin/ferry_admin). Every test works in its own database and reads from a position
//! taken after its setup, so tests can share the server and run in parallel.

use ferry::model::{ColumnKind, DdlKind, Op, Position, RowImage, TableName, TableSchema, Value};
use ferry::source::filter::ObjectRule;
use ferry::source::mysql::snapshot::PageReader;
use ferry::source::mysql::{self, BinlogReader, MysqlConfig, ResumeFrom, SourceError};
use ferry::source::{SourceEvent, StartPoint, TableFilter};
use futures_util::FutureExt;
use mysql_async::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, Receiver};
use tokio::task::JoinHandle;

/// `binlog_row_metadata` is global: the test switching it to NO_LOG holds this for writing,
/// every other test for reading, so none of them reads events written under NO_LOG after
/// later DDL (which NO_LOG cannot decode, by design).
static ROW_METADATA: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn cfg() -> MysqlConfig {
    MysqlConfig {
        host: env_or("FERRY_MYSQL_HOST", "127.0.0.1"),
        port: env_or("FERRY_MYSQL_PORT", "33061").parse().expect("FERRY_MYSQL_PORT"),
        user: env_or("FERRY_MYSQL_USER", "ferry"),
        password: env_or("FERRY_MYSQL_PASSWORD", "ferry"),
        tls: None,
    }
}

async fn admin() -> mysql_async::Conn {
    let c = cfg();
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(c.host)
        .tcp_port(c.port)
        .user(Some(env_or("FERRY_MYSQL_ADMIN_USER", "ferry_admin")))
        .pass(Some(env_or("FERRY_MYSQL_ADMIN_PASSWORD", "ferry_admin")))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await.expect("admin connection");
    conn.query_drop("SET SESSION sql_mode = '', time_zone = '+00:00', NAMES utf8mb4").await.unwrap();
    conn
}

/// A database name unique to this run.
fn unique_db(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!(
        "ferry_src_{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

async fn fresh_db(c: &mut mysql_async::Conn, prefix: &str) -> String {
    let db = unique_db(prefix);
    c.query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4")).await.unwrap();
    db
}

fn filter(db: &str, tables: &[&str]) -> Arc<TableFilter> {
    Arc::new(
        TableFilter::new(&[ObjectRule {
            database: db.to_string(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
            exclude: vec![],
            topic: "{database}.{table}".into(),
            ..Default::default()
        }])
        .unwrap(),
    )
}

/// A replica server id unique among the readers of this test process.
fn replica_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 10_000) * 100 + 1_000_000 + N.fetch_add(1, Ordering::Relaxed)
}

struct Running {
    rx: Receiver<Vec<SourceEvent>>,
    task: JoinHandle<Result<(), SourceError>>,
    buffered: std::collections::VecDeque<SourceEvent>,
}

fn start(filter: Arc<TableFilter>, from: ResumeFrom) -> Running {
    let (tx, rx) = mpsc::channel(16);
    let reader = BinlogReader::new(cfg(), replica_id(), filter);
    let task = tokio::spawn(reader.run(from, tx));
    Running { rx, task, buffered: Default::default() }
}

impl Running {
    /// The next event, waiting at most until `deadline`.
    async fn next(&mut self, deadline: Instant) -> Option<SourceEvent> {
        loop {
            if let Some(ev) = self.buffered.pop_front() {
                return Some(ev);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(batch)) => self.buffered.extend(batch),
                Ok(None) => return None,
                Err(_) => return None,
            }
        }
    }

    /// Events (Progress left out) up to and including the first for which `done` holds.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&SourceEvent) -> bool) -> Vec<SourceEvent> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        loop {
            match self.next(deadline).await {
                Some(SourceEvent::Progress { .. } | SourceEvent::Passed(_)) => {}
                Some(ev) => {
                    let stop = done(&ev);
                    got.push(ev);
                    if stop {
                        return got;
                    }
                }
                None => {
                    if self.task.is_finished() {
                        let r = (&mut self.task).await.unwrap();
                        panic!("reader stopped waiting for {what}: {r:?}; got {got:#?}");
                    }
                    panic!("timed out waiting for {what}; got {got:#?}");
                }
            }
        }
    }

    /// Events up to the next `n` TxEnds.
    async fn transactions(&mut self, n: usize) -> Vec<SourceEvent> {
        let mut seen = 0;
        self.until(&format!("{n} transaction ends"), |ev| {
            if matches!(ev, SourceEvent::TxEnd(_)) {
                seen += 1;
            }
            seen == n
        })
        .await
    }

    /// Stops the reader by dropping the receiver; it must end with Ok.
    async fn stop(self) {
        drop(self.rx);
        let r = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("reader stops when the receiver is dropped")
            .unwrap();
        r.expect("reader ends with Ok");
    }
}

async fn position() -> Position {
    mysql::current_position(&cfg()).await.unwrap()
}

fn rows(events: &[SourceEvent]) -> Vec<(Arc<TableSchema>, Op, RowImage)> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Rows { schema, batch } => {
                Some(batch.rows.iter().map(|r| (schema.clone(), batch.op, r.clone())).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect()
}

/// Where each event came from: (file, pos, ts, server id, gtid) of rows, the TxEnd positions.
fn same_source(events: &[SourceEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            SourceEvent::Rows { batch, .. } => format!(
                "rows {}:{} ts {} server {} gtid {:?}",
                batch.file, batch.pos, batch.ts, batch.server_id, batch.gtid
            ),
            SourceEvent::TxEnd(t) => format!("end {} ts {}", t.position, t.ts),
            SourceEvent::Progress { position, .. } => format!("progress {position}"),
            SourceEvent::Passed(position) => format!("passed {position}"),
            SourceEvent::Ddl(d) => format!("ddl {}:{} ts {}", d.file, d.pos, d.ts),
            SourceEvent::TableStopped { table, .. } => format!("stopped {table}"),
            SourceEvent::SchemaHistory(_) => "history".into(),
            SourceEvent::XaPrepared(_) => "xa".into(),
        })
        .collect()
}

fn col(schema: &TableSchema, name: &str) -> usize {
    schema.columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"))
}

// ---------------------------------------------------------------------------------------------
// Every column type

const ALL_TYPES: &str = "CREATE TABLE all_types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    d DECIMAL(10,4), d0 DECIMAL(5,0), dbig DECIMAL(65,30),
    f FLOAT, db DOUBLE,
    dt DATE, tm TIME, tm1 TIME(1), tm3 TIME(3), tm6 TIME(6),
    dtt DATETIME, dtt3 DATETIME(3), dtt6 DATETIME(6),
    ts TIMESTAMP NULL, ts2 TIMESTAMP(2) NULL, ts6 TIMESTAMP(6) NULL,
    y YEAR, after_year TINYINT UNSIGNED,
    c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(20) CHARACTER SET utf8mb4,
    tx TEXT CHARACTER SET utf8mb4, g POINT,
    cl CHAR(5) CHARACTER SET latin1, vcl VARCHAR(10) CHARACTER SET latin1,
    txl TEXT CHARACTER SET latin1,
    bn BINARY(4), vb VARBINARY(10), bl BLOB,
    e ENUM('a','b','c') CHARACTER SET utf8mb4, s SET('x','y','z') CHARACTER SET utf8mb4,
    b1 BIT(1), b10 BIT(10),
    j JSON
) ENGINE=InnoDB";

const ALL_TYPES_ROWS: &str = "INSERT INTO all_types VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  -12.34, 0, 0, 1.1, 2.2,
  '2026-11-23', '-838:59:59', '-00:00:01.5', '12:34:56.12', '-01:02:03.000004',
  '2026-11-23 12:34:56', '2026-11-23 12:34:56.12', '2026-11-23 12:34:56.123456',
  FROM_UNIXTIME(1700000000), FROM_UNIXTIME(1700000000.12), FROM_UNIXTIME(1700000000.123456),
  2026, 200,
  'héllo😀', 'wörld😀  ', 'text 😀 4-byte', ST_GeomFromText('POINT(1 2)'),
  '€Œ', 'a€', '€ text',
  x'0102', x'00ff00', x'deadbeef',
  'b', 'z,x', 1, b'1000000001', '{\"a\": [1, 2.5, \"x\"]}'),
 (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, -5, -0.000000000000000000000000000001, -1.5, 1e300,
  '0000-00-00', '00:00:00', '-00:00:00.1', '838:59:59.999', '-00:00:00.000001',
  '0000-00-00 00:00:00', '2026-00-00 00:00:00.000', '9999-12-31 23:59:59.999999',
  '0000-00-00 00:00:00', NULL, FROM_UNIXTIME(1.000001),
  0, 0,
  '', '', '', NULL,
  'x  ', 'x  ', '',
  x'01', x'', x'',
  'a', '', 0, b'1111111111', '[]'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

fn time(negative: bool, hours: u16, minutes: u8, seconds: u8, micros: u32) -> Value {
    Value::Time { negative, hours, minutes, seconds, micros }
}

fn datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> Value {
    Value::DateTime { year: y, month: mo, day: d, hour: h, minute: mi, second: s, micros: us }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn dec(s: &str) -> Value {
    Value::Decimal(s.to_string())
}

/// The expected values of the three rows, by column name.
fn expected_all_types() -> Vec<Vec<(&'static str, Value)>> {
    use Value::*;
    vec![
        vec![
            ("id", Int(1)),
            ("ti", Int(-128)),
            ("tiu", UInt(255)),
            ("si", Int(-32768)),
            ("siu", UInt(65535)),
            ("mi", Int(-8_388_608)),
            ("miu", UInt(16_777_215)),
            ("i", Int(-2_147_483_648)),
            ("iu", UInt(4_294_967_295)),
            ("bi", Int(i64::MIN)),
            ("biu", UInt(u64::MAX)),
            ("d", dec("-12.3400")),
            ("d0", dec("0")),
            ("dbig", dec("0.000000000000000000000000000000")),
            ("f", Float(1.1)),
            ("db", Double(2.2)),
            ("dt", Date { year: 2026, month: 11, day: 23 }),
            ("tm", time(true, 838, 59, 59, 0)),
            ("tm1", time(true, 0, 0, 1, 500_000)),
            ("tm3", time(false, 12, 34, 56, 120_000)),
            ("tm6", time(true, 1, 2, 3, 4)),
            ("dtt", datetime(2026, 11, 23, 12, 34, 56, 0)),
            ("dtt3", datetime(2026, 11, 23, 12, 34, 56, 120_000)),
            ("dtt6", datetime(2026, 11, 23, 12, 34, 56, 123_456)),
            ("ts", Timestamp { secs: 1_700_000_000, micros: 0 }),
            ("ts2", Timestamp { secs: 1_700_000_000, micros: 120_000 }),
            ("ts6", Timestamp { secs: 1_700_000_000, micros: 123_456 }),
            ("y", Year(2026)),
            ("after_year", UInt(200)),
            ("c", text("héllo😀")),
            ("vc", text("wörld😀  ")),
            ("tx", text("text 😀 4-byte")),
            ("cl", text("€Œ")),
            ("vcl", text("a€")),
            ("txl", text("€ text")),
            ("bn", Bytes(vec![1, 2, 0, 0])),
            ("vb", Bytes(vec![0, 0xff, 0])),
            ("bl", Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
            ("e", Enum(2)),
            ("s", Set(0b101)),
            ("b1", Bit(1)),
            ("b10", Bit(0b10_0000_0001)),
            ("j", Json("{\"a\": [1, 2.5, \"x\"]}".into())),
        ],
        vec![
            ("id", Int(2)),
            ("ti", Int(0)),
            ("tiu", UInt(0)),
            ("biu", UInt(0)),
            ("d", dec("0.0000")),
            ("d0", dec("-5")),
            ("dbig", dec("-0.000000000000000000000000000001")),
            ("f", Float(-1.5)),
            ("db", Double(1e300)),
            ("dt", Date { year: 0, month: 0, day: 0 }),
            ("tm", time(false, 0, 0, 0, 0)),
            ("tm1", time(true, 0, 0, 0, 100_000)),
            ("tm3", time(false, 838, 59, 59, 999_000)),
            ("tm6", time(true, 0, 0, 0, 1)),
            ("dtt", datetime(0, 0, 0, 0, 0, 0, 0)),
            ("dtt3", datetime(2026, 0, 0, 0, 0, 0, 0)),
            ("dtt6", datetime(9999, 12, 31, 23, 59, 59, 999_999)),
            ("ts", Timestamp { secs: 0, micros: 0 }),
            ("ts2", Null),
            ("ts6", Timestamp { secs: 1, micros: 1 }),
            ("y", Year(0)),
            ("after_year", UInt(0)),
            ("g", Null),
            ("c", text("")),
            ("vc", text("")),
            ("tx", text("")),
            ("cl", text("x")),
            ("vcl", text("x  ")),
            ("txl", text("")),
            ("bn", Bytes(vec![1, 0, 0, 0])),
            ("vb", Bytes(vec![])),
            ("bl", Bytes(vec![])),
            ("e", Enum(1)),
            ("s", Set(0)),
            ("b1", Bit(0)),
            ("b10", Bit(1023)),
            ("j", Json("[]".into())),
        ],
    ]
}

fn expected_kinds() -> Vec<(&'static str, ColumnKind, bool)> {
    use ColumnKind::*;
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("id", Int, false),
        ("ti", TinyInt, false),
        ("tiu", TinyInt, true),
        ("miu", MediumInt, true),
        ("biu", BigInt, true),
        ("d", Decimal { precision: 10, scale: 4 }, false),
        ("dbig", Decimal { precision: 65, scale: 30 }, false),
        ("f", Float, false),
        ("db", Double, false),
        ("dt", Date, false),
        ("tm", Time { fsp: 0 }, false),
        ("tm1", Time { fsp: 1 }, false),
        ("tm6", Time { fsp: 6 }, false),
        ("dtt3", DateTime { fsp: 3 }, false),
        ("ts2", Timestamp { fsp: 2 }, false),
        ("y", Year, false),
        ("after_year", TinyInt, true),
        ("g", Other { name: "point".into() }, false),
        ("c", Char { len: 10 }, false),
        ("vc", VarChar { len: 20 }, false),
        ("tx", Text, false),
        ("cl", Char { len: 5 }, false),
        ("vcl", VarChar { len: 10 }, false),
        ("bn", Binary { len: 4 }, false),
        ("vb", VarBinary { len: 10 }, false),
        ("bl", Blob, false),
        ("e", Enum { labels: labels(&["a", "b", "c"]) }, false),
        ("s", Set { labels: labels(&["x", "y", "z"]) }, false),
        ("b1", Bit { bits: 1 }, false),
        ("b10", Bit { bits: 10 }, false),
        ("j", Json, false),
    ]
}

/// Inserts the three rows and checks what the reader decodes; returns the schema it used.
async fn check_all_types(c: &mut mysql_async::Conn, db: &str, mode: &str) -> Arc<TableSchema> {
    let from = position().await;
    let mut r = start(filter(db, &[]), ResumeFrom::Position(from));
    c.query_drop(format!("INSERT INTO `{db}`.all_types SELECT * FROM `{db}`.all_types_src")).await.unwrap();
    let events = r.transactions(1).await;
    let got = rows(&events);
    assert_eq!(got.len(), 3, "{mode}: {events:#?}");
    let schema = got[0].0.clone();
    for (i, expected) in expected_all_types().into_iter().enumerate() {
        let (_, op, image) = &got[i];
        assert_eq!(*op, Op::Insert);
        assert!(image.before.is_none());
        let after = image.after.as_ref().unwrap();
        for (name, value) in expected {
            assert_eq!(after[col(&schema, name)], value, "{mode}: row {} column {name}", i + 1);
        }
    }
    match &got[0].2.after.as_ref().unwrap()[col(&schema, "g")] {
        Value::Bytes(b) => assert_eq!(b.len(), 25, "{mode}: SRID + WKB point"),
        other => panic!("{mode}: geometry as {other:?}"),
    }
    let nulls = got[2].2.after.as_ref().unwrap();
    assert!(nulls[1..].iter().all(Value::is_null), "{mode}: {nulls:?}");
    for (name, kind, unsigned) in expected_kinds() {
        let column = &schema.columns[col(&schema, name)];
        assert_eq!(column.kind, kind, "{mode}: kind of {name}");
        assert_eq!(column.unsigned, unsigned, "{mode}: unsigned of {name}");
    }
    assert_eq!(schema.primary_key, vec![0], "{mode}");
    assert_eq!(schema.name, TableName::new(db, "all_types"));
    r.stop().await;
    schema
}

/// Under NO_LOG, DDL refreshes the schema read from information_schema; and an event that no
/// longer matches information_schema is refused (a definite error), never decoded wrong.
async fn check_no_log_ddl(c: &mut mysql_async::Conn, db: &str) {
    c.query_drop(format!("CREATE TABLE `{db}`.d (id INT PRIMARY KEY)")).await.unwrap();
    let from = position().await;
    let mut r = start(filter(db, &["d"]), ResumeFrom::Position(from));
    c.query_drop(format!("INSERT INTO `{db}`.d VALUES (1)")).await.unwrap();
    let first = r.transactions(1).await;
    assert_eq!(rows(&first)[0].2.after.clone().unwrap(), vec![Value::Int(1)]);
    c.query_drop(format!("ALTER TABLE `{db}`.d ADD COLUMN v VARCHAR(5)")).await.unwrap();
    r.transactions(1).await; // the DDL
    c.query_drop(format!("INSERT INTO `{db}`.d VALUES (2, 'y')")).await.unwrap();
    let second = r.transactions(1).await;
    let got = rows(&second);
    assert_eq!(got[0].0.columns.len(), 2, "NO_LOG: the schema follows the DDL");
    assert_eq!(got[0].2.after.clone().unwrap(), vec![Value::Int(2), text("y")]);
    r.stop().await;

    // Events written before a DDL, read after it: information_schema describes another table.
    let before_drop = position().await;
    c.query_drop(format!("INSERT INTO `{db}`.d VALUES (3, 'z')")).await.unwrap();
    c.query_drop(format!("ALTER TABLE `{db}`.d DROP COLUMN v")).await.unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let reader = BinlogReader::new(cfg(), replica_id(), filter(db, &["d"]));
    let task = tokio::spawn(reader.run(ResumeFrom::Position(before_drop), tx));
    let drain = tokio::spawn(async move {
        let mut n = 0;
        while let Some(batch) = rx.recv().await {
            n += batch.iter().filter(|e| matches!(e, SourceEvent::Rows { .. })).count();
        }
        n
    });
    let result = tokio::time::timeout(Duration::from_secs(30), task).await.unwrap().unwrap();
    match result {
        Err(e @ SourceError::Table { .. }) => {
            assert!(!e.is_transient());
            assert!(e.to_string().contains("binlog_row_metadata=FULL"), "{e}");
        }
        other => panic!("expected a Table error, got {other:?}"),
    }
    assert_eq!(drain.await.unwrap(), 0, "no rows decoded against the wrong schema");
}

/// Every column type decodes to the values of docs/FORMATS.md, the same with
/// `binlog_row_metadata=FULL` (from the table map) and `NO_LOG` (from information_schema), and
/// both schemas equal the one `table_schema` reads from information_schema.
#[tokio::test]
async fn every_column_type_decodes_the_same_with_and_without_row_metadata() {
    let _mode = ROW_METADATA.write().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "types").await;
    c.query_drop(format!("USE `{db}`")).await.unwrap();
    c.query_drop(ALL_TYPES).await.unwrap();
    c.query_drop("CREATE TABLE all_types_src LIKE all_types").await.unwrap();
    c.query_drop(ALL_TYPES_ROWS.replace("INSERT INTO all_types", "INSERT INTO all_types_src")).await.unwrap();

    let result = std::panic::AssertUnwindSafe(async {
        c.query_drop("SET GLOBAL binlog_row_metadata = 'FULL'").await.unwrap();
        c.query_drop("FLUSH BINARY LOGS").await.unwrap();
        let full = check_all_types(&mut c, &db, "FULL").await;

        c.query_drop(format!("DELETE FROM `{db}`.all_types")).await.unwrap();
        c.query_drop("SET GLOBAL binlog_row_metadata = 'NO_LOG'").await.unwrap();
        c.query_drop("FLUSH BINARY LOGS").await.unwrap();
        let no_log = check_all_types(&mut c, &db, "NO_LOG").await;
        check_no_log_ddl(&mut c, &db).await;
        (full, no_log)
    })
    .catch_unwind()
    .await;
    // Restore the server's setting whatever happened.
    c.query_drop("SET GLOBAL binlog_row_metadata = 'FULL'").await.unwrap();
    c.query_drop("FLUSH BINARY LOGS").await.unwrap();
    let (full, no_log) = match result {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    };
    assert_eq!(full, no_log, "the schema must not depend on binlog_row_metadata");
    let catalog = mysql::table_schema(&cfg(), &TableName::new(&db, "all_types")).await.unwrap();
    assert_eq!(*full, catalog, "information_schema agrees with the table map");
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// A full sync reads a table in key pages: every row, in key order, each value exactly what the
/// binlog decoder gives for the same row (so a copied row and a change of it encode alike).
#[tokio::test]
async fn a_table_read_in_key_pages_decodes_as_the_binlog_does() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "pages").await;
    c.query_drop(format!("USE `{db}`")).await.unwrap();
    c.query_drop(ALL_TYPES).await.unwrap();
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(position().await));
    c.query_drop(ALL_TYPES_ROWS).await.unwrap();
    let logged: Vec<Vec<Value>> =
        rows(&r.transactions(1).await).into_iter().map(|(_, _, image)| image.after.unwrap()).collect();
    r.stop().await;
    assert_eq!(logged.len(), 3);

    let schema = mysql::table_schema(&cfg(), &TableName::new(&db, "all_types")).await.unwrap();
    let mut reader = PageReader::open(&cfg()).await.unwrap();
    let first = reader.page(&schema, None, 2).await.unwrap();
    assert_eq!(first.len(), 2, "a page holds at most its limit");
    let rest = reader.page(&schema, Some(&first[1][..1]), 2).await.unwrap();
    assert_eq!(rest.len(), 1, "the next page starts after the last key read");
    assert!(reader.page(&schema, Some(&rest[0][..1]), 2).await.unwrap().is_empty());
    let read: Vec<Vec<Value>> = first.into_iter().chain(rest).collect();
    for (i, (read, logged)) in read.iter().zip(&logged).enumerate() {
        for (column, (a, b)) in schema.columns.iter().zip(read.iter().zip(logged)) {
            assert_eq!(a, b, "row {} column {}", i + 1, column.name);
        }
    }
    reader.close().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// A page read in a consistent snapshot holds exactly what the binlog logged before the position
/// the server gives for it: under concurrent updates, each key's value in the page is the after
/// image of its last change logged before that position, and the before image of its first
/// change logged at or after it.
#[tokio::test]
async fn a_page_read_in_a_snapshot_is_the_table_at_its_binlog_position() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "snap").await;
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT NOT NULL)")).await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t SELECT seq, 0 FROM `{db}`.seq_1_to_50")).await.unwrap();
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(position().await));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3u64)
        .map(|w| {
            let (stop, db) = (stop.clone(), db.clone());
            tokio::spawn(async move {
                let mut c = admin().await;
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let id = (n * 7 + w * 13) % 50 + 1;
                    c.query_drop(format!("UPDATE `{db}`.t SET v = v + 1 WHERE id = {id}")).await.unwrap();
                    n += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let schema = mysql::table_schema(&cfg(), &TableName::new(&db, "t")).await.unwrap();
    let mut reader = PageReader::open(&cfg()).await.unwrap();
    let mut pages = Vec::new();
    for _ in 0..5 {
        pages.push(reader.page_at(&schema, None, 100).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reader.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1000, 0)")).await.unwrap();
    // Every update as (position of its row event, key, before, after).
    let mut updates: Vec<(Position, i64, i64, i64)> = Vec::new();
    let events = r
        .until("the last insert", |ev| {
            matches!(ev, SourceEvent::Rows { batch, .. } if batch.op == Op::Insert && batch.rows[0].after.as_ref().unwrap()[0] == Value::Int(1000))
        })
        .await;
    r.stop().await;
    let int = |v: &Value| match v {
        Value::Int(i) => *i,
        other => panic!("{other:?}"),
    };
    for ev in &events {
        if let SourceEvent::Rows { batch, .. } = ev {
            if batch.op != Op::Update {
                continue;
            }
            let at = Position { file: batch.file.clone(), pos: batch.pos, gtid: None };
            for image in &batch.rows {
                let (before, after) = (image.before.as_ref().unwrap(), image.after.as_ref().unwrap());
                updates.push((at.clone(), int(&before[0]), int(&before[1]), int(&after[1])));
            }
        }
    }
    assert!(updates.len() > 100, "a workload ran: {} updates", updates.len());
    let mut straddled = 0;
    for (at, rows) in &pages {
        assert_eq!(rows.len(), 50);
        for row in rows {
            let (id, v) = (int(&row[0]), int(&row[1]));
            let of_key: Vec<_> = updates.iter().filter(|u| u.1 == id).collect();
            let before: Vec<_> = of_key.iter().filter(|u| at.is_after(&u.0)).collect();
            let after: Vec<_> = of_key.iter().filter(|u| !at.is_after(&u.0)).collect();
            assert_eq!(v, before.last().map_or(0, |u| u.3), "key {id} at {at}: the last change before");
            if let Some(first) = after.first() {
                assert_eq!(v, first.2, "key {id} at {at}: the first change at or after");
                straddled += usize::from(!before.is_empty());
            }
        }
    }
    assert!(straddled > 0, "some keys changed both before and after a page's position");
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// A full sync reads a table in the order of its primary key, else of a unique key over NOT
/// NULL columns (its rows then read in that key's order); a table with neither is refused,
/// naming it.
#[tokio::test]
async fn a_full_sync_reads_by_the_primary_or_a_unique_not_null_key_and_refuses_neither() {
    let mut c = admin().await;
    let db = fresh_db(&mut c, "keys").await;
    for ddl in [
        "CREATE TABLE pk (a INT, b INT, u INT NOT NULL, PRIMARY KEY (b, a), UNIQUE KEY (u))",
        "CREATE TABLE uq (a INT, n INT NULL, b INT NOT NULL, c INT NOT NULL, UNIQUE KEY n (n), UNIQUE KEY z (c, b))",
        "CREATE TABLE nullable (a INT, n INT NULL, UNIQUE KEY n (n))",
        "CREATE TABLE bare (a INT, b INT)",
    ] {
        c.query_drop(format!("USE `{db}`")).await.unwrap();
        c.query_drop(ddl).await.unwrap();
    }
    c.query_drop(format!("INSERT INTO `{db}`.uq SELECT seq, NULL, 10 - seq, seq FROM `{db}`.seq_1_to_5"))
        .await
        .unwrap();
    let mut reader = PageReader::open(&cfg()).await.unwrap();
    let schema = |t: &str| {
        let name = TableName::new(&db, t);
        async move { mysql::table_schema(&cfg(), &name).await.unwrap() }
    };
    assert_eq!(reader.key(&schema("pk").await).await.unwrap(), vec![1, 0], "the primary key, in its order");
    let mut uq = schema("uq").await;
    let key = reader.key(&uq).await.unwrap();
    assert_eq!(key, vec![3, 2], "the unique key whose columns are all NOT NULL");
    uq.primary_key = key;
    let rows = reader.page(&uq, None, 10).await.unwrap();
    let c_values: Vec<&Value> = rows.iter().map(|r| &r[3]).collect();
    assert_eq!(c_values, [1, 2, 3, 4, 5].map(Value::Int).iter().collect::<Vec<_>>(), "in key order");
    for t in ["nullable", "bare"] {
        match reader.key(&schema(t).await).await {
            Err(SourceError::Table { table, reason }) => {
                assert_eq!(table, format!("{db}.{t}"));
                assert!(
                    reason.contains("no primary key and no unique key over NOT NULL columns"),
                    "{reason}"
                );
            }
            other => panic!("{t}: {other:?}"),
        }
    }
    reader.close().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Transactions, row images, keys

/// A multi-statement transaction arrives as its rows then exactly one TxEnd, whose position is
/// a resume point: a reader started there sees the next transaction only.
#[tokio::test]
async fn a_transaction_is_its_rows_then_one_tx_end_at_a_resume_point() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "tx").await;
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(10))")).await.unwrap();
    let from = position().await;
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(from.clone()));

    let mut tx = c.start_transaction(Default::default()).await.unwrap();
    tx.query_drop(format!("INSERT INTO `{db}`.t VALUES (1, 'a'), (2, 'b')")).await.unwrap();
    tx.query_drop(format!("INSERT INTO `{db}`.t VALUES (3, 'c')")).await.unwrap();
    tx.query_drop(format!("UPDATE `{db}`.t SET v = 'z' WHERE id = 1")).await.unwrap();
    tx.commit().await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (4, 'd')")).await.unwrap();

    let first = r.transactions(1).await;
    assert_eq!(first.len(), 4, "three rows events then the TxEnd: {first:#?}");
    assert!(first[..3].iter().all(|e| matches!(e, SourceEvent::Rows { .. })));
    let ops: Vec<Op> = rows(&first).iter().map(|(_, op, _)| *op).collect();
    assert_eq!(ops, vec![Op::Insert, Op::Insert, Op::Insert, Op::Update]);
    let SourceEvent::TxEnd(end) = &first[3] else { panic!() };
    let mut last_seq = None;
    for e in &first[..3] {
        let SourceEvent::Rows { batch, .. } = e else { panic!() };
        assert!(batch.pos < end.position.pos, "rows start before the commit");
        assert_eq!(batch.file, end.position.file);
        assert!(batch.gtid.is_some(), "MariaDB transactions carry a GTID");
        assert_eq!(batch.schema_id, 0);
        if let Some(prev) = last_seq {
            assert!(batch.first_row_seq > prev);
        }
        last_seq = Some(batch.first_row_seq);
    }
    assert!(end.position.gtid.is_some());
    assert!(end.ts > 0);

    let second = r.transactions(1).await;
    let got = rows(&second);
    assert_eq!(got.len(), 1);
    r.stop().await;

    // Resume from the first TxEnd: the next thing is the second transaction.
    let mut again = start(filter(&db, &[]), ResumeFrom::Position(end.position.clone()));
    let replay = again.transactions(1).await;
    assert_eq!(rows(&replay), got, "resuming at a TxEnd replays exactly what followed it");
    assert_eq!(same_source(&replay), same_source(&second));
    again.stop().await;

    // And by GTID alone (the file name then comes from the server's first ROTATE).
    let gtid = end.position.gtid.clone().unwrap();
    let mut by_gtid = start(filter(&db, &[]), ResumeFrom::Start(StartPoint::Gtid { gtid }));
    let replay = by_gtid.transactions(1).await;
    assert_eq!(rows(&replay), got, "resuming at the GTID replays exactly what followed it");
    assert_eq!(same_source(&replay), same_source(&second));
    by_gtid.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// UPDATE carries both images; a primary-key change shows the old key before and the new one
/// after; DELETE carries the before image; a table without a key has an empty key.
#[tokio::test]
async fn updates_carry_before_and_after_images_including_key_changes() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "upd").await;
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(10))")).await.unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.nokey (a INT, b INT)")).await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1, 'old')")).await.unwrap();
    let from = position().await;
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(from));
    c.query_drop(format!("UPDATE `{db}`.t SET v = 'new' WHERE id = 1")).await.unwrap();
    c.query_drop(format!("UPDATE `{db}`.t SET id = 10 WHERE id = 1")).await.unwrap();
    c.query_drop(format!("DELETE FROM `{db}`.t WHERE id = 10")).await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.nokey VALUES (1, 2)")).await.unwrap();
    let events = r.transactions(4).await;
    let got = rows(&events);
    assert_eq!(got.len(), 4);
    let img = |r: &Option<Vec<Value>>| r.clone().unwrap();

    let (schema, op, row) = &got[0];
    assert_eq!(*op, Op::Update);
    assert_eq!(img(&row.before), vec![Value::Int(1), text("old")]);
    assert_eq!(img(&row.after), vec![Value::Int(1), text("new")]);
    assert_eq!(schema.primary_key, vec![0]);

    let (_, op, row) = &got[1];
    assert_eq!(*op, Op::Update);
    assert_eq!(img(&row.before)[0], Value::Int(1));
    assert_eq!(img(&row.after)[0], Value::Int(10));

    let (_, op, row) = &got[2];
    assert_eq!(*op, Op::Delete);
    assert_eq!(img(&row.before), vec![Value::Int(10), text("new")]);
    assert!(row.after.is_none());

    let (schema, op, row) = &got[3];
    assert_eq!(*op, Op::Insert);
    assert!(schema.primary_key.is_empty());
    assert!(!schema.has_primary_key());
    assert_eq!(img(&row.after), vec![Value::Int(1), Value::Int(2)]);
    r.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// Rows of tables outside the filter never arrive; a transaction touching only them ends in no
/// TxEnd, but the position still moves through Progress.
#[tokio::test]
async fn the_filter_skips_other_tables_and_progress_moves_past_them() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "filter").await;
    c.query_drop(format!("CREATE TABLE `{db}`.kept (id INT PRIMARY KEY)")).await.unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.skipped (id INT PRIMARY KEY)")).await.unwrap();
    let from = position().await;
    let mut r = start(filter(&db, &["kept"]), ResumeFrom::Position(from));

    let mut tx = c.start_transaction(Default::default()).await.unwrap();
    tx.query_drop(format!("INSERT INTO `{db}`.skipped VALUES (1)")).await.unwrap();
    tx.query_drop(format!("INSERT INTO `{db}`.kept VALUES (1)")).await.unwrap();
    tx.commit().await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.skipped VALUES (2)")).await.unwrap();
    let skipped_end = position().await;
    let events = r.transactions(1).await;
    let got = rows(&events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.name.table, "kept");

    // The skipped-only transaction: no TxEnd, but a Progress at or past its end (heartbeats
    // report it within a second or two of idling).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match r.next(deadline).await {
            Some(SourceEvent::Progress { position, .. }) => {
                if position.file > skipped_end.file
                    || (position.file == skipped_end.file && position.pos >= skipped_end.pos)
                {
                    break;
                }
            }
            Some(SourceEvent::Rows { schema, .. }) => {
                panic!("rows of {} arrived", schema.name)
            }
            Some(SourceEvent::TxEnd(t)) => panic!("TxEnd for a skipped transaction: {t:?}"),
            Some(SourceEvent::Ddl(d)) => panic!("DDL of a skipped table: {d:?}"),
            Some(SourceEvent::TableStopped { table, .. }) => panic!("{table} stopped"),
            Some(SourceEvent::SchemaHistory(_) | SourceEvent::XaPrepared(_) | SourceEvent::Passed(_)) => {}
            None => panic!("no Progress past {skipped_end} in time"),
        }
    }
    r.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// DDL on a synced table is a resume point (a TxEnd), and the schema after it has the new
/// column, with both row-metadata modes handled by the same cache invalidation.
#[tokio::test]
async fn ddl_is_a_resume_point_and_refreshes_the_schema() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "ddl").await;
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")).await.unwrap();
    let from = position().await;
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(from));
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1)")).await.unwrap();
    c.query_drop(format!("ALTER TABLE `{db}`.t ADD COLUMN v VARCHAR(5) DEFAULT 'x'")).await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (2, 'y')")).await.unwrap();
    let events = r.transactions(3).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            SourceEvent::Rows { .. } => "rows",
            SourceEvent::TxEnd(_) => "end",
            SourceEvent::Progress { .. } => "progress",
            SourceEvent::Passed(_) => "passed",
            SourceEvent::Ddl(_) => "ddl",
            SourceEvent::TableStopped { .. } => "stopped",
            SourceEvent::SchemaHistory(_) => "history",
            SourceEvent::XaPrepared(_) => "xa",
        })
        .collect();
    assert_eq!(kinds, vec!["rows", "end", "ddl", "end", "rows", "end"]);
    let ddl = events.iter().find_map(|e| if let SourceEvent::Ddl(d) = e { Some(d) } else { None }).unwrap();
    assert_eq!(ddl.kind, DdlKind::AlterTable);
    assert_eq!(ddl.tables, vec![TableName::new(db.clone(), "t")]);
    assert!(ddl.sql.contains("ADD COLUMN v"), "{}", ddl.sql);
    let got = rows(&events);
    assert_eq!(got[0].0.columns.len(), 1);
    assert_eq!(got[1].0.columns.len(), 2);
    assert_eq!(got[1].2.after.clone().unwrap(), vec![Value::Int(2), text("y")]);
    r.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Start points and errors

/// A start at a timestamp skips what happened before it.
#[tokio::test]
async fn a_timestamp_start_skips_earlier_events() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "ts").await;
    c.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")).await.unwrap();
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (1)")).await.unwrap();
    let before: u64 = c.query_first("SELECT UNIX_TIMESTAMP()").await.unwrap().unwrap();
    // Wait (on the server's clock) for the next second, then write what must be seen.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let now: u64 = c.query_first("SELECT UNIX_TIMESTAMP()").await.unwrap().unwrap();
        if now > before {
            break now;
        }
        assert!(Instant::now() < deadline, "server clock does not move");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    c.query_drop(format!("INSERT INTO `{db}`.t VALUES (2)")).await.unwrap();
    let mut r = start(filter(&db, &[]), ResumeFrom::Start(StartPoint::Timestamp { timestamp: after }));
    let events = r.transactions(1).await;
    let got = rows(&events);
    assert_eq!(got.len(), 1, "{events:#?}");
    assert_eq!(got[0].2.after.clone().unwrap(), vec![Value::Int(2)]);
    r.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

async fn start_error(from: ResumeFrom) -> SourceError {
    let (tx, _rx) = mpsc::channel(4);
    let reader = BinlogReader::new(cfg(), replica_id(), filter("nothing", &[]));
    tokio::time::timeout(Duration::from_secs(30), reader.run(from, tx))
        .await
        .expect("the reader fails fast")
        .expect_err("the start must be refused")
}

/// A position the server no longer has is refused with the oldest file it does have; a GTID it
/// has not reached is refused naming the server's GTID state.
#[tokio::test]
async fn a_missing_position_names_the_oldest_binlog() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let logs: Vec<(String, u64)> = c
        .query("SHOW BINARY LOGS")
        .await
        .unwrap()
        .into_iter()
        .map(|r: mysql_async::Row| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    let oldest = logs[0].0.clone();

    let gone = Position { file: "nonexistent-bin.000001".into(), pos: 4, gtid: None };
    match start_error(ResumeFrom::Position(gone)).await {
        SourceError::PositionPurged { requested, oldest: o, .. } => {
            assert_eq!(requested, "nonexistent-bin.000001:4");
            assert_eq!(o, oldest);
        }
        other => panic!("{other:?}"),
    }
    let start = StartPoint::FilePos { file: logs[0].0.clone(), pos: logs[0].1 + 1_000_000 };
    assert!(matches!(start_error(ResumeFrom::Start(start)).await, SourceError::PositionPurged { .. }));
    // A GTID the server has not reached names both states.
    let never = StartPoint::Gtid { gtid: "0-1-4000000000".into() };
    match start_error(ResumeFrom::Start(never)).await {
        SourceError::GtidAhead { requested, server } => {
            assert_eq!(requested, "0-1-4000000000");
            assert!(server.starts_with("0-"), "{server}");
        }
        other => panic!("{other:?}"),
    }
    let other_domain = Position { file: "gone-bin.000001".into(), pos: 4, gtid: Some("77-1-5".into()) };
    match start_error(ResumeFrom::Position(other_domain)).await {
        SourceError::GtidAhead { requested, .. } => assert_eq!(requested, "77-1-5"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_access_denied_and_a_closed_port_unreachable() {
    let _mode = ROW_METADATA.read().await;
    let bad = MysqlConfig { password: "not-the-password".into(), ..cfg() };
    match mysql::server_info(&bad).await {
        Err(SourceError::AccessDenied { user, .. }) => assert_eq!(user, cfg().user),
        other => panic!("{other:?}"),
    }
    match mysql::precheck(&bad).await {
        Err(e @ SourceError::AccessDenied { .. }) => assert!(!e.is_transient()),
        other => panic!("{other:?}"),
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = MysqlConfig { port, ..cfg() };
    match mysql::server_info(&nowhere).await {
        Err(e @ SourceError::Unreachable { .. }) => {
            assert!(e.is_transient());
            assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

/// A reader whose tables see no changes still reports where it is (heartbeats).
#[tokio::test]
async fn an_idle_reader_reports_progress() {
    let _mode = ROW_METADATA.read().await;
    let from = position().await;
    let mut r = start(filter("ferry_no_such_database", &[]), ResumeFrom::Position(from.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let next = loop {
        match r.next(deadline).await {
            Some(SourceEvent::Passed(_)) => {}
            other => break other,
        }
    };
    match next {
        Some(SourceEvent::Progress { position, ts }) => {
            assert!(!position.file.is_empty());
            assert!(position.file >= from.file);
            assert!(ts > 0);
        }
        other => panic!("expected a Progress, got {other:?}"),
    }
    r.stop().await;
}

/// An idle server's heartbeats say the stream has delivered everything before the server's
/// end of binlog, also when nothing synced happened since the start (what a full sync waits for).
#[tokio::test]
async fn an_idle_reader_reports_passing_the_end_of_binlog() {
    let _mode = ROW_METADATA.read().await;
    let from = position().await;
    let mut r = start(filter("ferry_no_such_database", &[]), ResumeFrom::Position(from.clone()));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let end = position().await;
        match r.next(deadline).await {
            Some(SourceEvent::Passed(p)) if p.file == end.file && p.pos >= end.pos => break,
            Some(_) => {}
            None => panic!("no Passed at the end of binlog ({end}) in time"),
        }
    }
    r.stop().await;
}

/// The server dropping the dump connection is a transient error (reconnect and resume).
#[tokio::test]
async fn a_dropped_dump_connection_is_transient() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    // A replication user of its own, so that only this test's dump is killed.
    let user = unique_db("kill").replace("ferry_src_", "fk_");
    c.query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")).await.unwrap();
    c.query_drop(format!("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '{user}'@'%'"))
        .await
        .unwrap();
    let mine = MysqlConfig { user: user.clone(), password: "pw".into(), ..cfg() };
    let from = position().await;
    let (tx, mut rx) = mpsc::channel(16);
    let reader = BinlogReader::new(mine, replica_id(), filter("ferry_no_such_database", &[]));
    let mut task = tokio::spawn(reader.run(ResumeFrom::Position(from), tx));
    // The dump is running once the first Progress (a heartbeat) arrives.
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(matches!(first, Ok(Some(_))), "{first:?}");
    let ids: Vec<u64> = c
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND = 'Binlog Dump'",
            (&user,),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 1, "one dump connection of {user}");
    c.query_drop(format!("KILL CONNECTION {}", ids[0])).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tokio::select! {
                r = &mut task => return r.unwrap(),
                _ = rx.recv() => {}
            }
        }
    })
    .await
    .expect("the reader notices the dropped connection");
    c.query_drop(format!("DROP USER '{user}'@'%'")).await.unwrap();
    match result {
        Err(e) => {
            eprintln!("dropped dump connection: {e}");
            assert!(e.is_transient(), "{e:?}")
        }
        Ok(()) => panic!("the reader must fail, not stop"),
    }
}

/// The test server is set up right, and the checks say so.
#[tokio::test]
async fn precheck_passes_on_the_test_server() {
    let _mode = ROW_METADATA.read().await;
    let findings = mysql::precheck(&cfg()).await.unwrap();
    for f in &findings {
        assert!(f.ok, "{f:?}");
    }
    for check in [
        "log_bin",
        "binlog_format",
        "binlog_row_image",
        "privilege_replication_slave",
        "privilege_replication_client",
        "privilege_select",
        "log_bin_compress",
        "binlog_row_metadata",
        "server_version",
    ] {
        assert!(findings.iter().any(|f| f.check == check), "missing {check}");
    }
    let info = mysql::server_info(&cfg()).await.unwrap();
    assert_eq!(info.flavor, ferry::codec::SourceFlavor::MariaDb);
    assert!(info.server_id > 0);
}

#[tokio::test]
async fn list_tables_follows_the_filter_and_sees_keys() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "list").await;
    c.query_drop(format!("CREATE TABLE `{db}`.a (id INT PRIMARY KEY)")).await.unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.b (x INT)")).await.unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.c (x INT)")).await.unwrap();
    c.query_drop(format!("CREATE VIEW `{db}`.v AS SELECT 1")).await.unwrap();
    let f = TableFilter::new(&[ObjectRule {
        database: db.clone(),
        tables: vec![],
        exclude: vec!["c".into()],
        topic: "t".into(),
        ..Default::default()
    }])
    .unwrap();
    let tables = mysql::list_tables(&cfg(), &f).await.unwrap();
    let got: Vec<(String, bool)> = tables.iter().map(|t| (t.name.table.clone(), t.has_primary_key)).collect();
    assert_eq!(got, vec![("a".to_string(), true), ("b".to_string(), false)]);
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// Decoding speed: 100k rows of 7 columns in 1000-row INSERTs, read back in release mode.
#[tokio::test]
async fn decoding_keeps_up_with_bulk_inserts() {
    let _mode = ROW_METADATA.read().await;
    let mut c = admin().await;
    let db = fresh_db(&mut c, "speed").await;
    c.query_drop(format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, k INT, c CHAR(60), pad VARCHAR(60), \
         d DECIMAL(10,2), ts DATETIME(3), u BIGINT UNSIGNED)"
    ))
    .await
    .unwrap();
    let from = position().await;
    let (batches, per) = (100, 1000);
    for b in 0..batches {
        let values: Vec<String> = (0..per)
            .map(|i| {
                let id = b * per + i;
                format!(
                    "({id}, {}, 'c-{id}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'pad-{id}', {}.25, \
                     '2026-01-01 00:00:00.123', {})",
                    id % 1000,
                    id % 10_000,
                    u64::MAX - id as u64
                )
            })
            .collect();
        c.query_drop(format!("INSERT INTO `{db}`.t VALUES {}", values.join(","))).await.unwrap();
    }
    let total = (batches * per) as usize;
    let started = Instant::now();
    let mut r = start(filter(&db, &[]), ResumeFrom::Position(from));
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while n < total {
        match r.next(deadline).await {
            Some(SourceEvent::Rows { batch, .. }) => n += batch.rows.len(),
            Some(_) => {}
            None => panic!("only {n} of {total} rows arrived"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = total as f64 / secs;
    eprintln!("decoded {total} rows in {secs:.2} s: {rate:.0} rows/s");
    assert!(rate > 50_000.0, "{rate:.0} rows/s");
    r.stop().await;
    c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
}

/// The server's zone as the server shows TIMESTAMPs: each instant with the offset in force then
/// (summer time included), whatever the zone setting.
#[tokio::test]
async fn the_server_zone_gives_the_offset_in_force_at_each_instant() {
    let mut c = admin().await;
    c.query_drop("SET time_zone = 'Europe/Berlin'").await.unwrap();
    let berlin = mysql::server_zone_on(&mut c).await.unwrap();
    // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
    let (spring, autumn) = (1_774_746_000, 1_792_890_000);
    assert_eq!(berlin.offset_at(spring - 1), 3600);
    assert_eq!(berlin.offset_at(spring), 7200);
    assert_eq!(berlin.offset_at(autumn - 1), 7200);
    assert_eq!(berlin.offset_at(autumn), 3600);
    assert_eq!(berlin.offset_at(1_000_000_000), 7200, "2001-09-09: summer");
    assert_eq!(berlin.offset_at(2_000_000_000), 7200, "2033-05-18: summer");
    assert_eq!(berlin.offset_at(1_300_000_000), 3600, "2011-03-13: winter");
    c.query_drop("SET time_zone = '+08:00'").await.unwrap();
    let fixed = mysql::server_zone_on(&mut c).await.unwrap();
    assert!(fixed.is_fixed());
    assert_eq!(fixed.offset_at(spring), 8 * 3600);
    c.disconnect().await.unwrap();
}
