//! `POST /projects/{name}/snapshot`: copies chosen tables of a running project again (a table
//! added to its objects later, a consumer that lost data), beside its changes, on the node that
//! runs its store.

use super::connectors::starting;
use super::error::ErrorBody;
use super::forward::{forward, is_forwarded};
use super::openapi::ServiceConfig;
use super::projects::{find, keys_for_full_sync};
use super::views::{SnapshotBody, SnapshotView};
use super::{ApiContext, ApiError};
use crate::meta::ProjectState;
use crate::model::TableName;
use crate::source::filter::ObjectRule;
use crate::source::mysql;
use crate::source::TableFilter;
use actix_web::{post, web, HttpRequest, HttpResponse};
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(copy_again);
}

/// Copies chosen tables of a running project again.
///
/// Each table (`database.table`, among those the project syncs) is copied from its first row
/// as a full sync copies it: in chunks of its key's order, without a lock, merged with its
/// changes so no copied row follows a newer change; copied rows are snapshot records
/// (`recordType: "ROW"`, Debezium `op: "r"`). Progress shows in the project's `full_sync`. A
/// table being copied starts over.
#[utoipa::path(
    operation_id = "copy_tables_again",
    tag = "projects",
    params(("name", description = "The project")),
    request_body(content = SnapshotBody),
    responses(
        (status = 202, description = "The copy starts", body = SnapshotView),
        (status = 400, description = "An invalid body, or a table name that is not database.table", body = ErrorBody),
        (status = 404, description = "No such project, or a table the source does not have", body = ErrorBody),
        (status = 409, description = "The project is not running", body = ErrorBody),
        (
            status = 422,
            description = "A table the project does not sync (`table_not_synced`), one without a key to copy it by (`table_without_key`), or a sharded source (`sharded_source`)",
            body = ErrorBody,
        ),
        (status = 503, description = "The project is starting or moving, or no quorum", body = ErrorBody),
    ),
)]
#[post("/projects/{name}/snapshot")]
async fn copy_again(
    ctx: web::Data<ApiContext>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let raw = body.into_inner();
    let asked: SnapshotBody = serde_json::from_value(raw.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    if asked.tables.is_empty() {
        return Err(ApiError::bad_request("tables: name at least one database.table"));
    }
    ctx.meta.read_index().await?;
    let project = find(&ctx, &name)?;
    if project.state != ProjectState::Running {
        return Err(ApiError::Conflict(format!(
            "project {name:?} is {}: tables are copied again while it runs",
            project.state.as_str()
        )));
    }
    if !project.instances.is_empty() {
        return Err(ApiError::Unprocessable {
            code: "sharded_source",
            message: format!(
                "project {name:?} reads a sharded source: copying its tables again is not supported yet"
            ),
        });
    }
    let filter = TableFilter::new(&project.spec.objects).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut tables = Vec::with_capacity(asked.tables.len());
    for (i, t) in asked.tables.iter().enumerate() {
        let Some((database, table)) = t.split_once('.').filter(|(d, t)| !d.is_empty() && !t.is_empty())
        else {
            return Err(ApiError::bad_request(format!("tables[{i}]: {t:?} is not database.table")));
        };
        if !filter.matches(database, table) {
            return Err(ApiError::Unprocessable {
                code: "table_not_synced",
                message: format!(
                    "tables[{i}]: project {name:?} does not sync {t} (add it to its objects first)"
                ),
            });
        }
        tables.push(TableName::new(database, table));
    }
    let Some(node) = project.placement.as_ref().map(|p| p.node) else {
        return Err(starting(&name));
    };
    if node != ctx.meta.node_id() {
        if is_forwarded(&req) {
            return Err(starting(&name));
        }
        return forward(&ctx, node, reqwest::Method::POST, req.path(), Some(&raw), Duration::from_secs(30))
            .await;
    }
    let live = ctx.live.project(&name).filter(|l| l.epoch == project.epoch && l.store.is_some());
    let live = live.ok_or_else(|| starting(&name))?;
    // Each table exists and has a key to copy it by.
    let source = ctx
        .meta
        .read(|s| s.data_sources.get(&project.spec.source).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("data source {:?} is gone", project.spec.source)))?;
    let cfg = super::datasources::mysql_config(&ctx, &source)?;
    let rules: Vec<ObjectRule> = tables
        .iter()
        .map(|t| ObjectRule {
            database: t.database.clone(),
            tables: vec![t.table.clone()],
            exclude: Vec::new(),
            topic: String::new(),
            ..Default::default()
        })
        .collect();
    let chosen = TableFilter::new(&rules).map_err(|e| ApiError::Internal(e.to_string()))?;
    let found = mysql::list_tables(&cfg, &chosen).await?;
    if let Some(missing) = tables.iter().find(|t| !found.iter().any(|f| f.name == **t)) {
        return Err(ApiError::NotFound(format!("table {missing} does not exist on the source")));
    }
    keys_for_full_sync(&cfg, &chosen).await?;
    live.status.request_snapshot(tables.clone());
    tracing::info!(project = %name, tables = ?asked.tables, "copying tables again");
    Ok(HttpResponse::Accepted().json(SnapshotView { project: name.into_inner(), tables: asked.tables }))
}
