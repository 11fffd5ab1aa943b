//! Where a broker's background tasks start, all in one place: the broker
//! state ([`Broker`]) is opened first, then every task that keeps it in line
//! with the cluster is spawned here, each holding only a weak reference so
//! that dropping the broker ends them.

use std::sync::{Arc, Weak};
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
    if broker.settings.log_cleaner_enable {
        *lock(&broker.cleaner) = Some(start_cleaner(&broker, weak()));
    }
    tokio::spawn(crate::replica::upkeep::follow_image(weak(), inputs.image));
    tokio::spawn(crate::replica::upkeep::maintain_isr(
        weak(),
        inputs.isr_requests,
    ));
    tokio::spawn(crate::replica::upkeep::checkpoint_hws(weak()));
    tokio::spawn(crate::group::GroupCoordinator::run(weak()));
    tokio::spawn(crate::txn::TxnCoordinator::run(weak()));
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

/// The log cleaner, cleaning each partition below its last stable offset:
/// records above the high watermark may yet be truncated, and those of an
/// open transaction may yet be aborted, so neither may make a value go.
fn start_cleaner(broker: &Arc<Broker>, weak: Weak<Broker>) -> kfk_log::cleaner::Cleaner {
    let s = &broker.settings;
    let config = kfk_log::cleaner::CleanerConfig {
        threads: usize::try_from(s.log_cleaner_threads).unwrap_or(1),
        dedupe_buffer_bytes: usize::try_from(s.log_cleaner_dedupe_buffer_size)
            .unwrap_or(usize::MAX),
        io_max_bytes_per_second: s.log_cleaner_io_max_bytes_per_second,
        backoff: Duration::from_millis(s.log_cleaner_backoff_ms),
    };
    let limit: kfk_log::cleaner::CleanLimit = Arc::new(move |tp: &kfk_log::TopicPartition| {
        weak.upgrade()?
            .partition(tp)
            .map(|p| p.last_stable_offset())
    });
    broker.logs.start_cleaner(&config, limit)
}
