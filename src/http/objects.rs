//! `/projects/{name}/objects`: every table the project synchronizes, with what was delivered
//! of it (inserts, updates, deletes, the time of its last change). The tables come from the
//! source (all that the project's rules match, changed or not) and from the checkpoint.

use super::error::ErrorBody;
use super::openapi::ServiceConfig;
use super::projects::{find, source_config};
use super::views::{ObjectView, ObjectsView};
use super::{ApiContext, ApiError};
use crate::model::{Checkpoint, TableChanges, TableName};
use crate::source::{mysql, TableFilter};
use actix_web::{get, web, HttpResponse};
use std::collections::BTreeSet;
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(objects);
}

/// Every table the project synchronizes, with what was delivered of it.
///
/// All that its rules match on the source, changed or not: topic, rows, inserts, updates,
/// deletes, last change.
#[utoipa::path(
    operation_id = "project_objects",
    tag = "projects",
    params(("name", description = "The project")),
    responses(
        (status = 200, description = "The project's tables", body = ObjectsView),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("/projects/{name}/objects")]
async fn objects(ctx: web::Data<ApiContext>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ctx.meta.read_index().await?;
    let project = find(&ctx, &name)?;
    let spec = &project.spec;
    let filter = TableFilter::new(&spec.objects).map_err(|e| ApiError::Internal(e.to_string()))?;
    // The connector furthest behind: what every destination has at least.
    let behind = project.furthest_behind();
    let empty = Checkpoint::default();
    let checkpoint = behind.as_ref().map_or(&empty, |(_, cp)| cp);
    // A source that does not answer quickly leaves out the tables without changes.
    let listed = async {
        let cfg = source_config(&ctx, &project).ok()?;
        tokio::time::timeout(Duration::from_secs(3), mysql::list_tables(&cfg, &filter)).await.ok()?.ok()
    }
    .await;
    let mut names: BTreeSet<TableName> = checkpoint
        .tables
        .keys()
        .chain(checkpoint.changes.keys())
        .filter_map(|t| t.split_once('.').map(|(db, table)| TableName::new(db, table)))
        .collect();
    let source_listed = listed.is_some();
    names.extend(listed.into_iter().flatten().map(|t| t.name));
    let objects = names
        .into_iter()
        .map(|name| {
            let key = name.to_string();
            let changes: TableChanges = checkpoint.changes.get(&key).copied().unwrap_or_default();
            ObjectView {
                topic: filter.topic(&name),
                rows: checkpoint.tables.get(&key).copied().unwrap_or(0),
                inserted: changes.inserted,
                updated: changes.updated,
                deleted: changes.deleted,
                last_change_ms: (changes.last_ts > 0).then(|| u64::from(changes.last_ts) * 1000),
                database: name.database,
                table: name.table,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(ObjectsView {
        project: spec.name.clone(),
        connector: behind.map(|(id, _)| id),
        source_listed,
        objects,
    }))
}
