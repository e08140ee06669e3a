//! `/projects/{name}/store/...`: a store serves its change log to the project's connectors that
//! run on other nodes (`pipeline::remote_feed` is the client). Cluster-internal: nodes call it
//! with the cluster's admin token. Every call names the placement epoch, and is answered only
//! while this node runs the project's store at that epoch.

use super::{ApiContext, ApiError};
use crate::model::Checkpoint;
use crate::pipeline::feed::{LocalFeed, READ_BATCH, READ_BYTES};
use crate::pipeline::remote_feed::{BeginAnswer, BeginRequest};
use crate::store::{frames, ChangeLog};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use std::time::Duration;

/// The longest a read waits for new records before it answers with none.
const MAX_WAIT: Duration = Duration::from_secs(10);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects/{name}/store/begin", web::post().to(begin))
        .route("/projects/{name}/store/records", web::get().to(records))
        .route("/projects/{name}/store/schemas/{id}", web::get().to(schema));
}

#[derive(Deserialize)]
struct EpochQuery {
    epoch: u64,
}

#[derive(Deserialize)]
struct RecordsQuery {
    epoch: u64,
    from: u64,
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
