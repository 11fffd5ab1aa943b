//! `kfk top`: the cluster at a glance, refreshed in place, from the same
//! metrics Prometheus scrapes, for those without a Grafana: each node's
//! state, partitions and rates, the busiest topics, and consumer group lag.

mod figures;
mod source;

use std::io::IsTerminal;

use comfy_table::presets::{NOTHING, UTF8_FULL_CONDENSED};
use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::cli::TopArgs;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::local::ClusterState;
use crate::output::{self, OutputFormat};
use figures::{Round, View};
use source::Endpoint;

/// The endpoints to read: `--metrics`, else every node of the local
/// cluster that serves metrics.
fn endpoints(ctx: &Ctx, args: &TopArgs) -> CliResult<Vec<Endpoint>> {
    if !args.metrics.is_empty() {
        return args
            .metrics
            .iter()
            .flat_map(|m| m.split(','))
            .filter(|m| !m.trim().is_empty())
            .map(|m| Endpoint::parse(m.trim()))
            .collect();
    }
    let hint = "pass --metrics HOST:PORT for each node (where kfkd --metrics-listen serves)";
    let (_, from) = ctx.bootstrap().map_err(|e| e.hint(hint))?;
    if from != "local cluster" {
        return Err(CliError::usage(format!(
            "kfk top reads the nodes' metrics endpoints, and the cluster named by {from} has none on record"
        ))
        .hint(hint));
    }
    let state = ClusterState::load(&ctx.home.cluster_state_file())?
        .ok_or_else(|| CliError::new("no local cluster").hint("start one with `kfk cluster up`"))?;
    let found: Vec<Endpoint> = state
        .brokers
        .iter()
        .chain(&state.controllers)
        .filter_map(|b| b.metrics_port)
        .map(|port| Endpoint {
            host: "127.0.0.1".into(),
            port,
            path: "/metrics".into(),
        })
        .collect();
    if found.is_empty() {
        return Err(
            CliError::new("the local cluster's nodes serve no metrics").hint(
                "it was started before kfk served them: `kfk cluster down` and `kfk cluster up` again",
            ),
        );
    }
    Ok(found)
}

/// Scrapes every endpoint at once.
async fn round(endpoints: &[Endpoint]) -> Round {
    let at = std::time::Instant::now();
    let tasks: Vec<_> = endpoints
        .iter()
        .cloned()
        .map(|e| tokio::spawn(async move { source::scrape(&e).await }))
        .collect();
    let mut pages = Vec::with_capacity(tasks.len());
    for t in tasks {
        pages.push(
            t.await
                .unwrap_or_else(|e| Err(format!("scrape failed: {e}"))),
        );
    }
    Round { pages, at }
}

pub async fn run(ctx: &Ctx, args: &TopArgs) -> CliResult {
    let endpoints = endpoints(ctx, args)?;
    if args.interval.is_zero() {
        return Err(CliError::usage("--interval must be longer than 0"));
    }
    let format = ctx.format();
    let live = format == OutputFormat::Table && std::io::stdout().is_terminal();
    // On a terminal, until Ctrl-C; in a pipe, one view unless -n says more.
    let iterations = args.iterations.or((!live).then_some(1));
    let term = console::Term::stdout();
    if live {
        let _ = term.hide_cursor();
        let _ = term.clear_screen();
        output::println_safe(&format!(
            "kfk top: measuring rates over {} from {} node(s)…",
            humantime::format_duration(args.interval),
            endpoints.len()
        ));
    }
    let mut before = round(&endpoints).await;
    let mut shown = 0u64;
    let outcome = loop {
        tokio::select! {
            () = tokio::time::sleep(args.interval) => {}
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
        let now = round(&endpoints).await;
        let view = View::between(&endpoints, &before, &now);
        before = now;
        shown += 1;
        match format {
            OutputFormat::Table => {
                let text = render(&view, args.topics, live);
                if live {
                    let _ = term.clear_screen();
                }
                output::println_safe(&text);
            }
            // One object per line, so a stream of views can be read as it comes.
            OutputFormat::Jsonl => output::structured(OutputFormat::Jsonl, &view)?,
            f => output::structured(f, &view)?,
        }
        if !live
            && view
                .nodes
                .iter()
                .all(|n| n.partitions.is_none() && n.roles.is_none())
        {
            let why = view
                .nodes
                .first()
                .map(|n| n.status.clone())
                .unwrap_or_default();
            break Err(CliError::new(format!("no metrics endpoint answered ({why})"))
                .hint("is the cluster running? `kfk cluster status` lists each node's METRICS address"));
        }
        if iterations.is_some_and(|n| shown >= n) {
            break Ok(());
        }
    };
    if live {
        let _ = term.show_cursor();
    }
    outcome
}

/// A table without borders in pipes, with them on a terminal.
fn table(live: bool, header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(if live { UTF8_FULL_CONDENSED } else { NOTHING });
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.iter().copied());
    for r in rows {
        t.add_row(r);
    }
    for i in 1..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn render(view: &View, max_topics: usize, live: bool) -> String {
    let up = view
        .nodes
        .iter()
        .filter(|n| n.roles.is_some() || n.partitions.is_some())
        .count();
    let mut out = format!(
        "{} node(s), {up} answering · controller {} · {} under-replicated{} · rates over {:.1} s{}\n\n",
        view.nodes.len(),
        view.controller.as_deref().unwrap_or("unknown"),
        view.under_replicated(),
        view.offline_partitions
            .map(|n| format!(", {n} offline"))
            .unwrap_or_default(),
        view.interval_secs,
        if live { " · Ctrl-C quits" } else { "" },
    );
    let dash = || "-".to_string();
    let num = |v: Option<u64>| v.map_or_else(dash, |v| v.to_string());
    let nodes = view
        .nodes
        .iter()
        .map(|n| {
            let node = if view.controller.as_deref() == Some(n.node.as_str()) {
                format!("{}*", n.node)
            } else {
                n.node.clone()
            };
            vec![
                node,
                n.status.clone(),
                num(n.partitions),
                num(n.leaders),
                num(n.under_replicated),
                n.messages_in_per_sec.map_or_else(dash, per_sec),
                n.bytes_in_per_sec.map_or_else(dash, bytes_per_sec),
                n.bytes_out_per_sec.map_or_else(dash, bytes_per_sec),
                n.replication_bytes_in_per_sec
                    .map_or_else(dash, bytes_per_sec),
                n.requests_per_sec.map_or_else(dash, per_sec),
                n.produce_ms.map_or_else(dash, |ms| format!("{ms:.1}")),
                num(n.connections),
                n.resident_bytes.map_or_else(dash, bytes),
            ]
        })
        .collect();
    out.push_str(&table(
        live,
        &[
            "NODE",
            "STATUS",
            "PARTITIONS",
            "LEADERS",
            "URP",
            "MSG/S IN",
            "IN",
            "OUT",
            "REPL IN",
            "REQ/S",
            "PRODUCE MS",
            "CONNS",
            "RSS",
        ],
        nodes,
    ));
    let topics: Vec<Vec<String>> = view
        .topics
        .iter()
        .take(max_topics)
        .map(|t| {
            vec![
                t.topic.clone(),
                per_sec(t.messages_in_per_sec),
                bytes_per_sec(t.bytes_in_per_sec),
                bytes_per_sec(t.bytes_out_per_sec),
                t.partitions.to_string(),
                t.under_replicated.to_string(),
                bytes(t.size_bytes),
            ]
        })
        .collect();
    if !topics.is_empty() {
        out.push_str("\n\n");
        out.push_str(&table(
            live,
            &[
                "TOPIC",
                "MSG/S IN",
                "IN",
                "OUT",
                "PARTITIONS",
                "URP",
                "SIZE",
            ],
            topics,
        ));
        if view.topics.len() > max_topics {
            out.push_str(&format!(
                "\n… and {} quieter topic(s) (--topics N shows more)",
                view.topics.len() - max_topics
            ));
        }
    }
    let groups: Vec<Vec<String>> = view
        .groups
        .iter()
        .map(|g| {
            vec![
                g.group.clone(),
                g.lag.to_string(),
                g.max_lag.to_string(),
                g.partitions.to_string(),
                g.lag_change_per_sec
                    .map_or_else(dash, |c| format!("{c:+.1}")),
            ]
        })
        .collect();
    if !groups.is_empty() {
        out.push_str("\n\n");
        out.push_str(&table(
            live,
            &["GROUP", "LAG", "MAX LAG", "PARTITIONS", "LAG Δ/S"],
            groups,
        ));
    }
    out
}

/// A count per second, short: 950/s, 12.3k/s, 1.2M/s.
fn per_sec(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:.0}/s")
    } else if v < 1e6 {
        format!("{:.1}k/s", v / 1e3)
    } else {
        format!("{:.1}M/s", v / 1e6)
    }
}

fn bytes_per_sec(v: f64) -> String {
    format!("{}/s", bytes(v.max(0.0) as u64))
}

/// Bytes in binary units, as `du -h` prints them: 512 B, 3.4 KiB, 1.2 GiB.
fn bytes(v: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if v < 1024 {
        return format!("{v} B");
    }
    let mut x = v as f64 / 1024.0;
    let mut unit = 0;
    while x >= 1024.0 && unit + 1 < UNITS.len() {
        x /= 1024.0;
        unit += 1;
    }
    format!("{x:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_short_and_say_their_unit() {
        assert_eq!(per_sec(950.2), "950/s");
        assert_eq!(per_sec(12_345.0), "12.3k/s");
        assert_eq!(per_sec(2_500_000.0), "2.5M/s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 + 512), "3.5 KiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
        assert_eq!(bytes_per_sec(1_048_576.0), "1.0 MiB/s");
    }
}
