//! A table's existing rows, for a full sync: read in pages of its key's order (keyset
//! pagination, `statement::page`: one statement a page, no lock
//! and no transaction left open), each row decoded into the [`Value`]s the binlog decoder gives
//! for the same row, so a copied row and a change of it encode alike.
//!
//! Invariants:
//! - Pages come in key order and never overlap: the next page starts after the last key read.
//! - The session reads in UTC (`time_zone = '+00:00'`), so a TIMESTAMP is the instant stored.
//! - A value that does not fit its column's kind (a schema that changed under the read) is an
//!   error naming the column, never a guess.

use super::conn::{self, connect_caching, query_error};
use super::statement;
use super::{MysqlConfig, SourceError};
use crate::codec::time::Civil;
use crate::model::{Column, ColumnKind, Position, TableName, TableSchema, Value};
use mysql_async::prelude::Queryable as _;
use mysql_async::Value as MyValue;

/// A connection reading table pages.
pub struct PageReader {
    conn: mysql_async::Conn,
}

impl PageReader {
    pub async fn open(cfg: &MysqlConfig) -> Result<PageReader, SourceError> {
        let mut conn = connect_caching(cfg, 8).await?;
        conn.query_drop("SET time_zone = '+00:00'").await.map_err(query_error)?;
        Ok(PageReader { conn })
    }

    /// Up to `limit` rows of `schema`'s table after key `after` (from the first without), in
    /// the order of `schema.primary_key` (set it to [`PageReader::key`]'s answer).
    pub async fn page(
        &mut self,
        schema: &TableSchema,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>, SourceError> {
        let columns: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        let key: Vec<&str> = schema.primary_key_names().collect();
        let statement = statement::page(&schema.name, &columns, &key, after.is_some(), limit);
        let params = after
            .map(|k| statement::page_params(&k.iter().map(param).collect::<Vec<_>>()))
            .unwrap_or_default();
        let rows: Vec<mysql_async::Row> = self.conn.exec(statement, params).await.map_err(query_error)?;
        rows.into_iter()
            .map(|row| {
                let values = row.unwrap();
                schema
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(column, v)| {
                        cell(column, v).map_err(|reason| SourceError::Table {
                            table: schema.name.to_string(),
                            reason: format!("column {}: {reason}", column.name),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// [`PageReader::page`] in a consistent snapshot (MariaDB's `START TRANSACTION WITH
    /// CONSISTENT SNAPSHOT`, no lock), with the binlog position it is consistent with: the page
    /// holds every change logged before it and none logged at or after it.
    pub async fn page_at(
        &mut self,
        schema: &TableSchema,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<(Position, Vec<Vec<Value>>), SourceError> {
        self.conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT").await.map_err(query_error)?;
        let read = async {
            let status: Vec<(String, String)> =
                self.conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'").await.map_err(query_error)?;
            let value = |name: &str| status.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
            let (Some(file), Some(pos)) = (value("Binlog_snapshot_file"), value("Binlog_snapshot_position")) else {
                return Err(SourceError::Unsupported(
                    "the server gives no binlog_snapshot_file/position (MariaDB does): a full sync needs them".into(),
                ));
            };
            let pos = pos.parse().map_err(|_| SourceError::Unsupported(format!("binlog_snapshot_position {pos:?}")))?;
            // The definition in force now (not versioned: a change before the snapshot shows):
            // a page is only read with the columns the snapshot has.
            let columns: Vec<String> = self
                .conn
                .exec(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     ORDER BY ORDINAL_POSITION",
                    (&schema.name.database, &schema.name.table),
                )
                .await
                .map_err(query_error)?;
            let changed = || SourceError::DefinitionChanged { table: schema.name.to_string() };
            if !columns.iter().map(String::as_str).eq(schema.columns.iter().map(|c| c.name.as_str())) {
                return Err(changed());
            }
            let rows = match self.page(schema, after, limit).await {
                // ER_TABLE_DEF_CHANGED: altered after the snapshot began.
                Err(SourceError::Server { code: 1412, .. }) => return Err(changed()),
                read => read?,
            };
            Ok((Position { file, pos, gtid: None }, rows))
        }
        .await;
        let ended = self.conn.query_drop("COMMIT").await.map_err(query_error);
        let read = read?;
        ended?;
        Ok(read)
    }

    /// The key a full sync reads `schema`'s table in the order of (column indexes): its primary
    /// key, else its first unique key over NOT NULL columns (by name). A table with neither
    /// cannot be copied in key order: refused, naming it.
    pub async fn key(&mut self, schema: &TableSchema) -> Result<Vec<usize>, SourceError> {
        let rows: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM information_schema.STATISTICS s \
                 JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA \
                 AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME \
                 WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 \
                 ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
                (&schema.name.database, &schema.name.table),
            )
            .await
            .map_err(query_error)?;
        let mut keys: Vec<(String, Vec<(String, bool)>)> = Vec::new();
        for (index, column, nullable) in rows {
            if keys.last().is_none_or(|(name, _)| *name != index) {
                keys.push((index.clone(), Vec::new()));
            }
            keys.last_mut().expect("pushed").1.push((column, nullable.eq_ignore_ascii_case("YES")));
        }
        let chosen = keys.iter().find(|(_, columns)| columns.iter().all(|(_, nullable)| !nullable));
        let Some((_, columns)) = chosen else {
            return Err(SourceError::Table {
                table: schema.name.to_string(),
                reason: "it has no primary key and no unique key over NOT NULL columns, so a full sync \
                         cannot copy it in key order: add one, or sync it incrementally only"
                    .into(),
            });
        };
        columns
            .iter()
            .map(|(name, _)| {
                schema.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
                    SourceError::Table {
                        table: schema.name.to_string(),
                        reason: format!("its key column {name} is not in the schema read"),
                    }
                })
            })
            .collect()
    }

    /// `table` exists (a base table or a view).
    pub async fn exists(&mut self, table: &TableName) -> Result<bool, SourceError> {
        let found: Option<u8> = self
            .conn
            .exec_first(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&table.database, &table.table),
            )
            .await
            .map_err(query_error)?;
        Ok(found.is_some())
    }

    /// The server's estimate of the rows `table` holds (InnoDB's statistics; 0 without one).
    pub async fn estimate(&mut self, table: &TableName) -> Result<u64, SourceError> {
        let rows: Option<Option<u64>> = self
            .conn
            .exec_first(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&table.database, &table.table),
            )
            .await
            .map_err(query_error)?;
        Ok(rows.flatten().unwrap_or(0))
    }

    pub async fn close(self) {
        conn::close(self.conn).await;
    }
}

/// A key value as a statement parameter (the binary protocol's form of it).
fn param(v: &Value) -> MyValue {
    match v {
        Value::Null => MyValue::NULL,
        Value::Int(i) => MyValue::Int(*i),
        Value::UInt(u) | Value::Set(u) | Value::Bit(u) => MyValue::UInt(*u),
        Value::Float(f) => MyValue::Float(*f),
        Value::Double(d) => MyValue::Double(*d),
        Value::Decimal(text) | Value::Text(text) | Value::Json(text) => {
            MyValue::Bytes(text.clone().into_bytes())
        }
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        Value::Date { year, month, day } => MyValue::Date(*year, *month, *day, 0, 0, 0, 0),
        Value::DateTime { year, month, day, hour, minute, second, micros } => {
            MyValue::Date(*year, *month, *day, *hour, *minute, *second, *micros)
        }
        Value::Timestamp { secs, micros } => {
            let c = Civil::from_unix(*secs);
            MyValue::Date(
                c.year as u16,
                c.month as u8,
                c.day as u8,
                c.hour as u8,
                c.minute as u8,
                c.second as u8,
                *micros,
            )
        }
        Value::Time { negative, hours, minutes, seconds, micros } => {
            MyValue::Time(*negative, u32::from(*hours) / 24, (*hours % 24) as u8, *minutes, *seconds, *micros)
        }
        Value::Year(y) => MyValue::UInt(u64::from(*y)),
        Value::Enum(i) => MyValue::UInt(u64::from(*i)),
    }
}

/// One value of `column` as a SELECT (binary protocol, UTC session) returns it, as the binlog
/// decoder would give it.
pub fn cell(column: &Column, v: MyValue) -> Result<Value, String> {
    use ColumnKind as K;
    if let MyValue::NULL = v {
        return Ok(Value::Null);
    }
    let text = |b: Vec<u8>| String::from_utf8(b).map_err(|e| format!("not UTF-8: {e}"));
    Ok(match (&column.kind, v) {
        (K::TinyInt | K::SmallInt | K::MediumInt | K::Int | K::BigInt, MyValue::Int(i)) => {
            match column.unsigned {
                true => Value::UInt(i as u64),
                false => Value::Int(i),
            }
        }
        (K::TinyInt | K::SmallInt | K::MediumInt | K::Int | K::BigInt, MyValue::UInt(u)) => {
            match column.unsigned {
                true => Value::UInt(u),
                false => Value::Int(u as i64),
            }
        }
        (K::Float, MyValue::Float(f)) => Value::Float(f),
        (K::Float, MyValue::Double(d)) => Value::Float(d as f32),
        (K::Double, MyValue::Double(d)) => Value::Double(d),
        (K::Double, MyValue::Float(f)) => Value::Double(f64::from(f)),
        (K::Decimal { scale, .. }, MyValue::Bytes(b)) => {
            Value::Decimal(super::decode::normalize_decimal(b, *scale as usize)?)
        }
        (K::Date, MyValue::Date(year, month, day, ..)) => Value::Date { year, month, day },
        (K::DateTime { .. }, MyValue::Date(year, month, day, hour, minute, second, micros)) => {
            Value::DateTime { year, month, day, hour, minute, second, micros }
        }
        (K::Timestamp { .. }, MyValue::Date(year, month, day, hour, minute, second, micros)) => {
            if year == 0 && month == 0 && day == 0 {
                // The zero timestamp.
                Value::Timestamp { secs: 0, micros: 0 }
            } else {
                let secs = Civil::of(year, month, day, hour, minute, second).to_unix();
                Value::Timestamp { secs, micros }
            }
        }
        (K::Time { .. }, MyValue::Time(negative, days, hours, minutes, seconds, micros)) => {
            Value::Time { negative, hours: (days * 24 + u32::from(hours)) as u16, minutes, seconds, micros }
        }
        (K::Year, MyValue::Int(y)) => Value::Year(y as u16),
        (K::Year, MyValue::UInt(y)) => Value::Year(y as u16),
        (K::Char { .. } | K::VarChar { .. } | K::Text, MyValue::Bytes(b)) => Value::Text(text(b)?),
        (K::Binary { len }, MyValue::Bytes(mut b)) => {
            if b.len() < *len as usize {
                b.resize(*len as usize, 0);
            }
            Value::Bytes(b)
        }
        (K::VarBinary { .. } | K::Blob | K::Other { .. }, MyValue::Bytes(b)) => Value::Bytes(b),
        (K::Enum { labels }, MyValue::Bytes(b)) => {
            let label = text(b)?;
            match label.is_empty() {
                // The error value '' is index 0.
                true => Value::Enum(0),
                false => match labels.iter().position(|l| *l == label) {
                    Some(i) => Value::Enum(i as u16 + 1),
                    None => return Err(format!("ENUM value {label:?} is not one of its labels")),
                },
            }
        }
        (K::Set { labels }, MyValue::Bytes(b)) => {
            let text = text(b)?;
            let mut bits = 0u64;
            for label in text.split(',').filter(|l| !l.is_empty()) {
                match labels.iter().position(|l| l == label) {
                    Some(i) => bits |= 1 << i,
                    None => return Err(format!("SET value {label:?} is not one of its labels")),
                }
            }
            Value::Set(bits)
        }
        (K::Bit { .. }, MyValue::Bytes(b)) => {
            Value::Bit(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
        }
        (K::Bit { .. }, MyValue::UInt(u)) => Value::Bit(u),
        (K::Bit { .. }, MyValue::Int(i)) => Value::Bit(i as u64),
        (K::Json, MyValue::Bytes(b)) => Value::Json(text(b)?),
        (kind, v) => return Err(format!("{v:?} does not fit a {kind:?} column")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_out_as_the_binlog_decoder_gives_them() {
        let col = |kind| Column::new("c", kind);
        let enum_col = col(ColumnKind::Enum { labels: vec!["small".into(), "medium".into()] });
        assert_eq!(cell(&enum_col, MyValue::Bytes(b"medium".to_vec())), Ok(Value::Enum(2)));
        assert_eq!(cell(&enum_col, MyValue::Bytes(vec![])), Ok(Value::Enum(0)));
        assert!(cell(&enum_col, MyValue::Bytes(b"large".to_vec())).is_err());
        let set_col = col(ColumnKind::Set { labels: vec!["a".into(), "b".into(), "c".into()] });
        assert_eq!(cell(&set_col, MyValue::Bytes(b"a,c".to_vec())), Ok(Value::Set(0b101)));
        assert_eq!(cell(&set_col, MyValue::Bytes(vec![])), Ok(Value::Set(0)));
        let bit = col(ColumnKind::Bit { bits: 10 });
        assert_eq!(cell(&bit, MyValue::Bytes(vec![0x02, 0x01])), Ok(Value::Bit(513)));
        let ts = col(ColumnKind::Timestamp { fsp: 3 });
        assert_eq!(
            cell(&ts, MyValue::Date(2026, 11, 23, 12, 34, 56, 120_000)),
            Ok(Value::Timestamp { secs: 1_795_437_296, micros: 120_000 })
        );
        assert_eq!(
            cell(&ts, MyValue::Date(0, 0, 0, 0, 0, 0, 0)),
            Ok(Value::Timestamp { secs: 0, micros: 0 })
        );
        assert_eq!(
            param(&Value::Timestamp { secs: 1_795_437_296, micros: 5 }),
            MyValue::Date(2026, 11, 23, 12, 34, 56, 5)
        );
        let bin = col(ColumnKind::Binary { len: 4 });
        assert_eq!(cell(&bin, MyValue::Bytes(vec![1, 2])), Ok(Value::Bytes(vec![1, 2, 0, 0])));
        let unsigned = col(ColumnKind::BigInt).unsigned();
        assert_eq!(cell(&unsigned, MyValue::UInt(u64::MAX)), Ok(Value::UInt(u64::MAX)));
        let dec = col(ColumnKind::Decimal { precision: 10, scale: 4 });
        assert_eq!(cell(&dec, MyValue::Bytes(b"-12.3400".to_vec())), Ok(Value::Decimal("-12.3400".into())));
        let time = col(ColumnKind::Time { fsp: 1 });
        assert_eq!(
            cell(&time, MyValue::Time(true, 1, 2, 3, 4, 500_000)),
            Ok(Value::Time { negative: true, hours: 26, minutes: 3, seconds: 4, micros: 500_000 })
        );
        assert!(cell(&col(ColumnKind::Int), MyValue::Bytes(b"x".to_vec())).is_err());
    }
}
