//! Calendar arithmetic and the text forms of dates and times, written into a byte buffer.
//!
//! Proleptic Gregorian calendar, days counted from 1970-01-01 (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`); no time zone database: an offset in seconds is all
//! a caller may add. Every writer emits ASCII only, so its output never needs JSON escaping.
//! Fractions are written with exactly `fsp` digits (0..=6), truncated, as MySQL stores them.

/// A calendar date and wall-clock time, no zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// From the fields a row value carries.
    pub fn of(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Self {
        Civil {
            year: i64::from(year),
            month: u32::from(month),
            day: u32::from(day),
            hour: u32::from(hour),
            minute: u32::from(minute),
            second: u32::from(second),
        }
    }

    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Self { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60 }
    }

    pub fn to_unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

/// Days from 1970-01-01 to `y-m-d` (negative before it). `m` is 1..=12.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date `z` days after 1970-01-01: (year, month 1..=12, day 1..=31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// MySQL's zero dates: any of year, month or day is 0 (`0000-00-00`, `2026-11-00`...).
pub fn is_zero_date(year: u16, month: u8, day: u8) -> bool {
    year == 0 || month == 0 || day == 0
}

/// `YYYY-MM-DD`.
pub fn date(out: &mut Vec<u8>, year: i64, month: u32, day: u32) {
    if (0..=9999).contains(&year) {
        let y = year as u32;
        two(out, y / 100);
        two(out, y % 100);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    }
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
}

/// A YEAR as four digits: `0000`, `2026`.
pub fn year(out: &mut Vec<u8>, year: u16) {
    let y = u32::from(year);
    if y <= 9999 {
        two(out, y / 100);
        two(out, y % 100);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(y).as_bytes());
    }
}

/// `HH:MM:SS`; hours take more digits when they need them (TIME goes to 838).
pub fn clock(out: &mut Vec<u8>, hour: u32, minute: u32, second: u32) {
    if hour < 100 {
        two(out, hour);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(hour).as_bytes());
    }
    out.push(b':');
    two(out, minute);
    out.push(b':');
    two(out, second);
}

/// `.` and exactly `fsp` digits of `micros` (nothing for fsp 0).
pub fn fraction(out: &mut Vec<u8>, micros: u32, fsp: u8) {
    let fsp = fsp.min(6);
    if fsp == 0 {
        return;
    }
    let mut digits = micros.min(999_999) / 10u32.pow(u32::from(6 - fsp));
    let start = out.len();
    out.push(b'.');
    out.resize(start + 1 + fsp as usize, b'0');
    for slot in out[start + 1..].iter_mut().rev() {
        *slot = b'0' + (digits % 10) as u8;
        digits /= 10;
    }
}

/// A TIME value: `-838:59:59`, `-00:00:01.500000`, `12:34:56.120`.
pub fn time(out: &mut Vec<u8>, negative: bool, hours: u32, minutes: u32, seconds: u32, micros: u32, fsp: u8) {
    if negative {
        out.push(b'-');
    }
    clock(out, hours, minutes, seconds);
    fraction(out, micros, fsp);
}

/// `YYYY-MM-DD` + `sep` + `HH:MM:SS` + fraction; `sep` is `T` (ISO) or a space (MySQL).
pub fn datetime(out: &mut Vec<u8>, c: &Civil, micros: u32, fsp: u8, sep: u8) {
    date(out, c.year, c.month, c.day);
    out.push(sep);
    clock(out, c.hour, c.minute, c.second);
    fraction(out, micros, fsp);
}

fn two(out: &mut Vec<u8>, v: u32) {
    let v = v % 100;
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Digits of fraction to write for a value of a column of `kind`: the column's fsp; when the
/// kind does not say, all six if the value has a fraction.
pub fn fsp_of(kind: &crate::model::ColumnKind, micros: u32) -> u8 {
    use crate::model::ColumnKind;
    match kind {
        ColumnKind::Time { fsp } | ColumnKind::DateTime { fsp } | ColumnKind::Timestamp { fsp } => {
            (*fsp).min(6)
        }
        _ if micros != 0 => 6,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn days_round_trip_on_edges() {
        for (y, m, d, days) in [
            (1970, 1, 1, 0),
            (1969, 12, 31, -1),
            (2000, 2, 29, 11_016),
            (2000, 3, 1, 11_017),
            (1900, 3, 1, -25_508),
            (2026, 11, 23, 20_780),
            (9999, 12, 31, 2_932_896),
            (1, 1, 1, -719_162),
        ] {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), (y, m, d), "{days}");
        }
        // Every day of four centuries, both ways.
        let mut prev = days_from_civil(1899, 12, 31);
        for z in prev + 1..days_from_civil(2300, 1, 1) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert_eq!(z, prev + 1);
            prev = z;
        }
    }

    #[test]
    fn unix_seconds_to_civil() {
        let c = Civil::from_unix(1_795_437_296);
        assert_eq!(c, Civil { year: 2026, month: 11, day: 23, hour: 12, minute: 34, second: 56 });
        assert_eq!(c.to_unix(), 1_795_437_296);
        let c = Civil::from_unix(-1);
        assert_eq!(c, Civil { year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59 });
        assert_eq!(text(|o| datetime(o, &Civil::from_unix(0), 0, 0, b'T')), "1970-01-01T00:00:00");
        let end = Civil { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59 };
        assert_eq!(Civil::from_unix(end.to_unix()), end);
    }

    #[test]
    fn fractions_have_exactly_fsp_digits() {
        let expected = ["", ".1", ".12", ".123", ".1234", ".12345", ".123456"];
        for (fsp, want) in expected.iter().enumerate() {
            assert_eq!(text(|o| fraction(o, 123_456, fsp as u8)), *want);
        }
        let expected = ["", ".0", ".00", ".000", ".0000", ".00005", ".000050"];
        for (fsp, want) in expected.iter().enumerate() {
            assert_eq!(text(|o| fraction(o, 50, fsp as u8)), *want);
        }
        assert_eq!(text(|o| fraction(o, 120_000, 3)), ".120");
        assert_eq!(text(|o| fraction(o, 0, 6)), ".000000");
    }

    #[test]
    fn times_keep_sign_and_fraction() {
        assert_eq!(text(|o| time(o, true, 838, 59, 59, 0, 0)), "-838:59:59");
        assert_eq!(text(|o| time(o, true, 0, 0, 1, 500_000, 6)), "-00:00:01.500000");
        assert_eq!(text(|o| time(o, true, 1, 2, 3, 450_000, 3)), "-01:02:03.450");
        assert_eq!(text(|o| time(o, false, 12, 34, 56, 120_000, 3)), "12:34:56.120");
        assert_eq!(text(|o| time(o, false, 0, 0, 0, 0, 1)), "00:00:00.0");
    }

    #[test]
    fn dates_are_zero_padded() {
        assert_eq!(text(|o| date(o, 0, 0, 0)), "0000-00-00");
        assert_eq!(text(|o| date(o, 33, 1, 5)), "0033-01-05");
        assert_eq!(text(|o| date(o, 9999, 12, 31)), "9999-12-31");
        assert_eq!(text(|o| year(o, 0)), "0000");
        assert_eq!(text(|o| year(o, 2026)), "2026");
        assert!(is_zero_date(0, 1, 1));
        assert!(is_zero_date(2026, 0, 0));
        assert!(is_zero_date(2026, 11, 0));
        assert!(!is_zero_date(2026, 11, 23));
    }
}
