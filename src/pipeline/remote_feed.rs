//! The log of a store on another node, read over its HTTP API (`/projects/{name}/store/...`,
//! served by `http::stores`). Every request names the placement epoch: the store's node serves
//! it only while it runs the store at that epoch, so a connector of an older placement reads
//! nothing more.

use super::feed::{Begin, Feed, FeedError};
use crate::model::{Checkpoint, Position, Record, TableSchema};
use crate::store::frames;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `begin` waits for the store's node to start the store (both start on the same
/// placement, each on its node).
const STORE_START_WAIT: Duration = Duration::from_secs(5);

/// The body of `POST .../store/begin`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BeginRequest {
    pub seq: u64,
    pub position: Position,
}

/// The answer of `POST .../store/begin`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BeginAnswer {
    pub seq: u64,
    pub skip_through: Option<Position>,
}

pub struct RemoteFeed {
    client: reqwest::Client,
    /// The store's node and `http://<its address>/api/v1/projects/<project>/store`.
    node: u64,
    base: String,
    token: Arc<str>,
    epoch: u64,
}

impl RemoteFeed {
    pub fn new(node: u64, http: &str, project: &str, token: Arc<str>, epoch: u64) -> Self {
        Self {
            client: reqwest::Client::new(),
            node,
            base: format!("http://{http}/api/v1/projects/{project}/store"),
            token,
            epoch,
        }
    }

    fn error(&self, reason: impl ToString) -> FeedError {
        FeedError::Remote { node: self.node, reason: reason.to_string() }
    }

    /// Sends `request` and returns the body of a success, or the error the node answered.
    async fn call(&self, request: reqwest::RequestBuilder, timeout: Duration) -> Result<Vec<u8>, FeedError> {
        let response = request
            .bearer_auth(&*self.token)
            .query(&[("epoch", self.epoch)])
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.error(e))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(self.error(format!("{status}: {message}")));
        }
        Ok(body.to_vec())
    }
}

impl Feed for RemoteFeed {
    fn begin(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<Begin, FeedError>> {
        Box::pin(async move {
            let body = BeginRequest { seq: checkpoint.seq, position: checkpoint.position.clone() };
            let deadline = Instant::now() + STORE_START_WAIT;
            let answer = loop {
                let request = self.client.post(format!("{}/begin", self.base)).json(&body);
                match self.call(request, Duration::from_secs(10)).await {
                    Ok(answer) => break answer,
                    Err(e) if Instant::now() >= deadline => return Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            };
            let answer: BeginAnswer = serde_json::from_slice(&answer).map_err(|e| self.error(e))?;
            Ok(Begin {
                checkpoint: Checkpoint { seq: answer.seq, ..checkpoint },
                skip_through: answer.skip_through,
            })
        })
    }

    fn read(&self, from: u64, wait: Duration) -> BoxFuture<'_, Result<Vec<(u64, Record)>, FeedError>> {
        Box::pin(async move {
            let wait_ms = wait.as_millis() as u64;
            let request = self
                .client
                .get(format!("{}/records", self.base))
                .query(&[("from", from), ("wait_ms", wait_ms)]);
            let body = self.call(request, wait + Duration::from_secs(30)).await?;
            Ok(frames::records(&body)?)
        })
    }

    fn schema(&self, id: u64) -> BoxFuture<'_, Result<Arc<TableSchema>, FeedError>> {
        Box::pin(async move {
            let request = self.client.get(format!("{}/schemas/{id}", self.base));
            let body = self.call(request, Duration::from_secs(10)).await?;
            Ok(Arc::new(frames::schema(id, &body)?))
        })
    }
}
