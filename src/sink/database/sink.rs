use super::config::{DatabaseKind, DatabaseSinkConfig, META_DATABASE};
use super::ddl::{self, Fate, Replay};
use super::sql;
use crate::model::{DdlKind, DdlRecord, Op, Position, RowsBatch, TableName, TableSchema, TxEnd, Value};
use crate::sink::{Acknowledge, Permit, Sink, SinkContext, SinkError, SinkFuture, TableId, Written};
use crate::source::mysql::{connect_caching, SourceError};
use crate::source::Routes;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value as Param};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Held rows applied (inside the open target transaction) once there are this many.
const APPLY_ROWS: usize = 4096;
/// A group of source transactions commits once it holds this many rows.
const COMMIT_ROWS: usize = 20_000;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 1024;
/// Connections held rows are applied over, each in a transaction of its own: the rows of one
/// key always on the same one (lane), so per-key order holds. Lane 0 is the main connection
/// (DDL, the checkpoint row); the others commit just before it.
const LANES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Upsert,
    Delete,
}

/// Consecutive changes of one kind to one opened table, as flat statement parameters.
struct Run {
    table: TableId,
    kind: Kind,
    rows: usize,
    params: Vec<Param>,
}

/// An opened table: the target's columns it writes and the group of its target table.
struct Table {
    /// The source table's schema, as opened.
    source: Arc<TableSchema>,
    /// The target's columns this table writes (routed names), its primary key among them.
    schema: TableSchema,
    /// For each written column, the index of its value in a row image (past the image: the
    /// shard column).
    values: Vec<usize>,
    group: usize,
    /// Its rows may be spread over the lanes by key: the target table has no unique key but
    /// its primary key and no foreign key (either way), so rows of different keys never wait
    /// for one another. Otherwise they all go through lane 0.
    spread: bool,
    /// With a shard column (the last column, part of the key): the source table's name.
    shard: Option<Param>,
    /// Statement texts by kind and row count.
    statements: HashMap<(Kind, usize), Arc<str>>,
    /// A DDL statement was replayed on the target table since it was opened: fitted again
    /// before its next rows.
    stale: bool,
}

impl Table {
    fn statement(&mut self, kind: Kind, rows: usize) -> Arc<str> {
        let schema = &self.schema;
        self.statements
            .entry((kind, rows))
            .or_insert_with(|| {
                match kind {
                    Kind::Upsert => sql::upsert(schema, rows),
                    Kind::Delete => sql::delete(schema, rows),
                }
                .into()
            })
            .clone()
    }
}

/// A connection of its own for some of the held rows, and whether its transaction is open.
#[derive(Default)]
struct Lane {
    conn: Option<Conn>,
    in_tx: bool,
}

/// A replayed DDL statement: on which target, for which source table, from where in its log.
struct Mark<'a> {
    source: String,
    target: String,
    statement: String,
    file: &'a str,
    pos: u64,
}

/// Whether a DDL statement was replayed on its target (see `DatabaseSink::replayed`).
enum Replayed {
    Here,
    Elsewhere(u32),
    Not(u32),
}

/// The lane of a row with key `key`.
fn lane_of(key: impl Iterator<Item = Param>) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for v in key {
        match v {
            Param::NULL => 0u8.hash(&mut h),
            Param::Bytes(b) => b.hash(&mut h),
            Param::Int(i) => i.hash(&mut h),
            Param::UInt(u) => u.hash(&mut h),
            Param::Float(f) => f.to_bits().hash(&mut h),
            Param::Double(d) => d.to_bits().hash(&mut h),
            Param::Date(y, mo, d, hh, mi, ss, us) => (y, mo, d, hh, mi, ss, us).hash(&mut h),
            Param::Time(neg, d, hh, mi, ss, us) => (neg, d, hh, mi, ss, us).hash(&mut h),
        }
    }
    (h.finish() % LANES as u64) as usize
}

/// A [`Sink`] into a MySQL or OceanBase database (see the module's invariants).
pub struct DatabaseSink {
    config: DatabaseSinkConfig,
    project: String,
    connector: String,
    epoch: u64,
    /// The project's creation time: a checkpoint row of an earlier project of the same name
    /// is not this one's.
    incarnation: u64,
    /// Where this run resumes by the replicated checkpoint.
    resume: Position,
    acks: Arc<dyn Acknowledge>,
    routes: Arc<Routes>,
    /// Lane 0's connection.
    conn: Option<Conn>,
    /// Lanes 1.. (index 0 unused).
    lanes: Vec<Lane>,
    tables: Vec<Table>,
    /// Held runs per target table and lane, in log order: `groups[group * LANES + lane]`, the
    /// group of the i-th target seen being i.
    groups: Vec<Vec<Run>>,
    group_of: HashMap<TableName, usize>,
    held: usize,
    /// A target transaction is open (rows applied, not committed).
    in_tx: bool,
    /// Rows since the last transaction end (a source transaction in progress).
    partial: usize,
    /// Rows in the group since the last commit.
    since_commit: usize,
    /// Transaction ends in the group, not committed yet, and the last one.
    ends: Vec<u64>,
    last_end: Option<TxEnd>,
    /// The connector has read everything for now: commit at the next transaction end.
    sync_due: bool,
}

/// ER_DUP_FIELDNAME.
const DUPLICATE_COLUMN: u16 = 1060;
/// ER_BAD_FIELD_ERROR.
const UNKNOWN_COLUMN: u16 = 1054;
/// Errors of a replayed DDL statement that say the target is already as it makes it (or that
/// the table is not there yet: it is created from its rows' definition): a duplicate column
/// or key name, nothing to drop, an unknown column, database or table.
const ALREADY: [u16; 6] = [DUPLICATE_COLUMN, 1061, 1091, UNKNOWN_COLUMN, 1049, 1146];

fn db_error(e: mysql_async::Error) -> SinkError {
    match e {
        mysql_async::Error::Server(se) => match se.code {
            // Deadlock, lock wait timeout, too many connections, server shutting down.
            1213 | 1205 | 1040 | 1053 => {
                SinkError::Unavailable(format!("{} (error {})", se.message, se.code))
            }
            // Another connector (another instance's shards) replayed a DDL statement on the
            // table: fitted again on the retry.
            UNKNOWN_COLUMN => SinkError::Unavailable(format!(
                "{} (error {UNKNOWN_COLUMN}): the target table changed, reopening it",
                se.message
            )),
            code => SinkError::Refused(format!("{} (error {code})", se.message)),
        },
        other => SinkError::Unavailable(other.to_string()),
    }
}

fn source_error(e: SourceError) -> SinkError {
    if e.is_transient() {
        SinkError::Unavailable(e.to_string())
    } else {
        SinkError::Refused(e.to_string())
    }
}

impl DatabaseSink {
    pub fn new(config: DatabaseSinkConfig, ctx: SinkContext) -> Self {
        Self {
            config,
            project: ctx.project,
            connector: ctx.connector,
            epoch: ctx.epoch,
            incarnation: ctx.incarnation,
            resume: ctx.resume,
            acks: ctx.acks,
            routes: ctx.routes,
            conn: None,
            lanes: (0..LANES).map(|_| Lane::default()).collect(),
            tables: Vec::new(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            held: 0,
            in_tx: false,
            partial: 0,
            since_commit: 0,
            ends: Vec::new(),
            last_end: None,
            sync_due: false,
        }
    }

    /// The connection, opened (with the session set up) when there is none.
    async fn conn(&mut self) -> Result<&mut Conn, SinkError> {
        if self.conn.is_none() {
            self.conn = Some(open_conn(&self.config).await?);
        }
        Ok(self.conn.as_mut().expect("opened above"))
    }

    /// Forgets the connections after an error (open transactions roll back with them).
    fn reset<T>(&mut self, result: Result<T, SinkError>) -> Result<T, SinkError> {
        if result.is_err() {
            self.drop_connections();
        }
        result
    }

    fn drop_connections(&mut self) {
        self.conn = None;
        self.in_tx = false;
        for lane in &mut self.lanes {
            *lane = Lane::default();
        }
    }

    /// Commits what the lanes other than 0 applied (before a DDL statement on lane 0, which
    /// could otherwise wait for their locks, and before the checkpoint).
    async fn commit_lanes(&mut self) -> Result<(), SinkError> {
        for lane in self.lanes.iter_mut().filter(|l| l.in_tx) {
            let conn = lane.conn.as_mut().expect("a transaction is open");
            conn.query_drop("COMMIT").await.map_err(db_error)?;
            lane.in_tx = false;
        }
        Ok(())
    }
}

/// A connection to the target with the session set up.
async fn open_conn(config: &DatabaseSinkConfig) -> Result<Conn, SinkError> {
    let mut conn = connect_caching(&config.connection, STATEMENT_CACHE).await.map_err(source_error)?;
    // UTC: TIMESTAMPs are sent as their UTC time. An explicit 0 in an AUTO_INCREMENT
    // column stays 0. Zero dates are accepted as the source had them.
    conn.query_drop(
        "SET SESSION time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    )
    .await
    .map_err(db_error)?;
    if config.kind == DatabaseKind::Oceanbase {
        // A group of transactions, or one large one, may take longer than the
        // tenant's defaults (10 s a statement, 100 s a transaction).
        conn.query_drop("SET SESSION ob_query_timeout = 600000000, ob_trx_timeout = 86400000000")
            .await
            .map_err(db_error)?;
    } else {
        // Writes by key need no gap locks: fewer deadlocks with the connectors of other
        // shards writing the same table (of a sharded source's other instances).
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await.map_err(db_error)?;
    }
    Ok(conn)
}

impl DatabaseSink {
    async fn ensure_meta(&mut self) -> Result<(), SinkError> {
        let conn = self.conn().await?;
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", sql::ident(META_DATABASE)))
            .await
            .map_err(db_error)?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {}.`checkpoints` (
                `project` varchar(128) NOT NULL,
                `connector` varchar(128) NOT NULL,
                `incarnation` bigint unsigned NOT NULL,
                `epoch` bigint unsigned NOT NULL,
                `from_file` varchar(255) NOT NULL,
                `from_pos` bigint unsigned NOT NULL,
                `file` varchar(255) NOT NULL,
                `pos` bigint unsigned NOT NULL,
                `gtid` text NULL,
                `commit_ts` int unsigned NOT NULL,
                PRIMARY KEY (`project`, `connector`)
            ) DEFAULT CHARSET=utf8mb4",
            sql::ident(META_DATABASE)
        ))
        .await
        .map_err(db_error)?;
        // Each DDL statement replayed on a target table, or found there already: by the
        // source's position (a restart does not replay it twice) and, for the shards of one
        // target, by the statement and how many times that shard ran it (the second shard's
        // identical statement is recognised).
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {}.`ddl` (
                `project` varchar(128) NOT NULL,
                `connector` varchar(128) NOT NULL,
                `file` varchar(128) NOT NULL,
                `pos` bigint unsigned NOT NULL,
                `source` varchar(192) NOT NULL,
                `incarnation` bigint unsigned NOT NULL,
                `target` varchar(192) NOT NULL,
                `statement` text NOT NULL,
                `occurrence` int unsigned NOT NULL,
                `applied` tinyint NOT NULL,
                `at` datetime(6) NOT NULL,
                PRIMARY KEY (`project`, `connector`, `file`, `pos`, `source`)
            ) DEFAULT CHARSET=utf8mb4",
            sql::ident(META_DATABASE)
        ))
        .await
        .map_err(db_error)
    }

    async fn read_holds_through(&mut self) -> Result<Option<Position>, SinkError> {
        self.ensure_meta().await?;
        let (project, connector) = (self.project.clone(), self.connector.clone());
        let conn = self.conn().await?;
        let row: Option<(u64, String, u64, String, u64, Option<String>)> = conn
            .exec_first(
                format!(
                    "SELECT incarnation, from_file, from_pos, file, pos, gtid FROM {}.`checkpoints` WHERE project = ? AND connector = ?",
                    sql::ident(META_DATABASE)
                ),
                (project, connector),
            )
            .await
            .map_err(db_error)?;
        let Some((incarnation, from_file, from_pos, file, pos, gtid)) = row else { return Ok(None) };
        let from = Position { file: from_file, pos: from_pos, gtid: None };
        // Written by this project, by a run that started no later than where this one
        // resumes (a connector reset to before it replays from there).
        if incarnation != self.incarnation || from.is_after(&self.resume) {
            return Ok(None);
        }
        Ok(Some(Position { file, pos, gtid }))
    }

    async fn open_table(&mut self, schema: Arc<TableSchema>) -> Result<TableId, SinkError> {
        if !schema.has_primary_key() {
            return Err(SinkError::Refused(format!(
                "table {} has no primary key: a database destination applies changes by primary key",
                schema.name
            )));
        }
        if let Some(column) = self.routes.shard_column(&schema.name) {
            if self.routes.apply(&schema).columns.iter().any(|c| c.name.eq_ignore_ascii_case(column)) {
                return Err(SinkError::Refused(format!(
                    "table {} already has a column {column:?}: choose another shard_column for its route",
                    schema.name
                )));
            }
        }
        let table = self.fit(schema).await?;
        self.tables.push(table);
        Ok(self.tables.len() - 1)
    }

    /// Fits source table `schema` to its target table: creates the target when it is missing,
    /// adds the columns it lacks, and writes a column that a DDL statement replayed there
    /// renamed under its new name, or not at all when one dropped it (rows of a shard that has
    /// not run that statement yet).
    async fn fit(&mut self, source: Arc<TableSchema>) -> Result<Table, SinkError> {
        // DDL commits implicitly: close the group first when it holds only whole transactions
        // (else, what the other lanes applied, whose locks the DDL could wait for).
        if self.partial == 0 {
            self.commit().await?;
        } else {
            self.apply_held().await?;
            self.commit_lanes().await?;
        }
        let (layout, shard) = self.routes.database_layout(&source);
        let existing = self.target_columns(&layout.name).await?;
        let has = |name: &str| existing.iter().any(|e| e.eq_ignore_ascii_case(name));
        let mut written: Vec<(usize, String)> = Vec::new();
        if existing.is_empty() {
            let conn = self.conn().await?;
            conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", sql::ident(&layout.name.database)))
                .await
                .map_err(db_error)?;
            conn.query_drop(sql::create_table(&layout)).await.map_err(db_error)?;
            tracing::info!(table = %layout.name, source = %source.name, "created the target table");
            written.extend(layout.columns.iter().enumerate().map(|(i, c)| (i, c.name.clone())));
        } else {
            let changes = match layout.columns.iter().all(|c| has(&c.name)) {
                true => Vec::new(),
                false => self.column_history(&layout.name).await?,
            };
            for (i, col) in layout.columns.iter().enumerate() {
                if has(&col.name) {
                    written.push((i, col.name.clone()));
                    continue;
                }
                match ddl::follow(&col.name, &changes) {
                    Fate::Renamed(new) if has(&new) => written.push((i, new)),
                    Fate::Renamed(_) | Fate::Dropped => tracing::info!(
                        table = %layout.name, source = %source.name, column = %col.name,
                        "a column a DDL statement replayed on the target dropped: not written"
                    ),
                    Fate::Kept => {
                        let conn = self.conn().await?;
                        match conn.query_drop(sql::add_column(&layout.name, col)).await {
                            Ok(()) => {
                                tracing::info!(table = %layout.name, column = %col.name, "added a column to the target table")
                            }
                            // Another shard's connector added it first.
                            Err(mysql_async::Error::Server(e)) if e.code == DUPLICATE_COLUMN => {}
                            Err(e) => return Err(db_error(e)),
                        }
                        written.push((i, col.name.clone()));
                    }
                }
            }
        }
        let mut primary_key = Vec::new();
        for &k in &layout.primary_key {
            match written.iter().position(|&(i, _)| i == k) {
                Some(j) => primary_key.push(j),
                None => {
                    return Err(SinkError::Refused(format!(
                        "target table {} has no column {} of the primary key of {}",
                        layout.name, layout.columns[k].name, source.name
                    )))
                }
            }
        }
        let columns = written
            .iter()
            .map(|(i, name)| crate::model::Column { name: name.clone(), ..layout.columns[*i].clone() })
            .collect();
        let values = written.iter().map(|&(i, _)| i).collect();
        let spread = self.spreadable(&layout.name).await?;
        let groups = self.groups.len() / LANES;
        let group = *self.group_of.entry(layout.name.clone()).or_insert(groups);
        if group == groups {
            self.groups.extend((0..LANES).map(|_| Vec::new()));
        }
        let schema = TableSchema { columns, primary_key, ..layout };
        let shard = shard.map(Param::from);
        Ok(Table { source, schema, values, group, spread, shard, statements: HashMap::new(), stale: false })
    }

    /// Fits an opened table again (a DDL statement was replayed on its target).
    async fn refit(&mut self, table: TableId) -> Result<(), SinkError> {
        let source = self.tables[table].source.clone();
        self.tables[table] = self.fit(source).await?;
        Ok(())
    }

    /// The column renames and drops of the DDL statements replayed on target table `name`, in
    /// the order they ran.
    async fn column_history(&mut self, name: &TableName) -> Result<Vec<ddl::ColumnChange>, SinkError> {
        self.ensure_meta().await?;
        let (project, incarnation) = (self.project.clone(), self.incarnation);
        let conn = self.conn().await?;
        let statements: Vec<String> = conn
            .exec(
                format!(
                    "SELECT statement FROM {}.`ddl` WHERE project = ? AND incarnation = ? AND target = ? AND applied = 1 ORDER BY at",
                    sql::ident(META_DATABASE)
                ),
                (project, incarnation, name.to_string()),
            )
            .await
            .map_err(db_error)?;
        Ok(statements.iter().flat_map(|s| ddl::column_changes(s)).collect())
    }

    /// Whether rows of target table `name` may be applied over several lanes: no unique key
    /// but the primary key (rows of two keys could then conflict), no foreign key to or from it.
    async fn spreadable(&mut self, name: &TableName) -> Result<bool, SinkError> {
        let conn = self.conn().await?;
        let (db, table) = (name.database.clone(), name.table.clone());
        let unique: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
                (db.clone(), table.clone()),
            )
            .await
            .map_err(db_error)?;
        let foreign: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL \
                 AND ((TABLE_SCHEMA = ? AND TABLE_NAME = ?) OR (REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?))",
                (db.clone(), table.clone(), db, table),
            )
            .await
            .map_err(db_error)?;
        let spread = unique == Some(0) && foreign == Some(0);
        if !spread {
            tracing::info!(table = %name, "target table with other unique or foreign keys: its rows are applied on one connection");
        }
        Ok(spread)
    }

    async fn target_columns(&mut self, name: &TableName) -> Result<Vec<String>, SinkError> {
        let conn = self.conn().await?;
        conn.exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (name.database.clone(), name.table.clone()),
        )
        .await
        .map_err(db_error)
    }

    /// Holds `batch`'s changes in its table's runs.
    fn hold(&mut self, table: TableId, batch: &RowsBatch) {
        let t = &self.tables[table];
        let (schema, values, shard, spread) = (&t.schema, &t.values, &t.shard, t.spread);
        let lanes = &mut self.groups[t.group * LANES..(t.group + 1) * LANES];
        // The value of written column `i`: the row's, or the shard column's after them.
        let value = |image: &[Value], i: usize| match image.get(values[i]) {
            Some(v) => sql::param(&schema.columns[i], v),
            None => shard.clone().unwrap_or(Param::NULL),
        };
        let mut push = |kind: Kind, image: &[Value]| {
            let lane = match spread {
                true => lane_of(schema.primary_key.iter().map(|&i| value(image, i))),
                false => 0,
            };
            let runs = &mut lanes[lane];
            let run = match runs.last_mut() {
                Some(run) if run.table == table && run.kind == kind => run,
                _ => {
                    runs.push(Run { table, kind, rows: 0, params: Vec::new() });
                    runs.last_mut().expect("pushed")
                }
            };
            run.rows += 1;
            match kind {
                Kind::Upsert => run.params.extend((0..schema.columns.len()).map(|i| value(image, i))),
                Kind::Delete => run.params.extend(schema.primary_key.iter().map(|&i| value(image, i))),
            }
        };
        for row in &batch.rows {
            match (batch.op, row.before.as_deref(), row.after.as_deref()) {
                (Op::Insert | Op::Read, _, Some(after)) => push(Kind::Upsert, after),
                (Op::Delete, Some(before), _) => push(Kind::Delete, before),
                (Op::Update, Some(before), Some(after)) => {
                    if schema.primary_key.iter().any(|&i| before.get(values[i]) != after.get(values[i])) {
                        push(Kind::Delete, before);
                    }
                    push(Kind::Upsert, after);
                }
                (Op::Update, None, Some(after)) => push(Kind::Upsert, after),
                _ => {}
            }
        }
        let n = batch.rows.len();
        self.held += n;
        self.partial += n;
        self.since_commit += n;
    }

    /// Applies every held run inside the target transaction (opening it).
    async fn apply_held(&mut self) -> Result<(), SinkError> {
        if self.held == 0 {
            return Ok(());
        }
        self.begin().await?;
        let mut groups = std::mem::take(&mut self.groups);
        let result = self.apply_runs(&mut groups).await;
        for group in &mut groups {
            group.clear();
        }
        self.groups = groups;
        self.held = 0;
        result
    }

    /// Applies the runs, each lane's on its connection (opened, its transaction begun, when it
    /// has some), the lanes at once.
    async fn apply_runs(&mut self, groups: &mut [Vec<Run>]) -> Result<(), SinkError> {
        let mut statements: Vec<Vec<(Arc<str>, Vec<Param>)>> = (0..LANES).map(|_| Vec::new()).collect();
        for (i, runs) in groups.iter_mut().enumerate() {
            for run in runs.drain(..) {
                let table = &mut self.tables[run.table];
                let width = run.params.len() / run.rows.max(1);
                let max = sql::rows_per_statement(width);
                let mut params = run.params.into_iter();
                for size in sql::chunks(run.rows, max) {
                    statements[i % LANES].push((
                        table.statement(run.kind, size),
                        params.by_ref().take(size * width).collect::<Vec<_>>(),
                    ));
                }
            }
        }
        for (lane, todo) in statements.iter().enumerate().skip(1) {
            let lane = &mut self.lanes[lane];
            if todo.is_empty() || lane.in_tx {
                continue;
            }
            if lane.conn.is_none() {
                lane.conn = Some(open_conn(&self.config).await?);
            }
            lane.conn.as_mut().expect("opened above").query_drop("BEGIN").await.map_err(db_error)?;
            lane.in_tx = true;
        }
        // Each lane's connection goes with its statements, and comes back.
        let mut work = Vec::new();
        for (lane, todo) in statements.into_iter().enumerate().filter(|(_, todo)| !todo.is_empty()) {
            let conn = match lane {
                0 => self.conn.take(),
                _ => self.lanes[lane].conn.take(),
            };
            work.push((lane, conn.expect("a transaction is open on every lane with statements"), todo));
        }
        let applied =
            futures_util::future::join_all(work.into_iter().map(|(lane, mut conn, todo)| async move {
                for (statement, params) in todo {
                    if let Err(e) = conn.exec_drop(&*statement, params).await {
                        return (lane, conn, Err(db_error(e)));
                    }
                }
                (lane, conn, Ok(()))
            }))
            .await;
        let mut outcome = Ok(());
        for (lane, conn, result) in applied {
            match lane {
                0 => self.conn = Some(conn),
                _ => self.lanes[lane].conn = Some(conn),
            }
            outcome = outcome.and(result);
        }
        outcome
    }

    async fn begin(&mut self) -> Result<(), SinkError> {
        if !self.in_tx {
            self.conn().await?.query_drop("BEGIN").await.map_err(db_error)?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Commits the group's whole transactions with the checkpoint of the last, then
    /// acknowledges their ends. Nothing to do without a transaction end.
    async fn commit(&mut self) -> Result<(), SinkError> {
        let Some(end) = self.last_end.clone() else { return Ok(()) };
        if self.ends.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(self.partial, 0, "only whole transactions commit");
        self.apply_held().await?;
        self.begin().await?;
        let meta = sql::ident(META_DATABASE);
        let (project, connector, epoch, incarnation) =
            (self.project.clone(), self.connector.clone(), self.epoch, self.incarnation);
        let resume = self.resume.clone();
        let conn = self.conn.as_mut().expect("a transaction is open");
        let newer: Option<(u64, u64)> = conn
            .exec_first(
                format!("SELECT incarnation, epoch FROM {meta}.`checkpoints` WHERE project = ? AND connector = ? FOR UPDATE"),
                (project.clone(), connector.clone()),
            )
            .await
            .map_err(db_error)?;
        if let Some((their_incarnation, their_epoch)) = newer {
            if (their_incarnation, their_epoch) > (incarnation, epoch) {
                tracing::warn!(
                    project,
                    connector,
                    epoch,
                    their_epoch,
                    "a newer run writes to this target: stopping"
                );
                return Err(SinkError::Revoked);
            }
        }
        conn.exec_drop(
            format!(
                "INSERT INTO {meta}.`checkpoints` (project, connector, incarnation, epoch, from_file, from_pos, file, pos, gtid, commit_ts)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE incarnation = VALUES(incarnation), epoch = VALUES(epoch), from_file = VALUES(from_file),
                 from_pos = VALUES(from_pos), file = VALUES(file), pos = VALUES(pos), gtid = VALUES(gtid), commit_ts = VALUES(commit_ts)"
            ),
            vec![
                Param::from(project),
                Param::from(connector),
                Param::from(incarnation),
                Param::from(epoch),
                Param::from(resume.file),
                Param::from(resume.pos),
                Param::from(end.position.file),
                Param::from(end.position.pos),
                Param::from(end.position.gtid),
                Param::from(end.ts),
            ],
        )
        .await
        .map_err(db_error)?;
        // The lanes' rows first: a checkpoint never claims rows not committed (a crash in
        // between replays them from the previous one, idempotently).
        self.commit_lanes().await?;
        let conn = self.conn.as_mut().expect("a transaction is open");
        conn.query_drop("COMMIT").await.map_err(db_error)?;
        self.in_tx = false;
        self.since_commit = 0;
        self.sync_due = false;
        for seq in self.ends.drain(..) {
            self.acks.ack(seq);
        }
        Ok(())
    }

    /// ALTER TABLE, CREATE INDEX and DROP INDEX are replayed on the target table (once for
    /// the shards of one target); a TRUNCATE empties the target table when it is that source
    /// table's alone; tables are created from their rows' definition; other statements are
    /// not replayed.
    async fn apply_ddl(&mut self, ddl: &DdlRecord, permit: &dyn Permit) -> Result<(), SinkError> {
        match ddl.kind {
            DdlKind::TruncateTable => self.truncate(ddl, permit).await,
            DdlKind::AlterTable | DdlKind::CreateIndex | DdlKind::DropIndex => self.replay(ddl, permit).await,
            _ => {
                tracing::info!(project = %self.project, sql = %ddl.sql, "DDL on a synced table: not replayed on the target");
                Ok(())
            }
        }
    }

    async fn replay(&mut self, ddl: &DdlRecord, permit: &dyn Permit) -> Result<(), SinkError> {
        // A DDL statement is a transaction of its own: what came before is whole.
        self.commit_under(permit).await?;
        for name in &ddl.tables {
            let target = self.routes.target(name);
            let columns = self.routes.columns(name);
            let shard_key = self.routes.shard_column(name).is_some();
            let statement = match ddl::replay(&ddl.sql, &ddl.database, &target, &columns, shard_key) {
                Replay::Run(statement) => statement,
                Replay::Skip(why) => {
                    tracing::info!(project = %self.project, table = %name, sql = %ddl.sql, why, "DDL not replayed on the target");
                    continue;
                }
            };
            let mark = Mark {
                source: name.to_string(),
                target: target.to_string(),
                statement,
                file: &ddl.file,
                pos: ddl.pos,
            };
            match self.replayed(&mark).await? {
                Replayed::Here => continue,
                Replayed::Elsewhere(occurrence) => {
                    tracing::info!(project = %self.project, table = %target, source = %name, statement = %mark.statement,
                        "DDL already replayed on the target for another of its source tables");
                    self.record(&mark, occurrence, false).await?;
                }
                Replayed::Not(occurrence) => {
                    if !permit.granted() {
                        return Err(SinkError::Revoked);
                    }
                    self.run_ddl(&mark).await?;
                    self.record(&mark, occurrence, true).await?;
                }
            }
            for table in self.tables.iter_mut().filter(|t| t.schema.name == target) {
                table.stale = true;
            }
        }
        // Checkpointed at the statement's own end.
        self.sync_due = true;
        Ok(())
    }

    /// Whether `mark`'s statement was replayed on its target already: by this connector for
    /// this position (before a restart), or for another source table as often as this one
    /// has now run it. Else, the how-manieth time this source table runs it.
    async fn replayed(&mut self, mark: &Mark<'_>) -> Result<Replayed, SinkError> {
        self.ensure_meta().await?;
        let (project, connector, incarnation) =
            (self.project.clone(), self.connector.clone(), self.incarnation);
        let conn = self.conn().await?;
        let rows: Vec<(String, String, u64, String, u32)> = conn
            .exec(
                format!(
                    "SELECT connector, file, pos, source, occurrence FROM {}.`ddl` \
                     WHERE project = ? AND incarnation = ? AND target = ? AND statement = ?",
                    sql::ident(META_DATABASE)
                ),
                (project, incarnation, mark.target.clone(), mark.statement.clone()),
            )
            .await
            .map_err(db_error)?;
        let own = |r: &&(String, String, u64, String, u32)| r.0 == connector && r.3 == mark.source;
        if rows.iter().filter(own).any(|r| r.1 == mark.file && r.2 == mark.pos) {
            return Ok(Replayed::Here);
        }
        let occurrence = rows.iter().filter(own).count() as u32 + 1;
        Ok(match rows.iter().any(|r| r.4 == occurrence) {
            true => Replayed::Elsewhere(occurrence),
            false => Replayed::Not(occurrence),
        })
    }

    async fn record(&mut self, mark: &Mark<'_>, occurrence: u32, applied: bool) -> Result<(), SinkError> {
        let params = vec![
            Param::from(self.project.clone()),
            Param::from(self.connector.clone()),
            Param::from(mark.file),
            Param::from(mark.pos),
            Param::from(mark.source.clone()),
            Param::from(self.incarnation),
            Param::from(mark.target.clone()),
            Param::from(mark.statement.clone()),
            Param::from(occurrence),
            Param::from(applied as u8),
        ];
        let conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "INSERT INTO {}.`ddl` (project, connector, file, pos, source, incarnation, target, statement, occurrence, applied, at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE incarnation = VALUES(incarnation), \
                 target = VALUES(target), statement = VALUES(statement), occurrence = VALUES(occurrence), \
                 applied = VALUES(applied), at = VALUES(at)",
                sql::ident(META_DATABASE)
            ),
            params,
        )
        .await
        .map_err(db_error)
    }

    /// Runs a replayed statement; the target already being as it makes it is no error.
    async fn run_ddl(&mut self, mark: &Mark<'_>) -> Result<(), SinkError> {
        let project = self.project.clone();
        let conn = self.conn().await?;
        match conn.query_drop(&mark.statement).await {
            Ok(()) => {
                tracing::info!(project, table = %mark.target, source = %mark.source, statement = %mark.statement, "replayed DDL on the target");
                Ok(())
            }
            Err(mysql_async::Error::Server(e)) if ALREADY.contains(&e.code) => {
                tracing::info!(project, table = %mark.target, statement = %mark.statement, error = %e.message,
                    "DDL replayed on the target changed nothing: it is so already");
                Ok(())
            }
            Err(mysql_async::Error::Server(e)) => Err(SinkError::Refused(format!(
                "the target refused {:?}, replaying DDL of {}: {} (error {})",
                mark.statement, mark.source, e.message, e.code
            ))),
            Err(e) => Err(db_error(e)),
        }
    }

    /// A TRUNCATE: the target table emptied when it is the source table's alone, or the
    /// shard's own rows deleted when a shard column tells them apart.
    async fn truncate(&mut self, ddl: &DdlRecord, permit: &dyn Permit) -> Result<(), SinkError> {
        // A DDL statement is a transaction of its own: what came before is whole.
        self.commit_under(permit).await?;
        for name in &ddl.tables {
            let target = self.routes.target(name);
            let (statement, params) = match (self.routes.merges(name), self.routes.shard_column(name)) {
                (false, _) => (format!("TRUNCATE TABLE {}", sql::table(&target)), vec![]),
                // The shard's own rows, when the target knows them.
                (true, Some(column)) => (
                    format!("DELETE FROM {} WHERE {} = ?", sql::table(&target), sql::ident(column)),
                    vec![Param::from(name.to_string())],
                ),
                (true, None) => {
                    tracing::warn!(project = %self.project, table = %name, "TRUNCATE of a shard merged with others and no shard column: not applied to the target");
                    continue;
                }
            };
            if self.target_columns(&target).await?.is_empty() {
                continue;
            }
            let conn = self.conn().await?;
            match params.is_empty() {
                true => conn.query_drop(&statement).await,
                false => conn.exec_drop(&statement, params).await,
            }
            .map_err(db_error)?;
            tracing::info!(project = %self.project, table = %target, source = %name, "applied a TRUNCATE to the target table");
        }
        Ok(())
    }

    async fn write_rows(
        &mut self,
        table: TableId,
        batch: &RowsBatch,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        if self.tables[table].stale {
            let fitted = self.refit(table).await;
            self.reset(fitted)?;
        }
        self.hold(table, batch);
        if self.held >= APPLY_ROWS {
            if !permit.granted() {
                return Err(SinkError::Revoked);
            }
            let applied = self.apply_held().await;
            self.reset(applied)?;
        }
        // Delivered with their transaction's end.
        Ok(Written::default())
    }

    async fn write_end(&mut self, end: &TxEnd, seq: u64, permit: &dyn Permit) -> Result<Written, SinkError> {
        self.partial = 0;
        self.ends.push(seq);
        self.last_end = Some(end.clone());
        if self.sync_due || self.since_commit >= COMMIT_ROWS {
            self.commit_under(permit).await?;
        }
        Ok(Written { deliveries: 1, bytes: 0 })
    }

    async fn commit_under(&mut self, permit: &dyn Permit) -> Result<(), SinkError> {
        let committed = match permit.granted() {
            true => self.commit().await,
            false => Err(SinkError::Revoked),
        };
        self.reset(committed)
    }

    async fn write_sync(&mut self, permit: &dyn Permit) -> Result<(), SinkError> {
        if self.ends.is_empty() {
            return Ok(());
        }
        if self.partial == 0 {
            self.commit_under(permit).await
        } else {
            self.sync_due = true;
            Ok(())
        }
    }
}

impl Sink for DatabaseSink {
    fn open(&mut self, schema: Arc<TableSchema>) -> SinkFuture<'_, TableId> {
        Box::pin(async move {
            let opened = self.open_table(schema).await;
            self.reset(opened)
        })
    }

    fn rows<'a>(
        &'a mut self,
        table: TableId,
        batch: &'a RowsBatch,
        _seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        Box::pin(self.write_rows(table, batch, permit))
    }

    fn ddl<'a>(
        &'a mut self,
        ddl: &'a DdlRecord,
        _seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        Box::pin(async move {
            let applied = self.apply_ddl(ddl, permit).await;
            self.reset(applied)?;
            Ok(Written::default())
        })
    }

    fn end<'a>(
        &'a mut self,
        end: &'a TxEnd,
        _heartbeat: bool,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        Box::pin(self.write_end(end, seq, permit))
    }

    fn sync<'a>(&'a mut self, permit: &'a dyn Permit) -> SinkFuture<'a, ()> {
        Box::pin(self.write_sync(permit))
    }

    fn flush(&mut self, _timeout: Duration) -> SinkFuture<'_, ()> {
        Box::pin(async move {
            if self.partial > 0 || self.ends.is_empty() {
                return Ok(());
            }
            let committed = self.commit().await;
            self.reset(committed)
        })
    }

    fn abandon(&mut self) {
        // Dropping the connections rolls back whatever is open.
        self.drop_connections();
        self.ends.clear();
    }

    fn holds_through(&mut self) -> SinkFuture<'_, Option<Position>> {
        Box::pin(async move {
            let held = self.read_holds_through().await;
            self.reset(held)
        })
    }
}
