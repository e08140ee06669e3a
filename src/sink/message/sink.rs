use super::{Producer, Route};
use crate::codec::{self, split_row, DdlTopic, Encoder, Message};
use crate::model::{DdlRecord, RowsBatch, TableName, TableSchema, TxEnd};
use crate::pipeline::connector::now_ms;
use crate::sink::{Permit, Sink, SinkContext, SinkError, SinkFuture, TableId, Written};
use crate::source::{Routes, TableFilter};
use std::sync::Arc;
use std::time::Duration;

/// A [`Sink`] that writes messages: encodes each change with the connector's codec and sends
/// it to its table's topic.
pub struct MessageSink<P> {
    producer: P,
    encoder: Box<dyn Encoder>,
    project: String,
    filter: Arc<TableFilter>,
    /// The connector's topic pattern; none: the objects' own.
    topic: Option<String>,
    routes: Arc<Routes>,
    split_key_updates: bool,
    /// Opened tables, by [`TableId`].
    tables: Vec<(Arc<TableSchema>, Route)>,
    heartbeat: Option<Route>,
    /// The messages of the record being written (reused).
    out: Vec<Message>,
}

impl<P: Producer> MessageSink<P> {
    pub fn new(producer: P, ctx: SinkContext) -> Self {
        Self {
            producer,
            encoder: codec::encoder(ctx.format, ctx.codec),
            project: ctx.project,
            filter: ctx.filter,
            topic: ctx.topic,
            routes: ctx.routes,
            split_key_updates: ctx.split_key_updates,
            tables: Vec::new(),
            heartbeat: None,
            out: Vec::new(),
        }
    }

    /// A route to `topic` for messages that are not rows of `name` (no schema needed).
    async fn route_to(&mut self, name: TableName, topic: &str) -> Result<Route, SinkError> {
        let schema = TableSchema { name, columns: Vec::new(), primary_key: Vec::new() };
        self.producer.route(&schema, topic).await
    }

    async fn write_rows(
        &mut self,
        table: TableId,
        batch: &RowsBatch,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        let Self { producer, encoder, tables, out, split_key_updates, .. } = self;
        let (schema, route) = &tables[table];
        out.clear();
        let now = now_ms();
        for (i, row) in batch.rows.iter().enumerate() {
            split_row(schema, batch, i, row, *split_key_updates, |c| encoder.encode(&c, now, out));
        }
        let mut bytes = 0;
        for message in out.iter() {
            bytes += message_bytes(message);
            producer.send(route, message, seq, permit).await?;
        }
        Ok(Written { deliveries: out.len() as u32, bytes })
    }

    /// Writes a DDL statement's messages: to each synced table's topic, or the project's
    /// schema change topic, as the format says. DDL is rare: routes are resolved each time.
    async fn write_ddl(
        &mut self,
        ddl: &DdlRecord,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        let mut messages = Vec::new();
        self.encoder.ddl(ddl, seq, now_ms(), &mut messages);
        let mut sends = Vec::with_capacity(messages.len());
        for (topic, message) in messages {
            let route = match topic {
                DdlTopic::Table(name) => {
                    match self.filter.topic_routed(&name, &self.routes.target(&name), self.topic.as_deref()) {
                        Some(topic) => self.route_to(name, &topic).await?,
                        None => continue,
                    }
                }
                DdlTopic::SchemaChanges => {
                    let topic = format!("{}.schema-changes", self.project);
                    self.route_to(TableName::new(self.project.clone(), "schema-changes"), &topic).await?
                }
            };
            sends.push((route, message));
        }
        let mut bytes = 0;
        for (route, message) in &sends {
            bytes += message_bytes(message);
            self.producer.send(route, message, seq, permit).await?;
        }
        Ok(Written { deliveries: sends.len() as u32, bytes })
    }

    /// A heartbeat message, to `__ferry-heartbeat.<project>`, when the format has one.
    async fn write_heartbeat(
        &mut self,
        end: &TxEnd,
        seq: u64,
        permit: &dyn Permit,
    ) -> Result<Written, SinkError> {
        let Some(message) = self.encoder.heartbeat(end.ts, seq) else { return Ok(Written::default()) };
        if self.heartbeat.is_none() {
            let topic = format!("__ferry-heartbeat.{}", self.project);
            self.heartbeat =
                Some(self.route_to(TableName::new(self.project.clone(), "heartbeat"), &topic).await?);
        }
        let route = self.heartbeat.as_ref().expect("resolved above");
        self.producer.send(route, &message, seq, permit).await?;
        Ok(Written { deliveries: 1, bytes: message_bytes(&message) })
    }
}

fn message_bytes(m: &Message) -> u64 {
    (m.value.as_ref().map_or(0, Vec::len) + m.key.as_ref().map_or(0, Vec::len)) as u64
}

impl<P: Producer> Sink for MessageSink<P> {
    fn open(&mut self, schema: Arc<TableSchema>) -> SinkFuture<'_, TableId> {
        Box::pin(async move {
            let source = schema.name.clone();
            // Messages name the table and columns as routed.
            let schema = match self.routes.is_empty() {
                true => schema,
                false => Arc::new(self.routes.apply(&schema)),
            };
            let topic = self
                .filter
                .topic_routed(&source, &schema.name, self.topic.as_deref())
                .ok_or_else(|| SinkError::Refused(format!("table {source} is not synced")))?;
            let route = self.producer.route(&schema, &topic).await?;
            self.tables.push((schema, route));
            Ok(self.tables.len() - 1)
        })
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

    fn sync<'a>(&'a mut self, _permit: &'a dyn Permit) -> SinkFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn flush(&mut self, timeout: Duration) -> SinkFuture<'_, ()> {
        Box::pin(self.producer.flush(timeout))
    }

    fn abandon(&mut self) {
        self.producer.abandon();
    }
}
