use super::names;
use super::RocketmqProducer;
use crate::meta::DataSourceKind;
use crate::secrets::{Keyring, SecretError};
use crate::sink::message::MessageSink;
use crate::sink::{SinkContext, SinkError};
use std::fmt;
use std::time::Duration;

/// How a project writes to RocketMQ.
#[derive(Clone)]
pub struct RocketmqSinkConfig {
    /// The name servers, `host:port[;host:port...]`.
    pub name_server: String,
    pub producer_group: String,
    /// ACL credentials (the secret key already unsealed); none: no ACL.
    pub credentials: Option<(String, String)>,
    /// Every message's tag.
    pub tag: String,
    /// How long one send may take before it counts as failed.
    pub send_timeout: Duration,
    /// Where a message over RocketMQ's 4 MiB goes instead, with properties saying why; none:
    /// it fails the project.
    pub dead_letter_topic: Option<String>,
}

/// Never prints the secret key.
impl fmt::Debug for RocketmqSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocketmqSinkConfig")
            .field("name_server", &self.name_server)
            .field("producer_group", &self.producer_group)
            .field("access_key", &self.credentials.as_ref().map(|(key, _)| key))
            .field("tag", &self.tag)
            .field("send_timeout", &self.send_timeout)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .finish()
    }
}

impl RocketmqSinkConfig {
    /// A rocketmq data source's settings, its secret key opened; `None` for another kind.
    pub fn of(kind: &DataSourceKind, keyring: &Keyring) -> Option<Result<Self, SecretError>> {
        let DataSourceKind::Rocketmq {
            name_server,
            producer_group,
            access_key,
            secret_key_sealed,
            tag,
            send_timeout_ms,
            dead_letter_topic,
        } = kind
        else {
            return None;
        };
        let credentials = match (access_key, secret_key_sealed) {
            (Some(key), Some(sealed)) => match keyring.open(sealed) {
                Ok(secret) => Some((key.clone(), secret)),
                Err(e) => return Some(Err(e)),
            },
            _ => None,
        };
        Some(Ok(RocketmqSinkConfig {
            name_server: name_server.clone(),
            producer_group: producer_group.clone(),
            credentials,
            tag: tag.clone(),
            send_timeout: Duration::from_millis(u64::from(*send_timeout_ms)),
            dead_letter_topic: dead_letter_topic.clone(),
        }))
    }

    /// What is wrong with these settings, if anything.
    pub fn validate(&self) -> Result<(), String> {
        let servers: Vec<&str> = self.name_server.split(';').map(str::trim).collect();
        if servers.iter().any(|s| !valid_address(s)) {
            return Err(format!("name_server {:?} is not host:port[;host:port...]", self.name_server));
        }
        names::check_group(&self.producer_group)?;
        if self.tag.is_empty() || self.tag.contains("||") {
            return Err(format!("tag {:?} must be non-empty and without ||", self.tag));
        }
        if let Some((key, secret)) = &self.credentials {
            if key.is_empty() || secret.is_empty() {
                return Err("access_key and secret_key must both be given, or neither".into());
            }
        }
        if self.send_timeout.is_zero() {
            return Err("send_timeout_ms must be at least 1".into());
        }
        if let Some(topic) = &self.dead_letter_topic {
            if names::topic(topic).ok().as_ref() != Some(topic) {
                return Err(format!(
                    "dead_letter_topic {topic:?} is not a RocketMQ topic name (1-127 of a-z A-Z 0-9 _ - % |)"
                ));
            }
        }
        Ok(())
    }

    /// The sink; its producer starts at the first table opened. Deliveries are reported to
    /// the context's acknowledgements.
    pub fn build(&self, ctx: SinkContext) -> Result<MessageSink<RocketmqProducer>, SinkError> {
        self.validate().map_err(SinkError::Refused)?;
        let producer = RocketmqProducer::new(self, &ctx);
        Ok(MessageSink::new(producer, ctx))
    }
}

/// `host:port` with a port number.
fn valid_address(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
