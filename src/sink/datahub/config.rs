use super::client::Client;
use super::{names, DatahubSink};
use crate::meta::DataSourceKind;
use crate::secrets::{Keyring, SecretError};
use crate::sink::{SinkContext, SinkError};
use std::fmt;

/// What the topics Ferry writes hold (the data source's `record_type`).
pub use crate::meta::DatahubRecordType as RecordType;

/// Days a topic Ferry creates keeps its records, unless the data source says otherwise.
pub const LIFECYCLE_DAYS: u32 = 7;
/// The longest lifecycle DataHub gives a topic.
const LIFECYCLE_MAX: u32 = 7;

/// `TUPLE` or `BLOB`, as the DataHub API names a record type.
pub fn wire_name(t: RecordType) -> &'static str {
    match t {
        RecordType::Tuple => "TUPLE",
        RecordType::Blob => "BLOB",
    }
}

/// How a project writes to an Alibaba Cloud DataHub project.
#[derive(Clone)]
pub struct DatahubSinkConfig {
    /// The DataHub endpoint of the project's region, `http://host:port` or `https://host`.
    pub endpoint: String,
    /// The DataHub project the topics are created in (it must exist).
    pub project: String,
    /// The AccessKey ID requests are signed with.
    pub access_id: String,
    /// The AccessKey secret, already unsealed.
    pub access_key: String,
    /// What the topics Ferry creates hold.
    pub record_type: RecordType,
    /// The BLOB topic a record over DataHub's 1 MiB goes to instead (none: the project fails).
    pub dead_letter_topic: Option<String>,
    /// Days the topics Ferry creates keep their records.
    pub lifecycle_days: u32,
}

/// Never prints the AccessKey secret.
impl fmt::Debug for DatahubSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatahubSinkConfig")
            .field("endpoint", &self.endpoint)
            .field("project", &self.project)
            .field("access_id", &self.access_id)
            .field("access_key", &"<secret>")
            .field("record_type", &self.record_type)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("lifecycle_days", &self.lifecycle_days)
            .finish()
    }
}

impl DatahubSinkConfig {
    /// A datahub data source's settings, its AccessKey secret opened; `None` for another kind.
    pub fn of(kind: &DataSourceKind, keyring: &Keyring) -> Option<Result<Self, SecretError>> {
        let DataSourceKind::Datahub {
            endpoint,
            project,
            access_id,
            access_key_sealed,
            record_type,
            dead_letter_topic,
            lifecycle_days,
        } = kind
        else {
            return None;
        };
        Some(keyring.open(access_key_sealed).map(|access_key| DatahubSinkConfig {
            endpoint: endpoint.clone(),
            project: project.clone(),
            access_id: access_id.clone(),
            access_key,
            record_type: *record_type,
            dead_letter_topic: dead_letter_topic.clone(),
            lifecycle_days: lifecycle_days.unwrap_or(LIFECYCLE_DAYS),
        }))
    }

    /// What is wrong with these settings, if anything.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(format!("datahub endpoint {:?} must start with http:// or https://", self.endpoint));
        }
        if self.project.is_empty() || self.access_id.is_empty() || self.access_key.is_empty() {
            return Err("a datahub destination needs a project, an access_id and an access_key".into());
        }
        if !(1..=LIFECYCLE_MAX).contains(&self.lifecycle_days) {
            return Err(format!(
                "lifecycle_days {} is out of DataHub's range, 1 to {LIFECYCLE_MAX}",
                self.lifecycle_days
            ));
        }
        if let Some(topic) = &self.dead_letter_topic {
            if !names::is_topic(topic) {
                return Err(format!(
                    "dead_letter_topic {topic:?} is not a DataHub topic name (a letter, then letters, digits or _; 3 to {} characters)",
                    names::MAX_LEN
                ));
            }
        }
        Ok(())
    }

    /// The sink; it asks DataHub for each table's topic when the table is opened.
    pub fn build(&self, ctx: SinkContext) -> Result<DatahubSink, SinkError> {
        self.validate().map_err(SinkError::Refused)?;
        let client = Client::new(self, ctx.delivery_timeout)?;
        Ok(DatahubSink::new(client, self, ctx))
    }
}
