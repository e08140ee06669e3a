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
    let addr = ctx.meta.read(|s| s.nodes.get(&node).map(|n| n.http.clone())).ok_or_else(|| {
        ApiError::Unavailable { code: "node_unknown", message: format!("node {node} has no known address") }
    })?;
    let unreachable = |e: reqwest::Error| ApiError::Unavailable {
        code: "node_unreachable",
        message: format!("the project runs on node {node} ({addr}), which did not answer: {e}"),
    };
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{addr}{path}"))
        .bearer_auth(&*ctx.admin_token)
        .header(FORWARDED, "1")
        .timeout(timeout);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    Ok(ApiError::relay(status, bytes.to_vec()))
}
