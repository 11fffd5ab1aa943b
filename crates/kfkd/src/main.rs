//! `kfkd`: the broker daemon.

/// jemalloc reserves huge allocations lazily where the OS overcommits, so a
/// count a hostile frame claims (kafka-protocol pre-allocates arrays by the
/// count they declare) costs address space, never memory, before decoding
/// fails at the end of the frame.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kfkd::config::{self, ConfigFile, SettingArgs, Settings};
use kfkd::metrics::http::Probe;
use tracing::{error, info};

/// The kfk broker: speaks the Apache Kafka wire protocol.
///
/// Every setting is a flag, a KFKD_* environment variable and a key of the
/// file given with --config: YAML with server.properties' keys, or Kafka's
/// own server.properties (broker.id, listeners=PLAINTEXT://host:port,
/// log.retention.hours, ...; keys kfkd does not use are warned about and
/// ignored). Flags and environment win over the file, the file over the
/// defaults.
#[derive(Debug, clap::Parser)]
#[command(name = "kfkd", version)]
struct Cli {
    /// Settings file: YAML (`num.partitions: 3`) or Kafka's server.properties (`num.partitions=3`).
    #[arg(long, env = "KFKD_CONFIG")]
    config: Option<PathBuf>,
    /// Check the settings (flags, environment and --config file) and exit.
    #[arg(long)]
    check_config: bool,
    /// Write the kfkd(8) man page into DIR and exit (for packaging).
    #[arg(long, value_name = "DIR", hide = true)]
    man_page: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingArgs,
}

/// What kfkd logs when RUST_LOG does not say.
const DEFAULT_LOG_FILTER: &str = "info,openraft=off";

fn init_logging() {
    // openraft narrates every failed heartbeat; the quorum's network layer
    // reports peers going and coming instead. RUST_LOG=openraft=debug shows
    // openraft's own account.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => info!("SIGINT received"),
            _ = term.recv() => info!("SIGTERM received"),
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let file = match &cli.config {
        Some(path) => config::read_file(path)?,
        None => ConfigFile::default(),
    };
    for w in &file.warnings {
        if cli.check_config {
            eprintln!("kfkd: warning: {w}");
        } else {
            tracing::warn!("{w}");
        }
    }
    let settings = Settings::resolve(&cli.settings, &file.settings);
    settings.validate()?;
    Ok(settings)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings(&cli)?;
    if cli.check_config {
        println!("settings are valid");
        return Ok(());
    }
    let wanted = if settings.is_broker() {
        settings.listeners()?
    } else {
        Vec::new()
    };
    let metrics = serve_metrics(&settings).await?;
    let broker = kfkd::tasks::start_broker(settings).await?;
    let metrics = metrics.map(|(probe, task)| {
        probe.attach(&broker);
        task
    });
    if !broker.settings.is_broker() {
        let stopped = run_controller(broker).await;
        if let Some(m) = metrics {
            m.abort();
        }
        return stopped;
    }

    let mut listeners = Vec::new();
    for l in wanted {
        let socket = tokio::net::TcpListener::bind(&l.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} ({}): {e}", l.bind, l.name))?;
        info!(listener = %l.name, protocol = l.protocol.name(), bind = %socket.local_addr()?,
            advertised = %l.advertised, "listening");
        listeners.push((socket, l));
    }
    let first = listeners
        .first()
        .map(|(s, _)| s.local_addr())
        .transpose()?
        .map(|a| a.to_string())
        .unwrap_or_default();
    let rest = if broker.settings.rest_listen.is_empty() {
        None
    } else {
        let addr = broker.settings.rest_listen.clone();
        let l = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (REST proxy): {e}"))?;
        info!(rest = %l.local_addr()?, "REST proxy listening");
        Some(tokio::spawn(kfk_rest::serve(
            kfk_rest::ClientConfig::new([broker.settings.advertised()]),
            kfk_rest::auth::Auth::None,
            l,
        )))
    };
    info!(node_id = broker.node_id, cluster_id = %broker.cluster_id,
        listen = %first, advertised = %broker.settings.advertised(),
        data_dir = %broker.settings.data_dir.display(), "{}", kfk_wire::KFKD_READY);
    let stopping = std::sync::Arc::clone(&broker);
    let shutdown = async move {
        shutdown_signal().await;
        stopping.controlled_shutdown().await;
    };
    let tls = broker.settings.server_tls()?;
    kfkd::server::run_listeners(broker, listeners, tls, shutdown).await;
    for task in [rest, metrics].into_iter().flatten() {
        task.abort();
    }
    info!("kfkd stopped");
    Ok(())
}

/// Starts `--metrics-listen`'s HTTP server when one is asked for, before the
/// node joins its quorum so probes are answered while it waits.
async fn serve_metrics(
    settings: &Settings,
) -> anyhow::Result<Option<(Arc<Probe>, tokio::task::JoinHandle<()>)>> {
    let addr = &settings.metrics_listen;
    if addr.is_empty() {
        return Ok(None);
    }
    let l = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (metrics): {e}"))?;
    info!(metrics = %l.local_addr()?, "metrics and health probes listening");
    let probe = Arc::new(Probe::default());
    let task = tokio::spawn(kfkd::metrics::http::serve(Arc::clone(&probe), l));
    Ok(Some((probe, task)))
}

/// Writes `kfkd.8` into `dir`: the daemon's page belongs in section 8.
fn write_man_page(dir: &std::path::Path) -> std::io::Result<()> {
    let cmd = command();
    let page = clap_mangen::Man::new(cmd).section("8");
    let mut out = Vec::new();
    page.render(&mut out)?;
    std::fs::write(dir.join("kfkd.8"), out)
}

/// A controller-only node (`process.roles=controller`): it votes in the
/// metadata quorum and runs the controller's duties, and serves no clients,
/// as a KRaft controller does.
async fn run_controller(node: std::sync::Arc<kfkd::broker::Broker>) -> anyhow::Result<()> {
    info!(node_id = node.node_id, cluster_id = %node.cluster_id, roles = "controller",
        controller_listen = %node.settings.controller_listen,
        data_dir = %node.settings.data_dir.display(), "{}", kfk_wire::KFKD_READY);
    shutdown_signal().await;
    if let Err(e) = node.close().await {
        error!(error = %e, "could not close the data directory cleanly");
    }
    info!("kfkd stopped");
    Ok(())
}

/// kfkd's command line, each setting's help ending with its default (the
/// flags are optional so that the config file can fill them in, so clap
/// cannot show defaults by itself).
fn command() -> clap::Command {
    // Long setting names leave no room for a help column: help goes below.
    let mut cmd = <Cli as clap::CommandFactory>::command().next_line_help(true);
    for (id, default) in Settings::defaults() {
        let shown = if default.is_empty() {
            "none".to_string()
        } else {
            default
        };
        cmd = cmd.mut_arg(id, |a| {
            let help = a.get_help().map(ToString::to_string).unwrap_or_default();
            a.help(format!("{help} [default: {shown}]"))
        });
    }
    cmd
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Some(dir) = &cli.man_page {
        return match write_man_page(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kfkd: error: cannot write the man page: {e}");
                ExitCode::FAILURE
            }
        };
    }
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kfkd: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("kfkd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
