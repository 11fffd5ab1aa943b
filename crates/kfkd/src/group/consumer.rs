//! Consumer-protocol groups (KIP-848) at the coordinator: heartbeats change
//! a group under its partition's write lock, and the group as it stands is
//! written to `__consumer_offsets` before the member hears back, so a new
//! coordinator resumes from the same epochs and assignments.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tokio::time::Instant;
use tracing::warn;
use uuid::Uuid;

use crate::broker::Broker;
use crate::config::group as group_config;
use crate::metadata::MetadataImage;
use kfk_group::consumer::{Catalog, ConsumerGroup, Failure, Heartbeat, Regex, Reply, Settings};
use kfk_group::schema::Entry;
use kfk_group::state::Group;
use kfk_sync::lock;

use super::{GroupCoordinator, store};

/// The cluster's topics as the group's assignor needs them.
struct ImageCatalog<'a>(&'a MetadataImage);

impl Catalog for ImageCatalog<'_> {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        let t = self.0.topics.get(name)?;
        Some((t.id, i32::try_from(t.partitions.len()).unwrap_or(i32::MAX)))
    }

    /// Internal topics too, as Kafka's coordinator matches them: a regex
    /// that names `__consumer_offsets` gets it.
    fn matching(&self, re: &Regex) -> Vec<String> {
        self.0
            .topics
            .keys()
            .filter(|n| re.is_match(n))
            .cloned()
            .collect()
    }
}

impl GroupCoordinator {
    /// A group's timing: its group configs over the broker's defaults.
    pub(super) fn consumer_settings(
        broker: &Broker,
        overrides: Option<&BTreeMap<String, String>>,
    ) -> Settings {
        let s = &broker.settings;
        let (session_timeout, heartbeat_interval) =
            group_config::timing(s, overrides.unwrap_or(&BTreeMap::new()));
        Settings {
            session_timeout,
            heartbeat_interval,
            max_size: usize::try_from(s.group_consumer_max_size).unwrap_or(usize::MAX),
        }
    }

    /// ConsumerGroupHeartbeat: returns the reply and the heartbeat interval
    /// to ask for.
    ///
    /// # Errors
    /// The group's refusal, or routing and storage errors.
    pub async fn consumer_heartbeat(
        &self,
        broker: &Broker,
        group: &str,
        hb: Heartbeat,
    ) -> Result<(Reply, Duration), Failure> {
        let p = self
            .route(broker, group)
            .await
            .map_err(|e| (e, String::new()))?;
        let settings = Self::consumer_settings(broker, Some(&broker.group_configs(group)));
        let _w = self.writer(p).await;
        let (reply, entry) = broker.with_image(|image| {
            let mut inner = lock(&self.inner);
            let creating = hb.member_epoch == 0;
            let g = match inner.groups.get_mut(group) {
                Some(g) => g,
                None if creating => inner
                    .groups
                    .entry(group.to_string())
                    .or_insert_with(|| Group::new(group)),
                None => {
                    return Err((
                        ResponseError::GroupIdNotFound,
                        format!("Consumer group {group} not found."),
                    ));
                }
            };
            if g.consumer.is_none() {
                if !g.is_empty() || !creating {
                    return Err((
                        ResponseError::GroupIdNotFound,
                        format!("Group {group} is not a consumer group."),
                    ));
                }
                // An empty classic group (offsets only) becomes a consumer
                // group, as Kafka converts it.
                g.consumer = Some(Box::default());
                g.protocol_type = None;
                g.protocol = None;
                g.generation = 0;
                g.leader = None;
            }
            let Some(c) = g.consumer.as_deref_mut() else {
                return Err((ResponseError::UnknownServerError, String::new()));
            };
            let before = serde_json::to_vec(&*c).unwrap_or_default();
            let was_empty = c.is_empty();
            let reply = c.heartbeat(hb, &ImageCatalog(image), Instant::now(), &settings)?;
            let changed = serde_json::to_vec(&*c).unwrap_or_default() != before;
            let entry = changed.then(|| Entry::consumer_group(group, c));
            if !was_empty && c.is_empty() {
                g.empty_since_ms = kfk_log::now_ms();
            }
            Ok((reply, entry))
        })?;
        if let Some(entry) = entry {
            self.persist(broker, p, entry).await?;
        }
        Ok((reply, settings.heartbeat_interval))
    }

    /// Writes a group's new state; if that fails the partition is read back
    /// from its log before it serves again, so memory never runs ahead of
    /// what a successor would load.
    async fn persist(&self, broker: &Broker, p: i32, entry: Entry) -> Result<(), Failure> {
        if let Err(e) = store::append(broker, p, &[entry], Self::commit_timeout(broker)).await {
            warn!(partition = p, error = ?e, "consumer group change not persisted; reloading the partition");
            lock(&self.inner).loaded.remove(&p);
            let code = match e.error {
                ResponseError::NotCoordinator => ResponseError::NotCoordinator,
                _ => ResponseError::CoordinatorNotAvailable,
            };
            return Err((code, e.message.unwrap_or_default()));
        }
        Ok(())
    }

    /// ConsumerGroupDescribe for one group.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND for an unknown or classic group, or routing errors.
    pub async fn consumer_describe(
        &self,
        broker: &Broker,
        group: &str,
    ) -> Result<ConsumerGroup, Failure> {
        self.route(broker, group)
            .await
            .map_err(|e| (e, String::new()))?;
        let inner = lock(&self.inner);
        match inner.groups.get(group) {
            Some(g) => match &g.consumer {
                Some(c) => Ok((**c).clone()),
                None => Err((
                    ResponseError::GroupIdNotFound,
                    format!("Group {group} is not a consumer group."),
                )),
            },
            None => Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group} not found."),
            )),
        }
    }

    /// Fences consumer-protocol members whose session or rebalance timeout
    /// passed, and persists their groups.
    pub(super) async fn tick_consumer_groups(&self, broker: &Broker, n: i32) {
        // Read before the groups' lock: the image is always taken first.
        let configs = broker.with_image(|i| i.group_configs.clone());
        let now = Instant::now();
        let changed: Vec<String> = {
            let mut inner = lock(&self.inner);
            inner
                .groups
                .values_mut()
                .filter_map(|g| {
                    let c = g.consumer.as_deref_mut()?;
                    let was_empty = c.is_empty();
                    let settings = Self::consumer_settings(broker, configs.get(&g.id));
                    if c.tick(now, &settings).is_empty() {
                        return None;
                    }
                    if !was_empty && c.is_empty() {
                        g.empty_since_ms = kfk_log::now_ms();
                    }
                    Some(g.id.clone())
                })
                .collect()
        };
        for group in changed {
            let p = kfk_group::schema::partition_for(&group, n);
            let _w = self.writer(p).await;
            // Written as it stands now, under the write lock, so a heartbeat
            // persisted in between is never overwritten by older state.
            let entry = lock(&self.inner)
                .groups
                .get(&group)
                .and_then(|g| g.consumer.as_deref())
                .map(|c| Entry::consumer_group(&group, c));
            if let Some(entry) = entry
                && let Err(e) = self.persist(broker, p, entry).await
            {
                warn!(group, error = ?e, "could not persist fenced consumer group members");
            }
        }
    }
}
