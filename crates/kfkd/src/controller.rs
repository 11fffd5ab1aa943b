//! The active controller's duties beyond committing changes: broker liveness
//! (heartbeats in, fencing out) and handing leadership back to preferred
//! replicas.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tracing::info;

use crate::broker::Broker;
use crate::quorum::client::controlling_term;
use crate::quorum::network::Liveness;
use crate::quorum::{CommandResult, MetadataCommand};

/// Tells the controller every `broker.heartbeat.interval.ms` that this broker
/// is alive (straight into the liveness table when this broker is it).
pub(crate) async fn send_heartbeats(broker: Weak<Broker>, liveness: Arc<Liveness>) {
    loop {
        let Some(b) = broker.upgrade() else { return };
        if b.stopping.load(Ordering::Relaxed) {
            return;
        }
        let interval = Duration::from_millis(b.settings.broker_heartbeat_interval_ms.max(10));
        let (leader, addr) = {
            let m = b.raft.metrics();
            let m = m.borrow();
            let leader = m.current_leader;
            let addr = leader.and_then(|l| {
                m.membership_config
                    .membership()
                    .get_node(&l)
                    .map(|n| n.addr.clone())
            });
            (leader, addr)
        };
        if leader == Some(b.node_id as u64) {
            liveness.saw(b.node_id);
        } else if let Some(addr) = addr
            && let Err(e) =
                crate::quorum::network::heartbeat(&b.raft.channel, &addr, b.node_id, interval).await
        {
            tracing::debug!(error = %e, "heartbeat to the controller failed");
        }
        drop(b);
        tokio::time::sleep(interval).await;
    }
}

/// On the active controller: fences brokers that stopped heartbeating for
/// `broker.session.timeout.ms` and unfences them when they are heard again.
///
/// Judges only while this node controls with a majority behind it, and
/// each verdict is committed in the term it was reached in: a controller
/// cut off from the network hears no broker, and its verdict must die with
/// its term rather than reach the controller elected after it.
pub(crate) async fn watch_brokers(broker: Weak<Broker>, liveness: Arc<Liveness>) {
    // The term this node last judged in: a new term, or control regained
    // after a majority went quiet, gives every broker a full session again.
    let mut judging: Option<u64> = None;
    // Broker epochs last seen: a new registration counts as a heartbeat, so
    // a broker that just came back is not fenced before its first one.
    let mut epochs: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
    loop {
        let Some(b) = broker.upgrade() else { return };
        let session = Duration::from_millis(b.settings.broker_session_timeout_ms.max(100));
        let term = controlling_term(&b.raft);
        // Brokers that shut down stay fenced until they register again.
        let registered: Vec<(i32, bool, i64)> = b.with_image(|i| {
            i.brokers
                .values()
                .filter(|r| !r.stopped)
                .map(|r| (r.id, r.fenced, r.epoch))
                .collect()
        });
        if term.is_some() && term != judging {
            liveness.reset(&registered.iter().map(|r| r.0).collect::<Vec<_>>());
        }
        judging = term;
        for (id, _, epoch) in &registered {
            if epochs.insert(*id, *epoch).is_some_and(|old| old != *epoch) {
                liveness.saw(*id);
            }
        }
        if let Some(term) = term {
            for (id, fenced, _) in registered {
                let alive = liveness
                    .last_seen(id)
                    .is_some_and(|t| t.elapsed() < session);
                let change = match (alive, fenced) {
                    (false, false) => Some(MetadataCommand::FenceBroker(id)),
                    (true, true) => Some(MetadataCommand::UnfenceBroker(id)),
                    _ => None,
                };
                if let Some(cmd) = change {
                    match b.decide(term, cmd).await {
                        Ok(_) => info!(broker = id, alive, "broker liveness changed"),
                        Err(e) => {
                            tracing::warn!(broker = id, alive, error = ?e, "could not record a broker's liveness")
                        }
                    }
                }
            }
        }
        drop(b);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Records each election this node wins in the metadata log (ZooKeeper's
/// `/controller` and `/controller_epoch`), once per term.
pub(crate) async fn record_elections(broker: Weak<Broker>) {
    let mut recorded: Option<u64> = None;
    loop {
        let Some(b) = broker.upgrade() else { return };
        if b.stopping.load(Ordering::Relaxed) {
            return;
        }
        if let Some(term) = controlling_term(&b.raft)
            && recorded != Some(term)
        {
            let cmd = MetadataCommand::ControllerElected {
                id: b.node_id,
                epoch: term,
            };
            match b.decide(term, cmd).await {
                Ok(_) => recorded = Some(term),
                Err(e) => tracing::debug!(error = ?e, "could not record the election yet"),
            }
        }
        drop(b);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// On the active controller, every `leader.imbalance.check.interval.seconds`:
/// hands partitions back to their preferred replicas once those are in sync
/// again (Kafka's auto leader rebalance), so a restarted broker leads again.
pub(crate) async fn balance_leaders(broker: Weak<Broker>) {
    loop {
        let every = match broker.upgrade() {
            Some(b) => {
                Duration::from_secs(b.settings.leader_imbalance_check_interval_seconds.max(1))
            }
            None => return,
        };
        tokio::time::sleep(every).await;
        let Some(b) = broker.upgrade() else { return };
        let Some(term) = controlling_term(&b.raft) else {
            continue;
        };
        if !b.settings.auto_leader_rebalance_enable {
            continue;
        }
        let pct = b.settings.leader_imbalance_per_broker_percentage;
        for (topic, partition) in b.with_image(|i| i.preferred_elections(pct)) {
            match b
                .decide(
                    term,
                    MetadataCommand::ElectPreferred {
                        topic: topic.clone(),
                        partition,
                    },
                )
                .await
            {
                Ok(CommandResult::Done) => {
                    info!(topic, partition, "leadership back on the preferred replica")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "preferred leader election failed"),
            }
        }
    }
}
