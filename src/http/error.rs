//! API errors: a stable `code` and a message naming the problem, as `{"code","message"}`.

use crate::meta::MetaError;
use crate::source::mysql::SourceError;
use crate::verify::VerifyError;
use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this (the viewer token changes nothing).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but cannot be done as asked (e.g. a table without a
    /// primary key under the `hash` partition rule).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// A server the request names could not be used (unreachable, wrong password).
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// The cluster cannot do it now (no quorum, the node stopping): try again later.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("{0}")]
    Internal(String),
}

/// Every error answer of the API.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, e.g. `invalid_request`, `not_found`, `no_quorum`, `source_unreachable`.
    code: &'static str,
    /// What is at fault: the field, table, position or state.
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable { code, .. }
            | ApiError::Upstream { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }

    /// Another node's answer, passed on as it came (a JSON body).
    pub fn relay(status: u16, body: Vec<u8>) -> HttpResponse {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        HttpResponse::build(status).content_type("application/json").body(body)
    }

    /// A JSON body actix could not read: say what was wrong and where.
    pub fn from_json_error(err: &actix_web::error::JsonPayloadError) -> Self {
        use actix_web::error::JsonPayloadError as E;
        match err {
            E::Deserialize(e) => ApiError::BadRequest(format!("invalid request body: {e}")),
            E::ContentType => {
                ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
            }
            other => ApiError::BadRequest(format!("invalid request body: {other}")),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .json(ErrorBody { code: self.code(), message: self.to_string() })
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        let message = e.to_string();
        match e {
            MetaError::UnknownDataSource(_)
            | MetaError::UnknownProject(_)
            | MetaError::UnknownConnector { .. } => ApiError::NotFound(message),
            MetaError::WrongDataSourceType { .. } => {
                ApiError::Unprocessable { code: "wrong_data_source_type", message }
            }
            MetaError::DestinationIsSource { .. } => {
                ApiError::Unprocessable { code: "destination_is_source", message }
            }
            MetaError::UnknownNode(_) => ApiError::NotFound(message),
            MetaError::DataSourceExists(_)
            | MetaError::ProjectExists(_)
            | MetaError::DataSourceInUse { .. }
            | MetaError::IllegalTransition { .. }
            | MetaError::DeleteNotAllowed { .. }
            | MetaError::StaleEpoch { .. }
            | MetaError::Fenced { .. }
            | MetaError::NodeLeaving(_)
            | MetaError::NodeAlive(_) => ApiError::Conflict(message),
        }
    }
}

impl From<cluster::ClusterError> for ApiError {
    fn from(e: cluster::ClusterError) -> Self {
        use cluster::ClusterError as E;
        match e {
            e if e.is_no_quorum() => ApiError::Unavailable {
                code: "no_quorum",
                message: format!("the cluster has no quorum: {e}"),
            },
            E::Stopped => {
                ApiError::Unavailable { code: "shutting_down", message: "this node is shutting down".into() }
            }
            E::Membership(message) => ApiError::Conflict(message),
            other => ApiError::Internal(format!("metadata: {other}")),
        }
    }
}

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> Self {
        let code = match &e {
            SourceError::Unreachable { .. } => "source_unreachable",
            SourceError::AccessDenied { .. } => "access_denied",
            SourceError::Tls { .. } => "tls_failed",
            SourceError::Privilege(_) => "missing_privilege",
            _ => "source_error",
        };
        ApiError::Upstream { code, message: e.to_string() }
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        let message = e.to_string();
        match e {
            VerifyError::UnknownConnector { .. } | VerifyError::UnknownDataSource(_) => {
                ApiError::NotFound(message)
            }
            VerifyError::NotADatabase { .. } => {
                ApiError::Unprocessable { code: "not_a_database_destination", message }
            }
            VerifyError::NotSynced { .. } => ApiError::Unprocessable { code: "table_not_synced", message },
            VerifyError::BadTableName { .. } => ApiError::BadRequest(message),
            VerifyError::Running { .. } => ApiError::Conflict(message),
            VerifyError::Secret { .. } | VerifyError::Rules(_) => ApiError::Internal(message),
            _ => ApiError::Upstream { code: "verification_failed", message },
        }
    }
}
