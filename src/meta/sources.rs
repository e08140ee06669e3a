//! What a project reads: the servers (its mysql source, or each instance of a sharded source)
//! and its object rules and routes over the tables there (a sharded source's logical tables
//! turned into rules over their shards). The node agent runs a store per server; verification
//! reads each server.

use super::{DataSourceKind, MetaState, Project};
use crate::secrets::Keyring;
use crate::source::filter::ObjectRule;
use crate::source::mysql::MysqlConfig;
use crate::source::{RouteRule, ShardedTables};

/// One server a project reads.
#[derive(Debug, Clone)]
pub struct SourceServer {
    /// The instance (a mysql data source) of a sharded source; none: the project's source.
    pub instance: Option<String>,
    pub connection: MysqlConfig,
}

/// The servers a project reads and its rules over their tables.
#[derive(Debug, Clone)]
pub struct ProjectSources {
    pub servers: Vec<SourceServer>,
    pub objects: Vec<ObjectRule>,
    pub routes: Vec<RouteRule>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("source {0} does not exist")]
    Unknown(String),
    #[error("source {0} is not a mysql data source")]
    NotMysql(String),
    #[error("the password of data source {data_source:?} cannot be opened: {reason}")]
    Secret { data_source: String, reason: String },
    #[error("{0}")]
    Rules(String),
}

impl MetaState {
    /// What `project` reads, the passwords opened with `keyring`.
    pub fn project_sources(
        &self,
        keyring: &Keyring,
        project: &Project,
    ) -> Result<ProjectSources, SourcesError> {
        let spec = &project.spec;
        let server =
            |source: &str, instance: Option<String>| match self.data_sources.get(source).map(|d| &d.kind) {
                Some(kind @ DataSourceKind::Mysql { .. }) => Ok(SourceServer {
                    instance,
                    connection: kind.connection(keyring).expect("a mysql data source").map_err(|e| {
                        SourcesError::Secret { data_source: source.to_string(), reason: e.to_string() }
                    })?,
                }),
                Some(_) => Err(SourcesError::NotMysql(source.to_string())),
                None => Err(SourcesError::Unknown(source.to_string())),
            };
        let Some(DataSourceKind::Dbp { tables, .. }) = self.data_sources.get(&spec.source).map(|d| &d.kind)
        else {
            return Ok(ProjectSources {
                servers: vec![server(&spec.source, None)?],
                objects: spec.objects.clone(),
                routes: spec.routes.clone(),
            });
        };
        if project.instances.is_empty() {
            return Err(SourcesError::Rules(format!("sharded source {:?} has no instances", spec.source)));
        }
        let sharded = ShardedTables::new(tables).map_err(|e| SourcesError::Rules(e.to_string()))?;
        let (objects, routes) =
            sharded.physical_rules(&spec.objects, &spec.routes).map_err(SourcesError::Rules)?;
        let servers =
            project.instances.iter().map(|i| server(i, Some(i.clone()))).collect::<Result<_, _>>()?;
        Ok(ProjectSources { servers, objects, routes })
    }
}
