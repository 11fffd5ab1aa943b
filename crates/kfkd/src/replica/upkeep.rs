//! Background work that keeps hosted partitions in line with the cluster:
//! applying each new metadata image, committing the ISR changes leaders want,
//! and checkpointing high watermarks.

use std::sync::{Arc, Weak};
use std::time::Duration;

use kfk_log::TopicPartition;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use crate::broker::Broker;
use crate::metadata::MetadataImage;
use crate::quorum::{CommandResult, MetadataCommand};
use crate::replica::partition::IsrChange;
use crate::replica::partition::Partition;

/// Keeps the partition logs in line with every image the quorum publishes
/// (changes made through other brokers arrive this way).
pub(crate) async fn follow_image(
    broker: Weak<Broker>,
    mut image: watch::Receiver<Arc<MetadataImage>>,
) {
    while image.changed().await.is_ok() {
        let Some(b) = broker.upgrade() else { return };
        if let Err(e) = crate::broker::off_the_runtime(|| b.sync_partitions()) {
            tracing::error!(error = ?e, "could not apply a metadata change to the partition logs");
        }
        crate::replica::fetcher::ensure_running(&b);
    }
}

/// Commits the ISR changes partition leaders ask for, and every half
/// `replica.lag.time.max.ms` asks each led partition whether a follower fell
/// out of sync.
pub(crate) async fn maintain_isr(
    broker: Weak<Broker>,
    mut changes: mpsc::UnboundedReceiver<(TopicPartition, IsrChange)>,
) {
    let lag = match broker.upgrade() {
        Some(b) => Duration::from_millis(b.settings.replica_lag_time_max_ms.max(1)),
        None => return,
    };
    let mut tick =
        tokio::time::interval((lag / 2).clamp(Duration::from_millis(50), Duration::from_secs(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (tp, change) = tokio::select! {
            c = changes.recv() => match c {
                Some(c) => c,
                None => return,
            },
            _ = tick.tick() => {
                let Some(b) = broker.upgrade() else { return };
                let parts: Vec<Arc<Partition>> = b.hosted_partitions();
                for p in parts {
                    if let Some(change) = p.shrink_lagging(lag) {
                        b.request_isr_change(&p.tp, change);
                    }
                }
                continue;
            }
        };
        let Some(b) = broker.upgrade() else { return };
        let Some(part) = b.partition(&tp) else {
            continue;
        };
        let cmd = MetadataCommand::AlterPartition {
            topic: tp.topic.clone(),
            partition: tp.partition,
            leader: b.node_id,
            leader_epoch: change.leader_epoch,
            partition_epoch: change.partition_epoch,
            isr: change.isr.clone(),
        };
        match b.propose(cmd).await {
            Ok(CommandResult::Done) => {
                info!(partition = %tp, isr = ?change.isr, "ISR changed");
            }
            other => {
                debug!(partition = %tp, result = ?other, "ISR change not applied");
                part.isr_change_failed();
            }
        }
    }
}

/// Saves every hosted partition's high watermark every
/// `replica.high.watermark.checkpoint.interval.ms`.
pub(crate) async fn checkpoint_hws(broker: Weak<Broker>) {
    loop {
        let every = match broker.upgrade() {
            Some(b) => {
                if let Err(e) = b.save_hw_checkpoint() {
                    tracing::warn!(error = %e, "could not save the high-watermark checkpoint");
                }
                Duration::from_millis(
                    b.settings
                        .replica_high_watermark_checkpoint_interval_ms
                        .max(10),
                )
            }
            None => return,
        };
        tokio::time::sleep(every).await;
    }
}
