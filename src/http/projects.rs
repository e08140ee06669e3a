//! `/projects`: create, drive through the lifecycle, show progress, delete.

use super::datasources::{mysql_config, on_instance};
use super::error::ErrorBody;
use super::forward::{ask, forward, is_forwarded};
use super::openapi::ServiceConfig;
use super::views::{
    validate_name, ComponentView, ConnectorLiveView, ConnectorView, FullSyncView, InstanceConnectorView,
    InstanceView, NewProject, PositionView, ProjectView, RetainedView, StartBody, StoreStatusView,
    TableCopyView, TableView,
};
use super::{ApiContext, ApiError};
use crate::meta::{
    self, checkpoint_key, Action, Command, ConnectorSpec, DataSource, DataSourceKind, Partition, Project,
    ProjectSpec, ProjectState, SourceServer, DEFAULT_CONNECTOR,
};
use crate::model::{Checkpoint, Position, TableName};
use crate::pipeline::connector::now_ms;
use crate::pipeline::feed::LocalFeed;
use crate::pipeline::status::{PipelineStatus, SnapshotStatus};
use crate::sink::database::DatabaseKind;
use crate::source::filter::ObjectRule;
use crate::source::mysql::snapshot::PageReader;
use crate::source::mysql::{self, MysqlConfig, SourceError};
use crate::source::shape::Shapes;
use crate::source::{RouteRule, Routes, ShardedTables, StartPoint, TableFilter};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/projects")
            .service(create)
            .service(list)
            .service(show)
            .service(delete)
            .service(act),
    );
}

/// Creates a project (it does not start yet).
///
/// Its source, destination (or connectors), objects, format, partition rule, start position,
/// options, store bounds and routing rules. A destination is a Kafka or a database (mysql,
/// oceanbase) data source other than the source.
#[utoipa::path(
    operation_id = "create_project",
    tag = "projects",
    responses(
        (status = 201, description = "Created", body = ProjectView),
        (status = 400, description = "A missing, unknown or invalid field, named", body = ErrorBody),
        (status = 404, description = "The source or a destination does not exist", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (
            status = 422,
            description = "The source is not mysql, a destination is the project's source, or a matched table has no primary key under `hash`",
            body = ErrorBody,
        ),
        (status = 502, description = "The source could not be used", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[post("")]
async fn create(ctx: web::Data<ApiContext>, body: web::Json<NewProject>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    validate_name("name", &body.name)?;
    if body.objects.is_empty() {
        return Err(ApiError::bad_request("objects: give at least one {\"database\": ...} entry"));
    }
    for (i, rule) in body.objects.iter().enumerate() {
        if rule.database.is_empty() {
            return Err(ApiError::bad_request(format!("objects[{i}].database must not be empty")));
        }
    }
    TableFilter::new(&body.objects).map_err(|e| ApiError::bad_request(format!("objects: {e}")))?;
    let connectors = connectors(&body)?;
    let start = match body.start {
        None => Default::default(),
        Some(value) => serde_json::from_value::<StartBody>(value)
            .map_err(|_| {
                ApiError::bad_request(
                    "start: expected {\"from\":\"now\"}, {\"file\":..,\"pos\":..}, {\"gtid\":..} or {\"timestamp\":..}",
                )
            })?
            .into_start()?,
    };
    if body.options.topic_partitions == 0 || body.options.topic_partitions > 10_000 {
        return Err(ApiError::bad_request("options.topic_partitions must be between 1 and 10000"));
    }
    if !(10..=60_000).contains(&body.options.checkpoint_interval_ms) {
        return Err(ApiError::bad_request(
            "options.checkpoint_interval_ms must be between 10 and 60000 (a crash resends at most that much)",
        ));
    }
    if body.options.server_id == Some(0) {
        return Err(ApiError::bad_request(
            "options.server_id must be between 1 and 4294967295, unique among the source's replicas",
        ));
    }
    if body.options.heartbeat_ms != 0 && !(1000..=3_600_000).contains(&body.options.heartbeat_ms) {
        return Err(ApiError::bad_request(
            "options.heartbeat_ms must be 0 (no heartbeat records) or between 1000 and 3600000",
        ));
    }
    body.store.validate().map_err(ApiError::bad_request)?;
    body.snapshot.validate().map_err(ApiError::bad_request)?;
    if body.sync.full && !body.sync.incremental {
        return Err(ApiError::bad_request(
            "sync: [\"full\"] alone (copy, then finish) is not supported yet: use [\"full\", \"incremental\"]",
        ));
    }
    Routes::new(&body.routes).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let source = ctx
        .meta
        .read(|s| s.data_sources.get(&body.source).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("source: data source {:?} does not exist", body.source)))?;
    for (i, connector) in connectors.iter().enumerate() {
        let field = if body.connectors.is_empty() {
            "destination".to_string()
        } else {
            format!("connectors[{i}].destination")
        };
        // Kafka or a database (mysql, oceanbase): every kind is a destination, but not the source.
        let destination = &connector.destination;
        if !ctx.meta.read(|s| s.data_sources.contains_key(destination)) {
            return Err(ApiError::NotFound(format!("{field}: data source {destination:?} does not exist")));
        }
        let instance =
            matches!(&source.kind, DataSourceKind::Dbp { instances, .. } if instances.contains(destination));
        if *destination == source.name || instance {
            return Err(ApiError::Unprocessable {
                code: "destination_is_source",
                message: format!(
                    "{field}: data source {destination:?} is the project's source: a project cannot write into what it reads"
                ),
            });
        }
    }
    let (servers, filter) = source_servers(&ctx, &source, &body.objects, &body.routes, &start)?;
    if body.objects.iter().any(ObjectRule::shapes) {
        if servers.len() != 1 || servers[0].instance.is_some() {
            return Err(ApiError::bad_request(
                "objects: where, columns and exclude_columns on a sharded source are not supported yet",
            ));
        }
        shapes_fit(&servers[0].connection, &body.objects, &filter).await?;
    }
    if body.sync.full {
        if servers.len() != 1 || servers[0].instance.is_some() {
            return Err(ApiError::bad_request(
                "sync: a full sync of a sharded source is not supported yet: sync it [\"incremental\"]",
            ));
        }
        keys_for_full_sync(&servers[0].connection, &filter).await?;
    }
    // A database applies changes by primary key; the `hash` rule partitions by it.
    let into_database = ctx.meta.read(|s| {
        connectors
            .iter()
            .any(|c| s.data_sources.get(&c.destination).and_then(|d| DatabaseKind::of(&d.kind)).is_some())
    });
    let hash = connectors.iter().any(|c| c.partition == Partition::Hash);
    if into_database || hash {
        let mut without_pk = Vec::new();
        for server in &servers {
            let tables = mysql::list_tables(&server.connection, &filter).await.map_err(|e| match &server
                .instance
            {
                Some(instance) => on_instance(instance, e),
                None => e.into(),
            })?;
            without_pk.extend(tables.iter().filter(|t| !t.has_primary_key).map(|t| t.name.to_string()));
        }
        if !without_pk.is_empty() {
            let why = match into_database {
                true => "a database destination applies changes by primary key; add a primary key or exclude them",
                false => "so the \"hash\" partition rule cannot keep their rows in order; add a primary key, exclude them, or use partition \"table\" or \"one\"",
            };
            return Err(ApiError::Unprocessable {
                code: "table_without_primary_key",
                message: format!("table(s) {} have no primary key: {why}", without_pk.join(", ")),
            });
        }
    }
    // The first connector's settings stand for the project's (all of them when there is one).
    let first = connectors[0].clone();
    let spec = ProjectSpec {
        name: body.name.clone(),
        source: body.source,
        destination: first.destination,
        objects: body.objects,
        format: first.format,
        partition: first.partition,
        start,
        options: body.options,
        store: body.store,
        connectors: if body.connectors.is_empty() { Vec::new() } else { connectors },
        routes: body.routes,
        sync: body.sync,
        snapshot: body.snapshot,
    };
    meta::propose(&ctx.meta, Command::CreateProject { spec, now_ms: now_ms() }).await??;
    let project = find(&ctx, &body.name)?;
    Ok(HttpResponse::Created().json(view(&ctx, &project, None, &BTreeMap::new())))
}

/// Every object rule's row filter parses, and its filter and columns apply to each table it
/// selects now (the columns exist, the key stays, each comparison fits its column).
async fn shapes_fit(
    source: &MysqlConfig,
    objects: &[ObjectRule],
    filter: &TableFilter,
) -> Result<(), ApiError> {
    let shapes = Shapes::new(objects).map_err(|e| ApiError::bad_request(e.to_string()))?;
    for table in mysql::list_tables(source, filter).await? {
        let schema = std::sync::Arc::new(mysql::table_schema(source, &table.name).await?);
        shapes
            .shape(&schema)
            .map_err(|e| ApiError::Unprocessable { code: "object_rule_unfit", message: e.to_string() })?;
    }
    Ok(())
}

/// A full sync copies a table in the order of a key: its primary key, else a unique key over
/// NOT NULL columns. Refuses the tables with neither, naming them.
pub(super) async fn keys_for_full_sync(source: &MysqlConfig, filter: &TableFilter) -> Result<(), ApiError> {
    let without_pk: Vec<TableName> = mysql::list_tables(source, filter)
        .await?
        .into_iter()
        .filter(|t| !t.has_primary_key)
        .map(|t| t.name)
        .collect();
    if without_pk.is_empty() {
        return Ok(());
    }
    let mut reader = PageReader::open(source).await?;
    let mut keyless = Vec::new();
    let mut failed = None;
    for table in without_pk {
        let schema = match mysql::table_schema(source, &table).await {
            Ok(schema) => schema,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        match reader.key(&schema).await {
            Ok(_) => {}
            Err(SourceError::Table { .. }) => keyless.push(table.to_string()),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    reader.close().await;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if keyless.is_empty() {
        return Ok(());
    }
    Err(ApiError::Unprocessable {
        code: "table_without_key",
        message: format!(
            "table(s) {} have no primary key and no unique key over NOT NULL columns, so a full sync cannot copy them in key order: add one, exclude them, or sync [\"incremental\"] only",
            keyless.join(", ")
        ),
    })
}

/// The servers a new project reads (each instance of a sharded source named) and the filter
/// of what it reads there: its objects, or on a sharded source the shards of the logical tables
/// its objects select.
fn source_servers(
    ctx: &ApiContext,
    source: &DataSource,
    objects: &[ObjectRule],
    routes: &[RouteRule],
    start: &StartPoint,
) -> Result<(Vec<SourceServer>, TableFilter), ApiError> {
    let DataSourceKind::Dbp { instances, tables } = &source.kind else {
        let filter = TableFilter::new(objects).map_err(|e| ApiError::bad_request(format!("objects: {e}")))?;
        return Ok((vec![SourceServer { instance: None, connection: mysql_config(ctx, source)? }], filter));
    };
    if !matches!(start, StartPoint::Now | StartPoint::Timestamp { .. }) {
        return Err(ApiError::bad_request(
            "start: a sharded source starts from {\"from\":\"now\"} or a {\"timestamp\"}: a binlog position or GTID names one server's log",
        ));
    }
    let sharded = ShardedTables::new(tables).map_err(|e| ApiError::Internal(e.to_string()))?;
    // An object rule per logical table the objects select.
    let (physical, _) = sharded.physical_rules(objects, routes).map_err(ApiError::bad_request)?;
    if physical.is_empty() {
        let known: Vec<String> = sharded.tables().iter().map(|(l, _)| l.to_string()).collect();
        return Err(ApiError::Unprocessable {
            code: "no_table_selected",
            message: format!(
                "objects select no logical table of sharded source {:?} (its logical tables: {})",
                source.name,
                known.join(", ")
            ),
        });
    }
    let mut servers = Vec::new();
    for instance in instances {
        let ds = ctx.meta.read(|s| s.data_sources.get(instance).cloned()).ok_or_else(|| {
            ApiError::NotFound(format!("instance {instance:?} of {:?} is gone", source.name))
        })?;
        servers.push(SourceServer { instance: Some(instance.clone()), connection: mysql_config(ctx, &ds)? });
    }
    let filter = TableFilter::new(&physical).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((servers, filter))
}

/// The connectors a new project asks for: its one `destination`, or its `connectors`.
fn connectors(body: &NewProject) -> Result<Vec<ConnectorSpec>, ApiError> {
    match (&body.destination, body.connectors.is_empty()) {
        (Some(_), false) => {
            return Err(ApiError::bad_request(
                "give either destination (one connector) or connectors (several), not both",
            ))
        }
        (None, true) => {
            return Err(ApiError::bad_request(
                "destination: missing (or give connectors: [{\"id\", \"destination\", ...}])",
            ))
        }
        (Some(destination), true) => {
            return Ok(vec![ConnectorSpec {
                id: DEFAULT_CONNECTOR.into(),
                destination: destination.clone(),
                format: body.format,
                partition: body.partition,
                topic: None,
            }])
        }
        (None, false) => {}
    }
    let mut out: Vec<ConnectorSpec> = Vec::new();
    for (i, c) in body.connectors.iter().enumerate() {
        validate_name(&format!("connectors[{i}].id"), &c.id)?;
        if out.iter().any(|o| o.id == c.id) {
            return Err(ApiError::bad_request(format!("connectors[{i}].id: {:?} is given twice", c.id)));
        }
        if c.topic.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ApiError::bad_request(format!("connectors[{i}].topic must not be empty")));
        }
        out.push(ConnectorSpec {
            id: c.id.clone(),
            destination: c.destination.clone(),
            format: c.format,
            partition: c.partition,
            topic: c.topic.clone(),
        });
    }
    Ok(out)
}

pub(super) fn find(ctx: &ApiContext, name: &str) -> Result<Project, ApiError> {
    ctx.meta
        .read(|s| s.projects.get(name).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("project {name:?} does not exist")))
}

/// The connection settings of the project's source.
pub(super) fn source_config(ctx: &ApiContext, project: &Project) -> Result<MysqlConfig, ApiError> {
    let source = ctx.meta.read(|s| s.data_sources.get(&project.spec.source).cloned());
    let source =
        source.ok_or_else(|| ApiError::NotFound(format!("source {:?} is gone", project.spec.source)))?;
    mysql_config(ctx, &source)
}

/// Every project, from the metadata (without the live figures of `GET /projects/{name}`).
#[utoipa::path(
    operation_id = "list_projects",
    tag = "projects",
    responses(
        (status = 200, description = "The projects", body = Vec<ProjectView>),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("")]
async fn list(ctx: web::Data<ApiContext>) -> Result<HttpResponse, ApiError> {
    let projects: Vec<Project> =
        ctx.meta.read_linearizable(|s| s.projects.values().cloned().collect()).await?;
    let views: Vec<ProjectView> = projects.iter().map(|p| view(&ctx, p, None, &BTreeMap::new())).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One project, with its live figures.
///
/// The figures come from the node that runs its store: the call is passed there when another
/// node answers (and this node's metadata-only view is the fallback when
/// that node does not answer within 3 s).
#[utoipa::path(
    operation_id = "show_project",
    tag = "projects",
    params(("name", description = "The project")),
    responses(
        (
            status = 200,
            description = "The project: state, components, positions, figures",
            body = ProjectView,
        ),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("/{name}")]
async fn show(
    ctx: web::Data<ApiContext>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    ctx.meta.read_index().await?;
    let project = find(&ctx, &name)?;
    let store_node =
        project.placement.as_ref().map(|p| p.node).filter(|_| project.state == ProjectState::Running);
    if let Some(node) = store_node.filter(|n| *n != ctx.meta.node_id() && !is_forwarded(&req)) {
        let timeout = std::time::Duration::from_secs(3);
        match forward(&ctx, node, reqwest::Method::GET, req.path(), None, timeout).await {
            Ok(answer) if answer.status().is_success() => return Ok(answer),
            Ok(answer) => {
                tracing::debug!(node, status = %answer.status(), "the store's node did not show the project")
            }
            Err(e) => tracing::debug!(node, error = %e, "the store's node did not show the project"),
        }
    }
    // The source's end of binlog, to say how far behind we are; a source that does not answer
    // quickly leaves it out rather than slowing the API.
    let source_position = async {
        let cfg = source_config(&ctx, &project).ok()?;
        tokio::time::timeout(Duration::from_secs(2), mysql::current_position(&cfg)).await.ok()?.ok()
    };
    let (source_position, remote) = futures_util::join!(source_position, remote_connectors(&ctx, &project));
    Ok(HttpResponse::Ok().json(view(&ctx, &project, source_position.as_ref(), &remote)))
}

/// The live figures of the project's connectors that run on other nodes, from those nodes
/// (asked at once, each for at most a second).
async fn remote_connectors(ctx: &ApiContext, project: &Project) -> BTreeMap<String, ConnectorLiveView> {
    let Some(placement) = project.placement.as_ref().filter(|_| project.state == ProjectState::Running)
    else {
        return BTreeMap::new();
    };
    let me = ctx.meta.node_id();
    let name = &project.spec.name;
    let asks = project.spec.connectors().into_iter().filter_map(|c| {
        let node = placement.connector_node(&c.id);
        (node != me).then_some(async move {
            let path = format!("/api/v1/projects/{name}/connectors/{}/live", c.id);
            let live: Option<ConnectorLiveView> = ask(ctx, node, &path, Duration::from_secs(1)).await;
            live.map(|l| (c.id, l))
        })
    });
    futures_util::future::join_all(asks).await.into_iter().flatten().collect()
}

/// Connector `id`'s live figures, when it runs on this node.
pub fn connector_live(ctx: &ApiContext, project: &Project, id: &str) -> Option<ConnectorLiveView> {
    let me = ctx.meta.node_id();
    let placement = project.placement.as_ref().filter(|_| project.state == ProjectState::Running)?;
    if placement.connector_node(id) != me {
        return None;
    }
    let running = ctx.live.project(&project.spec.name).filter(|r| r.epoch == project.epoch)?;
    // On a sharded source a connector runs once per instance: its figures add up, its latency
    // is the worst.
    let errors = running.status.errors();
    let mut view: Option<ConnectorLiveView> = None;
    for instance in project.streams() {
        let key = checkpoint_key(id, instance);
        let Some(live) = running.status.connector_here(&key) else { continue };
        let latency = live.latency(now_ms());
        let v = view.get_or_insert(ConnectorLiveView {
            node: me,
            rows_per_s: 0,
            bytes_per_s: 0,
            retries: 0,
            last_error: None,
            latency_p50_ms: None,
            latency_p95_ms: None,
            latency_p99_ms: None,
        });
        v.rows_per_s += live.rows_per_s.load(Ordering::Relaxed);
        v.bytes_per_s += live.bytes_per_s.load(Ordering::Relaxed);
        v.retries += errors.get(&format!("connector/{key}")).copied().unwrap_or(0);
        v.last_error = v.last_error.take().or_else(|| live.last_error());
        v.latency_p50_ms = v.latency_p50_ms.max(latency.map(|q| q.p50_ms));
        v.latency_p95_ms = v.latency_p95_ms.max(latency.map(|q| q.p95_ms));
        v.latency_p99_ms = v.latency_p99_ms.max(latency.map(|q| q.p99_ms));
    }
    view
}

/// Each instance's store of a project reading a sharded source (figures from this node when
/// its stores run here).
fn instances(ctx: &ApiContext, project: &Project) -> Vec<InstanceView> {
    let running = ctx.live.project(&project.spec.name).filter(|r| r.epoch == project.epoch);
    let connectors = project.spec.connectors();
    project
        .instances
        .iter()
        .map(|instance| {
            let live = running.as_ref().and_then(|r| r.instances.iter().find(|i| i.instance == *instance));
            let status = live.map(|l| &l.status);
            InstanceView {
                instance: instance.clone(),
                store_position: status.and_then(|s| s.store_position()).as_ref().map(PositionView::from),
                store_timestamp: status.map(|s| s.store_ts()).filter(|ts| *ts > 0),
                rows_read: status.map(|s| s.store_rows.load(Ordering::Relaxed)),
                rows_per_s: status.map(|s| s.store_rows_per_s.load(Ordering::Relaxed)),
                store_status: live.map(|l| store_status(&l.status, &l.store)),
                connectors: connectors
                    .iter()
                    .map(|c| {
                        let cp = project.checkpoints.get(&checkpoint_key(&c.id, Some(instance)));
                        InstanceConnectorView {
                            id: c.id.clone(),
                            sync_timestamp: cp.map(|cp| cp.commit_ts).filter(|ts| *ts > 0),
                            position: cp.filter(|cp| cp.seq > 0).map(|cp| PositionView::from(&cp.position)),
                            rows: cp.map_or(0, |cp| cp.rows),
                            caught_up: status.map(|s| cp.is_some_and(|cp| cp.seq >= s.store_committed_seq())),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Deletes a project that was only created, or released.
#[utoipa::path(
    operation_id = "delete_project",
    tag = "projects",
    params(("name", description = "The project")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "Not in a state that allows it", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[delete("/{name}")]
async fn delete(ctx: web::Data<ApiContext>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    meta::propose(&ctx.meta, Command::DeleteProject { name: name.into_inner() }).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Drives the project through its lifecycle.
///
/// `start` (from its start position, `now` pinned to the source's current position), `pause`,
/// `resume`, `stop`, `release` (its store's data is dropped).
#[utoipa::path(
    tag = "projects",
    params(
        ("name", description = "The project"),
        ("action", description = "`start`, `pause`, `resume`, `stop` or `release`"),
    ),
    responses(
        (status = 200, description = "The project after the transition", body = ProjectView),
        (status = 404, description = "No such project or action", body = ErrorBody),
        (status = 409, description = "Not allowed from the project's state", body = ErrorBody),
        (status = 502, description = "The source could not be used (to pin `now`)", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[post("/{name}/{action}")]
async fn act(
    ctx: web::Data<ApiContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, action) = path.into_inner();
    let action = match action.as_str() {
        "start" => Action::Start,
        "pause" => Action::Pause,
        "resume" => Action::Resume,
        "stop" => Action::Stop,
        "release" => Action::Release,
        other => {
            return Err(ApiError::NotFound(format!(
                "no action {other:?}; actions are start, pause, resume, stop, release"
            )))
        }
    };
    let project = find(&ctx, &name)?;
    // "From now" means from when the user pressed start: pin it to the source's position.
    let sharded = !project.instances.is_empty();
    let start_at = match (action, &project.spec.start) {
        // Positions are per server: the instances of a sharded source start from this second.
        (Action::Start, StartPoint::Now) if sharded => {
            Some(StartPoint::Timestamp { timestamp: now_ms() / 1000 })
        }
        (Action::Start, StartPoint::Now) => {
            let p = mysql::current_position(&source_config(&ctx, &project)?).await?;
            Some(StartPoint::FilePos { file: p.file, pos: p.pos })
        }
        _ => None,
    };
    let command = Command::Transition { name: name.clone(), action, now_ms: now_ms(), start_at };
    meta::propose(&ctx.meta, command).await??;
    Ok(HttpResponse::Ok().json(view(&ctx, &find(&ctx, &name)?, None, &BTreeMap::new())))
}

/// Where the project's store and connectors run, with their placement epoch.
fn components(ctx: &ApiContext, project: &Project) -> Vec<ComponentView> {
    let running = project.state == ProjectState::Running;
    let placement = project.placement.as_ref();
    let state = |node: Option<u64>| match (placement, node) {
        _ if !running => project.state.as_str(),
        (None, _) | (_, None) => "waiting_for_node",
        (Some(p), _) if p.releasing => "moving",
        (_, Some(n)) if !ctx.cluster.alive(n) => "node_unreachable",
        _ => "running",
    };
    let name = &project.spec.name;
    let component = |kind, id, node| ComponentView {
        kind,
        id,
        node,
        epoch: project.epoch,
        state: state(node),
        ..Default::default()
    };
    let mut components = vec![component("store", format!("{name}/store"), placement.map(|p| p.node))];
    for c in project.spec.connectors() {
        let node = placement.map(|p| p.connector_node(&c.id));
        components.push(component("connector", format!("{name}/connector/{}", c.id), node));
    }
    components
}

/// A project as this node sees it, with `remote`: the live figures of connectors on other nodes.
fn view(
    ctx: &ApiContext,
    project: &Project,
    source_position: Option<&Position>,
    remote: &BTreeMap<String, ConnectorLiveView>,
) -> ProjectView {
    let spec = &project.spec;
    // The store's figures, when the store runs here.
    let running = ctx.live.project(&spec.name).filter(|r| r.store.is_some());
    let live = running.as_ref().map(|r| r.status.clone());
    // Each connector's checkpoint (on a sharded source, of all its instances).
    let connector_checkpoints: Vec<Option<Checkpoint>> =
        spec.connectors().iter().map(|c| project.connector_checkpoint(&c.id)).collect();
    let instances = instances(ctx, project);
    // The connector furthest behind (none until every connector has a checkpoint).
    let checkpoints: Option<Vec<&Checkpoint>> = connector_checkpoints.iter().map(Option::as_ref).collect();
    let checkpoint = match project.instances.is_empty() {
        true => checkpoints.and_then(|all| all.into_iter().min_by_key(|c| c.seq)),
        false => checkpoints.and_then(|all| all.into_iter().min_by_key(|c| c.commit_ts)),
    };
    let store_position = live.as_ref().and_then(|l| l.store_position());
    // Caught up: the destination acknowledged every transaction the store has read, and the
    // store has read to the source's end (when we asked the source). On a sharded source:
    // every connector in every instance's store.
    let all_instances_delivered = !instances.is_empty()
        && instances.iter().all(|i| i.connectors.iter().all(|c| c.caught_up == Some(true)));
    let delivered = |cp: Option<&Checkpoint>| match (cp, &live) {
        (Some(cp), Some(l)) => cp.seq >= l.store_committed_seq(),
        (Some(_), None) => all_instances_delivered,
        _ => false,
    };
    let delivered_all_read = delivered(checkpoint);
    let at_source_end = source_position.is_none_or(|src| {
        store_position.as_ref().is_some_and(|s| (s.file.as_str(), s.pos) >= (src.file.as_str(), src.pos))
    });
    // Now minus a source time (unix seconds), 0 when caught up.
    let delay_ms =
        |ts: u32, caught_up: bool| if caught_up { 0 } else { now_ms().saturating_sub(u64::from(ts) * 1000) };
    let latency = |cp: Option<&Checkpoint>| {
        cp.filter(|cp| cp.commit_ts > 0).map(|c| delay_ms(c.commit_ts, delivered(cp) && at_source_end))
    };
    let latency_ms = latency(checkpoint);
    let connectors: Vec<ConnectorView> = spec
        .connectors()
        .into_iter()
        .zip(&connector_checkpoints)
        .map(|(c, cp)| {
            let cp = cp.as_ref();
            ConnectorView {
                sync_timestamp: cp.map(|cp| cp.commit_ts).filter(|ts| *ts > 0),
                latency_ms: latency(cp),
                position: cp.filter(|cp| cp.seq > 0).map(|cp| PositionView::from(&cp.position)),
                rows: cp.map_or(0, |cp| cp.rows),
                bytes: cp.map_or(0, |cp| cp.bytes),
                live: connector_live(ctx, project, &c.id).or_else(|| remote.get(&c.id).cloned()),
                id: c.id,
                destination: c.destination,
                format: c.format,
                partition: c.partition,
                topic: c.topic,
            }
        })
        .collect();
    let store_timestamp = live.as_ref().map(|l| l.store_ts()).filter(|ts| *ts > 0);
    let store_delay_ms = store_timestamp.map(|ts| delay_ms(ts, source_position.is_some() && at_source_end));
    // How far the source is ahead of us: of the store when everything it read is delivered
    // (it may have read past transactions of tables the project does not sync), else of the
    // checkpoint.
    let ours = if delivered_all_read { store_position.as_ref() } else { checkpoint.map(|cp| &cp.position) };
    let behind_bytes = match (ours, source_position) {
        (Some(ours), Some(src)) if ours.file == src.file => Some(src.pos.saturating_sub(ours.pos)),
        _ => None,
    };
    let filter = TableFilter::new(&spec.objects).ok();
    let tables = checkpoint
        .map(|cp| {
            cp.tables
                .iter()
                .map(|(name, rows)| {
                    let (database, table) = name.split_once('.').unwrap_or((name, ""));
                    let topic = filter.as_ref().and_then(|f| f.topic(&TableName::new(database, table)));
                    TableView { database: database.into(), table: table.into(), topic, rows: *rows }
                })
                .collect()
        })
        .unwrap_or_default();
    // The store's node's last error, else one a connector on another node reported.
    let last_error = live
        .as_ref()
        .and_then(|l| l.last_error())
        .or_else(|| connectors.iter().find_map(|c: &ConnectorView| c.live.as_ref()?.last_error.clone()));
    let store_status =
        running.as_ref().and_then(|r| r.store.as_ref().map(|store| store_status(&r.status, store)));
    // Each component with its own figures (the store's from here, a connector's from its node).
    // `components` lists the store, then the connectors in the spec's order, as `connectors`.
    let mut components = components(ctx, project);
    if let Some((store, connector_components)) = components.split_first_mut() {
        store.position = store_position.as_ref().map(PositionView::from);
        store.timestamp = store_timestamp;
        store.delay_ms = store_delay_ms;
        store.rows_per_s = store_status.as_ref().map(|s| s.rows_per_s);
        store.bytes_per_s = store_status.as_ref().map(|s| s.bytes_per_s);
        store.retained = store_status.as_ref().map(|s| s.retained.clone());
        store.last_error = live.as_ref().and_then(|l| l.last_error());
        for (c, v) in connector_components.iter_mut().zip(&connectors) {
            c.position = v.position.clone();
            c.timestamp = v.sync_timestamp;
            c.delay_ms = v.latency_ms;
            if let Some(l) = &v.live {
                c.rows_per_s = Some(l.rows_per_s);
                c.bytes_per_s = Some(l.bytes_per_s);
                c.retries = Some(l.retries);
                c.last_error = l.last_error.clone();
                (c.latency_p50_ms, c.latency_p95_ms, c.latency_p99_ms) =
                    (l.latency_p50_ms, l.latency_p95_ms, l.latency_p99_ms);
            }
        }
    }
    ProjectView {
        name: spec.name.clone(),
        state: project.state.as_str(),
        node: project.placement.as_ref().map(|p| p.node),
        epoch: project.epoch,
        components,
        error: project.error.clone(),
        source: spec.source.clone(),
        destination: spec.destination.clone(),
        objects: spec.objects.clone(),
        format: spec.format,
        partition: spec.partition,
        start: StartBody::from_start(&spec.start),
        options: spec.options.clone(),
        store: spec.store.clone(),
        routes: spec.routes.clone(),
        sync: spec.sync,
        snapshot: spec.snapshot.clone(),
        full_sync: live
            .as_ref()
            .map(|l| l.snapshot())
            .filter(|s| !s.tables.is_empty())
            .map(|s| full_sync(&s)),
        connectors,
        created_at_ms: project.created_at_ms,
        updated_at_ms: project.updated_at_ms,
        sync_timestamp: checkpoint.map(|cp| cp.commit_ts).filter(|ts| *ts > 0),
        latency_ms,
        position: checkpoint.filter(|cp| cp.seq > 0).map(|cp| PositionView::from(&cp.position)),
        store_position: store_position.as_ref().map(PositionView::from),
        store_timestamp,
        store_delay_ms,
        source_position: source_position.map(PositionView::from),
        behind_bytes,
        rows: checkpoint.map_or(0, |cp| cp.rows),
        bytes: checkpoint.map_or(0, |cp| cp.bytes),
        rows_read: live.as_ref().map(|l| l.store_rows.load(Ordering::Relaxed)),
        last_error,
        store_status,
        tables,
        instances,
    }
}

fn full_sync(s: &SnapshotStatus) -> FullSyncView {
    let tables: Vec<TableCopyView> = s
        .tables
        .iter()
        .map(|(name, t)| TableCopyView {
            table: name.clone(),
            estimated_rows: t.estimated_rows,
            copied_rows: t.copied_rows,
            chunks: t.chunks,
            done: t.done,
        })
        .collect();
    let tables_done = tables.iter().filter(|t| t.done).count();
    let copied_rows = s.copied_rows();
    // A finished table's count is exact; the others' estimates stand until they finish.
    let estimated_rows =
        tables.iter().map(|t| if t.done { t.copied_rows } else { t.estimated_rows.max(t.copied_rows) }).sum();
    let rows_per_s = s.rows_per_s();
    let done = tables_done == tables.len();
    FullSyncView {
        state: if done { "done" } else { "copying" },
        tables_done,
        tables,
        copied_rows,
        estimated_rows,
        rows_per_s,
        eta_s: match done {
            true => Some(0),
            false => (rows_per_s > 0).then(|| estimated_rows.saturating_sub(copied_rows) / rows_per_s),
        },
    }
}

fn store_status(live: &PipelineStatus, store: &LocalFeed) -> StoreStatusView {
    let retained = store.log.retained();
    let paused_reason = live.store_paused();
    StoreStatusView {
        state: if paused_reason.is_some() { "paused" } else { "pulling" },
        paused_reason,
        retained: RetainedView {
            oldest_seq: retained.oldest_seq,
            oldest_timestamp: retained.oldest_ts,
            newest_seq: retained.newest_seq,
            newest_timestamp: retained.newest_ts,
            bytes: retained.bytes,
        },
        rows_per_s: live.store_rows_per_s.load(Ordering::Relaxed),
        bytes_per_s: live.store_bytes_per_s.load(Ordering::Relaxed),
        stopped_tables: live.stopped_tables(),
        xa_prepared: live.xa_prepared(),
    }
}
