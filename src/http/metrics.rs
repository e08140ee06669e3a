//! `/metrics`: this node's figures in the Prometheus text format. Names follow
//! `ferry_<subsystem>_<name>_<unit>[_total]`; labels are `node`, and `project` and `component`
//! (`store`, `connector/<id>`) for a project's components, each reported by the node that runs
//! it (so a cluster's scrapes never count one component twice). The figures are read when
//! scraped, from the replicated state and the components running here.
//!
//! Unauthenticated unless the node runs with `--metrics-auth` (then the admin or viewer token).

use super::error::ErrorBody;
use super::openapi::Routes;
use super::{auth, ApiContext, ApiError};
use crate::meta::{MetaState, ProjectState};
use crate::pipeline::connector::now_ms;
use actix_web::{get, web, HttpRequest, HttpResponse};
use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

pub fn configure(routes: &mut Routes) {
    routes.service(serve);
}

/// One metric family: its name, help, and whether it belongs to a component (else the node).
struct Family {
    name: &'static str,
    help: &'static str,
    component: bool,
}

const RAFT_TERM: Family =
    Family { name: "ferry_raft_term", help: "Raft term this node is in", component: false };
const RAFT_LEADER: Family = Family {
    name: "ferry_raft_leader_id",
    help: "Id of the node this node follows as leader (0: none)",
    component: false,
};
const RAFT_IS_LEADER: Family =
    Family { name: "ferry_raft_is_leader", help: "1 when this node leads the cluster", component: false };
const RAFT_COMMIT: Family = Family {
    name: "ferry_raft_commit_index",
    help: "Raft log index this node knows committed",
    component: false,
};
const RAFT_APPLIED: Family =
    Family { name: "ferry_raft_applied_index", help: "Raft log index this node applied", component: false };
const STORE_ROWS: Family = Family {
    name: "ferry_store_rows_total",
    help: "Row changes the store pulled from the source since it started here",
    component: true,
};
const STORE_PULL_RATE: Family = Family {
    name: "ferry_store_pull_rows_per_second",
    help: "Row changes the store pulled per second, over its last seconds",
    component: true,
};
const STORE_DELAY: Family = Family {
    name: "ferry_store_delay_seconds",
    help: "Now minus the source time of the last transaction or progress the store read",
    component: true,
};
const STORE_RETAINED: Family = Family {
    name: "ferry_store_retained_bytes",
    help: "Bytes of changes the store retains",
    component: true,
};
const STORE_FILE: Family = Family {
    name: "ferry_store_binlog_file_number",
    help: "Sequence number of the binlog file the store has read to",
    component: true,
};
const STORE_OFFSET: Family =
    Family { name: "ferry_store_binlog_offset_bytes", help: "Offset in that binlog file", component: true };
const CONNECTOR_ROWS: Family = Family {
    name: "ferry_connector_rows_total",
    help: "Row changes the destination acknowledged, as of the connector's checkpoint",
    component: true,
};
const CONNECTOR_BYTES: Family = Family {
    name: "ferry_connector_bytes_total",
    help: "Message bytes the destination acknowledged, as of the connector's checkpoint",
    component: true,
};
const CONNECTOR_DELAY: Family = Family {
    name: "ferry_connector_sync_delay_seconds",
    help: "Now minus the commit time of the last change delivered; 0 when everything the store read is delivered",
    component: true,
};
const CONNECTOR_CHECKPOINT_AGE: Family = Family {
    name: "ferry_connector_checkpoint_age_seconds",
    help: "Now minus the commit time of the transaction the checkpoint names",
    component: true,
};
const CONNECTOR_LATENCY_P99: Family = Family {
    name: "ferry_connector_latency_p99_seconds",
    help: "99th percentile of source commit to destination acknowledgement over the last minute (one-second commit resolution)",
    component: true,
};
const CONNECTOR_ROWS_RATE: Family = Family {
    name: "ferry_connector_rows_per_second",
    help: "Row changes the destination acknowledged per second, over the last checkpoint interval",
    component: true,
};
const COMPONENT_ERRORS: Family = Family {
    name: "ferry_component_errors_total",
    help: "Errors a component stopped on and was restarted after, on this node",
    component: true,
};

const FAMILIES: &[&Family] = &[
    &RAFT_TERM,
    &RAFT_LEADER,
    &RAFT_IS_LEADER,
    &RAFT_COMMIT,
    &RAFT_APPLIED,
    &STORE_ROWS,
    &STORE_PULL_RATE,
    &STORE_DELAY,
    &STORE_RETAINED,
    &STORE_FILE,
    &STORE_OFFSET,
    &CONNECTOR_ROWS,
    &CONNECTOR_BYTES,
    &CONNECTOR_DELAY,
    &CONNECTOR_CHECKPOINT_AGE,
    &CONNECTOR_LATENCY_P99,
    &CONNECTOR_ROWS_RATE,
    &COMPONENT_ERRORS,
];

/// A family's metric: a counter (`_total`) or a gauge.
enum Vector {
    Counter(CounterVec),
    Gauge(GaugeVec),
}

impl Vector {
    /// Sets the value at `labels` (a counter of a fresh scrape starts at 0).
    fn set(&self, labels: &[&str], value: f64) {
        match self {
            Vector::Counter(c) => c.with_label_values(labels).inc_by(value.max(0.0)),
            Vector::Gauge(g) => g.with_label_values(labels).set(value),
        }
    }
}

/// The metrics of one scrape, registered in its own registry.
struct Scrape {
    registry: Registry,
    vectors: HashMap<&'static str, Vector>,
    node: String,
}

impl Scrape {
    fn new(node: u64) -> Self {
        let registry = Registry::new();
        let mut vectors = HashMap::new();
        for family in FAMILIES {
            let labels: &[&str] =
                if family.component { &["node", "project", "component"] } else { &["node"] };
            let opts = Opts::new(family.name, family.help);
            let vector = if family.name.ends_with("_total") {
                let vec = CounterVec::new(opts, labels).expect("a valid metric");
                registry.register(Box::new(vec.clone())).expect("each metric registered once");
                Vector::Counter(vec)
            } else {
                let vec = GaugeVec::new(opts, labels).expect("a valid metric");
                registry.register(Box::new(vec.clone())).expect("each metric registered once");
                Vector::Gauge(vec)
            };
            vectors.insert(family.name, vector);
        }
        Scrape { registry, vectors, node: node.to_string() }
    }

    fn node(&self, family: &Family, value: f64) {
        self.vectors[family.name].set(&[&self.node], value);
    }

    fn component(&self, family: &Family, project: &str, component: &str, value: f64) {
        self.vectors[family.name].set(&[&self.node, project, component], value);
    }

    fn text(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// This node's figures in the Prometheus text format.
///
/// Raft, and each store and connector that runs here. No token, unless the node runs with
/// `--metrics-auth` (then the admin or viewer token).
#[utoipa::path(
    operation_id = "prometheus_metrics",
    tag = "node",
    security((), ("bearer" = [])),
    responses(
        (
            status = 200,
            description = "Prometheus text format 0.0.4",
            content_type = "text/plain; version=0.0.4",
            body = String,
        ),
        (status = 401, description = "With `--metrics-auth`: a missing or invalid token", body = ErrorBody),
    ),
)]
#[get("/metrics")]
async fn serve(ctx: web::Data<ApiContext>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if ctx.metrics_auth {
        // Either token may read the metrics.
        auth::caller(req.headers(), &ctx).map_err(|e| {
            ApiError::Unauthorized(format!(
                "/metrics needs Authorization: Bearer <admin or viewer token> (the node runs with --metrics-auth): {e}"
            ))
        })?;
    }
    let status = ctx.meta.status();
    let scrape = Scrape::new(status.id);
    scrape.node(&RAFT_TERM, status.term as f64);
    scrape.node(&RAFT_LEADER, status.leader.unwrap_or(0) as f64);
    scrape.node(&RAFT_IS_LEADER, f64::from(u8::from(status.leader == Some(status.id))));
    scrape.node(&RAFT_COMMIT, status.commit_index as f64);
    scrape.node(&RAFT_APPLIED, status.applied_index as f64);
    ctx.meta.read(|s| components(&ctx, s, status.id, &scrape));
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(scrape.text()))
}

/// The figures of every component running on this node.
fn components(ctx: &ApiContext, state: &MetaState, me: u64, scrape: &Scrape) {
    let now_s = now_ms() as f64 / 1000.0;
    let age = |ts: u64| if ts == 0 { None } else { Some((now_s - ts as f64).max(0.0)) };
    for project in state.projects.values().filter(|p| p.state == ProjectState::Running) {
        let Some(placement) = &project.placement else { continue };
        let name = project.spec.name.as_str();
        let Some(live) = ctx.live.project(name).filter(|l| l.epoch == project.epoch) else { continue };
        let status = &live.status;
        let errors = status.errors();
        if let Some(store) = live.store.as_ref().filter(|_| placement.node == me) {
            scrape.component(&STORE_ROWS, name, "store", status.store_rows.load(Ordering::Relaxed) as f64);
            let rate = status.store_rows_per_s.load(Ordering::Relaxed) as f64;
            scrape.component(&STORE_PULL_RATE, name, "store", rate);
            if let Some(delay) = age(u64::from(status.store_ts())) {
                scrape.component(&STORE_DELAY, name, "store", delay);
            }
            scrape.component(&STORE_RETAINED, name, "store", store.log.retained().bytes as f64);
            if let Some(position) = status.store_position() {
                let number = position.file.rsplit('.').next().and_then(|n| n.parse::<u64>().ok());
                scrape.component(&STORE_FILE, name, "store", number.unwrap_or(0) as f64);
                scrape.component(&STORE_OFFSET, name, "store", position.pos as f64);
            }
        }
        for connector in project.spec.connectors().iter().filter(|c| placement.connector_node(&c.id) == me) {
            let component = format!("connector/{}", connector.id);
            let checkpoint = project.checkpoint(&connector.id);
            scrape.component(&CONNECTOR_ROWS, name, &component, checkpoint.rows as f64);
            scrape.component(&CONNECTOR_BYTES, name, &component, checkpoint.bytes as f64);
            if let Some(age) = age(u64::from(checkpoint.commit_ts)) {
                // Caught up (known where the store runs here): every transaction it read is
                // delivered.
                let caught_up = live.store.is_some() && checkpoint.seq >= status.store_committed_seq();
                scrape.component(&CONNECTOR_DELAY, name, &component, if caught_up { 0.0 } else { age });
                scrape.component(&CONNECTOR_CHECKPOINT_AGE, name, &component, age);
            }
            if let Some(figures) = status.connector_here(&connector.id) {
                let rate = figures.rows_per_s.load(Ordering::Relaxed) as f64;
                scrape.component(&CONNECTOR_ROWS_RATE, name, &component, rate);
                if let Some(latency) = figures.latency(now_ms()) {
                    scrape.component(
                        &CONNECTOR_LATENCY_P99,
                        name,
                        &component,
                        latency.p99_ms as f64 / 1000.0,
                    );
                }
            }
            let failed = errors.get(&component).copied().unwrap_or(0);
            scrape.component(&COMPONENT_ERRORS, name, &component, failed as f64);
        }
    }
}
