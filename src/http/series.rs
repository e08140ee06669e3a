//! `/projects/{name}/metrics?since=<unix ms>`: the project's figures every 10 s over the last
//! hour, for the console's charts. Each node keeps what it runs, so the answer merges the
//! series of every node that runs a part of the project (`?local=true`: this node's alone).

use super::error::ErrorBody;
use super::forward::ask;
use super::openapi::ServiceConfig;
use super::projects::find;
use super::{ApiContext, ApiError};
use crate::runtime::series::{merge, Point, RESOLUTION_S};
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(series);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SeriesQuery {
    /// Points after this time (unix ms); all that is kept by default.
    #[serde(default)]
    since: u64,
    /// Only this node's points.
    #[serde(default)]
    local: bool,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct SeriesView {
    /// Seconds between points.
    resolution_s: u64,
    /// The nodes whose points these are.
    nodes: Vec<u64>,
    points: Vec<Point>,
}

/// The project's figures every 10 s over the last hour.
///
/// Pull and delivery rates and latency p99, merged from every node that runs a part of the
/// project (`?local=true`: this node's alone).
#[utoipa::path(
    operation_id = "project_series",
    tag = "projects",
    params(("name", description = "The project"), SeriesQuery),
    responses(
        (status = 200, description = "The points, oldest first", body = SeriesView),
        (status = 400, description = "An invalid query string", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ),
)]
#[get("/projects/{name}/metrics")]
async fn series(
    ctx: web::Data<ApiContext>,
    name: web::Path<String>,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let project = find(&ctx, &name)?;
    let me = ctx.meta.node_id();
    let own = ctx.series.since(&name, query.since);
    if query.local {
        return Ok(HttpResponse::Ok().json(SeriesView {
            resolution_s: RESOLUTION_S,
            nodes: vec![me],
            points: own,
        }));
    }
    // The nodes that run (or last ran) its store and connectors.
    let mut nodes: BTreeSet<u64> = BTreeSet::new();
    if let Some(placement) = &project.placement {
        nodes.insert(placement.node);
        nodes.extend(project.spec.connectors().iter().map(|c| placement.connector_node(&c.id)));
    }
    nodes.remove(&me);
    let path = format!("/api/v1/projects/{name}/metrics?since={}&local=true", query.since);
    let asks = nodes.iter().map(|node| {
        let path = path.clone();
        let ctx = ctx.clone();
        async move { ask::<SeriesView>(&ctx, *node, &path, Duration::from_secs(1)).await }
    });
    let others: Vec<SeriesView> = futures_util::future::join_all(asks).await.into_iter().flatten().collect();
    let mut answered = vec![me];
    answered.extend(others.iter().flat_map(|v| v.nodes.iter().copied()));
    answered.sort_unstable();
    let mut sets = vec![own];
    sets.extend(others.into_iter().map(|v| v.points));
    Ok(HttpResponse::Ok().json(SeriesView {
        resolution_s: RESOLUTION_S,
        nodes: answered,
        points: merge(sets),
    }))
}
