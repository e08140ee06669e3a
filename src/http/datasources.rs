//! `/datasources`: register, list, show, delete and check sources and destinations; preview
//! which tables of a source object rules match.

use super::error::ErrorBody;
use super::openapi::ServiceConfig;
use super::views::{validate_name, DataSourceView, NewDataSource, TableMatchView, TablesQuery, TablesView};
use super::{ApiContext, ApiError};
use crate::meta::{self, Command, DataSource, DataSourceKind, LogicalTable};
use crate::model::TableName;
use crate::pipeline::connector::now_ms;
use crate::sink::datahub::{self, DatahubSinkConfig};
use crate::sink::kafka::{ClientErrors, KafkaSinkConfig};
use crate::sink::rocketmq::{self, RocketmqSinkConfig};
use crate::source::filter::ObjectRule;
use crate::source::mysql::{self, MysqlConfig};
use crate::source::shards::{self, ShardCheck, ShardPattern};
use crate::source::ShardedTables;
use crate::source::{Finding, TableFilter};
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/datasources")
            .service(create)
            .service(list)
            .service(show)
            .service(update)
            .service(delete)
            .service(check)
            .service(tables),
    );
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CreateQuery {
    /// Connect before registering (default true).
    verify: Option<bool>,
}

/// Registers a data source: MySQL/MariaDB, Kafka, RocketMQ, OceanBase, DataHub or a sharded source.
///
/// A MySQL/MariaDB server is a source or a destination; Kafka, RocketMQ, OceanBase and DataHub
/// are destinations; a sharded (`dbp`) source is a source.
/// The connection is tried first (`?verify=false` skips that).
#[utoipa::path(
    operation_id = "create_datasource",
    tag = "datasources",
    params(CreateQuery),
    responses(
        (status = 201, description = "Registered (never with its password)", body = DataSourceView),
        (
            status = 400,
            description = "A missing or invalid field, or an invalid query string",
            body = ErrorBody,
        ),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (
            status = 502,
            description = "The server could not be used: unreachable, access denied, missing privilege",
            body = ErrorBody,
        ),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[post("")]
async fn create(
    ctx: web::Data<ApiContext>,
    query: web::Query<CreateQuery>,
    body: web::Json<NewDataSource>,
) -> Result<HttpResponse, ApiError> {
    let (source, shards) = build(&ctx, body.into_inner(), query.verify.unwrap_or(true)).await?;
    let view = DataSourceView { shards, ..DataSourceView::from(&source) };
    meta::propose(&ctx.meta, Command::CreateDataSource { source }).await??;
    Ok(HttpResponse::Created().json(view))
}

/// Replaces a data source's connection (the same body as registering it).
///
/// Its running projects restart with it: a MariaDB source moved to a replica that has the same
/// GTIDs continues where it was.
#[utoipa::path(
    operation_id = "update_datasource",
    tag = "datasources",
    params(("name", description = "The data source"), CreateQuery),
    responses(
        (status = 200, description = "Replaced", body = DataSourceView),
        (
            status = 400,
            description = "A missing or invalid field, an invalid query string, or the body names another data source",
            body = ErrorBody,
        ),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 502, description = "The server could not be used", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[put("/{name}")]
async fn update(
    ctx: web::Data<ApiContext>,
    name: web::Path<String>,
    query: web::Query<CreateQuery>,
    body: web::Json<NewDataSource>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.name() != name.as_str() {
        return Err(ApiError::bad_request(format!(
            "the body names data source {:?}, the path {:?}: a data source cannot be renamed",
            body.name(),
            name.as_str()
        )));
    }
    find(&ctx, &name)?;
    let (source, shards) = build(&ctx, body, query.verify.unwrap_or(true)).await?;
    let view = DataSourceView { shards, ..DataSourceView::from(&source) };
    meta::propose(&ctx.meta, Command::UpdateDataSource { source, now_ms: now_ms() }).await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Where a sharded source's shards are: instance -> `db.table`s.
type Shards = BTreeMap<String, Vec<String>>;

/// A data source from its API body, checked (and, with `verify`, connected to); a sharded
/// source's shards as found on its instances.
async fn build(
    ctx: &ApiContext,
    body: NewDataSource,
    verify: bool,
) -> Result<(DataSource, Option<Shards>), ApiError> {
    validate_name("name", body.name())?;
    if let NewDataSource::Dbp { name, instances, tables: logical_tables } = body {
        return build_dbp(ctx, name, instances, logical_tables, verify).await;
    }
    Ok((build_server(ctx, body, verify).await?, None))
}

/// A sharded source: its logical tables parsed, its instances mysql data sources, and (with
/// `verify`) every pattern's shards found, each on one instance.
async fn build_dbp(
    ctx: &ApiContext,
    name: String,
    instances: Vec<String>,
    logical_tables: Vec<LogicalTable>,
    verify: bool,
) -> Result<(DataSource, Option<Shards>), ApiError> {
    let sharded = ShardedTables::new(&logical_tables).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if instances.is_empty() {
        return Err(ApiError::bad_request("instances: give at least one mysql data source"));
    }
    for (i, instance) in instances.iter().enumerate() {
        if instances[..i].contains(instance) {
            return Err(ApiError::bad_request(format!("instances[{i}]: {instance:?} is listed twice")));
        }
        if *instance == name {
            return Err(ApiError::bad_request(format!(
                "instances[{i}]: a sharded source cannot be its own instance"
            )));
        }
    }
    let mut configs = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        let ds = ctx.meta.read(|s| s.data_sources.get(instance).cloned()).ok_or_else(|| {
            ApiError::NotFound(format!("instances[{i}]: data source {instance:?} does not exist"))
        })?;
        configs.push((instance.clone(), mysql_config(ctx, &ds)?));
    }
    let source = DataSource { name, kind: DataSourceKind::Dbp { instances, tables: logical_tables } };
    if !verify {
        return Ok((source, None));
    }
    let checks = shard_checks(&sharded, &instance_tables(&configs).await?);
    let problems = shard_problems(&checks);
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable { code: "shards_mismatch", message: problems.join("; ") });
    }
    let mut shards = Shards::new();
    for (_, _, shard_check) in checks {
        for (instance, held) in shard_check.placement {
            shards.entry(instance).or_default().extend(held.iter().map(|t| t.to_string()));
        }
    }
    Ok((source, Some(shards)))
}

/// Every table of each instance.
async fn instance_tables(
    configs: &[(String, MysqlConfig)],
) -> Result<Vec<(String, Vec<TableName>)>, ApiError> {
    let every = TableFilter::new(&[ObjectRule {
        database: "*".into(),
        tables: Vec::new(),
        exclude: Vec::new(),
        topic: String::new(),
        ..Default::default()
    }])
    .expect("a valid pattern");
    let lists = configs.iter().map(|(instance, cfg)| {
        let every = &every;
        async move {
            let found = mysql::list_tables(cfg, every).await.map_err(|e| on_instance(instance, e))?;
            Ok::<_, ApiError>((instance.clone(), found.into_iter().map(|t| t.name).collect()))
        }
    });
    futures_util::future::try_join_all(lists).await
}

/// A source error of instance `instance` (of a sharded source), saying which instance.
pub(super) fn on_instance(instance: &str, e: mysql::SourceError) -> ApiError {
    match ApiError::from(e) {
        ApiError::Upstream { code, message } => {
            ApiError::Upstream { code, message: format!("instance {instance}: {message}") }
        }
        other => other,
    }
}

/// Each logical table with its pattern and where its shards are among the tables `found` on
/// each instance.
fn shard_checks<'a>(
    sharded: &'a ShardedTables,
    found: &[(String, Vec<TableName>)],
) -> Vec<(&'a TableName, &'a ShardPattern, ShardCheck)> {
    sharded
        .tables()
        .iter()
        .map(|(logical, pattern)| (logical, pattern, shards::check(pattern, found)))
        .collect()
}

/// What is wrong with the shards of each logical table, one line each.
fn shard_problems(checks: &[(&TableName, &ShardPattern, ShardCheck)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (logical, pattern, shard_check) in checks {
        let names_of = |what: &str, names: &[String]| {
            (!names.is_empty()).then(|| format!("{what} {}", names.join(", ")))
        };
        let parts: Vec<String> = [
            names_of("missing on every instance:", &shard_check.missing),
            names_of("not in the pattern:", &shard_check.extra),
            names_of("on more than one instance:", &shard_check.duplicated),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            problems.push(format!("logical table {logical} ({}): {}", pattern.as_str(), parts.join("; ")));
        } else if shard_check.placement.iter().all(|(_, held)| held.is_empty()) {
            problems.push(format!(
                "logical table {logical} ({}): no instance has a shard of it",
                pattern.as_str()
            ));
        }
    }
    problems
}

/// A server data source (mysql, kafka, oceanbase) from its API body.
async fn build_server(ctx: &ApiContext, body: NewDataSource, verify: bool) -> Result<DataSource, ApiError> {
    Ok(match body {
        NewDataSource::Mysql { name, host, port, user, password, tls } => {
            require_address("mysql", &host, port, &user)?;
            let password_sealed = ctx.keyring.seal(&password);
            let tls = tls.map(|tls| tls.seal(&ctx.keyring)).transpose()?;
            let ds =
                DataSource { name, kind: DataSourceKind::Mysql { host, port, user, password_sealed, tls } };
            if verify {
                mysql::server_info(&connection(ctx, &ds)?).await?;
            }
            ds
        }
        NewDataSource::Kafka {
            name,
            bootstrap_servers,
            replication_factor,
            dead_letter_topic,
            tls,
            sasl,
        } => {
            if let Some(topic) = &dead_letter_topic {
                validate_topic(topic).map_err(ApiError::bad_request)?;
            }
            if bootstrap_servers.trim().is_empty() {
                return Err(ApiError::bad_request("bootstrap_servers is required for a kafka data source"));
            }
            if replication_factor.is_some_and(|r| r < 1) {
                return Err(ApiError::bad_request(
                    "replication_factor must be at least 1 (leave it out for the broker's default)",
                ));
            }
            let kind = DataSourceKind::Kafka {
                bootstrap_servers,
                replication_factor,
                dead_letter_topic,
                tls: tls.map(|tls| tls.seal(&ctx.keyring)).transpose()?,
                sasl: sasl.map(|sasl| sasl.seal(&ctx.keyring)).transpose()?,
            };
            if verify {
                kafka_reachable(&kafka_config(ctx, &kind)?)
                    .await
                    .map_err(|message| ApiError::Upstream { code: "destination_unreachable", message })?;
            }
            DataSource { name, kind }
        }
        NewDataSource::Oceanbase { name, host, port, user, password, tls } => {
            require_address("oceanbase", &host, port, &user)?;
            let password_sealed = ctx.keyring.seal(&password);
            let tls = tls.map(|tls| tls.seal(&ctx.keyring)).transpose()?;
            let ds = DataSource {
                name,
                kind: DataSourceKind::Oceanbase { host, port, user, password_sealed, tls },
            };
            if verify {
                mysql::server_version(&connection(ctx, &ds)?).await.map_err(destination_error)?;
            }
            ds
        }
        NewDataSource::Datahub {
            name,
            endpoint,
            project,
            access_id,
            access_key,
            record_type,
            dead_letter_topic,
            lifecycle_days,
        } => {
            let url = reqwest::Url::parse(&endpoint).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            if url.is_none() {
                return Err(ApiError::bad_request(format!(
                    "endpoint {endpoint:?} is not an http(s) URL (http://host:port)"
                )));
            }
            let config = DatahubSinkConfig {
                endpoint: endpoint.trim_end_matches('/').to_string(),
                project,
                access_id,
                access_key,
                record_type,
                dead_letter_topic,
                lifecycle_days: lifecycle_days.unwrap_or(datahub::LIFECYCLE_DAYS),
            };
            config.validate().map_err(ApiError::bad_request)?;
            if verify {
                datahub::check_access(&config).await.map_err(|e| datahub_refusal(&config, e))?;
            }
            let kind = DataSourceKind::Datahub {
                access_key_sealed: ctx.keyring.seal(&config.access_key),
                endpoint: config.endpoint,
                project: config.project,
                access_id: config.access_id,
                record_type,
                dead_letter_topic: config.dead_letter_topic,
                lifecycle_days,
            };
            DataSource { name, kind }
        }
        NewDataSource::Rocketmq {
            name,
            name_server,
            producer_group,
            access_key,
            secret_key,
            tag,
            send_timeout_ms,
            dead_letter_topic,
        } => {
            let config = RocketmqSinkConfig {
                name_server: name_server.trim().to_string(),
                producer_group,
                credentials: match (access_key, secret_key) {
                    (None, None) => None,
                    (key, secret) => Some((key.unwrap_or_default(), secret.unwrap_or_default())),
                },
                tag,
                send_timeout: Duration::from_millis(u64::from(send_timeout_ms)),
                dead_letter_topic,
            };
            config.validate().map_err(ApiError::bad_request)?;
            if verify {
                rocketmq::reachable(&config.name_server)
                    .await
                    .map_err(|message| ApiError::Upstream { code: "destination_unreachable", message })?;
            }
            let (access_key, secret_key_sealed) = match &config.credentials {
                Some((key, secret)) => (Some(key.clone()), Some(ctx.keyring.seal(secret))),
                None => (None, None),
            };
            DataSource {
                name,
                kind: DataSourceKind::Rocketmq {
                    name_server: config.name_server,
                    producer_group: config.producer_group,
                    access_key,
                    secret_key_sealed,
                    tag: config.tag,
                    send_timeout_ms,
                    dead_letter_topic: config.dead_letter_topic,
                },
            }
        }
        NewDataSource::Dbp { .. } => unreachable!("built by build_dbp"),
    })
}

/// What is wrong with Kafka topic name `topic`, if anything.
fn validate_topic(topic: &str) -> Result<(), String> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "dead_letter_topic {topic:?} is not a Kafka topic name (1-249 characters of A-Z a-z 0-9 . _ -)"
        )),
    }
}

/// The fields a database data source cannot do without.
fn require_address(kind: &str, host: &str, port: u16, user: &str) -> Result<(), ApiError> {
    if host.is_empty() || user.is_empty() || port == 0 {
        return Err(ApiError::bad_request(format!(
            "host, port and user are required for a {kind} data source"
        )));
    }
    Ok(())
}

/// A database destination that could not be used: unreachable (as Kafka's), access denied...
fn destination_error(e: mysql::SourceError) -> ApiError {
    match e {
        e @ mysql::SourceError::Unreachable { .. } => {
            ApiError::Upstream { code: "destination_unreachable", message: e.to_string() }
        }
        e => e.into(),
    }
}

/// Every data source (never a password).
#[utoipa::path(
    operation_id = "list_datasources",
    tag = "datasources",
    responses(
        (status = 200, description = "The data sources", body = Vec<DataSourceView>),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("")]
async fn list(ctx: web::Data<ApiContext>) -> Result<HttpResponse, ApiError> {
    let views: Vec<DataSourceView> =
        ctx.meta.read_linearizable(|s| s.data_sources.values().map(Into::into).collect()).await?;
    Ok(HttpResponse::Ok().json(views))
}

fn find(ctx: &ApiContext, name: &str) -> Result<DataSource, ApiError> {
    ctx.meta
        .read(|s| s.data_sources.get(name).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("data source {name:?} does not exist")))
}

/// One data source.
#[utoipa::path(
    operation_id = "show_datasource",
    tag = "datasources",
    params(("name", description = "The data source")),
    responses(
        (status = 200, description = "The data source", body = DataSourceView),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[get("/{name}")]
async fn show(ctx: web::Data<ApiContext>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ctx.meta.read_index().await?;
    Ok(HttpResponse::Ok().json(DataSourceView::from(&find(&ctx, &name)?)))
}

/// Deletes a data source no project uses.
#[utoipa::path(
    operation_id = "delete_datasource",
    tag = "datasources",
    params(("name", description = "The data source")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 409, description = "A project uses it", body = ErrorBody),
        (status = 503, description = "No quorum", body = ErrorBody),
    ),
)]
#[delete("/{name}")]
async fn delete(ctx: web::Data<ApiContext>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    meta::propose(&ctx.meta, Command::DeleteDataSource { name: name.into_inner() }).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
struct CheckView {
    name: String,
    /// Every check passed.
    ok: bool,
    findings: Vec<Finding>,
}

/// Checks a data source, each finding with its fix.
///
/// MySQL/MariaDB: `log_bin`, `binlog_format`, `binlog_row_image`, privileges ...; Kafka: that
/// the brokers answer; RocketMQ: that the name servers answer; OceanBase: that it accepts the
/// login, and its version.
#[utoipa::path(
    tag = "datasources",
    params(("name", description = "The data source")),
    responses(
        (
            status = 200,
            description = "The findings (a connection failure is a finding too)",
            body = CheckView,
        ),
        (status = 404, description = "No such data source", body = ErrorBody),
    ),
)]
#[post("/{name}/check")]
async fn check(ctx: web::Data<ApiContext>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ds = find(&ctx, &name)?;
    let findings = match &ds.kind {
        DataSourceKind::Mysql { .. } => {
            let cfg = mysql_config(&ctx, &ds)?;
            match mysql::precheck(&cfg).await {
                Ok(findings) => findings,
                Err(e) => vec![Finding {
                    check: "connect".into(),
                    ok: false,
                    message: e.to_string(),
                    fix: "check host, port, user and password, and that the server accepts connections from this node".into(),
                }],
            }
        }
        kind @ DataSourceKind::Datahub { endpoint, project, .. } => {
            let config = datahub_config(&ctx, kind)?;
            let access =
                datahub::check_access(&config).await.map_err(|e| datahub_refusal(&config, e).to_string());
            vec![reached(
                access,
                &format!("{endpoint} (project {project})"),
                "check endpoint, project, access_id and access_key, and that DataHub is up",
            )]
        }
        DataSourceKind::Rocketmq { name_server, .. } => vec![reached(
            rocketmq::reachable(name_server).await,
            name_server,
            "check name_server and that the name servers are up",
        )],
        kind @ DataSourceKind::Kafka { bootstrap_servers, .. } => vec![reached(
            kafka_reachable(&kafka_config(&ctx, kind)?).await,
            bootstrap_servers,
            "check bootstrap_servers, tls and sasl, and that the brokers are up",
        )],
        DataSourceKind::Oceanbase { host, port, .. } => {
            let cfg = connection(&ctx, &ds)?;
            let (ok, message, fix) = match mysql::server_version(&cfg).await {
                Ok(version) => (true, format!("reached {host}:{port}, version {version}"), String::new()),
                Err(e) => (
                    false,
                    e.to_string(),
                    "check host, port, user and password (an OceanBase user may need its tenant: user@tenant), and that the server accepts connections from this node".into(),
                ),
            };
            vec![Finding { check: "connect".into(), ok, message, fix }]
        }
        DataSourceKind::Dbp { instances, tables: logical_tables } => {
            dbp_findings(&ctx, instances, logical_tables).await
        }
    };
    let ok = findings.iter().all(|f| f.ok);
    Ok(HttpResponse::Ok().json(CheckView { name: ds.name, ok, findings }))
}

/// A sharded source's findings: each instance's (named after it), then its shards'.
async fn dbp_findings(
    ctx: &ApiContext,
    instances: &[String],
    logical_tables: &[LogicalTable],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut configs = Vec::new();
    for instance in instances {
        let cfg = ctx.meta.read(|s| s.data_sources.get(instance).cloned()).map(|ds| mysql_config(ctx, &ds));
        let found = match cfg {
            Some(Ok(cfg)) => match mysql::precheck(&cfg).await {
                Ok(found) => {
                    configs.push((instance.clone(), cfg));
                    found
                }
                Err(e) => vec![Finding {
                    check: "connect".into(),
                    ok: false,
                    message: e.to_string(),
                    fix: "check the instance's host, port, user and password".into(),
                }],
            },
            _ => vec![Finding {
                check: "connect".into(),
                ok: false,
                message: format!("data source {instance:?} is gone or not mysql"),
                fix: "register the instance again as a mysql data source".into(),
            }],
        };
        findings
            .extend(found.into_iter().map(|f| Finding { check: format!("{instance}: {}", f.check), ..f }));
    }
    if configs.len() == instances.len() {
        let checked = match ShardedTables::new(logical_tables) {
            Ok(sharded) => {
                instance_tables(&configs).await.map(|found| shard_problems(&shard_checks(&sharded, &found)))
            }
            Err(e) => Ok(vec![e.to_string()]),
        };
        let (ok, message) = match checked {
            Ok(problems) if problems.is_empty() => (true, "every shard is on one instance".to_string()),
            Ok(problems) => (false, problems.join("; ")),
            Err(e) => (false, e.to_string()),
        };
        let fix = if ok { String::new() } else { "create the missing shards, or change the patterns".into() };
        findings.push(Finding { check: "shards".into(), ok, message, fix });
    }
    findings
}

/// The tables of source `name` that object rules match (what a project with them would sync).
#[utoipa::path(
    tag = "datasources",
    params(("name", description = "The source")),
    responses(
        (status = 200, description = "The matched tables and their topics", body = TablesView),
        (status = 400, description = "No rules, or an invalid one", body = ErrorBody),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 422, description = "The data source is a destination", body = ErrorBody),
        (status = 502, description = "The source could not be used", body = ErrorBody),
    ),
)]
#[post("/{name}/tables")]
async fn tables(
    ctx: web::Data<ApiContext>,
    name: web::Path<String>,
    body: web::Json<TablesQuery>,
) -> Result<HttpResponse, ApiError> {
    let ds = find(&ctx, &name)?;
    let objects = body.into_inner().objects;
    if objects.is_empty() || objects.iter().any(|r| r.database.is_empty()) {
        return Err(ApiError::bad_request("objects: give at least one {\"database\": ...} entry"));
    }
    let filter = TableFilter::new(&objects).map_err(|e| ApiError::bad_request(format!("objects: {e}")))?;
    let DataSourceKind::Mysql { .. } = &ds.kind else {
        return Err(ApiError::Unprocessable {
            code: "wrong_data_source_type",
            message: format!("data source {:?} is {}, not a mysql source", ds.name, ds.kind.type_name()),
        });
    };
    let cfg = mysql_config(&ctx, &ds)?;
    let tables = mysql::list_tables(&cfg, &filter)
        .await?
        .into_iter()
        .map(|t| TableMatchView {
            topic: filter.topic(&t.name),
            database: t.name.database,
            table: t.name.table,
            has_primary_key: t.has_primary_key,
        })
        .collect();
    Ok(HttpResponse::Ok().json(TablesView { source: ds.name, tables }))
}

/// The connection settings of a mysql data source, password decrypted.
pub fn mysql_config(ctx: &ApiContext, ds: &DataSource) -> Result<MysqlConfig, ApiError> {
    match &ds.kind {
        DataSourceKind::Mysql { .. } => connection(ctx, ds),
        kind => Err(ApiError::Unprocessable {
            code: "wrong_data_source_type",
            message: format!("data source {:?} is {}, not mysql", ds.name, kind.type_name()),
        }),
    }
}

/// The connection settings of a database (mysql or oceanbase) data source, password decrypted.
fn connection(ctx: &ApiContext, ds: &DataSource) -> Result<MysqlConfig, ApiError> {
    let connection = ds.kind.connection(&ctx.keyring).ok_or_else(|| ApiError::Unprocessable {
        code: "wrong_data_source_type",
        message: format!("data source {:?} is {}, not a database", ds.name, ds.kind.type_name()),
    })?;
    connection.map_err(|e| ApiError::Internal(e.to_string()))
}

/// The `connect` finding of a message destination: reached `address`, or why not and `fix`.
fn reached(result: Result<(), String>, address: &str, fix: &str) -> Finding {
    Finding {
        check: "connect".into(),
        ok: result.is_ok(),
        fix: if result.is_ok() { String::new() } else { fix.into() },
        message: result.err().unwrap_or_else(|| format!("reached {address}")),
    }
}

/// Why DataHub would not let the data source's key use its project: unreachable (502
/// `destination_unreachable`), the key refused (`access_denied`), or the project missing.
fn datahub_refusal(config: &DatahubSinkConfig, e: datahub::CallError) -> ApiError {
    let (endpoint, project) = (&config.endpoint, &config.project);
    match &e {
        datahub::CallError::Transport(_) => ApiError::Upstream {
            code: "destination_unreachable",
            message: format!("cannot reach datahub at {endpoint}: {e}"),
        },
        datahub::CallError::Api { status: 401 | 403, .. } => ApiError::Upstream {
            code: "access_denied",
            message: format!("datahub at {endpoint} refused access_id {:?}: {e}", config.access_id),
        },
        datahub::CallError::Api { .. } => ApiError::Upstream {
            code: "destination_error",
            message: format!("datahub at {endpoint} cannot give project {project:?}: {e}"),
        },
    }
}

/// The settings of a datahub data source, its key opened.
fn datahub_config(ctx: &ApiContext, kind: &DataSourceKind) -> Result<DatahubSinkConfig, ApiError> {
    DatahubSinkConfig::of(kind, &ctx.keyring)
        .expect("a datahub data source")
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The settings of a kafka data source, secrets opened.
fn kafka_config(ctx: &ApiContext, kind: &DataSourceKind) -> Result<KafkaSinkConfig, ApiError> {
    KafkaSinkConfig::of(kind, &ctx.keyring)
        .expect("a kafka data source")
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Asks the brokers for metadata, within 5 s, with the data source's TLS and SASL; a failure
/// names what the client saw (a refused login, an untrusted certificate), not just a timeout.
async fn kafka_reachable(config: &KafkaSinkConfig) -> Result<(), String> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let servers = &config.bootstrap_servers;
        let consumer: BaseConsumer<ClientErrors> = config
            .client_config()
            .create_with_context(ClientErrors::default())
            .map_err(|e| format!("invalid kafka settings: {e}"))?;
        consumer.fetch_metadata(None, Duration::from_secs(5)).map(|_| ()).map_err(|e| {
            // The client's errors reach its context only through a poll.
            for _ in 0..5 {
                let _ = consumer.poll(Duration::from_millis(20));
            }
            match consumer.context().last() {
                Some(seen) => format!("cannot reach kafka at {servers}: {e}; the client saw: {seen}"),
                None => format!("cannot reach kafka at {servers}: {e}"),
            }
        })
    })
    .await
    .map_err(|e| e.to_string())?
}
