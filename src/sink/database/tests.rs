use super::sql;
use crate::model::{Column, ColumnKind, TableName, TableSchema, Value};
use mysql_async::Value as Param;

fn orders() -> TableSchema {
    TableSchema {
        name: TableName::new("shop", "orders"),
        columns: vec![
            Column::new("id", ColumnKind::BigInt),
            Column::new("shard", ColumnKind::Int),
            Column::new("note", ColumnKind::Text),
            Column::new("at", ColumnKind::Timestamp { fsp: 3 }),
        ],
        primary_key: vec![0, 1],
    }
}

#[test]
fn created_tables_keep_the_key_and_widen_text() {
    assert_eq!(
        sql::create_table(&orders()),
        "CREATE TABLE IF NOT EXISTS `shop`.`orders` (\n  `id` bigint(20) NOT NULL,\n  `shard` int(11) NOT NULL,\n  `note` longtext,\n  `at` timestamp(3) NULL,\n  PRIMARY KEY (`id`, `shard`)\n) DEFAULT CHARSET=utf8mb4"
    );
}

#[test]
fn upserts_set_every_column_outside_the_key() {
    assert_eq!(
        sql::upsert(&orders(), 2),
        "INSERT INTO `shop`.`orders` (`id`,`shard`,`note`,`at`) VALUES (?,?,?,?),(?,?,?,?) ON DUPLICATE KEY UPDATE `note`=VALUES(`note`),`at`=VALUES(`at`)"
    );
    let mut key_only = orders();
    key_only.columns.truncate(2);
    assert!(sql::upsert(&key_only, 1).ends_with("ON DUPLICATE KEY UPDATE `id`=`id`"));
}

#[test]
fn deletes_go_by_key_single_or_composite() {
    assert_eq!(
        sql::delete(&orders(), 2),
        "DELETE FROM `shop`.`orders` WHERE (`id`,`shard`) IN ((?,?),(?,?))"
    );
    let mut single = orders();
    single.primary_key = vec![0];
    assert_eq!(sql::delete(&single, 3), "DELETE FROM `shop`.`orders` WHERE `id` IN (?,?,?)");
}

#[test]
fn rows_split_into_few_statement_sizes() {
    assert_eq!(sql::chunks(600, 256), vec![256, 256, 64, 16, 8]);
    assert_eq!(sql::chunks(3, 256), vec![2, 1]);
    assert_eq!(sql::chunks(0, 256), Vec::<usize>::new());
    // A wide table: fewer rows a statement, a power of two.
    assert_eq!(sql::rows_per_statement(1000), 60);
    assert_eq!(sql::chunks(100, 60), vec![32, 32, 32, 4]);
    assert_eq!(sql::ident("a`b"), "`a``b`");
}

#[test]
fn values_become_parameters_of_their_column() {
    let ts = Column::new("at", ColumnKind::Timestamp { fsp: 0 });
    // 2024-02-29 23:59:59 UTC.
    assert_eq!(
        sql::param(&ts, &Value::Timestamp { secs: 1_709_251_199, micros: 5 }),
        Param::Date(2024, 2, 29, 23, 59, 59, 5)
    );
    assert_eq!(sql::param(&ts, &Value::Timestamp { secs: 0, micros: 0 }), Param::Date(0, 0, 0, 0, 0, 0, 0));
    let time = Column::new("t", ColumnKind::Time { fsp: 0 });
    let v = Value::Time { negative: true, hours: 838, minutes: 59, seconds: 58, micros: 0 };
    assert_eq!(sql::param(&time, &v), Param::Time(true, 34, 22, 59, 58, 0));
    let e = Column::new("e", ColumnKind::Enum { labels: vec!["a".into(), "b".into()] });
    assert_eq!(sql::param(&e, &Value::Enum(2)), Param::Bytes(b"b".to_vec()));
    assert_eq!(sql::param(&e, &Value::Enum(0)), Param::Bytes(Vec::new()));
    let s = Column::new("s", ColumnKind::Set { labels: vec!["x".into(), "y".into(), "z".into()] });
    assert_eq!(sql::param(&s, &Value::Set(0b101)), Param::Bytes(b"x,z".to_vec()));
    let d = Column::new("d", ColumnKind::Decimal { precision: 5, scale: 2 });
    assert_eq!(sql::param(&d, &Value::Decimal("-1.50".into())), Param::Bytes(b"-1.50".to_vec()));
    assert_eq!(sql::param(&d, &Value::Null), Param::NULL);
}
