//! What of a table a project keeps: the rows its object rule's filter (`where`) selects and the
//! columns it keeps (`columns`, `exclude_columns`), applied by the store to changes and copied
//! rows alike, before they go into the log. Every connector sees the shaped table.
//!
//! Invariants:
//! - A table's key columns are always kept (a change without them could not be applied).
//! - A change is judged by both its images: an UPDATE that leaves the filter is a DELETE of the
//!   row as it was, one that enters it an INSERT of the row as it is; so a destination holds
//!   exactly the rows the filter selects.
//! - Rows keep their order; a rows event whose rows change kind splits into consecutive runs.

use super::filter::{ObjectRule, TableFilter};
use super::row_filter::{BoundFilter, FilterError, RowFilter};
use crate::model::{Op, RowImage, RowsBatch, TableName, TableSchema, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShapeError {
    #[error("objects[{index}].where: {error}")]
    Filter { index: usize, error: FilterError },
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
}

/// The shaping rules of a project's objects.
pub struct Shapes {
    filter: TableFilter,
    /// Per object rule, parsed (none for a rule that keeps everything).
    rules: Vec<Option<Rule>>,
    /// Per table, for the schema it was last shaped with.
    tables: Mutex<HashMap<TableName, Shaped>>,
}

/// A table's schema and its shape.
type Shaped = (Arc<TableSchema>, Arc<Shape>);

struct Rule {
    row_filter: Option<RowFilter>,
    columns: Option<Vec<String>>,
    exclude_columns: Vec<String>,
}

/// One table's shape under one schema.
#[derive(Debug)]
pub struct Shape {
    /// The schema of the rows kept.
    pub schema: Arc<TableSchema>,
    /// Indexes of the columns kept, in the table's order; none: all.
    columns: Option<Vec<usize>>,
    filter: Option<BoundFilter>,
}

impl Shapes {
    /// Parses every rule's filter; a rule that names no shaping keeps its tables whole.
    pub fn new(objects: &[ObjectRule]) -> Result<Shapes, ShapeError> {
        let filter = TableFilter::new(objects)
            .map_err(|e| ShapeError::Table { table: String::new(), reason: e.to_string() })?;
        let rules = objects
            .iter()
            .enumerate()
            .map(|(index, o)| {
                if !o.shapes() {
                    return Ok(None);
                }
                let row_filter = o
                    .row_filter
                    .as_deref()
                    .map(RowFilter::parse)
                    .transpose()
                    .map_err(|error| ShapeError::Filter { index, error })?;
                Ok(Some(Rule {
                    row_filter,
                    columns: o.columns.clone(),
                    exclude_columns: o.exclude_columns.clone(),
                }))
            })
            .collect::<Result<_, ShapeError>>()?;
        Ok(Shapes { filter, rules, tables: Mutex::new(HashMap::new()) })
    }

    /// No rule shapes anything: rows pass as they are.
    pub fn is_identity(&self) -> bool {
        self.rules.iter().all(Option::is_none)
    }

    /// `schema`'s shape (none: kept whole). An error names the table and why its rule cannot
    /// apply to it (a column it names is missing, a key column left out, a filter it cannot
    /// evaluate on it).
    pub fn shape(&self, schema: &Arc<TableSchema>) -> Result<Option<Arc<Shape>>, ShapeError> {
        let Some(rule) = self.filter.rule_index(&schema.name).and_then(|i| self.rules[i].as_ref()) else {
            return Ok(None);
        };
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, shape)) = tables.get(&schema.name) {
            if Arc::ptr_eq(known, schema) || **known == **schema {
                return Ok(Some(shape.clone()));
            }
        }
        let shape = Arc::new(rule.shape(schema)?);
        tables.insert(schema.name.clone(), (schema.clone(), shape.clone()));
        Ok(Some(shape))
    }
}

impl Rule {
    fn shape(&self, schema: &TableSchema) -> Result<Shape, ShapeError> {
        let table = schema.name.to_string();
        let index_of = |name: &str| {
            schema.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
                ShapeError::Table { table: table.clone(), reason: format!("it has no column {name:?}") }
            })
        };
        let mut keep: Vec<bool> = match &self.columns {
            Some(names) => {
                let mut keep = vec![false; schema.columns.len()];
                for name in names {
                    keep[index_of(name)?] = true;
                }
                keep
            }
            None => vec![true; schema.columns.len()],
        };
        for name in &self.exclude_columns {
            keep[index_of(name)?] = false;
        }
        if let Some(&left_out) = schema.primary_key.iter().find(|&&i| !keep[i]) {
            return Err(ShapeError::Table {
                table,
                reason: format!(
                    "its key column {} must be kept (a change without its key cannot be applied)",
                    schema.columns[left_out].name
                ),
            });
        }
        let filter = self
            .row_filter
            .as_ref()
            .map(|f| f.bind(schema))
            .transpose()
            .map_err(|e| ShapeError::Table { table: table.clone(), reason: e.to_string() })?;
        let columns: Vec<usize> = (0..schema.columns.len()).filter(|&i| keep[i]).collect();
        let all = columns.len() == schema.columns.len();
        let shaped = match all {
            true => schema.clone(),
            false => TableSchema {
                name: schema.name.clone(),
                columns: columns.iter().map(|&i| schema.columns[i].clone()).collect(),
                primary_key: schema
                    .primary_key
                    .iter()
                    .map(|k| columns.iter().position(|c| c == k).expect("key columns are kept"))
                    .collect(),
            },
        };
        Ok(Shape { schema: Arc::new(shaped), columns: (!all).then_some(columns), filter })
    }
}

impl Shape {
    /// A row kept by the filter (every row without one).
    pub fn selects(&self, row: &[Value]) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(row))
    }

    /// A row with the kept columns only.
    pub fn project(&self, row: Vec<Value>) -> Vec<Value> {
        match &self.columns {
            None => row,
            Some(columns) => {
                let mut row: Vec<Option<Value>> = row.into_iter().map(Some).collect();
                columns
                    .iter()
                    .map(|&i| row.get_mut(i).and_then(Option::take).unwrap_or(Value::Null))
                    .collect()
            }
        }
    }

    /// A rows event shaped: the rows the filter keeps, each UPDATE judged by both images, with
    /// the kept columns; in consecutive runs of one operation each, in order.
    pub fn rows(&self, mut batch: RowsBatch) -> Vec<RowsBatch> {
        let mut runs: Vec<RowsBatch> = Vec::new();
        let rows = std::mem::take(&mut batch.rows);
        let template = batch;
        for row in rows {
            let shaped = match template.op {
                Op::Insert | Op::Read => {
                    row.after.filter(|a| self.selects(a)).map(|a| (template.op, None, Some(a)))
                }
                Op::Delete => row.before.filter(|b| self.selects(b)).map(|b| (Op::Delete, Some(b), None)),
                Op::Update => {
                    let before = row.before.filter(|b| self.selects(b));
                    let after = row.after.filter(|a| self.selects(a));
                    match (before, after) {
                        (Some(b), Some(a)) => Some((Op::Update, Some(b), Some(a))),
                        (Some(b), None) => Some((Op::Delete, Some(b), None)),
                        (None, Some(a)) => Some((Op::Insert, None, Some(a))),
                        (None, None) => None,
                    }
                }
            };
            let Some((op, before, after)) = shaped else { continue };
            let image =
                RowImage { before: before.map(|r| self.project(r)), after: after.map(|r| self.project(r)) };
            match runs.last_mut() {
                Some(run) if run.op == op => run.rows.push(image),
                _ => runs.push(RowsBatch { op, rows: vec![image], ..template.clone() }),
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnKind};

    fn orders() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            name: TableName::new("shop", "orders"),
            columns: vec![
                Column::new("id", ColumnKind::BigInt),
                Column::new("status", ColumnKind::VarChar { len: 10 }),
                Column::new("secret", ColumnKind::Text),
            ],
            primary_key: vec![0],
        })
    }

    fn rule(row_filter: Option<&str>, columns: Option<&[&str]>, exclude: &[&str]) -> ObjectRule {
        ObjectRule {
            database: "shop".into(),
            row_filter: row_filter.map(Into::into),
            columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
            exclude_columns: exclude.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn row(id: i64, status: &str) -> Vec<Value> {
        vec![Value::Int(id), Value::Text(status.into()), Value::Text("s".into())]
    }

    type Image = Option<Vec<Value>>;

    fn batch(op: Op, rows: Vec<(Image, Image)>) -> RowsBatch {
        RowsBatch {
            schema_id: 0,
            op,
            rows: rows.into_iter().map(|(before, after)| RowImage { before, after }).collect(),
            file: "bin.000001".into(),
            pos: 4,
            ts: 1,
            server_id: 1,
            gtid: None,
            first_row_seq: 0,
        }
    }

    #[test]
    fn an_update_leaving_or_entering_the_filter_is_a_delete_or_an_insert() {
        let shapes = Shapes::new(&[rule(Some("status <> 'deleted'"), None, &["secret"])]).unwrap();
        let shape = shapes.shape(&orders()).unwrap().expect("shaped");
        assert_eq!(shape.schema.columns.len(), 2);
        let out = shape.rows(batch(
            Op::Update,
            vec![
                (Some(row(1, "new")), Some(row(1, "paid"))),
                (Some(row(2, "new")), Some(row(2, "deleted"))),
                (Some(row(3, "deleted")), Some(row(3, "new"))),
                (Some(row(4, "deleted")), Some(row(4, "deleted"))),
            ],
        ));
        let kinds: Vec<(Op, usize)> = out.iter().map(|b| (b.op, b.rows.len())).collect();
        assert_eq!(kinds, vec![(Op::Update, 1), (Op::Delete, 1), (Op::Insert, 1)]);
        assert_eq!(out[1].rows[0].before, Some(vec![Value::Int(2), Value::Text("new".into())]));
        assert_eq!(out[2].rows[0].after, Some(vec![Value::Int(3), Value::Text("new".into())]));
    }

    #[test]
    fn a_rule_that_drops_a_key_column_or_names_a_missing_one_is_refused() {
        let keyless = Shapes::new(&[rule(None, Some(&["status"]), &[])]).unwrap();
        assert!(
            matches!(keyless.shape(&orders()), Err(ShapeError::Table { reason, .. }) if reason.contains("key column id"))
        );
        let missing = Shapes::new(&[rule(None, None, &["nope"])]).unwrap();
        assert!(
            matches!(missing.shape(&orders()), Err(ShapeError::Table { reason, .. }) if reason.contains("nope"))
        );
        let whole = Shapes::new(&[ObjectRule { database: "shop".into(), ..Default::default() }]).unwrap();
        assert!(whole.is_identity());
        assert!(whole.shape(&orders()).unwrap().is_none());
    }

    #[test]
    fn copied_rows_are_filtered_like_inserts() {
        let shapes = Shapes::new(&[rule(Some("id >= 2"), Some(&["id"]), &[])]).unwrap();
        let shape = shapes.shape(&orders()).unwrap().unwrap();
        let out = shape.rows(batch(Op::Read, vec![(None, Some(row(1, "a"))), (None, Some(row(2, "b")))]));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rows, vec![RowImage { before: None, after: Some(vec![Value::Int(2)]) }]);
    }
}
