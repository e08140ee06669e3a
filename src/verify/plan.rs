//! What a verification compares: the project's source against one of its database connectors'
//! destination, the source tables asked for (default: all the project syncs) grouped by the
//! target table they are routed to.

use super::VerifyError;
use crate::meta::{DataSourceKind, MetaState, Project};
use crate::model::TableName;
use crate::secrets::Keyring;
use crate::sink::database::{DatabaseKind, DatabaseSinkConfig};
use crate::source::filter::ObjectRule;
use crate::source::mysql::MysqlConfig;
use crate::source::{RouteRule, Routes, TableFilter};
use std::collections::BTreeMap;

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// The connector whose destination is verified; none: the first database connector.
    pub connector: Option<String>,
    /// Source tables (`database.table`); none: every table the project syncs.
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
    pub source: MysqlConfig,
    pub target: MysqlConfig,
    pub kind: DatabaseKind,
    pub objects: Vec<ObjectRule>,
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
        let source = open(&spec.source)?.connection;
        let DatabaseSinkConfig { kind, connection: target } = open(&connector.destination)?;
        let filter = TableFilter::new(&spec.objects).map_err(|e| VerifyError::Rules(e.to_string()))?;
        Routes::new(&spec.routes).map_err(|e| VerifyError::Rules(e.to_string()))?;
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
            source,
            target,
            kind,
            objects: spec.objects.clone(),
            routes: spec.routes.clone(),
            tables,
            repair: request.repair,
        })
    }
}

/// One target table: the source tables compared with it, and every source table routed to it
/// (where a target row's key is looked for).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPlan {
    pub target: TableName,
    pub compare: Vec<TableName>,
    pub lookup: Vec<TableName>,
}

/// Groups the tables to compare (`selected`, default all of `synced`) by target table, in
/// target order. A selected table the source does not have is an error.
pub fn group(
    synced: &[TableName],
    selected: Option<&[TableName]>,
    routes: &Routes,
) -> Result<Vec<TargetPlan>, VerifyError> {
    if let Some(missing) = selected.into_iter().flatten().find(|t| !synced.contains(t)) {
        return Err(VerifyError::SourceTableMissing { table: missing.to_string() });
    }
    let mut plans: BTreeMap<TableName, TargetPlan> = BTreeMap::new();
    for table in synced {
        let target = routes.target(table);
        let plan = plans.entry(target.clone()).or_insert_with(|| TargetPlan {
            target,
            compare: Vec::new(),
            lookup: Vec::new(),
        });
        plan.lookup.push(table.clone());
        if selected.is_none_or(|s| s.contains(table)) {
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

    #[test]
    fn shards_group_under_their_target_and_all_of_them_are_looked_in() {
        let routes = Routes::new(&[RouteRule {
            from: "shop.orders_*".into(),
            to: Some("shop.orders".into()),
            columns: Default::default(),
            shard_column: None,
        }])
        .unwrap();
        let synced = [t("shop.orders_0"), t("shop.orders_1"), t("shop.users")];
        let all = group(&synced, None, &routes).unwrap();
        assert_eq!(
            all,
            vec![
                TargetPlan {
                    target: t("shop.orders"),
                    compare: vec![t("shop.orders_0"), t("shop.orders_1")],
                    lookup: vec![t("shop.orders_0"), t("shop.orders_1")],
                },
                TargetPlan {
                    target: t("shop.users"),
                    compare: vec![t("shop.users")],
                    lookup: vec![t("shop.users")]
                },
            ]
        );
        // One shard compared; its sibling still holds keys the target may have.
        let one = group(&synced, Some(&[t("shop.orders_1")]), &routes).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].compare, vec![t("shop.orders_1")]);
        assert_eq!(one[0].lookup.len(), 2);
        assert!(matches!(
            group(&synced, Some(&[t("shop.gone")]), &routes),
            Err(VerifyError::SourceTableMissing { .. })
        ));
    }
}
