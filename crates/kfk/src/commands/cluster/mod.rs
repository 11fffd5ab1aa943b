//! `kfk cluster up|status|down`: a local cluster of kfkd processes.
//!
//! The commands here orchestrate; [`plan`] decides what to start, [`process`]
//! starts, waits for and signals the processes, and [`view`] shows them.

mod plan;
mod process;
mod secure;
mod view;

use std::time::{Duration, Instant};

use std::io::{Read, Seek, Write};

use crate::cli::{
    ClusterDownArgs, ClusterLogsArgs, ClusterUpArgs, StartBrokerArgs, StopBrokerArgs,
};
use crate::cluster_file::ClusterFile;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::local::{ClusterState, LocalBroker, is_alive};
use crate::output;

use plan::{NodePlan, SHAPE_FILE, Shape, plan_from_file, plan_from_flags, write_settings};
use process::{kfkd_binary, signal, spawn, start_rest_proxy, wait_ready};
use view::{health, rows, show};

const STOP_PATIENCE: Duration = Duration::from_secs(20);

/// Holds the kfk home's cluster lock, waiting (bounded) for another
/// `cluster up` to finish first.
async fn lock_home(ctx: &Ctx) -> CliResult<std::fs::File> {
    std::fs::create_dir_all(&ctx.home.data_dir)?;
    let path = ctx.home.data_dir.join("cluster.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < STOP_PATIENCE * 3 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(
                    CliError::new("another `kfk cluster up` is still running").hint(format!(
                        "wait for it, or remove {} if none is",
                        path.display()
                    )),
                );
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}

/// `cluster up` on a running cluster: starts the brokers that are stopped
/// (as `docker compose up -d` does) and the REST proxy when it is wanted and
/// not running.
async fn complete(
    state: &mut ClusterState,
    state_file: &std::path::Path,
    rest_port: Option<u16>,
) -> CliResult {
    // Controllers first: brokers need the quorum to start.
    let stopped: Vec<i32> = state
        .controllers
        .iter()
        .chain(&state.brokers)
        .filter(|b| !is_alive(b.pid))
        .map(|b| b.id)
        .collect();
    let ids: Vec<i32> = state.brokers.iter().map(|b| b.id).collect();
    if !stopped.is_empty() {
        let kfkd = kfkd_binary()?;
        let mut starting = Vec::new();
        let mut log_starts = Vec::new();
        for id in &stopped {
            if let Some(node) = state.node_mut(*id) {
                log_starts.push(spawn(&kfkd, node)?);
                starting.push(node.clone());
            }
        }
        state.save(state_file)?;
        wait_ready(&starting, &log_starts, &ids, state.secure.as_ref()).await?;
        for b in &starting {
            let role = if state.is_controller(b.id) {
                "controller"
            } else {
                "broker"
            };
            output::status(&format!("Started {role} {} again.", b.id));
        }
    }
    let running_proxy = state
        .rest_proxy
        .as_ref()
        .filter(|r| is_alive(r.pid))
        .map(|r| r.port);
    let wanted = rest_port.or(state.rest_proxy.as_ref().map(|r| r.port));
    match (wanted, running_proxy) {
        (Some(want), Some(running)) if want != running => {
            return Err(
                CliError::usage(format!("the REST proxy already runs on port {running}"))
                    .hint("stop the cluster with `kfk cluster down` to move it"),
            );
        }
        (Some(port), None) => {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Err(CliError::new(format!(
                    "port {port} (REST proxy) is already in use"
                )));
            }
            state.rest_proxy = Some(start_rest_proxy(state, port).await?);
            state.save(state_file)?;
            output::status(&format!("Started the REST proxy on port {port}."));
        }
        _ => {}
    }
    if stopped.is_empty() && (wanted.is_none() || running_proxy.is_some()) {
        output::status("The local cluster is already running.");
    }
    Ok(())
}

pub async fn up(ctx: &Ctx, args: &ClusterUpArgs) -> CliResult {
    // One `cluster up` at a time: a second waits for the first, then finds
    // the cluster running instead of half-starting another.
    let _lock = lock_home(ctx).await?;
    // A plain `up` after `up -f FILE` restarts the cluster from that file.
    let remembered = (args.file.is_none() && args.brokers.is_none() && args.base_port.is_none())
        .then(|| plan::saved_shape(&ctx.home.default_cluster_dir()))
        .flatten()
        .and_then(|s| s.file)
        .filter(|f| f.exists());
    let file_path = args.file.clone().or(remembered);
    let file = file_path.as_deref().map(ClusterFile::load).transpose()?;
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
    let rest_port = args.rest_proxy.or(file.as_ref().and_then(|f| f.rest_proxy));
    if let Some(mut state) = ClusterState::load(&state_file)?
        && state.nodes().any(|n| is_alive(n.pid))
    {
        complete(&mut state, &state_file, rest_port).await?;
        let rows = rows(&state).await;
        let health = health(&state).await;
        return show(ctx, &state, rows, health);
    }
    let kfkd = kfkd_binary()?;
    // Secure when asked, or when the cluster in the data directory was.
    let secure_wanted = args.secure
        || plan::saved_shape(&data_dir).is_some_and(|s| s.secure)
        || data_dir.join("tls").join("ca.pem").exists();
    let source_text = match &file_path {
        Some(p) => Some(std::fs::read_to_string(p)?),
        None => None,
    };
    let source = file_path.as_deref().zip(source_text.as_deref());
    // Dedicated controllers hold the metadata quorum when there are any;
    // else the first 3 brokers (5 from 5 brokers on) vote and the others
    // follow it as learners. One broker runs its quorum alone.
    let dedicated = plan.iter().any(|n| !n.broker);
    let multi = plan.len() > 1;
    let voter_count = if dedicated {
        usize::MAX
    } else if plan.len() >= 5 {
        5
    } else {
        3
    };
    let voters: Vec<String> = plan
        .iter()
        .filter(|n| !dedicated || !n.broker)
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
    if let Some(p) = rest_port
        && std::net::TcpListener::bind(("127.0.0.1", p)).is_err()
    {
        return Err(CliError::new(format!("port {p} (REST proxy) is already in use")).hint(hint));
    }
    for b in &plan {
        let internal = b
            .port
            .checked_add(crate::local::SecureCluster::INTERNAL_OFFSET)
            .filter(|_| secure_wanted && b.broker);
        let ports = std::iter::once(b.port)
            .chain(b.controller_port.filter(|_| multi))
            .chain(internal)
            .chain(metrics_port(b));
        for p in ports {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                return Err(CliError::new(format!("port {p} is already in use")).hint(hint));
            }
        }
    }
    std::fs::create_dir_all(&data_dir)?;
    let shape = Shape {
        secure: secure_wanted,
        brokers: plan.iter().filter(|n| n.broker).count() as u16,
        controllers: plan.iter().filter(|n| !n.broker).count() as u16,
        base_port: Some(plan[0].port),
        file: file_path
            .as_deref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())),
    };
    // A file-started cluster is remembered where a plain `up` looks.
    let shape_dir = if shape.file.is_some() {
        ctx.home.default_cluster_dir()
    } else {
        data_dir.clone()
    };
    std::fs::create_dir_all(&shape_dir)?;
    std::fs::write(
        shape_dir.join(SHAPE_FILE),
        serde_json::to_vec(&shape).map_err(|e| CliError::new(e.to_string()))?,
    )?;
    let secret = if multi {
        Some(cluster_secret(&data_dir)?)
    } else {
        None
    };
    let secure = if secure_wanted {
        Some(secure::prepare(&data_dir)?)
    } else {
        None
    };
    let mut brokers = Vec::new();
    let mut controllers = Vec::new();
    for b in &plan {
        let name = if b.broker { "broker" } else { "controller" };
        let dir = data_dir.join(format!("{name}-{}", b.id));
        std::fs::create_dir_all(&dir)?;
        let mut kfkd_args = vec![
            "--node-id".to_string(),
            b.id.to_string(),
            "--data-dir".to_string(),
            dir.display().to_string(),
        ];
        if b.broker {
            match &secure {
                Some(s) => kfkd_args.extend(secure::broker_args(s, b.port)?),
                None => kfkd_args.extend(["--listen".to_string(), format!("127.0.0.1:{}", b.port)]),
            }
        }
        if dedicated {
            let roles = if b.broker { "broker" } else { "controller" };
            kfkd_args.extend(["--process-roles".to_string(), roles.to_string()]);
        }
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
        if let Some(secret) = &secret {
            kfkd_args.extend([
                "--cluster-secret-file".to_string(),
                secret.display().to_string(),
            ]);
        }
        let metrics = metrics_port(b);
        if let Some(p) = metrics {
            kfkd_args.extend(["--metrics-listen".to_string(), format!("127.0.0.1:{p}")]);
        }
        if !b.settings.is_empty() {
            let path = data_dir.join(format!("{name}-{}.yaml", b.id));
            write_settings(&kfkd, b, &path, source)?;
            kfkd_args.extend(["--config".to_string(), path.display().to_string()]);
        }
        let node = LocalBroker {
            id: b.id,
            pid: 0,
            port: b.port,
            data_dir: dir,
            log: data_dir.join(format!("{name}-{}.log", b.id)),
            args: kfkd_args,
            env: env.clone(),
            metrics_port: metrics,
        };
        if b.broker {
            brokers.push(node);
        } else {
            controllers.push(node);
        }
    }
    let mut log_starts = Vec::new();
    for b in controllers.iter_mut().chain(&mut brokers) {
        log_starts.push(spawn(&kfkd, b)?);
    }
    let mut state = ClusterState {
        data_dir: data_dir.clone(),
        brokers,
        controllers,
        rest_proxy: None,
        secure: secure.clone(),
    };
    state.save(&state_file)?;

    let started = Instant::now();
    let ids: Vec<i32> = state.brokers.iter().map(|b| b.id).collect();
    let nodes: Vec<LocalBroker> = state
        .controllers
        .iter()
        .chain(&state.brokers)
        .cloned()
        .collect();
    wait_ready(&nodes, &log_starts, &ids, state.secure.as_ref()).await?;
    if let Some(secure) = &state.secure {
        secure::ensure_admin(&state, secure).await?;
        secure::write_profile(ctx, &state, secure)?;
    }
    let with = if state.controllers.is_empty() {
        String::new()
    } else {
        format!(" and {} controller(s)", state.controllers.len())
    };
    output::status(&format!(
        "Started {} broker(s){with} in {:.1} s.",
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

/// `kfk cluster stop-broker ID [--kill]`.
pub async fn stop_broker(_ctx: &Ctx, args: &StopBrokerArgs) -> CliResult {
    let state = local_cluster(_ctx)?;
    let b = state.broker(args.id)?;
    if !is_alive(b.pid) {
        output::status(&format!("Node {} is not running.", b.id));
        return Ok(());
    }
    let role = if state.is_controller(b.id) {
        "controller"
    } else {
        "broker"
    };
    signal(b.pid, if args.kill { "KILL" } else { "TERM" });
    let deadline = Instant::now() + STOP_PATIENCE;
    while is_alive(b.pid) {
        if Instant::now() > deadline {
            signal(b.pid, "KILL");
            output::status(&format!(
                "The {role} {} did not stop in time and was killed.",
                b.id
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    output::status(&format!(
        "{} {role} {}.",
        if args.kill { "Killed" } else { "Stopped" },
        b.id
    ));
    Ok(())
}

/// `kfk cluster start-broker ID`.
pub async fn start_broker(ctx: &Ctx, args: &StartBrokerArgs) -> CliResult {
    let mut state = local_cluster(ctx)?;
    if is_alive(state.broker(args.id)?.pid) {
        output::status(&format!("Node {} is already running.", args.id));
        return Ok(());
    }
    if state.broker(args.id)?.args.is_empty() {
        return Err(CliError::new(format!(
            "the cluster state does not say how node {} was started",
            args.id
        ))
        .hint("restart the whole cluster with `kfk cluster down` and `kfk cluster up`"));
    }
    let kfkd = kfkd_binary()?;
    let started = Instant::now();
    let controller = state.is_controller(args.id);
    let b = state
        .node_mut(args.id)
        .ok_or_else(|| CliError::usage(format!("no node {}", args.id)))?;
    let log_start = spawn(&kfkd, b)?;
    let b = b.clone();
    state.save(&ctx.home.cluster_state_file())?;
    let brokers: &[i32] = if controller { &[] } else { &[b.id] };
    wait_ready(
        std::slice::from_ref(&b),
        &[log_start],
        brokers,
        state.secure.as_ref(),
    )
    .await?;
    output::status(&format!(
        "Started {} {} in {:.1} s.",
        if controller { "controller" } else { "broker" },
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

/// Stops `nodes` with SIGTERM, then SIGKILL for those still running after
/// [`STOP_PATIENCE`].
async fn stop_all(nodes: &[LocalBroker]) {
    let running = || nodes.iter().filter(|b| is_alive(b.pid));
    for b in running() {
        signal(b.pid, "TERM");
    }
    let deadline = Instant::now() + STOP_PATIENCE;
    while running().next().is_some() {
        if Instant::now() > deadline {
            for b in running() {
                signal(b.pid, "KILL");
            }
            output::status("Some nodes did not stop in time and were killed.");
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
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
    // Brokers first, while the controllers can still move their
    // leaderships (controlled shutdown); then the controllers.
    stop_all(&state.brokers).await;
    stop_all(&state.controllers).await;
    std::fs::remove_file(&state_file)?;
    if args.purge && state.secure.is_some() {
        secure::forget_profile(ctx)?;
    }
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

/// Where a node serves metrics: its port + 1000 (10092 for the broker on
/// 9092), unless its settings choose (`metrics.listener`) or there is no
/// such port.
fn metrics_port(node: &NodePlan) -> Option<u16> {
    if node.settings.contains_key("metrics.listener") {
        return None;
    }
    node.port.checked_add(METRICS_OFFSET)
}

/// How far above a node's port its metrics listen.
const METRICS_OFFSET: u16 = 1000;

/// `kfk cluster logs ID|rest-proxy [-n N] [-f]`.
pub async fn logs(ctx: &Ctx, args: &ClusterLogsArgs) -> CliResult {
    let state = local_cluster(ctx)?;
    let path = if args.which == "rest-proxy" {
        state
            .rest_proxy
            .as_ref()
            .map(|r| r.log.clone())
            .ok_or_else(|| {
                CliError::usage("the local cluster has no REST proxy")
                    .hint("start one with `kfk cluster up --rest-proxy`")
            })?
    } else {
        let id: i32 = args.which.parse().map_err(|_| {
            CliError::usage(format!("{:?} is not a broker id", args.which))
                .hint("name a broker by its id, or `rest-proxy`")
        })?;
        state.broker(id)?.log.clone()
    };
    let text = std::fs::read(&path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
    let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
    let skip = args.tail.map_or(0, |n| lines.len().saturating_sub(n));
    let mut out = std::io::stdout().lock();
    for l in &lines[skip..] {
        if out.write_all(l).is_err() {
            return Ok(());
        }
    }
    let _ = out.flush();
    drop(out);
    if !args.follow {
        return Ok(());
    }
    let mut at = text.len() as u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let Ok(mut f) = std::fs::File::open(&path) else {
            continue;
        };
        let len = f.metadata().map_or(at, |m| m.len());
        if len < at {
            // Truncated or replaced: start over from its beginning.
            at = 0;
        }
        if len > at {
            let mut new = Vec::new();
            f.seek(std::io::SeekFrom::Start(at))?;
            f.take(len - at).read_to_end(&mut new)?;
            at = len;
            let mut out = std::io::stdout().lock();
            if out.write_all(&new).and_then(|()| out.flush()).is_err() {
                return Ok(());
            }
        }
    }
}

/// The local cluster's secret file (made once, owner-only, and kept across
/// restarts): its nodes prove they hold it on the controller port, so no
/// other local user can rewrite the cluster's metadata.
fn cluster_secret(data_dir: &std::path::Path) -> CliResult<std::path::PathBuf> {
    let path = data_dir.join("cluster.secret");
    if path.exists() {
        return Ok(path);
    }
    // Two version-4 UUIDs: 244 random bits from the OS's generator.
    let secret = format!(
        "{}{}\n",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    Ok(path)
}
