//! The API as the CLI calls it: JSON in and out, an error answer turned into its message.

use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The API answered with an error: its status and message.
    #[error("{message} (HTTP {status}, {code})")]
    Api { status: u16, code: String, message: String },
    #[error("cannot reach the API at {api}: {reason}")]
    Unreachable { api: String, reason: String },
    #[error("{0}")]
    Input(String),
}

pub struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Client {
    /// `api`: a node's address (`http://host:port`, `https://host:port` or `host:port`);
    /// `ca`: the certificates an HTTPS API is checked against.
    pub fn new(api: &str, token: &str, ca: Option<&std::path::Path>) -> Result<Self, CtlError> {
        let api = if api.starts_with("http://") || api.starts_with("https://") {
            api.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", api.trim_end_matches('/'))
        };
        let http = match ca {
            Some(ca) => crate::peers::tls_client(ca).map_err(CtlError::Input)?,
            None if api.starts_with("https://") => {
                return Err(CtlError::Input(format!(
                    "{api} is HTTPS: give the certificate to trust with --ca-cert (or FERRY_CA_CERT)"
                )))
            }
            None => reqwest::Client::new(),
        };
        Ok(Client { http, api, token: token.to_string() })
    }

    pub async fn get(&self, path: &str) -> Result<Value, CtlError> {
        self.call(self.http.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        self.call(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, CtlError> {
        self.call(self.http.delete(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.api)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, CtlError> {
        let unreachable =
            |e: reqwest::Error| CtlError::Unreachable { api: self.api.clone(), reason: e.to_string() };
        let response = request
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(unreachable)?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        if status >= 400 {
            let field = |f: &str| body.get(f).and_then(Value::as_str).map(String::from);
            return Err(CtlError::Api {
                status,
                code: field("code").unwrap_or_else(|| "error".into()),
                message: field("message").unwrap_or_else(|| body.to_string()),
            });
        }
        Ok(body)
    }
}
