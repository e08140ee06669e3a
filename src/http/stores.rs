//! `/projects/{name}/store/...`: a store serves its change log to the project's connectors that
//! run on other nodes (`pipeline::remote_feed` is the client). Cluster-internal: nodes call it
//! with the cluster's admin token. Every call names the placement epoch, and is answered only
//! while this node runs the project's store at that epoch.

use super::error::ErrorBody;
use super::openapi::ServiceConfig;
use super::{ApiContext, ApiError};
use crate::model::Checkpoint;
use crate::pipeline::feed::{LocalFeed, READ_BATCH, READ_BYTES};
use crate::pipeline::remote_feed::{BeginAnswer, BeginRequest};
use crate::store::{frames, ChangeLog};
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use std::time::Duration;
use utoipa::IntoParams;

/// The longest a read waits for new records before it answers with none.
const MAX_WAIT: Duration = Duration::from_secs(10);

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(begin).service(records).service(schema);
}

/// What every operation here says in the document.
const INTERNAL: &str = "Internal: for the cluster's nodes (a connector on another node than its \
                        store), with the admin token; not part of the public API, and may change \
                        between versions.";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EpochQuery {
    /// The placement epoch the caller runs under.
    epoch: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RecordsQuery {
    /// The placement epoch the caller runs under.
    epoch: u64,
    /// The first sequence number wanted.
    from: u64,
    /// How long to wait for records when there are none yet (ms, at most 10 000).
    #[serde(default)]
    wait_ms: u64,
}

/// The project's store, if it runs here at `epoch`.
fn store(ctx: &ApiContext, name: &str, epoch: u64) -> Result<LocalFeed, ApiError> {
    let live = ctx.live.project(name).filter(|l| l.epoch == epoch).and_then(|l| l.store);
    live.ok_or_else(|| ApiError::Unavailable {
        code: "store_not_here",
        message: format!(
            "node {} does not run the store of project {name:?} at epoch {epoch} (not yet, or no longer)",
            ctx.meta.node_id()
        ),
    })
}

/// Where a connector on another node begins reading the store's log, from its checkpoint.
#[utoipa::path(
    operation_id = "store_begin",
    tag = "internal",
    description = INTERNAL,
    extensions(("x-internal" = json!(true))),
    params(("name", description = "The project"), EpochQuery),
    // pipeline::remote_feed's BeginRequest and BeginAnswer (the feed's client owns them).
    request_body(
        content = Object,
        description = "`{\"seq\": <u64>, \"position\": {\"file\", \"pos\", \"gtid\"}}`: the connector's checkpoint",
    ),
    responses(
        (
            status = 200,
            description = "`{\"seq\": <u64>, \"skip_through\": <position or null>}`",
            body = Object,
        ),
        (status = 400, description = "An invalid query string or body", body = ErrorBody),
        (
            status = 503,
            description = "The store does not run here at that epoch (`store_not_here`)",
            body = ErrorBody,
        ),
    ),
)]
#[post("/projects/{name}/store/begin")]
async fn begin(
    ctx: web::Data<ApiContext>,
    name: web::Path<String>,
    query: web::Query<EpochQuery>,
    body: web::Json<BeginRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = store(&ctx, &name, query.epoch)?;
    let BeginRequest { seq, position } = body.into_inner();
    let begin = web::block(move || store.start_point(Checkpoint { seq, position, ..Default::default() }))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(BeginAnswer { seq: begin.checkpoint.seq, skip_through: begin.skip_through }))
}

/// The store's log from a sequence number on, as frames (`store::frames`).
#[utoipa::path(
    operation_id = "store_records",
    tag = "internal",
    description = INTERNAL,
    extensions(("x-internal" = json!(true))),
    params(("name", description = "The project"), RecordsQuery),
    responses(
        (
            status = 200,
            description = "Framed records (none: nothing new yet)",
            content_type = "application/octet-stream",
            body = Vec<u8>,
        ),
        (status = 400, description = "An invalid query string", body = ErrorBody),
        (
            status = 503,
            description = "The store does not run here at that epoch (`store_not_here`)",
            body = ErrorBody,
        ),
    ),
)]
#[get("/projects/{name}/store/records")]
async fn records(
    ctx: web::Data<ApiContext>,
    name: web::Path<String>,
    query: web::Query<RecordsQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = store(&ctx, &name, query.epoch)?;
    let from = query.from;
    store.wait_for(from, Duration::from_millis(query.wait_ms).min(MAX_WAIT)).await;
    let body = web::block(move || {
        let mut body = Vec::new();
        store.log.read_framed(from, READ_BATCH, READ_BYTES, &mut body).map(|_| body)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("application/octet-stream").body(body))
}

/// A table schema the store's records refer to, by id.
#[utoipa::path(
    operation_id = "store_schema",
    tag = "internal",
    description = INTERNAL,
    extensions(("x-internal" = json!(true))),
    params(("name", description = "The project"), ("id", description = "The schema's id"), EpochQuery),
    responses(
        (
            status = 200,
            description = "The schema, framed",
            content_type = "application/octet-stream",
            body = Vec<u8>,
        ),
        (status = 400, description = "An invalid id or query string", body = ErrorBody),
        (status = 404, description = "No such schema", body = ErrorBody),
        (
            status = 503,
            description = "The store does not run here at that epoch (`store_not_here`)",
            body = ErrorBody,
        ),
    ),
)]
#[get("/projects/{name}/store/schemas/{id}")]
async fn schema(
    ctx: web::Data<ApiContext>,
    path: web::Path<(String, u64)>,
    query: web::Query<EpochQuery>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let store = store(&ctx, &name, query.epoch)?;
    let schema = store.log.schema(id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("application/octet-stream").body(frames::schema_bytes(&schema)))
}
