//! The `tls` and `sasl` settings of a data source's API body: checked when given (every PEM
//! parsed, so a pasted half certificate is refused at once, naming the field), sealed like
//! passwords, and shown without secrets.

use super::ApiError;
use crate::meta::{Sasl, SaslMechanism, Tls};
use crate::secrets::Keyring;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// TLS to the server: `{}` trusts the public roots and checks the host name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsBody {
    /// PEM certificates to trust instead of the public roots (a private CA).
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// Mutual TLS: Ferry's certificate chain (PEM), with `key_pem`.
    #[serde(default)]
    pub cert_pem: Option<String>,
    /// Mutual TLS: the private key of `cert_pem` (PEM; sealed, never shown).
    #[serde(default)]
    pub key_pem: Option<String>,
    /// Check that the certificate names the host (default true).
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

fn yes() -> bool {
    true
}

/// SASL authentication (Kafka).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaslBody {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    pub username: String,
    /// Sealed, never shown.
    pub password: String,
}

/// A data source's TLS as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TlsView {
    /// Trusting given certificates (else the public roots).
    pub custom_ca: bool,
    /// Presenting a client certificate (mutual TLS).
    pub client_certificate: bool,
    pub verify_hostname: bool,
}

/// A data source's SASL as the API shows it (never the password).
#[derive(Debug, Serialize, ToSchema)]
pub struct SaslView {
    pub mechanism: SaslMechanism,
    pub username: String,
}

impl TlsBody {
    /// Checks every PEM and seals the key.
    pub fn seal(self, keyring: &Keyring) -> Result<Tls, ApiError> {
        if let Some(ca) = &self.ca_pem {
            certificates("tls.ca_pem", ca)?;
        }
        let key_sealed = match (&self.cert_pem, &self.key_pem) {
            (Some(cert), Some(key)) => {
                certificates("tls.cert_pem", cert)?;
                PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| {
                    ApiError::bad_request(format!("tls.key_pem: not a PEM private key ({e})"))
                })?;
                Some(keyring.seal(key))
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ApiError::bad_request("tls.cert_pem needs tls.key_pem (its private key)"))
            }
            (None, Some(_)) => {
                return Err(ApiError::bad_request("tls.key_pem needs tls.cert_pem (its certificate)"))
            }
        };
        Ok(Tls {
            ca_pem: self.ca_pem,
            cert_pem: self.cert_pem,
            key_sealed,
            verify_hostname: self.verify_hostname,
        })
    }
}

/// At least one certificate, each of them well formed.
fn certificates(field: &str, pem: &str) -> Result<(), ApiError> {
    let certs: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::bad_request(format!("{field}: not PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{field}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(())
}

impl SaslBody {
    pub fn seal(self, keyring: &Keyring) -> Result<Sasl, ApiError> {
        let mechanism = SaslMechanism::parse(&self.mechanism).ok_or_else(|| {
            ApiError::bad_request(format!(
                "sasl.mechanism: {:?} is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
                self.mechanism
            ))
        })?;
        if self.username.is_empty() {
            return Err(ApiError::bad_request("sasl.username is required"));
        }
        Ok(Sasl { mechanism, username: self.username, password_sealed: keyring.seal(&self.password) })
    }
}

impl From<&Tls> for TlsView {
    fn from(tls: &Tls) -> Self {
        TlsView {
            custom_ca: tls.ca_pem.is_some(),
            client_certificate: tls.cert_pem.is_some(),
            verify_hostname: tls.verify_hostname,
        }
    }
}

impl From<&Sasl> for SaslView {
    fn from(sasl: &Sasl) -> Self {
        SaslView { mechanism: sasl.mechanism, username: sasl.username.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        let path = std::env::temp_dir().join(format!(
            "ferry-secure-{}-{:?}.key",
            std::process::id(),
            std::thread::current().id()
        ));
        let keyring = Keyring::load_or_create(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        keyring
    }

    fn tls(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> TlsBody {
        TlsBody {
            ca_pem: ca.map(String::from),
            cert_pem: cert.map(String::from),
            key_pem: key.map(String::from),
            verify_hostname: true,
        }
    }

    fn refusal(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn a_bad_pem_is_refused_naming_the_field() {
        let k = keyring();
        assert!(refusal(tls(Some("not a certificate"), None, None).seal(&k)).contains("tls.ca_pem"));
        let half = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(refusal(tls(Some(half), None, None).seal(&k)).contains("tls.ca_pem"));
        assert!(refusal(tls(None, Some("x"), None).seal(&k)).contains("needs tls.key_pem"));
        assert!(refusal(tls(None, None, Some("x")).seal(&k)).contains("needs tls.cert_pem"));
        let tls = tls(None, None, None).seal(&k).unwrap();
        assert_eq!(tls, Tls { ca_pem: None, cert_pem: None, key_sealed: None, verify_hostname: true });
    }

    #[test]
    fn sasl_mechanisms_are_kafkas_names() {
        let k = keyring();
        let body = |m: &str| SaslBody { mechanism: m.into(), username: "u".into(), password: "p".into() };
        assert_eq!(body("scram-sha-512").seal(&k).unwrap().mechanism, SaslMechanism::ScramSha512);
        assert_eq!(body("PLAIN").seal(&k).unwrap().mechanism, SaslMechanism::Plain);
        assert!(refusal(body("GSSAPI").seal(&k)).contains("GSSAPI"));
        let sealed = body("SCRAM-SHA-256").seal(&k).unwrap();
        assert_eq!(k.open(&sealed.password_sealed).unwrap(), "p");
    }
}
