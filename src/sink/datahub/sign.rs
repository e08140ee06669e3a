//! DataHub's AccessKey request signature (the service's API reference, "Authorization"; the
//! same as pydatahub's `AliyunAccount.sign_request`):
//!
//! `Authorization: DATAHUB <AccessKeyId>:<base64(HMAC-SHA1(AccessKeySecret, S))>` where `S` is,
//! joined by `\n`: the method, the Content-Type, the Date (RFC 822, GMT), each `x-datahub-*`
//! header as `name:value` (names lowercased, sorted), and the path followed by `?` and the
//! query parameters sorted by name when there are any.
//!
//! Pure: no clock (the caller passes the Date), no IO.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::time::SystemTime;

/// The string a request's signature is computed over.
pub fn canonical(
    method: &str,
    content_type: &str,
    date: &str,
    datahub_headers: &[(&str, &str)],
    path: &str,
    query: &[(&str, &str)],
) -> String {
    let mut headers: Vec<(String, &str)> = datahub_headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), *value))
        .filter(|(name, _)| name.starts_with("x-datahub-"))
        .collect();
    headers.sort();
    let mut lines = vec![method.to_string(), content_type.to_string(), date.to_string()];
    lines.extend(headers.into_iter().map(|(name, value)| format!("{name}:{value}")));
    let mut query = query.to_vec();
    query.sort_by(|a, b| a.0.cmp(b.0));
    let query: Vec<String> =
        query.iter().map(|(k, v)| if v.is_empty() { k.to_string() } else { format!("{k}={v}") }).collect();
    lines.push(match query.is_empty() {
        true => path.to_string(),
        false => format!("{path}?{}", query.join("&")),
    });
    lines.join("\n")
}

/// `base64(HMAC-SHA1(secret, canonical))`.
pub fn signature(secret: &str, canonical: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(canonical.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value of a request whose canonical string is `canonical`.
pub fn authorization(access_id: &str, secret: &str, canonical: &str) -> String {
    format!("DATAHUB {access_id}:{}", signature(secret, canonical))
}

/// The `Date` header: `Mon, 23 Nov 2026 12:34:56 GMT`.
pub fn http_date(at: SystemTime) -> String {
    httpdate::fmt_http_date(at)
}
