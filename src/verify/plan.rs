//! What a verification compares: the project's source against one of its database connectors'
//! destination, the source tables asked for (default: all the project syncs) grouped by the
//! target table they are routed to.
//!
//! A sharded (dbp) source is read on each of its instances, by the project's rules turned into
//! rules over physical shards (`MetaState::project_sources`); a plain source is one server.
//! Either way a source table is named `database.table` and lives on exactly one server.

use super::VerifyError;
use crate::meta::{DataSourceKind, MetaState, Project, ProjectSources, SourceServer, SourcesError};
use crate::model::TableName;
use crate::secrets::Keyring;
use crate::sink::database::{DatabaseKind, DatabaseSinkConfig};
use crate::source::filter::ObjectRule;
use crate::source::mysql::{MysqlConfig, SourceError};
use crate::source::{RouteRule, Routes, TableFilter};
use std::collections::BTreeMap;

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// The connector whose destination is verified; none: the first database connector.
    pub connector: Option<String>,
    /// Source tables (`database.table`; the physical shards on a sharded source); none: every
    /// table the project syncs.
    pub tables: Option<Vec<String>>,
    /// Run the repair statements on the destination.
    pub repair: bool,
}

/// A verification ready to run: connections resolved, the request checked against the project.
#[derive(Debug, Clone)]
pub struct Job {
    pub project: String,
    /// The project's creation time: a report of an earlier project of the same name is not this one's.
    pub incarnation: u64,
    pub connector: String,
    pub destination: String,
    /// The servers the source tables are read on: one, or each instance of a sharded source.
    pub sources: Vec<SourceServer>,
    pub target: MysqlConfig,
    pub kind: DatabaseKind,
    /// Which source tables the project syncs (on a sharded source, its physical shards).
    pub objects: Vec<ObjectRule>,
    /// Where they are routed (on a sharded source, from the shards).
    pub routes: Vec<RouteRule>,
    pub tables: Option<Vec<TableName>>,
    pub repair: bool,
}

impl Job {
    /// The job `request` asks for on `project`, with the passwords opened with `keyring`.
    pub fn resolve(
        state: &MetaState,
        keyring: &Keyring,
        project: &Project,
        request: VerifyRequest,
    ) -> Result<Job, VerifyError> {
        let spec = &project.spec;
        let name = spec.name.clone();
        let kind_of = |ds: &str| state.data_sources.get(ds).map(|d| &d.kind);
        let database = |k: Option<&DataSourceKind>| k.and_then(DatabaseKind::of).is_some();
        let connectors = spec.connectors();
        let connector = match &request.connector {
            Some(id) => {
                let c = spec.connector(id).ok_or_else(|| VerifyError::UnknownConnector {
                    project: name.clone(),
                    connector: id.clone(),
                    known: connectors.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", "),
                })?;
                if !database(kind_of(&c.destination)) {
                    return Err(VerifyError::NotADatabase {
                        project: name,
                        connector: c.id.clone(),
                        destination: c.destination.clone(),
                        kind: kind_of(&c.destination).map_or("missing", DataSourceKind::type_name),
                    });
                }
                c
            }
            None => match connectors.iter().find(|c| database(kind_of(&c.destination))) {
                Some(c) => c.clone(),
                None => {
                    let c = &connectors[0];
                    return Err(VerifyError::NotADatabase {
                        project: name,
                        connector: c.id.clone(),
                        destination: c.destination.clone(),
                        kind: kind_of(&c.destination).map_or("missing", DataSourceKind::type_name),
                    });
                }
            },
        };
        let open = |ds: &str| -> Result<DatabaseSinkConfig, VerifyError> {
            kind_of(ds)
                .and_then(|kind| DatabaseSinkConfig::of(kind, keyring))
                .ok_or_else(|| VerifyError::UnknownDataSource(ds.to_string()))?
                .map_err(|e| VerifyError::Secret { data_source: ds.to_string(), reason: e.to_string() })
        };
        let ProjectSources { servers: sources, objects, routes } =
            state.project_sources(keyring, project).map_err(|e| match e {
                SourcesError::Unknown(ds) | SourcesError::NotMysql(ds) => VerifyError::UnknownDataSource(ds),
                SourcesError::Secret { data_source, reason } => VerifyError::Secret { data_source, reason },
                SourcesError::Rules(reason) => VerifyError::Rules(reason),
            })?;
        let DatabaseSinkConfig { kind, connection: target } = open(&connector.destination)?;
        let filter = TableFilter::new(&objects).map_err(|e| VerifyError::Rules(e.to_string()))?;
        Routes::new(&routes).map_err(|e| VerifyError::Rules(e.to_string()))?;
        let tables = match request.tables {
            None => None,
            Some(tables) => Some(
                tables
                    .iter()
                    .enumerate()
                    .map(|(index, value)| {
                        let table = match value.split_once('.') {
                            Some((d, t)) if !d.is_empty() && !t.is_empty() && !t.contains('.') => {
                                TableName::new(d, t)
                            }
                            _ => return Err(VerifyError::BadTableName { index, value: value.clone() }),
                        };
                        if !filter.matches(&table.database, &table.table) {
                            return Err(VerifyError::NotSynced {
                                project: name.clone(),
                                table: value.clone(),
                            });
                        }
                        Ok(table)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Job {
            project: name,
            incarnation: project.created_at_ms,
            connector: connector.id,
            destination: connector.destination,
            sources,
            target,
            kind,
            objects,
            routes,
            tables,
            repair: request.repair,
        })
    }

    /// The name a report gives source table `table`: `database.table`, on a sharded source
    /// `instance:database.table`.
    pub fn source_name(&self, table: &SourceTable) -> String {
        match &self.sources[table.server].instance {
            Some(instance) => format!("{instance}:{}", table.name),
            None => table.name.to_string(),
        }
    }
}

/// An error of `server`, naming the instance on a sharded source.
pub fn server_error(server: &SourceServer, error: SourceError) -> VerifyError {
    match &server.instance {
        Some(instance) => VerifyError::Instance { instance: instance.clone(), error },
        None => VerifyError::Source(error),
    }
}

/// A source table and the server that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTable {
    /// A position in [`Job::sources`].
    pub server: usize,
    pub name: TableName,
}

/// The tables every server holds (`listed[i]`, those of `servers[i]`) in one list ordered by
/// name. A table two servers hold is an error: each shard lives on one instance.
pub fn locate(
    servers: &[SourceServer],
    listed: Vec<Vec<TableName>>,
) -> Result<Vec<SourceTable>, VerifyError> {
    let mut all: Vec<SourceTable> = listed
        .into_iter()
        .enumerate()
        .flat_map(|(server, names)| names.into_iter().map(move |name| SourceTable { server, name }))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.server.cmp(&b.server)));
    if let Some(pair) = all.windows(2).find(|p| p[0].name == p[1].name) {
        let instance = |t: &SourceTable| servers[t.server].instance.clone().unwrap_or_default();
        return Err(VerifyError::OnTwoInstances {
            table: pair[0].name.to_string(),
            first: instance(&pair[0]),
            second: instance(&pair[1]),
        });
    }
    Ok(all)
}

/// One target table: the source tables compared with it, and every source table routed to it
/// (where a target row's key is looked for).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPlan {
    pub target: TableName,
    pub compare: Vec<SourceTable>,
    pub lookup: Vec<SourceTable>,
}

/// Groups the tables to compare (`selected`, default all of `synced`) by target table, in
/// target order. A selected table the source does not have is an error.
pub fn group(
    synced: &[SourceTable],
    selected: Option<&[TableName]>,
    routes: &Routes,
) -> Result<Vec<TargetPlan>, VerifyError> {
    if let Some(missing) = selected.into_iter().flatten().find(|t| !synced.iter().any(|s| &s.name == *t)) {
        return Err(VerifyError::SourceTableMissing { table: missing.to_string() });
    }
    let mut plans: BTreeMap<TableName, TargetPlan> = BTreeMap::new();
    for table in synced {
        let target = routes.target(&table.name);
        let plan = plans.entry(target.clone()).or_insert_with(|| TargetPlan {
            target,
            compare: Vec::new(),
            lookup: Vec::new(),
        });
        plan.lookup.push(table.clone());
        if selected.is_none_or(|s| s.contains(&table.name)) {
            plan.compare.push(table.clone());
        }
    }
    Ok(plans.into_values().filter(|p| !p.compare.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TableName {
        let (d, t) = s.split_once('.').unwrap();
        TableName::new(d, t)
    }

    /// Table `s` on server `server`.
    fn on(server: usize, s: &str) -> SourceTable {
        SourceTable { server, name: t(s) }
    }

    fn server(instance: Option<&str>) -> SourceServer {
        let connection = MysqlConfig {
            host: "db".into(),
            port: 3306,
            user: "ferry".into(),
            password: String::new(),
            tls: None,
        };
        SourceServer { instance: instance.map(str::to_string), connection }
    }

    #[test]
    fn shards_group_under_their_target_and_all_of_them_are_looked_in() {
        let routes = Routes::new(&[RouteRule {
            from: "shop.orders_*".into(),
            to: Some("shop.orders".into()),
            columns: Default::default(),
            shard_column: None,
        }])
        .unwrap();
        let synced = [on(0, "shop.orders_0"), on(0, "shop.orders_1"), on(0, "shop.users")];
        let all = group(&synced, None, &routes).unwrap();
        assert_eq!(
            all,
            vec![
                TargetPlan {
                    target: t("shop.orders"),
                    compare: vec![on(0, "shop.orders_0"), on(0, "shop.orders_1")],
                    lookup: vec![on(0, "shop.orders_0"), on(0, "shop.orders_1")],
                },
                TargetPlan {
                    target: t("shop.users"),
                    compare: vec![on(0, "shop.users")],
                    lookup: vec![on(0, "shop.users")]
                },
            ]
        );
        // One shard compared; its sibling still holds keys the target may have.
        let one = group(&synced, Some(&[t("shop.orders_1")]), &routes).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].compare, vec![on(0, "shop.orders_1")]);
        assert_eq!(one[0].lookup.len(), 2);
        assert!(matches!(
            group(&synced, Some(&[t("shop.gone")]), &routes),
            Err(VerifyError::SourceTableMissing { .. })
        ));
    }

    #[test]
    fn shards_on_several_instances_keep_their_server() {
        let routes = Routes::new(&[RouteRule {
            from: "shop_*.orders_*".into(),
            to: Some("shop.orders".into()),
            columns: Default::default(),
            shard_column: None,
        }])
        .unwrap();
        let servers = [server(Some("a")), server(Some("b"))];
        let listed = vec![
            vec![t("shop_00.orders_00"), t("shop_01.orders_00")],
            vec![t("shop_00.orders_01"), t("shop_01.orders_01")],
        ];
        let synced = locate(&servers, listed).unwrap();
        assert_eq!(
            synced,
            [
                on(0, "shop_00.orders_00"),
                on(1, "shop_00.orders_01"),
                on(0, "shop_01.orders_00"),
                on(1, "shop_01.orders_01")
            ],
            "by name, whichever instance holds them"
        );
        let plans = group(&synced, Some(&[t("shop_01.orders_01")]), &routes).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].compare, [on(1, "shop_01.orders_01")]);
        assert_eq!(plans[0].lookup, synced);
    }

    #[test]
    fn a_table_on_two_instances_names_both() {
        let servers = [server(Some("a")), server(Some("b")), server(Some("c"))];
        let listed = vec![vec![t("s.x")], vec![t("s.y")], vec![t("s.x")]];
        match locate(&servers, listed) {
            Err(VerifyError::OnTwoInstances { table, first, second }) => {
                assert_eq!((table.as_str(), first.as_str(), second.as_str()), ("s.x", "a", "c"));
            }
            other => panic!("{other:?}"),
        }
        // One server: its tables as listed.
        let one = locate(&[server(None)], vec![vec![t("s.a"), t("s.b")]]).unwrap();
        assert_eq!(one, [on(0, "s.a"), on(0, "s.b")]);
    }

    #[test]
    fn a_shard_is_named_with_its_instance_on_a_sharded_source() {
        let job = |sources| Job {
            project: "p".into(),
            incarnation: 0,
            connector: "c".into(),
            destination: "d".into(),
            sources,
            target: server(None).connection,
            kind: DatabaseKind::Mysql,
            objects: Vec::new(),
            routes: Vec::new(),
            tables: None,
            repair: false,
        };
        assert_eq!(job(vec![server(None)]).source_name(&on(0, "s.x")), "s.x");
        let sharded = job(vec![server(Some("a")), server(Some("b"))]);
        assert_eq!(sharded.source_name(&on(1, "shop_01.orders_03")), "b:shop_01.orders_03");
    }

    #[test]
    fn a_sharded_source_is_read_on_each_instance_by_its_shards() {
        use crate::meta::{DataSource, LogicalTable, ProjectState};
        let path = std::env::temp_dir().join(format!("ferry-verify-plan-{}.key", std::process::id()));
        let keyring = Keyring::load_or_create(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let mysql = |host: &str| DataSourceKind::Mysql {
            host: host.into(),
            port: 3306,
            user: "ferry".into(),
            password_sealed: keyring.seal("secret"),
            tls: None,
        };
        let mut state = MetaState::default();
        let mut add = |name: &str, kind| {
            state.data_sources.insert(name.into(), DataSource { name: name.into(), kind });
        };
        add("a", mysql("host-a"));
        add("b", mysql("host-b"));
        add("d", mysql("host-d"));
        add(
            "s",
            DataSourceKind::Dbp {
                instances: vec!["a".into(), "b".into()],
                tables: vec![LogicalTable {
                    logical: "shop.orders".into(),
                    physical: "shop_{00..01}.orders_{00..03}".into(),
                }],
            },
        );
        let mut project = Project::sample("p", ProjectState::Running, 1, None);
        project.spec.objects = vec![ObjectRule {
            database: "shop".into(),
            tables: vec!["orders".into()],
            exclude: Vec::new(),
            topic: "{database}.{table}".into(),
            ..Default::default()
        }];
        project.instances = vec!["a".into(), "b".into()];
        let ask = |tables: &[&str]| VerifyRequest {
            tables: Some(tables.iter().map(|t| t.to_string()).collect()),
            ..Default::default()
        };
        let job = Job::resolve(&state, &keyring, &project, ask(&["shop_01.orders_03"])).unwrap();
        let servers: Vec<_> =
            job.sources.iter().map(|s| (s.instance.as_deref(), s.connection.host.as_str())).collect();
        assert_eq!(servers, [(Some("a"), "host-a"), (Some("b"), "host-b")]);
        assert_eq!(job.sources[0].connection.password, "secret");
        assert_eq!(job.tables, Some(vec![t("shop_01.orders_03")]));
        let routes = Routes::new(&job.routes).unwrap();
        assert_eq!(routes.target(&t("shop_01.orders_03")), t("shop.orders"));
        // The logical table is no source table; neither is a shard outside the pattern.
        for table in ["shop.orders", "shop_02.orders_00"] {
            assert!(matches!(
                Job::resolve(&state, &keyring, &project, ask(&[table])),
                Err(VerifyError::NotSynced { .. })
            ));
        }
        // A plain source is one server.
        project.spec.source = "a".into();
        project.instances.clear();
        let job = Job::resolve(&state, &keyring, &project, VerifyRequest::default()).unwrap();
        assert_eq!(job.sources.len(), 1);
        assert_eq!(job.sources[0].instance, None);
        assert_eq!(job.objects, project.spec.objects);
    }
}
