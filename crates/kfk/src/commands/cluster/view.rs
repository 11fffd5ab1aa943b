//! What `kfk cluster up` and `status` show: each broker's process and
//! address, the cluster's health (controller, under-replicated and offline
//! partitions) and where the REST proxy is.

use std::time::Duration;

use kfk_client::{Client, ClientConfig};
use serde::Serialize;

use super::process::answers;
use crate::ctx::Ctx;
use crate::error::CliResult;
use crate::local::{ClusterState, is_alive};
use crate::output;

#[derive(Serialize)]
pub(super) struct BrokerRow {
    pub(super) id: i32,
    pub(super) address: String,
    pub(super) pid: u32,
    pub(super) running: bool,
    pub(super) data_dir: String,
    /// The broker's log file (`kfk cluster logs ID` prints it).
    pub(super) log: String,
}

pub(super) async fn rows(state: &ClusterState) -> Vec<BrokerRow> {
    let mut out = Vec::new();
    for b in &state.brokers {
        let running = is_alive(b.pid) && answers(b.port).await;
        out.push(BrokerRow {
            id: b.id,
            address: format!("127.0.0.1:{}", b.port),
            pid: b.pid,
            running,
            data_dir: b.data_dir.display().to_string(),
            log: b.log.display().to_string(),
        });
    }
    out
}

/// What the cluster's metadata says about its health.
#[derive(Serialize, Default)]
pub(super) struct Health {
    /// The active controller, -1 when there is none.
    pub(super) controller: i32,
    pub(super) partitions: usize,
    pub(super) under_replicated_partitions: usize,
    pub(super) offline_partitions: usize,
}

/// Asks the running brokers for metadata; `None` when none answers.
pub(super) async fn health(state: &ClusterState) -> Option<Health> {
    let running: Vec<String> = state
        .running()
        .iter()
        .map(|b| format!("127.0.0.1:{}", b.port))
        .collect();
    if running.is_empty() {
        return None;
    }
    let mut config = ClientConfig::new(running);
    config.connect_timeout = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(3);
    let client = Client::connect(config).await.ok()?;
    let meta = client.refresh(None).await.ok()?;
    let parts = meta.topics.values().flat_map(|t| &t.partitions);
    Some(Health {
        controller: meta.controller_id,
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
        output::table(
            &["BROKER", "ADDRESS", "PID", "STATUS", "DATA"],
            view.brokers
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
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
                    ]
                })
                .collect(),
        );
        let alive = view.brokers.iter().filter(|r| r.running).count();
        let mut summary = format!("\nbrokers: {alive} of {} running", view.brokers.len());
        if let Some(first) = view.brokers.first() {
            let dir = std::path::Path::new(&first.log)
                .parent()
                .map_or_else(String::new, |d| d.display().to_string());
            summary.push_str(&format!(
                "\nlogs: {dir}/broker-N.log (`kfk cluster logs N [-f]`)"
            ));
        }
        if let Some(h) = &view.health {
            summary.push_str(&format!(
                "\ncontroller: {}\npartitions: {} ({} under-replicated, {} offline)",
                if h.controller < 0 {
                    "none".to_string()
                } else {
                    h.controller.to_string()
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
        output::println_safe(&summary);
        Ok(())
    })
}
