//! `kfk cluster up|status|down`: a local cluster of kfkd processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kfk_client::{Client, ClientConfig};
use serde::Serialize;

use crate::cli::{ClusterDownArgs, ClusterUpArgs, StartBrokerArgs, StopBrokerArgs};
use crate::cluster_file::ClusterFile;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::local::{ClusterState, LocalBroker, LocalRestProxy, is_alive};
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
            .is_some_and(|new| String::from_utf8_lossy(new).contains(kfk_wire::KFKD_READY))
    })
}

/// Whether the broker on `port` answers Metadata listing every broker in
/// `ids` (registered and unfenced) and a controller: then a topic of any
/// replication factor up to the cluster's size can be created through it.
async fn serves_metadata(port: u16, ids: &[i32]) -> bool {
    let mut config = ClientConfig::new([format!("127.0.0.1:{port}")]);
    config.connect_timeout = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(2);
    let Ok(client) = Client::connect(config).await else {
        return false;
    };
    match client.refresh(None).await {
        Ok(meta) => meta.controller_id >= 0 && ids.iter().all(|id| meta.brokers.contains_key(id)),
        Err(_) => false,
    }
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

/// What the cluster's metadata says about its health.
#[derive(Serialize, Default)]
struct Health {
    /// The active controller, -1 when there is none.
    controller: i32,
    partitions: usize,
    under_replicated_partitions: usize,
    offline_partitions: usize,
}

/// Asks the running brokers for metadata; `None` when none answers.
async fn health(state: &ClusterState) -> Option<Health> {
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
fn rest_url(state: &ClusterState) -> Option<String> {
    state
        .rest_proxy
        .as_ref()
        .filter(|r| is_alive(r.pid))
        .map(|r| format!("http://127.0.0.1:{}", r.port))
}

#[derive(Serialize)]
struct ClusterView {
    bootstrap: String,
    rest_proxy: Option<String>,
    brokers: Vec<BrokerRow>,
    #[serde(flatten)]
    health: Option<Health>,
}

fn show(
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

/// One broker to start: where it listens and what it is told.
struct BrokerPlan {
    id: i32,
    port: u16,
    controller_port: Option<u16>,
    rack: Option<String>,
    settings: BTreeMap<String, serde_yaml::Value>,
}

/// The brokers `--brokers N --base-port P` describe.
/// How a flag-started cluster was shaped, kept in its data directory so
/// that a plain `kfk cluster up` restarts the same cluster: starting fewer
/// brokers than its quorum has voters would leave it without a majority.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Shape {
    brokers: u16,
    base_port: Option<u16>,
}

const SHAPE_FILE: &str = "kfk-cluster.json";

/// The shape of the cluster already in `data_dir`, if any: the saved file,
/// or (for clusters started before it existed) its broker directories.
fn saved_shape(data_dir: &std::path::Path) -> Option<Shape> {
    if let Ok(bytes) = std::fs::read(data_dir.join(SHAPE_FILE))
        && let Ok(shape) = serde_json::from_slice(&bytes)
    {
        return Some(shape);
    }
    let brokers = std::fs::read_dir(data_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("broker-"))
                .is_some_and(|id| id.parse::<u16>().is_ok())
                && e.path().is_dir()
        })
        .count();
    (brokers > 0).then_some(Shape {
        brokers: brokers as u16,
        base_port: None,
    })
}

fn plan_from_flags(args: &ClusterUpArgs, data_dir: &std::path::Path) -> CliResult<Vec<BrokerPlan>> {
    let saved = saved_shape(data_dir);
    let brokers = match (args.brokers, saved) {
        (Some(n), Some(s)) if n != s.brokers => {
            return Err(CliError::usage(format!(
                "the cluster in {} has {} broker(s), not {n}",
                data_dir.display(),
                s.brokers
            ))
            .hint(format!(
                "run `kfk cluster up` to restart it as it was, or `kfk cluster down --purge` first to start a new cluster of {n}"
            )));
        }
        (Some(n), _) => n,
        (None, Some(s)) => s.brokers,
        (None, None) => 1,
    };
    if !(1..=9).contains(&brokers) {
        return Err(
            CliError::usage(format!("--brokers {brokers} is out of range"))
                .hint("a local cluster has 1 to 9 brokers"),
        );
    }
    let base_port = args
        .base_port
        .or(saved.and_then(|s| s.base_port))
        .unwrap_or(9092);
    (1..=brokers)
        .map(|i| {
            let too_high = || CliError::usage("--base-port too high");
            Ok(BrokerPlan {
                id: i32::from(i),
                port: base_port.checked_add(i - 1).ok_or_else(too_high)?,
                // Raft traffic 100 ports above the client port.
                controller_port: Some(base_port.checked_add(100 + i - 1).ok_or_else(too_high)?),
                rack: None,
                settings: BTreeMap::new(),
            })
        })
        .collect()
}

/// The brokers a cluster file describes.
fn plan_from_file(file: &ClusterFile) -> CliResult<Vec<BrokerPlan>> {
    file.brokers
        .iter()
        .map(|b| {
            Ok(BrokerPlan {
                id: b.id,
                port: b.port,
                controller_port: Some(match b.controller_port {
                    Some(p) => p,
                    None => b.port.checked_add(100).ok_or_else(|| {
                        CliError::usage(format!(
                            "broker {}: port {} leaves no room for controller_port (port + 100); set it",
                            b.id, b.port
                        ))
                    })?,
                }),
                rack: b.rack.clone(),
                settings: file.settings_for(b),
            })
        })
        .collect()
}

/// Writes a broker's settings as a kfkd config file and has kfkd check it, so
/// a wrong key fails here, naming its line in the cluster file.
fn write_settings(
    kfkd: &std::path::Path,
    plan: &BrokerPlan,
    path: &std::path::Path,
    source: Option<(&std::path::Path, &str)>,
) -> CliResult {
    let yaml = serde_yaml::to_string(&plan.settings).map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(path, yaml)?;
    let out = Command::new(kfkd)
        .arg("--config")
        .arg(path)
        .arg("--check-config")
        .env("RUST_LOG", "off")
        .output()
        .map_err(|e| CliError::new(format!("cannot run {}: {e}", kfkd.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("kfkd: error: "))
        .unwrap_or(stderr.trim())
        .to_string();
    // Point at the offending key in the user's file when the message names one.
    let key = plan
        .settings
        .keys()
        .find(|k| reason.contains(&format!("`{k}`")) || reason.contains(k.as_str()))
        .cloned()
        .or_else(|| reason.split('`').nth(1).map(str::to_string));
    let at = match (source, &key) {
        (Some((file, text)), Some(k)) => match crate::cluster_file::line_of(text, k) {
            Some(line) => format!("{} line {line}: ", file.display()),
            None => format!("{}: ", file.display()),
        },
        (Some((file, _)), None) => format!("{}: ", file.display()),
        _ => String::new(),
    };
    // The reason's own position is in the generated file, not the user's.
    let reason = reason.rsplit_once(": ").map_or(reason.as_str(), |(_, r)| r);
    let reason = match reason.rfind(" at line ") {
        Some(i) if source.is_some() => &reason[..i],
        _ => reason,
    };
    Err(CliError::usage(format!("{at}broker {}: {reason}", plan.id)))
}

pub async fn up(ctx: &Ctx, args: &ClusterUpArgs) -> CliResult {
    let file = args.file.as_deref().map(ClusterFile::load).transpose()?;
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.as_ref().and_then(|f| f.data_dir.clone()))
        .unwrap_or_else(|| ctx.home.default_cluster_dir());
    let plan = match &file {
        Some(f) => plan_from_file(f)?,
        None => plan_from_flags(args, &data_dir)?,
    };
    let state_file = ctx.home.cluster_state_file();
    if let Some(state) = ClusterState::load(&state_file)?
        && !state.running().is_empty()
    {
        output::status("The local cluster is already running.");
        let rows = rows(&state).await;
        let health = health(&state).await;
        return show(ctx, &state, rows, health);
    }
    let kfkd = kfkd_binary()?;
    let source_text = match &args.file {
        Some(p) => Some(std::fs::read_to_string(p)?),
        None => None,
    };
    let source = args.file.as_deref().zip(source_text.as_deref());
    // The first 3 brokers (5 from 5 brokers on) vote in the metadata quorum;
    // the others follow it as learners. One broker runs its quorum alone.
    let multi = plan.len() > 1;
    let voter_count = if plan.len() >= 5 { 5 } else { 3 };
    let voters: Vec<String> = plan
        .iter()
        .take(voter_count)
        .filter_map(|b| b.controller_port.map(|p| format!("{}@127.0.0.1:{p}", b.id)))
        .collect();
    // Broker settings from the environment apply to restarts too.
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("KFKD_"))
        .collect();
    let hint = if file.is_some() {
        "stop what uses it, or change the ports in the cluster file"
    } else {
        "stop what uses it, or pick another with --base-port"
    };
    let rest_port = args.rest_proxy.or(file.as_ref().and_then(|f| f.rest_proxy));
    if let Some(p) = rest_port
        && std::net::TcpListener::bind(("127.0.0.1", p)).is_err()
    {
        return Err(CliError::new(format!("port {p} (REST proxy) is already in use")).hint(hint));
    }
    for b in &plan {
        let ports = std::iter::once(b.port).chain(b.controller_port.filter(|_| multi));
        for p in ports {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                return Err(CliError::new(format!("port {p} is already in use")).hint(hint));
            }
        }
    }
    std::fs::create_dir_all(&data_dir)?;
    if file.is_none() {
        let shape = Shape {
            brokers: plan.len() as u16,
            base_port: Some(plan[0].port),
        };
        std::fs::write(
            data_dir.join(SHAPE_FILE),
            serde_json::to_vec(&shape).map_err(|e| CliError::new(e.to_string()))?,
        )?;
    }
    let mut brokers = Vec::new();
    for b in &plan {
        let dir = data_dir.join(format!("broker-{}", b.id));
        std::fs::create_dir_all(&dir)?;
        let mut kfkd_args = vec![
            "--node-id".to_string(),
            b.id.to_string(),
            "--data-dir".to_string(),
            dir.display().to_string(),
            "--listen".to_string(),
            format!("127.0.0.1:{}", b.port),
        ];
        if let Some(rack) = &b.rack {
            kfkd_args.extend(["--rack".to_string(), rack.clone()]);
        }
        if multi && let Some(cport) = b.controller_port {
            kfkd_args.extend([
                "--controller-listen".to_string(),
                format!("127.0.0.1:{cport}"),
                "--voters".to_string(),
                voters.join(","),
            ]);
        }
        if !b.settings.is_empty() {
            let path = data_dir.join(format!("broker-{}.yaml", b.id));
            write_settings(&kfkd, b, &path, source)?;
            kfkd_args.extend(["--config".to_string(), path.display().to_string()]);
        }
        brokers.push(LocalBroker {
            id: b.id,
            pid: 0,
            port: b.port,
            data_dir: dir,
            log: data_dir.join(format!("broker-{}.log", b.id)),
            args: kfkd_args,
            env: env.clone(),
        });
    }
    let mut log_starts = Vec::new();
    for b in &mut brokers {
        log_starts.push(spawn(&kfkd, b)?);
    }
    let mut state = ClusterState {
        data_dir: data_dir.clone(),
        brokers,
        rest_proxy: None,
    };
    state.save(&state_file)?;

    let started = Instant::now();
    let ids: Vec<i32> = state.brokers.iter().map(|b| b.id).collect();
    wait_ready(&state.brokers, &log_starts, &ids).await?;
    output::status(&format!(
        "Started {} broker(s) in {:.1} s.",
        state.brokers.len(),
        started.elapsed().as_secs_f64()
    ));
    if let Some(port) = rest_port {
        state.rest_proxy = Some(start_rest_proxy(&state, port).await?);
        state.save(&state_file)?;
    }
    let rows = rows(&state).await;
    let health = health(&state).await;
    show(ctx, &state, rows, health)
}

/// Starts one broker process with its recorded arguments, appending to its
/// log; returns where in the log this run's output starts.
fn spawn(kfkd: &std::path::Path, b: &mut LocalBroker) -> CliResult<u64> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&b.log)?;
    let log_start = log.metadata().map_or(0, |m| m.len());
    let mut cmd = Command::new(kfkd);
    cmd.args(&b.args)
        .envs(b.env.iter().map(|(k, v)| (k, v)))
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
    b.pid = child.id();
    Ok(log_start)
}

/// Starts `kfk rest-proxy` on `port` in front of every broker of the cluster
/// and waits until it serves, so it outlives any one broker.
async fn start_rest_proxy(state: &ClusterState, port: u16) -> CliResult<LocalRestProxy> {
    let kfk = std::env::current_exe()
        .map_err(|e| CliError::new(format!("cannot find the kfk binary: {e}")))?;
    let log_path = state.data_dir.join("rest-proxy.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let log_start = log.metadata().map_or(0, |m| m.len());
    let mut cmd = Command::new(&kfk);
    cmd.args(["-b", &state.bootstrap(), "rest-proxy", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let child = cmd
        .spawn()
        .map_err(|e| CliError::new(format!("cannot start {}: {e}", kfk.display())))?;
    let proxy = LocalRestProxy {
        pid: child.id(),
        port,
        log: log_path,
    };
    let started = Instant::now();
    loop {
        let ready = std::fs::read(&proxy.log).ok().is_some_and(|l| {
            l.get(log_start as usize..).is_some_and(|new| {
                String::from_utf8_lossy(new).contains(crate::commands::rest_proxy::READY)
            })
        });
        if ready {
            return Ok(proxy);
        }
        if !is_alive(proxy.pid) || started.elapsed() > START_PATIENCE {
            signal(proxy.pid, "KILL");
            let log = std::fs::read_to_string(&proxy.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(3).collect();
            return Err(CliError::new(format!(
                "the REST proxy did not start: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))
            .hint(format!("see {}", proxy.log.display())));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every broker logged that it started and answers requests.
/// Waits until each of `brokers` logged that it listens and serves metadata
/// that lists all of `cluster` (the ids every broker must see).
async fn wait_ready(brokers: &[LocalBroker], log_starts: &[u64], cluster: &[i32]) -> CliResult {
    // One spinner per broker, each ticked off as its broker answers.
    let bars = crate::term::spinners();
    let spinners: Vec<indicatif::ProgressBar> = brokers
        .iter()
        .map(|b| {
            bars.add(crate::term::spinner(format!(
                "broker {} (127.0.0.1:{}) starting",
                b.id, b.port
            )))
        })
        .collect();
    let started = Instant::now();
    let mut waiting: Vec<usize> = (0..brokers.len()).collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for i in waiting {
            let b = &brokers[i];
            // Ready when this broker itself logged that it listens (another
            // process could answer on the port) and its metadata shows the
            // whole cluster, so `-r N` works right after `cluster up`.
            if started_listening(&b.log, log_starts[i]) && serves_metadata(b.port, cluster).await {
                spinners[i].finish_with_message(format!(
                    "broker {} (127.0.0.1:{}) ready in {:.2} s",
                    b.id,
                    b.port,
                    started.elapsed().as_secs_f64()
                ));
                continue;
            }
            if !is_alive(b.pid) || started.elapsed() > START_PATIENCE {
                let _ = bars.clear();
                let log = std::fs::read_to_string(&b.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(CliError::new(format!(
                    "broker {} did not start: {}",
                    b.id,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ))
                .hint(format!("see {}", b.log.display())));
            }
            still.push(i);
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let _ = bars.clear();
    Ok(())
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

/// `kfk cluster stop-broker ID [--kill]`.
pub async fn stop_broker(_ctx: &Ctx, args: &StopBrokerArgs) -> CliResult {
    let state = local_cluster(_ctx)?;
    let b = state.broker(args.id)?;
    if !is_alive(b.pid) {
        output::status(&format!("Broker {} is not running.", b.id));
        return Ok(());
    }
    signal(b.pid, if args.kill { "KILL" } else { "TERM" });
    let deadline = Instant::now() + STOP_PATIENCE;
    while is_alive(b.pid) {
        if Instant::now() > deadline {
            signal(b.pid, "KILL");
            output::status(&format!(
                "Broker {} did not stop in time and was killed.",
                b.id
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    output::status(&format!(
        "{} broker {}.",
        if args.kill { "Killed" } else { "Stopped" },
        b.id
    ));
    Ok(())
}

/// `kfk cluster start-broker ID`.
pub async fn start_broker(ctx: &Ctx, args: &StartBrokerArgs) -> CliResult {
    let mut state = local_cluster(ctx)?;
    if is_alive(state.broker(args.id)?.pid) {
        output::status(&format!("Broker {} is already running.", args.id));
        return Ok(());
    }
    if state.broker(args.id)?.args.is_empty() {
        return Err(CliError::new(format!(
            "the cluster state does not say how broker {} was started",
            args.id
        ))
        .hint("restart the whole cluster with `kfk cluster down` and `kfk cluster up`"));
    }
    let kfkd = kfkd_binary()?;
    let started = Instant::now();
    let b = state
        .brokers
        .iter_mut()
        .find(|b| b.id == args.id)
        .ok_or_else(|| CliError::usage(format!("no broker {}", args.id)))?;
    let log_start = spawn(&kfkd, b)?;
    let b = b.clone();
    state.save(&ctx.home.cluster_state_file())?;
    wait_ready(std::slice::from_ref(&b), &[log_start], &[b.id]).await?;
    output::status(&format!(
        "Started broker {} in {:.1} s.",
        b.id,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn local_cluster(ctx: &Ctx) -> CliResult<ClusterState> {
    ClusterState::load(&ctx.home.cluster_state_file())?
        .ok_or_else(|| CliError::new("no local cluster").hint("start one with `kfk cluster up`"))
}

pub async fn status(ctx: &Ctx) -> CliResult {
    match ClusterState::load(&ctx.home.cluster_state_file())? {
        Some(state) => {
            let rows = rows(&state).await;
            let health = health(&state).await;
            show(ctx, &state, rows, health)
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
    if args.purge {
        crate::term::confirm(
            args.yes,
            &format!(
                "Stop the cluster and delete all its data in {}?",
                state.data_dir.display()
            ),
            "cluster not stopped, nothing deleted",
        )?;
    }
    if let Some(r) = state.rest_proxy.as_ref().filter(|r| is_alive(r.pid)) {
        signal(r.pid, "TERM");
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
