//! The DataHub sink writes to the DataHub emulator (whose answers pydatahub checks in
//! tests/datahub_emulator.rs) and reports deliveries to the connector's real AckTracker:
//! nothing is acknowledged before PutRecords took it, each key's changes land in one shard in
//! order, failed records are sent again (the later ones too), limits hold, and DataHub's
//! refusals come back as `Refused` with its ErrorCode, an unreachable endpoint as
//! `Unavailable`.

mod common;

use common::datahub::{Emulator, StoredRecord, ACCESS_ID, ACCESS_KEY};
use ferry::codec::{CodecContext, Format, ServerZone, SourceFlavor};
use ferry::meta::Partition;
use ferry::model::{
    Checkpoint, Column, ColumnKind, DdlKind, DdlRecord, Op, Position, RowImage, RowsBatch, TableName,
    TableSchema, TxEnd, Value,
};
use ferry::sink::datahub::{DatahubSinkConfig, RecordType};
use ferry::sink::{AckTracker, Destination, Permit, Sink, SinkContext, SinkError, TableId};
use ferry::source::filter::ObjectRule;
use ferry::source::{Routes, TableFilter};
use serde_json::Value as Json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PROJECT: &str = "ferry_sink";
const EPOCH: u64 = 7;

struct Gate(AtomicBool);

impl Permit for Gate {
    fn granted(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

fn config(endpoint: &str, access_key: &str, project: &str, record_type: RecordType) -> DatahubSinkConfig {
    DatahubSinkConfig {
        endpoint: endpoint.to_string(),
        project: project.to_string(),
        access_id: ACCESS_ID.to_string(),
        access_key: access_key.to_string(),
        record_type,
        dead_letter_topic: None,
        lifecycle_days: 7,
    }
}

fn context(acks: Arc<AckTracker>, partition: Partition, format: Format) -> SinkContext {
    let rule = ObjectRule {
        database: "shop".into(),
        tables: vec![],
        exclude: vec![],
        topic: "{database}.{table}".into(),
        ..Default::default()
    };
    SinkContext {
        project: "sinktest".into(),
        connector: "default".into(),
        epoch: EPOCH,
        acks,
        filter: Arc::new(TableFilter::new(&[rule]).unwrap()),
        topic: None,
        routes: Arc::new(Routes::new(&[]).unwrap()),
        resume: Position::default(),
        incarnation: 1,
        format,
        codec: CodecContext {
            project: "sinktest".into(),
            store_id: "store-1".into(),
            flavor: SourceFlavor::MariaDb,
            server_zone: Arc::new(ServerZone::fixed(0)),
            tombstones: true,
            truncate_events: false,
        },
        partition,
        topic_partitions: 3,
        split_key_updates: true,
        delivery_timeout: Duration::from_secs(10),
    }
}

fn orders() -> TableSchema {
    TableSchema {
        name: TableName::new("shop", "orders"),
        columns: vec![
            Column::new("id", ColumnKind::BigInt),
            Column::new("name", ColumnKind::VarChar { len: 20 }),
            Column::new("amount", ColumnKind::Decimal { precision: 10, scale: 2 }),
            Column::new("at", ColumnKind::DateTime { fsp: 3 }),
            Column::new("ok", ColumnKind::Bit { bits: 1 }),
            Column::new("big", ColumnKind::BigInt).unsigned(),
        ],
        primary_key: vec![0],
    }
}

fn row(id: i64, name: &str) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::Text(name.to_string()),
        Value::Decimal("12.5".into()),
        Value::DateTime { year: 2026, month: 11, day: 23, hour: 12, minute: 34, second: 56, micros: 120_000 },
        Value::Bit(1),
        Value::UInt(u64::MAX),
    ]
}

/// A sink on an emulator, with the connector's AckTracker and a gate.
struct Harness {
    emulator: Emulator,
    sink: Box<dyn Sink>,
    acks: Arc<AckTracker>,
    gate: Gate,
    pos: u64,
}

impl Harness {
    fn new(record_type: RecordType, partition: Partition, format: Format) -> Harness {
        Harness::with(partition, format, |_| {}, record_type)
    }

    /// A harness whose sink's settings `adjust` changed.
    fn with(
        partition: Partition,
        format: Format,
        adjust: impl FnOnce(&mut DatahubSinkConfig),
        record_type: RecordType,
    ) -> Harness {
        let emulator = Emulator::start();
        emulator.create_project(PROJECT);
        let acks = Arc::new(AckTracker::new(Checkpoint::default()));
        let mut config = config(emulator.endpoint(), ACCESS_KEY, PROJECT, record_type);
        adjust(&mut config);
        let destination = Destination::Datahub(config);
        let sink = destination.build(context(acks.clone(), partition, format)).unwrap();
        Harness { emulator, sink, acks, gate: Gate(AtomicBool::new(true)), pos: 100 }
    }

    /// Writes change log record `seq`: rows of `op` (images as the binlog has them).
    async fn rows(
        &mut self,
        table: TableId,
        op: Op,
        images: Vec<RowImage>,
        seq: u64,
    ) -> Result<u32, SinkError> {
        self.pos += 100;
        let batch = RowsBatch {
            schema_id: 1,
            op,
            rows: images,
            file: "bin.000001".into(),
            pos: self.pos,
            ts: 1_795_437_296,
            server_id: 1,
            gtid: Some("0-1-5".into()),
            first_row_seq: seq * 10,
        };
        let written = self.sink.rows(table, &batch, seq, &self.gate).await?;
        self.acks.register(
            seq,
            written.deliveries,
            batch.rows.len() as u32,
            written.bytes,
            Some(("shop.orders", op)),
        );
        Ok(written.deliveries)
    }

    async fn end(&mut self, seq: u64) {
        self.pos += 100;
        let end = TxEnd {
            position: Position { file: "bin.000001".into(), pos: self.pos, gtid: None },
            ts: 1_795_437_296,
        };
        let written = self.sink.end(&end, false, seq, &self.gate).await.unwrap();
        self.acks.register_tx_end(seq, written.deliveries, end.position, end.ts);
    }

    fn checkpoint(&self) -> u64 {
        self.acks.checkpoint().seq
    }

    fn records(&self, topic: &str) -> Vec<StoredRecord> {
        self.emulator.records(PROJECT, topic)
    }
}

fn insert(image: Vec<Value>) -> RowImage {
    RowImage { before: None, after: Some(image) }
}

fn update(before: Vec<Value>, after: Vec<Value>) -> RowImage {
    RowImage { before: Some(before), after: Some(after) }
}

fn delete(image: Vec<Value>) -> RowImage {
    RowImage { before: Some(image), after: None }
}

/// A TUPLE record's field `i` (0: ferry_op, 1: ferry_ts, 2: id...).
fn field(r: &StoredRecord, i: usize) -> Option<&str> {
    r.values()[i].as_deref()
}

#[tokio::test]
async fn tuple_records_are_acknowledged_only_once_datahub_holds_them_and_keys_stay_in_order() {
    let mut h = Harness::new(RecordType::Tuple, Partition::Hash, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    let topic = h.emulator.topic(PROJECT, "shop_orders").expect("the topic is created");
    let fields: Vec<(&str, &str)> = topic.fields.iter().map(|f| (f.name.as_str(), f.ty.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("ferry_op", "string"),
            ("ferry_ts", "timestamp"),
            ("id", "bigint"),
            ("name", "string"),
            ("amount", "decimal"),
            ("at", "timestamp"),
            ("ok", "boolean"),
            ("big", "decimal")
        ]
    );
    assert_eq!((topic.record_type.as_str(), topic.shards, topic.lifecycle), ("TUPLE", 3, 7));

    let inserts = (1..=6).map(|id| insert(row(id, &format!("n{id}")))).collect();
    assert_eq!(h.rows(table, Op::Insert, inserts, 1).await.unwrap(), 6);
    h.end(2).await;
    assert_eq!(h.rows(table, Op::Update, vec![update(row(1, "n1"), row(1, "one"))], 3).await.unwrap(), 1);
    assert_eq!(
        h.rows(table, Op::Update, vec![update(row(2, "n2"), row(20, "n2"))], 4).await.unwrap(),
        2,
        "a key change is a delete and an insert"
    );
    assert_eq!(h.rows(table, Op::Delete, vec![delete(row(3, "n3"))], 5).await.unwrap(), 1);
    h.end(6).await;
    assert!(h.records("shop_orders").is_empty(), "held for a batch until sync");
    assert_eq!(h.checkpoint(), 0, "nothing acknowledged before DataHub has it");

    h.sink.sync(&h.gate).await.unwrap();
    assert_eq!(h.checkpoint(), 6, "everything acknowledged once PutRecords took it");
    assert_eq!(h.acks.pending(), 0);

    let records = h.records("shop_orders");
    assert_eq!(records.len(), 10);
    let ops_of = |id: &str| -> (Vec<String>, Vec<String>) {
        let of: Vec<&StoredRecord> = records.iter().filter(|r| field(r, 2) == Some(id)).collect();
        (
            of.iter().map(|r| field(r, 0).unwrap().to_string()).collect(),
            of.iter().map(|r| r.shard.clone()).collect(),
        )
    };
    let expected = [
        ("1", vec!["insert", "update"]),
        ("2", vec!["insert", "delete"]),
        ("20", vec!["insert"]),
        ("3", vec!["insert", "delete"]),
        ("4", vec!["insert"]),
        ("5", vec!["insert"]),
        ("6", vec!["insert"]),
    ];
    let mut shards = std::collections::BTreeSet::new();
    for (id, ops) in expected {
        let (got, in_shards) = ops_of(id);
        assert_eq!(got, ops, "key {id}'s changes in order");
        assert!(in_shards.iter().all(|s| *s == in_shards[0]), "key {id} stays in one shard: {in_shards:?}");
        shards.insert(in_shards[0].clone());
    }
    assert!(shards.len() > 1, "keys spread over the shards");

    let one = records.iter().find(|r| field(r, 0) == Some("update")).unwrap();
    assert_eq!(
        one.values(),
        [
            Some("update".to_string()),
            Some("1795437296000000".to_string()),
            Some("1".to_string()),
            Some("one".to_string()),
            Some("12.50".to_string()),
            Some("1795437296120000".to_string()),
            Some("true".to_string()),
            Some("18446744073709551615".to_string()),
        ]
    );
    assert_eq!(one.attributes.get("ferry.position").map(String::as_str), Some("bin.000001:400:0"));
    assert_eq!(one.attributes.get("ferry.gtid").map(String::as_str), Some("0-1-5"));
    assert_eq!(one.attributes.get("ferry.epoch").map(String::as_str), Some("7"));
    let deleted = records.iter().find(|r| field(r, 0) == Some("delete") && field(r, 2) == Some("3")).unwrap();
    assert_eq!(field(deleted, 3), Some("n3"), "a delete carries the before image");

    // Flush with nothing held is a no-op; the sink keeps working after.
    h.sink.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(h.rows(table, Op::Insert, vec![insert(row(7, "n7"))], 7).await.unwrap(), 1);
    h.end(8).await;
    h.sink.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(h.checkpoint(), 8);
    assert_eq!(h.records("shop_orders").len(), 11);
}

#[tokio::test]
async fn failed_records_are_sent_again_with_those_after_them() {
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    h.emulator.fail_records(&[false, true, false, false], "LimitExceeded", "throttled");
    let inserts = (1..=4).map(|id| insert(row(id, "x"))).collect();
    h.rows(table, Op::Insert, inserts, 1).await.unwrap();
    h.end(2).await;
    h.sink.sync(&h.gate).await.unwrap();
    assert_eq!(h.checkpoint(), 2);
    let records = h.records("shop_orders");
    let ids: Vec<&str> = records.iter().map(|r| field(r, 2).unwrap()).collect();
    assert_eq!(ids, ["1", "3", "4", "2", "3", "4"], "kept, then the failed one and every one after it");
    let last: Vec<usize> =
        ["1", "2", "3", "4"].iter().map(|id| ids.iter().rposition(|i| i == id).unwrap()).collect();
    assert!(last.windows(2).all(|w| w[0] < w[1]), "the last copies are in order: {last:?}");
    let puts =
        h.emulator.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/shards")).count();
    assert_eq!(puts, 2);
}

#[tokio::test]
async fn datahub_refusing_a_record_stops_the_run_unacknowledged() {
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    h.emulator.fail_records(&[false, true], "MalformedRecord", "field 3 is bad");
    h.rows(table, Op::Insert, vec![insert(row(1, "a")), insert(row(2, "b"))], 1).await.unwrap();
    h.end(2).await;
    match h.sink.sync(&h.gate).await {
        Err(SinkError::Refused(text)) => assert!(text.contains("MalformedRecord: field 3 is bad"), "{text}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(h.checkpoint(), 0, "the transaction is not whole in DataHub");

    // Throttled past the retries: unavailable, nothing more acknowledged.
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    h.emulator.fail_records(&[true; 6], "LimitExceeded", "throttled");
    h.rows(table, Op::Insert, vec![insert(row(1, "a"))], 1).await.unwrap();
    h.end(2).await;
    match h.sink.sync(&h.gate).await {
        Err(SinkError::Unavailable(text)) => {
            assert!(text.contains("6 tries") && text.contains("LimitExceeded"), "{text}")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(h.checkpoint(), 0);
    assert!(h.records("shop_orders").is_empty());
}

#[tokio::test]
async fn a_closed_gate_writes_nothing() {
    let mut h = Harness::new(RecordType::Tuple, Partition::Hash, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    h.rows(table, Op::Insert, vec![insert(row(1, "a"))], 1).await.unwrap();
    h.gate.0.store(false, Ordering::SeqCst);
    assert!(matches!(h.sink.sync(&h.gate).await, Err(SinkError::Revoked)));
    h.sink.abandon();
    assert!(h.records("shop_orders").is_empty());
    h.sink.flush(Duration::from_secs(5)).await.unwrap();
    assert!(h.records("shop_orders").is_empty(), "abandoned records are gone");
}

/// A permit whose connector starts stopping when told.
struct Stopping(AtomicBool);

impl Permit for Stopping {
    fn granted(&self) -> bool {
        true
    }

    fn stopping(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_request_datahub_holds_is_given_up_soon_after_the_connector_starts_stopping() {
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    h.rows(table, Op::Insert, vec![insert(row(1, "a"))], 1).await.unwrap();
    h.emulator.stop_answering();
    let permit = Arc::new(Stopping(AtomicBool::new(false)));
    let flip = permit.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        flip.0.store(true, Ordering::SeqCst);
    });
    let began = std::time::Instant::now();
    let synced = h.sink.sync(&*permit).await;
    let took = began.elapsed();
    assert!(matches!(synced, Err(SinkError::Interrupted)), "{synced:?}");
    assert!(took < Duration::from_secs(3), "gave up after {took:?}, the delivery timeout being 10 s");
    assert!(h.emulator.held() > 0, "the request was sent and held");
    assert_eq!(h.checkpoint(), 0, "nothing acknowledged");
    h.emulator.answer_again();
}

#[tokio::test]
async fn refusals_carry_datahubs_error_and_an_unreachable_endpoint_is_unavailable() {
    let emulator = Emulator::start();
    emulator.create_project(PROJECT);
    let open = |config: DatahubSinkConfig| async move {
        let acks = Arc::new(AckTracker::new(Checkpoint::default()));
        let mut sink =
            Destination::Datahub(config).build(context(acks, Partition::Hash, Format::Default)).unwrap();
        sink.open(Arc::new(orders())).await.map(|_| ())
    };
    match open(config(emulator.endpoint(), "wrong-key", PROJECT, RecordType::Tuple)).await {
        Err(SinkError::Refused(text)) => {
            assert!(text.contains("Unauthorized") && text.contains("HTTP 403"), "{text}")
        }
        other => panic!("a wrong key: {other:?}"),
    }
    match open(config(emulator.endpoint(), ACCESS_KEY, "no_such", RecordType::Tuple)).await {
        Err(SinkError::Refused(text)) => assert!(text.contains("NoSuchProject"), "{text}"),
        other => panic!("a missing project: {other:?}"),
    }
    // A BLOB destination finding a TUPLE topic of the same name.
    open(config(emulator.endpoint(), ACCESS_KEY, PROJECT, RecordType::Tuple)).await.unwrap();
    match open(config(emulator.endpoint(), ACCESS_KEY, PROJECT, RecordType::Blob)).await {
        Err(SinkError::Refused(text)) => assert!(text.contains("holds TUPLE records"), "{text}"),
        other => panic!("a topic of the other record type: {other:?}"),
    }
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    match open(config(&closed, ACCESS_KEY, PROJECT, RecordType::Tuple)).await {
        Err(SinkError::Unavailable(_)) => {}
        other => panic!("nothing listening: {other:?}"),
    }
    let shown = format!("{:?}", config(emulator.endpoint(), ACCESS_KEY, PROJECT, RecordType::Tuple));
    assert!(!shown.contains(ACCESS_KEY), "the secret is never printed: {shown}");
}

#[tokio::test]
async fn blob_records_are_the_formats_messages_with_ddl_and_heartbeats() {
    let mut h = Harness::new(RecordType::Blob, Partition::Hash, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    assert_eq!(h.emulator.topic(PROJECT, "shop_orders").unwrap().record_type, "BLOB");
    h.rows(table, Op::Insert, vec![insert(row(1, "a")), insert(row(2, "b"))], 1).await.unwrap();
    h.end(2).await;
    let ddl = DdlRecord {
        kind: DdlKind::AlterTable,
        database: "shop".into(),
        tables: vec![TableName::new("shop", "orders")],
        sql: "ALTER TABLE orders ADD COLUMN note TEXT".into(),
        file: "bin.000001".into(),
        pos: 900,
        ts: 1_795_437_300,
        server_id: 1,
        gtid: None,
    };
    let written = h.sink.ddl(&ddl, 3, &h.gate).await.unwrap();
    assert_eq!(written.deliveries, 1);
    h.acks.register(3, written.deliveries, 0, 0, None);
    let end =
        TxEnd { position: Position { file: "bin.000001".into(), pos: 950, gtid: None }, ts: 1_795_437_301 };
    let beat = h.sink.end(&end, true, 4, &h.gate).await.unwrap();
    assert_eq!(beat.deliveries, 1);
    h.acks.register_tx_end(4, beat.deliveries, end.position, end.ts);
    assert_eq!(h.checkpoint(), 0);
    h.sink.sync(&h.gate).await.unwrap();
    assert_eq!(h.checkpoint(), 4);

    let records = h.records("shop_orders");
    let messages: Vec<Json> = records.iter().map(|r| serde_json::from_slice(r.blob()).unwrap()).collect();
    let rows: Vec<&Json> = messages.iter().filter(|m| m["recordType"] == "INSERT").collect();
    assert_eq!(rows.len(), 2);
    for id in [1, 2] {
        let (i, m) = messages.iter().enumerate().find(|(_, m)| m["postStruct"]["id"] == id).unwrap();
        assert_eq!(m["postStruct"]["amount"], "12.50");
        assert_eq!(m["allMetaData"]["record_primary_value"], id.to_string());
        assert_eq!(records[i].attributes.get("ferry.key"), Some(&id.to_string()));
        assert_eq!(records[i].attributes.get("ferry.epoch").map(String::as_str), Some("7"));
        assert!(records[i].attributes["ferry.position"].starts_with("bin.000001:200:"));
    }
    let (i, ddl_message) = messages.iter().enumerate().find(|(_, m)| m["recordType"] == "DDL").unwrap();
    assert_eq!(ddl_message["postStruct"]["ddl"], "ALTER TABLE orders ADD COLUMN note TEXT");
    assert_eq!(records[i].shard, "0", "DDL goes to the first shard");
    let beats = h.records("ferry_heartbeat_sinktest");
    assert_eq!(beats.len(), 1);
    let beat: Json = serde_json::from_slice(beats[0].blob()).unwrap();
    assert_eq!(beat["recordType"], "HEARTBEAT");
}

#[tokio::test]
async fn records_and_requests_stay_within_datahubs_limits() {
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    let big = |id: i64, len: usize| insert(row(id, &"x".repeat(len)));
    match h.rows(table, Op::Insert, vec![big(1, (1 << 20) + 1)], 1).await {
        Err(SinkError::Refused(text)) => assert!(text.contains("at most 1048576"), "{text}"),
        other => panic!("a record over 1 MiB: {other:?}"),
    }
    assert!(h.records("shop_orders").is_empty());

    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let table = h.sink.open(Arc::new(orders())).await.unwrap();
    let rows = (1..=12).map(|id| big(id, 700_000)).collect();
    h.rows(table, Op::Insert, rows, 1).await.unwrap();
    h.end(2).await;
    h.sink.sync(&h.gate).await.unwrap();
    assert_eq!(h.checkpoint(), 2);
    let ids: Vec<String> =
        h.records("shop_orders").iter().map(|r| field(r, 2).unwrap().to_string()).collect();
    assert_eq!(ids, (1..=12).map(|i| i.to_string()).collect::<Vec<_>>(), "in order, each once");
    let puts: Vec<_> = h
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/shards"))
        .collect();
    assert!(puts.len() >= 3, "split into several requests: {}", puts.len());
    assert!(puts.iter().all(|r| r.status == 200 && r.body_bytes <= 4 << 20), "{puts:?}");
}

#[tokio::test]
async fn a_record_over_1_mib_goes_to_the_dead_letter_topic_and_the_sync_goes_on() {
    for record_type in [RecordType::Tuple, RecordType::Blob] {
        let mut h = Harness::with(
            Partition::Hash,
            Format::Default,
            |c| {
                c.dead_letter_topic = Some("ferry_dlq".into());
                c.lifecycle_days = 3;
            },
            record_type,
        );
        let table = h.sink.open(Arc::new(orders())).await.unwrap();
        let rows = vec![
            insert(row(1, "small")),
            insert(row(2, &"x".repeat((1 << 20) + 1))),
            insert(row(3, "small")),
        ];
        assert_eq!(h.rows(table, Op::Insert, rows, 1).await.unwrap(), 3, "{record_type:?}");
        h.end(2).await;
        h.sink.sync(&h.gate).await.unwrap();
        assert_eq!(h.checkpoint(), 2, "{record_type:?}: the dead letter counts as delivered");

        let kept = h.records("shop_orders");
        assert_eq!(kept.len(), 2, "{record_type:?}: rows 1 and 3 only");
        let letters = h.records("ferry_dlq");
        assert_eq!(letters.len(), 1, "{record_type:?}");
        let letter = &letters[0];
        let error = std::str::from_utf8(letter.blob()).unwrap();
        assert!(error.contains("for datahub topic shop_orders holds"), "{error}");
        assert!(error.ends_with("DataHub takes at most 1048576 a record"), "{error}");
        assert_eq!(letter.attributes["ferry.dlq.topic"], "shop_orders");
        assert_eq!(letter.attributes["ferry.dlq.error"], error);
        assert!(letter.attributes["ferry.dlq.bytes"].parse::<usize>().unwrap() > 1 << 20, "{letter:?}");
        assert!(letter.attributes["ferry.position"].starts_with("bin.000001:"), "{letter:?}");
        assert_eq!(letter.attributes["ferry.epoch"], EPOCH.to_string());
        let dlq = h.emulator.topic(PROJECT, "ferry_dlq").unwrap();
        assert_eq!((dlq.record_type.as_str(), dlq.lifecycle), ("BLOB", 3));
        let orders = h.emulator.topic(PROJECT, "shop_orders").unwrap();
        assert_eq!(orders.lifecycle, 3, "the data source's lifecycle");
    }
}

#[tokio::test]
async fn a_table_that_gained_and_lost_columns_is_written_into_its_topic() {
    let mut h = Harness::new(RecordType::Tuple, Partition::One, Format::Default);
    let before = h.sink.open(Arc::new(orders())).await.unwrap();
    h.rows(before, Op::Insert, vec![insert(row(1, "one")), insert(row(2, "two"))], 1).await.unwrap();
    h.end(2).await;
    // After an ALTER TABLE: `ok` dropped, `note` added. The rows queued before go out with the
    // fields as they were, then the field is appended.
    let mut altered = orders();
    altered.columns.remove(4);
    altered.columns.push(Column::new("note", ColumnKind::Text));
    let after = h.sink.open(Arc::new(altered)).await.unwrap();
    let mut image = row(9, "nine");
    image.remove(4);
    image.push(Value::Text("hello".into()));
    h.rows(after, Op::Insert, vec![insert(image)], 3).await.unwrap();
    assert_eq!(h.records("shop_orders").len(), 2, "the rows queued before the append were sent first");
    assert_eq!(h.checkpoint(), 2);
    // A row of the table as it was (another shard lagging behind the ALTER).
    h.rows(before, Op::Insert, vec![insert(row(3, "three"))], 4).await.unwrap();
    h.end(5).await;
    h.sink.sync(&h.gate).await.unwrap();
    assert_eq!(h.checkpoint(), 5);

    let topic = h.emulator.topic(PROJECT, "shop_orders").unwrap();
    let fields: Vec<&str> = topic.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(fields, ["ferry_op", "ferry_ts", "id", "name", "amount", "at", "ok", "big", "note"]);
    let records = h.records("shop_orders");
    let widths: Vec<usize> = records.iter().map(|r| r.values().len()).collect();
    assert_eq!(widths, [8, 8, 9, 9]);
    assert_eq!(field(&records[2], 2), Some("9"));
    assert_eq!(field(&records[2], 6), None, "the dropped column is null");
    assert_eq!(field(&records[2], 8), Some("hello"));
    assert_eq!(field(&records[2], 7), Some("18446744073709551615"));
    assert_eq!(
        (field(&records[3], 2), field(&records[3], 6), field(&records[3], 8)),
        (Some("3"), Some("true"), None)
    );
}
