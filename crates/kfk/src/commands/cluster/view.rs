//! What `kfk cluster up` and `status` show: each broker's process and
//! address, the cluster's health (controller, under-replicated and offline
//! partitions) and where the REST proxy is.

use std::time::Duration;

use kfk_client::Client;
use serde::Serialize;

use super::process::answers;
use crate::ctx::Ctx;
use crate::error::CliResult;
use crate::local::{ClusterState, is_alive};
use crate::output;

#[derive(Serialize)]
pub(super) struct BrokerRow {
    pub(super) id: i32,
    /// `broker`, or `controller` for a dedicated controller.
    pub(super) role: &'static str,
    pub(super) address: String,
    pub(super) pid: u32,
    pub(super) running: bool,
    pub(super) data_dir: String,
    /// The broker's log file (`kfk cluster logs ID` prints it).
    pub(super) log: String,
    /// Its Prometheus endpoint, when it serves one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) metrics: Option<String>,
}

pub(super) async fn rows(state: &ClusterState) -> Vec<BrokerRow> {
    let mut out = Vec::new();
    for b in state.nodes() {
        let controller = state.is_controller(b.id);
        // A controller serves no clients: its process is what there is to see.
        let running =
            is_alive(b.pid) && (controller || answers(b.port, state.secure.as_ref()).await);
        out.push(BrokerRow {
            id: b.id,
            role: if controller { "controller" } else { "broker" },
            address: format!("127.0.0.1:{}", b.port),
            pid: b.pid,
            running,
            data_dir: b.data_dir.display().to_string(),
            log: b.log.display().to_string(),
            metrics: b
                .metrics_port
                .map(|p| format!("http://127.0.0.1:{p}/metrics")),
        });
    }
    out
}

/// What the cluster's metadata says about its health.
#[derive(Serialize, Default)]
pub(super) struct Health {
    /// The active controller (the metadata quorum's leader), -1 when there
    /// is none.
    pub(super) controller: i32,
    /// Why there is no controller, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) quorum_problem: Option<String>,
    pub(super) partitions: usize,
    pub(super) under_replicated_partitions: usize,
    pub(super) offline_partitions: usize,
}

/// Asks the running brokers for metadata; `None` when none answers.
pub(super) async fn health(state: &ClusterState) -> Option<Health> {
    let running: Vec<u16> = state.running().iter().map(|b| b.port).collect();
    if running.is_empty() {
        return None;
    }
    let mut config = super::process::tooling_config(state.secure.as_ref(), running).ok()?;
    config.connect_timeout = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(3);
    let client = Client::connect(config).await.ok()?;
    let meta = client.refresh(None).await.ok()?;
    // Metadata names a broker as controller when the controllers are
    // dedicated (clients cannot reach them); DescribeQuorum names the leader.
    let (controller, quorum_problem) = match client.describe_quorum().await {
        Ok(q) => (q.leader, None),
        Err(kfk_client::ClientError::Kafka { message, .. }) => (-1, message),
        Err(_) => (meta.controller_id, None),
    };
    let parts = meta.topics.values().flat_map(|t| &t.partitions);
    Some(Health {
        controller,
        quorum_problem,
        partitions: parts.clone().count(),
        under_replicated_partitions: parts
            .clone()
            .filter(|p| p.leader >= 0 && p.isr.len() < p.replicas.len())
            .count(),
        offline_partitions: parts.filter(|p| p.leader < 0).count(),
    })
}

/// The REST proxy's base URL, while its process runs.
pub(super) fn rest_url(state: &ClusterState) -> Option<String> {
    state
        .rest_proxy
        .as_ref()
        .filter(|r| is_alive(r.pid))
        .map(|r| format!("http://127.0.0.1:{}", r.port))
}

#[derive(Serialize)]
pub(super) struct ClusterView {
    pub(super) bootstrap: String,
    pub(super) rest_proxy: Option<String>,
    pub(super) brokers: Vec<BrokerRow>,
    #[serde(flatten)]
    pub(super) health: Option<Health>,
}

pub(super) fn show(
    ctx: &Ctx,
    state: &ClusterState,
    rows: Vec<BrokerRow>,
    health: Option<Health>,
) -> CliResult {
    let view = ClusterView {
        bootstrap: state.bootstrap(),
        rest_proxy: rest_url(state),
        brokers: rows,
        health,
    };
    output::emit(ctx.format(), &view, || {
        let dedicated = view.brokers.iter().any(|r| r.role == "controller");
        let with_metrics = view.brokers.iter().any(|r| r.metrics.is_some());
        let mut header = vec!["BROKER", "ADDRESS", "PID", "STATUS", "DATA"];
        if dedicated {
            header.splice(0..1, ["NODE", "ROLE"]);
        }
        if with_metrics {
            header.push("METRICS");
        }
        output::table(
            &header,
            view.brokers
                .iter()
                .map(|r| {
                    let first = if dedicated {
                        vec![r.id.to_string(), r.role.to_string()]
                    } else {
                        vec![r.id.to_string()]
                    };
                    first
                        .into_iter()
                        .chain([
                            r.address.clone(),
                            if r.running {
                                r.pid.to_string()
                            } else {
                                "-".into()
                            },
                            match (r.running, view.health.as_ref()) {
                                (true, Some(h)) if h.controller == r.id => "running (controller)",
                                (true, _) => "running",
                                (false, _) => "stopped",
                            }
                            .to_string(),
                            r.data_dir.clone(),
                        ])
                        .chain(with_metrics.then(|| match &r.metrics {
                            Some(url) => url.trim_end_matches("/metrics").to_string(),
                            None => "-".to_string(),
                        }))
                        .collect()
                })
                .collect(),
        );
        let count = |role: &str| {
            let of_role = view.brokers.iter().filter(|r| r.role == role);
            (
                of_role.clone().filter(|r| r.running).count(),
                of_role.count(),
            )
        };
        let (alive, brokers) = count("broker");
        let mut summary = format!("\nbrokers: {alive} of {brokers} running");
        if dedicated {
            let (alive, controllers) = count("controller");
            summary.push_str(&format!("\ncontrollers: {alive} of {controllers} running"));
        }
        if let Some(first) = view.brokers.first() {
            let dir = std::path::Path::new(&first.log)
                .parent()
                .map_or_else(String::new, |d| d.display().to_string());
            summary.push_str(&format!(
                "\nlogs: {dir}/{}-N.log (`kfk cluster logs N [-f]`)",
                if dedicated {
                    "{broker,controller}"
                } else {
                    "broker"
                }
            ));
        }
        if let Some(h) = &view.health {
            summary.push_str(&format!(
                "\ncontroller: {}\npartitions: {} ({} under-replicated, {} offline)",
                match (&h.quorum_problem, h.controller) {
                    (Some(why), _) => format!("none: {why}"),
                    (None, c) if c < 0 => "none".to_string(),
                    (None, c) => c.to_string(),
                },
                h.partitions,
                h.under_replicated_partitions,
                h.offline_partitions
            ));
        }
        summary.push_str(&format!("\nbootstrap: {}", state.bootstrap()));
        if let Some(url) = rest_url(state) {
            summary.push_str(&format!("\nrest proxy: {url}"));
        }
        if with_metrics {
            summary.push_str(
                "\nmetrics: each node's METRICS address serves /metrics (Prometheus), /healthz and /readyz; `kfk top` shows them live",
            );
        }
        output::println_safe(&summary);
        Ok(())
    })
}
