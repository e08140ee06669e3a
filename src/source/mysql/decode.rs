//! Binlog values -> [`Value`]: one [`Conv`] per column, chosen once per table map, then applied
//! to every value of that column without looking at the schema again.
//!
//! Invariants (see docs/FORMATS.md and the NOTES on MariaDB):
//! - a value decodes the same way whether the table map carried `binlog_row_metadata=FULL` or
//!   not: integers of UNSIGNED columns become [`Value::UInt`] even when the server did not log
//!   signedness (the driver then hands out the signed reading of the same bits), signed ones
//!   are sign-extended from their width (the driver does not for MEDIUMINT);
//! - DECIMAL text has exactly `scale` decimals; YEAR 0 stays 0; zero dates stay as stored;
//! - text is converted to UTF-8 from the column's charset (MySQL `latin1` is cp1252);
//! - BINARY(n) is re-padded with zero bytes to n (the binlog drops them);
//! - TIME2 is decoded here from its bytes: mysql_common 0.37 gets negative TIME(1)/TIME(2)
//!   values with a fraction wrong.

use super::schema::TableDef;
use crate::model::{RowImage, Value};
use mysql_async::binlog::events::RowsEventData;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as MyValue;
use mysql_common::io::ParseBuf;

/// How a column's text bytes become UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    /// utf8mb4, utf8mb3, ascii.
    Utf8,
    /// MySQL/MariaDB `latin1`, which is Windows-1252.
    Cp1252,
    /// 4-byte big-endian code points (`utf32`); not in the WHATWG set.
    Utf32,
    Other(&'static encoding_rs::Encoding),
}

/// What a charset (by its MySQL name) decodes as; `None` for `binary`.
pub(crate) fn text_encoding(charset: &str) -> Option<TextEncoding> {
    let cs = charset.to_ascii_lowercase();
    let label = match cs.as_str() {
        "binary" => return None,
        "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => return Some(TextEncoding::Utf8),
        "latin1" => return Some(TextEncoding::Cp1252),
        "utf32" => return Some(TextEncoding::Utf32),
        "ucs2" | "utf16" => "utf-16be",
        "utf16le" => "utf-16le",
        "sjis" | "cp932" => "shift_jis",
        "ujis" | "eucjpms" => "euc-jp",
        "euckr" => "euc-kr",
        "gb2312" | "gbk" => "gbk",
        "gb18030" => "gb18030",
        "big5" => "big5",
        "latin2" => "iso-8859-2",
        "latin5" => "iso-8859-9",
        "latin7" => "iso-8859-13",
        "greek" => "iso-8859-7",
        "hebrew" => "iso-8859-8",
        "koi8r" => "koi8-r",
        "koi8u" => "koi8-u",
        "cp866" => "ibm866",
        "macroman" => "macintosh",
        "tis620" => "windows-874",
        "cp1250" | "cp1251" | "cp1256" | "cp1257" => {
            let enc = encoding_rs::Encoding::for_label(format!("windows-{}", &cs[2..]).as_bytes());
            return Some(enc.map(TextEncoding::Other).unwrap_or(TextEncoding::Cp1252));
        }
        // Rare single-byte sets (dec8, hp8, swe7, keybcs2, cp850, cp852, armscii8, geostd8,
        // macce): read as cp1252 rather than failing; ASCII, the bulk of such data, is exact.
        _ => return Some(TextEncoding::Cp1252),
    };
    encoding_rs::Encoding::for_label(label.as_bytes()).map(TextEncoding::Other)
}

/// Windows-1252 code points for bytes 0x80..=0x9F; the other bytes are their ISO-8859-1 selves.
/// Undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 controls, as MySQL does.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn cp1252_to_string(bytes: Vec<u8>) -> String {
    if bytes.is_ascii() {
        // ASCII is UTF-8: keep the buffer.
        return String::from_utf8(bytes).unwrap_or_default();
    }
    let mut s = String::with_capacity(bytes.len() + bytes.len() / 2);
    for &b in &bytes {
        match b {
            0x80..=0x9F => s.push(CP1252_HIGH[(b - 0x80) as usize]),
            _ => s.push(b as char),
        }
    }
    s
}

pub(crate) fn decode_text(enc: TextEncoding, bytes: Vec<u8>) -> String {
    match enc {
        TextEncoding::Utf8 => match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
        TextEncoding::Cp1252 => cp1252_to_string(bytes),
        TextEncoding::Utf32 => bytes
            .chunks(4)
            .map(|c| {
                let mut cp = 0u32;
                for &b in c {
                    cp = (cp << 8) | b as u32;
                }
                char::from_u32(cp).unwrap_or('\u{FFFD}')
            })
            .collect(),
        TextEncoding::Other(enc) => enc.decode_without_bom_handling(&bytes).0.into_owned(),
    }
}

/// The conversion of one column's binlog values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Conv {
    /// TINYINT..BIGINT; `bits` is the column width, to reinterpret an unsigned value the
    /// driver decoded as signed.
    Int {
        bits: u8,
        unsigned: bool,
    },
    Float,
    Double,
    Decimal {
        scale: u8,
    },
    Date,
    DateTime,
    Timestamp,
    /// TIME2: decoded from bytes by [`read_time2`], never through the driver.
    Time2 {
        fsp: u8,
    },
    /// Old-format TIME (no fraction), decoded by the driver.
    Time,
    Year,
    Text(TextEncoding),
    Bytes,
    /// BINARY(n): re-pad to n bytes.
    Binary {
        len: u32,
    },
    Enum,
    Set,
    Bit,
    /// JSON: MariaDB's LONGTEXT text, or MySQL's binary JSON.
    Json,
}

/// Converts one non-NULL binlog value of a column. `Err` describes a value that does not fit
/// the column (a schema that does not match the binlog).
pub(crate) fn convert(conv: &Conv, v: BinlogValue<'_>) -> Result<Value, String> {
    let v = match v {
        BinlogValue::Value(v) => v,
        BinlogValue::Jsonb(j) => {
            return match conv {
                Conv::Json => serde_json::Value::try_from(j)
                    .map(|j| Value::Json(j.to_string()))
                    .map_err(|e| format!("binary JSON: {e}")),
                _ => Err("binary JSON in a non-JSON column".into()),
            };
        }
        BinlogValue::JsonDiff(_) => {
            return Err("partial JSON update (binlog_row_value_options=PARTIAL_JSON) is not \
                        supported"
                .into())
        }
    };
    if let MyValue::NULL = v {
        return Ok(Value::Null);
    }
    Ok(match (conv, v) {
        (Conv::Int { bits, unsigned }, MyValue::Int(i)) => {
            if *bits >= 64 {
                if *unsigned {
                    Value::UInt(i as u64)
                } else {
                    Value::Int(i)
                }
            } else if *unsigned {
                Value::UInt(i as u64 & ((1u64 << bits) - 1))
            } else {
                // Sign-extend from the column width: mysql_common 0.37 reads MEDIUMINT
                // without extending its sign (-1 arrives as 16777215).
                let shift = 64 - *bits as u32;
                Value::Int((i << shift) >> shift)
            }
        }
        (Conv::Int { unsigned: true, .. }, MyValue::UInt(u)) => Value::UInt(u),
        (Conv::Int { unsigned: false, .. }, MyValue::UInt(u)) => Value::Int(u as i64),
        (Conv::Float, MyValue::Float(f)) => Value::Float(f),
        (Conv::Float, MyValue::Double(d)) => Value::Float(d as f32),
        (Conv::Double, MyValue::Double(d)) => Value::Double(d),
        (Conv::Double, MyValue::Float(f)) => Value::Double(f as f64),
        (Conv::Decimal { scale }, MyValue::Bytes(b)) => {
            Value::Decimal(normalize_decimal(b, *scale as usize)?)
        }
        (Conv::Date, MyValue::Date(year, month, day, ..)) => Value::Date { year, month, day },
        (Conv::DateTime, MyValue::Date(year, month, day, hour, minute, second, micros)) => {
            Value::DateTime { year, month, day, hour, minute, second, micros }
        }
        (Conv::Timestamp, MyValue::Bytes(b)) => parse_timestamp(&b)?,
        (Conv::Timestamp, MyValue::Int(secs)) => Value::Timestamp { secs, micros: 0 },
        (Conv::Time, MyValue::Time(negative, days, h, minutes, seconds, micros)) => {
            Value::Time { negative, hours: (days * 24 + h as u32) as u16, minutes, seconds, micros }
        }
        (Conv::Year, MyValue::Bytes(b)) => {
            // The driver writes 1900 + the stored byte; the byte 0 is the year 0000.
            let y: u16 = std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("YEAR {:?}", String::from_utf8_lossy(&b)))?;
            Value::Year(if y == 1900 { 0 } else { y })
        }
        (Conv::Year, MyValue::Int(y)) => Value::Year(if y == 1900 { 0 } else { y as u16 }),
        (Conv::Text(enc), MyValue::Bytes(b)) => Value::Text(decode_text(*enc, b)),
        (Conv::Bytes, MyValue::Bytes(b)) => Value::Bytes(b),
        (Conv::Binary { len }, MyValue::Bytes(mut b)) => {
            if b.len() < *len as usize {
                b.resize(*len as usize, 0);
            }
            Value::Bytes(b)
        }
        (Conv::Enum, MyValue::Int(i)) => Value::Enum(i as u16),
        (Conv::Set, MyValue::Bytes(b)) => {
            // Little-endian bitmask, 1..8 bytes.
            Value::Set(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
        }
        (Conv::Bit, MyValue::Bytes(b)) => {
            // Big-endian, (bits + 7) / 8 bytes.
            Value::Bit(b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
        }
        (Conv::Json, MyValue::Bytes(b)) => Value::Json(decode_text(TextEncoding::Utf8, b)),
        (conv, v) => return Err(format!("{v:?} does not fit a {conv:?} column")),
    })
}

/// DECIMAL text with exactly `scale` decimals and a leading digit: `-12.3400`, `0.50`, `0`.
/// mysql_common already writes this form; anything else (`0E-30`, `.5`, `-0`) is rewritten.
pub(crate) fn normalize_decimal(bytes: Vec<u8>, scale: usize) -> Result<String, String> {
    if is_canonical_decimal(&bytes, scale) {
        return String::from_utf8(bytes).map_err(|e| e.to_string());
    }
    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    rewrite_decimal(&text, scale).ok_or_else(|| format!("DECIMAL {text:?}"))
}

fn is_canonical_decimal(b: &[u8], scale: usize) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(p) => (&digits[..p], Some(&digits[p + 1..])),
        None => (digits, None),
    };
    let int_ok = !int.is_empty() && int.iter().all(u8::is_ascii_digit) && (int.len() == 1 || int[0] != b'0');
    let frac_ok = match frac {
        None => scale == 0,
        Some(f) => f.len() == scale && scale > 0 && f.iter().all(u8::is_ascii_digit),
    };
    // "-0" or "-0.00" is a negative zero: not canonical.
    let neg_zero = b.first() == Some(&b'-') && digits.iter().all(|&c| c == b'0' || c == b'.');
    int_ok && frac_ok && !neg_zero
}

/// Rewrites any decimal text (sign, digits, point, exponent) to the canonical form.
fn rewrite_decimal(text: &str, scale: usize) -> Option<String> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(p) => (&t[..p], t[p + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, ""),
    };
    if !(int.bytes().all(|c| c.is_ascii_digit()) && frac.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // All digits, and where the point goes in them.
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let mut point = int.len() as i64 + exp;
    if point < 0 {
        let pad = (-point) as usize;
        digits.splice(0..0, std::iter::repeat_n(b'0', pad));
        point = 0;
    }
    let point = point as usize;
    if digits.len() < point + scale {
        digits.resize(point + scale, b'0');
    }
    // Truncate digits beyond the scale (they can only be zeros for a valid DECIMAL(p,s)).
    digits.truncate(point + scale);
    let int_digits = &digits[..point];
    let frac_digits = &digits[point..];
    let int_trimmed = {
        let first = int_digits.iter().position(|&c| c != b'0').unwrap_or(int_digits.len());
        &int_digits[first..]
    };
    let is_zero = int_trimmed.is_empty() && frac_digits.iter().all(|&c| c == b'0');
    let mut out = String::with_capacity(digits.len() + 3);
    if neg && !is_zero {
        out.push('-');
    }
    if int_trimmed.is_empty() {
        out.push('0');
    } else {
        out.push_str(std::str::from_utf8(int_trimmed).ok()?);
    }
    if scale > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(frac_digits).ok()?);
    }
    Some(out)
}

/// `"secs"` or `"secs.micros"` (the driver's rendering of TIMESTAMP2).
fn parse_timestamp(b: &[u8]) -> Result<Value, String> {
    let bad = || format!("TIMESTAMP {:?}", String::from_utf8_lossy(b));
    let s = std::str::from_utf8(b).map_err(|_| bad())?;
    let (secs, frac) = match s.split_once('.') {
        Some((a, f)) => (a, f),
        None => (s, ""),
    };
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let micros = if frac.is_empty() {
        0
    } else {
        // Right-pad to 6 digits: ".5" is 500000 µs.
        let mut m: u32 = frac.parse().map_err(|_| bad())?;
        for _ in frac.len()..6 {
            m *= 10;
        }
        m
    };
    Ok(Value::Timestamp { secs, micros })
}

/// Bytes a TIME2 value of this fsp takes in a row image.
pub(crate) fn time2_len(fsp: u8) -> usize {
    3 + (fsp as usize).div_ceil(2)
}

/// Decodes a TIME2 value (MySQL 5.6 format, also MariaDB's default) from the start of `b`.
/// Mirrors `my_time_packed_from_binary` + `TIME_from_longlong_time_packed` in the server, with
/// the signed arithmetic the server uses.
pub(crate) fn read_time2(b: &[u8], fsp: u8) -> Option<Value> {
    const TIMEF_INT_OFS: i64 = 0x80_0000;
    const TIMEF_OFS: i64 = 0x8000_0000_0000;
    let b = b.get(..time2_len(fsp))?;
    let int24 = ((b[0] as i64) << 16 | (b[1] as i64) << 8 | b[2] as i64) - TIMEF_INT_OFS;
    let packed: i64 = match fsp {
        1 | 2 => {
            let (mut int_part, mut frac) = (int24, b[3] as i64);
            if int_part < 0 && frac > 0 {
                int_part += 1;
                frac -= 0x100;
            }
            (int_part << 24) + frac * 10_000
        }
        3 | 4 => {
            let (mut int_part, mut frac) = (int24, (b[3] as i64) << 8 | b[4] as i64);
            if int_part < 0 && frac > 0 {
                int_part += 1;
                frac -= 0x1_0000;
            }
            (int_part << 24) + frac * 100
        }
        5 | 6 => {
            let raw = b.iter().take(6).fold(0i64, |acc, &x| (acc << 8) | x as i64);
            raw - TIMEF_OFS
        }
        _ => int24 << 24,
    };
    let negative = packed < 0;
    let abs = packed.unsigned_abs();
    let hms = abs >> 24;
    Some(Value::Time {
        negative,
        hours: ((hms >> 12) % (1 << 10)) as u16,
        minutes: ((hms >> 6) % (1 << 6)) as u8,
        seconds: (hms % (1 << 6)) as u8,
        micros: (abs % (1 << 24)) as u32,
    })
}

/// Decodes every row of a rows event against its table. With `binlog_row_image=FULL` every
/// image holds every column; anything else is refused rather than guessed.
pub(crate) fn decode_rows(def: &TableDef, ev: &RowsEventData<'_>) -> Result<Vec<RowImage>, String> {
    let n = def.cols.len();
    if n == 0 {
        // Every image would take no bytes: the loop below would never end.
        return Err("a rows event for a table of no columns".into());
    }
    if ev.num_columns() != n as u64 {
        return Err(format!("the rows event has {} columns, the table map {n}", ev.num_columns()));
    }
    let before = ev.columns_before_image().is_some();
    let after = ev.columns_after_image().is_some();
    for bits in [ev.columns_before_image(), ev.columns_after_image()].into_iter().flatten() {
        if bits.count_ones() != n {
            return Err("a row image lacks columns: set binlog_row_image=FULL".into());
        }
    }
    let mut buf = ParseBuf(ev.rows_data());
    let mut rows = Vec::new();
    while !buf.is_empty() {
        let before = if before { Some(decode_image(def, &mut buf)?) } else { None };
        let after = if after { Some(decode_image(def, &mut buf)?) } else { None };
        rows.push(RowImage { before, after });
    }
    Ok(rows)
}

fn decode_image(def: &TableDef, buf: &mut ParseBuf<'_>) -> Result<Vec<Value>, String> {
    let n = def.cols.len();
    let nulls = buf.checked_eat(n.div_ceil(8)).ok_or("truncated row image")?;
    let mut row = Vec::with_capacity(n);
    for (i, col) in def.cols.iter().enumerate() {
        if nulls[i / 8] & (1 << (i % 8)) != 0 {
            row.push(Value::Null);
            continue;
        }
        let value = match col.conv {
            Conv::Time2 { fsp } => {
                let b = buf.checked_eat(time2_len(fsp)).ok_or("truncated TIME value")?;
                read_time2(b, fsp).ok_or("bad TIME value")?
            }
            _ => {
                // The value's context borrows the column's metadata, which lives shorter than
                // the event's bytes: parse from a copy of the cursor, then advance this one.
                let mut local = ParseBuf(buf.0);
                let v: BinlogValue<'_> = local
                    .parse((col.ty, col.meta(), col.unsigned, false))
                    .map_err(|e| format!("column {}: {e}", def.schema.columns[i].name))?;
                let used = buf.len() - local.len();
                buf.skip(used);
                convert(&col.conv, v).map_err(|e| format!("column {}: {e}", def.schema.columns[i].name))?
            }
        };
        row.push(value);
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TableName, TableSchema};
    use mysql_async::binlog::events::{Event, EventData, FormatDescriptionEvent};
    use mysql_async::binlog::BinlogVersion;
    use std::sync::Arc;

    /// A WRITE_ROWS_V1 event (v4, no checksum) whose body after the table id and flags is `tail`.
    fn write_rows(tail: &[u8]) -> Event {
        let mut body = 7u64.to_le_bytes()[..6].to_vec();
        body.extend([1, 0]); // STMT_END
        body.extend(tail);
        let mut ev = 1u32.to_le_bytes().to_vec();
        ev.push(23);
        ev.extend(1u32.to_le_bytes());
        ev.extend(((19 + body.len()) as u32).to_le_bytes());
        ev.extend([0; 6]);
        ev.extend(body);
        Event::read(&FormatDescriptionEvent::new(BinlogVersion::Version4), &ev[..]).unwrap()
    }

    fn no_columns() -> TableDef {
        let schema = TableSchema { name: TableName::new("d", "t"), columns: vec![], primary_key: vec![] };
        TableDef { schema: Arc::new(schema), cols: vec![] }
    }

    #[test]
    fn malformed_rows_events_are_errors_not_hangs_or_panics() {
        // No columns, yet row bytes: each image would take nothing, forever.
        let ev = write_rows(&[0, 1, 2, 3]);
        let Ok(Some(EventData::RowsEvent(rows))) = ev.read_data() else { panic!("a rows event") };
        assert_eq!(rows.num_columns(), 0);
        assert!(decode_rows(&no_columns(), &rows).unwrap_err().contains("no columns"));
        // A column count of 2^64 - 1.
        let mut huge = vec![0xfe];
        huge.extend(u64::MAX.to_le_bytes());
        huge.extend([0xff; 4]);
        let ev = write_rows(&huge);
        // The driver may refuse it, or it reaches the decoder, which must: either way an error.
        if let Ok(Some(EventData::RowsEvent(rows))) = ev.read_data() {
            assert!(decode_rows(&no_columns(), &rows).is_err());
        }
    }

    fn conv(c: Conv, v: MyValue) -> Value {
        convert(&c, BinlogValue::Value(v)).unwrap()
    }

    #[test]
    fn unsigned_integers_decoded_as_signed_are_reinterpreted_by_width() {
        let u = |bits| Conv::Int { bits, unsigned: true };
        assert_eq!(conv(u(8), MyValue::Int(-1)), Value::UInt(255));
        assert_eq!(conv(u(16), MyValue::Int(-1)), Value::UInt(65535));
        assert_eq!(conv(u(24), MyValue::Int(-1)), Value::UInt(16_777_215));
        assert_eq!(conv(u(32), MyValue::Int(-2)), Value::UInt(4_294_967_294));
        assert_eq!(conv(u(64), MyValue::Int(-1)), Value::UInt(u64::MAX));
        assert_eq!(conv(u(64), MyValue::UInt(u64::MAX)), Value::UInt(u64::MAX));
        assert_eq!(conv(u(8), MyValue::Int(7)), Value::UInt(7));
        let s = |bits| Conv::Int { bits, unsigned: false };
        assert_eq!(conv(s(64), MyValue::Int(i64::MIN)), Value::Int(i64::MIN));
        assert_eq!(conv(s(24), MyValue::Int(8_388_608)), Value::Int(-8_388_608));
        assert_eq!(conv(s(24), MyValue::Int(16_777_215)), Value::Int(-1));
        assert_eq!(conv(s(24), MyValue::Int(8_388_607)), Value::Int(8_388_607));
        assert_eq!(conv(s(8), MyValue::Int(-128)), Value::Int(-128));
        assert_eq!(conv(s(32), MyValue::Int(-5)), Value::Int(-5));
    }

    #[test]
    fn decimals_have_exactly_scale_digits() {
        let d = |s: &str, scale| normalize_decimal(s.as_bytes().to_vec(), scale).unwrap();
        assert_eq!(d("-12.3400", 4), "-12.3400");
        assert_eq!(d("0.00", 2), "0.00");
        assert_eq!(d("0", 0), "0");
        assert_eq!(d("0E-30", 30), format!("0.{}", "0".repeat(30)));
        assert_eq!(d(".5", 2), "0.50");
        assert_eq!(d("-.5", 1), "-0.5");
        assert_eq!(d("-0.00", 2), "0.00");
        assert_eq!(d("00012.5", 3), "12.500");
        assert_eq!(d("1.5E+2", 1), "150.0");
        assert_eq!(d("12", 2), "12.00");
        assert!(normalize_decimal(b"abc".to_vec(), 2).is_err());
    }

    #[test]
    fn year_zero_is_zero() {
        assert_eq!(conv(Conv::Year, MyValue::Bytes(b"1900".to_vec())), Value::Year(0));
        assert_eq!(conv(Conv::Year, MyValue::Bytes(b"2155".to_vec())), Value::Year(2155));
        assert_eq!(conv(Conv::Year, MyValue::Bytes(b"1901".to_vec())), Value::Year(1901));
    }

    #[test]
    fn timestamps_parse_with_micros() {
        assert_eq!(
            conv(Conv::Timestamp, MyValue::Bytes(b"1700000000.120000".to_vec())),
            Value::Timestamp { secs: 1_700_000_000, micros: 120_000 }
        );
        assert_eq!(
            conv(Conv::Timestamp, MyValue::Bytes(b"0".to_vec())),
            Value::Timestamp { secs: 0, micros: 0 }
        );
        assert_eq!(
            conv(Conv::Timestamp, MyValue::Bytes(b"5.5".to_vec())),
            Value::Timestamp { secs: 5, micros: 500_000 }
        );
    }

    #[test]
    fn set_is_little_endian_and_bit_big_endian() {
        assert_eq!(conv(Conv::Set, MyValue::Bytes(vec![0x05, 0x01])), Value::Set(0x0105));
        assert_eq!(conv(Conv::Set, MyValue::Bytes(vec![0])), Value::Set(0));
        assert_eq!(conv(Conv::Bit, MyValue::Bytes(vec![0x02, 0x01])), Value::Bit(0x0201));
    }

    #[test]
    fn binary_is_repadded() {
        assert_eq!(conv(Conv::Binary { len: 4 }, MyValue::Bytes(vec![1, 2])), Value::Bytes(vec![1, 2, 0, 0]));
    }

    #[test]
    fn latin1_is_cp1252() {
        assert_eq!(decode_text(TextEncoding::Cp1252, vec![0x80, b'a', 0xE9, 0x8C]), "€aéŒ");
        assert_eq!(decode_text(TextEncoding::Cp1252, vec![0x81]), "\u{81}");
        assert_eq!(text_encoding("latin1"), Some(TextEncoding::Cp1252));
        assert_eq!(text_encoding("binary"), None);
        assert!(matches!(text_encoding("cp1251"), Some(TextEncoding::Other(_))));
        assert!(matches!(text_encoding("gbk"), Some(TextEncoding::Other(_))));
    }

    /// Encodes a TIME2 the way the server does (MariaDB's `my_time_packed_to_binary`).
    fn encode_time2(negative: bool, h: i64, m: i64, s: i64, us: i64, fsp: u8) -> Vec<u8> {
        let hms = (h << 12) | (m << 6) | s;
        let mut packed = (hms << 24) + us;
        if negative {
            packed = -packed;
        }
        let mut out = Vec::new();
        match fsp {
            // The integer part floors (>> 24), the fraction truncates (%), as in C.
            1 | 2 => {
                let v = ((packed >> 24) + 0x80_0000) as u32;
                out.extend_from_slice(&v.to_be_bytes()[1..]);
                out.push(((packed % (1 << 24)) / 10_000) as i8 as u8);
            }
            3 | 4 => {
                let v = ((packed >> 24) + 0x80_0000) as u32;
                out.extend_from_slice(&v.to_be_bytes()[1..]);
                out.extend_from_slice(&(((packed % (1 << 24)) / 100) as i16).to_be_bytes());
            }
            5 | 6 => {
                let v = (packed + 0x8000_0000_0000) as u64;
                out.extend_from_slice(&v.to_be_bytes()[2..]);
            }
            _ => {
                let v = ((packed >> 24) + 0x80_0000) as u32;
                out.extend_from_slice(&v.to_be_bytes()[1..]);
            }
        }
        out
    }

    #[test]
    fn time2_round_trips_negative_fractions() {
        for fsp in 0..=6u8 {
            let unit = 10i64.pow(6 - fsp as u32);
            for &(neg, h, m, s, us) in &[
                (true, 0, 0, 1, 500_000),
                (true, 838, 59, 59, 0),
                (false, 838, 59, 59, 0),
                (true, 12, 34, 56, 120_000),
                (false, 0, 0, 0, 0),
                (true, 0, 0, 0, 10_000),
                (false, 100, 0, 0, 999_999),
            ] {
                let us = us / unit * unit;
                let b = encode_time2(neg, h, m, s, us, fsp);
                assert_eq!(b.len(), time2_len(fsp));
                let negative = neg && (h, m, s, us) != (0, 0, 0, 0);
                assert_eq!(
                    read_time2(&b, fsp).unwrap(),
                    Value::Time {
                        negative,
                        hours: h as u16,
                        minutes: m as u8,
                        seconds: s as u8,
                        micros: us as u32
                    },
                    "fsp {fsp} {neg} {h}:{m}:{s}.{us}"
                );
            }
        }
    }
}
