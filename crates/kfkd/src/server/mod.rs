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

mod bad_frames;
pub mod connection;

/// How long connections get to finish their request in hand at shutdown.
const DRAIN_PATIENCE: Duration = Duration::from_secs(10);

/// Serves clients on `listener` until `shutdown` completes.
pub async fn run(broker: Arc<Broker>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let limit = usize::try_from(broker.settings.max_connections)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(limit));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let bad_frames = Arc::new(bad_frames::BadFrameLog::default());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        warn!(%peer, max_connections = limit, "refusing connection: max.connections reached");
                        drop(stream);
                        continue;
                    };
                    let broker = Arc::clone(&broker);
                    let stop = stop_rx.clone();
                    let bad_frames = Arc::clone(&bad_frames);
                    connections.spawn(async move {
                        connection::serve(broker, stream, peer, stop, bad_frames).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    info!(
        connections = connections.len(),
        "shutting down: no longer accepting connections"
    );
    drop(listener);
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
