//! The subset of DataHub's HTTP API a sink needs, JSON protocol, uncompressed bodies:
//! CreateTopic, GetTopic, AppendField, ListShard and PutRecords. Every request is signed
//! (`sign`) and carries `x-datahub-client-version: 1.1`, `Date` and `Content-Type`, as the
//! official SDKs send them.
//!
//! Errors keep DataHub's `ErrorCode` and `ErrorMessage`; [`CallError::transient`] tells what is
//! worth retrying (5xx, throttling, timeouts, refused connections) from what needs the user.

use super::config::{DatahubSinkConfig, RecordType};
use super::sign;
use crate::sink::SinkError;
use reqwest::{Method, Url};
use serde_json::{json, Value as Json};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The API version the official SDKs announce.
pub const CLIENT_VERSION: &str = "1.1";
const JSON_TYPE: &str = "application/json";
/// Where a system's trusted roots usually are (Debian, RHEL, Alpine, SUSE); `SSL_CERT_FILE`
/// first when set.
const CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// A TUPLE field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Tinyint,
    Smallint,
    Integer,
    Bigint,
    Float,
    Double,
    Decimal,
    Boolean,
    /// Microseconds since the epoch.
    Timestamp,
    String,
}

impl FieldType {
    /// The name in a RecordSchema (`bigint`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Tinyint => "tinyint",
            FieldType::Smallint => "smallint",
            FieldType::Integer => "integer",
            FieldType::Bigint => "bigint",
            FieldType::Float => "float",
            FieldType::Double => "double",
            FieldType::Decimal => "decimal",
            FieldType::Boolean => "boolean",
            FieldType::Timestamp => "timestamp",
            FieldType::String => "string",
        }
    }

    /// A type name in any case.
    pub fn parse(name: &str) -> Option<FieldType> {
        const ALL: [FieldType; 10] = [
            FieldType::Tinyint,
            FieldType::Smallint,
            FieldType::Integer,
            FieldType::Bigint,
            FieldType::Float,
            FieldType::Double,
            FieldType::Decimal,
            FieldType::Boolean,
            FieldType::Timestamp,
            FieldType::String,
        ];
        ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(name))
    }
}

/// A field of a TUPLE topic's RecordSchema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// The field refuses null.
    pub notnull: bool,
}

impl Field {
    pub fn new(name: impl Into<String>, ty: FieldType) -> Self {
        Field { name: name.into(), ty, notnull: false }
    }
}

/// A topic as GetTopic describes it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// `TUPLE` or `BLOB`.
    pub record_type: String,
    /// A TUPLE topic's fields.
    pub fields: Vec<Field>,
}

/// A shard as ListShard describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    /// `OPENING`, `ACTIVE`, `CLOSING` or `CLOSED`.
    pub state: String,
}

/// A record of a PutRecords request the service did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    pub index: usize,
    pub code: String,
    pub message: String,
}

impl FailedRecord {
    /// Worth sending again (throttled, or the service failed); a malformed record is not.
    pub fn transient(&self) -> bool {
        transient_code(&self.code)
    }
}

/// Error codes that say "later" rather than "no". A shard closed by a split or merge
/// (`InvalidShardOperation`) is one: the run that starts after the sink gives up lists the
/// topic's shards again.
fn transient_code(code: &str) -> bool {
    matches!(
        code,
        "LimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ShardNotReady"
            | "InvalidShardOperation"
    )
}

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// DataHub answered with an error.
    Api { status: u16, code: String, message: String, request_id: String },
    /// No answer: connection refused or reset, timeout, unreadable body.
    Transport(String),
}

impl CallError {
    /// Worth retrying after a pause.
    pub fn transient(&self) -> bool {
        match self {
            CallError::Transport(_) => true,
            CallError::Api { status, code, .. } => *status >= 500 || *status == 429 || transient_code(code),
        }
    }

    /// DataHub's `ErrorCode` (empty without an answer).
    pub fn code(&self) -> &str {
        match self {
            CallError::Api { code, .. } => code,
            CallError::Transport(_) => "",
        }
    }

    /// The sink error of a call made `doing` something: `Unavailable` when transient, else
    /// `Refused`.
    pub fn into_sink(self, doing: &str) -> SinkError {
        let text = format!("datahub {doing}: {self}");
        match self.transient() {
            true => SinkError::Unavailable(text),
            false => SinkError::Refused(text),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Api { status, code, message, request_id } => {
                write!(f, "{code}: {message} (HTTP {status}, request id {request_id:?})")
            }
            CallError::Transport(e) => write!(f, "{e}"),
        }
    }
}

fn transport(e: reqwest::Error) -> CallError {
    // `{:#}`-like detail: reqwest's own text hides the cause (connection refused...).
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    CallError::Transport(text)
}

/// A signing DataHub client for one project.
pub struct Client {
    http: reqwest::Client,
    /// The endpoint without a trailing `/`.
    endpoint: String,
    /// The endpoint's own path (signed with every request path), without a trailing `/`.
    base_path: String,
    project: String,
    access_id: String,
    access_key: String,
}

impl Client {
    /// A client whose requests wait at most `timeout` each (unless a call says less).
    pub fn new(config: &DatahubSinkConfig, timeout: Duration) -> Result<Self, SinkError> {
        let url = Url::parse(&config.endpoint)
            .map_err(|e| SinkError::Refused(format!("datahub endpoint {:?}: {e}", config.endpoint)))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")));
        if url.scheme() == "https" {
            builder = builder.use_rustls_tls().tls_built_in_root_certs(false);
            for cert in system_roots()? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http =
            builder.build().map_err(|e| SinkError::Refused(format!("an HTTP client for datahub: {e}")))?;
        Ok(Client {
            http,
            endpoint: config.endpoint.trim_end_matches('/').to_string(),
            base_path: url.path().trim_end_matches('/').to_string(),
            project: config.project.clone(),
            access_id: config.access_id.clone(),
            access_key: config.access_key.clone(),
        })
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// One signed request; the body of a 2xx answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallError> {
        let date = sign::http_date(SystemTime::now());
        let canonical = sign::canonical(
            method.as_str(),
            JSON_TYPE,
            &date,
            &[("x-datahub-client-version", CLIENT_VERSION)],
            &format!("{}{path}", self.base_path),
            &[],
        );
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.endpoint))
            .header(reqwest::header::CONTENT_TYPE, JSON_TYPE)
            .header(reqwest::header::DATE, date)
            .header("x-datahub-client-version", CLIENT_VERSION)
            .header(
                reqwest::header::AUTHORIZATION,
                sign::authorization(&self.access_id, &self.access_key, &canonical),
            );
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-datahub-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let (code, message) = match serde_json::from_slice::<Json>(&bytes) {
            Ok(error) => (
                error["ErrorCode"].as_str().unwrap_or_default().to_string(),
                error["ErrorMessage"].as_str().unwrap_or_default().to_string(),
            ),
            Err(_) => (String::new(), String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned()),
        };
        Err(CallError::Api { status: status.as_u16(), code, message, request_id })
    }

    /// GetProject: the endpoint answers, the project exists and the AccessKey may use it.
    pub async fn get_project(&self) -> Result<(), CallError> {
        self.call(Method::GET, &format!("/projects/{}", self.project), None, None).await.map(|_| ())
    }

    fn topic_path(&self, topic: &str) -> String {
        format!("/projects/{}/topics/{topic}", self.project)
    }

    /// CreateTopic. A TUPLE topic takes `fields` as its RecordSchema.
    pub async fn create_topic(
        &self,
        topic: &str,
        shards: u32,
        lifecycle_days: u32,
        record_type: RecordType,
        fields: &[Field],
        comment: &str,
    ) -> Result<(), CallError> {
        let mut body = json!({
            "ShardCount": shards,
            "Lifecycle": lifecycle_days,
            "RecordType": super::config::wire_name(record_type),
            "Comment": comment,
        });
        if record_type == RecordType::Tuple {
            body["RecordSchema"] = Json::String(record_schema(fields).to_string());
        }
        self.call(Method::POST, &self.topic_path(topic), Some(body.to_string().into_bytes()), None).await?;
        Ok(())
    }

    /// GetTopic.
    pub async fn get_topic(&self, topic: &str) -> Result<TopicInfo, CallError> {
        let body = self.call(Method::GET, &self.topic_path(topic), None, None).await?;
        let info: Json = serde_json::from_slice(&body).map_err(|e| malformed("GetTopic", e))?;
        let record_type = info["RecordType"].as_str().unwrap_or_default().to_ascii_uppercase();
        let fields = match info["RecordSchema"].as_str() {
            Some(schema) if !schema.is_empty() => {
                let schema: Json = serde_json::from_str(schema).map_err(|e| malformed("GetTopic", e))?;
                parse_fields(&schema).ok_or_else(|| malformed("GetTopic", "a RecordSchema field"))?
            }
            _ => Vec::new(),
        };
        Ok(TopicInfo { record_type, fields })
    }

    /// AppendField: a nullable field after the others.
    pub async fn append_field(&self, topic: &str, field: &Field) -> Result<(), CallError> {
        let body = json!({"Action": "appendfield", "FieldName": field.name, "FieldType": field.ty.as_str()});
        self.call(Method::POST, &self.topic_path(topic), Some(body.to_string().into_bytes()), None).await?;
        Ok(())
    }

    /// ListShard.
    pub async fn list_shards(&self, topic: &str) -> Result<Vec<Shard>, CallError> {
        let path = format!("{}/shards", self.topic_path(topic));
        let body = self.call(Method::GET, &path, None, None).await?;
        let list: Json = serde_json::from_slice(&body).map_err(|e| malformed("ListShard", e))?;
        let shards = list["Shards"].as_array().ok_or_else(|| malformed("ListShard", "no Shards"))?;
        Ok(shards
            .iter()
            .map(|s| Shard {
                id: s["ShardId"].as_str().unwrap_or_default().to_string(),
                state: s["State"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// PutRecords with a body made by `batch::Batch::body`; the records it did not take.
    pub async fn put_records(
        &self,
        topic: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<FailedRecord>, CallError> {
        let path = format!("{}/shards", self.topic_path(topic));
        let answer = self.call(Method::POST, &path, Some(body), Some(timeout)).await?;
        let answer: Json = serde_json::from_slice(&answer).map_err(|e| malformed("PutRecords", e))?;
        let failed = answer["FailedRecords"].as_array().map(Vec::as_slice).unwrap_or_default();
        Ok(failed
            .iter()
            .map(|f| FailedRecord {
                index: f["Index"].as_u64().unwrap_or(0) as usize,
                code: f["ErrorCode"].as_str().unwrap_or_default().to_string(),
                message: f["ErrorMessage"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }
}

/// An answer that is not what the API documents (a proxy's page, another service).
fn malformed(call: &str, e: impl fmt::Display) -> CallError {
    CallError::Api {
        status: 200,
        code: "MalformedResponse".into(),
        message: format!("the {call} answer is not DataHub's: {e}"),
        request_id: String::new(),
    }
}

/// A RecordSchema's JSON: `{"fields":[{"name","type","comment"[,"notnull"]}]}`.
pub fn record_schema(fields: &[Field]) -> Json {
    let fields: Vec<Json> = fields
        .iter()
        .map(|f| {
            let mut field = json!({"name": f.name, "type": f.ty.as_str(), "comment": ""});
            if f.notnull {
                field["notnull"] = Json::Bool(true);
            }
            field
        })
        .collect();
    json!({ "fields": fields })
}

/// The fields of a RecordSchema's JSON; `None` when one is not understood.
pub fn parse_fields(schema: &Json) -> Option<Vec<Field>> {
    schema["fields"]
        .as_array()?
        .iter()
        .map(|f| {
            Some(Field {
                name: f["name"].as_str()?.to_string(),
                ty: FieldType::parse(f["type"].as_str()?)?,
                notnull: f["notnull"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The system's trusted roots, for an https endpoint.
fn system_roots() -> Result<Vec<reqwest::Certificate>, SinkError> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    let paths = from_env.iter().map(String::as_str).chain(CA_BUNDLES);
    for path in paths {
        if let Ok(pem) = std::fs::read(path) {
            return reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| SinkError::Refused(format!("reading trusted certificates from {path}: {e}")));
        }
    }
    Err(SinkError::Refused(format!(
        "an https datahub endpoint needs the system's trusted certificates: none at {} (set SSL_CERT_FILE)",
        CA_BUNDLES.join(", ")
    )))
}
