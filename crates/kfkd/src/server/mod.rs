//! The accept loop and the shutdown protocol.
//!
//! `run` takes the shutdown signal as a future so tests can run a broker
//! in-process and stop it at will. Shutdown: stop accepting, tell connections to
//! finish the request in hand, wait for them (bounded), then flush and close
//! every log so the next start skips recovery.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::broker::Broker;
use crate::config::{Listener, SecurityProtocol};

mod bad_frames;
pub mod connection;
pub(crate) mod failed_logins;
mod sasl;
pub(crate) mod send_file;

/// How long connections get to finish their request in hand at shutdown.
const DRAIN_PATIENCE: Duration = Duration::from_secs(10);

/// Serves clients on one listener, the broker's inter-broker (PLAINTEXT)
/// one, until `shutdown` completes.
pub async fn run(broker: Arc<Broker>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let info = broker
        .settings
        .inter_broker_listener()
        .unwrap_or_else(|_| Listener {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            bind: String::new(),
            advertised: String::new(),
        });
    run_listeners(broker, vec![(listener, info)], None, shutdown).await;
}

/// Serves clients on every listener until `shutdown` completes; `tls`
/// serves the SSL and SASL_SSL ones.
pub async fn run_listeners(
    broker: Arc<Broker>,
    listeners: Vec<(TcpListener, Listener)>,
    tls: Option<crate::config::ServerTls>,
    shutdown: impl Future<Output = ()>,
) {
    let limit = usize::try_from(broker.settings.max_connections)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(limit));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let bad_frames = Arc::new(bad_frames::BadFrameLog::default());
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::channel(64);
    let mut acceptors = JoinSet::new();
    for (listener, info) in listeners {
        let tx = accepted_tx.clone();
        let acceptor = tls
            .as_ref()
            .filter(|_| info.protocol.tls())
            .map(|t| kfk_tls::TlsAcceptor::from(t.for_protocol(info.protocol)));
        let info = Arc::new((info, acceptor));
        acceptors.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        if tx.send((stream, peer, Arc::clone(&info))).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // Usually EMFILE: back off instead of spinning.
                        error!(error = %e, listener = %info.0.name, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    drop(accepted_tx);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = accepted_rx.recv() => {
                let Some((stream, peer, info)) = accepted else { break };
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    warn!(%peer, max_connections = limit, "refusing connection: max.connections reached");
                    drop(stream);
                    continue;
                };
                let broker = Arc::clone(&broker);
                let stop = stop_rx.clone();
                let bad_frames = Arc::clone(&bad_frames);
                connections.spawn(async move {
                    let tls = info.1.clone();
                    let listener = Arc::new(info.0.clone());
                    connection::serve(broker, stream, tls, peer, listener, stop, bad_frames).await;
                    drop(permit);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    acceptors.abort_all();
    info!(
        connections = connections.len(),
        "shutting down: no longer accepting connections"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_PATIENCE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            remaining = connections.len(),
            "connections did not finish in time; aborting them"
        );
        connections.abort_all();
    }
    match broker.close().await {
        Ok(()) => info!("logs flushed and closed cleanly"),
        Err(e) => {
            error!(error = %e, "could not close every log cleanly; it will be recovered on next start")
        }
    }
}
