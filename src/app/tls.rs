//! Optional HTTPS for the API and console: the node's certificate chain and key (PEM files).
//! The node's calls to other nodes then use HTTPS too, trusting `ca` (default: the node's own
//! certificate, so one certificate naming every node's address serves a whole cluster).

use crate::peers::Peers;
use anyhow::Context as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct TlsOptions {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The roots the node trusts when it calls another node.
    pub ca: Option<PathBuf>,
}

impl TlsOptions {
    /// Both files or neither; a CA only with them.
    pub fn from_args(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
    ) -> anyhow::Result<Option<Self>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsOptions { cert, key, ca })),
            (None, None) if ca.is_some() => anyhow::bail!("--tls-ca needs --tls-cert and --tls-key"),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!("--tls-cert needs --tls-key (the certificate's private key)"),
            (None, Some(_)) => anyhow::bail!("--tls-key needs --tls-cert (the certificate chain)"),
        }
    }

    /// The server side: the certificate chain and its key, checked now so a bad file stops the
    /// node at start with its name.
    pub fn server_config(&self) -> anyhow::Result<rustls::ServerConfig> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .with_context(|| format!("reading the certificate chain {}", self.cert.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{} holds no PEM certificate", self.cert.display());
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("reading the private key {}", self.key.display()))?;
        // ring (deprecated in rustls for lacking post-quantum key exchange): aws-lc-rs would
        // add a C build with cmake to every build, and the node's clients use ring already.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .with_context(|| {
                format!("the key {} does not fit the certificate {}", self.key.display(), self.cert.display())
            })
    }

    /// How the node calls the others: HTTPS trusting `ca`, else its own certificate.
    pub fn peers(&self) -> anyhow::Result<Peers> {
        Peers::tls(self.ca.as_ref().unwrap_or(&self.cert)).map_err(anyhow::Error::msg)
    }
}
