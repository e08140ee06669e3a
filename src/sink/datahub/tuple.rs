//! TUPLE records: which DataHub field type each column gets, and each value's text.
//!
//! Invariants: a record's fields follow the topic's RecordSchema as DataHub holds it (fields
//! are matched to columns by name, without case), so a topic created earlier, or by someone
//! else, is written as it is; a value is written for the field's type, not the column's, and
//! one that does not fit (a string into a BIGINT field after an ALTER TABLE) is refused, never
//! cut. NULL, and dates with a zero part, are JSON `null`. Pure: no IO.

use super::client::{Field, FieldType};
use super::names;
use crate::codec::time::{self, Civil};
use crate::model::{Column, ColumnKind, Op, TableSchema, Value};
use base64::Engine as _;
use std::fmt::Write as _;

/// Ferry's field with the change's operation: `insert`, `update` or `delete`.
pub const OP_FIELD: &str = "ferry_op";
/// Ferry's field with the change's time in the source (its binlog event), a TIMESTAMP.
pub const TS_FIELD: &str = "ferry_ts";

/// DataHub's TIMESTAMP bounds (0001-01-01 to 9999-12-31 23:59:59, microseconds).
const TIMESTAMP_MIN: i64 = -62_135_798_400_000_000;
const TIMESTAMP_MAX: i64 = 253_402_271_999_000_000;

/// The field type a column gets in a topic Ferry creates (the table in the module docs).
pub fn field_type(col: &Column) -> FieldType {
    use ColumnKind as K;
    match (&col.kind, col.unsigned) {
        (K::TinyInt, false) => FieldType::Tinyint,
        (K::TinyInt, true) | (K::SmallInt, false) | (K::Year, _) => FieldType::Smallint,
        (K::SmallInt, true) | (K::MediumInt, _) | (K::Int, false) => FieldType::Integer,
        (K::Int, true) | (K::BigInt, false) => FieldType::Bigint,
        (K::BigInt, true) | (K::Decimal { .. }, _) => FieldType::Decimal,
        (K::Float, _) => FieldType::Float,
        (K::Double, _) => FieldType::Double,
        (K::DateTime { .. } | K::Timestamp { .. }, _) => FieldType::Timestamp,
        (K::Bit { bits: 1 }, _) => FieldType::Boolean,
        (K::Bit { bits }, _) if *bits < 64 => FieldType::Bigint,
        (K::Bit { .. }, _) => FieldType::Decimal,
        _ => FieldType::String,
    }
}

/// The fields of a topic Ferry creates for rows of `schema`: its own two, then the columns.
pub fn fields(schema: &TableSchema) -> Result<Vec<Field>, String> {
    let mut fields =
        vec![Field::new(OP_FIELD, FieldType::String), Field::new(TS_FIELD, FieldType::Timestamp)];
    for col in &schema.columns {
        let name = names::field(&col.name)?;
        if let Some(taken) = fields.iter().find(|f| names::same(&f.name, &name)) {
            return Err(match taken.name == OP_FIELD || taken.name == TS_FIELD {
                true => format!(
                    "column {:?} of {} has the name of Ferry's field {}",
                    col.name, schema.name, taken.name
                ),
                false => format!(
                    "columns of {} come out as the same DataHub field {name:?} (one is {:?})",
                    schema.name, col.name
                ),
            });
        }
        fields.push(Field::new(name, field_type(col)));
    }
    Ok(fields)
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Op,
    Ts,
    /// The column at this index of the row image.
    Column(usize),
    /// A field the table has no column for (dropped, or another table's): null.
    Null,
}

/// How rows of one table fill a topic's fields.
#[derive(Debug, Clone)]
pub struct Layout {
    pub fields: Vec<Field>,
    pub slots: Vec<Slot>,
}

impl Layout {
    /// Rows of `schema` into a topic of `fields` (holding every column already).
    pub fn new(fields: &[Field], schema: &TableSchema) -> Result<Layout, String> {
        let mut slots = Vec::with_capacity(fields.len());
        for field in fields {
            let slot = if names::same(&field.name, OP_FIELD) {
                Slot::Op
            } else if names::same(&field.name, TS_FIELD) {
                Slot::Ts
            } else {
                let column = schema
                    .columns
                    .iter()
                    .position(|c| names::field(&c.name).is_ok_and(|n| names::same(&n, &field.name)));
                match column {
                    Some(i) => Slot::Column(i),
                    None if field.notnull => {
                        return Err(format!(
                            "the topic's field {} refuses null and {} has no column for it",
                            field.name, schema.name
                        ))
                    }
                    None => Slot::Null,
                }
            };
            slots.push(slot);
        }
        Ok(Layout { fields: fields.to_vec(), slots })
    }
}

/// The JSON `Data` array of a change's record; the bytes of its values. `image` is the after
/// image (the before image for a delete), `ts` its time (unix seconds).
pub fn write_data(
    out: &mut Vec<u8>,
    layout: &Layout,
    schema: &TableSchema,
    op: Op,
    ts: u32,
    image: &[Value],
) -> Result<usize, String> {
    let mut text = String::new();
    let mut bytes = 0;
    out.push(b'[');
    for (n, (field, slot)) in layout.fields.iter().zip(&layout.slots).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        text.clear();
        let present = match *slot {
            Slot::Op => {
                text.push_str(op_name(op));
                true
            }
            Slot::Ts => {
                value_text(&mut text, &schema_less(ColumnKind::Timestamp { fsp: 0 }), &ts_value(ts), field.ty)
                    .map_err(|why| unfit(field, "ferry's time", why))?
            }
            Slot::Column(i) => {
                let (col, v) = (&schema.columns[i], image.get(i).unwrap_or(&Value::Null));
                value_text(&mut text, col, v, field.ty).map_err(|why| unfit(field, &col.name, why))?
            }
            Slot::Null => false,
        };
        if present {
            bytes += text.len();
            serde_json::to_writer(&mut *out, text.as_str()).expect("writing to a Vec");
        } else if field.notnull {
            return Err(format!("field {} refuses null ({} has none for this row)", field.name, schema.name));
        } else {
            out.extend_from_slice(b"null");
        }
    }
    out.push(b']');
    Ok(bytes)
}

fn unfit(field: &Field, column: &str, why: String) -> String {
    format!("column {column}: {why} for DataHub {} field {}", field.ty.as_str().to_uppercase(), field.name)
}

/// `insert`, `update` or `delete`.
pub fn op_name(op: Op) -> &'static str {
    match op {
        Op::Insert => "insert",
        Op::Update => "update",
        Op::Delete => "delete",
        Op::Read => "read",
    }
}

fn ts_value(ts: u32) -> Value {
    Value::Timestamp { secs: i64::from(ts), micros: 0 }
}

fn schema_less(kind: ColumnKind) -> Column {
    Column::new("", kind)
}

/// The primary key's text (each value as a STRING field holds it, joined by `\u{1}`): what
/// the `hash` partition rule hashes.
pub fn key_text(schema: &TableSchema, image: &[Value]) -> String {
    let mut key = String::new();
    for (n, &i) in schema.primary_key.iter().enumerate() {
        if n > 0 {
            key.push('\u{1}');
        }
        if let (Some(col), Some(v)) = (schema.columns.get(i), image.get(i)) {
            let _ = value_text(&mut key, col, v, FieldType::String);
        }
    }
    key
}

/// Writes `v` as a field of type `ty` holds it into `text`; `Ok(false)` for null, an error
/// saying why when the value does not fit the type.
pub fn value_text(text: &mut String, col: &Column, v: &Value, ty: FieldType) -> Result<bool, String> {
    if v.is_null() {
        return Ok(false);
    }
    match ty {
        FieldType::String => Ok(string_text(text, col, v)),
        FieldType::Tinyint | FieldType::Smallint | FieldType::Integer | FieldType::Bigint => {
            let i = integer(v).ok_or_else(|| format!("{} is no integer", kind_name(v)))?;
            let (min, max) = match ty {
                FieldType::Tinyint => (i128::from(i8::MIN), i128::from(i8::MAX)),
                FieldType::Smallint => (i128::from(i16::MIN), i128::from(i16::MAX)),
                FieldType::Integer => (i128::from(i32::MIN), i128::from(i32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
            };
            if !(min..=max).contains(&i) {
                return Err(format!("{i} is out of range"));
            }
            let _ = write!(text, "{i}");
            Ok(true)
        }
        FieldType::Float | FieldType::Double | FieldType::Decimal => match v {
            Value::Float(f) => Ok(float_text(text, f64::from(*f), Some(*f), ty)),
            Value::Double(d) => Ok(float_text(text, *d, None, ty)),
            Value::Decimal(d) => {
                decimal_text(text, d, &col.kind);
                Ok(true)
            }
            _ => {
                let i = integer(v).ok_or_else(|| format!("{} is no number", kind_name(v)))?;
                let _ = write!(text, "{i}");
                Ok(true)
            }
        },
        FieldType::Boolean => match integer(v) {
            Some(0) => {
                text.push_str("false");
                Ok(true)
            }
            Some(1) => {
                text.push_str("true");
                Ok(true)
            }
            _ => Err(format!("{} is no boolean (0 or 1)", kind_name(v))),
        },
        FieldType::Timestamp => {
            let Some(micros) = epoch_micros(v) else {
                return match v {
                    Value::Date { .. } | Value::DateTime { .. } | Value::Timestamp { .. } => Ok(false),
                    _ => Err(format!("{} is no point in time", kind_name(v))),
                };
            };
            if !(TIMESTAMP_MIN..=TIMESTAMP_MAX).contains(&micros) {
                return Err(format!("{micros} µs is outside DataHub's TIMESTAMP range"));
            }
            let _ = write!(text, "{micros}");
            Ok(true)
        }
    }
}

/// An integer value (BIT and YEAR too); `None` for other values.
fn integer(v: &Value) -> Option<i128> {
    match *v {
        Value::Int(i) => Some(i128::from(i)),
        Value::UInt(u) | Value::Bit(u) => Some(i128::from(u)),
        Value::Year(y) => Some(i128::from(y)),
        _ => None,
    }
}

/// Microseconds since the epoch of a TIMESTAMP, or of a DATETIME or DATE read as UTC; `None`
/// for a zero date or timestamp and for values that are no point in time.
fn epoch_micros(v: &Value) -> Option<i64> {
    let (secs, micros) = match *v {
        Value::Timestamp { secs: 0, micros: 0 } => return None,
        Value::Timestamp { secs, micros } => (secs, micros),
        Value::DateTime { year, month, day, hour, minute, second, micros } => {
            if time::is_zero_date(year, month, day) {
                return None;
            }
            (Civil::of(year, month, day, hour, minute, second).to_unix(), micros)
        }
        Value::Date { year, month, day } => {
            if time::is_zero_date(year, month, day) {
                return None;
            }
            (Civil::of(year, month, day, 0, 0, 0).to_unix(), 0)
        }
        _ => return None,
    };
    Some(secs * 1_000_000 + i64::from(micros))
}

/// A FLOAT, DOUBLE or DECIMAL field's text of a float: the shortest that reads back the same
/// (`f32` when the value is one, so 1.1 stays `1.1`); NaN and infinities as Java writes them
/// (a DECIMAL field cannot hold them: null).
fn float_text(text: &mut String, d: f64, f: Option<f32>, ty: FieldType) -> bool {
    if !d.is_finite() {
        if ty == FieldType::Decimal {
            return false;
        }
        text.push_str(if d.is_nan() {
            "NaN"
        } else if d > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        });
        return true;
    }
    match f {
        Some(f) => text.push_str(ryu::Buffer::new().format_finite(f)),
        None => text.push_str(ryu::Buffer::new().format_finite(d)),
    }
    true
}

/// DECIMAL text with exactly the column's scale (padded, never cut: it is exact).
fn decimal_text(text: &mut String, d: &str, kind: &ColumnKind) {
    let d = if d.is_empty() { "0" } else { d };
    text.push_str(d);
    if let ColumnKind::Decimal { scale, .. } = kind {
        let scale = usize::from(*scale);
        if scale > 0 {
            let have = match d.find('.') {
                Some(dot) => d.len() - dot - 1,
                None => {
                    text.push('.');
                    0
                }
            };
            text.extend(std::iter::repeat_n('0', scale.saturating_sub(have)));
        }
    }
}

/// A STRING field's text, as the `default` format writes the value (FORMATS.md) but without
/// JSON quoting: dates and times in ISO form (TIMESTAMP in UTC with `Z`), binary as base64,
/// ENUM and SET as labels, JSON as its text. `false` for a date with a zero part (null).
fn string_text(text: &mut String, col: &Column, v: &Value) -> bool {
    let mut buf = Vec::new();
    match v {
        Value::Null => return false,
        Value::Int(_) | Value::UInt(_) | Value::Bit(_) | Value::Year(_) => {
            let _ = write!(text, "{}", integer(v).unwrap_or_default());
        }
        Value::Float(f) => {
            float_text(text, f64::from(*f), Some(*f), FieldType::String);
        }
        Value::Double(d) => {
            float_text(text, *d, None, FieldType::String);
        }
        Value::Decimal(d) => decimal_text(text, d, &col.kind),
        &Value::Date { year, month, day } => {
            if time::is_zero_date(year, month, day) {
                return false;
            }
            time::date(&mut buf, i64::from(year), u32::from(month), u32::from(day));
        }
        &Value::Time { negative, hours, minutes, seconds, micros } => {
            let (h, m, s) = (u32::from(hours), u32::from(minutes), u32::from(seconds));
            time::time(&mut buf, negative, h, m, s, micros, time::fsp_of(&col.kind, micros));
        }
        &Value::DateTime { year, month, day, hour, minute, second, micros } => {
            if time::is_zero_date(year, month, day) {
                return false;
            }
            let c = Civil::of(year, month, day, hour, minute, second);
            time::datetime(&mut buf, &c, micros, time::fsp_of(&col.kind, micros), b'T');
        }
        &Value::Timestamp { secs, micros } => {
            if secs == 0 && micros == 0 {
                return false;
            }
            time::datetime(&mut buf, &Civil::from_unix(secs), micros, time::fsp_of(&col.kind, micros), b'T');
            buf.push(b'Z');
        }
        Value::Text(s) | Value::Json(s) => text.push_str(s),
        Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode_string(b, text),
        &Value::Enum(index) => match &col.kind {
            ColumnKind::Enum { .. } if index == 0 => {}
            ColumnKind::Enum { labels } if usize::from(index) <= labels.len() => {
                text.push_str(&labels[usize::from(index) - 1])
            }
            _ => {
                let _ = write!(text, "{index}");
            }
        },
        &Value::Set(bits) => match &col.kind {
            ColumnKind::Set { labels } => {
                let chosen = labels.iter().enumerate().take(64).filter(|(i, _)| bits >> i & 1 == 1);
                for (n, (_, label)) in chosen.enumerate() {
                    if n > 0 {
                        text.push(',');
                    }
                    text.push_str(label);
                }
            }
            _ => {
                let _ = write!(text, "{bits}");
            }
        },
    }
    // The time writers emit ASCII only.
    text.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    true
}

/// A value's kind, for messages.
fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) | Value::Double(_) => "a floating-point number",
        Value::Decimal(_) => "a decimal",
        Value::Date { .. } => "a DATE",
        Value::Time { .. } => "a TIME",
        Value::DateTime { .. } => "a DATETIME",
        Value::Timestamp { .. } => "a TIMESTAMP",
        Value::Year(_) => "a YEAR",
        Value::Text(_) => "a string",
        Value::Bytes(_) => "binary data",
        Value::Enum(_) => "an ENUM",
        Value::Set(_) => "a SET",
        Value::Bit(_) => "a BIT value",
        Value::Json(_) => "a JSON document",
    }
}
