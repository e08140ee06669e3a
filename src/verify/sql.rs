//! The statements a verification reads with (parameters, binary protocol) and repairs with
//! (literals, so that they can be shown, copied and run by hand). Pure: no IO.
//!
//! Literals: numbers as text; character data as `_utf8mb4 X'..'` (the session reads it as
//! utf8mb4 whatever the source column's character set); other bytes as `X'..'`; dates and times
//! quoted; NULL.

use crate::model::{Column, ColumnKind, TableName};
use mysql_async::Value;

use crate::source::mysql::statement::list;
pub use crate::source::mysql::statement::{ident, page, page_params, table};

/// Rows by `keys` keys: `WHERE k IN (?,...)`, or `(k1,k2) IN ((?,?),...)`.
pub fn by_keys(table_name: &TableName, columns: &[&str], key: &[&str], keys: usize) -> String {
    let (lhs, one) = match key.len() {
        1 => (ident(key[0]), "?".to_string()),
        n => (format!("({})", list(key)), format!("({})", vec!["?"; n].join(","))),
    };
    format!(
        "SELECT {} FROM {} WHERE {lhs} IN ({})",
        list(columns),
        table(table_name),
        vec![one.as_str(); keys].join(",")
    )
}

/// `REPLACE INTO` the target: the row as the source has it.
pub fn replace(target: &TableName, columns: &[Column], row: &[Value]) -> String {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let values: Vec<String> = columns.iter().zip(row).map(|(c, v)| literal(&c.kind, v)).collect();
    format!("REPLACE INTO {} ({}) VALUES ({})", table(target), list(&names), values.join(","))
}

/// `DELETE` of one row by its key (columns and values).
pub fn delete(target: &TableName, key: &[(&Column, &Value)]) -> String {
    let terms: Vec<String> =
        key.iter().map(|(c, v)| format!("{} = {}", ident(&c.name), literal(&c.kind, v))).collect();
    format!("DELETE FROM {} WHERE {}", table(target), terms.join(" AND "))
}

/// A value of a column of `kind` as an SQL literal.
pub fn literal(kind: &ColumnKind, v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        // DECIMAL comes as its text: a number (a hex literal would be read as an integer).
        Value::Bytes(b) if numeric(kind) && is_number(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Bytes(b) if character(kind) => format!("_utf8mb4 X'{}'", hex::encode_upper(b)),
        Value::Bytes(b) => format!("X'{}'", hex::encode_upper(b)),
        Value::Date(..) | Value::Time(..) => format!("'{}'", temporal(v)),
    }
}

/// A DATE, DATETIME or TIMESTAMP (`2024-05-06`, `2024-05-06 07:08:09.000123`) or a TIME
/// (`-838:59:59.5`) as SQL text; microseconds only when there are some.
pub fn temporal(v: &Value) -> String {
    let micros = |us: u32| if us == 0 { String::new() } else { format!(".{us:06}") };
    match v {
        Value::Date(y, m, d, 0, 0, 0, 0) => format!("{y:04}-{m:02}-{d:02}"),
        Value::Date(y, m, d, h, mi, s, us) => {
            format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}{}", micros(*us))
        }
        Value::Time(negative, days, h, mi, s, us) => {
            let sign = if *negative { "-" } else { "" };
            let hours = u64::from(*days) * 24 + u64::from(*h);
            format!("{sign}{hours:02}:{mi:02}:{s:02}{}", micros(*us))
        }
        other => format!("{other:?}"),
    }
}

fn numeric(kind: &ColumnKind) -> bool {
    use ColumnKind::*;
    matches!(kind, TinyInt | SmallInt | MediumInt | Int | BigInt | Decimal { .. } | Float | Double | Year)
}

fn character(kind: &ColumnKind) -> bool {
    use ColumnKind::*;
    matches!(kind, Char { .. } | VarChar { .. } | Text | Enum { .. } | Set { .. } | Json)
}

/// Digits with at most a sign, a point and an exponent: safe to write as it is.
fn is_number(b: &[u8]) -> bool {
    b.iter().any(u8::is_ascii_digit) && b.iter().all(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TableName {
        TableName::new("shop", "orders")
    }

    #[test]
    fn literals_by_value_and_column() {
        let text = ColumnKind::VarChar { len: 10 };
        assert_eq!(literal(&text, &Value::NULL), "NULL");
        assert_eq!(literal(&ColumnKind::BigInt, &Value::Int(-42)), "-42");
        assert_eq!(literal(&ColumnKind::BigInt, &Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(literal(&ColumnKind::Float, &Value::Float(1.5)), "1.5");
        assert_eq!(literal(&ColumnKind::Double, &Value::Double(0.1)), "0.1");
        assert_eq!(literal(&ColumnKind::Double, &Value::Double(1e20)), "100000000000000000000");
        let decimal = ColumnKind::Decimal { precision: 12, scale: 2 };
        assert_eq!(literal(&decimal, &Value::Bytes(b"-12.50".to_vec())), "-12.50");
        assert_eq!(literal(&text, &Value::Bytes("it's ü".as_bytes().to_vec())), "_utf8mb4 X'6974277320C3BC'");
        assert_eq!(literal(&text, &Value::Bytes(Vec::new())), "_utf8mb4 X''");
        assert_eq!(literal(&ColumnKind::Blob, &Value::Bytes(vec![0, 0xff])), "X'00FF'");
        assert_eq!(literal(&ColumnKind::Bit { bits: 9 }, &Value::Bytes(vec![1, 2])), "X'0102'");
        // Not a number after all: bytes, not SQL.
        assert_eq!(literal(&decimal, &Value::Bytes(b"1;DROP".to_vec())), "X'313B44524F50'");
    }

    #[test]
    fn dates_and_times_are_quoted() {
        let dt = ColumnKind::DateTime { fsp: 6 };
        assert_eq!(literal(&ColumnKind::Date, &Value::Date(2024, 2, 29, 0, 0, 0, 0)), "'2024-02-29'");
        assert_eq!(literal(&dt, &Value::Date(2024, 5, 6, 7, 8, 9, 123)), "'2024-05-06 07:08:09.000123'");
        assert_eq!(literal(&dt, &Value::Date(0, 0, 0, 0, 0, 0, 0)), "'0000-00-00'");
        let time = ColumnKind::Time { fsp: 2 };
        assert_eq!(literal(&time, &Value::Time(true, 34, 22, 59, 58, 500_000)), "'-838:59:58.500000'");
        assert_eq!(literal(&time, &Value::Time(false, 0, 1, 2, 3, 0)), "'01:02:03'");
    }

    #[test]
    fn repair_statements() {
        let cols = [Column::new("id", ColumnKind::BigInt), Column::new("n`ote", ColumnKind::Text)];
        assert_eq!(
            replace(&t(), &cols, &[Value::Int(7), Value::Bytes(b"x".to_vec())]),
            "REPLACE INTO `shop`.`orders` (`id`,`n``ote`) VALUES (7,_utf8mb4 X'78')"
        );
        assert_eq!(
            delete(&t(), &[(&cols[0], &Value::Int(7)), (&cols[1], &Value::NULL)]),
            "DELETE FROM `shop`.`orders` WHERE `id` = 7 AND `n``ote` = NULL"
        );
    }

    #[test]
    fn pages_follow_the_key_and_lookups_go_by_it() {
        assert_eq!(
            page(&t(), &["id", "a"], &["id"], false, 1000),
            "SELECT `id`,`a` FROM `shop`.`orders` ORDER BY `id` LIMIT 1000"
        );
        assert_eq!(
            page(&t(), &["a", "b", "c"], &["a", "b"], true, 10),
            "SELECT `a`,`b`,`c` FROM `shop`.`orders` WHERE `a` > ? OR (`a` = ? AND `b` > ?) ORDER BY `a`,`b` LIMIT 10"
        );
        assert_eq!(
            page_params(&[Value::Int(1), Value::Int(2)]),
            vec![Value::Int(1), Value::Int(1), Value::Int(2)]
        );
        assert_eq!(
            by_keys(&t(), &["id", "a"], &["id"], 3),
            "SELECT `id`,`a` FROM `shop`.`orders` WHERE `id` IN (?,?,?)"
        );
        assert_eq!(
            by_keys(&t(), &["a", "b"], &["a", "b"], 2),
            "SELECT `a`,`b` FROM `shop`.`orders` WHERE (`a`,`b`) IN ((?,?),(?,?))"
        );
    }
}
