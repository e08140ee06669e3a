//! `/cluster`: the nodes, who leads, what runs where; adding and removing nodes at runtime.

use super::error::ErrorBody;
use super::openapi::ServiceConfig;
use super::{ApiContext, ApiError};
use crate::meta::{self, Command, MetaError, MetaState, ProjectState};
use crate::runtime::Liveness;
use actix_web::{delete, get, post, web, HttpResponse};
use cluster::{ClusterStatus, MemberChange, Role, TcpTransport};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// What the cluster endpoints (and the project view) need besides the metadata.
#[derive(Clone)]
pub struct ClusterContext {
    pub liveness: Liveness,
    pub lease: Duration,
    pub lost_after: Duration,
    /// The network to the peers; none for a node started without `--raft`.
    pub transport: Option<Arc<TcpTransport>>,
}

impl ClusterContext {
    /// Renewed its lease within the lease, as seen from this node.
    pub fn alive(&self, node: u64) -> bool {
        self.liveness.since(node).is_some_and(|d| d < self.lease)
    }
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(utoipa_actix_web::scope("/cluster").service(show).service(add_node).service(remove_node));
}

#[derive(Serialize, ToSchema)]
struct RunView {
    project: String,
    /// `store`, or `connector/<id>`.
    component: String,
    epoch: u64,
}

#[derive(Serialize, ToSchema)]
struct MemberView {
    id: u64,
    /// Its Raft address.
    raft: String,
    /// Its API address (none until it has renewed its lease once).
    http: Option<String>,
    /// `leader`, `follower` or `learner`.
    role: &'static str,
    /// Renewed its lease within the lease, as seen from the answering node.
    alive: bool,
    last_heartbeat_ms: Option<u64>,
    applied_index: Option<u64>,
    /// What it runs.
    runs: Vec<RunView>,
}

#[derive(Serialize, ToSchema)]
struct ClusterView {
    /// The answering node.
    node_id: u64,
    leader: Option<u64>,
    term: u64,
    commit_index: u64,
    applied_index: u64,
    members: Vec<MemberView>,
}

fn view(status: &ClusterStatus, state: &MetaState, cluster: &ClusterContext) -> ClusterView {
    let members = status
        .members
        .iter()
        .map(|m| {
            let record = state.nodes.get(&m.id);
            let role = if status.leader == Some(m.id) {
                Role::Leader.as_str()
            } else if !m.voter {
                "learner"
            } else {
                Role::Follower.as_str()
            };
            let runs = state
                .placed_on(m.id)
                .filter(|p| p.state == ProjectState::Running)
                .flat_map(|p| {
                    let placement = p.placement.as_ref().expect("placed on this node");
                    let store = (placement.node == m.id).then(|| "store".to_string());
                    let connectors = p
                        .spec
                        .connectors()
                        .into_iter()
                        .filter(|c| placement.connector_node(&c.id) == m.id)
                        .map(|c| format!("connector/{}", c.id));
                    store.into_iter().chain(connectors).map(|component| RunView {
                        project: p.spec.name.clone(),
                        component,
                        epoch: p.epoch,
                    })
                })
                .collect();
            MemberView {
                id: m.id,
                raft: m.raft_addr.clone(),
                http: record.map(|r| r.http.clone()).filter(|h| !h.is_empty()),
                role,
                alive: cluster.alive(m.id),
                last_heartbeat_ms: cluster.liveness.since(m.id).map(|d| d.as_millis() as u64),
                applied_index: record.map(|r| r.applied),
                runs,
            }
        })
        .collect();
    ClusterView {
        node_id: status.id,
        leader: status.leader,
        term: status.term,
        commit_index: status.commit_index,
        applied_index: status.applied_index,
        members,
    }
}

/// The cluster: its members, who leads, the Raft term and indexes, and what runs where.
#[utoipa::path(
    operation_id = "show_cluster",
    tag = "cluster",
    responses((status = 200, description = "The cluster as this node sees it", body = ClusterView)),
)]
#[get("")]
async fn show(ctx: web::Data<ApiContext>) -> HttpResponse {
    let status = ctx.meta.status();
    HttpResponse::Ok().json(ctx.meta.read(|s| view(&status, s, &ctx.cluster)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewNode {
    /// Its node id (from 1), as it was started with (`--node-id`, with `--join`).
    id: u64,
    /// Its Raft address, `<ip>:<port>`.
    raft: String,
    /// Its API address, `<ip>:<port>`.
    http: String,
}

/// A node added to the cluster.
#[derive(Serialize, ToSchema)]
struct NodeView {
    id: u64,
    raft: String,
    http: String,
}

/// A node removed from the cluster, and the projects moved off it.
#[derive(Serialize, ToSchema)]
struct RemovedView {
    removed: u64,
    moved: Vec<String>,
}

fn concrete_addr(field: &str, value: &str) -> Result<SocketAddr, ApiError> {
    let addr: SocketAddr =
        value.parse().map_err(|_| ApiError::bad_request(format!("{field}: {value:?} is not <ip>:<port>")))?;
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(ApiError::bad_request(format!(
            "{field}: {value} is not an address other nodes can reach"
        )));
    }
    Ok(addr)
}

/// Adds a node to the cluster.
///
/// The node runs with `--join` first, and must answer at its Raft address, as that id, with the
/// cluster's secret.
#[utoipa::path(
    tag = "cluster",
    responses(
        (status = 201, description = "The node is a member", body = NodeView),
        (
            status = 400,
            description = "A missing field, id 0, or an address other nodes cannot reach",
            body = ErrorBody,
        ),
        (status = 409, description = "The id or an address is already in use", body = ErrorBody),
        (status = 422, description = "This node was started without `--raft`", body = ErrorBody),
        (
            status = 502,
            description = "The node did not answer as that id with the cluster's secret",
            body = ErrorBody,
        ),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[post("/nodes")]
async fn add_node(ctx: web::Data<ApiContext>, body: web::Json<NewNode>) -> Result<HttpResponse, ApiError> {
    let NewNode { id, raft, http } = body.into_inner();
    if id == 0 {
        return Err(ApiError::bad_request("id: node ids start at 1"));
    }
    let raft = concrete_addr("raft", &raft)?.to_string();
    let http = concrete_addr("http", &http)?.to_string();
    ctx.meta.read_index().await?;
    let status = ctx.meta.status();
    if status.members.iter().any(|m| m.id == id) {
        return Err(ApiError::Conflict(format!("node {id} is already a member")));
    }
    let in_use = ctx.meta.read(|s| s.nodes.values().find(|n| n.raft == raft || n.http == http).map(|n| n.id));
    let raft_in_use = status.members.iter().find(|m| m.raft_addr == raft).map(|m| m.id);
    if let Some(other) = raft_in_use.or(in_use) {
        return Err(ApiError::Conflict(format!(
            "the address {raft} or {http} is already used by node {other}"
        )));
    }
    // Only a node that answers at that address, as that id, with the cluster secret.
    let transport = ctx.cluster.transport.as_ref().ok_or_else(|| ApiError::Unprocessable {
        code: "no_raft_address",
        message: "this node was started without --raft: restart the cluster's nodes with --node-id, --raft and --peers to add nodes".into(),
    })?;
    transport.probe(id, &raft).await.map_err(|message| ApiError::Upstream {
        code: "node_unusable",
        message: format!("node {id} was not added: {message}"),
    })?;
    ctx.meta.change_members(MemberChange::Add { id, raft_addr: raft.clone() }).await?;
    // Known with its HTTP address at once; it gets work once it renews its lease.
    meta::propose(&ctx.meta, Command::NodeUp { node: id, raft: raft.clone(), http: http.clone() }).await??;
    tracing::info!(node = id, %raft, %http, "added a node to the cluster");
    Ok(HttpResponse::Created().json(NodeView { id, raft, http }))
}

/// Removes a node: its work moves to other nodes first. Never the last node.
#[utoipa::path(
    tag = "cluster",
    params(("id", description = "The node's id")),
    responses(
        (status = 200, description = "Removed, with the projects moved off it", body = RemovedView),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "Not a member", body = ErrorBody),
        (status = 409, description = "The last node", body = ErrorBody),
        (
            status = 503,
            description = "Its work could not be moved (`work_not_moved`; nothing was removed), or no quorum",
            body = ErrorBody,
        ),
    ),
)]
#[delete("/nodes/{id}")]
async fn remove_node(ctx: web::Data<ApiContext>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ctx.meta.read_index().await?;
    let status = ctx.meta.status();
    if !status.members.iter().any(|m| m.id == id) {
        return Err(ApiError::NotFound(format!("node {id} is not a member of the cluster")));
    }
    if status.members.iter().filter(|m| m.voter).count() <= 1 {
        return Err(ApiError::Conflict(format!("node {id} is the last node: it cannot be removed")));
    }
    // First move its work away: it releases its projects (or, if it is gone, they move once
    // its lease has expired).
    let placed: Vec<String> = ctx.meta.read(|s| s.placed_on(id).map(|p| p.spec.name.clone()).collect());
    if ctx.meta.read(|s| s.nodes.contains_key(&id)) {
        meta::propose(&ctx.meta, Command::NodeLeaving { node: id }).await??;
    }
    let deadline = Instant::now() + ctx.cluster.lost_after + Duration::from_secs(20);
    loop {
        let still: Vec<String> = ctx.meta.read(|s| {
            s.placed_on(id)
                .filter(|p| p.state == ProjectState::Running)
                .map(|p| p.spec.name.clone())
                .collect()
        });
        if still.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            // Leave the cluster as it was: the node is not leaving after all.
            if let Some(n) = ctx.meta.read(|s| s.nodes.get(&id).cloned()) {
                let up = Command::NodeUp { node: id, raft: n.raft, http: n.http };
                let _ = meta::propose(&ctx.meta, up).await;
            }
            return Err(ApiError::Unavailable {
                code: "work_not_moved",
                message: format!("node {id} still runs {still:?}: its work could not be moved (is another node alive?); nothing was removed"),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctx.meta.change_members(MemberChange::Remove { id }).await?;
    // A removed leader hands over; a proposal forwarded to it meanwhile is lost, so wait for
    // the new leader. Forgetting the node is idempotent: try again on a timeout.
    let mut leader = ctx.meta.watch_leader();
    let _ =
        tokio::time::timeout(Duration::from_secs(5), leader.wait_for(|l| l.is_some_and(|l| l != id))).await;
    let mut attempts = 3;
    while ctx.meta.read(|s| s.nodes.contains_key(&id)) {
        match meta::propose(&ctx.meta, Command::NodeRemoved { node: id }).await {
            Ok(Ok(())) | Ok(Err(MetaError::UnknownNode(_))) => break,
            Ok(Err(e)) => return Err(e.into()),
            Err(e) if e.is_no_quorum() && attempts > 1 => attempts -= 1,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(node = id, moved = ?placed, "removed a node from the cluster");
    Ok(HttpResponse::Ok().json(RemovedView { removed: id, moved: placed }))
}
