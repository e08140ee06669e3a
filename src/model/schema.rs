//! Table schemas as the source knows them when a row event is decoded.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `database.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableName {
    pub database: String,
    pub table: String,
}

impl TableName {
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        Self { database: database.into(), table: table.into() }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// What a column holds, with the parts of its definition that decide how values are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnKind {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Float,
    Double,
    Date,
    Time {
        fsp: u8,
    },
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    Year,
    /// CHAR(n): `len` in characters.
    Char {
        len: u32,
    },
    VarChar {
        len: u32,
    },
    Text,
    /// BINARY(n): `len` in bytes; values are re-padded with zero bytes to it.
    Binary {
        len: u32,
    },
    VarBinary {
        len: u32,
    },
    Blob,
    Enum {
        labels: Vec<String>,
    },
    Set {
        labels: Vec<String>,
    },
    Bit {
        bits: u8,
    },
    Json,
    /// A type Ferry passes through as bytes (GEOMETRY...).
    Other {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    pub unsigned: bool,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> Self {
        Self { name: name.into(), kind, unsigned: false }
    }

    pub fn unsigned(mut self) -> Self {
        self.unsigned = true;
        self
    }

    /// The column's SQL type as `SHOW CREATE TABLE` prints it (Canal's `mysqlType`).
    pub fn sql_type(&self) -> String {
        use ColumnKind::*;
        let unsigned = if self.unsigned { " unsigned" } else { "" };
        match &self.kind {
            TinyInt => format!("tinyint({}){unsigned}", if self.unsigned { 3 } else { 4 }),
            SmallInt => format!("smallint({}){unsigned}", if self.unsigned { 5 } else { 6 }),
            MediumInt => format!("mediumint({}){unsigned}", if self.unsigned { 8 } else { 9 }),
            Int => format!("int({}){unsigned}", if self.unsigned { 10 } else { 11 }),
            BigInt => format!("bigint({}){unsigned}", 20),
            Decimal { precision, scale } => format!("decimal({precision},{scale}){unsigned}"),
            Float => format!("float{unsigned}"),
            Double => format!("double{unsigned}"),
            Date => "date".into(),
            Time { fsp } => with_fsp("time", *fsp),
            DateTime { fsp } => with_fsp("datetime", *fsp),
            Timestamp { fsp } => with_fsp("timestamp", *fsp),
            Year => "year(4)".into(),
            Char { len } => format!("char({len})"),
            VarChar { len } => format!("varchar({len})"),
            Text => "text".into(),
            Binary { len } => format!("binary({len})"),
            VarBinary { len } => format!("varbinary({len})"),
            Blob => "blob".into(),
            Enum { labels } => format!("enum({})", quoted(labels)),
            Set { labels } => format!("set({})", quoted(labels)),
            Bit { bits } => format!("bit({bits})"),
            Json => "json".into(),
            Other { name } => name.clone(),
        }
    }
}

fn with_fsp(name: &str, fsp: u8) -> String {
    if fsp == 0 {
        name.to_string()
    } else {
        format!("{name}({fsp})")
    }
}

fn quoted(labels: &[String]) -> String {
    labels.iter().map(|l| format!("'{}'", l.replace('\'', "''"))).collect::<Vec<_>>().join(",")
}

/// A table's columns in ordinal order and its primary key (indexes into `columns`, key order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    pub name: TableName,
    pub columns: Vec<Column>,
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    pub fn has_primary_key(&self) -> bool {
        !self.primary_key.is_empty()
    }

    pub fn primary_key_names(&self) -> impl Iterator<Item = &str> {
        self.primary_key.iter().map(|&i| self.columns[i].name.as_str())
    }
}
