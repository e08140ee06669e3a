//! How one column value is written in each format: the "Column values" table of FORMATS.md.
//!
//! Invariants: a value is written from its [`Value`] variant, with the column's [`ColumnKind`]
//! supplying only what the value cannot carry (fsp, scale, labels, bit width), so a value
//! whose kind does not match still comes out as valid JSON and loses nothing. NULL is always
//! JSON `null`. The writers allocate nothing beyond the output buffer.

use super::json;
use super::time::{self, Civil};
use super::zone::ServerZone;
use crate::model::{Column, ColumnKind, TableSchema, Value};

/// Writes `{"col":value,...}` for the columns of `image`, each value through `write`.
pub fn object<F>(out: &mut Vec<u8>, columns: &[Column], image: &[Value], mut write: F)
where
    F: FnMut(&mut Vec<u8>, &Column, &Value),
{
    out.push(b'{');
    for (n, (col, v)) in columns.iter().zip(image).enumerate() {
        if n > 0 {
            out.push(b',');
        }
        json::field(out, &col.name);
        write(out, col, v);
    }
    out.push(b'}');
}

/// The `record_primary_value` text: each primary key value in its Canal string form, joined
/// by `\u{1}`; empty for a table without a primary key. A TIMESTAMP is written in UTC, so keys
/// do not depend on the server's time zone.
pub fn key_text(schema: &TableSchema, image: &[Value]) -> String {
    let mut buf = Vec::new();
    for (n, &i) in schema.primary_key.iter().enumerate() {
        if n > 0 {
            buf.push(1);
        }
        if let (Some(col), Some(v)) = (schema.columns.get(i), image.get(i)) {
            if !v.is_null() {
                canal_contents(&mut buf, col, v, None, false);
            }
        }
    }
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `default` (OMS): integers and floats as numbers, temporal values as ISO text (zero dates
/// null), binary as base64, JSON embedded.
pub fn write_default(out: &mut Vec<u8>, col: &Column, v: &Value) {
    match v {
        Value::Null => json::null(out),
        Value::Int(i) => json::i64(out, *i),
        Value::UInt(u) => json::u64(out, *u),
        Value::Year(y) => json::u64(out, u64::from(*y)),
        Value::Bit(b) => json::u64(out, *b),
        Value::Float(f) => json::f32(out, *f),
        Value::Double(d) => json::f64(out, *d),
        Value::Decimal(text) => {
            out.push(b'"');
            decimal_contents(out, text, &col.kind, true);
            out.push(b'"');
        }
        &Value::Date { year, month, day } => {
            if time::is_zero_date(year, month, day) {
                json::null(out);
            } else {
                out.push(b'"');
                time::date(out, i64::from(year), u32::from(month), u32::from(day));
                out.push(b'"');
            }
        }
        &Value::Time { negative, hours, minutes, seconds, micros } => {
            out.push(b'"');
            let fsp = time::fsp_of(&col.kind, micros);
            let (h, m, s) = (u32::from(hours), u32::from(minutes), u32::from(seconds));
            time::time(out, negative, h, m, s, micros, fsp);
            out.push(b'"');
        }
        &Value::DateTime { year, month, day, hour, minute, second, micros } => {
            if time::is_zero_date(year, month, day) {
                json::null(out);
            } else {
                let c = Civil::of(year, month, day, hour, minute, second);
                out.push(b'"');
                time::datetime(out, &c, micros, time::fsp_of(&col.kind, micros), b'T');
                out.push(b'"');
            }
        }
        &Value::Timestamp { secs, micros } => {
            if secs == 0 && micros == 0 {
                json::null(out);
            } else {
                out.push(b'"');
                time::datetime(out, &Civil::from_unix(secs), micros, time::fsp_of(&col.kind, micros), b'T');
                out.extend_from_slice(b"Z\"");
            }
        }
        Value::Text(s) => json::string(out, s),
        Value::Bytes(b) => json::base64(out, b),
        &Value::Enum(index) => {
            out.push(b'"');
            enum_contents(out, &col.kind, index, true);
            out.push(b'"');
        }
        &Value::Set(bits) => {
            out.push(b'"');
            set_contents(out, &col.kind, bits, true);
            out.push(b'"');
        }
        Value::Json(text) => {
            if is_json(text) {
                out.extend_from_slice(text.as_bytes());
            } else {
                json::string(out, text);
            }
        }
    }
}

/// `debezium` (decimal.handling.mode=string): like `default` except DATE as days since the
/// epoch, TIME as microseconds, DATETIME as epoch ms (fsp 0-3) or µs (4-6), BIT(1) as a
/// boolean, BIT(n>1) as base64 of its bytes least significant first, JSON as a string.
pub fn write_debezium(out: &mut Vec<u8>, col: &Column, v: &Value) {
    match v {
        &Value::Date { year, month, day } => {
            if time::is_zero_date(year, month, day) {
                json::null(out);
            } else {
                json::i64(out, time::days_from_civil(i64::from(year), u32::from(month), u32::from(day)));
            }
        }
        &Value::Time { negative, hours, minutes, seconds, micros } => {
            let secs = i64::from(hours) * 3600 + i64::from(minutes) * 60 + i64::from(seconds);
            let magnitude = secs * 1_000_000 + i64::from(micros);
            json::i64(out, if negative { -magnitude } else { magnitude });
        }
        &Value::DateTime { year, month, day, hour, minute, second, micros } => {
            if time::is_zero_date(year, month, day) {
                json::null(out);
            } else {
                let secs = Civil::of(year, month, day, hour, minute, second).to_unix();
                if time::fsp_of(&col.kind, micros) <= 3 {
                    json::i64(out, secs * 1000 + i64::from(micros / 1000));
                } else {
                    json::i64(out, secs * 1_000_000 + i64::from(micros));
                }
            }
        }
        &Value::Bit(b) => match col.kind {
            ColumnKind::Bit { bits: 1 } => json::bool(out, b != 0),
            ColumnKind::Bit { bits } => {
                let len = usize::from(bits).div_ceil(8).clamp(1, 8);
                json::base64(out, &b.to_le_bytes()[..len]);
            }
            _ => json::u64(out, b),
        },
        Value::Json(text) => json::string(out, text),
        _ => write_default(out, col, v),
    }
}

/// `canal`: every value as a JSON string (NULL stays `null`).
pub fn write_canal(out: &mut Vec<u8>, col: &Column, v: &Value, zone: &ServerZone) {
    if v.is_null() {
        json::null(out);
    } else {
        out.push(b'"');
        canal_contents(out, col, v, Some(zone), true);
        out.push(b'"');
    }
}

/// The Canal string form of a non-null value: JSON-escaped when `escape`, else raw UTF-8.
/// Only text taken from the value (strings, labels, decimal and JSON text, bytes) can need
/// escaping; numbers, dates and times are plain ASCII.
/// A value's Canal text; TIMESTAMP in `zone`'s local time at that instant (`None`: UTC).
fn canal_contents(out: &mut Vec<u8>, col: &Column, v: &Value, zone: Option<&ServerZone>, escape: bool) {
    match v {
        Value::Null => {}
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::UInt(u) | Value::Bit(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
        &Value::Float(f) if f.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes())
        }
        &Value::Double(d) if d.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(d).as_bytes())
        }
        &Value::Float(f) => java_non_finite(out, f64::from(f)),
        &Value::Double(d) => java_non_finite(out, d),
        Value::Decimal(text) => decimal_contents(out, text, &col.kind, escape),
        &Value::Date { year, month, day } => {
            time::date(out, i64::from(year), u32::from(month), u32::from(day));
        }
        &Value::Time { negative, hours, minutes, seconds, micros } => {
            let fsp = time::fsp_of(&col.kind, micros);
            let (h, m, s) = (u32::from(hours), u32::from(minutes), u32::from(seconds));
            time::time(out, negative, h, m, s, micros, fsp);
        }
        &Value::DateTime { year, month, day, hour, minute, second, micros } => {
            let c = Civil::of(year, month, day, hour, minute, second);
            time::datetime(out, &c, micros, time::fsp_of(&col.kind, micros), b' ');
        }
        &Value::Timestamp { secs, micros } => {
            let fsp = time::fsp_of(&col.kind, micros);
            if secs == 0 && micros == 0 {
                out.extend_from_slice(b"0000-00-00 00:00:00");
                time::fraction(out, 0, fsp);
            } else {
                let offset = zone.map_or(0, |z| z.offset_at(secs));
                let local = Civil::from_unix(secs + i64::from(offset));
                time::datetime(out, &local, micros, fsp, b' ');
            }
        }
        &Value::Year(y) => time::year(out, y),
        Value::Text(s) | Value::Json(s) => put_str(out, s, escape),
        Value::Bytes(b) => {
            if escape {
                json::latin1_contents(out, b);
            } else {
                json::latin1_raw(out, b);
            }
        }
        &Value::Enum(index) => enum_contents(out, &col.kind, index, escape),
        &Value::Set(bits) => set_contents(out, &col.kind, bits, escape),
    }
}

/// NaN and infinities as Java's `String.valueOf` names them (JSON numbers cannot hold them).
fn java_non_finite(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    });
}

/// DECIMAL text with exactly `scale` decimals: the text as given, padded with zeros when it
/// has fewer (never cut: the value is exact).
fn decimal_contents(out: &mut Vec<u8>, text: &str, kind: &ColumnKind, escape: bool) {
    let text = if text.is_empty() { "0" } else { text };
    put_str(out, text, escape);
    if let ColumnKind::Decimal { scale, .. } = kind {
        let scale = usize::from(*scale);
        if scale > 0 {
            let have = match text.find('.') {
                Some(dot) => text.len() - dot - 1,
                None => {
                    out.push(b'.');
                    0
                }
            };
            out.resize(out.len() + scale.saturating_sub(have), b'0');
        }
    }
}

/// An ENUM's label: index 1-based, 0 (MySQL's error value) is the empty string; an index the
/// column does not know is written as its number rather than lost.
fn enum_contents(out: &mut Vec<u8>, kind: &ColumnKind, index: u16, escape: bool) {
    let label = match kind {
        ColumnKind::Enum { .. } if index == 0 => Some(""),
        ColumnKind::Enum { labels } => labels.get(usize::from(index) - 1).map(String::as_str),
        _ => None,
    };
    match label {
        Some(label) => put_str(out, label, escape),
        None => out.extend_from_slice(itoa::Buffer::new().format(index).as_bytes()),
    }
}

/// A SET's labels in definition order joined by `,` (the empty set is the empty string).
fn set_contents(out: &mut Vec<u8>, kind: &ColumnKind, bits: u64, escape: bool) {
    let ColumnKind::Set { labels } = kind else {
        out.extend_from_slice(itoa::Buffer::new().format(bits).as_bytes());
        return;
    };
    let mut first = true;
    for (i, label) in labels.iter().enumerate().take(64) {
        if bits >> i & 1 == 1 {
            if !first {
                out.push(b',');
            }
            first = false;
            put_str(out, label, escape);
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str, escape: bool) {
    if escape {
        json::string_contents(out, s);
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Whether `text` is one complete JSON value (validated without building it).
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: ColumnKind) -> Column {
        Column::new("c", kind)
    }

    fn default(kind: ColumnKind, v: Value) -> String {
        let mut out = Vec::new();
        write_default(&mut out, &col(kind), &v);
        String::from_utf8(out).unwrap()
    }

    fn debezium(kind: ColumnKind, v: Value) -> String {
        let mut out = Vec::new();
        write_debezium(&mut out, &col(kind), &v);
        String::from_utf8(out).unwrap()
    }

    fn canal(kind: ColumnKind, v: Value, tz: i32) -> String {
        let mut out = Vec::new();
        write_canal(&mut out, &col(kind), &v, &ServerZone::fixed(tz));
        String::from_utf8(out).unwrap()
    }

    fn decimal(scale: u8) -> ColumnKind {
        ColumnKind::Decimal { precision: 20, scale }
    }

    #[test]
    fn decimals_are_padded_to_their_scale_never_cut() {
        let d = |t: &str| Value::Decimal(t.into());
        assert_eq!(default(decimal(4), d("-12.3400")), r#""-12.3400""#);
        assert_eq!(default(decimal(4), d("-12.34")), r#""-12.3400""#);
        assert_eq!(default(decimal(2), d("5")), r#""5.00""#);
        assert_eq!(default(decimal(2), d("0.00")), r#""0.00""#);
        assert_eq!(default(decimal(0), d("17")), r#""17""#);
        assert_eq!(default(decimal(1), d("1.25")), r#""1.25""#);
        assert_eq!(canal(decimal(3), d("-0.5"), 0), r#""-0.500""#);
    }

    #[test]
    fn zero_dates_are_null_except_in_canal() {
        let dt =
            |year, month, day| Value::DateTime { year, month, day, hour: 1, minute: 2, second: 3, micros: 0 };
        for (y, m, d) in [(0, 0, 0), (0, 1, 1), (2026, 0, 0), (2026, 11, 0)] {
            assert_eq!(default(ColumnKind::Date, Value::Date { year: y, month: m, day: d }), "null");
            assert_eq!(debezium(ColumnKind::Date, Value::Date { year: y, month: m, day: d }), "null");
            assert_eq!(default(ColumnKind::DateTime { fsp: 2 }, dt(y, m, d)), "null");
            assert_eq!(debezium(ColumnKind::DateTime { fsp: 2 }, dt(y, m, d)), "null");
        }
        assert_eq!(
            canal(ColumnKind::Date, Value::Date { year: 2026, month: 11, day: 0 }, 0),
            r#""2026-11-00""#
        );
        assert_eq!(canal(ColumnKind::DateTime { fsp: 2 }, dt(0, 0, 0), 0), r#""0000-00-00 01:02:03.00""#);
        let zero_ts = Value::Timestamp { secs: 0, micros: 0 };
        assert_eq!(default(ColumnKind::Timestamp { fsp: 6 }, zero_ts.clone()), "null");
        assert_eq!(debezium(ColumnKind::Timestamp { fsp: 6 }, zero_ts.clone()), "null");
        assert_eq!(canal(ColumnKind::Timestamp { fsp: 6 }, zero_ts, 3600), r#""0000-00-00 00:00:00.000000""#);
    }

    #[test]
    fn timestamps_are_utc_or_server_time() {
        let ts = Value::Timestamp { secs: 1, micros: 5 };
        assert_eq!(default(ColumnKind::Timestamp { fsp: 6 }, ts.clone()), r#""1970-01-01T00:00:01.000005Z""#);
        assert_eq!(debezium(ColumnKind::Timestamp { fsp: 0 }, ts.clone()), r#""1970-01-01T00:00:01Z""#);
        assert_eq!(canal(ColumnKind::Timestamp { fsp: 1 }, ts.clone(), -3600), r#""1969-12-31 23:00:01.0""#);
        assert_eq!(canal(ColumnKind::Timestamp { fsp: 0 }, ts, 5 * 3600 + 1800), r#""1970-01-01 05:30:01""#);
    }

    #[test]
    fn debezium_temporal_numbers() {
        let t = |negative, seconds, micros| Value::Time { negative, hours: 0, minutes: 0, seconds, micros };
        assert_eq!(debezium(ColumnKind::Time { fsp: 6 }, t(true, 1, 500_000)), "-1500000");
        assert_eq!(default(ColumnKind::Time { fsp: 6 }, t(true, 1, 500_000)), r#""-00:00:01.500000""#);
        assert_eq!(debezium(ColumnKind::Time { fsp: 0 }, t(false, 0, 0)), "0");
        let dt = |fsp, micros| {
            let v = Value::DateTime { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 1, micros };
            debezium(ColumnKind::DateTime { fsp }, v)
        };
        assert_eq!(dt(0, 0), "1000");
        assert_eq!(dt(3, 123_000), "1123");
        assert_eq!(dt(4, 123_400), "1123400");
        assert_eq!(dt(6, 123_456), "1123456");
        let date = |year, month, day| debezium(ColumnKind::Date, Value::Date { year, month, day });
        assert_eq!(date(1970, 1, 1), "0");
        assert_eq!(date(2000, 2, 29), "11016");
        assert_eq!(date(9999, 12, 31), "2932896");
        assert_eq!(date(1000, 1, 1), "-354285");
    }

    #[test]
    fn bits_enums_and_sets() {
        let bit = |bits| ColumnKind::Bit { bits };
        assert_eq!(default(bit(1), Value::Bit(1)), "1");
        assert_eq!(debezium(bit(1), Value::Bit(0)), "false");
        assert_eq!(canal(bit(1), Value::Bit(1), 0), r#""1""#);
        assert_eq!(debezium(bit(10), Value::Bit(513)), r#""AQI=""#);
        assert_eq!(debezium(bit(64), Value::Bit(u64::MAX)), r#""//////////8=""#);
        assert_eq!(debezium(bit(8), Value::Bit(0xab)), r#""qw==""#);
        assert_eq!(default(bit(64), Value::Bit(u64::MAX)), "18446744073709551615");

        let labels = vec!["x".to_string(), "y\"".to_string()];
        let e = ColumnKind::Enum { labels: labels.clone() };
        assert_eq!(default(e.clone(), Value::Enum(2)), r#""y\"""#);
        assert_eq!(default(e.clone(), Value::Enum(0)), r#""""#);
        assert_eq!(default(e, Value::Enum(9)), r#""9""#);
        let s = ColumnKind::Set { labels };
        assert_eq!(canal(s.clone(), Value::Set(0b11), 0), r#""x,y\"""#);
        assert_eq!(default(s.clone(), Value::Set(0b10),), r#""y\"""#);
        assert_eq!(default(s, Value::Set(0)), r#""""#);
    }

    #[test]
    fn json_is_embedded_only_when_valid() {
        assert_eq!(
            default(ColumnKind::Json, Value::Json(" [1, {\"a\":\"b\"}] ".into())),
            " [1, {\"a\":\"b\"}] "
        );
        assert_eq!(default(ColumnKind::Json, Value::Json("{\"a\":".into())), r#""{\"a\":""#);
        assert_eq!(default(ColumnKind::Json, Value::Json("".into())), r#""""#);
        assert_eq!(debezium(ColumnKind::Json, Value::Json("1".into())), r#""1""#);
    }

    #[test]
    fn key_text_joins_canal_forms() {
        let schema = TableSchema {
            name: crate::model::TableName::new("d", "t"),
            columns: vec![
                Column::new("a", ColumnKind::Timestamp { fsp: 0 }),
                Column::new("b", ColumnKind::VarBinary { len: 4 }),
                Column::new("c", ColumnKind::Int),
            ],
            primary_key: vec![2, 0, 1],
        };
        let row = [Value::Timestamp { secs: 86_400, micros: 0 }, Value::Bytes(vec![0xe9]), Value::Int(-1)];
        assert_eq!(key_text(&schema, &row), "-1\u{1}1970-01-02 00:00:00\u{1}é", "TIMESTAMP keys in UTC");
    }

    #[test]
    fn canal_timestamps_take_the_offset_in_force_at_each_value() {
        let col = Column::new("ts", ColumnKind::Timestamp { fsp: 0 });
        // Berlin: summer time from 2026-03-29 01:00 UTC.
        let spring = 1_774_746_000;
        let zone = ServerZone::from_samples([(spring - 3600, 3600), (spring, 7200)]);
        let text = |secs| {
            let mut out = Vec::new();
            write_canal(&mut out, &col, &Value::Timestamp { secs, micros: 0 }, &zone);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(spring - 1), "\"2026-03-29 01:59:59\"");
        assert_eq!(text(spring), "\"2026-03-29 03:00:00\"");
        assert_eq!(text(spring + 86_400 * 100), "\"2026-07-07 03:00:00\"");
    }
}
