//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API, generated from the code.
//!
//! One source of truth. Every handler carries its actix route macro (`#[get("/{name}")]`: the
//! path and method it is served at) under its `#[utoipa::path(..)]` (what it takes and answers),
//! and is mounted with `.service(handler)` on utoipa-actix-web's `scope`/[`ServiceConfig`], or on
//! [`Routes`] at the root. That call both registers the route and collects its operation, with
//! the scopes' prefixes, the path parameters from its `web::Path` and the schemas it names, so
//! the document lists exactly what is served; and `.service` accepts nothing without a
//! `#[utoipa::path]`, so a route cannot be added undocumented that way. (Listing handlers in a
//! `#[derive(OpenApi)]` beside the `cfg.route(..)` calls would keep two lists that must agree.)
//! The route macros build the same guarded resources `cfg.route(path, web::get().to(..))` did,
//! so matching is unchanged. A route mounted any other way (`.route`, `web::resource`, ...)
//! would be served but not documented: the unit test below refuses those in `src/http/*.rs`.
//!
//! Mounting the `/api/v1` scope ([`Routes::api`]) adds to each of its operations what its auth
//! middleware does: the bearer token as security, 401, and 403 where `auth::viewer_may` refuses
//! the viewer token. Handlers document their own errors, each with [`ErrorBody`].
//!
//! Not in the document: the console's page and files (`/`, `/console/{file}`), which are not API.
//! The document is built as the app is configured and served as it was built.

use super::auth;
use super::error::ErrorBody;
use actix_web::dev::HttpServiceFactory;
use actix_web::http::{header::ContentType, Method};
use actix_web::{get, web, HttpResponse};
use utoipa::openapi::path::{Operation, PathItem, Paths};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_actix_web::OpenApiFactory;

/// What the API's modules mount their handlers on (inside the `/api/v1` scope).
pub type ServiceConfig<'a> = utoipa_actix_web::service_config::ServiceConfig<'a>;

/// The security scheme every `/api/v1` operation names.
const BEARER: &str = "bearer";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Ferry",
        description = "The admin API of a Ferry node: MySQL/MariaDB binlog changes into Kafka and \
databases. Every call under `/api/v1` carries `Authorization: Bearer <token>`: the admin token may \
do anything, the viewer token only read. Errors are `{\"code\", \"message\"}` (`ErrorBody`). Any \
node of a cluster answers any call."
    ),
    tags(
        (name = "cluster", description = "The nodes, who leads, what runs where; membership at runtime"),
        (
            name = "datasources",
            description = "Sources (MySQL/MariaDB) and destinations (Kafka, MySQL/MariaDB, OceanBase)"
        ),
        (name = "projects", description = "Projects: create, drive through their lifecycle, watch"),
        (name = "connectors", description = "A project's connectors: reset, move, live figures"),
        (name = "internal", description = "Node to node: a store's log for connectors on other nodes"),
        (name = "node", description = "This node: health, Prometheus metrics, this document"),
    )
)]
struct Base;

/// The document as served.
pub struct Document(web::Bytes);

/// The app's config while it is mounted: every service mounted here is documented.
pub struct Routes<'c> {
    cfg: &'c mut web::ServiceConfig,
    doc: OpenApi,
}

impl<'c> Routes<'c> {
    /// Starts the document: its info, tags and the bearer token's security scheme.
    pub fn new(cfg: &'c mut web::ServiceConfig) -> Self {
        let mut doc = Base::openapi();
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The node's admin token, or its viewer token (reads only)"))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        Routes { cfg, doc }
    }

    /// Mounts a handler (or a utoipa-actix-web scope) and documents its operations.
    pub fn service<F: HttpServiceFactory + OpenApiFactory + 'static>(&mut self, service: F) -> &mut Self {
        let paths = service.paths();
        self.add(paths, &service);
        self.cfg.service(service);
        self
    }

    /// Mounts the `/api/v1` scope, which its auth middleware guards: each of its operations
    /// needs the bearer token, and some are refused to the viewer token.
    pub fn api<F: HttpServiceFactory + OpenApiFactory + 'static>(&mut self, scope: F) -> &mut Self {
        let mut paths = scope.paths();
        for (path, item) in paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                let responses = &mut operation.responses.responses;
                responses.entry("401".into()).or_insert_with(|| error("A missing or invalid bearer token"));
                if !auth::viewer_may(&method, path) {
                    responses
                        .entry("403".into())
                        .or_insert_with(|| error("The viewer token may not call this"));
                }
            }
        }
        self.add(paths, &scope);
        self.cfg.service(scope);
        self
    }

    /// Mounts what is not API (the console's page and files): served, not documented.
    pub fn undocumented(&mut self, f: impl FnOnce(&mut web::ServiceConfig)) -> &mut Self {
        f(self.cfg);
        self
    }

    /// Lets a module mount its handlers (`metrics::configure`).
    pub fn configure(&mut self, f: impl FnOnce(&mut Self)) -> &mut Self {
        f(self);
        self
    }

    /// Ends the mounting: what was mounted is what `GET /api/v1/openapi.json` answers.
    pub fn finish(&mut self) {
        let json = serde_json::to_vec(&self.doc).expect("the OpenAPI document serializes");
        self.cfg.app_data(web::Data::new(Document(json.into())));
    }

    fn add(&mut self, paths: Paths, service: &impl OpenApiFactory) {
        self.doc.paths.merge(paths);
        let mut schemas = Vec::new();
        service.schemas(&mut schemas);
        self.doc.components.get_or_insert_with(Default::default).schemas.extend(schemas);
    }
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(document);
}

/// This document: every operation of the API, generated from the handlers that serve them.
#[utoipa::path(
    operation_id = "openapi",
    tag = "node",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
#[get("/openapi.json")]
async fn document(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().insert_header(ContentType::json()).body(doc.0.clone())
}

/// A path's operations, each with its method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    let PathItem { get, put, post, delete, options, head, patch, trace, .. } = item;
    [
        (Method::GET, get),
        (Method::PUT, put),
        (Method::POST, post),
        (Method::DELETE, delete),
        (Method::OPTIONS, options),
        (Method::HEAD, head),
        (Method::PATCH, patch),
        (Method::TRACE, trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
}

/// An error answer: `{code, message}`.
fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
    ResponseBuilder::new().description(description).content("application/json", body).build().into()
}

#[cfg(test)]
mod tests {
    /// The only way to serve a route is `.service(handler)` on the wrappers above, which
    /// documents it. These would serve one the document does not show.
    #[test]
    fn the_api_mounts_routes_only_where_they_are_documented() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        let undocumented = [".route(", "web::resource(", "web::scope(", "Resource::new("];
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("openapi.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                for pattern in undocumented {
                    // A whole path (`utoipa_actix_web::scope(` documents what it mounts).
                    let mounts = line.match_indices(pattern).any(|(at, _)| {
                        pattern.starts_with('.')
                            || !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    assert!(
                        !mounts,
                        "{}:{}: {pattern} mounts a route the OpenAPI document does not show; mount a \
                         handler with #[utoipa::path] by .service(handler) instead",
                        path.display(),
                        i + 1
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 10, "read the API's modules in {dir}");
    }
}
