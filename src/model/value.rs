//! A decoded column value, typed by what the binlog carries. How a value is written out
//! (JSON number, string, base64...) is the codecs' business; labels, fsp and lengths live in
//! the column's [`ColumnKind`](super::ColumnKind).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    /// TINYINT..BIGINT signed, and YEAR is kept as [`Value::Year`].
    Int(i64),
    /// TINYINT..BIGINT UNSIGNED.
    UInt(u64),
    Float(f32),
    Double(f64),
    /// DECIMAL as exact text with exactly `scale` decimals, e.g. `-12.3400`.
    Decimal(String),
    /// DATE; a zero part (`0000-00-00`, `2026-11-00`) is kept as stored.
    Date {
        year: u16,
        month: u8,
        day: u8,
    },
    /// TIME: sign plus magnitude (hours may exceed 24, up to 838).
    Time {
        negative: bool,
        hours: u16,
        minutes: u8,
        seconds: u8,
        micros: u32,
    },
    /// DATETIME, no zone; zero parts kept as stored.
    DateTime {
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        micros: u32,
    },
    /// TIMESTAMP as seconds since the epoch (UTC). `secs == 0 && micros == 0` is the zero timestamp.
    Timestamp {
        secs: i64,
        micros: u32,
    },
    /// YEAR, 0 for 0000.
    Year(u16),
    /// Character data converted to UTF-8 (CHAR without its trailing pad).
    Text(String),
    /// Binary data (BINARY re-padded to its length).
    Bytes(Vec<u8>),
    /// ENUM: 1-based index into the column's labels; 0 is the empty error value.
    Enum(u16),
    /// SET: bit i set means label i is present.
    Set(u64),
    /// BIT(n): the bits as an unsigned integer.
    Bit(u64),
    /// JSON as text.
    Json(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
