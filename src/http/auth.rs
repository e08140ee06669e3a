//! Every API call carries `Authorization: Bearer <token>`: the admin token may do anything, the
//! viewer token (if the node has one) may only read.

use super::{ApiContext, ApiError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};

pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let (admin, viewer) = req
        .app_data::<web::Data<ApiContext>>()
        .map(|c| (c.admin_token.clone(), c.viewer_token.clone()))
        .ok_or_else(|| ApiError::Internal("no API context".into()))?;
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = given else {
        return Err(
            ApiError::Unauthorized("missing header Authorization: Bearer <admin token>".into()).into()
        );
    };
    if constant_time_eq(token.as_bytes(), admin.as_bytes()) {
        return next.call(req).await;
    }
    if viewer.is_some_and(|v| constant_time_eq(token.as_bytes(), v.as_bytes())) {
        // A store's log (rows as they are) is for the cluster's own nodes only.
        let internal = req.path().contains("/store/");
        if matches!(*req.method(), Method::GET | Method::HEAD) && !internal {
            return next.call(req).await;
        }
        let message = if internal {
            format!("{} is for the cluster's nodes: use the admin token", req.path())
        } else {
            format!(
                "the viewer token may only read: {} {} changes something; use the admin token",
                req.method(),
                req.path()
            )
        };
        return Err(ApiError::Forbidden(message).into());
    }
    Err(ApiError::Unauthorized("the bearer token is not valid".into()).into())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
