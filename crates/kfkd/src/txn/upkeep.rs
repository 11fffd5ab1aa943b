//! The coordinator's background work: loading the `__transaction_state`
//! partitions this broker comes to lead (so half-done transactions finish
//! and timeouts run without waiting for a client), dropping those it no
//! longer leads, aborting transactions past their timeout, and forgetting
//! transactional ids unused for `transactional.id.expiration.ms`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use kfk_log::TopicPartition;
use kfk_txn::TxnState;
use kfk_txn::schema::TRANSACTION_TOPIC;
use tokio::time::Instant;
use tracing::{debug, info};

use super::TxnCoordinator;
use crate::broker::Broker;
use kfk_sync::lock;

const TICK: Duration = Duration::from_millis(200);

impl TxnCoordinator {
    pub async fn run(broker: Weak<Broker>) {
        loop {
            tokio::time::sleep(TICK).await;
            let Some(b) = broker.upgrade() else { return };
            b.txns.tick(&b).await;
        }
    }

    async fn tick(&self, broker: &Arc<Broker>) {
        let Some(n) = Self::partition_count(broker) else {
            return;
        };
        let mut led = Vec::new();
        for p in 0..n {
            if let Some(part) = broker.partition(&TopicPartition::new(TRANSACTION_TOPIC, p))
                && let Ok(epoch) = part.check_leader(-1)
            {
                led.push((p, epoch));
            }
        }
        let stale: Vec<i32> = lock(&self.inner)
            .loaded
            .iter()
            .filter(|(p, e)| !led.contains(&(**p, **e)))
            .map(|(p, _)| *p)
            .collect();
        for p in stale {
            self.unload(p, n);
        }
        for (p, epoch) in led {
            if lock(&self.inner).loaded.get(&p) != Some(&epoch)
                && let Err(e) = self.load(broker, p, epoch, n).await
            {
                debug!(partition = p, error = ?e, "transaction state not loaded yet");
            }
        }
        if due(
            &self.last_timeout_check,
            broker
                .settings
                .transaction_abort_timed_out_transaction_cleanup_interval_ms,
        ) {
            self.abort_expired(broker, n).await;
        }
        if due(
            &self.last_id_expiry,
            broker
                .settings
                .transaction_remove_expired_transaction_cleanup_interval_ms,
        ) {
            self.expire_ids(broker, n).await;
        }
    }

    /// Fences and aborts each ongoing transaction older than its timeout.
    async fn abort_expired(&self, broker: &Arc<Broker>, n: i32) {
        let now = kfk_log::now_ms();
        let expired: Vec<String> = lock(&self.inner)
            .txns
            .values()
            .filter(|m| m.is_expired(now))
            .map(|m| m.transactional_id.clone())
            .collect();
        for id in expired {
            let p = kfk_group::schema::partition_for(&id, n);
            let Some(epoch) = lock(&self.inner).loaded.get(&p).copied() else {
                continue;
            };
            let id_lock = self.id_lock(&id);
            let _guard = id_lock.lock().await;
            let now = kfk_log::now_ms();
            let Some(mut m) = self.current(&id) else {
                continue;
            };
            if !m.is_expired(now) || !m.fence_and_abort(now) {
                continue;
            }
            info!(transactional_id = %id, producer_id = m.producer_id, timeout_ms = m.timeout_ms,
                "aborting a transaction past its timeout");
            if self.persist(broker, p, m).await.is_ok() {
                super::markers::spawn_completion(broker, id, p, epoch);
            }
        }
    }

    /// Forgets ids with no transaction under way that have been idle for
    /// `transactional.id.expiration.ms` (a tombstone in the log).
    async fn expire_ids(&self, broker: &Arc<Broker>, n: i32) {
        let horizon = kfk_log::now_ms() - broker.settings.transactional_id_expiration_ms;
        let idle: Vec<String> = lock(&self.inner)
            .txns
            .values()
            .filter(|m| !m.state.is_in_flight() && m.last_update_ms < horizon)
            .map(|m| m.transactional_id.clone())
            .collect();
        for id in idle {
            let p = kfk_group::schema::partition_for(&id, n);
            let id_lock = self.id_lock(&id);
            let _guard = id_lock.lock().await;
            let Some(mut m) = self.current(&id) else {
                continue;
            };
            if m.state.is_in_flight() || m.last_update_ms >= horizon {
                continue;
            }
            m.state = TxnState::Dead;
            if self.persist(broker, p, m).await.is_ok() {
                info!(transactional_id = %id, "transactional id expired");
                lock(&self.inner).locks.remove(&id);
            }
        }
    }
}

/// Whether `interval_ms` has passed since `last`, which is then reset.
fn due(last: &std::sync::Mutex<Option<Instant>>, interval_ms: u64) -> bool {
    let now = Instant::now();
    let mut last = lock(last);
    if last.is_some_and(|t| now.duration_since(t) < Duration::from_millis(interval_ms)) {
        return false;
    }
    *last = Some(now);
    true
}
