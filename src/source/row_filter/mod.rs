//! A project's per-table row filter: a small SQL boolean expression over the table's columns,
//! such as `status <> 'deleted' AND amount >= 10.5 OR id IN (1, 2, 3)`.
//!
//! [`RowFilter::parse`] reads the text once; [`RowFilter::bind`] resolves its columns against a
//! [`TableSchema`] and refuses every comparison Ferry cannot decide exactly; the resulting
//! [`BoundFilter::matches`] runs on decoded rows and never fails.
//!
//! Invariants:
//! - Ferry evaluates the filter itself, on the change stream and on the snapshot copy alike, so
//!   both paths keep exactly the same rows. Nothing is pushed down to the server as SQL: its
//!   collation and session time zone would decide some comparisons differently.
//! - Comparisons are exact: integers as `i128`, decimals digit by digit, text and bytes
//!   byte-wise (binary, case-sensitive), dates and times by their parts. Only FLOAT and DOUBLE
//!   columns compare as `f64`, as the values themselves are floats.
//! - SQL three-valued logic: a NULL value makes a comparison unknown, and a row is kept only
//!   when the whole expression is TRUE.
//! - Nesting is bounded ([`MAX_NESTING`]), so no filter text can exhaust the stack.
//!
//! The grammar (keywords case-insensitive):
//! ```text
//! expr      := or
//! or        := and ("OR" and)*
//! and       := not ("AND" not)*
//! not       := "NOT" not | primary
//! primary   := "(" expr ")" | column predicate
//! predicate := cmp literal | "IS" ["NOT"] "NULL"
//!            | ["NOT"] "IN" "(" literal ("," literal)* ")"
//!            | ["NOT"] "BETWEEN" literal "AND" literal
//! cmp       := "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
//! literal   := integer | decimal (-12.50, .5) | 'string' ('' is a quote) | TRUE | FALSE
//! column    := [A-Za-z_][A-Za-z0-9_$]* | `backquoted` (`` is a backquote)
//! ```

mod syntax;
mod values;

use crate::model::{Column, ColumnKind, TableSchema, Value};
use std::cmp::Ordering;
use values::{cmp_decimal, parse_datetime, parse_decimal, parse_time, DateKey, Number};

/// How deep parentheses and `NOT`s may nest.
const MAX_NESTING: usize = 64;

/// Keywords, which an unquoted column name cannot be.
const KEYWORDS: [&str; 9] = ["AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "TRUE", "FALSE"];

/// A parsed row filter, not yet checked against a table.
#[derive(Debug, Clone)]
pub struct RowFilter {
    text: String,
    expr: Expr<String, Literal>,
}

/// A row filter bound to one table's schema: column indexes resolved, literals converted to
/// what each column's values compare with.
#[derive(Debug, Clone)]
pub struct BoundFilter {
    expr: Expr<usize, Operand>,
}

/// Why a row filter was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error(
        "the row filter is empty: write a condition such as `status <> 'deleted'`, or remove the filter"
    )]
    Empty,
    /// `at` is a byte offset into the filter text.
    #[error("row filter syntax error at byte {at}: {reason}")]
    Syntax { at: usize, reason: String },
    #[error("the row filter names column `{column}`, which the table does not have")]
    UnknownColumn { column: String },
    /// A comparison Ferry cannot evaluate exactly for the column's type.
    #[error("the row filter cannot compare column `{column}`: {reason}")]
    Unsupported { column: String, reason: String },
    /// A string literal that does not spell a value of the column's type (a date, a time).
    #[error("the row filter compares column `{column}` with '{literal}', which is not valid: {reason}")]
    BadLiteral { column: String, literal: String, reason: String },
}

impl RowFilter {
    /// Parses `text`; syntax errors name the byte offset and what was expected.
    pub fn parse(text: &str) -> Result<RowFilter, FilterError> {
        if text.trim().is_empty() {
            return Err(FilterError::Empty);
        }
        Ok(RowFilter { text: text.to_string(), expr: syntax::parse(text)? })
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Checks every column it names exists in `schema` (case-insensitive, as MySQL) and that
    /// each comparison is one Ferry can evaluate for that column's kind; returns a
    /// [`BoundFilter`] with column indexes resolved.
    pub fn bind(&self, schema: &TableSchema) -> Result<BoundFilter, FilterError> {
        Ok(BoundFilter { expr: bind_expr(&self.expr, schema)? })
    }
}

impl BoundFilter {
    /// SQL three-valued logic; a row is kept only when the expression is TRUE (NULL/unknown
    /// drops it). A row shorter than a bound column index counts as NULL there.
    pub fn matches(&self, row: &[Value]) -> bool {
        self.expr.eval(row) == Some(true)
    }
}

// ---- The expression ----------------------------------------------------------------------

/// A boolean expression over columns `C` and literals `L`: `Expr<String, Literal>` as parsed,
/// `Expr<usize, Operand>` once bound. `Or`/`And` are flat lists, so only parentheses and `NOT`
/// add depth.
#[derive(Debug, Clone)]
enum Expr<C, L> {
    Or(Vec<Expr<C, L>>),
    And(Vec<Expr<C, L>>),
    Not(Box<Expr<C, L>>),
    Test { column: C, predicate: Predicate<L> },
}

#[derive(Debug, Clone)]
enum Predicate<L> {
    Compare(CmpOp, L),
    IsNull { negated: bool },
    In { negated: bool, list: Vec<L> },
    Between { negated: bool, low: L, high: L },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal as written.
#[derive(Debug, Clone)]
enum Literal {
    /// An integer or decimal; `TRUE`/`FALSE` are 1/0. `text` is how it was written.
    Num {
        value: Number,
        text: String,
    },
    Str(String),
}

/// A literal converted for the column it is compared with.
#[derive(Debug, Clone)]
enum Operand {
    /// For integer, YEAR, BIT, DECIMAL, FLOAT and DOUBLE columns.
    Num(Number),
    /// For text, JSON and binary columns: compared byte-wise.
    Bytes(Vec<u8>),
    /// For an ENUM column: how each value index's label (0: the empty string) orders against
    /// the literal.
    Enum(Vec<Ordering>),
    /// For DATE and DATETIME columns (a DATE counts as midnight).
    DateTime(DateKey),
    /// For TIME columns: signed microseconds.
    Time(i64),
}

// ---- Evaluation --------------------------------------------------------------------------

impl Expr<usize, Operand> {
    /// `Some(true)`/`Some(false)`, or `None` for SQL's unknown.
    fn eval(&self, row: &[Value]) -> Option<bool> {
        match self {
            Expr::Or(items) => {
                let mut unknown = false;
                for item in items {
                    match item.eval(row) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Expr::And(items) => {
                let mut unknown = false;
                for item in items {
                    match item.eval(row) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            Expr::Not(inner) => inner.eval(row).map(|b| !b),
            Expr::Test { column, predicate } => {
                let value = row.get(*column).unwrap_or(&Value::Null);
                predicate.eval(value)
            }
        }
    }
}

impl Predicate<Operand> {
    fn eval(&self, value: &Value) -> Option<bool> {
        match self {
            Predicate::IsNull { negated } => Some(value.is_null() != *negated),
            Predicate::Compare(op, operand) => compare(value, operand).map(|ord| op.holds(ord)),
            Predicate::In { negated, list } => {
                let mut unknown = false;
                for operand in list {
                    match compare(value, operand) {
                        Some(Ordering::Equal) => return Some(!negated),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(*negated)
                }
            }
            Predicate::Between { negated, low, high } => {
                let above = compare(value, low).map(|o| o != Ordering::Less);
                let below = compare(value, high).map(|o| o != Ordering::Greater);
                let within = match (above, below) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
                within.map(|b| b != *negated)
            }
        }
    }
}

/// How `value` orders against `operand`; `None` (unknown) for NULL, and for a value whose type
/// the bound column should not produce.
fn compare(value: &Value, operand: &Operand) -> Option<Ordering> {
    match (value, operand) {
        (Value::Int(v), Operand::Num(n)) => Some(n.cmp_int(i128::from(*v))),
        (Value::UInt(v), Operand::Num(n)) => Some(n.cmp_int(i128::from(*v))),
        (Value::Year(v), Operand::Num(n)) => Some(n.cmp_int(i128::from(*v))),
        (Value::Bit(v), Operand::Num(n)) => Some(n.cmp_int(i128::from(*v))),
        (Value::Decimal(text), Operand::Num(n)) => Some(cmp_decimal(parse_decimal(text)?, n.digits())),
        (Value::Float(v), Operand::Num(n)) => f64::from(*v).partial_cmp(&n.float),
        (Value::Double(v), Operand::Num(n)) => v.partial_cmp(&n.float),
        (Value::Text(v), Operand::Bytes(b)) | (Value::Json(v), Operand::Bytes(b)) => {
            Some(v.as_bytes().cmp(b.as_slice()))
        }
        (Value::Bytes(v), Operand::Bytes(b)) => Some(v.as_slice().cmp(b.as_slice())),
        (Value::Enum(index), Operand::Enum(orders)) => orders.get(usize::from(*index)).copied(),
        (Value::Date { year, month, day }, Operand::DateTime(key)) => {
            let value = DateKey { year: *year, month: *month, day: *day, ..DateKey::default() };
            Some(value.cmp(key))
        }
        (Value::DateTime { year, month, day, hour, minute, second, micros }, Operand::DateTime(key)) => {
            let value = DateKey {
                year: *year,
                month: *month,
                day: *day,
                hour: *hour,
                minute: *minute,
                second: *second,
                micros: *micros,
            };
            Some(value.cmp(key))
        }
        (Value::Time { negative, hours, minutes, seconds, micros }, Operand::Time(key)) => {
            let magnitude = ((i64::from(*hours) * 60 + i64::from(*minutes)) * 60 + i64::from(*seconds))
                * 1_000_000
                + i64::from(*micros);
            let value = if *negative { -magnitude } else { magnitude };
            Some(value.cmp(key))
        }
        _ => None,
    }
}

// ---- Binding -----------------------------------------------------------------------------

fn bind_expr(
    expr: &Expr<String, Literal>,
    schema: &TableSchema,
) -> Result<Expr<usize, Operand>, FilterError> {
    let all = |items: &[Expr<String, Literal>]| -> Result<Vec<_>, FilterError> {
        items.iter().map(|e| bind_expr(e, schema)).collect()
    };
    Ok(match expr {
        Expr::Or(items) => Expr::Or(all(items)?),
        Expr::And(items) => Expr::And(all(items)?),
        Expr::Not(inner) => Expr::Not(Box::new(bind_expr(inner, schema)?)),
        Expr::Test { column: name, predicate } => {
            let wanted = name.to_lowercase();
            let (index, column) = schema
                .columns
                .iter()
                .enumerate()
                .find(|(_, c)| c.name.to_lowercase() == wanted)
                .ok_or_else(|| FilterError::UnknownColumn { column: name.clone() })?;
            let predicate = match predicate {
                Predicate::IsNull { negated } => Predicate::IsNull { negated: *negated },
                Predicate::Compare(op, literal) => Predicate::Compare(*op, operand(column, literal)?),
                Predicate::In { negated, list } => Predicate::In {
                    negated: *negated,
                    list: list.iter().map(|l| operand(column, l)).collect::<Result<_, _>>()?,
                },
                Predicate::Between { negated, low, high } => Predicate::Between {
                    negated: *negated,
                    low: operand(column, low)?,
                    high: operand(column, high)?,
                },
            };
            Expr::Test { column: index, predicate }
        }
    })
}

/// Converts `literal` for comparison with `column`'s values, or says why Ferry cannot compare
/// them exactly.
fn operand(column: &Column, literal: &Literal) -> Result<Operand, FilterError> {
    use ColumnKind as K;
    let unsupported = |reason: String| FilterError::Unsupported { column: column.name.clone(), reason };
    let sql_type = column.sql_type();
    let numeric = matches!(
        column.kind,
        K::TinyInt
            | K::SmallInt
            | K::MediumInt
            | K::Int
            | K::BigInt
            | K::Decimal { .. }
            | K::Float
            | K::Double
            | K::Year
            | K::Bit { .. }
    );
    match (&column.kind, literal) {
        (K::Timestamp { .. }, _) => Err(unsupported(
            "TIMESTAMP values are instants, and a literal would be read in a session time zone; \
             only IS NULL / IS NOT NULL can test a TIMESTAMP column"
                .to_string(),
        )),
        (K::Set { .. }, _) => Err(unsupported(
            "a SET value holds several labels and cannot be compared with one literal; only \
             IS NULL / IS NOT NULL can test a SET column"
                .to_string(),
        )),
        (K::Other { name }, _) => Err(unsupported(format!(
            "Ferry cannot compare {name} values; only IS NULL / IS NOT NULL can test this column"
        ))),
        (_, Literal::Num { value, .. }) if numeric => Ok(Operand::Num(value.clone())),
        (
            K::Char { .. }
            | K::VarChar { .. }
            | K::Text
            | K::Json
            | K::Binary { .. }
            | K::VarBinary { .. }
            | K::Blob,
            Literal::Str(s),
        ) => Ok(Operand::Bytes(s.as_bytes().to_vec())),
        (K::Enum { labels }, Literal::Str(s)) => Ok(Operand::Enum(
            std::iter::once("")
                .chain(labels.iter().map(String::as_str))
                .map(|label| label.as_bytes().cmp(s.as_bytes()))
                .collect(),
        )),
        (K::Date | K::DateTime { .. }, Literal::Str(s)) => {
            parse_datetime(s).map(Operand::DateTime).ok_or_else(|| FilterError::BadLiteral {
                column: column.name.clone(),
                literal: s.clone(),
                reason: "write a date as 'YYYY-MM-DD' or a date and time as \
                         'YYYY-MM-DD HH:MM:SS[.ffffff]'"
                    .to_string(),
            })
        }
        (K::Time { .. }, Literal::Str(s)) => {
            parse_time(s).map(Operand::Time).ok_or_else(|| FilterError::BadLiteral {
                column: column.name.clone(),
                literal: s.clone(),
                reason: "write a time as '[-]HH:MM:SS[.ffffff]' (hours up to 838)".to_string(),
            })
        }
        (K::Enum { .. }, Literal::Num { text, .. }) => Err(unsupported(format!(
            "an ENUM is compared by its label, and {text} is a number: quote the label ('active')"
        ))),
        (_, Literal::Num { text, .. }) => Err(unsupported(format!(
            "it is a {sql_type} column and {text} is a number: write the value in quotes ('{text}')"
        ))),
        // What is left: a numeric column and a string.
        (_, Literal::Str(s)) => Err(unsupported(format!(
            "it is a {sql_type} column and '{s}' is a string: write the number without quotes"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TableName;

    fn schema() -> TableSchema {
        use ColumnKind as K;
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        TableSchema {
            name: TableName::new("shop", "orders"),
            columns: vec![
                Column::new("id", K::BigInt),
                Column::new("Status", K::VarChar { len: 20 }),
                Column::new("amount", K::Decimal { precision: 30, scale: 4 }),
                Column::new("big", K::BigInt).unsigned(),
                Column::new("price", K::Double),
                Column::new("ratio", K::Float),
                Column::new("flag", K::Bit { bits: 1 }),
                Column::new("yr", K::Year),
                Column::new("state", K::Enum { labels: labels(&["active", "paused"]) }),
                Column::new("born", K::Date),
                Column::new("seen", K::DateTime { fsp: 6 }),
                Column::new("dur", K::Time { fsp: 6 }),
                Column::new("created", K::Timestamp { fsp: 0 }),
                Column::new("tags", K::Set { labels: labels(&["a", "b"]) }),
                Column::new("payload", K::Json),
                Column::new("raw", K::VarBinary { len: 8 }),
                Column::new("geo", K::Other { name: "geometry".into() }),
                Column::new("Weird Name", K::Text),
                Column::new("we`ird", K::Char { len: 4 }),
            ],
            primary_key: vec![0],
        }
    }

    /// A row of the test schema: the named columns set, the others NULL.
    fn row(values: &[(&str, Value)]) -> Vec<Value> {
        let schema = schema();
        let mut row = vec![Value::Null; schema.columns.len()];
        for (name, value) in values {
            let i = schema.columns.iter().position(|c| c.name == *name).expect("test column");
            row[i] = value.clone();
        }
        row
    }

    fn bound(filter: &str) -> BoundFilter {
        RowFilter::parse(filter).expect("parses").bind(&schema()).expect("binds")
    }

    /// The three-valued result: `None` is unknown.
    fn eval(filter: &str, values: &[(&str, Value)]) -> Option<bool> {
        bound(filter).expr.eval(&row(values))
    }

    fn keeps(filter: &str, values: &[(&str, Value)]) -> bool {
        bound(filter).matches(&row(values))
    }

    fn syntax(filter: &str) -> (usize, String) {
        match RowFilter::parse(filter) {
            Err(FilterError::Syntax { at, reason }) => (at, reason),
            other => panic!("{filter:?}: expected a syntax error, got {other:?}"),
        }
    }

    fn bind_error(filter: &str) -> FilterError {
        match RowFilter::parse(filter).expect("parses").bind(&schema()) {
            Err(e) => e,
            Ok(b) => panic!("{filter:?}: expected a bind error, got {b:?}"),
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.to_string())
    }

    #[test]
    fn the_example_parses_binds_and_keeps_what_it_should() {
        let f = "status <> 'deleted' AND amount >= 10.5 OR id IN (1, 2, 3)";
        let parsed = RowFilter::parse(f).expect("parses");
        assert_eq!(parsed.text(), f);
        let b = parsed.bind(&schema()).expect("binds");
        let r = |s: &str, a: &str, id: i64| {
            row(&[("Status", text(s)), ("amount", dec(a)), ("id", Value::Int(id))])
        };
        assert!(b.matches(&r("new", "10.5000", 9)));
        assert!(!b.matches(&r("deleted", "10.5000", 9)));
        assert!(!b.matches(&r("new", "10.4999", 9)));
        assert!(b.matches(&r("deleted", "0.0000", 2)));
    }

    #[test]
    fn syntax_errors_name_the_offset_and_what_was_expected() {
        let (at, reason) = syntax("(id = 1");
        assert_eq!(at, 7);
        assert!(reason.contains("`)` to close the `(` at byte 0"), "{reason}");
        assert!(reason.contains("end of the filter"), "{reason}");

        let (at, reason) = syntax("id = 1 )");
        assert_eq!(at, 7);
        assert!(reason.contains("unbalanced"), "{reason}");

        let (at, reason) = syntax("id = 1 status = 'x'");
        assert_eq!(at, 7);
        assert!(reason.contains("expected AND, OR or the end of the filter, found `status`"), "{reason}");

        let (at, reason) = syntax("lower(status) = 'x'");
        assert_eq!(at, 5);
        assert!(reason.contains("function calls are not supported"), "{reason}");

        let (at, reason) = syntax("id = NULL");
        assert_eq!(at, 5);
        assert!(reason.contains("IS NULL"), "{reason}");

        let (at, reason) = syntax("id IN (1, null)");
        assert_eq!(at, 10);
        assert!(reason.contains("IS NULL"), "{reason}");

        assert_eq!(RowFilter::parse("").unwrap_err(), FilterError::Empty);
        assert_eq!(RowFilter::parse("  \n\t").unwrap_err(), FilterError::Empty);

        assert_eq!(syntax("id = 1;").0, 6);
        assert_eq!(syntax("id + 1 = 2").0, 3);
        assert_eq!(syntax("name LIKE 'x%'").0, 5);
        assert_eq!(syntax("id IN (SELECT id FROM t)").0, 7);
        assert_eq!(syntax("id = 1e5").0, 5);
        assert_eq!(syntax("id = 1.2.3").0, 5);
        assert_eq!(syntax("id = ").0, 5);
        assert_eq!(syntax("id IN ()").0, 7);
        assert_eq!(syntax("id BETWEEN 1 OR 2").0, 13);
        assert_eq!(syntax("id IS TRUE").0, 6);
        assert_eq!(syntax("id <=> 1").0, 3);
        assert_eq!(syntax("t.id = 1").0, 1);
        assert_eq!(syntax("in = 1").0, 0);
        assert_eq!(syntax("status = \"x\"").0, 9);
        assert_eq!(syntax("`` = 1").0, 0);

        let (at, reason) = syntax("id = amount");
        assert_eq!(at, 5);
        assert!(reason.contains("another column"), "{reason}");
        let (at, reason) = syntax("id = `amount`");
        assert_eq!(at, 5);
        assert!(reason.contains("two columns"), "{reason}");

        let (at, reason) = syntax("id = 1 AND status = 'open");
        assert_eq!(at, 20);
        assert!(reason.contains("no closing quote"), "{reason}");
        // The first error in reading order wins over a malformed token later on.
        assert_eq!(syntax("id = = 1 AND s = 'x").0, 5);

        let msg = RowFilter::parse("id = ;").unwrap_err().to_string();
        assert!(msg.starts_with("row filter syntax error at byte 5: expected a literal"), "{msg}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}id = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(syntax(&deep).1.contains("nest"));
        let nots = format!("{}id = 1", "NOT ".repeat(10_000));
        assert!(syntax(&nots).1.contains("nest"));
        let ok = format!("{}id = 1{}", "(".repeat(40), ")".repeat(40));
        assert!(keeps(&ok, &[("id", Value::Int(1))]));
    }

    #[test]
    fn unknown_columns_are_named() {
        assert_eq!(bind_error("nope = 1"), FilterError::UnknownColumn { column: "nope".into() });
        assert_eq!(
            bind_error("id = 1 OR `missing one` IS NULL"),
            FilterError::UnknownColumn { column: "missing one".into() }
        );
    }

    #[test]
    fn comparisons_ferry_cannot_decide_exactly_are_refused_at_bind() {
        let unsupported = |filter: &str, column: &str| match bind_error(filter) {
            FilterError::Unsupported { column: c, reason } => {
                assert_eq!(c, column, "{filter}");
                assert!(!reason.is_empty());
                reason
            }
            other => panic!("{filter}: {other:?}"),
        };
        assert!(unsupported("created = '2024-01-01 00:00:00'", "created").contains("time zone"));
        assert!(unsupported("created > 0", "created").contains("TIMESTAMP"));
        assert!(unsupported("tags = 'a'", "tags").contains("SET"));
        assert!(unsupported("geo = 'x'", "geo").contains("geometry"));
        assert!(unsupported("amount = '10'", "amount").contains("without quotes"));
        assert!(unsupported("id IN (1, '2')", "id").contains("without quotes"));
        assert!(unsupported("status = 10", "Status").contains("in quotes"));
        assert!(unsupported("raw = 1", "raw").contains("number"));
        assert!(unsupported("born = 20240101", "born").contains("number"));
        assert!(unsupported("dur BETWEEN 1 AND 2", "dur").contains("number"));
        assert!(unsupported("state = 1", "state").contains("label"));
        assert!(unsupported("payload = TRUE", "payload").contains("TRUE"));

        for bad in ["2024/01/01", "2024-13-01", "2023-02-29", "2024-01-01T00:00:00", "2024-01-01 24:00:00"] {
            match bind_error(&format!("born = '{bad}'")) {
                FilterError::BadLiteral { column, literal, .. } => {
                    assert_eq!((column.as_str(), literal.as_str()), ("born", bad));
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(bind_error("seen < '2024-01-01 00:00:00.1234567'"), FilterError::BadLiteral { .. }));
        assert!(matches!(bind_error("dur = '1:00:00'"), FilterError::BadLiteral { .. }));
        assert!(matches!(bind_error("dur = '839:00:00'"), FilterError::BadLiteral { .. }));

        // NULL tests work on every column.
        assert!(keeps("created IS NULL AND tags IS NULL AND geo IS NULL", &[]));
        assert!(keeps("created IS NOT NULL", &[("created", Value::Timestamp { secs: 1, micros: 0 })]));
    }

    #[test]
    fn three_valued_logic() {
        let null_status = |id: i64| vec![("id", Value::Int(id))];
        // NULL AND FALSE is FALSE, so its negation keeps the row.
        assert_eq!(eval("status = 'x' AND id = 1", &null_status(2)), Some(false));
        assert!(keeps("NOT (status = 'x' AND id = 1)", &null_status(2)));
        // NULL AND TRUE is unknown, and so is its negation.
        assert_eq!(eval("status = 'x' AND id = 1", &null_status(1)), None);
        assert!(!keeps("NOT (status = 'x' AND id = 1)", &null_status(1)));
        // NULL OR TRUE is TRUE; NULL OR FALSE is unknown.
        assert!(keeps("status = 'x' OR id = 1", &null_status(1)));
        assert_eq!(eval("status = 'x' OR id = 1", &null_status(2)), None);
        // NOT of a comparison with NULL drops the row either way.
        assert!(!keeps("status = 'x'", &[]));
        assert!(!keeps("NOT status = 'x'", &[]));
        assert!(keeps("NOT status = 'x'", &[("Status", text("y"))]));
        assert!(!keeps("status IN ('x')", &[]) && !keeps("status NOT IN ('x')", &[]));
        assert!(!keeps("id BETWEEN 1 AND 2", &[]) && !keeps("id NOT BETWEEN 1 AND 2", &[]));
        assert!(keeps("status IS NULL", &[]));
        assert!(!keeps("status IS NOT NULL", &[]));
        assert!(keeps("status IS NOT NULL", &[("Status", text(""))]));
        assert!(keeps("NOT NOT id = 1", &null_status(1)));
    }

    #[test]
    fn a_short_row_counts_as_null() {
        let b = bound("seen IS NULL AND NOT id = 5");
        assert!(b.matches(&[Value::Int(1)]));
        assert!(!b.matches(&[]));
        assert!(bound("dur IS NULL").matches(&[]));
        assert!(!bound("dur = '00:00:00'").matches(&[]));
    }

    #[test]
    fn decimals_compare_exactly() {
        let d = |s| parse_decimal(s).expect("decimal");
        assert_eq!(cmp_decimal(d("-0.5"), d("0.25")), Ordering::Less);
        assert_eq!(cmp_decimal(d("10.10"), d("10.1")), Ordering::Equal);
        assert_eq!(cmp_decimal(d("-0.000"), d("0")), Ordering::Equal);
        assert_eq!(cmp_decimal(d("-2"), d("-1.5")), Ordering::Less);
        assert_eq!(cmp_decimal(d("0.0001"), d(".001")), Ordering::Less);
        assert_eq!(cmp_decimal(d("007.50"), d("7.5")), Ordering::Equal);
        assert_eq!(cmp_decimal(d("-12.3400"), d("-12.34001")), Ordering::Greater);
        assert_eq!(cmp_decimal(d("99.99"), d("100")), Ordering::Less);
        assert_eq!(parse_decimal("-"), None);
        assert_eq!(parse_decimal("1.2.3"), None);
        assert_eq!(parse_decimal("1e5"), None);

        let amount = |s| vec![("amount", dec(s))];
        assert!(keeps("amount < 0.25", &amount("-0.5000")));
        assert!(keeps("amount = -.5", &amount("-0.5000")));
        assert!(keeps("amount = 10.1", &amount("10.1000")));
        assert!(keeps("amount = 10.10 AND amount <> 10.11", &amount("10.1000")));
        assert!(keeps("amount > 12345678901234567890", &amount("12345678901234567890.1000")));
        assert!(!keeps("amount = 12345678901234567890", &amount("12345678901234567890.1000")));
        assert!(keeps("amount < 12345678901234567890.1", &amount("12345678901234567890.0000")));
        // An unreadable decimal text is unknown, never a panic.
        assert_eq!(eval("amount = 1", &amount("garbage")), None);

        // Integers against decimal literals, exactly.
        let id = |v| vec![("id", Value::Int(v))];
        assert!(keeps("id > 1.5", &id(2)));
        assert!(!keeps("id > 1.5", &id(1)));
        assert!(keeps("id < -1.5", &id(-2)));
        assert!(!keeps("id < -1.5", &id(-1)));
        assert!(keeps("id = 2.000", &id(2)));
        assert!(!keeps("id = 2.001", &id(2)));
        assert!(keeps("id > -0.5 AND id < 0.5", &id(0)));
        assert!(keeps("id < 123456789012345678901234567890123456789012", &id(i64::MAX)));
        assert!(keeps("id > -123456789012345678901234567890123456789012.5", &id(i64::MIN)));
        assert!(keeps("id = 9223372036854775807", &id(i64::MAX)));
        assert!(!keeps("id = 9223372036854775807.0000000000000000001", &id(i64::MAX)));

        // FLOAT and DOUBLE compare as f64.
        assert!(keeps("price > 2.25", &[("price", Value::Double(2.5))]));
        assert!(keeps("ratio = 0.5", &[("ratio", Value::Float(0.5))]));
        assert_eq!(eval("price = 1", &[("price", Value::Double(f64::NAN))]), None);
    }

    #[test]
    fn unsigned_values_above_i64_max() {
        let big = |v| vec![("big", Value::UInt(v))];
        assert!(keeps("big > 9223372036854775807", &big(u64::MAX)));
        assert!(keeps("big = 18446744073709551615", &big(u64::MAX)));
        assert!(keeps("big > -1", &big(u64::MAX)));
        assert!(!keeps("big > 18446744073709551615", &big(u64::MAX)));
        assert!(keeps("big < 18446744073709551616", &big(u64::MAX)));
    }

    #[test]
    fn booleans_years_and_bits_are_numbers() {
        assert!(keeps("flag = TRUE", &[("flag", Value::Bit(1))]));
        assert!(keeps("flag = false", &[("flag", Value::Bit(0))]));
        assert!(keeps("id = FALSE", &[("id", Value::Int(0))]));
        assert!(keeps("yr >= 2000 AND yr < 2100", &[("yr", Value::Year(2024))]));
    }

    #[test]
    fn enums_compare_by_label() {
        let state = |i| vec![("state", Value::Enum(i))];
        assert!(keeps("state = 'active'", &state(1)));
        assert!(!keeps("state IN ('active')", &state(2)));
        assert!(keeps("state = 'paused'", &state(2)));
        assert!(keeps("state = ''", &state(0)));
        // Label order, not index order: 'paused' > 'b' though 'active' is index 1.
        assert!(keeps("state > 'b'", &state(2)));
        assert!(!keeps("state > 'b'", &state(1)));
        assert!(!keeps("state = 'Active'", &state(1)));
        // An index beyond the labels is unknown.
        assert_eq!(eval("state = 'active'", &state(9)), None);
    }

    #[test]
    fn dates_datetimes_and_times_compare_chronologically() {
        let born = |y, m, d| vec![("born", Value::Date { year: y, month: m, day: d })];
        assert!(keeps("born = '2024-02-29'", &born(2024, 2, 29)));
        assert!(keeps("born < '2024-03-01'", &born(2024, 2, 29)));
        assert!(keeps("born BETWEEN '2024-01-01' AND '2024-12-31'", &born(2024, 2, 29)));
        assert!(!keeps("born BETWEEN '2024-01-01' AND '2024-12-31'", &born(2025, 1, 1)));
        // A DATE counts as midnight against a datetime literal.
        assert!(keeps("born = '2024-02-29 00:00:00'", &born(2024, 2, 29)));
        assert!(keeps("born < '2024-02-29 00:00:00.000001'", &born(2024, 2, 29)));
        assert!(keeps("born = '0000-00-00'", &born(0, 0, 0)));

        let seen = |h, mi, s, us| {
            vec![(
                "seen",
                Value::DateTime { year: 2024, month: 2, day: 29, hour: h, minute: mi, second: s, micros: us },
            )]
        };
        assert!(keeps("seen >= '2024-02-29'", &seen(0, 0, 0, 0)));
        assert!(!keeps("seen = '2024-02-29'", &seen(0, 0, 0, 1)));
        assert!(keeps("seen > '2024-02-29 12:00:00.5'", &seen(12, 0, 0, 500_001)));
        assert!(!keeps("seen > '2024-02-29 12:00:00.5'", &seen(12, 0, 0, 500_000)));
        assert!(keeps("seen < '2024-03-01'", &seen(23, 59, 59, 999_999)));

        let dur = |negative, hours, micros| {
            vec![("dur", Value::Time { negative, hours, minutes: 0, seconds: 1, micros })]
        };
        assert!(keeps("dur < '-00:00:00.5'", &dur(true, 0, 0)));
        assert!(keeps("dur = '-00:00:01'", &dur(true, 0, 0)));
        assert!(keeps("dur > '100:00:00'", &dur(false, 838, 0)));
        assert!(keeps("dur = '12:00:01.25'", &dur(false, 12, 250_000)));
        assert!(keeps("dur BETWEEN '-01:00:00' AND '01:00:00'", &dur(true, 0, 0)));
    }

    #[test]
    fn in_not_in_and_between() {
        let id = |v| vec![("id", Value::Int(v))];
        assert!(keeps("id IN (1, 2, 3)", &id(2)));
        assert!(!keeps("id IN (1, 2, 3)", &id(4)));
        assert!(keeps("id NOT IN (1, 2, 3)", &id(4)));
        assert!(!keeps("id NOT IN (1, 2, 3)", &id(3)));
        assert!(keeps("id BETWEEN 1 AND 3", &id(1)) && keeps("id BETWEEN 1 AND 3", &id(3)));
        assert!(!keeps("id BETWEEN 1 AND 3", &id(4)));
        assert!(!keeps("id BETWEEN 3 AND 1", &id(2)));
        assert!(keeps("id NOT BETWEEN 1 AND 3", &id(0)));
        assert!(!keeps("id NOT BETWEEN 1 AND 3", &id(2)));
        // BETWEEN's AND is its own; the next AND joins the predicates.
        assert!(keeps(
            "id BETWEEN 1 AND 3 AND status = 'x'",
            &[("id", Value::Int(2)), ("Status", text("x"))]
        ));
        assert!(keeps("status IN ('a', 'b')", &[("Status", text("b"))]));
    }

    #[test]
    fn identifiers_and_keywords() {
        let r = vec![("Weird Name", text("x")), ("Status", text("open")), ("we`ird", text("y"))];
        assert!(keeps("`Weird Name` = 'x'", &r));
        assert!(keeps("`weird name` = 'x'", &r));
        assert!(keeps("`we``ird` = 'y'", &r));
        assert!(keeps("STATUS = 'open' and status Is Not Null aNd `Status` in ('open')", &r));
        assert!(keeps("not StAtUs between 'a' and 'b'", &r));
        assert!(keeps("status NOT in ('x') OR id=1", &r));
        assert!(keeps("(status='open')AND(id IS NULL)", &r));
        assert!(matches!(bind_error("fAlSe_ = 1"), FilterError::UnknownColumn { .. }));
    }

    #[test]
    fn strings_are_binary_with_doubled_quotes() {
        let s = |v: &str| vec![("Status", text(v))];
        assert!(keeps("status = 'it''s'", &s("it's")));
        assert!(keeps("status = ''''", &s("'")));
        assert!(keeps(r"status = 'a\b'", &s(r"a\b")));
        assert!(keeps("status = 'é ü'", &s("é ü")));
        assert!(!keeps("status = 'Active'", &s("active")));
        assert!(!keeps("status = 'a'", &s("a ")));
        assert!(keeps("status < 'b'", &s("a")));
        assert!(keeps("status > 'B'", &s("a")));
        assert!(keeps("raw = 'ab'", &[("raw", Value::Bytes(b"ab".to_vec()))]));
        assert!(!keeps("raw = 'ab'", &[("raw", Value::Bytes(b"ab\0".to_vec()))]));
        assert!(keeps("payload = '{\"a\":1}'", &[("payload", Value::Json("{\"a\":1}".into()))]));
    }
}
