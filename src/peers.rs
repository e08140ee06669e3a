//! How a node calls another node's API (a forwarded call, a store's log read from there):
//! over HTTP, or over HTTPS when the nodes serve it, trusting only the roots the node was
//! given (its own certificate by default: one certificate naming every node's address).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[derive(Clone)]
pub struct Peers {
    client: reqwest::Client,
    scheme: &'static str,
}

impl Default for Peers {
    fn default() -> Self {
        Self::plain()
    }
}

impl Peers {
    /// Plain HTTP.
    pub fn plain() -> Self {
        Peers { client: reqwest::Client::new(), scheme: "http" }
    }

    /// HTTPS, trusting the certificates of the PEM file `roots` (and no built-in roots).
    pub fn tls(roots: &std::path::Path) -> Result<Self, String> {
        Ok(Peers { client: tls_client(roots)?, scheme: "https" })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `<scheme>://<addr><path>`.
    pub fn url(&self, addr: &str, path: &str) -> String {
        format!("{}://{addr}{path}", self.scheme)
    }
}

/// A client that trusts only the certificates in the PEM file `roots`.
pub fn tls_client(roots: &std::path::Path) -> Result<reqwest::Client, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(roots)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("reading certificates from {}: {e}", roots.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", roots.display()));
    }
    let mut builder = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false);
    for cert in certs {
        let cert = reqwest::Certificate::from_der(&cert)
            .map_err(|e| format!("a certificate in {}: {e}", roots.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| format!("an HTTPS client trusting {}: {e}", roots.display()))
}
