//! `/projects/{name}/verify`: compares a project's source tables with a database destination,
//! row by row (`src/verify`), in the background on the node that runs the project (this one
//! when none does), and shows its progress and result from there.

use super::error::ErrorBody;
use super::forward::{forward, is_forwarded};
use super::openapi::ServiceConfig;
use super::projects::find;
use super::views::VerifyBody;
use super::{ApiContext, ApiError};
use crate::meta::Project;
use crate::verify::{Job, VerifyReport, VerifyRequest};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(start).service(show);
}

/// The node that runs the project, when that is another one and this call was not passed on
/// already.
fn elsewhere(ctx: &ApiContext, req: &HttpRequest, project: &Project) -> Option<u64> {
    let node = project.placement.as_ref()?.node;
    (node != ctx.meta.node_id() && !is_forwarded(req)).then_some(node)
}

/// Starts a verification of a database destination.
///
/// Every row of the source tables (`tables`, default: all the project syncs) is compared by
/// primary key with the destination table it is routed to, in chunks of 1000 rows without
/// locks; target rows no source table holds are found too. Differences are checked again up
/// to 3 times, 1 s apart, and only those that persist are reported, with `REPLACE`/`DELETE`
/// statements that repair them (run on the destination with `"repair": true`). It runs in the
/// background on the project's node; `GET` shows it.
///
/// On a sharded (dbp) source the source tables are its physical shards (`tables` names them,
/// `shop_01.orders_03`), each read on the instance that holds it; a colliding key names its
/// shards `instance:database.table`.
#[utoipa::path(
    operation_id = "start_verification",
    tag = "projects",
    params(("name", description = "The project")),
    request_body(content = Option<VerifyBody>, description = "All optional; no body: every synced table of the first database connector"),
    responses(
        (status = 202, description = "Started: its first report", body = VerifyReport),
        (status = 400, description = "An invalid body, or a table name that is not database.table", body = ErrorBody),
        (status = 404, description = "No such project or connector", body = ErrorBody),
        (status = 409, description = "A verification of the project is running", body = ErrorBody),
        (
            status = 422,
            description = "The connector's destination is not a database (`not_a_database_destination`), or the project does not sync a table (`table_not_synced`)",
            body = ErrorBody,
        ),
        (status = 503, description = "The project's node does not answer, or no quorum", body = ErrorBody),
    ),
)]
#[post("/projects/{name}/verify")]
async fn start(
    ctx: web::Data<ApiContext>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let raw: serde_json::Value = match body.iter().all(u8::is_ascii_whitespace) {
        true => serde_json::json!({}),
        false => serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?,
    };
    let asked: VerifyBody = serde_json::from_value(raw.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    ctx.meta.read_index().await?;
    let project = find(&ctx, &name)?;
    if let Some(node) = elsewhere(&ctx, &req, &project) {
        let timeout = Duration::from_secs(10);
        return forward(&ctx, node, reqwest::Method::POST, req.path(), Some(&raw), timeout).await;
    }
    let request = VerifyRequest { connector: asked.connector, tables: asked.tables, repair: asked.repair };
    let job = ctx.meta.read(|s| Job::resolve(s, &ctx.keyring, &project, request))?;
    let report = ctx.verifications.start(job)?;
    Ok(HttpResponse::Accepted().json(report))
}

/// A verification's progress and result.
///
/// State (`running`, `done`, `failed` with `error`); per target table the source tables
/// compared, rows and chunks compared so far, matched, missing (in the source, not in the
/// target), extra (in the target, in no source table) and different rows with the first 10
/// keys of each, elapsed seconds and rows/s; the repair statements (the first 100) and how
/// many ran.
#[utoipa::path(
    operation_id = "show_verification",
    tag = "projects",
    params(("name", description = "The project")),
    responses(
        (status = 200, description = "The last verification of the project", body = VerifyReport),
        (status = 404, description = "No such project, or no verification of it", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("/projects/{name}/verify")]
async fn show(
    ctx: web::Data<ApiContext>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ctx.meta.read_index().await?;
    let project = find(&ctx, &name)?;
    if let Some(node) = elsewhere(&ctx, &req, &project) {
        // A verification started while the project ran nowhere ran here: shown when that
        // node has none.
        let timeout = Duration::from_secs(5);
        match forward(&ctx, node, reqwest::Method::GET, req.path(), None, timeout).await {
            Ok(answer) if answer.status().is_success() => return Ok(answer),
            Ok(_) => {}
            Err(e) => tracing::debug!(node, error = %e, "the project's node did not show its verification"),
        }
    }
    let report = ctx.verifications.report(&name, project.created_at_ms).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no verification of project {name:?} has run: start one with POST /api/v1/projects/{name}/verify"
        ))
    })?;
    Ok(HttpResponse::Ok().json(report))
}
