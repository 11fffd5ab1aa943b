//! Where a broker's background tasks start, all in one place: the broker
//! state ([`Broker`]) is opened first, then every task that keeps it in line
//! with the cluster is spawned here, each holding only a weak reference so
//! that dropping the broker ends them.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;
use crate::config::Settings;
use kfk_sync::lock;

/// Opens the broker's data directory and metadata quorum, then starts its
/// background tasks: log retention, following the metadata image, committing ISR changes,
/// checkpointing high watermarks, the group coordinator's timers, the replica
/// fetchers and, in a multi-broker cluster, the controller's duties
/// (heartbeats, fencing, preferred leader balance).
///
/// # Errors
/// As [`Broker::open`]: unreadable metadata or logs, a data directory in use,
/// or a quorum that does not become ready.
pub async fn start_broker(settings: Settings) -> anyhow::Result<Arc<Broker>> {
    let (broker, inputs) = Broker::open(settings).await?;
    let every = Duration::from_millis(broker.settings.log_retention_check_interval_ms.max(1));
    *lock(&broker.retention) = Some(broker.logs.start_background(every));
    let weak = || Arc::downgrade(&broker);
    tokio::spawn(crate::replica::upkeep::follow_image(weak(), inputs.image));
    tokio::spawn(crate::replica::upkeep::maintain_isr(
        weak(),
        inputs.isr_requests,
    ));
    tokio::spawn(crate::replica::upkeep::checkpoint_hws(weak()));
    tokio::spawn(crate::group::GroupCoordinator::run(weak()));
    crate::replica::fetcher::ensure_running(&broker);
    tokio::spawn(crate::controller::record_elections(weak()));
    if let Some(liveness) = inputs.liveness {
        if broker.settings.is_broker() {
            tokio::spawn(crate::controller::send_heartbeats(
                weak(),
                Arc::clone(&liveness),
            ));
        }
        tokio::spawn(crate::controller::watch_brokers(weak(), liveness));
        tokio::spawn(crate::controller::balance_leaders(weak()));
    }
    Ok(broker)
}
