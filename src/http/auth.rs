//! Every API call carries `Authorization: Bearer <token>`: the admin token may do anything, the
//! viewer token (if the node has one) may only read.

use super::{ApiContext, ApiError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};

/// Who a request's bearer token says the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Viewer,
}

/// The caller the `Authorization: Bearer` header names, or a 401 saying what is wrong with it.
pub fn caller(headers: &HeaderMap, ctx: &ApiContext) -> Result<Caller, ApiError> {
    let given =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = given else {
        return Err(ApiError::Unauthorized("missing header Authorization: Bearer <admin token>".into()));
    };
    if constant_time_eq(token.as_bytes(), ctx.admin_token.as_bytes()) {
        return Ok(Caller::Admin);
    }
    if ctx.viewer_token.as_ref().is_some_and(|v| constant_time_eq(token.as_bytes(), v.as_bytes())) {
        return Ok(Caller::Viewer);
    }
    Err(ApiError::Unauthorized("the bearer token is not valid".into()))
}

pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let ctx =
        req.app_data::<web::Data<ApiContext>>().ok_or_else(|| ApiError::Internal("no API context".into()))?;
    if caller(req.headers(), ctx)? == Caller::Admin {
        return next.call(req).await;
    }
    if viewer_may(req.method(), req.path()) {
        return next.call(req).await;
    }
    let message = if cluster_internal(req.path()) {
        format!("{} is for the cluster's nodes: use the admin token", req.path())
    } else {
        format!(
            "the viewer token may only read: {} {} changes something; use the admin token",
            req.method(),
            req.path()
        )
    };
    Err(ApiError::Forbidden(message).into())
}

/// The viewer token may read (GET), except what is cluster-internal. The OpenAPI document
/// says the same of each operation.
pub fn viewer_may(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD) && !cluster_internal(path)
}

/// A store's log (rows as they are, `/projects/{name}/store/...`) is for the cluster's own
/// nodes only, with the admin token.
pub fn cluster_internal(path: &str) -> bool {
    path.contains("/store/")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
