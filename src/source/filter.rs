//! Which tables a project syncs: include patterns per database, minus excludes.

use crate::model::TableName;
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

/// One entry of a project's `objects` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectRule {
    /// Database name (a glob: `shop_*` allowed).
    pub database: String,
    /// Table name globs; empty means every table.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Table name globs to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Destination topic pattern; `{database}` and `{table}` are replaced.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Keep only the rows for which this condition holds (`source::row_filter`), in the copy
    /// and in the changes alike.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
    /// The columns kept (the key's always are); none: every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Columns left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_columns: Vec<String>,
}

impl Default for ObjectRule {
    fn default() -> Self {
        ObjectRule {
            database: String::new(),
            tables: Vec::new(),
            exclude: Vec::new(),
            topic: default_topic(),
            row_filter: None,
            columns: None,
            exclude_columns: Vec::new(),
        }
    }
}

impl ObjectRule {
    /// It keeps some rows or columns only.
    pub fn shapes(&self) -> bool {
        self.row_filter.is_some() || self.columns.is_some() || !self.exclude_columns.is_empty()
    }
}

fn default_topic() -> String {
    "{database}.{table}".to_string()
}

struct CompiledRule {
    database: GlobMatcher,
    tables: Vec<GlobMatcher>,
    exclude: Vec<GlobMatcher>,
    topic: String,
}

/// Compiled object rules: answers "is this table synced, and to which topic".
pub struct TableFilter {
    rules: Vec<CompiledRule>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

fn glob(pattern: &str) -> Result<GlobMatcher, PatternError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| PatternError { pattern: pattern.to_string(), reason: e.kind().to_string() })
}

impl TableFilter {
    pub fn new(rules: &[ObjectRule]) -> Result<Self, PatternError> {
        let rules = rules
            .iter()
            .map(|r| {
                Ok(CompiledRule {
                    database: glob(&r.database)?,
                    tables: r.tables.iter().map(|t| glob(t)).collect::<Result<_, _>>()?,
                    exclude: r.exclude.iter().map(|t| glob(t)).collect::<Result<_, _>>()?,
                    topic: r.topic.clone(),
                })
            })
            .collect::<Result<_, PatternError>>()?;
        Ok(Self { rules })
    }

    fn rule(&self, database: &str, table: &str) -> Option<&CompiledRule> {
        self.rule_index(&TableName::new(database, table)).map(|i| &self.rules[i])
    }

    /// The index of the object rule that syncs `name` (the first that matches).
    pub fn rule_index(&self, name: &TableName) -> Option<usize> {
        self.rules.iter().position(|r| {
            r.database.is_match(&name.database)
                && (r.tables.is_empty() || r.tables.iter().any(|m| m.is_match(&name.table)))
                && !r.exclude.iter().any(|m| m.is_match(&name.table))
        })
    }

    pub fn matches(&self, database: &str, table: &str) -> bool {
        self.rule(database, table).is_some()
    }

    /// The topic of a synced table by `pattern` when given (a connector's own), else by its
    /// object rule; `None` when the table is not synced.
    pub fn topic_as(&self, name: &TableName, pattern: Option<&str>) -> Option<String> {
        self.topic_routed(name, name, pattern)
    }

    /// [`topic_as`](Self::topic_as) for a table routed to `routed`: the rule is the source
    /// table's, `{database}` and `{table}` are the routed table's.
    pub fn topic_routed(
        &self,
        source: &TableName,
        routed: &TableName,
        pattern: Option<&str>,
    ) -> Option<String> {
        let rule = self.rule(&source.database, &source.table)?;
        let pattern = pattern.unwrap_or(&rule.topic);
        Some(pattern.replace("{database}", &routed.database).replace("{table}", &routed.table))
    }

    /// The topic pattern of the rule that syncs `name` (none: not synced).
    pub fn topic_pattern(&self, name: &TableName) -> Option<&str> {
        self.rule(&name.database, &name.table).map(|r| r.topic.as_str())
    }

    /// The destination topic of a synced table, `None` when the table is not synced.
    pub fn topic(&self, name: &TableName) -> Option<String> {
        self.rule(&name.database, &name.table)
            .map(|r| r.topic.replace("{database}", &name.database).replace("{table}", &name.table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(db: &str, tables: &[&str], exclude: &[&str]) -> ObjectRule {
        ObjectRule {
            database: db.into(),
            tables: tables.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            topic: "{database}.{table}".into(),
            ..Default::default()
        }
    }

    #[test]
    fn includes_globs_and_excludes() {
        let f = TableFilter::new(&[rule("shop", &["orders", "user_*"], &["user_tmp*"])]).unwrap();
        assert!(f.matches("shop", "orders"));
        assert!(f.matches("shop", "user_1"));
        assert!(!f.matches("shop", "user_tmp1"));
        assert!(!f.matches("shop", "items"));
        assert!(!f.matches("other", "orders"));
        assert_eq!(f.topic(&TableName::new("shop", "orders")).as_deref(), Some("shop.orders"));
    }

    #[test]
    fn empty_table_list_means_every_table() {
        let f = TableFilter::new(&[rule("shop", &[], &["tmp_*"])]).unwrap();
        assert!(f.matches("shop", "anything"));
        assert!(!f.matches("shop", "tmp_x"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = TableFilter::new(&[rule("shop", &["a[b"], &[])]).err().unwrap();
        assert_eq!(err.pattern, "a[b");
    }
}
