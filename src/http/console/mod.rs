//! The web console: one page of HTML, CSS and vanilla JavaScript compiled into the binary and
//! served at `/` and `/console/{file}`. Nothing is fetched from anywhere else at run time.
//!
//! The page holds no data: it calls the API under `/api/v1` with the token the user logs in
//! with (kept in the tab's sessionStorage), so these routes need no token. Every answer says
//! `Cache-Control: no-cache` with an ETag of its bytes, so a browser revalidates (a 304) and
//! never runs a console older than the node it talks to.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// A file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// `"<fnv-1a 64 of body>"`, computed at compile time.
    etag: &'static str,
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {{
        const BODY: &str = include_str!(concat!("assets/", $name));
        const ETAG: [u8; 18] = etag(BODY.as_bytes());
        Asset {
            name: $name,
            content_type: $content_type,
            body: BODY,
            etag: match std::str::from_utf8(&ETAG) {
                Ok(etag) => etag,
                Err(_) => panic!("an ETag is ASCII"),
            },
        }
    }};
}

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.js", "text/javascript; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
];

/// The page may load its own script and style and call its own node's API; nothing else, and
/// no other site may frame it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index)).route("/console/{file}", web::get().to(file));
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &ASSETS[0])
}

async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == name.as_str()) {
        Some(asset) => serve(&req, asset),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("the console has no file {:?}\n", name.as_str())),
    }
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut answer = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    answer
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, HeaderValue::from_static(asset.etag)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)));
    if fresh {
        answer.finish()
    } else {
        answer.content_type(asset.content_type).body(asset.body)
    }
}

/// `"` + 16 hex digits of the FNV-1a 64 hash of `bytes` + `"`: a strong ETag.
const fn etag(bytes: &[u8]) -> [u8; 18] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    let mut out = [b'"'; 18];
    let mut d = 0;
    while d < 16 {
        let nibble = ((hash >> (60 - 4 * d)) & 0xf) as u8;
        out[1 + d] = if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
        d += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;

    #[actix_web::test]
    async fn serves_the_page_and_its_files_with_revalidation() {
        let app = init_service(App::new().configure(configure)).await;
        for (path, kind) in [
            ("/", "text/html"),
            ("/console/console.js", "text/javascript"),
            ("/console/console.css", "text/css"),
        ] {
            let resp = call_service(&app, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(resp.status(), 200, "{path}");
            let header = |name| resp.headers().get(name).unwrap().clone();
            assert!(header(header::CONTENT_TYPE).to_str().unwrap().starts_with(kind), "{path}");
            assert_eq!(header(header::CACHE_CONTROL), "no-cache");
            let tag = header(header::ETAG);
            let again = TestRequest::get().uri(path).insert_header((header::IF_NONE_MATCH, tag));
            let resp = call_service(&app, again.to_request()).await;
            assert_eq!(resp.status(), 304, "{path} with its ETag");
        }
        let resp = call_service(&app, TestRequest::get().uri("/console/x.js").to_request()).await;
        assert_eq!(resp.status(), 404);
    }

    #[test]
    fn etags_differ_by_content() {
        assert_eq!(&etag(b""), b"\"cbf29ce484222325\"");
        assert_ne!(etag(b"a"), etag(b"b"));
        let tags: Vec<&str> = ASSETS.iter().map(|a| a.etag).collect();
        assert!(tags.iter().all(|t| t.len() == 18 && t.starts_with('"') && t.ends_with('"')), "{tags:?}");
    }
}
