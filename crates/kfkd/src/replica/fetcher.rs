//! Follower side of replication: one task per leader broker fetches every
//! partition this broker follows from it, over one kfk-client connection.
//!
//! Before fetching a partition it starts following in a new epoch, the task
//! asks the leader where that epoch's history ends (OffsetForLeaderEpoch,
//! KIP-101) and cuts the divergent tail, so replicas agree up to the high
//! watermark after any failover.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest};
use tracing::{debug, info, warn};

use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::replica::leader_link::LeaderLink;
use crate::replica::partition::{FollowerView, Partition};
use kfk_sync::{lock, read};
use kfk_wire::topic_name as name;

/// Pause after an error before the next round, so a dead leader is not
/// hammered while the controller moves leadership.
const BACKOFF: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Fetch protocol version used between brokers (replica id in the body).
const FETCH_VERSION: i16 = 12;
const EPOCH_VERSION: i16 = 4;

type Followed = Vec<(Arc<Partition>, FollowerView)>;

/// Where each partition of `list` is in it, so a leader's answer about tens
/// of thousands of partitions is matched to them in one pass.
fn index<'a>(list: &[&'a (Arc<Partition>, FollowerView)]) -> HashMap<(&'a str, i32), usize> {
    list.iter()
        .enumerate()
        .map(|(i, (p, _))| ((p.tp.topic.as_str(), p.tp.partition), i))
        .collect()
}

/// Partitions this broker follows from `leader`; `None` (and the fetcher
/// deregistered) when there are none, so a fetcher task can end without
/// racing [`ensure_running`].
fn followed_from(b: &Broker, leader: i32) -> Option<Followed> {
    let mut fetchers = lock(&b.fetchers);
    let followed: Vec<_> = if b.stopping.load(Ordering::Relaxed) {
        Vec::new()
    } else {
        read(&b.partitions)
            .values()
            .filter_map(|p| {
                p.follower_view()
                    .filter(|v| v.leader == leader)
                    .map(|v| (Arc::clone(p), v))
            })
            .collect()
    };
    if followed.is_empty() {
        fetchers.remove(&leader);
        return None;
    }
    Some(followed)
}

/// Starts a replica fetcher for every leader this broker follows a
/// partition from and has none yet.
pub(crate) fn ensure_running(b: &Arc<Broker>) {
    if b.stopping.load(Ordering::Relaxed) {
        return;
    }
    let leaders: HashSet<i32> = read(&b.partitions)
        .values()
        .filter_map(|p| p.follower_view().map(|v| v.leader))
        .collect();
    let mut fetchers = lock(&b.fetchers);
    for leader in leaders {
        if fetchers.insert(leader) {
            debug!(leader, "starting a replica fetcher");
            tokio::spawn(run(Arc::downgrade(b), leader));
        }
    }
}

/// Replicates from `leader` until this broker follows nothing it leads.
pub async fn run(broker: Weak<Broker>, leader: i32) {
    let mut conn: Option<LeaderLink> = None;
    loop {
        let Some(b) = broker.upgrade() else { return };
        let Some(followed) = followed_from(&b, leader) else {
            debug!(leader, "replica fetcher stopped: nothing left to follow");
            return;
        };
        if conn.as_ref().is_none_or(|c| !c.is_open()) {
            conn = connect(&b, leader).await;
            if conn.is_none() {
                drop(b);
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let ok = match truncate(&b, c, &followed).await {
            Ok(()) => fetch(&b, c, &followed).await,
            Err(e) => Err(e),
        };
        drop(b);
        if let Err(e) = ok {
            debug!(leader, error = %e, "replica fetch failed");
            if !c.is_open() {
                conn = None;
            }
            tokio::time::sleep(BACKOFF).await;
        }
    }
}

async fn connect(b: &Broker, leader: i32) -> Option<LeaderLink> {
    let addr = b.with_image(|i| {
        i.brokers
            .get(&leader)
            .map(|r| format!("{}:{}", r.host, r.port))
    })?;
    let patience =
        Duration::from_millis(b.settings.replica_fetch_wait_max_ms) + Duration::from_secs(10);
    // A fetch asks for at most max_bytes (4 partitions' worth), but a leader
    // returns a whole first batch even past that (a topic may allow bigger
    // batches than the broker default): the bound only stops a length that
    // no leader would send.
    let max_response = usize::try_from(b.settings.replica_fetch_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(4)
        .saturating_add(256 << 20);
    let tls = b.inter_broker_tls.clone();
    match LeaderLink::connect(&addr, tls, CONNECT_TIMEOUT, patience, max_response).await {
        Ok(c) => Some(c),
        Err(e) => {
            debug!(leader, %addr, error = %e, "cannot reach the partition leader");
            None
        }
    }
}

/// Cuts each newly followed partition back to where its history agrees with
/// the leader's.
async fn truncate(b: &Broker, c: &mut LeaderLink, followed: &Followed) -> anyhow::Result<()> {
    let pending: Vec<_> = followed
        .iter()
        .filter(|(_, v)| v.needs_truncation)
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<OffsetForLeaderTopic> = Vec::new();
    let mut topic_at: HashMap<&str, usize> = HashMap::new();
    for (p, v) in &pending {
        let Some(epoch) = p.log().latest_epoch() else {
            // Nothing with an epoch: keep only what is known to be committed.
            p.truncate_as_follower(p.high_watermark(), v.leader_epoch)?;
            continue;
        };
        let entry = OffsetForLeaderPartition::default()
            .with_partition(p.tp.partition)
            .with_current_leader_epoch(v.leader_epoch)
            .with_leader_epoch(epoch);
        match topic_at.get(p.tp.topic.as_str()) {
            Some(&i) => topics[i].partitions.push(entry),
            None => {
                topic_at.insert(&p.tp.topic, topics.len());
                topics.push(
                    OffsetForLeaderTopic::default()
                        .with_topic(name(&p.tp.topic))
                        .with_partitions(vec![entry]),
                );
            }
        }
    }
    if topics.is_empty() {
        return Ok(());
    }
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(b.node_id))
        .with_topics(topics);
    let resp = c.send_at(&req, EPOCH_VERSION).await?;
    let at = index(&pending);
    for t in resp.topics {
        for r in t.partitions {
            let Some((p, v)) = at
                .get(&(t.topic.0.as_str(), r.partition))
                .map(|&i| pending[i])
            else {
                continue;
            };
            if r.error_code != 0 {
                debug!(partition = %p.tp, error = r.error_code, "leader cannot say where our epoch ends yet");
                continue;
            }
            let requested = p.log().latest_epoch().unwrap_or(-1);
            let target = if r.end_offset < 0 {
                // The leader has no history that old: keep what was committed.
                p.high_watermark()
            } else if r.leader_epoch == requested {
                r.end_offset
            } else {
                // The leader's history diverged earlier: cut at the end of the
                // last epoch both logs know.
                r.end_offset
                    .min(p.log().end_offset_for_epoch(r.leader_epoch).1.max(0))
            };
            let before = p.log().log_end_offset();
            p.truncate_as_follower(target, v.leader_epoch)?;
            if target < before {
                info!(partition = %p.tp, from = before, to = p.log().log_end_offset(),
                    leader_epoch = v.leader_epoch, "truncated divergent records as follower");
            }
        }
    }
    Ok(())
}

/// One Fetch for every partition that is ready, appending what comes back.
async fn fetch(b: &Broker, c: &mut LeaderLink, followed: &Followed) -> anyhow::Result<()> {
    let ready: Vec<_> = followed
        .iter()
        .filter(|(_, v)| !v.needs_truncation)
        .collect();
    if ready.is_empty() {
        return Ok(());
    }
    let max_bytes = i32::try_from(b.settings.replica_fetch_max_bytes).unwrap_or(i32::MAX);
    // Throttled replicas (a reassignment's new ones) fetch only while the
    // broker's replication quota has room.
    let rate = b.follower_throttle_rate();
    let throttled = |p: &Partition| {
        rate < crate::config::dynamic::UNLIMITED
            && b.with_image(|i| {
                i.topics.get(&p.tp.topic).is_some_and(|t| {
                    topic_config::is_throttled(
                        &t.configs,
                        "follower.replication.throttled.replicas",
                        p.tp.partition,
                        b.node_id,
                    )
                })
            })
    };
    let any_throttled = ready.iter().any(|(p, _)| throttled(p));
    let allowed = !any_throttled || b.follower_quota().allows(rate);
    let ready: Vec<_> = ready
        .into_iter()
        .filter(|(p, _)| allowed || !throttled(p))
        .collect();
    if ready.is_empty() {
        tokio::time::sleep(BACKOFF).await;
        return Ok(());
    }
    let throttled_max = i32::try_from(rate.max(1))
        .unwrap_or(i32::MAX)
        .min(max_bytes);
    let mut topics: Vec<FetchTopic> = Vec::new();
    let mut topic_at: HashMap<&str, usize> = HashMap::new();
    for (p, v) in &ready {
        let entry = FetchPartition::default()
            .with_partition(p.tp.partition)
            .with_current_leader_epoch(v.leader_epoch)
            .with_fetch_offset(p.log().log_end_offset())
            .with_last_fetched_epoch(p.log().latest_epoch().unwrap_or(-1))
            .with_log_start_offset(p.log().log_start_offset())
            .with_partition_max_bytes(if throttled(p) {
                throttled_max
            } else {
                max_bytes
            });
        match topic_at.get(p.tp.topic.as_str()) {
            Some(&i) => topics[i].partitions.push(entry),
            None => {
                topic_at.insert(&p.tp.topic, topics.len());
                topics.push(
                    FetchTopic::default()
                        .with_topic(name(&p.tp.topic))
                        .with_partitions(vec![entry]),
                );
            }
        }
    }
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(b.node_id))
        .with_max_wait_ms(i32::try_from(b.settings.replica_fetch_wait_max_ms).unwrap_or(500))
        .with_min_bytes(1)
        .with_max_bytes(max_bytes.saturating_mul(4))
        .with_topics(topics);
    let resp = c.send_at(&req, FETCH_VERSION).await?;
    if resp.error_code != 0 {
        anyhow::bail!("fetch refused with error {}", resp.error_code);
    }
    let mut backoff = false;
    let at = index(&ready);
    for t in resp.responses {
        for r in t.partitions {
            let Some((p, v)) = at
                .get(&(t.topic.0.as_str(), r.partition_index))
                .map(|&i| ready[i])
            else {
                continue;
            };
            // Leadership moved while the fetch was in flight: drop the answer.
            if p.follower_view() != Some(*v) {
                continue;
            }
            match ResponseError::try_from_code(r.error_code) {
                None => {
                    let records = r.records.as_deref().unwrap_or_default();
                    if throttled(p) {
                        b.follower_quota().consume(records.len());
                    }
                    if let Err(e) = p.append_as_follower(records, r.high_watermark) {
                        warn!(partition = %p.tp, error = %e, "could not append replicated records");
                        backoff = true;
                    } else if !records.is_empty() {
                        b.meters.replicated(&p.tp.topic, records.len() as u64);
                    }
                    // What the leader dropped (compacted offsets, deleted
                    // records, retention) is dropped here too.
                    if r.log_start_offset > p.log().log_start_offset()
                        && let Err(e) = p.log().advance_log_start(r.log_start_offset)
                    {
                        warn!(partition = %p.tp, error = %e, "could not follow the leader's log start");
                    }
                }
                Some(ResponseError::OffsetOutOfRange) => {
                    let ours = p.log().log_end_offset();
                    if ours < r.log_start_offset {
                        info!(partition = %p.tp, from = ours, to = r.log_start_offset,
                            "the leader deleted what this follower needs next; starting over at its log start");
                        p.restart_at(r.log_start_offset)?;
                    } else {
                        p.truncate_as_follower(r.high_watermark.max(0), v.leader_epoch)?;
                    }
                }
                Some(e) => {
                    debug!(partition = %p.tp, error = ?e, "leader refused the fetch");
                    backoff = true;
                }
            }
        }
    }
    if backoff {
        tokio::time::sleep(BACKOFF).await;
    }
    Ok(())
}
