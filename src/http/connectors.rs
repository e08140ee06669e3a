//! `/projects/{name}/connectors/{id}`: a project's connectors. `reset` moves one to another
//! transaction end its store still holds, without going back to the source (which may have
//! purged those binlogs long ago). `move` runs one on another node than its store (it reads
//! the store's log over the network) or brings it back.

use super::forward::{forward, is_forwarded};
use super::projects::find;
use super::views::{MoveBody, MoveView, PositionView, ResetBody, ResetView};
use super::{ApiContext, ApiError};
use crate::meta::{self, Command, ProjectState};
use crate::model::TxEnd;
use crate::pipeline::connector::now_ms;
use actix_web::{web, HttpRequest, HttpResponse};
use std::time::Duration;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects/{name}/connectors/{id}/reset", web::post().to(reset))
        .route("/projects/{name}/connectors/{id}/move", web::post().to(move_to));
}

/// The running project `name` with a connector `id`.
async fn running_connector(
    ctx: &ApiContext,
    name: &str,
    id: &str,
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
    if project.state != ProjectState::Running {
        return Err(ApiError::Conflict(format!(
            "project {name:?} is {}: a connector is {what} while its project runs",
            project.state.as_str()
        )));
    }
    Ok(project)
}

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
    let what = "reset (the running store holds the retained changes)";
    let project = running_connector(&ctx, &name, &id, what).await?;
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
    let store = ctx.live.project(&name).filter(|l| l.epoch == project.epoch).and_then(|l| l.store);
    let store = store.ok_or_else(|| starting(&name))?;
    let log = store.log.clone();
    let lookup = target.clone();
    let found = web::block(move || match lookup {
        ResetBody::Timestamp { timestamp } => log.end_before(timestamp),
        ResetBody::Position { position } => log.end_at(&position.file, position.pos),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let retained = store.log.retained();
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
    // (Another connector's checkpoint may be older still: the store keeps what it needs too.)
    store.log.pin(seq);
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
    tracing::info!(project = %name, connector = %id, seq, %position, "connector reset");
    Ok(HttpResponse::Ok().json(ResetView {
        project: name,
        connector: id,
        seq,
        position: PositionView::from(&position),
        commit_timestamp: ts,
        epoch: project.epoch + 1,
    }))
}

/// Runs connector `id` on `node` (reading its store's log over the network), or back on its
/// store's node (`null`). The project restarts under a new epoch; nothing is lost or resent
/// beyond the last checkpoint.
async fn move_to(
    ctx: web::Data<ApiContext>,
    path: web::Path<(String, String)>,
    body: web::Json<MoveBody>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let target = body.into_inner().node;
    let project = running_connector(&ctx, &name, &id, "moved").await?;
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

fn starting(name: &str) -> ApiError {
    ApiError::Unavailable {
        code: "project_starting",
        message: format!("project {name:?} is starting or moving between nodes; try again in a few seconds"),
    }
}
