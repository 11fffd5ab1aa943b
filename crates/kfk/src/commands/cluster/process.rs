//! The processes of a local cluster: finding kfkd, starting a broker or the
//! REST proxy with its log, waiting until each serves, and signalling them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kfk_client::{Client, ClientConfig};

use crate::error::{CliError, CliResult};
use crate::local::{ClusterState, LocalBroker, LocalRestProxy, is_alive};

/// How long brokers get to answer after starting, and to stop.
pub(super) const START_PATIENCE: Duration = Duration::from_secs(20);

/// The kfkd binary: beside this kfk, else on PATH.
pub(super) fn kfkd_binary() -> CliResult<PathBuf> {
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

/// Whether `log` gained a line containing `needle` since `from`.
fn logged_since(log: &std::path::Path, from: u64, needle: &str) -> bool {
    std::fs::read(log).is_ok_and(|bytes| {
        bytes
            .get(from as usize..)
            .is_some_and(|new| String::from_utf8_lossy(new).contains(needle))
    })
}

/// The last `n` lines of `log`, on one line, for an error message.
fn log_tail(log: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(n).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Starts `cmd` in the background with its output appended to `log`, in a
/// process group of its own (a Ctrl-C meant for kfk does not stop it);
/// returns its pid and where in the log this run's output starts.
fn spawn_logged(mut cmd: Command, log: &std::path::Path) -> CliResult<(u32, u64)> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let log_start = file.metadata().map_or(0, |m| m.len());
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(file);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| {
        CliError::new(format!(
            "cannot start {}: {e}",
            cmd.get_program().to_string_lossy()
        ))
    })?;
    Ok((child.id(), log_start))
}

/// How kfk's cluster commands reach the brokers on `ports`: plainly, or
/// for a secure cluster through their INTERNAL listeners as the admin.
///
/// # Errors
/// A secure cluster's certificate files that cannot be read.
pub(super) fn tooling_config(
    secure: Option<&crate::local::SecureCluster>,
    ports: impl IntoIterator<Item = u16>,
) -> CliResult<ClientConfig> {
    match secure {
        Some(s) => s.internal_config(ports),
        None => Ok(ClientConfig::new(
            ports.into_iter().map(|p| format!("127.0.0.1:{p}")),
        )),
    }
}

/// Whether the broker on `port` answers Metadata listing every broker in
/// `ids` (registered and unfenced) and a controller: then a topic of any
/// replication factor up to the cluster's size can be created through it.
pub(super) async fn serves_metadata(
    port: u16,
    ids: &[i32],
    secure: Option<&crate::local::SecureCluster>,
) -> bool {
    let Ok(mut config) = tooling_config(secure, [port]) else {
        return false;
    };
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

pub(super) async fn answers(port: u16, secure: Option<&crate::local::SecureCluster>) -> bool {
    let Ok(mut config) = tooling_config(secure, [port]) else {
        return false;
    };
    config.connect_timeout = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(2);
    Client::connect(config).await.is_ok()
}

/// Starts one broker process with its recorded arguments, appending to its
/// log; returns where in the log this run's output starts.
pub(super) fn spawn(kfkd: &std::path::Path, b: &mut LocalBroker) -> CliResult<u64> {
    let mut cmd = Command::new(kfkd);
    cmd.args(&b.args)
        .envs(b.env.iter().map(|(k, v)| (k, v)))
        // Info level: the log files are for operators, and readiness is read from them.
        // (openraft's own narration stays off; the quorum logs peers itself.)
        .env("RUST_LOG", "info,openraft=off");
    let (pid, log_start) = spawn_logged(cmd, &b.log)?;
    b.pid = pid;
    Ok(log_start)
}

/// Starts `kfk rest-proxy` on `port` in front of every broker of the cluster
/// and waits until it serves, so it outlives any one broker.
pub(super) async fn start_rest_proxy(state: &ClusterState, port: u16) -> CliResult<LocalRestProxy> {
    let kfk = std::env::current_exe()
        .map_err(|e| CliError::new(format!("cannot find the kfk binary: {e}")))?;
    let log_path = state.data_dir.join("rest-proxy.log");
    let mut cmd = Command::new(&kfk);
    cmd.args(["-b", &state.bootstrap(), "rest-proxy", "--listen"])
        .arg(format!("127.0.0.1:{port}"));
    // A secure cluster's proxy asks its callers who they are.
    if state.secure.is_some() {
        cmd.arg("--basic-auth");
    }
    let (pid, log_start) = spawn_logged(cmd, &log_path)?;
    let proxy = LocalRestProxy {
        pid,
        port,
        log: log_path,
    };
    let started = Instant::now();
    loop {
        if logged_since(&proxy.log, log_start, crate::commands::rest_proxy::READY) {
            return Ok(proxy);
        }
        if !is_alive(proxy.pid) || started.elapsed() > START_PATIENCE {
            signal(proxy.pid, "KILL");
            return Err(CliError::new(format!(
                "the REST proxy did not start: {}",
                log_tail(&proxy.log, 3)
            ))
            .hint(format!("see {}", proxy.log.display())));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until each of `brokers` logged that it listens and serves metadata
/// that lists all of `cluster` (the broker ids every broker must see). A node
/// not in `cluster` (a dedicated controller, which serves no clients) is
/// ready once it logged so.
pub(super) async fn wait_ready(
    brokers: &[LocalBroker],
    log_starts: &[u64],
    cluster: &[i32],
    secure: Option<&crate::local::SecureCluster>,
) -> CliResult {
    // One spinner per broker, each ticked off as its broker answers.
    let bars = crate::term::spinners();
    let spinners: Vec<indicatif::ProgressBar> = brokers
        .iter()
        .map(|b| {
            bars.add(crate::term::spinner(format!(
                "{} {} (127.0.0.1:{}) starting",
                role(b.id, cluster),
                b.id,
                b.port
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
            if logged_since(&b.log, log_starts[i], kfk_wire::KFKD_READY)
                && (!cluster.contains(&b.id) || serves_metadata(b.port, cluster, secure).await)
            {
                spinners[i].finish_with_message(format!(
                    "{} {} (127.0.0.1:{}) ready in {:.2} s",
                    role(b.id, cluster),
                    b.id,
                    b.port,
                    started.elapsed().as_secs_f64()
                ));
                continue;
            }
            if !is_alive(b.pid) || started.elapsed() > START_PATIENCE {
                let _ = bars.clear();
                return Err(CliError::new(format!(
                    "{} {} did not start: {}",
                    role(b.id, cluster),
                    b.id,
                    log_tail(&b.log, 5)
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

/// "broker" or "controller", for messages about node `id`.
fn role(id: i32, brokers: &[i32]) -> &'static str {
    if brokers.contains(&id) {
        "broker"
    } else {
        "controller"
    }
}

pub(super) fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}
