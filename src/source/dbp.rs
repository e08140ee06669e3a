//! A sharded ("dbp") source as a project reads it: the shards of each logical table it selects,
//! on whichever instance holds them, and each shard routed to where its logical table goes.
//!
//! A project's `objects` and `routes` name logical tables; the stores read physical ones. So
//! the project's rules are turned into rules over shards: an object rule per selected logical
//! table matching its shards (with the logical table's topic), and a route per logical table
//! from its shards to the logical table's target (with its column renames and shard column).

use super::filter::ObjectRule;
use super::shards::{ShardPattern, ShardPatternError};
use super::{RouteRule, Routes, TableFilter};
use crate::meta::LogicalTable;
use crate::model::TableName;

#[derive(Debug, thiserror::Error)]
pub enum DbpError {
    #[error("tables[{index}].logical: {value:?} is not database.table")]
    NotQualified { index: usize, value: String },
    #[error("tables[{index}].physical: {source}")]
    Pattern { index: usize, source: ShardPatternError },
    #[error("tables[{index}]: logical table {logical} is listed twice")]
    Twice { index: usize, logical: String },
    #[error("tables: give at least one {{\"logical\": \"db.table\", \"physical\": \"db_{{00..03}}.table_{{00..15}}\"}}")]
    Empty,
}

/// The logical tables of a sharded source, their shard patterns parsed.
pub struct ShardedTables {
    tables: Vec<(TableName, ShardPattern)>,
}

impl ShardedTables {
    pub fn new(tables: &[LogicalTable]) -> Result<Self, DbpError> {
        if tables.is_empty() {
            return Err(DbpError::Empty);
        }
        let mut parsed: Vec<(TableName, ShardPattern)> = Vec::with_capacity(tables.len());
        for (index, t) in tables.iter().enumerate() {
            let logical = match t.logical.split_once('.') {
                Some((d, n)) if !d.is_empty() && !n.is_empty() && !n.contains('.') => TableName::new(d, n),
                _ => return Err(DbpError::NotQualified { index, value: t.logical.clone() }),
            };
            if parsed.iter().any(|(l, _)| *l == logical) {
                return Err(DbpError::Twice { index, logical: t.logical.clone() });
            }
            let pattern =
                ShardPattern::parse(&t.physical).map_err(|source| DbpError::Pattern { index, source })?;
            parsed.push((logical, pattern));
        }
        Ok(Self { tables: parsed })
    }

    /// Every logical table with its shard pattern, in the source's order.
    pub fn tables(&self) -> &[(TableName, ShardPattern)] {
        &self.tables
    }

    /// A project's rules over logical tables (`objects`, `routes`) as rules over their shards.
    pub fn physical_rules(
        &self,
        objects: &[ObjectRule],
        routes: &[RouteRule],
    ) -> Result<(Vec<ObjectRule>, Vec<RouteRule>), String> {
        let filter = TableFilter::new(objects).map_err(|e| format!("objects: {e}"))?;
        let logical_routes = Routes::new(routes).map_err(|e| e.to_string())?;
        let mut physical_objects = Vec::new();
        let mut physical_routes = Vec::new();
        for (logical, pattern) in &self.tables {
            let Some(topic) = filter.topic_pattern(logical) else { continue };
            physical_objects.push(ObjectRule {
                database: pattern.database_glob(),
                tables: vec![pattern.table_glob()],
                exclude: Vec::new(),
                topic: topic.to_string(),
                ..Default::default()
            });
            physical_routes.push(RouteRule {
                from: format!("{}.{}", pattern.database_glob(), pattern.table_glob()),
                to: Some(logical_routes.target(logical).to_string()),
                columns: logical_routes.columns(logical),
                shard_column: logical_routes.shard_column(logical).map(str::to_string),
            });
        }
        Ok((physical_objects, physical_routes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tables() -> ShardedTables {
        ShardedTables::new(&[
            LogicalTable { logical: "shop.orders".into(), physical: "shop_{00..03}.orders_{00..07}".into() },
            LogicalTable { logical: "shop.users".into(), physical: "shop_{00..03}.users_{0..3}".into() },
        ])
        .unwrap()
    }

    fn object(database: &str, tables: &[&str]) -> ObjectRule {
        ObjectRule {
            database: database.into(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
            exclude: Vec::new(),
            topic: "{database}.{table}".into(),
            ..Default::default()
        }
    }

    #[test]
    fn shards_follow_their_logical_tables_rules() {
        let t = tables();
        let routes = [RouteRule {
            from: "shop.orders".into(),
            to: Some("mall.all_orders".into()),
            columns: BTreeMap::from([("amt".to_string(), "amount".to_string())]),
            shard_column: Some("shard".into()),
        }];
        let (objects, routes) = t.physical_rules(&[object("shop", &["orders"])], &routes).unwrap();
        assert_eq!(objects.len(), 1, "users are not selected");
        let filter = TableFilter::new(&objects).unwrap();
        let routes = Routes::new(&routes).unwrap();
        let shard = TableName::new("shop_02", "orders_07");
        assert!(filter.matches(&shard.database, &shard.table));
        assert!(!filter.matches("shop_04", "orders_07"), "outside the range");
        assert!(!filter.matches("shop_02", "users_1"));
        assert_eq!(routes.target(&shard), TableName::new("mall", "all_orders"));
        assert_eq!(routes.columns(&shard)["amt"], "amount");
        assert_eq!(routes.shard_column(&shard), Some("shard"));
        assert!(routes.merges(&shard));
        assert_eq!(
            filter.topic_routed(&shard, &routes.target(&shard), None).as_deref(),
            Some("mall.all_orders")
        );
        // Every logical table's shards, and only they, land in it.
        let (objects, routes) = t.physical_rules(&[object("shop", &[])], &[]).unwrap();
        let (filter, routes) = (TableFilter::new(&objects).unwrap(), Routes::new(&routes).unwrap());
        assert!(filter.matches("shop_01", "users_3"));
        assert_eq!(routes.target(&TableName::new("shop_01", "users_3")), TableName::new("shop", "users"));
        assert!(!filter.matches("shop_01", "users_4"));
    }

    #[test]
    fn without_routes_shards_land_in_their_logical_table() {
        let (objects, routes) = tables().physical_rules(&[object("shop", &[])], &[]).unwrap();
        assert_eq!(objects.len(), 2);
        let routes = Routes::new(&routes).unwrap();
        assert_eq!(routes.target(&TableName::new("shop_03", "users_0")), TableName::new("shop", "users"));
        assert_eq!(routes.shard_column(&TableName::new("shop_03", "users_0")), None);
    }

    #[test]
    fn bad_logical_tables_are_named() {
        let table = |logical: &str, physical: &str| LogicalTable {
            logical: logical.into(),
            physical: physical.into(),
        };
        assert!(matches!(ShardedTables::new(&[]).err(), Some(DbpError::Empty)));
        assert!(matches!(
            ShardedTables::new(&[table("orders", "a.b")]).err(),
            Some(DbpError::NotQualified { index: 0, .. })
        ));
        assert!(matches!(
            ShardedTables::new(&[table("a.b", "a.b_{3..1}")]).err(),
            Some(DbpError::Pattern { index: 0, .. })
        ));
        assert!(matches!(
            ShardedTables::new(&[table("a.b", "a.b_1"), table("a.b", "a.b_2")]).err(),
            Some(DbpError::Twice { index: 1, .. })
        ));
    }
}
