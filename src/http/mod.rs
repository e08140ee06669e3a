//! The admin API under `/api/v1`: one module per resource, each with `configure(cfg)`.
//! `error.rs` is the only place that knows HTTP status codes; `auth.rs` guards every route.
//! Each handler is mounted with its OpenAPI operation (`openapi.rs`).

mod auth;
mod cluster;
mod connectors;
mod console;
mod datasources;
mod error;
mod forward;
mod metrics;
mod objects;
mod openapi;
mod projects;
mod secure;
mod series;
mod snapshots;
mod stores;
mod verify;
mod views;

pub use cluster::ClusterContext;
pub use error::ApiError;

use crate::meta::Meta;
use crate::runtime::{LiveStatus, Series};
use crate::secrets::Keyring;
use actix_web::{get, middleware::from_fn, web, HttpResponse};
use std::sync::Arc;

/// What every handler may use.
#[derive(Clone)]
pub struct ApiContext {
    pub meta: Meta,
    pub keyring: Arc<Keyring>,
    pub live: LiveStatus,
    /// The last hour of figures of the projects running here.
    pub series: Series,
    pub admin_token: Arc<str>,
    /// A token that may only read (GET).
    pub viewer_token: Option<Arc<str>>,
    /// `/metrics` needs the admin or viewer token.
    pub metrics_auth: bool,
    pub cluster: ClusterContext,
    /// The node's data directory (a stopped store's log is read from it).
    pub data_dir: std::path::PathBuf,
    /// How this node calls another node's API.
    pub peers: crate::peers::Peers,
    /// The verifications this node runs (one per project at a time).
    pub verifications: Arc<crate::verify::Verifications>,
}

/// Mounts the API (and the unauthenticated `/healthz`) on an actix-web app.
pub fn configure(ctx: ApiContext) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        // Bodies are JSON whatever their Content-Type says (`curl -d` sends a form type).
        let json = web::JsonConfig::default()
            .limit(1 << 20)
            .content_type_required(false)
            .error_handler(|err, _| ApiError::from_json_error(&err).into());
        let path =
            web::PathConfig::default().error_handler(|err, _| ApiError::bad_request(err.to_string()).into());
        let query = web::QueryConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("query string: {err}")).into());
        cfg.app_data(json).app_data(path).app_data(query).app_data(web::Data::new(ctx.clone()));
        openapi::Routes::new(cfg)
            .service(healthz)
            .configure(metrics::configure)
            .undocumented(console::configure)
            .api(
                utoipa_actix_web::scope("/api/v1")
                    .wrap(from_fn(auth::require_token))
                    .configure(cluster::configure)
                    .configure(datasources::configure)
                    // Before the `/projects` scope, which would take its paths.
                    .configure(connectors::configure)
                    .configure(objects::configure)
                    .configure(series::configure)
                    .configure(stores::configure)
                    .configure(verify::configure)
                    .configure(snapshots::configure)
                    .configure(openapi::configure)
                    .configure(projects::configure)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ApiError::NotFound("no such API path".into()))
                    })),
            )
            .finish();
    }
}

/// The node is up and answers (no token).
#[utoipa::path(
    tag = "node",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)),
)]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}
