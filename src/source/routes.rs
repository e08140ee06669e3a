//! Routing rules: where a source table's changes land downstream. A rule maps tables matching
//! `from` (`db.table` globs, e.g. `shop_*.orders_*`) to the table `to` (`shop.orders`): the
//! shards of a logical table merge into one. It may also rename columns. The first rule that
//! matches wins; a table no rule matches keeps its name.

use crate::model::{Column, ColumnKind, TableName, TableSchema};
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of a project's `routes` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Source tables, `database.table` with globs on each side (`shop_*.orders_*`).
    pub from: String,
    /// The table they land in, `database.table`; `{database}` and `{table}` stand for the
    /// source table's own (`archive.{table}`). Omitted: the source table's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Column renames, source name to destination name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// A database destination adds this column to the target table, holding each row's source
    /// table (`database.table`), and makes it part of the primary key: shards whose keys
    /// collide (the same id in two shards) then stay apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_column: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RouteError {
    #[error("routes[{index}].{field}: {value:?} is not database.table")]
    NotQualified { index: usize, field: &'static str, value: String },
    #[error("routes[{index}].shard_column: must be a column name, not empty")]
    EmptyShardColumn { index: usize },
    #[error("routes[{index}].from: invalid pattern {value:?}: {reason}")]
    Pattern { index: usize, value: String, reason: String },
}

struct CompiledRoute {
    database: GlobMatcher,
    table: GlobMatcher,
    to: Option<(String, String)>,
    columns: BTreeMap<String, String>,
    shard_column: Option<String>,
    /// `from` matches more than one name.
    wildcard: bool,
}

/// Compiled routing rules.
#[derive(Default)]
pub struct Routes {
    rules: Vec<CompiledRoute>,
}

fn qualified(index: usize, field: &'static str, value: &str) -> Result<(String, String), RouteError> {
    match value.split_once('.') {
        Some((d, t)) if !d.is_empty() && !t.is_empty() && !t.contains('.') => {
            Ok((d.to_string(), t.to_string()))
        }
        _ => Err(RouteError::NotQualified { index, field, value: value.to_string() }),
    }
}

impl Routes {
    pub fn new(rules: &[RouteRule]) -> Result<Self, RouteError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let (database, table) = qualified(index, "from", &rule.from)?;
            let glob = |p: &str| {
                Glob::new(p).map(|g| g.compile_matcher()).map_err(|e| RouteError::Pattern {
                    index,
                    value: rule.from.clone(),
                    reason: e.kind().to_string(),
                })
            };
            let to = rule.to.as_deref().map(|to| qualified(index, "to", to)).transpose()?;
            if rule.shard_column.as_deref().is_some_and(|c| c.trim().is_empty()) {
                return Err(RouteError::EmptyShardColumn { index });
            }
            compiled.push(CompiledRoute {
                database: glob(&database)?,
                table: glob(&table)?,
                to,
                columns: rule.columns.clone(),
                shard_column: rule.shard_column.clone(),
                wildcard: rule.from.contains(['*', '?', '[', '{']),
            });
        }
        Ok(Self { rules: compiled })
    }

    fn rule(&self, name: &TableName) -> Option<&CompiledRoute> {
        self.rules.iter().find(|r| r.database.is_match(&name.database) && r.table.is_match(&name.table))
    }

    /// The table `name`'s changes land in.
    pub fn target(&self, name: &TableName) -> TableName {
        match self.rule(name).and_then(|r| r.to.as_ref()) {
            Some((d, t)) => TableName::new(
                d.replace("{database}", &name.database).replace("{table}", &name.table),
                t.replace("{database}", &name.database).replace("{table}", &name.table),
            ),
            None => name.clone(),
        }
    }

    /// `schema` as the destination sees it: the routed table name and renamed columns.
    pub fn apply(&self, schema: &TableSchema) -> TableSchema {
        let rule = self.rule(&schema.name);
        let rename = |c: &Column| Column {
            name: rule.and_then(|r| r.columns.get(&c.name)).cloned().unwrap_or_else(|| c.name.clone()),
            ..c.clone()
        };
        TableSchema {
            name: self.target(&schema.name),
            columns: schema.columns.iter().map(rename).collect(),
            primary_key: schema.primary_key.clone(),
        }
    }

    /// `schema` as a database destination lays out its target table: [`apply`](Self::apply),
    /// then, when the route has a shard column, that column last and at the end of the key,
    /// with the value its rows get there (the source table's `database.table`).
    pub fn database_layout(&self, schema: &TableSchema) -> (TableSchema, Option<String>) {
        let mut target = self.apply(schema);
        let shard = self.shard_column(&schema.name).map(|column| {
            target.primary_key.push(target.columns.len());
            target.columns.push(Column::new(column, ColumnKind::VarChar { len: 192 }));
            schema.name.to_string()
        });
        (target, shard)
    }

    /// The column of the source table's name a database destination adds for `name`, if any.
    pub fn shard_column(&self, name: &TableName) -> Option<&str> {
        self.rule(name).and_then(|r| r.shard_column.as_deref())
    }

    /// Whether `name` lands in a table other source tables may land in too (its rule's `from`
    /// has a wildcard and `to` names one table): what happens to the whole table then is not
    /// this table's to decide (a TRUNCATE of one shard).
    pub fn merges(&self, name: &TableName) -> bool {
        self.rule(name).is_some_and(|r| {
            let fixed = |t: &str| !t.contains("{database}") && !t.contains("{table}");
            r.to.as_ref().is_some_and(|(d, t)| fixed(d) && fixed(t)) && r.wildcard
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The column renames of the rule `name` follows (none: no renames).
    pub fn columns(&self, name: &TableName) -> BTreeMap<String, String> {
        self.rule(name).map(|r| r.columns.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: &str, to: Option<&str>) -> RouteRule {
        RouteRule { from: from.into(), to: to.map(Into::into), columns: BTreeMap::new(), shard_column: None }
    }

    #[test]
    fn shards_route_to_their_logical_table_and_others_keep_their_name() {
        let r = Routes::new(&[
            rule("shop_*.orders_*", Some("shop.orders")),
            rule("*.log", Some("archive.{database}_log")),
        ])
        .unwrap();
        assert_eq!(r.target(&TableName::new("shop_03", "orders_15")), TableName::new("shop", "orders"));
        assert_eq!(r.target(&TableName::new("crm", "log")), TableName::new("archive", "crm_log"));
        assert_eq!(r.target(&TableName::new("shop_03", "users_1")), TableName::new("shop_03", "users_1"));
        assert!(r.merges(&TableName::new("shop_03", "orders_15")));
        assert!(!r.merges(&TableName::new("crm", "log")), "one table per source table");
        assert!(!r.merges(&TableName::new("shop_03", "users_1")));
        let renamed = Routes::new(&[rule("crm.log", Some("crm.events"))]).unwrap();
        assert!(!renamed.merges(&TableName::new("crm", "log")));
    }

    #[test]
    fn bad_rules_are_named() {
        assert_eq!(
            Routes::new(&[rule("orders", None)]).err(),
            Some(RouteError::NotQualified { index: 0, field: "from", value: "orders".into() })
        );
        assert!(matches!(
            Routes::new(&[rule("a.[", None)]).err(),
            Some(RouteError::Pattern { index: 0, .. })
        ));
        assert!(matches!(
            Routes::new(&[rule("a.b", Some("x"))]).err(),
            Some(RouteError::NotQualified { field: "to", .. })
        ));
    }
}
