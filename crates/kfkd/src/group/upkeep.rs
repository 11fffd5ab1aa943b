//! The coordinator's own work, beside the requests: loading an offsets
//! partition into memory when this broker becomes its leader, the periodic
//! tick (session expiry, rebalance timeouts, dropping partitions it no longer
//! leads), expiring old offsets of empty groups, and keeping the offsets
//! topic compacted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kfk_log::TopicPartition;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::broker::Broker;
use kfk_group::schema::{Entry, Loaded, OFFSETS_TOPIC};
use kfk_group::state::Group;
use kfk_sync::lock;

use super::{GroupCoordinator, store};

impl GroupCoordinator {
    /// The write lock of offsets partition `p`.
    pub(super) async fn writer(&self, p: i32) -> tokio::sync::OwnedMutexGuard<()> {
        let m = Arc::clone(lock(&self.writers).entry(p).or_default());
        m.lock_owned().await
    }

    /// Makes `__consumer_offsets` compacted, as Kafka's is, if it was
    /// created before kfk compacted topics (or by hand without it): the
    /// cleaner then keeps each group's and offset's latest record, so a new
    /// coordinator loads the live state, not the whole history. Once per
    /// process, after it took.
    pub(super) async fn ensure_compacted(&self, broker: &Broker) {
        if self.compacted.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let policy = broker.with_image(|i| {
            i.topics
                .get(OFFSETS_TOPIC)
                .map(|t| t.configs.get("cleanup.policy").cloned())
        });
        let Some(policy) = policy else { return };
        if policy.as_deref() != Some("compact") {
            let change = [(
                "cleanup.policy".to_string(),
                crate::config::ops::ConfigOp::Set("compact".to_string()),
            )];
            if let Err(e) = broker
                .alter_topic_configs(OFFSETS_TOPIC, &change, false, false)
                .await
            {
                warn!(error = ?e, "could not make {OFFSETS_TOPIC} compacted; will retry");
                return;
            }
            info!(previous = ?policy, "{OFFSETS_TOPIC} is compacted from now on");
        }
        self.compacted
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every `offsets.retention.check.interval.ms`: drops the committed
    /// offsets of empty groups older than `offsets.retention.minutes`, and
    /// groups left with neither members nor offsets.
    pub(super) async fn expire_offsets(&self, broker: &Broker, n: i32) {
        let every =
            Duration::from_millis(broker.settings.offsets_retention_check_interval_ms.max(1));
        {
            let mut last = lock(&self.last_expiry);
            if last.is_some_and(|t| t.elapsed() < every) {
                return;
            }
            *last = Some(Instant::now());
        }
        let retention = i64::try_from(broker.settings.offsets_retention_minutes)
            .unwrap_or(i64::MAX / 60_000)
            .saturating_mul(60_000);
        let now = kfk_log::now_ms();
        let expired: Vec<(String, Vec<(String, i32)>)> = lock(&self.inner)
            .groups
            .values()
            .map(|g| (g.id.clone(), g.expired_offsets(now, retention)))
            .filter(|(_, e)| !e.is_empty())
            .collect();
        for (group, offsets) in expired {
            let p = kfk_group::schema::partition_for(&group, n);
            let _w = self.writer(p).await;
            let mut entries: Vec<Entry> = offsets
                .iter()
                .map(|(t, part)| Entry::offset_tombstone(&group, t, *part))
                .collect();
            let gone = lock(&self.inner)
                .groups
                .get(&group)
                .is_some_and(|g| g.is_empty() && g.offsets.len() == offsets.len());
            if gone {
                entries.extend(Entry::group_tombstones(&group));
            }
            if let Err(e) = store::append(broker, p, &entries, Self::commit_timeout(broker)).await {
                warn!(group, error = ?e, "could not expire offsets");
                continue;
            }
            let mut inner = lock(&self.inner);
            if let Some(g) = inner.groups.get_mut(&group) {
                for k in &offsets {
                    g.offsets.remove(k);
                }
            }
            if gone
                && inner
                    .groups
                    .get(&group)
                    .is_some_and(|g| g.is_empty() && g.offsets.is_empty())
            {
                inner.groups.remove(&group);
            }
            info!(
                group,
                offsets = offsets.len(),
                removed_group = gone,
                "expired committed offsets"
            );
        }
    }

    /// Replays offsets partition `p` into memory for leader epoch `epoch`.
    pub(super) async fn load(
        &self,
        broker: &Broker,
        p: i32,
        epoch: i32,
        n: i32,
    ) -> Result<(), ResponseError> {
        let _one = self.loading.lock().await;
        if lock(&self.inner).loaded.get(&p) == Some(&epoch) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let store::Replayed { records, pending } = store::load(broker, p).map_err(|e| e.error)?;
        let pending: HashMap<(i32, i64), Vec<super::coordinator::PendingOffset>> = pending
            .into_iter()
            .map(|(pid, loaded)| {
                let offsets = loaded
                    .into_iter()
                    .filter_map(|l| match l {
                        Loaded::Offset {
                            group,
                            topic,
                            partition,
                            value: Some(v),
                        } => Some((group, topic, partition, v)),
                        _ => None,
                    })
                    .collect();
                ((p, pid), offsets)
            })
            .collect();
        let now = Instant::now();
        let configs = broker.with_image(|i| i.group_configs.clone());
        let mut groups: HashMap<String, Group> = HashMap::new();
        let count = records.len();
        for r in records {
            match r {
                Loaded::Offset {
                    group,
                    topic,
                    partition,
                    value,
                } => {
                    let g = groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(&group));
                    match value {
                        Some(v) => {
                            g.offsets.insert((topic, partition), v);
                        }
                        None => {
                            g.offsets.remove(&(topic, partition));
                        }
                    }
                }
                Loaded::ConsumerGroup { group, value } => match value {
                    Some(mut c) => {
                        c.restore(now, &Self::consumer_settings(broker, configs.get(&group)));
                        let g = groups
                            .entry(group.clone())
                            .or_insert_with(|| Group::new(&group));
                        let offsets = std::mem::take(&mut g.offsets);
                        *g = Group::new(&group);
                        g.offsets = offsets;
                        g.consumer = Some(c);
                    }
                    None => {
                        groups.remove(&group);
                    }
                },
                Loaded::Group { group, value } => match value {
                    Some(v) => {
                        let offsets = groups.remove(&group).map(|g| g.offsets).unwrap_or_default();
                        let mut g = Group::restore(&group, v, now);
                        g.offsets = offsets;
                        groups.insert(group, g);
                    }
                    None => {
                        groups.remove(&group);
                    }
                },
            }
        }
        let mut inner = lock(&self.inner);
        inner.groups.retain(|name, g| {
            let here = kfk_group::schema::partition_for(name, n) == p;
            if here {
                g.abandon();
            }
            !here
        });
        let loaded = groups.len();
        inner.groups.extend(groups);
        inner.pending_txn.retain(|(q, _), _| *q != p);
        inner.pending_txn.extend(pending);
        inner.loaded.insert(p, epoch);
        info!(
            partition = p,
            leader_epoch = epoch,
            records = count,
            groups = loaded,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded consumer groups"
        );
        Ok(())
    }

    /// Every 100 ms: loads offsets partitions this broker now leads, drops
    /// those it no longer leads, expires members and ends rebalance phases,
    /// and persists groups that became empty.
    pub async fn run(broker: std::sync::Weak<Broker>) {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Some(b) = broker.upgrade() else { return };
            b.groups.tick(&b).await;
        }
    }

    pub(super) async fn tick(&self, broker: &Broker) {
        let Some(n) = Self::partition_count(broker) else {
            return;
        };
        let mut led = HashMap::new();
        for p in 0..n {
            if let Some(part) = broker.partition(&TopicPartition::new(OFFSETS_TOPIC, p))
                && let Ok(epoch) = part.check_leader(-1)
            {
                led.insert(p, epoch);
            }
        }
        let stale: Vec<i32> = {
            let mut inner = lock(&self.inner);
            let gone: Vec<i32> = inner
                .loaded
                .iter()
                .filter(|(p, e)| led.get(p) != Some(e))
                .map(|(p, _)| *p)
                .collect();
            for p in &gone {
                inner.loaded.remove(p);
                inner.groups.retain(|name, g| {
                    let here = kfk_group::schema::partition_for(name, n) == *p;
                    if here {
                        g.abandon();
                    }
                    !here
                });
                info!(
                    partition = p,
                    "no longer coordinating the groups of this offsets partition"
                );
            }
            led.iter()
                .filter(|(p, e)| inner.loaded.get(p) != Some(e))
                .map(|(p, _)| *p)
                .collect()
        };
        for p in stale {
            if let Err(e) = self.load(broker, p, led[&p], n).await {
                warn!(partition = p, error = ?e, "could not load consumer groups");
            }
        }
        let now = Instant::now();
        let delay = Self::initial_delay(broker);
        let dirty: Vec<(i32, Entry)> = {
            let mut inner = lock(&self.inner);
            inner
                .groups
                .values_mut()
                .filter_map(|g| {
                    g.tick(now, delay);
                    if !g.dirty {
                        return None;
                    }
                    g.dirty = false;
                    Some((
                        kfk_group::schema::partition_for(&g.id, n),
                        Entry::group(&g.id, &g.value()),
                    ))
                })
                .collect()
        };
        for (p, entry) in dirty {
            let _w = self.writer(p).await;
            if let Err(e) = store::append(broker, p, &[entry], Self::commit_timeout(broker)).await {
                warn!(error = ?e, "could not persist an emptied group");
            }
        }
        self.tick_consumer_groups(broker, n).await;
        self.expire_offsets(broker, n).await;
        self.ensure_compacted(broker).await;
    }
}
