//! `kfkd`: the broker daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kfkd::config::{self, FileSettings, SettingArgs, Settings};
use tracing::{error, info};

/// The kfk broker: speaks the Apache Kafka wire protocol.
///
/// Every setting is a flag, a KFKD_* environment variable and a key of the YAML
/// file given with --config (named as in Kafka's server.properties).
/// Flags and environment win over the file, the file over the defaults.
#[derive(Debug, Parser)]
#[command(name = "kfkd", version)]
struct Cli {
    /// YAML file of settings, e.g. `num.partitions: 3`.
    #[arg(long, env = "KFKD_CONFIG")]
    config: Option<PathBuf>,
    /// Check the settings (flags, environment and --config file) and exit.
    #[arg(long)]
    check_config: bool,
    #[command(flatten)]
    settings: SettingArgs,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
        None => FileSettings::default(),
    };
    let settings = Settings::resolve(&cli.settings, &file);
    settings.validate()?;
    Ok(settings)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings(&cli)?;
    if cli.check_config {
        println!("settings are valid");
        return Ok(());
    }
    let listen = settings.listen.clone();
    let broker = kfkd::tasks::start_broker(settings).await?;

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let rest = if broker.settings.rest_listen.is_empty() {
        None
    } else {
        let addr = broker.settings.rest_listen.clone();
        let l = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (REST proxy): {e}"))?;
        info!(rest = %l.local_addr()?, "REST proxy listening");
        Some(tokio::spawn(kfk_rest::serve(
            vec![broker.settings.advertised().to_string()],
            l,
        )))
    };
    info!(node_id = broker.node_id, cluster_id = %broker.cluster_id,
        listen = %listener.local_addr()?, advertised = %broker.settings.advertised(),
        data_dir = %broker.settings.data_dir.display(), "{}", kfk_wire::KFKD_READY);
    let stopping = std::sync::Arc::clone(&broker);
    let shutdown = async move {
        shutdown_signal().await;
        stopping.controlled_shutdown().await;
    };
    kfkd::server::run(broker, listener, shutdown).await;
    if let Some(r) = rest {
        r.abort();
    }
    info!("kfkd stopped");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
