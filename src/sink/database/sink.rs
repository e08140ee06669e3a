use super::config::{DatabaseKind, DatabaseSinkConfig, META_DATABASE};
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

/// An opened table: the target's schema (routed) and the group of its target table.
struct Table {
    schema: TableSchema,
    group: usize,
    /// Its rows may be spread over the lanes by key: the target table has no unique key but
    /// its primary key and no foreign key (either way), so rows of different keys never wait
    /// for one another. Otherwise they all go through lane 0.
    spread: bool,
    /// With a shard column (the last column, part of the key): the source table's name.
    shard: Option<Param>,
    /// Statement texts by kind and row count.
    statements: HashMap<(Kind, usize), Arc<str>>,
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

fn db_error(e: mysql_async::Error) -> SinkError {
    match e {
        mysql_async::Error::Server(se) => match se.code {
            // Deadlock, lock wait timeout, too many connections, server shutting down.
            1213 | 1205 | 1040 | 1053 => {
                SinkError::Unavailable(format!("{} (error {})", se.message, se.code))
            }
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
        let (target, shard) = self.routes.database_layout(&schema);
        if let Some(column) = self.routes.shard_column(&schema.name) {
            let (own, _) = target.columns.split_at(target.columns.len() - 1);
            if own.iter().any(|c| c.name.eq_ignore_ascii_case(column)) {
                return Err(SinkError::Refused(format!(
                    "table {} already has a column {column:?}: choose another shard_column for its route",
                    schema.name
                )));
            }
        }
        let shard = shard.map(Param::from);
        // DDL commits implicitly: close the group first when it holds only whole transactions
        // (else, what the other lanes applied, whose locks the DDL could wait for).
        if self.partial == 0 {
            self.commit().await?;
        } else {
            self.apply_held().await?;
            self.commit_lanes().await?;
        }
        let existing = self.target_columns(&target.name).await?;
        let conn = self.conn().await?;
        if existing.is_empty() {
            conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", sql::ident(&target.name.database)))
                .await
                .map_err(db_error)?;
            conn.query_drop(sql::create_table(&target)).await.map_err(db_error)?;
            tracing::info!(table = %target.name, source = %schema.name, "created the target table");
        } else {
            for col in
                target.columns.iter().filter(|c| !existing.iter().any(|e| e.eq_ignore_ascii_case(&c.name)))
            {
                match conn.query_drop(sql::add_column(&target.name, col)).await {
                    Ok(()) => {
                        tracing::info!(table = %target.name, column = %col.name, "added a column to the target table")
                    }
                    // Another shard's connector added it first.
                    Err(mysql_async::Error::Server(e)) if e.code == DUPLICATE_COLUMN => {}
                    Err(e) => return Err(db_error(e)),
                }
            }
        }
        let spread = self.spreadable(&target.name).await?;
        let groups = self.groups.len() / LANES;
        let group = *self.group_of.entry(target.name.clone()).or_insert(groups);
        if group == groups {
            self.groups.extend((0..LANES).map(|_| Vec::new()));
        }
        self.tables.push(Table { schema: target, group, spread, shard, statements: HashMap::new() });
        Ok(self.tables.len() - 1)
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
        let (schema, shard, spread) = (&t.schema, &t.shard, t.spread);
        let lanes = &mut self.groups[t.group * LANES..(t.group + 1) * LANES];
        // The value of column `i`: the row's, or the shard column's after them.
        let value = |image: &[Value], i: usize| match image.get(i) {
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
                (Op::Insert, _, Some(after)) => push(Kind::Upsert, after),
                (Op::Delete, Some(before), _) => push(Kind::Delete, before),
                (Op::Update, Some(before), Some(after)) => {
                    if schema.primary_key.iter().any(|&i| before.get(i) != after.get(i)) {
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

    /// Column additions reach the target when rows of the new definition arrive (`open`
    /// compares); a TRUNCATE empties the target table when it is that source table's alone;
    /// other statements are not replayed on the target.
    async fn apply_ddl(&mut self, ddl: &DdlRecord, permit: &dyn Permit) -> Result<(), SinkError> {
        if ddl.kind != DdlKind::TruncateTable {
            tracing::info!(project = %self.project, sql = %ddl.sql, "DDL on a synced table: the target follows added columns only");
            return Ok(());
        }
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
