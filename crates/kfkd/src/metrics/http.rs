//! `--metrics-listen`: Prometheus' `/metrics`, and the probes an
//! orchestrator asks before it sends traffic or restarts a process:
//! `/healthz` (the process answers) and `/readyz` (the node has joined the
//! cluster and applied its metadata, so it answers clients correctly).

use std::sync::{Arc, OnceLock, Weak};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::broker::Broker;

/// OpenMetrics' content type, which Prometheus asks for first.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the endpoints look at. The listener starts before the node has
/// joined its metadata quorum (which can take as long as its peers take to
/// start), so that an orchestrator's probes get an answer, not a refused
/// connection, while it waits; the broker is attached once it exists.
#[derive(Debug, Default)]
pub struct Probe {
    broker: OnceLock<Weak<Broker>>,
}

impl Probe {
    /// From now on the endpoints answer for `broker`; held weakly so a
    /// stopping broker is not kept alive by them.
    pub fn attach(&self, broker: &Arc<Broker>) {
        let _ = self.broker.set(Arc::downgrade(broker));
    }
}

/// What the node is while no broker is attached.
enum Node {
    Starting,
    Gone,
    Up(Arc<Broker>),
}

fn node(probe: &Probe) -> Node {
    match probe.broker.get() {
        None => Node::Starting,
        Some(weak) => weak.upgrade().map_or(Node::Gone, Node::Up),
    }
}

/// Why a starting node is not ready: what `Broker::open` waits for.
const STARTING: &str =
    "starting: waiting for the metadata quorum to elect a leader and replay its log";

/// Serves the metrics and probes on `listener` until the task is dropped.
pub async fn serve(probe: Arc<Probe>, listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(probe);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "metrics listener stopped");
    }
}

fn gone() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response()
}

async fn metrics(State(probe): State<Arc<Probe>>) -> Response {
    let body = match node(&probe) {
        Node::Gone => return gone(),
        Node::Starting => super::scrape::render_starting(),
        Node::Up(b) => super::scrape::render(&b).await,
    };
    ([(header::CONTENT_TYPE, OPENMETRICS)], body).into_response()
}

async fn healthz(State(probe): State<Arc<Probe>>) -> Response {
    match node(&probe) {
        Node::Gone => gone(),
        Node::Starting | Node::Up(_) => (StatusCode::OK, "ok\n").into_response(),
    }
}

async fn readyz(State(probe): State<Arc<Probe>>) -> Response {
    let why = match node(&probe) {
        Node::Gone => return gone(),
        Node::Starting => Some(STARTING.to_string()),
        Node::Up(b) => not_ready(&b),
    };
    match why {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// Why the node should not get traffic yet, or `None` when it should.
///
/// A broker is ready once it has opened its logs, a metadata quorum leader
/// is known and the image it has applied shows it registered and unfenced:
/// the controller unfences a broker only after hearing its heartbeats, and
/// the image that says so is one the broker has caught up to.
pub fn not_ready(b: &Broker) -> Option<String> {
    if b.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        return Some("shutting down".into());
    }
    let leader = b.raft.metrics().borrow().current_leader;
    if leader.is_none() {
        return Some("no metadata quorum leader is known".into());
    }
    if !b.settings.is_broker() {
        return None;
    }
    if !b.is_started() {
        return Some("still opening its logs".into());
    }
    b.with_image(|i| match i.brokers.get(&b.node_id) {
        None => Some(format!("broker {} is not registered yet", b.node_id)),
        Some(r) if r.fenced => Some(format!(
            "broker {} is fenced until the controller hears its heartbeats",
            b.node_id
        )),
        Some(_) => None,
    })
}
