//! The log of a store on another node, read over its HTTP API (`/projects/{name}/store/...`,
//! served by `http::stores`). Every request names the placement epoch: the store's node serves
//! it only while it runs the store at that epoch, so a connector of an older placement reads
//! nothing more. Records are fetched and decoded ahead on a thread of the feed's own, so the
//! network and the decoding overlap with the connector's encoding and sending.

use super::feed::{Begin, Feed, FeedError};
use crate::model::{Checkpoint, Position, Record, TableSchema};
use crate::peers::Peers;
use crate::store::frames;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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

/// How long one request for records waits for new ones on the store's node.
const LONG_POLL: Duration = Duration::from_secs(1);
/// Batches fetched ahead of the connector (each at most `READ_BATCH` records / `READ_BYTES`).
const AHEAD: usize = 2;

/// Where and how to ask the store's node.
#[derive(Clone)]
struct Endpoint {
    client: reqwest::Client,
    /// The store's node and `http(s)://<its address>/api/v1/projects/<project>/store`.
    node: u64,
    base: String,
    token: Arc<str>,
    epoch: u64,
}

impl Endpoint {
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

    /// One request: the records from `from` on, waiting up to `wait` for some.
    async fn fetch(&self, from: u64, wait: Duration) -> Result<Vec<(u64, Record)>, FeedError> {
        let wait_ms = wait.as_millis() as u64;
        let request =
            self.client.get(format!("{}/records", self.base)).query(&[("from", from), ("wait_ms", wait_ms)]);
        let body = self.call(request, wait + Duration::from_secs(30)).await?;
        Ok(frames::records(&body)?)
    }
}

pub struct RemoteFeed {
    endpoint: Endpoint,
    /// Records fetched and decoded ahead, on a thread of their own, from a sequence on.
    ahead: Mutex<Option<Ahead>>,
}

/// A fetcher thread's output: batches in order, the next one starting at `next`.
struct Ahead {
    next: u64,
    batches: mpsc::Receiver<Result<Vec<(u64, Record)>, FeedError>>,
}

impl RemoteFeed {
    pub fn new(peers: &Peers, node: u64, http: &str, project: &str, token: Arc<str>, epoch: u64) -> Self {
        let base = peers.url(http, &format!("/api/v1/projects/{project}/store"));
        let endpoint = Endpoint { client: peers.client().clone(), node, base, token, epoch };
        Self { endpoint, ahead: Mutex::new(None) }
    }

    /// Starts a thread that fetches and decodes batches from `from` on, `AHEAD` at most ahead of
    /// the connector, so the network and the decoding overlap with encoding and sending. It
    /// ends when the connector drops its receiver (or on an error, which it passes on).
    fn start_ahead(&self, from: u64) -> Ahead {
        let (tx, batches) = mpsc::channel(AHEAD);
        // A copy for the thread (the client shares its connection pool).
        let endpoint = self.endpoint.clone();
        let spawned = std::thread::Builder::new().name("ferry-feed".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => return drop(tx.blocking_send(Err(endpoint.error(e)))),
            };
            runtime.block_on(async move {
                let mut next = from;
                loop {
                    let fetched = tokio::select! {
                        fetched = endpoint.fetch(next, LONG_POLL) => fetched,
                        _ = tx.closed() => return,
                    };
                    let failed = fetched.is_err();
                    match &fetched {
                        Ok(records) if records.is_empty() => continue,
                        Ok(records) => next = records.last().map_or(next, |r| r.0 + 1),
                        Err(_) => {}
                    }
                    if tx.send(fetched).await.is_err() || failed {
                        return;
                    }
                }
            })
        });
        if let Err(e) = spawned {
            let (tx, batches) = mpsc::channel(1);
            let _ = tx.try_send(Err(self.endpoint.error(format!("cannot start a fetcher thread: {e}"))));
            return Ahead { next: from, batches };
        }
        Ahead { next: from, batches }
    }
}

impl Feed for RemoteFeed {
    fn begin(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<Begin, FeedError>> {
        Box::pin(async move {
            let body = BeginRequest { seq: checkpoint.seq, position: checkpoint.position.clone() };
            let deadline = Instant::now() + STORE_START_WAIT;
            let answer = loop {
                let request = self.endpoint.client.post(format!("{}/begin", self.endpoint.base)).json(&body);
                match self.endpoint.call(request, Duration::from_secs(10)).await {
                    Ok(answer) => break answer,
                    Err(e) if Instant::now() >= deadline => return Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            };
            let answer: BeginAnswer = serde_json::from_slice(&answer).map_err(|e| self.endpoint.error(e))?;
            Ok(Begin {
                checkpoint: Checkpoint { seq: answer.seq, ..checkpoint },
                skip_through: answer.skip_through,
            })
        })
    }

    fn read(&self, from: u64, wait: Duration) -> BoxFuture<'_, Result<Vec<(u64, Record)>, FeedError>> {
        Box::pin(async move {
            // The batches come from the fetcher thread while the connector reads on in order;
            // a read elsewhere (the connector went back) starts a new one.
            let taken = self.ahead.lock().unwrap_or_else(|p| p.into_inner()).take();
            let mut ahead = match taken {
                Some(ahead) if ahead.next == from => ahead,
                _ => self.start_ahead(from),
            };
            let batch = match tokio::time::timeout(wait, ahead.batches.recv()).await {
                Err(_) => Ok(Vec::new()),
                Ok(Some(batch)) => batch,
                Ok(None) => Err(self.endpoint.error("the fetcher thread stopped")),
            };
            if let Ok(records) = &batch {
                ahead.next = records.last().map_or(from, |r| r.0 + 1);
                *self.ahead.lock().unwrap_or_else(|p| p.into_inner()) = Some(ahead);
            }
            batch
        })
    }

    fn schema(&self, id: u64) -> BoxFuture<'_, Result<Arc<TableSchema>, FeedError>> {
        Box::pin(async move {
            let request = self.endpoint.client.get(format!("{}/schemas/{id}", self.endpoint.base));
            let body = self.endpoint.call(request, Duration::from_secs(10)).await?;
            Ok(Arc::new(frames::schema(id, &body)?))
        })
    }
}
