//! Passing an API call to the node that runs the component it is about (a reset to the store's
//! node, a project's live figures from it), once: a forwarded call is never passed on again.

use super::{ApiContext, ApiError};
use actix_web::{HttpRequest, HttpResponse};
use std::time::Duration;

/// Marks a request one node passed to another.
const FORWARDED: &str = "x-ferry-forwarded";

/// The request came from another node.
pub fn is_forwarded(req: &HttpRequest) -> bool {
    req.headers().contains_key(FORWARDED)
}

/// Sends `method path` (with `body`, if any) to `node` and relays its answer.
pub async fn forward(
    ctx: &ApiContext,
    node: u64,
    method: reqwest::Method,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<HttpResponse, ApiError> {
    let (status, bytes) = call(ctx, node, method, path, body, timeout).await?;
    Ok(ApiError::relay(status, bytes))
}

/// Asks `node` for `GET path` and decodes its answer; none when it does not answer in
/// `timeout`, refuses, or answers something else (the caller shows what it has without it).
pub async fn ask<T: serde::de::DeserializeOwned>(
    ctx: &ApiContext,
    node: u64,
    path: &str,
    timeout: Duration,
) -> Option<T> {
    match call(ctx, node, reqwest::Method::GET, path, None, timeout).await {
        Ok((200, bytes)) => serde_json::from_slice(&bytes).ok(),
        Ok((status, _)) => {
            tracing::debug!(node, path, status, "node did not answer with its figures");
            None
        }
        Err(e) => {
            tracing::debug!(node, path, error = %e, "node did not answer with its figures");
            None
        }
    }
}

async fn call(
    ctx: &ApiContext,
    node: u64,
    method: reqwest::Method,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), ApiError> {
    let addr = ctx.meta.read(|s| s.nodes.get(&node).map(|n| n.http.clone())).ok_or_else(|| {
        ApiError::Unavailable { code: "node_unknown", message: format!("node {node} has no known address") }
    })?;
    let unreachable = |e: reqwest::Error| ApiError::Unavailable {
        code: "node_unreachable",
        message: format!("the project runs on node {node} ({addr}), which did not answer: {e}"),
    };
    let mut request = ctx
        .peers
        .client()
        .request(method, ctx.peers.url(&addr, path))
        .bearer_auth(&*ctx.admin_token)
        .header(FORWARDED, "1")
        .timeout(timeout);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    Ok((status, bytes.to_vec()))
}
