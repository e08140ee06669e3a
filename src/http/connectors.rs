//! `/projects/{name}/connectors/{id}`: a project's connectors. `reset` moves one to another
//! transaction end its store still holds, without going back to the source (which may have
//! purged those binlogs long ago), while the project runs, is paused or failed. `move` runs one on another node than its store (it reads
//! the store's log over the network) or brings it back. `live`: its figures, from the node
//! that runs it.

use super::error::ErrorBody;
use super::forward::{forward, is_forwarded};
use super::openapi::ServiceConfig;
use super::projects::{connector_live, find};
use super::views::{ConnectorLiveView, MoveBody, MoveView, PositionView, ResetBody, ResetView};
use super::{ApiContext, ApiError};
use crate::meta::{self, Command, ProjectState};
use crate::model::TxEnd;
use crate::pipeline::connector::now_ms;
use crate::store::{stores_dir, RocksChangeLog};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(reset).service(move_to).service(live);
}

/// Project `name`, with a connector `id`, in one of `states` (`what` says what they allow).
async fn project_with_connector(
    ctx: &ApiContext,
    name: &str,
    id: &str,
    states: &[ProjectState],
    what: &str,
) -> Result<crate::meta::Project, ApiError> {
    ctx.meta.read_index().await?;
    let project = find(ctx, name)?;
    if project.spec.connector(id).is_none() {
        let ids: Vec<String> = project.spec.connectors().into_iter().map(|c| c.id).collect();
        return Err(ApiError::NotFound(format!(
            "project {name:?} has no connector {id:?}; its connectors: {}",
            ids.join(", ")
        )));
    }
    if !states.contains(&project.state) {
        return Err(ApiError::Conflict(format!("project {name:?} is {}: {what}", project.state.as_str())));
    }
    Ok(project)
}

/// A connector of a project reading a sharded source runs beside its stores, one per instance:
/// it cannot be reset or moved (yet).
fn not_sharded(project: &crate::meta::Project, what: &str) -> Result<(), ApiError> {
    if project.instances.is_empty() {
        return Ok(());
    }
    Err(ApiError::Unprocessable {
        code: "sharded_source",
        message: format!(
            "project {:?} reads a sharded source ({} instances): its connectors cannot be {what} yet",
            project.spec.name,
            project.instances.len()
        ),
    })
}

/// Moves a connector back (or forward) to a transaction end its store still holds.
///
/// Connector `id` is reset while the project runs (it restarts there), or while it is paused
/// or failed (it resumes there). The store's node answers, from the running store or from its
/// log on disk.
#[utoipa::path(
    operation_id = "reset_connector",
    tag = "connectors",
    params(
        ("name", description = "The project"),
        ("id", description = "The connector (`default` for a project with one destination)"),
    ),
    request_body = ResetBody,
    responses(
        (status = 200, description = "Where the connector continues from", body = ResetView),
        (status = 400, description = "Neither a timestamp nor a position", body = ErrorBody),
        (status = 404, description = "No such project or connector", body = ErrorBody),
        (status = 409, description = "The project is not running, paused or failed", body = ErrorBody),
        (
            status = 422,
            description = "Outside what the store retains (`outside_retained_range`), or its log cannot be read (`store_missing`)",
            body = ErrorBody,
        ),
        (
            status = 503,
            description = "The project is starting or moving (`project_starting`), or no quorum",
            body = ErrorBody,
        ),
    ),
)]
#[post("/projects/{name}/connectors/{id}/reset")]
async fn reset(
    ctx: web::Data<ApiContext>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let body = body.into_inner();
    let target: ResetBody = serde_json::from_value(body.clone()).map_err(|_| {
        ApiError::bad_request(
            "expected {\"timestamp\": <unix seconds>} or {\"position\": {\"file\": \"...\", \"pos\": ...}}",
        )
    })?;
    let states = [ProjectState::Running, ProjectState::Paused, ProjectState::Failed];
    let what = "a connector is reset while its project runs, is paused or failed (its store keeps the changes until the project is released)";
    let project = project_with_connector(&ctx, &name, &id, &states, what).await?;
    not_sharded(&project, "reset")?;
    let Some(node) = project.placement.as_ref().map(|p| p.node) else {
        return Err(starting(&name));
    };
    if node != ctx.meta.node_id() {
        if is_forwarded(&req) {
            return Err(starting(&name));
        }
        let timeout = Duration::from_secs(10);
        return forward(&ctx, node, reqwest::Method::POST, req.path(), Some(&body), timeout).await;
    }
    let log = if project.state == ProjectState::Running {
        let store = ctx.live.project(&name).filter(|l| l.epoch == project.epoch).and_then(|l| l.store);
        store.ok_or_else(|| starting(&name))?.log
    } else {
        let dir = stores_dir(&ctx.data_dir).join(&name);
        let opened = web::block(move || RocksChangeLog::open_read_only(&dir)).await;
        let opened = opened.map_err(|e| ApiError::Internal(e.to_string()))?;
        Arc::new(opened.map_err(|e| ApiError::Unprocessable {
            code: "store_missing",
            message: format!("the store of project {name:?} cannot be read on node {node}: {e}"),
        })?)
    };
    let lookup = (log.clone(), target.clone());
    let found = web::block(move || match lookup {
        (log, ResetBody::Timestamp { timestamp }) => log.end_before(timestamp),
        (log, ResetBody::Position { position }) => log.end_at(&position.file, position.pos),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let retained = log.retained();
    let newest_ok = match &target {
        ResetBody::Timestamp { timestamp } => *timestamp <= retained.newest_ts,
        ResetBody::Position { .. } => true,
    };
    let Some((seq, TxEnd { position, ts })) = found.filter(|_| newest_ok) else {
        let what = match &target {
            ResetBody::Timestamp { timestamp } => format!("timestamp {timestamp}"),
            ResetBody::Position { position } => {
                format!("position {}:{} (it must be the end of a transaction)", position.file, position.pos)
            }
        };
        return Err(ApiError::Unprocessable {
            code: "outside_retained_range",
            message: format!(
                "{what} is outside what the store of project {name:?} retains: transactions committed after {} up to {} (unix seconds; change log {}..{}, {} bytes)",
                retained.oldest_ts, retained.newest_ts, retained.oldest_seq, retained.newest_seq, retained.bytes
            ),
        });
    };
    // Until the new checkpoint is applied, retention must not drop what the connector resends.
    // (Another connector's checkpoint may be older still: the store keeps what it needs too.
    // A store that is not running drops nothing.)
    log.pin(seq);
    let command = Command::ResetCheckpoint {
        name: name.clone(),
        connector: id.clone(),
        epoch: project.epoch,
        seq,
        position: position.clone(),
        commit_ts: ts,
        now_ms: now_ms(),
    };
    meta::propose(&ctx.meta, command).await??;
    tracing::info!(project = %name, connector = %id, seq, %position, state = project.state.as_str(), "connector reset");
    Ok(HttpResponse::Ok().json(ResetView {
        project: name,
        connector: id,
        seq,
        position: PositionView::from(&position),
        commit_timestamp: ts,
        epoch: project.epoch + 1,
    }))
}

/// Runs a connector on another node than its store, or back on its store's node.
///
/// Connector `id` runs on `node` (reading its store's log over the network), or back on its
/// store's node (`null`). The project restarts under a new epoch; nothing is lost or resent
/// beyond the last checkpoint.
#[utoipa::path(
    operation_id = "move_connector",
    tag = "connectors",
    params(("name", description = "The project"), ("id", description = "The connector")),
    responses(
        (status = 200, description = "Where the connector and its store run now", body = MoveView),
        (status = 400, description = "An invalid body", body = ErrorBody),
        (status = 404, description = "No such project, connector or node", body = ErrorBody),
        (
            status = 409,
            description = "The project is not running, the node is leaving or not alive, or the connector runs there already",
            body = ErrorBody,
        ),
        (status = 503, description = "The project is starting or moving, or no quorum", body = ErrorBody),
    ),
)]
#[post("/projects/{name}/connectors/{id}/move")]
async fn move_to(
    ctx: web::Data<ApiContext>,
    path: web::Path<(String, String)>,
    body: web::Json<MoveBody>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let target = body.into_inner().node;
    let what = "a connector is moved while its project runs";
    let project = project_with_connector(&ctx, &name, &id, &[ProjectState::Running], what).await?;
    not_sharded(&project, "moved apart from its stores")?;
    let Some(placement) = project.placement.as_ref() else {
        return Err(starting(&name));
    };
    if let Some(node) = target {
        let known = ctx.meta.read(|s| s.nodes.get(&node).map(|n| n.leaving));
        match known {
            None => return Err(ApiError::NotFound(format!("node {node} is not a node of the cluster"))),
            Some(true) => return Err(ApiError::Conflict(format!("node {node} is leaving the cluster"))),
            Some(false) if !ctx.cluster.alive(node) => {
                return Err(ApiError::Conflict(format!(
                    "node {node} has not renewed its lease lately: it would not run the connector"
                )))
            }
            Some(false) => {}
        }
    }
    let node = target.unwrap_or(placement.node);
    if placement.connector_node(&id) == node {
        return Err(ApiError::Conflict(format!(
            "connector {id:?} of project {name:?} already runs on node {node}"
        )));
    }
    let command = Command::PlaceConnector {
        project: name.clone(),
        connector: id.clone(),
        node: target,
        epoch: project.epoch,
        lost: None,
    };
    meta::propose(&ctx.meta, command).await??;
    tracing::info!(project = %name, connector = %id, node, store_node = placement.node, "connector moved");
    Ok(HttpResponse::Ok().json(MoveView {
        project: name,
        connector: id,
        node,
        store_node: placement.node,
        epoch: project.epoch + 1,
    }))
}

/// Connector `id`'s live figures, from this node: the project view asks the node that runs it.
#[utoipa::path(
    operation_id = "connector_live",
    tag = "connectors",
    params(("name", description = "The project"), ("id", description = "The connector")),
    responses(
        (status = 200, description = "Its figures on this node", body = ConnectorLiveView),
        (
            status = 404,
            description = "No such project, or the connector does not run on this node",
            body = ErrorBody,
        ),
    ),
)]
#[get("/projects/{name}/connectors/{id}/live")]
async fn live(
    ctx: web::Data<ApiContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let project = find(&ctx, &name)?;
    let live = connector_live(&ctx, &project, &id).ok_or_else(|| {
        ApiError::NotFound(format!("connector {id:?} of project {name:?} does not run on this node"))
    })?;
    Ok(HttpResponse::Ok().json(live))
}

pub(super) fn starting(name: &str) -> ApiError {
    ApiError::Unavailable {
        code: "project_starting",
        message: format!("project {name:?} is starting or moving between nodes; try again in a few seconds"),
    }
}
