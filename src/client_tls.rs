//! TLS for Ferry's own connections to the servers it reads and writes (MySQL-protocol servers,
//! Kafka brokers); each client library applies [`ClientTls`] in its own way.

/// TLS settings ready to connect with (a data source's `Tls`, opened): the client key in
/// clear, never logged.
#[derive(Clone, PartialEq)]
pub struct ClientTls {
    pub ca_pem: Option<String>,
    /// The client certificate chain and its private key (PEM).
    pub identity: Option<(String, String)>,
    pub verify_hostname: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("identity", &self.identity.as_ref().map(|_| "<certificate and key>"))
            .field("verify_hostname", &self.verify_hostname)
            .finish()
    }
}

/// Makes ring the process's rustls crypto provider. rustls is built with both ring and aws-lc-rs
/// here (RocketMQ's client brings the latter), so a client asking for the process default
/// (mysql_async's TLS) finds none unless one is installed; ring is what the node's own HTTPS
/// uses. Idempotent.
pub fn install_crypto_provider() {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}
