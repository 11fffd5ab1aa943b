//! `kfk cluster up|status|down`: a local cluster of kfkd processes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kfk_client::{Client, ClientConfig};
use serde::Serialize;

use crate::cli::{ClusterDownArgs, ClusterUpArgs, OutputFormat};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::local::{ClusterState, LocalBroker, is_alive};
use crate::output;

/// How long brokers get to answer after starting, and to stop.
const START_PATIENCE: Duration = Duration::from_secs(20);
const STOP_PATIENCE: Duration = Duration::from_secs(20);

/// The kfkd binary: beside this kfk, else on PATH.
fn kfkd_binary() -> CliResult<PathBuf> {
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
    {
        let beside = dir.join("kfkd");
        if beside.exists() {
            return Ok(beside);
        }
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kfkd"))
                .find(|p| p.exists())
        })
        .ok_or_else(|| {
            CliError::new("kfkd not found next to kfk or on PATH")
                .hint("install both with ./install.sh")
        })
}

/// Whether the broker wrote its start line to its log since `from`.
fn started_listening(log: &std::path::Path, from: u64) -> bool {
    std::fs::read(log).is_ok_and(|bytes| {
        bytes
            .get(from as usize..)
            .is_some_and(|new| String::from_utf8_lossy(new).contains("kfkd started"))
    })
}

async fn answers(port: u16) -> bool {
    let mut config = ClientConfig::new([format!("127.0.0.1:{port}")]);
    config.connect_timeout = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(2);
    Client::connect(config).await.is_ok()
}

#[derive(Serialize)]
struct BrokerRow {
    id: i32,
    address: String,
    pid: u32,
    running: bool,
    data_dir: String,
}

async fn rows(state: &ClusterState) -> Vec<BrokerRow> {
    let mut out = Vec::new();
    for b in &state.brokers {
        let running = is_alive(b.pid) && answers(b.port).await;
        out.push(BrokerRow {
            id: b.id,
            address: format!("127.0.0.1:{}", b.port),
            pid: b.pid,
            running,
            data_dir: b.data_dir.display().to_string(),
        });
    }
    out
}

#[derive(Serialize)]
struct ClusterView {
    bootstrap: String,
    brokers: Vec<BrokerRow>,
}

fn show(ctx: &Ctx, state: &ClusterState, rows: Vec<BrokerRow>) -> CliResult {
    match ctx.format() {
        OutputFormat::Table => {
            output::table(
                &["BROKER", "ADDRESS", "PID", "STATUS", "DATA"],
                rows.iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.address.clone(),
                            r.pid.to_string(),
                            if r.running { "running" } else { "stopped" }.to_string(),
                            r.data_dir.clone(),
                        ]
                    })
                    .collect(),
            );
            output::println_safe(&format!("\nbootstrap: {}", state.bootstrap()));
            Ok(())
        }
        f => output::structured(
            f,
            &ClusterView {
                bootstrap: state.bootstrap(),
                brokers: rows,
            },
        ),
    }
}

pub async fn up(ctx: &Ctx, args: &ClusterUpArgs) -> CliResult {
    if !(1..=9).contains(&args.brokers) {
        return Err(
            CliError::usage(format!("--brokers {} is out of range", args.brokers))
                .hint("a local cluster has 1 to 9 brokers"),
        );
    }
    let state_file = ctx.home.cluster_state_file();
    if let Some(state) = ClusterState::load(&state_file)?
        && !state.running().is_empty()
    {
        output::status("The local cluster is already running.");
        let rows = rows(&state).await;
        return show(ctx, &state, rows);
    }
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| ctx.home.default_cluster_dir());
    let kfkd = kfkd_binary()?;
    // Every broker of a multi-broker cluster is a voter of the metadata quorum,
    // listening for Raft traffic 100 ports above its client port.
    let controller_port = |i: u16| args.base_port.checked_add(100 + i - 1);
    let voters: Vec<String> = if args.brokers > 1 {
        (1..=args.brokers)
            .map(|i| {
                controller_port(i)
                    .map(|p| format!("{i}@127.0.0.1:{p}"))
                    .ok_or_else(|| CliError::usage("--base-port too high"))
            })
            .collect::<CliResult<_>>()?
    } else {
        Vec::new()
    };
    let mut brokers = Vec::new();
    let mut log_starts = Vec::new();
    for i in 1..=args.brokers {
        let port = args
            .base_port
            .checked_add(i - 1)
            .ok_or_else(|| CliError::usage("--base-port too high"))?;
        let mut ports = vec![port];
        if !voters.is_empty() {
            ports.extend(controller_port(i));
        }
        for p in ports {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                return Err(CliError::new(format!("port {p} is already in use"))
                    .hint("stop what uses it, or pick another with --base-port"));
            }
        }
        let dir = data_dir.join(format!("broker-{i}"));
        std::fs::create_dir_all(&dir)?;
        let log_path = data_dir.join(format!("broker-{i}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let log_start = log.metadata().map_or(0, |m| m.len());
        let mut cmd = Command::new(&kfkd);
        cmd.arg("--node-id")
            .arg(i.to_string())
            .arg("--data-dir")
            .arg(&dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        if let Some(cport) = controller_port(i).filter(|_| !voters.is_empty()) {
            cmd.arg("--controller-listen")
                .arg(format!("127.0.0.1:{cport}"))
                .arg("--voters")
                .arg(voters.join(","));
        }
        cmd
            // Info level: the log files are for operators, and readiness is read from them.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        #[cfg(unix)]
        {
            // Its own process group: a Ctrl-C meant for kfk does not stop it.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .map_err(|e| CliError::new(format!("cannot start {}: {e}", kfkd.display())))?;
        brokers.push(LocalBroker {
            id: i32::from(i),
            pid: child.id(),
            port,
            data_dir: dir,
            log: log_path,
        });
        log_starts.push(log_start);
    }
    let state = ClusterState {
        data_dir: data_dir.clone(),
        brokers,
    };
    state.save(&state_file)?;

    let spinner = std::io::stderr().is_terminal().then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message("starting kfkd");
        s.enable_steady_tick(Duration::from_millis(80));
        s
    });
    let started = Instant::now();
    for (b, log_start) in state.brokers.iter().zip(log_starts) {
        loop {
            // Ready when this broker itself logged that it listens (another
            // process could answer on the port) and it answers requests.
            if started_listening(&b.log, log_start) && answers(b.port).await {
                break;
            }
            if !is_alive(b.pid) || started.elapsed() > START_PATIENCE {
                if let Some(s) = &spinner {
                    s.finish_and_clear();
                }
                let log = std::fs::read_to_string(&b.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(CliError::new(format!(
                    "broker {} did not start: {}",
                    b.id,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ))
                .hint(format!("see {}", b.log.display())));
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    output::status(&format!(
        "Started {} broker(s) in {:.1} s.",
        state.brokers.len(),
        started.elapsed().as_secs_f64()
    ));
    let rows = rows(&state).await;
    show(ctx, &state, rows)
}

pub async fn status(ctx: &Ctx) -> CliResult {
    match ClusterState::load(&ctx.home.cluster_state_file())? {
        Some(state) => {
            let rows = rows(&state).await;
            show(ctx, &state, rows)
        }
        None => Err(CliError::new("no local cluster").hint("start one with `kfk cluster up`")),
    }
}

pub async fn down(ctx: &Ctx, args: &ClusterDownArgs) -> CliResult {
    let state_file = ctx.home.cluster_state_file();
    let Some(state) = ClusterState::load(&state_file)? else {
        output::status("No local cluster is running.");
        return Ok(());
    };
    if args.purge
        && !args.yes
        && !crate::commands::confirm(&format!("Delete all data in {}?", state.data_dir.display()))?
    {
        return Err(CliError::new("not purging").hint("pass --yes to purge without asking"));
    }
    for b in state.running() {
        let _ = Command::new("kill")
            .args(["-TERM", &b.pid.to_string()])
            .status();
    }
    let deadline = Instant::now() + STOP_PATIENCE;
    while !state.running().is_empty() {
        if Instant::now() > deadline {
            for b in state.running() {
                let _ = Command::new("kill")
                    .args(["-KILL", &b.pid.to_string()])
                    .status();
            }
            output::status("Some brokers did not stop in time and were killed.");
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    std::fs::remove_file(&state_file)?;
    if args.purge {
        std::fs::remove_dir_all(&state.data_dir).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        output::status(&format!(
            "Stopped the local cluster and deleted {}.",
            state.data_dir.display()
        ));
    } else {
        output::status(&format!(
            "Stopped the local cluster; data kept in {}.",
            state.data_dir.display()
        ));
    }
    Ok(())
}
