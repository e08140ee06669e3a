//! The replication loop: resolve where to start, check it is still on the server, ask for the
//! binlog dump, then hand each event to the handler of its kind.
//!
//! Invariants:
//! - events leave in binlog order, batched (a batch is flushed when the stream has nothing more
//!   ready, or at [`FLUSH_EVENTS`] events or [`FLUSH_BYTES`] bytes);
//! - a [`TxEnd`] follows the last rows of every transaction that had rows for synced tables,
//!   and every DDL touching a synced table; its position is the end of the XID/COMMIT/DDL
//!   event, with the GTID state after it: the only resume points;
//! - transactions that only touched other tables move the position through
//!   [`SourceEvent::Progress`] (at most once per second), as do heartbeats of an idle server;
//! - the reader stops with `Ok(())` as soon as the receiver is dropped.

use super::catalog::{self, BinlogFile, ServerInfo};
use super::conn::{self, codes, query_error};
use super::decode::decode_rows;
use super::history::SchemaHistory;
use super::schema::{Mapped, SchemaCache};
use super::sql::{ddl_kind, dml_tables, parse_ddl, Ddl};
use super::xa::{xa_group, XaGroup, XaTransactions};
use super::{MysqlConfig, SourceError};
use crate::codec::SourceFlavor;
use crate::model::{DdlRecord, Op, Position, RowsBatch, TableName, TxEnd};
use crate::source::{SourceEvent, StartPoint, TableFilter};
use futures_util::{FutureExt, StreamExt};
use mysql_async::binlog::events::{Event, EventData, QueryEvent, RotateEvent, RowsEventData};
use mysql_async::prelude::*;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use mysql_common::binlog::consts::RowsEventFlags;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// Where a reader starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ResumeFrom {
    /// A project's first start, as the user configured it.
    Start(StartPoint),
    /// A resume point the store recorded (the position of a [`TxEnd`] or a Progress).
    Position(Position),
}

/// Flush the pending events to the channel at this many, even if more are ready...
const FLUSH_EVENTS: usize = 256;
/// ...or once they came from this many binlog bytes (rows of large BLOBs).
const FLUSH_BYTES: usize = 4 << 20;
/// Progress events at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The server sends a heartbeat after this much idle time.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// No event nor heartbeat for this long: the connection is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);

/// Reads one server's binlog into [`SourceEvent`]s.
pub struct BinlogReader {
    cfg: MysqlConfig,
    server_id: u32,
    filter: Arc<TableFilter>,
    first_row_seq: u64,
    history: Option<Arc<SchemaHistory>>,
}

impl BinlogReader {
    /// `server_id` is the replica id the reader registers with: unique among the server's
    /// replicas (a second replica with the same id disconnects the first).
    pub fn new(cfg: MysqlConfig, server_id: u32, filter: Arc<TableFilter>) -> Self {
        Self { cfg, server_id, filter, first_row_seq: 0, history: None }
    }

    /// Decode rows with the table definitions of `history` (and keep it up to date) instead
    /// of the server's definitions of now.
    pub fn with_history(mut self, history: Arc<SchemaHistory>) -> Self {
        self.history = Some(history);
        self
    }

    /// The row sequence of the first row this reader emits (`RowsBatch::first_row_seq`).
    pub fn with_first_row_seq(mut self, seq: u64) -> Self {
        self.first_row_seq = seq;
        self
    }

    /// Streams events to `out` until `out` is closed (`Ok`) or something fails.
    pub async fn run(self, from: ResumeFrom, out: Sender<Vec<SourceEvent>>) -> Result<(), SourceError> {
        let mut c = conn::connect(&self.cfg).await?;
        let prepared = tokio::select! {
            biased;
            _ = out.closed() => None,
            p = self.prepare(&mut c, &from) => Some(p),
        };
        let (info, start, logs) = match prepared {
            None => {
                conn::close(c).await;
                return Ok(());
            }
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                conn::close(c).await;
                return Err(e);
            }
        };
        tracing::info!(
            server = %info.version,
            start = %start.describe(),
            row_metadata_full = info.row_metadata_full,
            "starting binlog dump"
        );
        let mut schemas = SchemaCache::new(self.cfg.clone(), info.flavor, self.filter.clone())
            .with_history(self.history.clone());
        let resume = match &from {
            ResumeFrom::Position(p) => Some((p.file.as_str(), p.pos)),
            ResumeFrom::Start(_) => None,
        };
        if let Err(e) =
            schemas.connected(&mut c, info.server_id, resume, (&start.file, start.pos.max(4))).await
        {
            conn::close(c).await;
            return Err(e);
        }
        let request = BinlogStreamRequest::new(self.server_id)
            .with_filename(start.file.as_bytes())
            .with_pos(start.pos.max(4));
        let stream = c.get_binlog_stream(request).await.map_err(query_error)?;
        let mut replication = Replication {
            server_id: self.server_id,
            file: start.file.clone(),
            asked_file: (!start.file.is_empty()).then(|| start.file.clone()),
            seen_fde: false,
            gtids: start.gtids.clone(),
            group: Group::default(),
            resume: Position { file: start.file.clone(), pos: start.pos.max(4), gtid: start.gtids.text() },
            resume_reported: true,
            last_progress: Instant::now(),
            row_seq: self.first_row_seq,
            not_before: start.not_before,
            schemas,
            stopped_reported: HashSet::new(),
            pending: Vec::with_capacity(64),
            pending_bytes: 0,
            xa_rows: Vec::new(),
            xa: XaTransactions::default(),
            started: start,
            oldest: logs.first().map(|f| f.name.clone()).unwrap_or_default(),
            groups_ended: 0,
        };
        let mut stream = stream;
        let result = replication.run(&mut stream, &out).await;
        replication.schemas.close().await;
        // A dump connection cannot be closed politely while the server streams; do not wait.
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.close()).await;
        result
    }

    /// Server facts, the resolved start (checked against the server's binlogs) and the
    /// session settings of the dump connection.
    async fn prepare(
        &self,
        c: &mut Conn,
        from: &ResumeFrom,
    ) -> Result<(ServerInfo, Start, Vec<BinlogFile>), SourceError> {
        let info = catalog::server_info_on(c).await?;
        if info.flavor == SourceFlavor::OceanBase {
            return Err(SourceError::Unsupported(
                "OceanBase does not serve binlog dumps (use its binlog service)".into(),
            ));
        }
        if let Some(v) = catalog::global_variable(c, "log_bin_compress").await? {
            if v.eq_ignore_ascii_case("ON") {
                return Err(SourceError::Unsupported(
                    "compressed binlog events (log_bin_compress=ON): set it OFF".into(),
                ));
            }
        }
        let logs = catalog::binary_logs(c).await?;
        let start = self.resolve(c, &info, &logs, from).await?;
        c.query_drop("SET @master_binlog_checksum = @@global.binlog_checksum").await.map_err(query_error)?;
        // Without it MariaDB rewrites its GTID events into dummy events.
        c.query_drop("SET @mariadb_slave_capability = 4").await.map_err(query_error)?;
        c.query_drop(format!("SET @master_heartbeat_period = {}", HEARTBEAT.as_nanos()))
            .await
            .map_err(query_error)?;
        if start.gtid_mode {
            let state = start.gtids.text().unwrap_or_default();
            c.query_drop(format!(
                "SET @slave_connect_state = '{state}', @slave_gtid_strict_mode = 0, \
                 @slave_gtid_ignore_duplicates = 0"
            ))
            .await
            .map_err(query_error)?;
        }
        Ok((info, start, logs))
    }

    async fn resolve(
        &self,
        c: &mut Conn,
        info: &ServerInfo,
        logs: &[BinlogFile],
        from: &ResumeFrom,
    ) -> Result<Start, SourceError> {
        let mariadb = info.flavor == SourceFlavor::MariaDb;
        match from {
            ResumeFrom::Start(StartPoint::Now) => {
                let p = catalog::current_position_on(c, info.flavor).await?;
                Ok(Start::file(p.file, p.pos, Gtids::parse(p.gtid.as_deref())?))
            }
            ResumeFrom::Start(StartPoint::FilePos { file, pos }) => {
                check_on_server(logs, file, *pos)?;
                let gtid = if mariadb { catalog::gtid_at(c, file, *pos).await? } else { None };
                Ok(Start::file(file.clone(), *pos, Gtids::parse(gtid.as_deref())?))
            }
            ResumeFrom::Start(StartPoint::Gtid { gtid }) => {
                if !mariadb {
                    return Err(SourceError::Unsupported(
                        "starting from a GTID needs MariaDB; use a file and position".into(),
                    ));
                }
                let gtids = Gtids::parse(Some(gtid))?;
                gtids.check_reached(c).await?;
                Ok(Start::gtid(gtids))
            }
            ResumeFrom::Start(StartPoint::Timestamp { timestamp }) => {
                let ts = u32::try_from(*timestamp).unwrap_or(u32::MAX);
                let file = self.file_for_timestamp(logs, ts).await?;
                let gtid = if mariadb { catalog::gtid_at(c, &file, 4).await? } else { None };
                let mut s = Start::file(file, 4, Gtids::parse(gtid.as_deref())?);
                s.not_before = Some(ts);
                Ok(s)
            }
            // MariaDB with the GTID state of the position: resume by GTID, whatever server
            // answers now. A file and offset mean something on one server only; after the
            // data source moved to a replica, the same file name may hold other events.
            ResumeFrom::Position(Position { gtid: Some(g), .. }) if mariadb => {
                let gtids = Gtids::parse(Some(g))?;
                gtids.check_reached(c).await?;
                Ok(Start::gtid(gtids))
            }
            ResumeFrom::Position(p) => {
                check_on_server(logs, &p.file, p.pos)?;
                let gtid = if mariadb { catalog::gtid_at(c, &p.file, p.pos).await? } else { None };
                Ok(Start::file(p.file.clone(), p.pos, Gtids::parse(gtid.as_deref())?))
            }
        }
    }

    /// The newest binlog file that starts at or before `ts` (the one holding the first events
    /// at or after it), or the oldest file when all start later.
    async fn file_for_timestamp(&self, logs: &[BinlogFile], ts: u32) -> Result<String, SourceError> {
        let oldest =
            logs.first().ok_or_else(|| SourceError::Misconfigured("the server has no binary logs".into()))?;
        for f in logs.iter().rev() {
            if self.file_start_time(&f.name).await? <= ts {
                return Ok(f.name.clone());
            }
        }
        Ok(oldest.name.clone())
    }

    /// The creation time of a binlog file: the timestamp of its FORMAT_DESCRIPTION event.
    async fn file_start_time(&self, file: &str) -> Result<u32, SourceError> {
        let mut c = conn::connect(&self.cfg).await?;
        c.query_drop("SET @master_binlog_checksum = @@global.binlog_checksum").await.map_err(query_error)?;
        c.query_drop("SET @mariadb_slave_capability = 4").await.map_err(query_error)?;
        let request = BinlogStreamRequest::new(self.server_id)
            .with_non_blocking()
            .with_filename(file.as_bytes())
            .with_pos(4u64);
        let mut stream = c.get_binlog_stream(request).await.map_err(query_error)?;
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(ev) = stream.next().await {
                let ev = ev.map_err(query_error)?;
                let h = ev.header();
                if h.event_type_raw() == FORMAT_DESCRIPTION || h.timestamp() != 0 {
                    return Ok(h.timestamp());
                }
            }
            Ok(0)
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.close()).await;
        match found {
            Ok(r) => r,
            Err(_) => Err(SourceError::ConnectionLost(format!("no events from {file} in 10 s"))),
        }
    }
}

/// The file must be listed by `SHOW BINARY LOGS` and the offset inside it.
fn check_on_server(logs: &[BinlogFile], file: &str, pos: u64) -> Result<(), SourceError> {
    match logs.iter().find(|f| f.name == file) {
        None => Err(purged(
            logs,
            file,
            pos,
            format!("binlog file {file} is not on the server (purged, or never there)"),
        )),
        Some(f) if pos > f.size && f.size > 0 => {
            Err(purged(logs, file, pos, format!("offset {pos} is past the end of {file} ({} bytes)", f.size)))
        }
        Some(_) => Ok(()),
    }
}

fn purged(logs: &[BinlogFile], file: &str, pos: u64, reason: String) -> SourceError {
    SourceError::PositionPurged {
        requested: format!("{file}:{pos}"),
        oldest: logs.first().map(|f| f.name.clone()).unwrap_or_else(|| "(none)".into()),
        reason,
    }
}

/// A resolved start.
#[derive(Debug, Clone)]
struct Start {
    /// Empty in GTID mode.
    file: String,
    pos: u64,
    /// The GTID state at the start (sent as `@slave_connect_state` in GTID mode).
    gtids: Gtids,
    gtid_mode: bool,
    /// Skip rows of events older than this (a timestamp start).
    not_before: Option<u32>,
}

impl Start {
    fn file(file: String, pos: u64, gtids: Gtids) -> Self {
        Self { file, pos: pos.max(4), gtids, gtid_mode: false, not_before: None }
    }

    fn gtid(gtids: Gtids) -> Self {
        Self { file: String::new(), pos: 4, gtids, gtid_mode: true, not_before: None }
    }

    fn describe(&self) -> String {
        if self.gtid_mode {
            format!("gtid {}", self.gtids.text().unwrap_or_default())
        } else {
            format!("{}:{}", self.file, self.pos)
        }
    }
}

/// A MariaDB GTID state: per replication domain, the last (server id, sequence).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Gtids(BTreeMap<u32, (u32, u64)>);

impl Gtids {
    /// Parses `domain-server-seq[,...]`; `None` or empty is the empty state.
    pub(crate) fn parse(s: Option<&str>) -> Result<Self, SourceError> {
        let mut m = BTreeMap::new();
        for part in s.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || SourceError::Misconfigured(format!("invalid MariaDB GTID {part:?}"));
            let mut it = part.split('-');
            let (Some(d), Some(srv), Some(seq), None) = (it.next(), it.next(), it.next(), it.next()) else {
                return Err(bad());
            };
            let d: u32 = d.parse().map_err(|_| bad())?;
            let srv: u32 = srv.parse().map_err(|_| bad())?;
            let seq: u64 = seq.parse().map_err(|_| bad())?;
            m.insert(d, (srv, seq));
        }
        Ok(Self(m))
    }

    /// Fails naming both when the server's `@@gtid_binlog_state` has not reached this state in
    /// every domain (the server would otherwise wait, or refuse with less to say). A state it
    /// has purged past is the server's own ERROR 1236, passed on as a purged position.
    async fn check_reached(&self, c: &mut Conn) -> Result<(), SourceError> {
        let state: Option<String> =
            c.query_first("SELECT @@GLOBAL.gtid_binlog_state").await.map_err(query_error)?.flatten();
        let state = state.unwrap_or_default();
        let mut reached: BTreeMap<u32, u64> = BTreeMap::new();
        // One entry per domain and server id: the domain has reached its highest sequence.
        for (domain, (_, seq)) in
            state.split(',').filter_map(|p| Gtids::parse(Some(p)).ok()).flat_map(|g| g.0)
        {
            let at = reached.entry(domain).or_default();
            *at = (*at).max(seq);
        }
        let behind = self.0.iter().any(|(domain, (_, seq))| reached.get(domain).is_none_or(|r| r < seq));
        if behind {
            return Err(SourceError::GtidAhead {
                requested: self.text().unwrap_or_default(),
                server: if state.is_empty() { "empty".into() } else { state },
            });
        }
        Ok(())
    }

    fn set(&mut self, domain: u32, server_id: u32, seq: u64) {
        self.0.insert(domain, (server_id, seq));
    }

    pub(crate) fn text(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut s = String::new();
        for (d, (srv, seq)) in &self.0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(&format!("{d}-{srv}-{seq}"));
        }
        Some(s)
    }
}

// Event type codes (MariaDB's are not in mysql_common's enum).
const QUERY: u8 = 2;
const ROTATE: u8 = 4;
const FORMAT_DESCRIPTION: u8 = 15;
const XID: u8 = 16;
const TABLE_MAP: u8 = 19;
const WRITE_ROWS_V1: u8 = 23;
const UPDATE_ROWS_V1: u8 = 24;
const DELETE_ROWS_V1: u8 = 25;
const HEARTBEAT_EVENT: u8 = 27;
const WRITE_ROWS_V2: u8 = 30;
const UPDATE_ROWS_V2: u8 = 31;
const DELETE_ROWS_V2: u8 = 32;
const MYSQL_GTID: u8 = 33;
const XA_PREPARE: u8 = 38;
const PARTIAL_UPDATE_ROWS: u8 = 39;
const MARIADB_GTID: u8 = 162;
/// MariaDB compressed QUERY / rows events (log_bin_compress=ON).
const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 165..=171;
/// Server errors on the dump connection that a reconnect may cure: shutdown in progress,
/// connection killed, query interrupted, network read/write timeouts.
const TRANSIENT_SERVER_ERRORS: [u16; 6] = [1053, 1927, 1317, 1158, 1159, 1161];
/// MariaDB GTID flag: the group is a single statement with no XID/COMMIT (DDL...).
const FL_STANDALONE: u8 = 1;

/// The transaction group being read.
#[derive(Debug, Default)]
struct Group {
    /// `domain-server-seq` (MariaDB) or `uuid:gno` (MySQL).
    gtid: Option<String>,
    mariadb_gtid: Option<(u32, u32, u64)>,
    /// Saw a MariaDB GTID event: `standalone` is meaningful.
    saw_gtid: bool,
    standalone: bool,
    /// Between BEGIN and XID/COMMIT.
    in_tx: bool,
    /// Emitted rows for synced tables.
    has_rows: bool,
    /// The group prepares or completes an XA transaction.
    xa: Option<XaGroup>,
    /// The resume point before the group, kept for a group that prepares an XA transaction.
    since: Option<Position>,
}

/// The state of one replication stream; one method per event kind.
struct Replication {
    /// The replica id this stream registered with.
    server_id: u32,
    /// The binlog file being read.
    file: String,
    /// The file the dump asked for: the name the first ROTATE means.
    asked_file: Option<String>,
    seen_fde: bool,
    gtids: Gtids,
    group: Group,
    /// The last resume point passed (end of a group, or the start of a new file).
    resume: Position,
    /// `resume` went out in a TxEnd or Progress.
    resume_reported: bool,
    last_progress: Instant,
    row_seq: u64,
    /// A timestamp start: events are skipped until one at or after this time.
    not_before: Option<u32>,
    schemas: SchemaCache,
    /// Stopped tables already reported by this stream.
    stopped_reported: HashSet<TableName>,
    pending: Vec<SourceEvent>,
    /// Binlog bytes of the events behind `pending`.
    pending_bytes: usize,
    /// Rows of the XA transaction being prepared, held until its outcome.
    xa_rows: Vec<SourceEvent>,
    xa: XaTransactions,
    started: Start,
    oldest: String,
    /// Transaction groups ended since the start (0: the start itself is what failed).
    groups_ended: u64,
}

impl Replication {
    async fn run(
        &mut self,
        stream: &mut BinlogStream,
        out: &Sender<Vec<SourceEvent>>,
    ) -> Result<(), SourceError> {
        // The baseline and a new server's generation, before any event.
        self.history_written();
        loop {
            if self.pending.is_empty() {
                // Bytes of events that left nothing to send (other tables) hold no memory.
                self.pending_bytes = 0;
            }
            if (self.pending.len() >= FLUSH_EVENTS || self.pending_bytes >= FLUSH_BYTES)
                && !self.flush(out).await
            {
                return Ok(());
            }
            let next = match stream.next().now_or_never() {
                Some(next) => next,
                None => {
                    // Nothing ready: deliver what is pending, then wait.
                    if !self.pending.is_empty() && !self.flush(out).await {
                        return Ok(());
                    }
                    tokio::select! {
                        biased;
                        _ = out.closed() => return Ok(()),
                        next = stream.next() => next,
                        _ = tokio::time::sleep(SILENCE_LIMIT) => {
                            return Err(SourceError::ConnectionLost(format!(
                                "no binlog event nor heartbeat for {} s",
                                SILENCE_LIMIT.as_secs()
                            )));
                        }
                    }
                }
            };
            match next {
                Some(Ok(ev)) => {
                    self.pending_bytes += ev.header().event_size() as usize;
                    self.handle(&ev).await?
                }
                Some(Err(e)) => return Err(self.stream_error(e)),
                None => return Err(SourceError::ConnectionLost("the server ended the binlog stream".into())),
            }
        }
    }

    /// Sends the pending events; `false` when the receiver is gone.
    async fn flush(&mut self, out: &Sender<Vec<SourceEvent>>) -> bool {
        self.pending_bytes = 0;
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(64));
        out.send(batch).await.is_ok()
    }

    fn stream_error(&self, e: mysql_async::Error) -> SourceError {
        match e {
            // The server dropped this dump for a newer one registered with the same server id.
            mysql_async::Error::Server(se) if se.message.contains("same server_uuid/server_id") => {
                SourceError::ReplicaIdTaken { server_id: self.server_id, message: se.message }
            }
            mysql_async::Error::Server(se) if se.code == codes::FATAL_READING_BINLOG => {
                let requested =
                    if self.groups_ended == 0 { self.started.describe() } else { self.resume.to_string() };
                SourceError::PositionPurged { requested, oldest: self.oldest.clone(), reason: se.message }
            }
            // The server went away or killed the dump: reconnect.
            mysql_async::Error::Server(se) if TRANSIENT_SERVER_ERRORS.contains(&se.code) => {
                SourceError::ConnectionLost(format!("server error {}: {}", se.code, se.message))
            }
            e => query_error(e),
        }
    }

    fn position_of(&self, ev: &Event) -> String {
        let h = ev.header();
        format!("{}:{}", self.file, h.log_pos().saturating_sub(h.event_size()))
    }

    async fn handle(&mut self, ev: &Event) -> Result<(), SourceError> {
        let ty = ev.header().event_type_raw();
        if let Some(t) = self.not_before {
            if ev.header().timestamp() >= t {
                self.not_before = None;
            }
        }
        match ty {
            WRITE_ROWS_V1 | UPDATE_ROWS_V1 | DELETE_ROWS_V1 | WRITE_ROWS_V2 | UPDATE_ROWS_V2
            | DELETE_ROWS_V2 => self.on_rows(ev, ty),
            TABLE_MAP => {
                self.set_schema_position(ev);
                let mapped = self.schemas.table_map(ev).await;
                self.history_written();
                mapped
            }
            XID => {
                self.end_group(ev, false);
                Ok(())
            }
            QUERY => {
                self.set_schema_position(ev);
                self.on_query(ev)
            }
            XA_PREPARE => {
                self.on_xa_prepare(ev);
                Ok(())
            }
            MARIADB_GTID => self.on_mariadb_gtid(ev),
            MYSQL_GTID => self.on_mysql_gtid(ev),
            ROTATE => self.on_rotate(ev),
            FORMAT_DESCRIPTION => {
                self.seen_fde = true;
                Ok(())
            }
            HEARTBEAT_EVENT => {
                self.on_heartbeat(ev);
                Ok(())
            }
            PARTIAL_UPDATE_ROWS => Err(SourceError::Unsupported(
                "partial JSON updates (binlog_row_value_options=PARTIAL_JSON): turn them off".into(),
            )),
            t if MARIADB_COMPRESSED.contains(&t) => Err(SourceError::Unsupported(format!(
                "compressed binlog event (type {t}) at {}: set log_bin_compress=OFF",
                self.position_of(ev)
            ))),
            // FDE-less starts, annotations, checkpoints, GTID lists, INTVAR/RAND/USER_VAR of
            // statement-based logging, previous-GTIDs...: nothing to do.
            _ => Ok(()),
        }
    }

    /// History entries written while handling an event go out before anything that follows.
    fn history_written(&mut self) {
        if let Some(entries) = self.schemas.take_written() {
            self.pending.push(SourceEvent::SchemaHistory(entries));
        }
    }

    /// Where the schema history is asked: the start of the event.
    fn set_schema_position(&mut self, ev: &Event) {
        let h = ev.header();
        self.schemas.set_position(&self.file, u64::from(h.log_pos().saturating_sub(h.event_size())));
    }

    fn on_rows(&mut self, ev: &Event, ty: u8) -> Result<(), SourceError> {
        let data = ev.read_data().map_err(|e| self.decode_error(ev, e.to_string()))?;
        let Some(EventData::RowsEvent(rows)) = data else {
            return Err(self.decode_error(ev, "not a rows event".into()));
        };
        let result = self.on_rows_event(ev, ty, &rows);
        if rows.flags().contains(RowsEventFlags::STMT_END) {
            self.schemas.statement_ended();
        }
        result
    }

    fn on_rows_event(&mut self, ev: &Event, ty: u8, rows: &RowsEventData<'_>) -> Result<(), SourceError> {
        let h = ev.header();
        let def = match self.schemas.get(rows.table_id()) {
            Mapped::Synced(def) => def.clone(),
            Mapped::Skipped => return Ok(()),
            Mapped::Stopped(table, reason) => {
                if self.stopped_reported.insert(table.clone()) {
                    tracing::warn!(%table, %reason, "rows of a stopped table are not decoded");
                    self.pending
                        .push(SourceEvent::TableStopped { table: table.clone(), reason: reason.to_string() });
                }
                return Ok(());
            }
            Mapped::Unknown => {
                return Err(self
                    .decode_error(ev, format!("rows for table id {} without a TABLE_MAP", rows.table_id())))
            }
        };
        if self.not_before.is_some() {
            // A timestamp start: this happened before it.
            return Ok(());
        }
        let op = match ty {
            WRITE_ROWS_V1 | WRITE_ROWS_V2 => Op::Insert,
            UPDATE_ROWS_V1 | UPDATE_ROWS_V2 => Op::Update,
            _ => Op::Delete,
        };
        let images = decode_rows(&def, rows)
            .map_err(|e| self.decode_error(ev, format!("table {}: {e}", def.schema.name)))?;
        if images.is_empty() {
            return Ok(());
        }
        let first_row_seq = self.row_seq;
        self.row_seq += images.len() as u64;
        let to = if let Some(XaGroup::Prepare(_)) = self.group.xa {
            &mut self.xa_rows
        } else {
            self.group.has_rows = true;
            &mut self.pending
        };
        to.push(SourceEvent::Rows {
            schema: def.schema.clone(),
            batch: RowsBatch {
                schema_id: 0,
                op,
                rows: images,
                file: self.file.clone(),
                pos: h.log_pos().saturating_sub(h.event_size()) as u64,
                ts: h.timestamp(),
                server_id: h.server_id(),
                gtid: self.group.gtid.clone(),
                first_row_seq,
            },
        });
        Ok(())
    }

    fn on_query(&mut self, ev: &Event) -> Result<(), SourceError> {
        let q: QueryEvent<'_> = ev.read_event().map_err(|e| self.decode_error(ev, format!("QUERY: {e}")))?;
        let sql = q.query();
        let sql = sql.trim_start();
        let head = |w: &str| {
            sql.len() >= w.len()
                && sql.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())
                && sql.as_bytes().get(w.len()).is_none_or(|c| !c.is_ascii_alphanumeric())
        };
        if head("BEGIN") || head("XA START") || head("XA BEGIN") {
            self.group.in_tx = true;
        } else if head("XA COMMIT") || head("XA ROLLBACK") {
            self.on_xa_outcome(ev, head("XA COMMIT"));
        } else if head("COMMIT")
            || head("XA PREPARE")
            || (head("ROLLBACK") && !sql.to_ascii_uppercase().contains(" TO "))
        {
            // COMMIT ends groups on non-transactional tables; a logged ROLLBACK carries changes
            // to non-transactional tables, which stay.
            self.end_group(ev, false);
        } else if head("XA END") || head("SAVEPOINT") || head("ROLLBACK") {
            // Inside a transaction; nothing to do.
        } else if let Some(written) = dml_tables(sql, &q.schema()) {
            // Rows changed by a statement logged as text (a session with binlog_format=STATEMENT
            // or MIXED): Ferry cannot know them, and must not pass over them silently.
            let synced = written.iter().find(|n| self.schemas.synced(&n.database, &n.table));
            if let (Some(table), None) = (synced, self.not_before) {
                return Err(SourceError::StatementLogged {
                    table: table.to_string(),
                    position: self.position_of(ev),
                    statement: truncate(sql, 200).to_string(),
                });
            }
        } else {
            let db = q.schema();
            let ddl = parse_ddl(sql, &db);
            let relevant = match &ddl {
                Ddl::None => false,
                Ddl::Unknown => true,
                Ddl::Database(d) => self.schemas.syncs_database(d),
                Ddl::Tables(names) => names.iter().any(|n| self.schemas.synced(&n.database, &n.table)),
            };
            let mut end = self.schemas.position();
            end.2 = u64::from(ev.header().log_pos());
            self.schemas.ddl(sql, &db, &ddl, end)?;
            self.history_written();
            if relevant {
                tracing::info!(query = %truncate(sql, 200), "DDL on a synced table");
            }
            if let (Ddl::Tables(names), None) = (&ddl, self.not_before) {
                let tables: Vec<TableName> =
                    names.iter().filter(|n| self.schemas.synced(&n.database, &n.table)).cloned().collect();
                if !tables.is_empty() {
                    let h = ev.header();
                    self.pending.push(SourceEvent::Ddl(DdlRecord {
                        kind: ddl_kind(sql),
                        database: db.to_string(),
                        tables,
                        sql: sql.to_string(),
                        file: self.file.clone(),
                        pos: u64::from(h.log_pos().saturating_sub(h.event_size())),
                        ts: h.timestamp(),
                        server_id: h.server_id(),
                        gtid: self.group.gtid.clone(),
                    }));
                }
            }
            let ends = if self.group.saw_gtid { self.group.standalone } else { !self.group.in_tx };
            if ends {
                self.end_group(ev, relevant);
            }
        }
        Ok(())
    }

    /// MariaDB GTID event: seq u64, domain u32, flags u8 (then optional commit id / XA data).
    fn on_mariadb_gtid(&mut self, ev: &Event) -> Result<(), SourceError> {
        let d = ev.data();
        if d.len() < 13 {
            return Err(self.decode_error(ev, "short GTID event".into()));
        }
        let seq = u64::from_le_bytes(d[0..8].try_into().expect("8 bytes"));
        let domain = u32::from_le_bytes(d[8..12].try_into().expect("4 bytes"));
        let flags = d[12];
        let xa = xa_group(d).map_err(|reason| self.decode_error(ev, reason))?;
        let server_id = ev.header().server_id();
        let since = matches!(xa, Some(XaGroup::Prepare(_))).then(|| self.resume.clone());
        self.group = Group {
            xa,
            since,
            gtid: Some(format!("{domain}-{server_id}-{seq}")),
            mariadb_gtid: Some((domain, server_id, seq)),
            saw_gtid: true,
            standalone: flags & FL_STANDALONE != 0,
            in_tx: false,
            has_rows: false,
        };
        self.xa_rows.clear();
        Ok(())
    }

    /// MySQL GTID event: flags u8, source uuid [16], gno i64.
    fn on_mysql_gtid(&mut self, ev: &Event) -> Result<(), SourceError> {
        let d = ev.data();
        if d.len() < 25 {
            return Ok(());
        }
        let u = &d[1..17];
        let gno = i64::from_le_bytes(d[17..25].try_into().expect("8 bytes"));
        let hex = hex::encode(u);
        let uuid =
            format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
        self.group = Group { gtid: Some(format!("{uuid}:{gno}")), ..Group::default() };
        Ok(())
    }

    fn on_rotate(&mut self, ev: &Event) -> Result<(), SourceError> {
        let r: RotateEvent<'_> =
            ev.read_event().map_err(|e| self.decode_error(ev, format!("ROTATE: {e}")))?;
        let mut name = r.name_raw();
        // Before the first FORMAT_DESCRIPTION the driver cannot know the server checksums
        // events, so the 4 CRC bytes are read as part of the name.
        if !self.seen_fde && name.len() > 4 && crc_matches(ev, name) {
            name = &name[..name.len() - 4];
        }
        let mut name = String::from_utf8_lossy(name).into_owned();
        if let Some(asked) = self.asked_file.take() {
            if name.starts_with(&asked) || name.is_empty() {
                name = asked;
            }
        }
        let fake = ev.header().log_pos() == 0;
        if !fake && name != self.file {
            // A real rotate: the next file's start is a resume point.
            self.resume = Position { file: name.clone(), pos: r.position(), gtid: self.gtids.text() };
            self.resume_reported = false;
        }
        if fake && self.resume.file.is_empty() {
            // GTID mode: now we know the file.
            self.resume.file = name.clone();
        }
        self.file = name;
        Ok(())
    }

    /// The end of an XA transaction's prepared group: hold its rows until its outcome.
    fn on_xa_prepare(&mut self, ev: &Event) {
        if let (Some(XaGroup::Prepare(xid)), Some(since)) = (self.group.xa.take(), self.group.since.take()) {
            let rows = std::mem::take(&mut self.xa_rows);
            self.xa.prepared(xid, rows, since, ev.header().timestamp());
            self.pending.push(SourceEvent::XaPrepared(self.xa.summary()));
        }
        self.end_group(ev, false);
    }

    /// `XA COMMIT` publishes the prepared rows, `XA ROLLBACK` drops them; either ends the group.
    fn on_xa_outcome(&mut self, ev: &Event, commit: bool) {
        match self.group.xa.take() {
            Some(XaGroup::Complete(xid)) if commit => match self.xa.commit(&xid) {
                Some(events) => {
                    self.group.has_rows |= !events.is_empty();
                    self.pending.extend(events);
                }
                None => tracing::warn!(
                    position = %self.position_of(ev),
                    "XA COMMIT of a transaction prepared before the stream's start: its rows are not known"
                ),
            },
            Some(XaGroup::Complete(xid)) => self.xa.rollback(&xid),
            // A one-phase XA COMMIT, or a server that logs XA whole at commit: rows went out.
            _ => {}
        }
        self.pending.push(SourceEvent::XaPrepared(self.xa.summary()));
        self.end_group(ev, false);
    }

    /// The point a restart reads from: the last group's end, or before the oldest prepared XA
    /// transaction's group while one awaits its outcome.
    fn resume_point(&self) -> Position {
        self.xa.hold().unwrap_or(&self.resume).clone()
    }

    fn on_heartbeat(&mut self, ev: &Event) {
        if self.last_progress.elapsed() >= PROGRESS_EVERY && !self.resume.file.is_empty() {
            self.push_progress(now_secs());
        }
        // The server is idle at the end of what it sent: every event before is delivered.
        let pos = u64::from(ev.header().log_pos());
        if pos > 0 && !self.file.is_empty() && !self.group.in_tx {
            self.pending.push(SourceEvent::Passed(Position { file: self.file.clone(), pos, gtid: None }));
        }
    }

    /// The end of a transaction group (XID, COMMIT, a standalone statement).
    fn end_group(&mut self, ev: &Event, force_tx_end: bool) {
        let h = ev.header();
        if let Some((domain, server_id, seq)) = self.group.mariadb_gtid {
            self.gtids.set(domain, server_id, seq);
        }
        let emit = self.group.has_rows || (force_tx_end && self.not_before.is_none());
        self.group = Group::default();
        self.groups_ended += 1;
        self.resume = Position { file: self.file.clone(), pos: h.log_pos() as u64, gtid: self.gtids.text() };
        if emit {
            self.pending.push(SourceEvent::TxEnd(TxEnd { position: self.resume_point(), ts: h.timestamp() }));
            self.resume_reported = true;
        } else {
            self.resume_reported = false;
            if self.last_progress.elapsed() >= PROGRESS_EVERY {
                self.push_progress(h.timestamp());
            }
            // Delivered through the end of a group the project skips (one mark, moved along).
            let passed = Position { file: self.file.clone(), pos: h.log_pos() as u64, gtid: None };
            match self.pending.last_mut() {
                Some(SourceEvent::Passed(p)) => *p = passed,
                _ => self.pending.push(SourceEvent::Passed(passed)),
            }
        }
    }

    fn push_progress(&mut self, ts: u32) {
        self.pending.push(SourceEvent::Progress { position: self.resume_point(), ts });
        self.resume_reported = true;
        self.last_progress = Instant::now();
    }

    fn decode_error(&self, ev: &Event, reason: String) -> SourceError {
        SourceError::Decode { position: self.position_of(ev), reason }
    }
}

/// Whether the last 4 bytes of a ROTATE's name are the event's CRC32.
fn crc_matches(ev: &Event, name: &[u8]) -> bool {
    let h = ev.header();
    let mut bytes = Vec::with_capacity(19 + ev.data().len());
    bytes.extend_from_slice(&h.timestamp().to_le_bytes());
    bytes.push(h.event_type_raw());
    bytes.extend_from_slice(&h.server_id().to_le_bytes());
    bytes.extend_from_slice(&h.event_size().to_le_bytes());
    bytes.extend_from_slice(&h.log_pos().to_le_bytes());
    bytes.extend_from_slice(&h.flags_raw().to_le_bytes());
    let data = ev.data();
    bytes.extend_from_slice(&data[..data.len() - 4]);
    let crc = crc32(&bytes);
    name[name.len() - 4..] == crc.to_le_bytes()
}

/// CRC-32 (IEEE), bitwise: only ever run on a few ROTATE events.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_states_round_trip() {
        let g = Gtids::parse(Some("1-2-30, 0-1-5")).unwrap();
        assert_eq!(g.text().as_deref(), Some("0-1-5,1-2-30"));
        assert_eq!(Gtids::parse(Some("")).unwrap().text(), None);
        assert!(Gtids::parse(Some("0-1")).is_err());
        assert!(Gtids::parse(Some("0-1-x")).is_err());
        assert!(Gtids::parse(Some("0-1-2-3")).is_err());
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_missing_file_names_the_oldest() {
        let logs = vec![
            BinlogFile { name: "bin.000002".into(), size: 500 },
            BinlogFile { name: "bin.000003".into(), size: 400 },
        ];
        match check_on_server(&logs, "bin.000001", 4) {
            Err(SourceError::PositionPurged { oldest, requested, .. }) => {
                assert_eq!(oldest, "bin.000002");
                assert_eq!(requested, "bin.000001:4");
            }
            other => panic!("{other:?}"),
        }
        assert!(check_on_server(&logs, "bin.000003", 400).is_ok());
        assert!(check_on_server(&logs, "bin.000003", 401).is_err());
    }
}
