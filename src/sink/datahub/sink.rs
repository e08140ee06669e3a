use super::batch::{self, Batch, RECORD_MAX};
use super::client::{Client, Field};
use super::config::{DatahubSinkConfig, RecordType};
use super::tuple::{self, Layout};
use super::{names, shards};
use crate::codec::{self, split_row, DdlTopic, Encoder, Message, RowChange};
use crate::meta::Partition;
use crate::model::{DdlRecord, Op, RowsBatch, TableSchema, TxEnd};
use crate::pipeline::connector::now_ms;
use crate::sink::{Acknowledge, Permit, Sink, SinkContext, SinkError, SinkFuture, TableId, Written};
use crate::source::{Routes, TableFilter};
use futures_util::StreamExt as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queued bytes over every shard past which everything is sent at once.
const HELD_MAX: usize = 16 << 20;
/// PutRecords requests in flight at once (to different shards).
const PARALLEL: usize = 8;
/// Tries of a request before the sink gives up (within the delivery timeout).
const ATTEMPTS: u32 = 6;
/// How long a request in flight may still take once the connector is stopping.
const STOP_GRACE: Duration = Duration::from_millis(1500);
/// How long a topic Ferry created may take to have its shards ACTIVE.
const SHARDS_READY: Duration = Duration::from_secs(30);

/// A DataHub topic the sink writes to.
struct Topic {
    /// DataHub's name of it.
    name: String,
    /// The name Ferry's rules gave it (two different ones may not share a topic).
    origin: String,
    /// ACTIVE shard ids in id order.
    shards: Vec<String>,
    /// A TUPLE topic's fields, as DataHub holds them.
    fields: Vec<Field>,
    /// Raised with every field appended: layouts made before are made again.
    version: u64,
    /// Records waiting, per shard (same index as `shards`).
    batches: Vec<Batch>,
}

/// A table the sink opened.
struct Table {
    /// Its schema, as routed (the names its records carry).
    schema: Arc<TableSchema>,
    topic: usize,
    /// TUPLE: how its rows fill the topic's fields, and the topic's version it was made for
    /// (none yet: made at the first rows).
    layout: Option<(Arc<Layout>, u64)>,
    /// `database.table`, what the `table` rule hashes.
    table_key: String,
}

/// Where a queued record goes, and the change log record it is of.
struct Place {
    topic: usize,
    shard: usize,
    seq: u64,
}

/// The records of change log record `seq` for a table's topic.
struct Target<'a> {
    topic: usize,
    /// `database.table`, what the `table` rule hashes.
    table_key: &'a str,
    seq: u64,
}

/// A [`Sink`] into DataHub topics (see the module's invariants).
pub struct DatahubSink {
    client: Client,
    mode: RecordType,
    /// BLOB: the connector's format. `Send` but not `Sync`: methods that wait take `&mut self`,
    /// so their futures are `Send`.
    encoder: Box<dyn Encoder>,
    project: String,
    filter: Arc<TableFilter>,
    /// The connector's topic pattern; none: the objects' own.
    topic_pattern: Option<String>,
    routes: Arc<Routes>,
    split_key_updates: bool,
    partition: Partition,
    /// Shards of topics Ferry creates.
    shard_count: u32,
    /// Days the topics Ferry creates keep their records.
    lifecycle_days: u32,
    /// Where a record over DataHub's 1 MiB goes, by name and (once resolved) index.
    dead_letter_topic: Option<String>,
    dead_letters: Option<usize>,
    acks: Arc<dyn Acknowledge>,
    /// The run's placement epoch, in every record's attributes.
    epoch: Arc<str>,
    delivery_timeout: Duration,
    topics: Vec<Topic>,
    /// Topic index by DataHub name, lowercased (names compare without case).
    by_name: HashMap<String, usize>,
    tables: Vec<Table>,
    heartbeat: Option<usize>,
    /// Bytes queued over every shard.
    held: usize,
    /// The messages of the change being written (reused).
    out: Vec<Message>,
}

impl DatahubSink {
    pub fn new(client: Client, config: &DatahubSinkConfig, ctx: SinkContext) -> Self {
        Self {
            client,
            mode: config.record_type,
            lifecycle_days: config.lifecycle_days,
            dead_letter_topic: config.dead_letter_topic.clone(),
            dead_letters: None,
            encoder: codec::encoder(ctx.format, ctx.codec),
            project: ctx.project,
            filter: ctx.filter,
            topic_pattern: ctx.topic,
            routes: ctx.routes,
            split_key_updates: ctx.split_key_updates,
            partition: ctx.partition,
            shard_count: ctx.topic_partitions.max(1),
            acks: ctx.acks,
            epoch: ctx.epoch.to_string().into(),
            delivery_timeout: ctx.delivery_timeout,
            topics: Vec::new(),
            by_name: HashMap::new(),
            tables: Vec::new(),
            heartbeat: None,
            held: 0,
            out: Vec::new(),
        }
    }

    /// The topic Ferry's rules name `origin`, created when missing (a TUPLE topic with the
    /// fields of `schema`'s rows).
    async fn topic(&mut self, origin: &str, schema: Option<&TableSchema>) -> Result<usize, SinkError> {
        let name = names::topic(origin).map_err(SinkError::Refused)?;
        let key = name.to_ascii_lowercase();
        let index = match self.by_name.get(&key) {
            Some(&i) if self.topics[i].origin != origin => {
                return Err(SinkError::Refused(format!(
                "topics {:?} and {origin:?} are both DataHub topic {name}: give one another topic pattern",
                self.topics[i].origin
            )))
            }
            Some(&i) => i,
            None => {
                let topic = self.resolve(origin, name, self.mode, schema).await?;
                self.topics.push(topic);
                self.by_name.insert(key, self.topics.len() - 1);
                self.topics.len() - 1
            }
        };
        Ok(index)
    }

    /// The dead-letter topic (a BLOB topic, created when missing), if the data source names one.
    async fn dead_letters(&mut self) -> Result<Option<usize>, SinkError> {
        if let Some(index) = self.dead_letters {
            return Ok(Some(index));
        }
        let Some(name) = self.dead_letter_topic.clone() else { return Ok(None) };
        let key = name.to_ascii_lowercase();
        let index = match self.by_name.get(&key) {
            Some(&i) if self.topics[i].fields.is_empty() => i,
            Some(_) => {
                return Err(SinkError::Refused(format!(
                    "dead-letter topic {name} is also a TUPLE topic of the synced tables: name another"
                )))
            }
            None => {
                let topic =
                    self.resolve(&format!("dead letters {name}"), name, RecordType::Blob, None).await?;
                self.topics.push(topic);
                self.by_name.insert(key, self.topics.len() - 1);
                self.topics.len() - 1
            }
        };
        self.dead_letters = Some(index);
        Ok(Some(index))
    }

    /// Creates topic `name`, of `record_type` records, unless it exists, and reads what
    /// DataHub holds of it.
    async fn resolve(
        &mut self,
        origin: &str,
        name: String,
        record_type: RecordType,
        schema: Option<&TableSchema>,
    ) -> Result<Topic, SinkError> {
        let fields = match (record_type, schema) {
            (RecordType::Tuple, Some(schema)) => tuple::fields(schema).map_err(SinkError::Refused)?,
            (RecordType::Tuple, None) => {
                return Err(SinkError::Refused(format!("a TUPLE topic ({name}) needs a table's columns")))
            }
            (RecordType::Blob, _) => Vec::new(),
        };
        let comment = format!("ferry: {origin}");
        let created = self
            .client
            .create_topic(&name, self.shard_count, self.lifecycle_days, record_type, &fields, &comment)
            .await;
        match created {
            Ok(()) => {
                tracing::info!(project = %self.project, topic = %name, shards = self.shard_count, record_type = super::config::wire_name(record_type), lifecycle_days = self.lifecycle_days, "created datahub topic")
            }
            Err(e) if e.code() == "TopicAlreadyExist" => {}
            Err(e) => {
                return Err(
                    e.into_sink(&format!("creating topic {name} in project {}", self.client.project()))
                )
            }
        }
        let info =
            self.client.get_topic(&name).await.map_err(|e| e.into_sink(&format!("reading topic {name}")))?;
        if info.record_type != super::config::wire_name(record_type) {
            return Err(SinkError::Refused(format!(
                "datahub topic {name} holds {} records; Ferry writes {} records to it",
                info.record_type,
                super::config::wire_name(record_type)
            )));
        }
        let shards = self.active_shards(&name).await?;
        let batches = shards.iter().map(|_| Batch::default()).collect();
        Ok(Topic { name, origin: origin.to_string(), shards, fields: info.fields, version: 0, batches })
    }

    /// The topic's ACTIVE shards, once none is still opening.
    async fn active_shards(&mut self, topic: &str) -> Result<Vec<String>, SinkError> {
        let start = Instant::now();
        loop {
            let listed = self
                .client
                .list_shards(topic)
                .await
                .map_err(|e| e.into_sink(&format!("listing shards of {topic}")))?;
            let active = shards::active(&listed);
            if !active.is_empty() && listed.iter().all(|s| s.state != "OPENING") {
                return Ok(active);
            }
            if start.elapsed() > SHARDS_READY {
                return Err(SinkError::Unavailable(format!("datahub topic {topic} has no ACTIVE shard")));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// How rows of TUPLE table `table` fill its topic's fields now. The fields its columns
    /// need and the topic lacks (a column added to the table, a table merged into the topic by
    /// a route) are appended first, after the records queued for the topic are sent: those
    /// have the fields as they were.
    async fn layout(&mut self, table: TableId, permit: &dyn Permit) -> Result<Arc<Layout>, SinkError> {
        let index = self.tables[table].topic;
        if let Some((layout, version)) = &self.tables[table].layout {
            if *version == self.topics[index].version {
                return Ok(layout.clone());
            }
        }
        let schema = self.tables[table].schema.clone();
        let wanted = tuple::fields(&schema).map_err(SinkError::Refused)?;
        let missing: Vec<Field> = wanted
            .into_iter()
            .filter(|f| !self.topics[index].fields.iter().any(|have| names::same(&have.name, &f.name)))
            .collect();
        if !missing.is_empty() {
            self.send_topic(index, permit).await?;
            for field in missing {
                self.append_field(index, field).await?;
            }
            self.topics[index].version += 1;
        }
        let topic = &self.topics[index];
        let layout = Arc::new(
            Layout::new(&topic.fields, &schema)
                .map_err(|e| SinkError::Refused(format!("datahub topic {}: {e}", topic.name)))?,
        );
        self.tables[table].layout = Some((layout.clone(), topic.version));
        Ok(layout)
    }

    /// AppendField `field` to topic `index`.
    async fn append_field(&mut self, index: usize, field: Field) -> Result<(), SinkError> {
        let name = self.topics[index].name.clone();
        if let Err(e) = self.client.append_field(&name, &field).await {
            // Another connector may have appended it first.
            let info = self
                .client
                .get_topic(&name)
                .await
                .map_err(|e| e.into_sink(&format!("reading topic {name}")))?;
            if !info.fields.iter().any(|f| names::same(&f.name, &field.name)) {
                return Err(e.into_sink(&format!("appending field {} to topic {name}", field.name)));
            }
        }
        tracing::info!(project = %self.project, topic = %name, field = %field.name, "appended a field to the datahub topic");
        self.topics[index].fields.push(field);
        Ok(())
    }

    async fn open_table(&mut self, schema: Arc<TableSchema>) -> Result<TableId, SinkError> {
        let source = schema.name.clone();
        // Records name the table and columns as routed.
        let schema = match self.routes.is_empty() {
            true => schema,
            false => Arc::new(self.routes.apply(&schema)),
        };
        let origin = self
            .filter
            .topic_routed(&source, &schema.name, self.topic_pattern.as_deref())
            .ok_or_else(|| SinkError::Refused(format!("table {source} is not synced")))?;
        if self.mode == RecordType::Tuple {
            // Refuses columns DataHub cannot take before anything is written.
            tuple::fields(&schema).map_err(SinkError::Refused)?;
        }
        let topic = self.topic(&origin, Some(&schema)).await?;
        let table_key = format!("{}.{}", schema.name.database, schema.name.table);
        self.tables.push(Table { schema, topic, layout: None, table_key });
        Ok(self.tables.len() - 1)
    }

    /// Queues a record of `data` (its JSON; `data_bytes` of values) and `attributes`, sending
    /// its shard's batch first when it would not fit. One over DataHub's 1 MiB goes to the
    /// dead-letter topic instead, or fails the sink.
    async fn queue(
        &mut self,
        place: Place,
        data: &[u8],
        data_bytes: usize,
        attributes: &[(&str, &str)],
        permit: &dyn Permit,
    ) -> Result<(), SinkError> {
        let topic = &self.topics[place.topic];
        let json = batch::record(&topic.shards[place.shard], data, attributes);
        if data_bytes > RECORD_MAX || !Batch::fits_alone(json.len()) {
            let error = format!(
                "a record of change log record {} for datahub topic {} holds {data_bytes} bytes: DataHub takes at most {RECORD_MAX} a record",
                place.seq, topic.name
            );
            return self.dead_letter(place, error, data_bytes, attributes, permit).await;
        }
        self.push(place, json, permit).await
    }

    /// Queues record `json` in its shard's batch, sending the batch first when it would not fit.
    async fn push(&mut self, place: Place, json: Vec<u8>, permit: &dyn Permit) -> Result<(), SinkError> {
        if !self.topics[place.topic].batches[place.shard].fits(json.len()) {
            let batch = std::mem::take(&mut self.topics[place.topic].batches[place.shard]);
            self.held = self.held.saturating_sub(batch.bytes());
            let topic = &self.topics[place.topic];
            let job = Job { topic: topic.name.clone(), shard: topic.shards[place.shard].clone(), batch };
            self.send(vec![job], Some(permit)).await?;
        }
        self.held += json.len() + 1;
        self.topics[place.topic].batches[place.shard].push(place.seq, json);
        Ok(())
    }

    /// Queues, in the dead-letter topic's first shard, what a record DataHub cannot take was:
    /// its attributes and `ferry.dlq.topic`, `ferry.dlq.error`, `ferry.dlq.bytes`, the error as
    /// its data. Without a dead-letter topic, the sink fails with `error`.
    async fn dead_letter(
        &mut self,
        place: Place,
        error: String,
        data_bytes: usize,
        attributes: &[(&str, &str)],
        permit: &dyn Permit,
    ) -> Result<(), SinkError> {
        let Some(index) = self.dead_letters().await? else { return Err(SinkError::Refused(error)) };
        let topic = self.topics[place.topic].name.clone();
        tracing::warn!(project = %self.project, %topic, dead_letter_topic = %self.topics[index].name, %error, "a record DataHub cannot take goes to the dead-letter topic");
        let bytes = data_bytes.to_string();
        let mut why: Vec<(&str, &str)> = attributes.to_vec();
        why.extend([
            ("ferry.dlq.topic", topic.as_str()),
            ("ferry.dlq.error", &error),
            ("ferry.dlq.bytes", &bytes),
        ]);
        let letter = batch::record(&self.topics[index].shards[0], &batch::blob_data(error.as_bytes()), &why);
        self.push(Place { topic: index, shard: 0, seq: place.seq }, letter, permit).await
    }

    /// Sends every queued batch; `permit` asked before each request (none: the connector
    /// checked it just before, as it does before `flush`).
    async fn send_all(&mut self, permit: Option<&dyn Permit>) -> Result<(), SinkError> {
        let mut jobs = Vec::new();
        for topic in &mut self.topics {
            for (shard, batch) in topic.shards.iter().zip(&mut topic.batches) {
                if !batch.is_empty() {
                    jobs.push(Job {
                        topic: topic.name.clone(),
                        shard: shard.clone(),
                        batch: std::mem::take(batch),
                    });
                }
            }
        }
        self.held = 0;
        self.send(jobs, permit).await
    }

    /// Sends the batches queued for topic `index`.
    async fn send_topic(&mut self, index: usize, permit: &dyn Permit) -> Result<(), SinkError> {
        let topic = &mut self.topics[index];
        let mut jobs = Vec::new();
        for (shard, batch) in topic.shards.iter().zip(&mut topic.batches) {
            if !batch.is_empty() {
                self.held = self.held.saturating_sub(batch.bytes());
                jobs.push(Job {
                    topic: topic.name.clone(),
                    shard: shard.clone(),
                    batch: std::mem::take(batch),
                });
            }
        }
        self.send(jobs, Some(permit)).await
    }

    async fn send(&mut self, jobs: Vec<Job>, permit: Option<&dyn Permit>) -> Result<(), SinkError> {
        let sender =
            Sender { client: &self.client, acks: &*self.acks, permit, timeout: self.delivery_timeout };
        let results: Vec<Result<(), SinkError>> = futures_util::stream::iter(jobs)
            .map(|job| sender.put(job))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Sends everything when the queues hold too much.
    async fn relieve(&mut self, permit: &dyn Permit) -> Result<(), SinkError> {
        match self.held > HELD_MAX {
            true => self.send_all(Some(permit)).await,
            false => Ok(()),
        }
    }

    async fn write_rows(
        &mut self,
        table: TableId,
        batch: &RowsBatch,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        let layout = match self.mode {
            RecordType::Tuple => Some(self.layout(table, permit).await?),
            RecordType::Blob => None,
        };
        let Table { schema, topic, table_key, .. } = &self.tables[table];
        let (schema, topic, table_key) = (schema.clone(), *topic, table_key.clone());
        let mut changes = Vec::with_capacity(batch.rows.len());
        for (i, row) in batch.rows.iter().enumerate() {
            split_row(&schema, batch, i, row, self.split_key_updates, |c| changes.push(c));
        }
        let mut written = Written::default();
        let target = Target { topic, table_key: &table_key, seq };
        for change in &changes {
            match &layout {
                Some(layout) => self.tuple_record(change, layout, &target, permit, &mut written).await?,
                None => self.blob_records(change, &target, permit, &mut written).await?,
            }
        }
        self.relieve(permit).await?;
        Ok(written)
    }

    /// Queues a TUPLE record of `change`.
    async fn tuple_record(
        &mut self,
        change: &RowChange<'_>,
        layout: &Layout,
        target: &Target<'_>,
        permit: &dyn Permit,
        written: &mut Written,
    ) -> Result<(), SinkError> {
        let Target { topic, table_key, seq } = *target;
        let image = match change.op {
            Op::Delete => change.before,
            Op::Insert | Op::Update | Op::Read => change.after.or(change.before),
        }
        .unwrap_or_default();
        let mut data = Vec::with_capacity(256);
        let bytes = tuple::write_data(&mut data, layout, change.schema, change.op, change.batch.ts, image)
            .map_err(|e| {
                SinkError::Refused(format!(
                    "a row of {} for datahub topic {}: {e}",
                    change.schema.name, self.topics[topic].name
                ))
            })?;
        let key_text = match self.partition {
            Partition::Hash => tuple::key_text(change.schema, change.key_image()),
            Partition::Table | Partition::One => String::new(),
        };
        let shard =
            shards::index(self.partition, self.topics[topic].shards.len(), None, &key_text, table_key);
        let position = String::from_utf8_lossy(&codec::position_header(change)).into_owned();
        let mut attributes = vec![("ferry.position", position.as_str())];
        if let Some(gtid) = &change.batch.gtid {
            attributes.push(("ferry.gtid", gtid));
        }
        let epoch = Arc::clone(&self.epoch);
        attributes.push(("ferry.epoch", &epoch));
        self.queue(Place { topic, shard, seq }, &data, bytes, &attributes, permit).await?;
        written.deliveries += 1;
        written.bytes += bytes as u64;
        Ok(())
    }

    /// Queues the BLOB records of `change`: a record per message of the connector's format.
    async fn blob_records(
        &mut self,
        change: &RowChange<'_>,
        target: &Target<'_>,
        permit: &dyn Permit,
        written: &mut Written,
    ) -> Result<(), SinkError> {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        self.encoder.encode(change, now_ms(), &mut out);
        let queued = self.blob_messages(&out, target, permit, written).await;
        self.out = out;
        queued
    }

    async fn blob_messages(
        &mut self,
        messages: &[Message],
        target: &Target<'_>,
        permit: &dyn Permit,
        written: &mut Written,
    ) -> Result<(), SinkError> {
        let Target { topic, table_key, seq } = *target;
        for message in messages {
            // A tombstone is Kafka's compaction marker: DataHub has none.
            let Some(value) = &message.value else { continue };
            let shard = shards::index(
                self.partition,
                self.topics[topic].shards.len(),
                message.partition,
                &message.key_text,
                table_key,
            );
            let texts: Vec<(&str, String)> = message
                .headers
                .iter()
                .map(|(name, value)| (*name, String::from_utf8_lossy(value).into_owned()))
                .chain(
                    message.key.as_ref().map(|key| ("ferry.key", String::from_utf8_lossy(key).into_owned())),
                )
                .collect();
            let epoch = Arc::clone(&self.epoch);
            let mut attributes: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
            attributes.push(("ferry.epoch", &epoch));
            let data = batch::blob_data(value);
            self.queue(Place { topic, shard, seq }, &data, value.len(), &attributes, permit).await?;
            written.deliveries += 1;
            written.bytes += value.len() as u64;
        }
        Ok(())
    }

    /// BLOB: the DDL's messages, to each synced table's topic or the project's schema change
    /// topic, as the format says. TUPLE topics take no DDL (as OMS): logged and skipped.
    async fn write_ddl(
        &mut self,
        ddl: &DdlRecord,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        if self.mode == RecordType::Tuple {
            tracing::info!(project = %self.project, sql = %ddl.sql, "DDL on a synced table: TUPLE topics take no DDL, skipped");
            return Ok(Written::default());
        }
        let mut messages = Vec::new();
        self.encoder.ddl(ddl, seq, now_ms(), &mut messages);
        let mut written = Written::default();
        for (to, message) in messages {
            let (origin, table_key) = match to {
                DdlTopic::Table(name) => {
                    let routed = self.routes.target(&name);
                    match self.filter.topic_routed(&name, &routed, self.topic_pattern.as_deref()) {
                        Some(topic) => (topic, format!("{}.{}", routed.database, routed.table)),
                        None => continue,
                    }
                }
                DdlTopic::SchemaChanges => (format!("{}.schema-changes", self.project), String::new()),
            };
            let target = Target { topic: self.topic(&origin, None).await?, table_key: &table_key, seq };
            self.blob_messages(std::slice::from_ref(&message), &target, permit, &mut written).await?;
        }
        Ok(written)
    }

    /// BLOB: the format's heartbeat message, to topic `ferry_heartbeat_<project>`.
    async fn write_heartbeat(
        &mut self,
        end: &TxEnd,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        if self.mode == RecordType::Tuple {
            return Ok(Written::default());
        }
        let Some(message) = self.encoder.heartbeat(end.ts, seq) else { return Ok(Written::default()) };
        let topic = match self.heartbeat {
            Some(topic) => topic,
            None => {
                let topic = self.topic(&format!("ferry_heartbeat.{}", self.project), None).await?;
                self.heartbeat = Some(topic);
                topic
            }
        };
        let mut written = Written::default();
        let target = Target { topic, table_key: "", seq };
        self.blob_messages(std::slice::from_ref(&message), &target, permit, &mut written).await?;
        Ok(written)
    }
}

/// One shard's batch to send.
struct Job {
    topic: String,
    shard: String,
    batch: Batch,
}

/// What sending a batch needs.
struct Sender<'a> {
    client: &'a Client,
    acks: &'a dyn Acknowledge,
    permit: Option<&'a dyn Permit>,
    timeout: Duration,
}

impl Sender<'_> {
    /// PutRecords of `job`'s batch, acknowledging each record DataHub took. After records
    /// failed, the request is sent again from the first failed one on (the later ones again
    /// too): every record's last copy comes after the last copies of those queued before it,
    /// so a key's changes end in order. Gives up (`Unavailable`) after [`ATTEMPTS`] tries or
    /// the delivery timeout, at once (`Interrupted`) when the connector is stopping; a record
    /// DataHub refuses for good is `Refused`.
    async fn put(&self, job: Job) -> Result<(), SinkError> {
        let Job { topic, shard, batch } = job;
        let deadline = Instant::now() + self.timeout;
        let mut from = 0;
        let mut pause = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            if self.permit.is_some_and(|p| !p.granted()) {
                return Err(SinkError::Revoked);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SinkError::Unavailable(format!(
                    "datahub PutRecords to topic {topic} shard {shard} not done within {:?}",
                    self.timeout
                )));
            }
            let call = self.client.put_records(&topic, batch.body(from), left);
            let answer = match self.permit {
                Some(permit) => tokio::select! {
                    answer = call => answer,
                    () = until_stopping(permit) => return Err(SinkError::Interrupted),
                },
                None => call.await,
            };
            let why = match answer {
                Ok(failed) => {
                    let rest = batch.len() - from;
                    let taken = failed.iter().map(|f| f.index).min().unwrap_or(rest).min(rest);
                    for record in &batch.records[from..from + taken] {
                        self.acks.ack(record.seq);
                    }
                    from += taken;
                    if from == batch.len() {
                        return Ok(());
                    }
                    if let Some(f) = failed.iter().find(|f| !f.transient()) {
                        let seq =
                            batch.records.get(from + f.index.saturating_sub(taken)).map_or(0, |r| r.seq);
                        return Err(SinkError::Refused(format!(
                            "datahub refused a record of change log record {seq} in topic {topic} shard {shard}: {}: {}",
                            f.code, f.message
                        )));
                    }
                    let first = failed.iter().min_by_key(|f| f.index).expect("some failed");
                    format!(
                        "{} of {rest} records failed, the first: {}: {}",
                        failed.len(),
                        first.code,
                        first.message
                    )
                }
                Err(e) if e.transient() => e.to_string(),
                Err(e) => return Err(e.into_sink(&format!("PutRecords to topic {topic} shard {shard}"))),
            };
            attempt += 1;
            if self.permit.is_some_and(|p| p.stopping()) {
                return Err(SinkError::Interrupted);
            }
            if attempt >= ATTEMPTS {
                return Err(SinkError::Unavailable(format!(
                    "datahub PutRecords to topic {topic} shard {shard}, {attempt} tries: {why}"
                )));
            }
            tracing::warn!(topic, shard, attempt, error = %why, "datahub PutRecords failed, sending again");
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}

/// Resolves [`STOP_GRACE`] after the connector began stopping: a request DataHub has not
/// answered by then is given up (its records were not acknowledged; the next run sends them
/// again), so stopping takes seconds whatever DataHub does.
async fn until_stopping(permit: &dyn Permit) {
    while !permit.stopping() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(STOP_GRACE).await;
}

impl Sink for DatahubSink {
    fn open(&mut self, schema: Arc<TableSchema>) -> SinkFuture<'_, TableId> {
        Box::pin(self.open_table(schema))
    }

    fn rows<'a>(
        &'a mut self,
        table: TableId,
        batch: &'a RowsBatch,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        Box::pin(self.write_rows(table, batch, seq, permit))
    }

    fn ddl<'a>(
        &'a mut self,
        ddl: &'a DdlRecord,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        Box::pin(self.write_ddl(ddl, seq, permit))
    }

    fn end<'a>(
        &'a mut self,
        end: &'a TxEnd,
        heartbeat: bool,
        seq: u64,
        permit: &'a dyn Permit,
    ) -> SinkFuture<'a, Written> {
        if !heartbeat {
            return Box::pin(async { Ok(Written::default()) });
        }
        Box::pin(self.write_heartbeat(end, seq, permit))
    }

    fn sync<'a>(&'a mut self, permit: &'a dyn Permit) -> SinkFuture<'a, ()> {
        Box::pin(self.send_all(Some(permit)))
    }

    fn flush(&mut self, timeout: Duration) -> SinkFuture<'_, ()> {
        Box::pin(async move {
            match tokio::time::timeout(timeout, self.send_all(None)).await {
                Ok(sent) => sent,
                Err(_) => {
                    Err(SinkError::Unavailable(format!("datahub: flushing took longer than {timeout:?}")))
                }
            }
        })
    }

    fn abandon(&mut self) {
        for topic in &mut self.topics {
            for batch in &mut topic.batches {
                *batch = Batch::default();
            }
        }
        self.held = 0;
    }
}
