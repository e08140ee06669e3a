//! JSON text written straight into a byte buffer, with no value tree in between.
//!
//! Invariants: every function appends to `out` and never touches what is already there; the
//! token functions (`string`, `u64`, `f64`, ...) append exactly one complete JSON token; the
//! `*_contents` functions append the escaped body of a string, without quotes, so a caller can
//! build one string from several pieces. Strings are escaped per RFC 8259: `"`, `\` and the
//! control characters U+0000..U+001F, nothing else (non-ASCII stays UTF-8).

use base64::Engine as _;

/// What each byte turns into inside a string: 0 = itself, `u` = `\u00XX`, else `\` + that byte.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

pub fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

pub fn u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

pub fn i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// The shortest decimal that reads back as the same `f32` (`1.1`, not `1.100000023841858`);
/// `null` for NaN and infinities, which JSON cannot carry.
pub fn f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        null(out);
    }
}

/// The shortest decimal that reads back as the same `f64`; `null` for NaN and infinities.
pub fn f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        null(out);
    }
}

/// A JSON string holding `s`.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    string_contents(out, s);
    out.push(b'"');
}

/// `"name":`.
pub fn field(out: &mut Vec<u8>, name: &str) {
    string(out, name);
    out.push(b':');
}

/// The escaped body of a string holding `s`.
pub fn string_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc != 0 {
            out.extend_from_slice(&bytes[start..i]);
            push_escape(out, b, esc);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The escaped body of a string whose characters are `bytes` read as ISO-8859-1 (each byte is
/// the code point U+0000..U+00FF), as Canal writes binary columns.
pub fn latin1_contents(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b >= 0x80 {
            push_latin1_high(out, b);
        } else {
            let esc = ESCAPE[b as usize];
            if esc == 0 {
                out.push(b);
            } else {
                push_escape(out, b, esc);
            }
        }
    }
}

/// `bytes` read as ISO-8859-1, written as plain UTF-8 (no escaping).
pub fn latin1_raw(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b >= 0x80 {
            push_latin1_high(out, b);
        } else {
            out.push(b);
        }
    }
}

/// A JSON string holding the standard (padded) base64 of `bytes`.
pub fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written =
        base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

fn push_escape(out: &mut Vec<u8>, b: u8, esc: u8) {
    if esc == b'u' {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0x0f) as usize]);
    } else {
        out.push(b'\\');
        out.push(esc);
    }
}

/// U+0080..U+00FF in UTF-8.
fn push_latin1_high(out: &mut Vec<u8>, b: u8) {
    out.push(0xc0 | (b >> 6));
    out.push(0x80 | (b & 0x3f));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_only_what_rfc_8259_requires() {
        let s = "a\"b\\c/d\u{0}\u{1f}\u{7f}\n\r\t\u{8}\u{c}é😀";
        let text = with(|o| string(o, s));
        assert_eq!(text, "\"a\\\"b\\\\c/d\\u0000\\u001f\u{7f}\\n\\r\\t\\b\\fé😀\"");
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn latin1_maps_each_byte_to_one_code_point() {
        let bytes = [b'a', 0x00, b'"', 0x80, 0xe9, 0xff];
        let text = with(|o| {
            o.push(b'"');
            latin1_contents(o, &bytes);
            o.push(b'"');
        });
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "a\u{0}\"\u{80}é\u{ff}");
        assert_eq!(with(|o| latin1_raw(o, &bytes)), "a\u{0}\"\u{80}é\u{ff}");
    }

    #[test]
    fn floats_are_shortest_round_trip() {
        assert_eq!(with(|o| f32(o, 1.1)), "1.1");
        assert_eq!(with(|o| f64(o, 1.1)), "1.1");
        assert_eq!(with(|o| f64(o, 0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(with(|o| f32(o, 16777216.0)), "16777216.0");
        assert_eq!(with(|o| f64(o, 1e300)), "1e300");
        assert_eq!(with(|o| f64(o, f64::NAN)), "null");
        assert_eq!(with(|o| f32(o, f32::INFINITY)), "null");
        let v: f64 = serde_json::from_str(&with(|o| f64(o, -2.5e-7))).unwrap();
        assert_eq!(v, -2.5e-7);
    }

    #[test]
    fn integers_and_base64() {
        assert_eq!(with(|o| u64(o, u64::MAX)), "18446744073709551615");
        assert_eq!(with(|o| i64(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(with(|o| base64(o, &[1, 0, 255, 0])), "\"AQD/AA==\"");
        assert_eq!(with(|o| base64(o, b"")), "\"\"");
    }
}
