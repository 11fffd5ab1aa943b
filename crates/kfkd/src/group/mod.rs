//! The group coordinator: every broker coordinates the consumer groups whose
//! `__consumer_offsets` partition it leads (`hash(group) % partitions`, as
//! Kafka places them). Group membership and committed offsets are kept in
//! memory and written to that partition with acks=all; a broker that becomes
//! leader of an offsets partition replays it before serving its groups.

mod consumer;
pub mod coordinator;
pub mod store;
mod upkeep;

pub use coordinator::{ClientInfo, Committed, Description, GroupCoordinator};

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kfk_log::TopicPartition;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::broker::Broker;
use crate::error::ApiError;
use crate::internal_log;
use crate::new_topic::NewTopic;
use kfk_group::schema::{Entry, OFFSETS_TOPIC, OffsetValue, RecordKey};
use kfk_group::state::{
    Group, GroupState, JoinArgs, JoinOutcome, JoinReply, SyncOutcome, SyncReply,
};
use kfk_sync::lock;

impl GroupCoordinator {
    pub(super) fn initial_delay(broker: &Broker) -> Duration {
        Duration::from_millis(broker.settings.group_initial_rebalance_delay_ms)
    }

    pub(super) fn commit_timeout(broker: &Broker) -> Duration {
        Duration::from_millis(broker.settings.offsets_commit_timeout_ms.max(1))
    }

    /// Partitions of `__consumer_offsets`, if it exists.
    pub(super) fn partition_count(broker: &Broker) -> Option<i32> {
        broker.with_image(|i| {
            i.topics
                .get(OFFSETS_TOPIC)
                .map(|t| t.partitions.len() as i32)
        })
    }

    /// The `__consumer_offsets` partition `group` belongs to, once the
    /// topic exists (AddOffsetsToTxn adds it to a transaction).
    pub fn offsets_partition_of(&self, broker: &Broker, group: &str) -> Option<i32> {
        Self::partition_count(broker).map(|n| kfk_group::schema::partition_for(group, n))
    }

    /// The offsets partition of `group` if this broker coordinates it, loaded.
    ///
    /// # Errors
    /// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or
    /// COORDINATOR_LOAD_IN_PROGRESS, as clients expect.
    pub(super) async fn route(&self, broker: &Broker, group: &str) -> Result<i32, ResponseError> {
        if group.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let n = Self::partition_count(broker).ok_or(ResponseError::CoordinatorNotAvailable)?;
        let p = kfk_group::schema::partition_for(group, n);
        let part = broker
            .partition(&TopicPartition::new(OFFSETS_TOPIC, p))
            .ok_or(ResponseError::NotCoordinator)?;
        let epoch = part
            .check_leader(-1)
            .map_err(|_| ResponseError::NotCoordinator)?;
        if lock(&self.inner).loaded.get(&p) == Some(&epoch) {
            return Ok(p);
        }
        self.load(broker, p, epoch, n).await?;
        Ok(p)
    }

    /// FindCoordinator for a group: creates `__consumer_offsets` on first use.
    ///
    /// # Errors
    /// COORDINATOR_NOT_AVAILABLE while the offsets partition has no leader.
    pub async fn find(
        &self,
        broker: &Broker,
        group: &str,
        listener: &str,
    ) -> Result<(i32, String, i32), ApiError> {
        let live = broker.live_brokers().len() as i32;
        let t = NewTopic {
            name: OFFSETS_TOPIC.to_string(),
            num_partitions: broker.settings.offsets_topic_num_partitions,
            replication_factor: broker.settings.offsets_topic_replication_factor.min(live),
            assignments: Vec::new(),
            // Compacted, as Kafka's: each group's and offset's latest
            // record stays, and no retention deletes the offsets of groups
            // that stopped committing.
            configs: BTreeMap::from([
                ("cleanup.policy".to_string(), "compact".to_string()),
                (
                    "segment.bytes".to_string(),
                    broker.settings.offsets_topic_segment_bytes.to_string(),
                ),
            ]),
        };
        let n = internal_log::ensure_topic(broker, t).await?;
        let p = kfk_group::schema::partition_for(group, n);
        internal_log::leader_endpoint(broker, OFFSETS_TOPIC, p, listener)
    }

    /// JoinGroup; waits for the join phase to end.
    pub async fn join(&self, broker: &Broker, group: &str, a: JoinArgs) -> JoinReply {
        let min = Duration::from_millis(broker.settings.group_min_session_timeout_ms);
        let max = Duration::from_millis(broker.settings.group_max_session_timeout_ms);
        if a.session_timeout < min || a.session_timeout > max {
            return Err((
                ResponseError::InvalidSessionTimeout,
                format!(
                    "session timeout {} ms is outside group.min/max.session.timeout.ms ({}..{} ms)",
                    a.session_timeout.as_millis(),
                    min.as_millis(),
                    max.as_millis()
                ),
            ));
        }
        self.route(broker, group)
            .await
            .map_err(|e| (e, String::new()))?;
        let outcome = {
            let mut inner = lock(&self.inner);
            if !a.member_id.is_empty() && !inner.groups.contains_key(group) {
                return Err((ResponseError::UnknownMemberId, "unknown group".into()));
            }
            let g = inner
                .groups
                .entry(group.to_string())
                .or_insert_with(|| Group::new(group));
            if let Some(c) = &g.consumer {
                if !c.is_empty() {
                    return Err((
                        ResponseError::InconsistentGroupProtocol,
                        format!(
                            "group '{group}' uses the consumer group protocol (KIP-848); join it with group.protocol=consumer"
                        ),
                    ));
                }
                // An empty consumer group (offsets only) becomes classic.
                g.consumer = None;
            }
            g.join(a, Instant::now(), Self::initial_delay(broker))
        };
        match outcome {
            JoinOutcome::Reply(r) => r,
            JoinOutcome::Wait(rx) => rx.await.unwrap_or(Err((
                ResponseError::NotCoordinator,
                "the coordinator moved".into(),
            ))),
        }
    }

    /// SyncGroup; the leader's call persists the assignment first.
    pub async fn sync(
        &self,
        broker: &Broker,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> SyncReply {
        let p = self.route(broker, group).await?;
        let outcome = {
            let mut inner = lock(&self.inner);
            let Some(g) = inner.groups.get_mut(group) else {
                return Err(ResponseError::UnknownMemberId);
            };
            g.sync(
                member_id,
                instance_id,
                generation,
                assignments,
                Instant::now(),
            )
        };
        match outcome {
            SyncOutcome::Reply(r) => r,
            SyncOutcome::Wait(rx) => rx.await.unwrap_or(Err(ResponseError::NotCoordinator)),
            SyncOutcome::Persist {
                generation,
                value,
                wait,
            } => {
                let entry = Entry::group(group, &value);
                let _w = self.writer(p).await;
                let persisted = store::append(broker, p, &[entry], Self::commit_timeout(broker))
                    .await
                    .map_err(|e| match e.error {
                        ResponseError::NotCoordinator => ResponseError::NotCoordinator,
                        _ => ResponseError::CoordinatorNotAvailable,
                    });
                if let Some(g) = lock(&self.inner).groups.get_mut(group) {
                    g.complete_sync(generation, persisted);
                }
                drop(_w);
                wait.await.unwrap_or(Err(ResponseError::NotCoordinator))
            }
        }
    }

    /// Heartbeat.
    ///
    /// # Errors
    /// The group's verdict on the member.
    pub async fn heartbeat(
        &self,
        broker: &Broker,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), ResponseError> {
        self.route(broker, group).await?;
        let mut inner = lock(&self.inner);
        let g = inner
            .groups
            .get_mut(group)
            .ok_or(ResponseError::UnknownMemberId)?;
        g.heartbeat(member_id, instance_id, generation, Instant::now())
    }

    /// LeaveGroup for each `(member id, instance id)`.
    ///
    /// # Errors
    /// A group-level error; members get their own.
    pub async fn leave(
        &self,
        broker: &Broker,
        group: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        self.route(broker, group).await?;
        let mut inner = lock(&self.inner);
        let g = inner
            .groups
            .get_mut(group)
            .ok_or(ResponseError::UnknownMemberId)?;
        let now = Instant::now();
        Ok(members
            .iter()
            .map(|(m, i)| g.leave(m, i.as_deref(), now, Self::initial_delay(broker)))
            .collect())
    }

    /// OffsetCommit: persists, then remembers, the offsets. Returns one
    /// result per `(topic, partition)` in order.
    ///
    /// # Errors
    /// A membership error that applies to every partition.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit(
        &self,
        broker: &Broker,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        version: i16,
        offsets: Vec<(String, i32, OffsetValue)>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let p = self.route(broker, group).await?;
        {
            let mut inner = lock(&self.inner);
            check_committer(
                &mut inner,
                group,
                member_id,
                instance_id,
                generation,
                version,
            )?;
        }
        let (results, entries, accepted) = offset_entries(broker, group, offsets);
        let _w = self.writer(p).await;
        if let Err(e) = store::append(broker, p, &entries, Self::commit_timeout(broker)).await {
            debug!(group, error = ?e, "offset commit not persisted");
            let code = match e.error {
                ResponseError::NotCoordinator => ResponseError::NotCoordinator,
                ResponseError::RequestTimedOut => ResponseError::RequestTimedOut,
                _ => ResponseError::CoordinatorNotAvailable,
            };
            return Ok(results.into_iter().map(|r| r.and(Err(code))).collect());
        }
        let mut inner = lock(&self.inner);
        let g = inner
            .groups
            .entry(group.to_string())
            .or_insert_with(|| Group::new(group));
        for (topic, partition, v) in accepted {
            g.offsets.insert((topic, partition), v);
        }
        Ok(results)
    }

    /// TxnOffsetCommit: offsets committed inside producer `producer_id`'s
    /// transaction. Written now (a transactional batch in the offsets
    /// partition), they count from the transaction's COMMIT marker on
    /// ([`GroupCoordinator::end_txn_offsets`]); an abort drops them. A
    /// member id and generation, when given, are checked as a commit's.
    ///
    /// # Errors
    /// Routing errors, or the group's refusal of the member.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit_txn(
        &self,
        broker: &Broker,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        producer_id: i64,
        producer_epoch: i16,
        offsets: Vec<(String, i32, OffsetValue)>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let p = self.route(broker, group).await?;
        if generation >= 0 || !member_id.is_empty() {
            let mut inner = lock(&self.inner);
            check_committer(&mut inner, group, member_id, instance_id, generation, 9)?;
        }
        let (results, entries, accepted) = offset_entries(broker, group, offsets);
        let accepted = accepted
            .into_iter()
            .map(|(t, p, v)| (group.to_string(), t, p, v));
        let _w = self.writer(p).await;
        let options = kfk_wire::BatchOptions {
            producer_id,
            producer_epoch,
            transactional: true,
            ..kfk_wire::BatchOptions::default()
        };
        if let Err(e) =
            store::append_with(broker, p, &entries, &options, Self::commit_timeout(broker)).await
        {
            debug!(group, error = ?e, "transactional offset commit not persisted");
            let code = match e.error {
                ResponseError::NotCoordinator => ResponseError::NotCoordinator,
                ResponseError::InvalidProducerEpoch => ResponseError::InvalidProducerEpoch,
                _ => ResponseError::CoordinatorNotAvailable,
            };
            return Ok(results.into_iter().map(|r| r.and(Err(code))).collect());
        }
        lock(&self.inner)
            .pending_txn
            .entry((p, producer_id))
            .or_default()
            .extend(accepted);
        Ok(results)
    }

    /// The partitions of `group` with offsets committed in a transaction
    /// whose marker has not come yet: OffsetFetch with `require_stable`
    /// (KIP-447) answers UNSTABLE_OFFSET_COMMIT for them, so a new owner
    /// does not start from an offset about to move.
    pub fn unstable_offsets(&self, group: &str) -> std::collections::HashSet<(String, i32)> {
        lock(&self.inner)
            .pending_txn
            .values()
            .flatten()
            .filter(|(g, ..)| g == group)
            .map(|(_, t, p, _)| (t.clone(), *p))
            .collect()
    }

    /// A transaction's marker reached offsets partition `p`: the offsets it
    /// committed there count now (`commit`), or never.
    pub fn end_txn_offsets(&self, p: i32, producer_id: i64, commit: bool, _marker_offset: i64) {
        let mut inner = lock(&self.inner);
        let Some(pending) = inner.pending_txn.remove(&(p, producer_id)) else {
            return;
        };
        if !commit {
            return;
        }
        for (group, topic, partition, v) in pending {
            inner
                .groups
                .entry(group.clone())
                .or_insert_with(|| Group::new(&group))
                .offsets
                .insert((topic, partition), v);
        }
    }

    /// OffsetFetch: `None` topics means every committed offset of the group.
    ///
    /// # Errors
    /// Routing errors.
    pub async fn fetch_offsets(
        &self,
        broker: &Broker,
        group: &str,
        member: Option<(&str, i32)>,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<(String, Vec<(i32, Option<Committed>)>)>, ResponseError> {
        self.route(broker, group).await?;
        let inner = lock(&self.inner);
        // v9: a consumer-protocol member proves it is still one.
        if let Some((id, epoch)) = member
            && let Some(c) = inner.groups.get(group).and_then(|g| g.consumer.as_ref())
        {
            c.check_fetch(id, epoch)?;
        }
        let offsets = inner.groups.get(group).map(|g| &g.offsets);
        let committed = |t: &str, p: i32| {
            offsets
                .and_then(|o| o.get(&(t.to_string(), p)))
                .map(|v| Committed {
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: v.metadata.clone().unwrap_or_default(),
                })
        };
        Ok(match wanted {
            Some(topics) => topics
                .into_iter()
                .map(|(t, ps)| {
                    let list = ps.into_iter().map(|p| (p, committed(&t, p))).collect();
                    (t, list)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> = BTreeMap::new();
                for (t, p) in offsets.into_iter().flat_map(|o| o.keys()) {
                    by_topic
                        .entry(t.clone())
                        .or_default()
                        .push((*p, committed(t, *p)));
                }
                by_topic
                    .into_iter()
                    .map(|(t, mut ps)| {
                        ps.sort_by_key(|(p, _)| *p);
                        (t, ps)
                    })
                    .collect()
            }
        })
    }

    /// Every committed offset of the groups this broker coordinates, as
    /// (group, topic, partition, offset): what consumer-lag metrics compare
    /// with the partitions' end offsets.
    pub fn committed_offsets(&self) -> Vec<(String, String, i32, i64)> {
        let inner = lock(&self.inner);
        let mut out: Vec<_> = inner
            .groups
            .values()
            .flat_map(|g| {
                g.offsets
                    .iter()
                    .map(|((t, p), v)| (g.id.clone(), t.clone(), *p, v.offset))
            })
            .collect();
        out.sort();
        out
    }

    /// Groups this broker coordinates: (id, protocol type, state, group type).
    pub fn list(&self) -> Vec<(String, String, &'static str, &'static str)> {
        let inner = lock(&self.inner);
        let mut out: Vec<_> = inner
            .groups
            .values()
            .map(|g| {
                let protocol_type = match &g.consumer {
                    Some(_) => "consumer".to_string(),
                    None => g.protocol_type.clone().unwrap_or_default(),
                };
                (g.id.clone(), protocol_type, g.state_name(), g.group_type())
            })
            .collect();
        out.sort();
        out
    }

    /// DescribeGroups for one group; an unknown group is "Dead", as in Kafka.
    ///
    /// # Errors
    /// Routing errors.
    pub async fn describe(
        &self,
        broker: &Broker,
        group: &str,
    ) -> Result<Description, ResponseError> {
        self.route(broker, group).await?;
        let inner = lock(&self.inner);
        // A consumer-protocol group is not a classic one: Kafka calls it
        // Dead here, and describes it with ConsumerGroupDescribe.
        let Some(g) = inner.groups.get(group).filter(|g| g.consumer.is_none()) else {
            return Ok(Description {
                state: "Dead",
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            });
        };
        let protocol = g.protocol.clone().unwrap_or_default();
        Ok(Description {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: protocol.clone(),
            members: g
                .members
                .iter()
                .map(|m| {
                    let meta = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        meta,
                        if g.state == GroupState::Stable {
                            m.assignment.clone()
                        } else {
                            Bytes::new()
                        },
                    )
                })
                .collect(),
        })
    }

    /// DeleteGroups for one group: only an empty group can go; its offsets go
    /// with it.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or routing and storage errors.
    pub async fn delete(&self, broker: &Broker, group: &str) -> Result<(), ResponseError> {
        let p = self.route(broker, group).await?;
        let entries: Vec<Entry> = {
            let inner = lock(&self.inner);
            let g = inner
                .groups
                .get(group)
                .ok_or(ResponseError::GroupIdNotFound)?;
            if !g.is_empty() {
                return Err(ResponseError::NonEmptyGroup);
            }
            g.offsets
                .keys()
                .map(|(t, part)| Entry::offset_tombstone(group, t, *part))
                .chain(Entry::group_tombstones(group))
                .collect()
        };
        let _w = self.writer(p).await;
        store::append(broker, p, &entries, Self::commit_timeout(broker))
            .await
            .map_err(|e| e.error)?;
        let mut inner = lock(&self.inner);
        if inner.groups.get(group).is_some_and(Group::is_empty) {
            inner.groups.remove(group);
        }
        info!(group, "deleted consumer group");
        Ok(())
    }

    /// OffsetDelete: drops committed offsets of topics the group no longer
    /// subscribes to.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND or routing errors; partitions get their own.
    pub async fn delete_offsets(
        &self,
        broker: &Broker,
        group: &str,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let p = self.route(broker, group).await?;
        let (results, entries) = {
            let inner = lock(&self.inner);
            let g = inner
                .groups
                .get(group)
                .ok_or(ResponseError::GroupIdNotFound)?;
            let subscribed = g.subscribed_topics();
            let mut results = Vec::new();
            let mut entries = Vec::new();
            for (t, part) in &partitions {
                if !g.is_empty() && subscribed.contains(t) {
                    results.push(Err(ResponseError::GroupSubscribedToTopic));
                    continue;
                }
                results.push(Ok(()));
                if g.offsets.contains_key(&(t.clone(), *part)) {
                    entries.push(Entry::offset_tombstone(group, t, *part));
                }
            }
            (results, entries)
        };
        let _w = self.writer(p).await;
        store::append(broker, p, &entries, Self::commit_timeout(broker))
            .await
            .map_err(|e| e.error)?;
        let mut inner = lock(&self.inner);
        if let Some(g) = inner.groups.get_mut(group) {
            for ((t, part), r) in partitions.iter().zip(&results) {
                if r.is_ok() {
                    g.offsets.remove(&(t.clone(), *part));
                }
            }
        }
        Ok(results)
    }
}

/// Offsets a commit may take (metadata within `offset.metadata.max.bytes`):
/// each one's result, their records, and what memory takes once written.
#[allow(clippy::type_complexity)]
fn offset_entries(
    broker: &Broker,
    group: &str,
    offsets: Vec<(String, i32, OffsetValue)>,
) -> (
    Vec<Result<(), ResponseError>>,
    Vec<Entry>,
    Vec<(String, i32, OffsetValue)>,
) {
    let max_meta = broker.settings.offset_metadata_max_bytes as usize;
    let mut results = Vec::with_capacity(offsets.len());
    let mut entries = Vec::new();
    let mut accepted = Vec::new();
    for (topic, partition, v) in offsets {
        if v.metadata.as_ref().is_some_and(|m| m.len() > max_meta) {
            results.push(Err(ResponseError::OffsetMetadataTooLarge));
            continue;
        }
        results.push(Ok(()));
        entries.push(Entry::offset(
            RecordKey::Offset {
                group: group.to_string(),
                topic: topic.clone(),
                partition,
            },
            &v,
        ));
        accepted.push((topic, partition, v));
    }
    (results, entries, accepted)
}

/// A committer must be a member of the group's current generation (or, in
/// a consumer-protocol group, hold its current member epoch).
fn check_committer(
    inner: &mut coordinator::Inner,
    group: &str,
    member_id: &str,
    instance_id: Option<&str>,
    generation: i32,
    version: i16,
) -> Result<(), ResponseError> {
    let g = inner
        .groups
        .entry(group.to_string())
        .or_insert_with(|| Group::new(group));
    match &g.consumer {
        // The generation field carries the member epoch (v9+).
        Some(c) => c.check_commit(member_id, generation, version),
        None => g.check_commit(member_id, instance_id, generation, Instant::now()),
    }
}
