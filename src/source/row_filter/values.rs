//! Exact comparisons for row filters: numbers (integers as `i128`, decimals digit by digit)
//! and dates and times by their parts.

use std::cmp::Ordering;

/// A numeric literal, kept exactly as canonical digits, with what integer and float columns
/// compare against precomputed.
#[derive(Debug, Clone)]
pub(super) struct Number {
    pub(super) negative: bool,
    /// Integer digits without leading zeros (empty for zero).
    pub(super) int: String,
    /// Fraction digits without trailing zeros (empty for an integer).
    pub(super) frac: String,
    /// The greatest integer not above the number; `None` when it does not fit an `i128`
    /// (then the number lies beyond every 64-bit column value).
    pub(super) floor: Option<i128>,
    /// For FLOAT and DOUBLE columns.
    pub(super) float: f64,
}

impl Number {
    /// `text` must be `[-]digits[.digits]` (the lexer's number shape).
    pub(super) fn parse(text: &str) -> Option<Number> {
        let d = parse_decimal(text)?;
        // At most 38 digits always fit an i128 (its maximum is about 1.7e38).
        let magnitude = if d.int.len() <= 38 {
            if d.int.is_empty() {
                Some(0)
            } else {
                d.int.parse::<i128>().ok()
            }
        } else {
            None
        };
        let floor = magnitude.map(|m| match (d.negative, d.frac.is_empty()) {
            (false, _) => m,
            (true, true) => -m,
            (true, false) => -m - 1,
        });
        let float = format!(
            "{}{}.{}",
            if d.negative { "-" } else { "" },
            if d.int.is_empty() { "0" } else { d.int },
            if d.frac.is_empty() { "0" } else { d.frac }
        )
        .parse::<f64>()
        .unwrap_or(f64::NAN);
        Some(Number { negative: d.negative, int: d.int.to_string(), frac: d.frac.to_string(), floor, float })
    }

    pub(super) fn integer(value: i128) -> Number {
        // The text of an integer is always a valid number.
        Number::parse(&value.to_string()).unwrap_or(Number {
            negative: false,
            int: String::new(),
            frac: String::new(),
            floor: Some(0),
            float: 0.0,
        })
    }

    pub(super) fn digits(&self) -> Decimal<'_> {
        Decimal { negative: self.negative, int: &self.int, frac: &self.frac }
    }

    /// How the integer `v` orders against this number, exactly.
    pub(super) fn cmp_int(&self, v: i128) -> Ordering {
        match self.floor {
            None if self.negative => Ordering::Greater,
            None => Ordering::Less,
            Some(floor) if self.frac.is_empty() => v.cmp(&floor),
            // The number lies strictly between floor and floor + 1.
            Some(floor) if v <= floor => Ordering::Less,
            Some(_) => Ordering::Greater,
        }
    }
}

/// A decimal as canonical digit strings, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Decimal<'a> {
    /// Never set for zero.
    pub(super) negative: bool,
    /// Without leading zeros.
    pub(super) int: &'a str,
    /// Without trailing zeros.
    pub(super) frac: &'a str,
}

/// Reads `[-]digits[.digits]` (either side of the point may be empty, not both).
pub(super) fn parse_decimal(text: &str) -> Option<Decimal<'_>> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    Some(Decimal { negative: negative && !(int.is_empty() && frac.is_empty()), int, frac })
}

/// Orders two decimals exactly: sign, then integer digits (count, then value), then fraction
/// digits (canonical, so plain lexicographic order is numeric order).
pub(super) fn cmp_decimal(a: Decimal<'_>, b: Decimal<'_>) -> Ordering {
    match (a.negative, b.negative) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (negative, _) => {
            let magnitude =
                a.int.len().cmp(&b.int.len()).then_with(|| a.int.cmp(b.int)).then_with(|| a.frac.cmp(b.frac));
            if negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        }
    }
}

// Dates and times.

/// A DATE or DATETIME by its parts; field order makes the derived order chronological.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DateKey {
    pub(super) year: u16,
    pub(super) month: u8,
    pub(super) day: u8,
    pub(super) hour: u8,
    pub(super) minute: u8,
    pub(super) second: u8,
    pub(super) micros: u32,
}

/// Reads exactly `n` ASCII digits.
pub(super) fn digits(s: Option<&str>, n: usize) -> Option<u32> {
    let s = s?;
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Reads `.ffffff` (1 to 6 digits) as microseconds.
pub(super) fn micros(frac: Option<&str>) -> Option<u32> {
    match frac {
        None => Some(0),
        Some(f) if (1..=6).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<6}");
            padded.parse().ok()
        }
        Some(_) => None,
    }
}

/// Reads `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS[.ffffff]`. Zero months and days are accepted
/// (MySQL stores zero dates); other parts must be in range.
pub(super) fn parse_datetime(text: &str) -> Option<DateKey> {
    let (date, time) = match text.split_once(' ') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    if date.len() != 10 || date.get(4..5) != Some("-") || date.get(7..8) != Some("-") {
        return None;
    }
    let year = digits(date.get(0..4), 4)?;
    let month = digits(date.get(5..7), 2)?;
    let day = digits(date.get(8..10), 2)?;
    if month > 12 || day > days_in_month(year, month) {
        return None;
    }
    let mut key = DateKey {
        year: u16::try_from(year).ok()?,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
        ..DateKey::default()
    };
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        if hms.len() != 8 || hms.get(2..3) != Some(":") || hms.get(5..6) != Some(":") {
            return None;
        }
        let hour = digits(hms.get(0..2), 2)?;
        let minute = digits(hms.get(3..5), 2)?;
        let second = digits(hms.get(6..8), 2)?;
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        key.hour = u8::try_from(hour).ok()?;
        key.minute = u8::try_from(minute).ok()?;
        key.second = u8::try_from(second).ok()?;
        key.micros = micros(frac)?;
    }
    Some(key)
}

/// The last valid day of `month` (31 for month 0, which only a zero date has).
pub(super) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Reads `[-]HH:MM:SS[.ffffff]` (hours 2 or 3 digits, up to 838) as signed microseconds.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (hms, frac) = match rest.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (rest, None),
    };
    let mut parts = hms.split(':');
    let h = parts.next()?;
    let hours = digits(Some(h), 2).or_else(|| digits(Some(h), 3))?;
    let minutes = digits(parts.next(), 2)?;
    let seconds = digits(parts.next(), 2)?;
    if parts.next().is_some() || hours > 838 || minutes > 59 || seconds > 59 {
        return None;
    }
    let magnitude = ((i64::from(hours) * 60 + i64::from(minutes)) * 60 + i64::from(seconds)) * 1_000_000
        + i64::from(micros(frac)?);
    Some(if negative { -magnitude } else { magnitude })
}
