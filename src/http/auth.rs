//! Every API call carries `Authorization: Bearer <token>`.

use super::{ApiContext, ApiError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let expected = req
        .app_data::<web::Data<ApiContext>>()
        .map(|c| c.admin_token.clone())
        .ok_or_else(|| ApiError::Internal("no API context".into()))?;
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => next.call(req).await,
        Some(_) => Err(ApiError::Unauthorized("the bearer token is not valid".into()).into()),
        None => {
            Err(ApiError::Unauthorized("missing header Authorization: Bearer <admin token>".into()).into())
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
