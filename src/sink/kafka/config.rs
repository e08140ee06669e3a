use super::KafkaProducer;
use crate::client_tls::ClientTls;
use crate::meta::{DataSourceKind, SaslMechanism};
use crate::secrets::{Keyring, SecretError};
use crate::sink::message::MessageSink;
use crate::sink::{SinkContext, SinkError};
use rdkafka::config::ClientConfig;

/// How a project writes to Kafka.
#[derive(Debug, Clone)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Replication factor of topics Ferry creates; none: the broker's default.
    pub replication_factor: Option<i16>,
    /// Where messages the brokers refuse for good go; none: they fail the project.
    pub dead_letter_topic: Option<String>,
    /// TLS to the brokers.
    pub tls: Option<ClientTls>,
    /// SASL authentication.
    pub sasl: Option<SaslLogin>,
}

/// A SASL user and its password in clear (never logged).
#[derive(Clone)]
pub struct SaslLogin {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl KafkaSinkConfig {
    /// A kafka data source's settings, its secrets opened; `None` for another kind.
    pub fn of(kind: &DataSourceKind, keyring: &Keyring) -> Option<Result<Self, SecretError>> {
        let DataSourceKind::Kafka { bootstrap_servers, replication_factor, dead_letter_topic, tls, sasl } =
            kind
        else {
            return None;
        };
        Some((|| -> Result<Self, SecretError> {
            Ok(KafkaSinkConfig {
                bootstrap_servers: bootstrap_servers.clone(),
                replication_factor: *replication_factor,
                dead_letter_topic: dead_letter_topic.clone(),
                tls: tls.as_ref().map(|tls| tls.open(keyring)).transpose()?,
                sasl: match sasl {
                    Some(s) => Some(SaslLogin {
                        mechanism: s.mechanism,
                        username: s.username.clone(),
                        password: keyring.open(&s.password_sealed)?,
                    }),
                    None => None,
                },
            })
        })())
    }

    /// An rdkafka client's settings for these brokers: the addresses and the security every
    /// client of the project (producers, admin, the API's checks) uses.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers).set("socket.timeout.ms", "10000");
        let protocol = match (&self.tls, &self.sasl) {
            (None, None) => "plaintext",
            (Some(_), None) => "ssl",
            (None, Some(_)) => "sasl_plaintext",
            (Some(_), Some(_)) => "sasl_ssl",
        };
        c.set("security.protocol", protocol);
        if let Some(tls) = &self.tls {
            if let Some(ca) = &tls.ca_pem {
                c.set("ssl.ca.pem", ca);
            }
            if let Some((cert, key)) = &tls.identity {
                c.set("ssl.certificate.pem", cert).set("ssl.key.pem", key);
            }
            c.set(
                "ssl.endpoint.identification.algorithm",
                if tls.verify_hostname { "https" } else { "none" },
            );
        }
        if let Some(sasl) = &self.sasl {
            c.set("sasl.mechanism", sasl.mechanism.as_str())
                .set("sasl.username", &sasl.username)
                .set("sasl.password", &sasl.password);
        }
        c
    }

    /// Starts the producer; deliveries are reported to the context's acknowledgements.
    pub fn build(&self, ctx: SinkContext) -> Result<MessageSink<KafkaProducer>, SinkError> {
        let producer = KafkaProducer::new(self, &ctx)?;
        Ok(MessageSink::new(producer, ctx))
    }
}

/// A client context keeping the last error librdkafka reported (a refused SASL login, a TLS
/// handshake failure), so a failed request can say why rather than only that it timed out.
#[derive(Default)]
pub struct ClientErrors {
    last: std::sync::Mutex<Option<String>>,
}

impl ClientErrors {
    pub fn last(&self) -> Option<String> {
        self.last.lock().unwrap().clone()
    }
}

impl rdkafka::ClientContext for ClientErrors {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "kafka client error");
        // "1/1 brokers are down" follows the error that took them down: keep that one.
        if error.rdkafka_error_code() != Some(rdkafka::error::RDKafkaErrorCode::AllBrokersDown) {
            *self.last.lock().unwrap() = Some(reason.to_string());
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ClientErrors {}

/// Whether a client error is one no retry mends: the login refused, the TLS handshake failed
/// (an untrusted certificate, a name it does not hold). librdkafka reports a failed
/// verification as `_SSL`, or at times as a transport error naming it.
pub(super) fn refuses_connection(error: &rdkafka::error::KafkaError, reason: &str) -> bool {
    use rdkafka::error::RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        Some(C::Authentication | C::SSL | C::SaslAuthenticationFailed) => true,
        Some(C::BrokerTransportFailure) => reason.contains("certificate verify failed"),
        _ => false,
    }
}
