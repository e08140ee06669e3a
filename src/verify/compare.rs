//! Row values as the binary protocol gives them (`mysql_async::Value`), compared the way a
//! verification must: an `Int` and a `UInt` of the same number are equal, floats by value, a
//! TIME by its length. Pure: no IO.
//!
//! Invariant: values with the same [`Canon`] are [`equal`], so equal [`Checksum`]s of two chunks
//! mean equal rows (up to a 64-bit hash collision); `equal` may find rows equal whose checksums
//! differ (a FLOAT against a DOUBLE), which only costs a row-by-row look.

use mysql_async::Value;
use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// A value in the form in which equal values are the same: integers widened, floats as the
/// bits of their `f64` (−0 as 0), TIME as sign and hours.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Canon<'a> {
    Null,
    Int(i128),
    Float(u64),
    Bytes(Cow<'a, [u8]>),
    /// Year, month, day, hour, minute, second, microseconds.
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// Negative, hours, minutes, seconds, microseconds (a zero TIME is never negative).
    Time(bool, u64, u8, u8, u32),
}

/// A primary key's values, comparable across the two sides.
pub type Key = Vec<Canon<'static>>;

fn float_bits(f: f64) -> u64 {
    if f == 0.0 {
        0
    } else {
        f.to_bits()
    }
}

pub fn canon(v: &Value) -> Canon<'_> {
    match v {
        Value::NULL => Canon::Null,
        Value::Int(i) => Canon::Int(i128::from(*i)),
        Value::UInt(u) => Canon::Int(i128::from(*u)),
        Value::Float(f) => Canon::Float(float_bits(f64::from(*f))),
        Value::Double(d) => Canon::Float(float_bits(*d)),
        Value::Bytes(b) => Canon::Bytes(Cow::Borrowed(b)),
        Value::Date(y, m, d, h, mi, s, us) => Canon::Date(*y, *m, *d, *h, *mi, *s, *us),
        Value::Time(negative, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let zero = hours == 0 && *mi == 0 && *s == 0 && *us == 0;
            Canon::Time(*negative && !zero, hours, *mi, *s, *us)
        }
    }
}

impl Canon<'_> {
    pub fn into_owned(self) -> Canon<'static> {
        match self {
            Canon::Null => Canon::Null,
            Canon::Int(i) => Canon::Int(i),
            Canon::Float(f) => Canon::Float(f),
            Canon::Bytes(b) => Canon::Bytes(Cow::Owned(b.into_owned())),
            Canon::Date(y, m, d, h, mi, s, us) => Canon::Date(y, m, d, h, mi, s, us),
            Canon::Time(n, h, mi, s, us) => Canon::Time(n, h, mi, s, us),
        }
    }
}

/// The key of `row`: the values at `key`'s positions.
pub fn key_of(row: &[Value], key: &[usize]) -> Key {
    key.iter().map(|&i| canon(&row[i]).into_owned()).collect()
}

/// Two values of the same column are the same: integers by number whatever their signedness,
/// floats by value (a FLOAT against a DOUBLE at FLOAT's precision), the rest as they are.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Double(y)) | (Value::Double(y), Value::Float(x)) => *x == *y as f32,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Double(x), Value::Double(y)) => x == y,
        _ => canon(a) == canon(b),
    }
}

/// Two rows of the same columns are the same, value for value.
pub fn rows_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y))
}

/// A chunk's rows summed up: their number and the sum of their hashes. The sum does not depend
/// on the order (the two servers may sort string keys by different collations).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    pub sum: u64,
}

impl Checksum {
    pub fn of<R: AsRef<[Value]>>(rows: &[R]) -> Self {
        rows.iter().fold(Checksum::default(), |c, row| Checksum {
            rows: c.rows + 1,
            sum: c.sum.wrapping_add(row_hash(row.as_ref())),
        })
    }
}

/// A row's hash, value by value in canonical form (the same in every process of one build).
pub fn row_hash(row: &[Value]) -> u64 {
    let mut h = DefaultHasher::new();
    for v in row {
        canon(v).hash(&mut h);
    }
    h.finish()
}

/// What comparing one chunk found: how many source rows the target holds unchanged, and the
/// positions (in the source chunk) of those it lacks or holds otherwise.
#[derive(Debug, Default, PartialEq)]
pub struct ChunkDiff {
    pub matched: usize,
    pub suspects: Vec<usize>,
}

/// Compares a chunk of source rows with the target rows of the same keys (the same columns in
/// the same order, `key` the positions of the primary key): checksums first, row by row only
/// when they differ.
pub fn compare_chunk(source: &[Vec<Value>], target: &[Vec<Value>], key: &[usize]) -> ChunkDiff {
    if Checksum::of(source) == Checksum::of(target) {
        return ChunkDiff { matched: source.len(), suspects: Vec::new() };
    }
    let by_key: std::collections::HashMap<Key, &Vec<Value>> =
        target.iter().map(|row| (key_of(row, key), row)).collect();
    let mut diff = ChunkDiff::default();
    for (i, row) in source.iter().enumerate() {
        match by_key.get(&key_of(row, key)) {
            Some(t) if rows_equal(row, t) => diff.matched += 1,
            _ => diff.suspects.push(i),
        }
    }
    diff
}

/// A key as the report shows it: a JSON array of its values (numbers as numbers, text as
/// strings, other bytes as `0x` and hex, dates and times as their SQL text).
pub fn key_json(key: &[Value]) -> serde_json::Value {
    use serde_json::Value as J;
    key.iter()
        .map(|v| match v {
            Value::NULL => J::Null,
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => J::from(s),
                Err(_) => J::from(format!("0x{}", hex::encode_upper(b))),
            },
            Value::Date(..) | Value::Time(..) => J::from(super::sql::temporal(v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[Value]) -> Vec<Value> {
        values.to_vec()
    }

    #[test]
    fn integers_compare_by_number_and_floats_by_value() {
        assert!(equal(&Value::Int(5), &Value::UInt(5)));
        assert!(!equal(&Value::Int(-1), &Value::UInt(u64::MAX)));
        assert!(equal(&Value::Float(1.1), &Value::Float(1.1)));
        assert!(equal(&Value::Float(1.1), &Value::Double(f64::from(1.1f32))));
        assert!(equal(&Value::Double(1.1), &Value::Float(1.1)), "FLOAT against DOUBLE at FLOAT's precision");
        assert!(equal(&Value::Double(0.0), &Value::Double(-0.0)));
        assert!(!equal(&Value::Double(0.1), &Value::Double(0.2)));
        assert!(!equal(&Value::Int(1), &Value::Bytes(b"1".to_vec())));
        assert!(equal(&Value::NULL, &Value::NULL));
        assert!(!equal(&Value::NULL, &Value::Bytes(Vec::new())));
    }

    #[test]
    fn times_compare_by_length_and_dates_as_they_are() {
        // 1 day 2 hours is 26 hours; a negative zero is zero.
        assert!(equal(&Value::Time(false, 1, 2, 3, 4, 5), &Value::Time(false, 0, 26, 3, 4, 5)));
        assert!(equal(&Value::Time(true, 0, 0, 0, 0, 0), &Value::Time(false, 0, 0, 0, 0, 0)));
        assert!(!equal(&Value::Time(true, 0, 1, 0, 0, 0), &Value::Time(false, 0, 1, 0, 0, 0)));
        assert!(equal(&Value::Date(2024, 2, 29, 0, 0, 0, 0), &Value::Date(2024, 2, 29, 0, 0, 0, 0)));
        assert!(!equal(&Value::Date(2024, 2, 29, 0, 0, 0, 1), &Value::Date(2024, 2, 29, 0, 0, 0, 0)));
    }

    #[test]
    fn checksums_ignore_order_and_signedness_and_see_any_change() {
        let a = vec![row(&[Value::Int(1), Value::Bytes(b"x".to_vec())]), row(&[Value::Int(2), Value::NULL])];
        let b =
            vec![row(&[Value::UInt(2), Value::NULL]), row(&[Value::UInt(1), Value::Bytes(b"x".to_vec())])];
        assert_eq!(Checksum::of(&a), Checksum::of(&b));
        assert_eq!(Checksum::of(&a).rows, 2);
        let changed = vec![row(&[Value::Int(1), Value::Bytes(b"y".to_vec())]), b[0].clone()];
        assert_ne!(Checksum::of(&a), Checksum::of(&changed));
        assert_ne!(Checksum::of(&a), Checksum::of(&a[..1]));
        // NULL is not the empty string, nor a value moved to the next column.
        let n = vec![row(&[Value::NULL, Value::Bytes(Vec::new())])];
        let e = vec![row(&[Value::Bytes(Vec::new()), Value::NULL])];
        assert_ne!(Checksum::of(&n), Checksum::of(&e));
        assert_eq!(Checksum::of::<Vec<Value>>(&[]), Checksum::default());
    }

    #[test]
    fn chunks_are_diffed_only_where_checksums_differ() {
        let src: Vec<Vec<Value>> =
            (1..=4).map(|i| row(&[Value::Int(i), Value::Bytes(format!("v{i}").into_bytes())])).collect();
        let same: Vec<Vec<Value>> = src.iter().rev().cloned().collect();
        assert_eq!(compare_chunk(&src, &same, &[0]), ChunkDiff { matched: 4, suspects: vec![] });
        // Key 2 missing, key 3 different.
        let target =
            vec![src[0].clone(), row(&[Value::UInt(3), Value::Bytes(b"other".to_vec())]), src[3].clone()];
        assert_eq!(compare_chunk(&src, &target, &[0]), ChunkDiff { matched: 2, suspects: vec![1, 2] });
    }

    #[test]
    fn keys_show_as_json_arrays() {
        let key = [
            Value::Int(-3),
            Value::UInt(7),
            Value::Bytes("ü".as_bytes().to_vec()),
            Value::Bytes(vec![0xff, 0x00]),
            Value::Date(2024, 5, 6, 7, 8, 9, 0),
            Value::NULL,
        ];
        assert_eq!(key_json(&key), serde_json::json!([-3, 7, "ü", "0xFF00", "2024-05-06 07:08:09", null]));
    }
}
