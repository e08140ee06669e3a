//! An Alibaba Cloud DataHub emulator for tests: an actix-web server on a free port in a
//! thread of its own, holding projects, topics, shards and records in memory.
//!
//! It speaks DataHub's JSON protocol as the official SDKs use it (checked by
//! tests/datahub_emulator.rs with pydatahub): CreateTopic, GetTopic, AppendField, ListShard,
//! PutRecords, GetCursor (OLDEST, LATEST, SEQUENCE, SYSTEM_TIME) and GetRecords; bodies plain
//! or `Content-Encoding: lz4` (pydatahub's default). Written from DataHub's API reference and
//! pydatahub's client, independently of Ferry's own client.
//!
//! What it checks, as the service does:
//! - Every request's AccessKey signature (HMAC-SHA1 over method, Content-Type, Date, the
//!   sorted `x-datahub-*` headers and the path with its sorted query) and that its Date is
//!   within 15 minutes: else HTTP 403 `Unauthorized`, the API reference's example answer.
//! - Names: topics `[a-zA-Z][a-zA-Z0-9_]*` of 3 to 128 characters, fields
//!   `[a-zA-Z_][a-zA-Z0-9_]*`, both without case.
//! - PutRecords: a body of at most 4 MiB (uncompressed) and records of at most 1 MiB of data;
//!   TUPLE records with as many values as the topic has fields, each null (where the field
//!   allows it) or a string of the field's type (BIGINT..TINYINT in range, DOUBLE/FLOAT,
//!   BOOLEAN `true`/`false`, TIMESTAMP microseconds in DataHub's range, DECIMAL); BLOB records
//!   base64. A malformed record fails the whole request (400 `MalformedRecord`), nothing kept.
//!   The shard named by `ShardId` must be ACTIVE.
//! - GetRecords: records put before AppendField read with null in the appended fields.
//!
//! Every answer is JSON with an `x-datahub-request-id` header; errors are
//! `{"ErrorCode","ErrorMessage"}`. Tests read what a topic holds with [`Emulator::records`],
//! can make the next records fail ([`Emulator::fail_records`], reported in
//! `FailedRecords` as the service does when throttled) and see every request
//! ([`Emulator::requests`]).

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The AccessKey pair the emulator knows.
pub const ACCESS_ID: &str = "ferry-emulator-id";
pub const ACCESS_KEY: &str = "ferry-emulator-secret-key";
/// The most data a record may carry, and the largest request body.
pub const RECORD_MAX: usize = 1 << 20;
pub const REQUEST_MAX: usize = 4 << 20;
/// How far a request's Date may be from the emulator's clock.
const DATE_SKEW: Duration = Duration::from_secs(15 * 60);
/// Records a GetRecords call returns at most.
const GET_LIMIT: u64 = 1000;
const TYPES: [&str; 10] = [
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "float",
    "double",
    "decimal",
    "boolean",
    "timestamp",
    "string",
];

/// A record's data as the emulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Tuple(Vec<Option<String>>),
    Blob(Vec<u8>),
}

/// A record a shard holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub shard: String,
    pub sequence: u64,
    /// When the emulator took it (ms).
    pub system_time: u64,
    pub data: Data,
    pub attributes: BTreeMap<String, String>,
}

impl StoredRecord {
    /// A TUPLE record's values.
    pub fn values(&self) -> &[Option<String>] {
        match &self.data {
            Data::Tuple(values) => values,
            Data::Blob(_) => panic!("a BLOB record has no values"),
        }
    }

    /// A BLOB record's bytes.
    pub fn blob(&self) -> &[u8] {
        match &self.data {
            Data::Blob(bytes) => bytes,
            Data::Tuple(_) => panic!("a TUPLE record has no blob"),
        }
    }
}

/// A field of a TUPLE topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Lowercase (`bigint`).
    pub ty: String,
    pub notnull: bool,
}

/// What a topic is.
#[derive(Debug, Clone)]
pub struct TopicView {
    pub name: String,
    pub record_type: String,
    pub fields: Vec<Field>,
    pub shards: usize,
    pub lifecycle: i64,
    pub comment: String,
}

/// A request the emulator answered.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The body's size, uncompressed.
    pub body_bytes: usize,
    pub status: u16,
    pub error_code: String,
}

struct Shard {
    id: String,
    records: Vec<StoredRecord>,
}

struct Topic {
    name: String,
    record_type: String,
    fields: Vec<Field>,
    lifecycle: i64,
    comment: String,
    create_time: u64,
    last_modify: u64,
    shards: Vec<Shard>,
    /// Where records without a shard go next.
    round_robin: usize,
}

struct Project {
    name: String,
    create_time: u64,
    /// By lowercased name.
    topics: BTreeMap<String, Topic>,
}

#[derive(Default)]
struct State {
    /// By lowercased name.
    projects: BTreeMap<String, Project>,
    requests: Vec<Request>,
    next_request: u64,
    /// What the next records put get: an error code and message instead of being kept, or
    /// nothing (kept).
    fail_next: VecDeque<Option<(String, String)>>,
    /// Requests wait unanswered while set.
    silent: bool,
    /// Requests held by silence so far.
    held: usize,
}

/// A running emulator; stopped when dropped.
pub struct Emulator {
    endpoint: String,
    state: Arc<Mutex<State>>,
    server: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator on a free port of 127.0.0.1.
    pub fn start() -> Emulator {
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(shared.clone()))
                        // Bodies over 4 MiB get DataHub's answer, not actix's.
                        .app_data(web::PayloadConfig::new(64 << 20))
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("binding the datahub emulator");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).expect("the test waits");
                server.await.expect("the datahub emulator runs");
            });
        });
        let (port, server) = rx.recv().expect("the datahub emulator started");
        Emulator { endpoint: format!("http://127.0.0.1:{port}"), state, server, thread: Some(thread) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a project (DataHub's console does; the API subset here has no CreateProject).
    pub fn create_project(&self, name: &str) {
        let project = Project { name: name.to_string(), create_time: now_secs(), topics: BTreeMap::new() };
        self.state().projects.insert(name.to_ascii_lowercase(), project);
    }

    /// The topics of `project`, by name.
    pub fn topics(&self, project: &str) -> Vec<String> {
        let state = self.state();
        let Some(p) = state.projects.get(&project.to_ascii_lowercase()) else { return Vec::new() };
        p.topics.values().map(|t| t.name.clone()).collect()
    }

    /// What `topic` is, if it exists.
    pub fn topic(&self, project: &str, topic: &str) -> Option<TopicView> {
        let state = self.state();
        let t = state.projects.get(&project.to_ascii_lowercase())?.topics.get(&topic.to_ascii_lowercase())?;
        Some(TopicView {
            name: t.name.clone(),
            record_type: t.record_type.clone(),
            fields: t.fields.clone(),
            shards: t.shards.len(),
            lifecycle: t.lifecycle,
            comment: t.comment.clone(),
        })
    }

    /// Every record `topic` holds: shard by shard (in id order), each in sequence order.
    pub fn records(&self, project: &str, topic: &str) -> Vec<StoredRecord> {
        let state = self.state();
        let Some(t) = state
            .projects
            .get(&project.to_ascii_lowercase())
            .and_then(|p| p.topics.get(&topic.to_ascii_lowercase()))
        else {
            return Vec::new();
        };
        t.shards.iter().flat_map(|s| s.records.iter().cloned()).collect()
    }

    /// The next records put fail with `code` and `message` (in `FailedRecords`, as a throttled
    /// or failing service answers) where `pattern` is true; the others are kept.
    pub fn fail_records(&self, pattern: &[bool], code: &str, message: &str) {
        let mut state = self.state();
        for &fail in pattern {
            state.fail_next.push_back(fail.then(|| (code.to_string(), message.to_string())));
        }
    }

    /// From now on requests are held unanswered, as by a DataHub that hangs.
    pub fn stop_answering(&self) {
        self.state().silent = true;
    }

    /// How many requests silence has held so far.
    pub fn held(&self) -> usize {
        self.state().held
    }

    /// Answers the held requests and the next ones.
    pub fn answer_again(&self) {
        self.state().silent = false;
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state().requests.clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the server's thread ends with it.
        drop(self.server.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// An answer the service gives: its status, ErrorCode and ErrorMessage.
struct Refusal(u16, &'static str, String);

fn refuse<T>(status: u16, code: &'static str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(status, code, message.into()))
}

type Shared = web::Data<Arc<Mutex<State>>>;

async fn handle(req: HttpRequest, body: web::Bytes, state: Shared) -> HttpResponse {
    // Silent: the request is held (its connection open) until the emulator answers again.
    if state.lock().unwrap_or_else(|p| p.into_inner()).silent {
        state.lock().unwrap_or_else(|p| p.into_inner()).held += 1;
        while state.lock().unwrap_or_else(|p| p.into_inner()).silent {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.next_request += 1;
    let request_id = format!("{}{:08x}", now_secs(), state.next_request);
    let (result, body_bytes) = match authenticate(&req).and_then(|()| decode_body(&req, &body)) {
        Ok(body) => {
            let size = body.len();
            (route(&mut state, &req, &body), size)
        }
        Err(refusal) => (Err(refusal), body.len()),
    };
    let (status, answer, code) = match result {
        Ok((status, answer)) => (status, answer, String::new()),
        Err(Refusal(status, code, message)) => {
            (status, json!({"ErrorCode": code, "ErrorMessage": message}), code.to_string())
        }
    };
    state.requests.push(Request {
        method: req.method().to_string(),
        path: req.path().to_string(),
        body_bytes,
        status,
        error_code: code,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"))
        .insert_header(("x-datahub-request-id", request_id))
        .content_type("application/json")
        .body(answer.to_string())
}

/// Checks the request's Date and signature.
fn authenticate(req: &HttpRequest) -> Result<(), Refusal> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let date = header("date");
    let Ok(at) = httpdate::parse_http_date(date) else {
        return refuse(403, "Unauthorized", format!("Invalid date: {date:?}"));
    };
    let now = SystemTime::now();
    let skew = now.duration_since(at).or_else(|_| at.duration_since(now)).unwrap_or_default();
    if skew > DATE_SKEW {
        return refuse(
            403,
            "Unauthorized",
            format!("Request time {date} differs from the server's by more than 15 minutes"),
        );
    }
    let Some((id, signature)) =
        header("authorization").strip_prefix("DATAHUB ").and_then(|a| a.split_once(':'))
    else {
        return refuse(403, "Unauthorized", "Authorization header is missing or invalid");
    };
    if id != ACCESS_ID {
        return refuse(403, "Unauthorized", format!("The AccessKeyId {id} does not exist"));
    }
    let mut datahub: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-datahub-"))
        .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
        .collect();
    datahub.sort();
    let mut lines = vec![req.method().to_string(), header("content-type").to_string(), date.to_string()];
    lines.extend(datahub.iter().map(|(k, v)| format!("{k}:{v}")));
    let mut query: Vec<(String, String)> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    query.sort_by(|a, b| a.0.cmp(&b.0));
    let path = percent_decode(req.path());
    lines.push(match query.is_empty() {
        true => path,
        false => {
            let pairs: Vec<String> = query
                .iter()
                .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
    });
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(ACCESS_KEY.as_bytes()).expect("any key length");
    mac.update(lines.join("\n").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if signature != expected {
        return refuse(403, "Unauthorized", "Authroize failed: the signature does not match");
    }
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The body, decompressed when it says so.
fn decode_body(req: &HttpRequest, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match header("content-encoding") {
        "" => Ok(body.to_vec()),
        "lz4" => {
            let Ok(raw) = header("x-datahub-content-raw-size").parse::<usize>() else {
                return refuse(
                    400,
                    "InvalidParameter",
                    "x-datahub-content-raw-size is missing for an lz4 body",
                );
            };
            lz4_flex::block::decompress(body, raw)
                .map_err(|e| Refusal(400, "InvalidParameter", format!("Decompress lz4 body failed: {e}")))
        }
        other => refuse(400, "InvalidParameter", format!("Unsupported content encoding {other}")),
    }
}

type Answer = Result<(u16, Value), Refusal>;

fn route(state: &mut State, req: &HttpRequest, body: &[u8]) -> Answer {
    let path = percent_decode(req.path());
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().as_str();
    let json = || -> Result<Value, Refusal> {
        serde_json::from_slice(body)
            .map_err(|e| Refusal(400, "InvalidParameter", format!("Invalid request body: {e}")))
    };
    match (method, parts.as_slice()) {
        ("GET", ["projects", p]) => {
            let project = project(state, p)?;
            Ok((
                200,
                json!({"Comment": "", "CreateTime": project.create_time, "LastModifyTime": project.create_time}),
            ))
        }
        ("GET", ["projects", p, "topics"]) => {
            let names: Vec<String> = project(state, p)?.topics.values().map(|t| t.name.clone()).collect();
            Ok((200, json!({ "TopicNames": names })))
        }
        ("GET", ["projects", p, "topics", t]) => get_topic(topic(state, p, t)?),
        ("POST", ["projects", p, "topics", t]) => {
            let body = json()?;
            match body["Action"].as_str() {
                None => create_topic(project(state, p)?, t, &body),
                Some(a) if a.eq_ignore_ascii_case("appendfield") => append_field(topic(state, p, t)?, &body),
                Some(a) => refuse(400, "InvalidParameter", format!("Unsupported action {a}")),
            }
        }
        ("GET", ["projects", p, "topics", t, "shards"]) => list_shards(topic(state, p, t)?),
        ("POST", ["projects", p, "topics", t, "shards"]) => {
            if body.len() > REQUEST_MAX {
                return refuse(
                    400,
                    "InvalidParameter",
                    format!("Request body size {} exceeds the limit of {REQUEST_MAX} bytes", body.len()),
                );
            }
            let body = json()?;
            match body["Action"].as_str() {
                Some("pub") => {
                    let State { projects, fail_next, .. } = state;
                    let topic = projects
                        .get_mut(&p.to_ascii_lowercase())
                        .ok_or_else(|| {
                            Refusal(404, "NoSuchProject", format!("The specified project {p} does not exist"))
                        })?
                        .topics
                        .get_mut(&t.to_ascii_lowercase())
                        .ok_or_else(|| {
                            Refusal(404, "NoSuchTopic", format!("The specified topic {t} does not exist"))
                        })?;
                    put_records(topic, fail_next, &body)
                }
                Some(a) => refuse(400, "InvalidParameter", format!("Unsupported action {a}")),
                None => refuse(400, "InvalidParameter", "Action is missing"),
            }
        }
        ("POST", ["projects", p, "topics", t, "shards", s]) => {
            let body = json()?;
            let topic = topic(state, p, t)?;
            let shard = topic.shards.iter().position(|sh| sh.id == *s).ok_or_else(|| {
                Refusal(404, "NoSuchShard", format!("The specified shard {s} does not exist"))
            })?;
            match body["Action"].as_str() {
                Some("cursor") => get_cursor(topic, shard, &body),
                Some("sub") => get_records(topic, shard, &body),
                Some(a) => refuse(400, "InvalidParameter", format!("Unsupported action {a}")),
                None => refuse(400, "InvalidParameter", "Action is missing"),
            }
        }
        (_, ["projects", ..]) => refuse(405, "MethodNotAllowed", format!("{method} {path} is not supported")),
        _ => refuse(400, "InvalidUriSpec", format!("Invalid uri {path}")),
    }
}

fn project<'a>(state: &'a mut State, name: &str) -> Result<&'a mut Project, Refusal> {
    state
        .projects
        .get_mut(&name.to_ascii_lowercase())
        .ok_or_else(|| Refusal(404, "NoSuchProject", format!("The specified project {name} does not exist")))
}

fn topic<'a>(state: &'a mut State, p: &str, t: &str) -> Result<&'a mut Topic, Refusal> {
    project(state, p)?
        .topics
        .get_mut(&t.to_ascii_lowercase())
        .ok_or_else(|| Refusal(404, "NoSuchTopic", format!("The specified topic {t} does not exist")))
}

fn valid_name(name: &str, first: fn(char) -> bool, min: usize) -> bool {
    (min..=128).contains(&name.len())
        && name.starts_with(first)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn topic_name_ok(name: &str) -> bool {
    valid_name(name, |c| c.is_ascii_alphabetic(), 3)
}

fn field_name_ok(name: &str) -> bool {
    valid_name(name, |c| c.is_ascii_alphabetic() || c == '_', 1)
}

fn create_topic(project: &mut Project, name: &str, body: &Value) -> Answer {
    if !topic_name_ok(name) {
        return refuse(
            400,
            "InvalidParameter",
            format!("Topic name {name} is invalid: [a-zA-Z][a-zA-Z0-9_]*, 3 to 128 characters"),
        );
    }
    if project.topics.contains_key(&name.to_ascii_lowercase()) {
        return refuse(400, "TopicAlreadyExist", format!("The specified topic name {name} already exists"));
    }
    let shards = body["ShardCount"].as_i64().filter(|n| (1..=256).contains(n));
    let lifecycle = body["Lifecycle"].as_i64().filter(|n| (1..=7).contains(n));
    let (Some(shards), Some(lifecycle)) = (shards, lifecycle) else {
        return refuse(400, "InvalidParameter", "ShardCount must be 1 to 256 and Lifecycle 1 to 7");
    };
    let record_type = body["RecordType"].as_str().unwrap_or_default().to_ascii_uppercase();
    let fields = match record_type.as_str() {
        "BLOB" => Vec::new(),
        "TUPLE" => {
            let Some(schema) = body["RecordSchema"].as_str() else {
                return refuse(400, "InvalidParameter", "RecordSchema is required for a TUPLE topic");
            };
            parse_schema(schema)?
        }
        other => return refuse(400, "InvalidParameter", format!("RecordType {other:?} is invalid")),
    };
    let now = now_secs();
    let topic = Topic {
        name: name.to_string(),
        record_type,
        fields,
        lifecycle,
        comment: body["Comment"].as_str().unwrap_or_default().to_string(),
        create_time: now,
        last_modify: now,
        shards: (0..shards).map(|i| Shard { id: i.to_string(), records: Vec::new() }).collect(),
        round_robin: 0,
    };
    project.topics.insert(name.to_ascii_lowercase(), topic);
    Ok((201, json!({})))
}

fn parse_schema(schema: &str) -> Result<Vec<Field>, Refusal> {
    let invalid = |why: String| Refusal(400, "InvalidParameter", format!("RecordSchema is invalid: {why}"));
    let schema: Value = serde_json::from_str(schema).map_err(|e| invalid(e.to_string()))?;
    let list =
        schema["fields"].as_array().filter(|f| !f.is_empty()).ok_or_else(|| invalid("no fields".into()))?;
    let mut fields: Vec<Field> = Vec::new();
    for f in list {
        let field = field_of(f["name"].as_str(), f["type"].as_str(), f["notnull"].as_bool().unwrap_or(false))
            .map_err(invalid)?;
        if fields.iter().any(|have| have.name.eq_ignore_ascii_case(&field.name)) {
            return Err(invalid(format!("field {} appears twice", field.name)));
        }
        fields.push(field);
    }
    Ok(fields)
}

fn field_of(name: Option<&str>, ty: Option<&str>, notnull: bool) -> Result<Field, String> {
    let name = name.ok_or("a field has no name")?;
    if !field_name_ok(name) {
        return Err(format!("field name {name} is invalid"));
    }
    let ty = ty.ok_or("a field has no type")?.to_ascii_lowercase();
    if !TYPES.contains(&ty.as_str()) {
        return Err(format!("field type {ty} is invalid"));
    }
    Ok(Field { name: name.to_string(), ty, notnull })
}

fn get_topic(topic: &Topic) -> Answer {
    let mut answer = json!({
        "ShardCount": topic.shards.len(),
        "Lifecycle": topic.lifecycle,
        "RecordType": topic.record_type,
        "Comment": topic.comment,
        "CreateTime": topic.create_time,
        "LastModifyTime": topic.last_modify,
    });
    if topic.record_type == "TUPLE" {
        let fields: Vec<Value> = topic
            .fields
            .iter()
            .map(|f| {
                let mut field = json!({"name": f.name, "type": f.ty.to_uppercase(), "comment": ""});
                if f.notnull {
                    field["notnull"] = Value::Bool(true);
                }
                field
            })
            .collect();
        answer["RecordSchema"] = Value::String(json!({ "fields": fields }).to_string());
    }
    Ok((200, answer))
}

fn append_field(topic: &mut Topic, body: &Value) -> Answer {
    if topic.record_type != "TUPLE" {
        return refuse(400, "InvalidParameter", "Only a TUPLE topic has fields");
    }
    let field = field_of(body["FieldName"].as_str(), body["FieldType"].as_str(), false)
        .map_err(|why| Refusal(400, "InvalidParameter", why))?;
    if topic.fields.iter().any(|f| f.name.eq_ignore_ascii_case(&field.name)) {
        return refuse(400, "InvalidParameter", format!("Field {} already exists", field.name));
    }
    topic.fields.push(field);
    topic.last_modify = now_secs();
    Ok((200, json!({})))
}

fn list_shards(topic: &Topic) -> Answer {
    let n = topic.shards.len() as u128;
    let width = u128::MAX / n;
    let key = |i: u128| format!("{:032X}", i * width);
    let shards: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "ShardId": i.to_string(),
                "State": "ACTIVE",
                "BeginHashKey": key(i),
                "EndHashKey": if i + 1 == n { "F".repeat(32) } else { key(i + 1) },
                "ClosedTime": "",
                "ParentShardIds": [],
                "LeftShardId": if i == 0 { "4294967295".to_string() } else { (i - 1).to_string() },
                "RightShardId": if i + 1 == n { "4294967295".to_string() } else { (i + 1).to_string() },
            })
        })
        .collect();
    Ok((200, json!({"Shards": shards, "Protocol": "http1.1", "Interval": 500})))
}

/// Whether `text` is a value of field type `ty`.
fn fits(ty: &str, text: &str) -> bool {
    let int = |min: i128, max: i128| text.parse::<i128>().is_ok_and(|i| (min..=max).contains(&i));
    match ty {
        "tinyint" => int(i8::MIN.into(), i8::MAX.into()),
        "smallint" => int(i16::MIN.into(), i16::MAX.into()),
        "integer" => int(i32::MIN.into(), i32::MAX.into()),
        "bigint" => int(i64::MIN.into(), i64::MAX.into()),
        "timestamp" => int(-62_135_798_400_000_000, 253_402_271_999_000_000),
        // As Java's Double.parseDouble reads them (Rust's parse also takes `inf`, `nan`...).
        "float" | "double" => {
            matches!(text, "NaN" | "Infinity" | "-Infinity" | "+Infinity")
                || (text.parse::<f64>().is_ok_and(f64::is_finite)
                    && !text.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E'))
        }
        "decimal" => is_decimal(text),
        "boolean" => text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false"),
        "string" => true,
        _ => false,
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, as Java's BigDecimal reads it.
fn is_decimal(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    (!whole.is_empty() || !fraction.is_empty())
        && digits(whole)
        && digits(fraction)
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        })
}

/// A record's data and size, checked against `topic`; why not otherwise.
fn record_data(topic: &Topic, data: &Value) -> Result<(Data, usize), String> {
    if topic.record_type == "BLOB" {
        let text = data.as_str().ok_or("Data of a BLOB record must be a base64 string")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("Data is not base64: {e}"))?;
        let size = bytes.len();
        return Ok((Data::Blob(bytes), size));
    }
    let values = data.as_array().ok_or("Data of a TUPLE record must be an array")?;
    if values.len() != topic.fields.len() {
        return Err(format!(
            "Record field size not match: {} values for {} fields",
            values.len(),
            topic.fields.len()
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    let mut size = 0;
    for (field, value) in topic.fields.iter().zip(values) {
        match value {
            Value::Null if field.notnull => return Err(format!("Field {} is not nullable", field.name)),
            Value::Null => out.push(None),
            Value::String(text) if fits(&field.ty, text) => {
                size += text.len();
                out.push(Some(text.clone()));
            }
            Value::String(text) => {
                return Err(format!("Field {} of type {}: invalid value {text:?}", field.name, field.ty))
            }
            other => {
                return Err(format!("Field {}: a value must be a string or null, not {other}", field.name))
            }
        }
    }
    Ok((Data::Tuple(out), size))
}

fn put_records(
    topic: &mut Topic,
    fail_next: &mut VecDeque<Option<(String, String)>>,
    body: &Value,
) -> Answer {
    let Some(records) = body["Records"].as_array().filter(|r| !r.is_empty()) else {
        return refuse(400, "InvalidParameter", "Records is empty");
    };
    let mut checked = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let malformed = |why: String| Refusal(400, "MalformedRecord", format!("Record {i}: {why}"));
        let (data, size) = record_data(topic, &record["Data"]).map_err(malformed)?;
        if size > RECORD_MAX {
            return refuse(
                400,
                "InvalidParameter",
                format!("Record {i}: size {size} exceeds the limit of {RECORD_MAX} bytes"),
            );
        }
        let mut attributes = BTreeMap::new();
        if let Some(map) = record.get("Attributes") {
            let map = map.as_object().ok_or_else(|| malformed("Attributes must be an object".into()))?;
            for (k, v) in map {
                let v = v.as_str().ok_or_else(|| malformed(format!("attribute {k} is not a string")))?;
                attributes.insert(k.clone(), v.to_string());
            }
        }
        let shard = match record["ShardId"].as_str() {
            Some(id) => topic.shards.iter().position(|s| s.id == id).ok_or_else(|| {
                Refusal(
                    400,
                    "InvalidParameter",
                    format!("Record {i}: shard {id} does not exist or is not ACTIVE"),
                )
            })?,
            None => match record["PartitionKey"].as_str().or(record["HashKey"].as_str()) {
                Some(key) => (fnv(key.as_bytes()) % topic.shards.len() as u64) as usize,
                None => {
                    topic.round_robin = (topic.round_robin + 1) % topic.shards.len();
                    topic.round_robin
                }
            },
        };
        checked.push((shard, data, attributes));
    }
    let mut failed = Vec::new();
    let now = now_ms();
    for (i, (shard, data, attributes)) in checked.into_iter().enumerate() {
        if let Some((code, message)) = fail_next.pop_front().flatten() {
            failed.push(json!({"Index": i, "ErrorCode": code, "ErrorMessage": message}));
            continue;
        }
        let shard = &mut topic.shards[shard];
        let sequence = shard.records.len() as u64;
        shard.records.push(StoredRecord {
            shard: shard.id.clone(),
            sequence,
            system_time: now,
            data,
            attributes,
        });
    }
    Ok((200, json!({"FailedRecordCount": failed.len(), "FailedRecords": failed})))
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// A cursor: the shard and the sequence, 32 hex digits.
fn cursor(shard: usize, sequence: u64) -> String {
    format!("{shard:016x}{sequence:016x}")
}

fn get_cursor(topic: &Topic, shard: usize, body: &Value) -> Answer {
    let records = &topic.shards[shard].records;
    let at = |sequence: u64| {
        let time = records.get(sequence as usize).map_or(0, |r| r.system_time);
        Ok((200, json!({"Cursor": cursor(shard, sequence), "RecordTime": time, "Sequence": sequence})))
    };
    match body["Type"].as_str().unwrap_or_default() {
        "OLDEST" => at(0),
        "LATEST" => at((records.len() as u64).saturating_sub(1)),
        "SEQUENCE" => match body["Sequence"].as_u64() {
            Some(s) if s <= records.len() as u64 => at(s),
            Some(s) => refuse(400, "SeekOutOfRange", format!("Sequence {s} is out of range")),
            None => refuse(400, "InvalidParameter", "Sequence is required"),
        },
        "SYSTEM_TIME" => match body["SystemTime"].as_u64() {
            Some(t) => at(records.iter().position(|r| r.system_time >= t).unwrap_or(records.len()) as u64),
            None => refuse(400, "InvalidParameter", "SystemTime is required"),
        },
        other => refuse(400, "InvalidParameter", format!("Cursor type {other:?} is invalid")),
    }
}

fn get_records(topic: &Topic, shard: usize, body: &Value) -> Answer {
    let text = body["Cursor"].as_str().unwrap_or_default();
    let parsed = (text.len() == 32)
        .then(|| {
            Some((usize::from_str_radix(&text[..16], 16).ok()?, u64::from_str_radix(&text[16..], 16).ok()?))
        })
        .flatten();
    let Some((cursor_shard, start)) = parsed.filter(|(s, _)| *s == shard) else {
        return refuse(400, "InvalidCursor", format!("Cursor {text:?} is invalid"));
    };
    let limit = body["Limit"].as_u64().unwrap_or(10).clamp(1, GET_LIMIT);
    let records = &topic.shards[cursor_shard].records;
    let page: Vec<&StoredRecord> = records.iter().skip(start as usize).take(limit as usize).collect();
    let fields = topic.fields.len();
    let listed: Vec<Value> = page
        .iter()
        .map(|r| {
            let data = match &r.data {
                // A record put before fields were appended reads with null in them.
                Data::Tuple(values) => {
                    json!(values
                        .iter()
                        .cloned()
                        .chain(std::iter::repeat(None))
                        .take(fields.max(values.len()))
                        .collect::<Vec<_>>())
                }
                Data::Blob(bytes) => json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
            };
            let mut record = json!({"Data": data, "Sequence": r.sequence, "SystemTime": r.system_time});
            if !r.attributes.is_empty() {
                record["Attributes"] = json!(r.attributes);
            }
            record
        })
        .collect();
    let next = start + page.len() as u64;
    Ok((
        200,
        json!({"NextCursor": cursor(shard, next), "RecordCount": listed.len(), "StartSeq": start, "Records": listed}),
    ))
}
