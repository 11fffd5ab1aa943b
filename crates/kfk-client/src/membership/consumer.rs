//! Membership under KIP-848's consumer protocol: the member heartbeats with
//! its epoch and the partitions it reads; the coordinator answers with the
//! partitions it should read. A partition taken away is reported gone only
//! after the reader committed it and called `join` again, so the coordinator
//! never gives it to another member while this one may still read it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, GroupId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kfk_sync::lock;
use tokio::sync::Notify;
use uuid::Uuid;

use super::Assignment;
use crate::client::Client;
use crate::error::{ClientError, Result};

/// Partitions by topic id, as the protocol carries them.
type ById = BTreeMap<Uuid, Vec<i32>>;

/// Attempts to get into the group while coordinators move.
const JOIN_ATTEMPTS: u32 = 30;
/// How long the coordinator waits for this member to give partitions back.
const REBALANCE_TIMEOUT_MS: i32 = 300_000;
/// The epoch that leaves the group.
const LEAVE_EPOCH: i32 = -1;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

#[derive(Debug, Default)]
struct State {
    member_id: String,
    epoch: i32,
    /// -1 until found, and again after it moved.
    coordinator: i32,
    /// What the reader reads, as reported to the coordinator.
    owned: ById,
    /// A newer assignment for the reader to take at its next `join`.
    pending: Option<ById>,
    interval: Duration,
    joined: bool,
    /// Fenced by the coordinator: the member owns nothing and joins again.
    fenced: bool,
    /// A refusal the next `join` reports.
    failure: Option<ClientError>,
}

#[derive(Debug)]
struct Shared {
    client: Arc<Client>,
    group: String,
    topics: Vec<String>,
    state: Mutex<State>,
    rejoin: AtomicBool,
    /// Sends a heartbeat now (after the reader took a new assignment).
    wake: Notify,
}

impl Shared {
    fn forget_coordinator(&self) {
        lock(&self.state).coordinator = -1;
    }

    async fn coordinator(&self) -> Result<i32> {
        let known = lock(&self.state).coordinator;
        if known >= 0 {
            return Ok(known);
        }
        let c = self.client.group_coordinator(&self.group).await?;
        lock(&self.state).coordinator = c;
        Ok(c)
    }

    /// One heartbeat reporting what the member reads now; applies the answer.
    async fn beat(&self) -> Result<()> {
        let coordinator = self.coordinator().await?;
        let conn = match self.client.broker(coordinator).await {
            Ok(c) => c,
            Err(e) => {
                self.forget_coordinator();
                return Err(e);
            }
        };
        let version =
            conn.version_for(ApiKey::ConsumerGroupHeartbeat)
                .ok_or(ClientError::Unsupported {
                    addr: conn.addr().to_string(),
                    api: "ConsumerGroupHeartbeat (group.protocol=consumer)",
                })?;
        let req = {
            let mut st = lock(&self.state);
            // v1+ (KIP-1082): the member names itself, for its whole life.
            if st.member_id.is_empty() && version >= 1 {
                st.member_id = Uuid::new_v4().simple().to_string();
            }
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_member_id(s(&st.member_id))
                .with_member_epoch(st.epoch)
                .with_rebalance_timeout_ms(REBALANCE_TIMEOUT_MS)
                .with_subscribed_topic_names(Some(
                    self.topics.iter().map(|t| TopicName(s(t))).collect(),
                ))
                .with_topic_partitions(Some(
                    st.owned
                        .iter()
                        .map(|(id, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(*id)
                                .with_partitions(ps.clone())
                        })
                        .collect(),
                ))
        };
        match conn.send_at(&req, version).await {
            Ok(resp) => self.apply(resp),
            Err(e) => {
                self.forget_coordinator();
                Err(e)
            }
        }
    }

    fn apply(&self, resp: ConsumerGroupHeartbeatResponse) -> Result<()> {
        let mut st = lock(&self.state);
        match ResponseError::try_from_code(resp.error_code) {
            None => {
                if let Some(id) = resp.member_id {
                    st.member_id = id.to_string();
                }
                st.epoch = resp.member_epoch;
                st.interval = Duration::from_millis(
                    u64::try_from(resp.heartbeat_interval_ms)
                        .unwrap_or(0)
                        .max(50),
                );
                st.fenced = false;
                if let Some(a) = resp.assignment {
                    let mut ids = ById::new();
                    for tp in a.topic_partitions {
                        let mut ps = tp.partitions;
                        ps.sort_unstable();
                        ids.entry(tp.topic_id).or_default().extend(ps);
                    }
                    if ids == st.owned {
                        st.pending = None;
                    } else {
                        st.pending = Some(ids);
                        self.rejoin.store(true, Ordering::Relaxed);
                    }
                }
                Ok(())
            }
            Some(ResponseError::FencedMemberEpoch | ResponseError::UnknownMemberId) => {
                tracing::info!(group = %self.group, "fenced by the group coordinator; joining again");
                st.epoch = 0;
                st.fenced = true;
                st.pending = None;
                self.rejoin.store(true, Ordering::Relaxed);
                Ok(())
            }
            Some(error) => {
                if matches!(
                    error,
                    ResponseError::NotCoordinator
                        | ResponseError::CoordinatorNotAvailable
                        | ResponseError::CoordinatorLoadInProgress
                ) {
                    st.coordinator = -1;
                }
                Err(ClientError::Kafka {
                    error,
                    message: resp.error_message.map(|m| m.to_string()),
                    context: format!("group '{}' refused this member", self.group),
                })
            }
        }
    }

    /// Topic names for the ids of an assignment; ids of topics it cannot
    /// name (deleted since) are left out.
    async fn names(&self, ids: &ById) -> Result<Assignment> {
        let mut by_id: BTreeMap<Uuid, String> = BTreeMap::new();
        for refreshed in [false, true] {
            if refreshed {
                if ids.keys().all(|id| by_id.contains_key(id)) {
                    break;
                }
                self.client.refresh(Some(&self.topics)).await?;
            }
            for t in &self.topics {
                if let Ok(info) = self.client.topic(t).await {
                    by_id.insert(info.id, t.clone());
                }
            }
        }
        Ok(ids
            .iter()
            .filter_map(|(id, ps)| by_id.get(id).map(|n| (n.clone(), ps.clone())))
            .collect())
    }
}

/// One member of one consumer-protocol group.
#[derive(Debug)]
pub(super) struct ConsumerMember {
    shared: Arc<Shared>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for ConsumerMember {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

impl ConsumerMember {
    pub(super) fn new(client: Arc<Client>, group: &str, topics: &[String]) -> ConsumerMember {
        ConsumerMember {
            shared: Arc::new(Shared {
                client,
                group: group.to_string(),
                topics: topics.to_vec(),
                state: Mutex::new(State {
                    coordinator: -1,
                    interval: Duration::from_secs(5),
                    ..State::default()
                }),
                rejoin: AtomicBool::new(true),
                wake: Notify::new(),
            }),
            heartbeat: None,
        }
    }

    pub(super) fn needs_rejoin(&self) -> bool {
        self.shared.rejoin.load(Ordering::Relaxed)
    }

    /// Joins (from epoch 0 when new or fenced), or takes the assignment the
    /// coordinator sent since the last call and reports it taken at once.
    pub(super) async fn join(&mut self) -> Result<Assignment> {
        let mut attempt = 0;
        loop {
            let taken = {
                let mut st = lock(&self.shared.state);
                if let Some(e) = st.failure.take() {
                    return Err(e);
                }
                if st.joined && !st.fenced {
                    if let Some(p) = st.pending.take() {
                        st.owned = p;
                    }
                    Some(st.owned.clone())
                } else {
                    st.epoch = 0;
                    st.owned.clear();
                    st.pending = None;
                    None
                }
            };
            if let Some(owned) = taken {
                self.shared.rejoin.store(false, Ordering::Relaxed);
                self.shared.wake.notify_one();
                self.start_heartbeats();
                return self.shared.names(&owned).await;
            }
            attempt += 1;
            match self.shared.beat().await {
                Ok(()) => {
                    let mut st = lock(&self.shared.state);
                    if !st.fenced {
                        st.joined = true;
                    }
                }
                Err(e) if attempt < JOIN_ATTEMPTS && e.is_retriable() => {
                    self.shared.client.backoff(attempt.min(5)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn start_heartbeats(&mut self) {
        if self.heartbeat.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let shared = Arc::clone(&self.shared);
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                let every = lock(&shared.state).interval;
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = shared.wake.notified() => {}
                }
                match shared.beat().await {
                    Ok(()) => {}
                    // The coordinator moved or its broker is away: ask again
                    // soon, with the same epoch.
                    Err(e) if e.is_retriable() => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        shared.wake.notify_one();
                    }
                    Err(e) => {
                        lock(&shared.state).failure = Some(e);
                        shared.rejoin.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }

    pub(super) fn committer(&self) -> ConsumerCommitter {
        ConsumerCommitter {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Leaves the group (epoch -1): the coordinator reassigns at once.
    pub(super) async fn leave(&mut self) -> Result<()> {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        let (member_id, joined) = {
            let st = lock(&self.shared.state);
            (st.member_id.clone(), st.joined)
        };
        if member_id.is_empty() || !joined {
            return Ok(());
        }
        let coordinator = self.shared.coordinator().await?;
        let conn = self.shared.client.broker(coordinator).await?;
        let version = conn
            .version_for(ApiKey::ConsumerGroupHeartbeat)
            .unwrap_or(0);
        let req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.shared.group)))
            .with_member_id(s(&member_id))
            .with_member_epoch(LEAVE_EPOCH)
            .with_rebalance_timeout_ms(-1);
        let resp = conn.send_at(&req, version).await?;
        lock(&self.shared.state).joined = false;
        ClientError::check(
            resp.error_code,
            resp.error_message.as_deref(),
            format!("cannot leave group '{}'", self.shared.group),
        )
    }
}

/// Commits with the member's latest epoch.
#[derive(Debug, Clone)]
pub(super) struct ConsumerCommitter {
    shared: Arc<Shared>,
}

impl ConsumerCommitter {
    /// Commits `offsets`; a commit that crossed an epoch change
    /// (STALE_MEMBER_EPOCH) is sent again with the new epoch.
    pub(super) async fn commit(&self, offsets: &[(String, i32, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (member_id, epoch) = {
                let st = lock(&self.shared.state);
                (st.member_id.clone(), st.epoch)
            };
            let req = crate::groups::offset_commit_request(
                &self.shared.group,
                epoch,
                &member_id,
                offsets,
            );
            let coordinator = self.shared.coordinator().await?;
            let conn = self.shared.client.broker(coordinator).await?;
            let (resp, _) = conn.send(&req).await?;
            match super::check_commit(&resp, &self.shared.group) {
                Err(ClientError::Kafka {
                    error: ResponseError::StaleMemberEpoch,
                    ..
                }) if attempt < 5 => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e @ ClientError::Kafka { .. }) if e.is_retriable() && attempt < 5 => {
                    self.shared.forget_coordinator();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }
}
