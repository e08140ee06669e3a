//! The `items` and `alltypes` tables, a workload on them and what each key should see: every
//! kind of change and every column type, for the end-to-end tests of each destination.

use super::Sql;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn create_tables(sql: &mut Sql, db: &str) {
    sql.exec(&format!("CREATE TABLE {db}.items (id INT PRIMARY KEY, name VARCHAR(50), qty INT)"));
    sql.exec(&format!(
        "CREATE TABLE {db}.alltypes (id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT,
         mi MEDIUMINT UNSIGNED, i INT, bi BIGINT, biu BIGINT UNSIGNED, dec1 DECIMAL(10,4), dec0 DECIMAL(5,2),
         f FLOAT, d DOUBLE, dt DATE, dz DATE, tm TIME(3), dtm0 DATETIME, dtm6 DATETIME(6),
         ts3 TIMESTAMP(3) NULL, tsz TIMESTAMP NULL, y YEAR, y0 YEAR,
         c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(20) CHARACTER SET utf8mb4,
         lat VARCHAR(10) CHARACTER SET latin1, tx TEXT, bin BINARY(4), vb VARBINARY(8), bl BLOB,
         e ENUM('small','medium','large'), st SET('a','b','c','d'), st0 SET('a','b'),
         b1 BIT(1), b10 BIT(10), j JSON, n INT NULL)"
    ));
}

/// What [`workload`] does to `items`, per key, in order: (I/U/D, qty after it).
pub fn expected_items() -> BTreeMap<i64, Vec<(char, Option<i64>)>> {
    let mut e: BTreeMap<i64, Vec<(char, Option<i64>)>> = BTreeMap::new();
    for id in 1..=20 {
        e.entry(id).or_default().push(('I', Some(id)));
    }
    for id in 1..=5 {
        e.get_mut(&id).unwrap().push(('U', Some(id + 1)));
    }
    e.get_mut(&20).unwrap().push(('D', None));
    e.entry(21).or_default().push(('I', Some(21)));
    // id 1 -> 100: a DELETE of the old key and an INSERT of the new one.
    e.get_mut(&1).unwrap().push(('D', None));
    e.entry(100).or_default().push(('I', Some(2)));
    e.get_mut(&100).unwrap().push(('U', Some(2)));
    for id in 2..=4 {
        for n in 1..=10 {
            e.get_mut(&id).unwrap().push(('U', Some(id + 1 + n)));
        }
    }
    e
}

/// The `alltypes` row as the `default` format writes it.
pub fn alltypes_default_row() -> Value {
    json!({
        "id": 1, "ti": -128, "tiu": 255, "si": -32768, "mi": 16777215, "i": -2147483648_i64,
        "bi": i64::MIN, "biu": u64::MAX, "dec1": "-12.3400", "dec0": "0.00",
        "f": 1.1, "d": 1234.5678901234, "dt": "2026-11-23", "dz": null, "tm": "-12:34:56.500",
        "dtm0": "2026-11-23T12:34:56", "dtm6": "2026-11-23T12:34:56.123456",
        "ts3": "2026-11-23T12:34:56.120Z", "tsz": null, "y": 2026, "y0": 0,
        "c": "ab", "vc": "héllo 😀", "lat": "€uro", "tx": "text",
        "bin": "AQIAAA==", "vb": "/wA=", "bl": "AAEC", "e": "medium", "st": "a,c", "st0": "",
        "b1": 1, "b10": 513, "j": {"a": [1, 2]}, "n": null
    })
}

/// Inserts, updates (one of the key), deletes and a transaction on `items`; one row of every
/// column type in `alltypes`.
pub fn workload(sql: &mut Sql, db: &str) {
    sql.exec(&format!(
        "INSERT INTO {db}.items VALUES {}",
        (1..=20).map(|i| format!("({i}, 'item {i}', {i})")).collect::<Vec<_>>().join(",")
    ));
    sql.exec(&format!(
        "BEGIN; UPDATE {db}.items SET qty = qty + 1 WHERE id <= 5; DELETE FROM {db}.items WHERE id = 20;
         INSERT INTO {db}.items VALUES (21, 'item 21', 21); COMMIT"
    ));
    sql.exec(&format!("UPDATE {db}.items SET id = 100 WHERE id = 1"));
    sql.exec(&format!("UPDATE {db}.items SET name = 'moved' WHERE id = 100"));
    for _ in 1..=10 {
        sql.exec(&format!("UPDATE {db}.items SET qty = qty + 1 WHERE id BETWEEN 2 AND 4"));
    }
    sql.exec("SET SESSION sql_mode = '', time_zone = '+00:00'");
    sql.exec(&format!(
        "INSERT INTO {db}.alltypes VALUES (1, -128, 255, -32768, 16777215, -2147483648,
         -9223372036854775808, 18446744073709551615, -12.34, 0, 1.1, 1234.5678901234,
         '2026-11-23', '0000-00-00', '-12:34:56.5', '2026-11-23 12:34:56', '2026-11-23 12:34:56.123456',
         '2026-11-23 12:34:56.120', '0000-00-00 00:00:00', 2026, 0, 'ab', 'héllo 😀', '€uro', 'text',
         0x0102, 0xff00, 0x000102, 'medium', 'c,a', '', b'1', b'1000000001', '{{\"a\": [1, 2]}}', NULL)"
    ));
}
