//! One consumer group under the classic group protocol, as Kafka's
//! `GroupCoordinator` runs it: members join (the coordinator waits for every
//! known member or the rebalance timeout), the coordinator picks a protocol
//! and a leader and hands the leader the members' subscriptions, the leader
//! sends the assignment back in SyncGroup, and heartbeats keep members alive.
//!
//! Everything here is synchronous bookkeeping on `&mut Group`; waiting
//! requests hold a oneshot receiver that the group answers when the
//! rebalance moves on. Persisting the result is the coordinator's job.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::schema::{GroupValue, MemberValue, OffsetValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// The name Kafka's DescribeGroups and ListGroups use.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// What a JoinGroup gets back once the join phase completes.
#[derive(Debug, Clone, Default)]
pub struct Joined {
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Every member's metadata for the chosen protocol: for the leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

pub type JoinReply = Result<Joined, (ResponseError, String)>;
pub type SyncReply = Result<Bytes, ResponseError>;

#[derive(Debug)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// Protocols the member supports, in its order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// Without a heartbeat (or other request) by then, the member is gone.
    pub expires: Instant,
    join_waiter: Option<oneshot::Sender<JoinReply>>,
    sync_waiter: Option<oneshot::Sender<SyncReply>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// A JoinGroup as the group sees it.
#[derive(Debug, Clone)]
pub struct JoinArgs {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// JoinGroup v4+: a new dynamic member first gets its id back with
    /// MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
}

#[derive(Debug)]
pub enum JoinOutcome {
    Reply(JoinReply),
    Wait(oneshot::Receiver<JoinReply>),
}

#[derive(Debug)]
pub enum SyncOutcome {
    Reply(SyncReply),
    Wait(oneshot::Receiver<SyncReply>),
    /// The leader's assignment for `generation`: persist the group, then
    /// call [`Group::complete_sync`].
    Persist {
        generation: i32,
        value: GroupValue,
        wait: oneshot::Receiver<SyncReply>,
    },
}

#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    /// In join order (the first is the default leader).
    pub members: Vec<Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined with.
    pending: Vec<String>,
    pub offsets: HashMap<(String, i32), OffsetValue>,
    /// End of the join phase (rebalance timeout).
    join_deadline: Option<Instant>,
    /// A new group's join phase lasts at least this long, so consumers
    /// starting together land in one rebalance (`group.initial.rebalance.delay.ms`).
    initial_deadline: Option<Instant>,
    sync_deadline: Option<Instant>,
    /// The group changed in a way that must be persisted (it became Empty).
    pub dirty: bool,
    /// Wall-clock ms when the group last became empty (or was loaded empty):
    /// offset retention counts from here (KIP-211).
    pub empty_since_ms: i64,
    /// Set when the group uses the consumer protocol (KIP-848) instead: its
    /// members live there and the classic fields above stay empty.
    pub consumer: Option<Box<crate::consumer::ConsumerGroup>>,
}

/// Wall-clock milliseconds, as offsets' commit timestamps are kept.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn err<T>(e: ResponseError, why: impl Into<String>) -> Result<T, (ResponseError, String)> {
    Err((e, why.into()))
}

impl Group {
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: Vec::new(),
            pending: Vec::new(),
            offsets: HashMap::new(),
            join_deadline: None,
            initial_deadline: None,
            sync_deadline: None,
            dirty: false,
            empty_since_ms: now_ms(),
            consumer: None,
        }
    }

    /// A group as its last persisted record left it; members get a fresh
    /// session to show up at the new coordinator.
    pub fn restore(id: &str, v: GroupValue, now: Instant) -> Group {
        let mut g = Group::new(id);
        g.protocol_type = Some(v.protocol_type);
        g.generation = v.generation;
        g.protocol = v.protocol;
        g.leader = v.leader;
        g.members = v
            .members
            .into_iter()
            .map(|m| {
                let session =
                    Duration::from_millis(u64::try_from(m.session_timeout_ms).unwrap_or(0));
                Member {
                    id: m.member_id,
                    instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout: session,
                    rebalance_timeout: Duration::from_millis(
                        u64::try_from(m.rebalance_timeout_ms).unwrap_or(0),
                    ),
                    protocols: m
                        .protocols
                        .into_iter()
                        .map(|(n, b)| (n, Bytes::from(b)))
                        .collect(),
                    assignment: Bytes::from(m.assignment),
                    expires: now + session,
                    join_waiter: None,
                    sync_waiter: None,
                }
            })
            .collect();
        g.state = if g.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        g
    }

    /// What to persist for this group.
    pub fn value(&self) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            members: self
                .members
                .iter()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: m.session_timeout.as_millis() as i32,
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis() as i32,
                    protocols: m
                        .protocols
                        .iter()
                        .map(|(n, b)| (n.clone(), b.to_vec()))
                        .collect(),
                    assignment: m.assignment.to_vec(),
                })
                .collect(),
        }
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// A request from `member_id` (with `instance_id`) is from a current member.
    fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        if let Some(inst) = instance_id
            && let Some(m) = self
                .members
                .iter()
                .find(|m| m.instance_id.as_deref() == Some(inst))
            && m.id != member_id
        {
            return Err(ResponseError::FencedInstanceId);
        }
        if self.member(member_id).is_none() {
            return Err(ResponseError::UnknownMemberId);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.consumer.as_ref().is_none_or(|c| c.is_empty())
    }

    /// "consumer" for a KIP-848 group, else "classic" (ListGroups v5).
    pub fn group_type(&self) -> &'static str {
        if self.consumer.is_some() {
            "consumer"
        } else {
            "classic"
        }
    }

    /// The state ListGroups and the describe calls show.
    pub fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(c) => c.state(),
            None => self.state.name(),
        }
    }

    /// Topics the members subscribe to (consumer protocol), for OffsetDelete.
    pub fn subscribed_topics(&self) -> Vec<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if let Some(c) = &self.consumer {
            return c.subscribed_topics();
        }
        let mut topics = Vec::new();
        if self.protocol_type.as_deref() != Some("consumer") {
            return topics;
        }
        for m in &self.members {
            let meta = match &self.protocol {
                Some(p) => m.metadata_for(p),
                None => continue,
            };
            let mut buf = meta.clone();
            if buf.len() < 2 {
                continue;
            }
            let version = i16::from_be_bytes([buf[0], buf[1]]);
            let _ = bytes::Buf::get_i16(&mut buf);
            if let Ok(s) = ConsumerProtocolSubscription::decode(&mut buf, version.clamp(0, 3)) {
                topics.extend(s.topics.into_iter().map(|t| t.to_string()));
            }
        }
        topics.sort();
        topics.dedup();
        topics
    }

    /// Handles a Heartbeat.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION,
    /// REBALANCE_IN_PROGRESS (the member must join again).
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        self.check_member(member_id, instance_id)?;
        if let Some(m) = self.member_mut(member_id) {
            m.expires = now + m.session_timeout;
        }
        match self.state {
            GroupState::Empty => Err(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            _ if generation != self.generation => Err(ResponseError::IllegalGeneration),
            _ => Ok(()),
        }
    }

    /// Handles one member of a LeaveGroup.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        initial_delay: Duration,
    ) -> Result<(), ResponseError> {
        let id = match (member_id.is_empty(), instance_id) {
            // v3+: a static member may leave by instance id alone.
            (true, Some(inst)) => self
                .members
                .iter()
                .find(|m| m.instance_id.as_deref() == Some(inst))
                .map(|m| m.id.clone())
                .ok_or(ResponseError::UnknownMemberId)?,
            _ => {
                self.check_member(member_id, instance_id)?;
                member_id.to_string()
            }
        };
        self.remove_member(&id, now, initial_delay);
        Ok(())
    }

    fn remove_member(&mut self, id: &str, now: Instant, initial_delay: Duration) {
        if let Some(i) = self.members.iter().position(|m| m.id == id) {
            let m = self.members.remove(i);
            if let Some(w) = m.join_waiter {
                let _ = w.send(Err((
                    ResponseError::UnknownMemberId,
                    "left the group".into(),
                )));
            }
            if let Some(w) = m.sync_waiter {
                let _ = w.send(Err(ResponseError::UnknownMemberId));
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, initial_delay)
            }
            _ => {}
        }
        self.try_complete_join(now);
    }

    /// Expires silent members and ends phases whose time is up. Returns
    /// whether anything changed.
    pub fn tick(&mut self, now: Instant, initial_delay: Duration) -> bool {
        let before = (self.state, self.generation, self.members.len());
        // A member whose join is parked is not expected to heartbeat.
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.join_waiter.is_none() && m.sync_waiter.is_none() && m.expires <= now)
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member(&id, now, initial_delay);
        }
        if self.state == GroupState::CompletingRebalance
            && self.sync_deadline.is_some_and(|d| now >= d)
        {
            // The leader never sent the assignment: start over.
            self.prepare_rebalance(now, initial_delay);
        }
        self.try_complete_join(now);
        before != (self.state, self.generation, self.members.len())
    }

    /// Offsets to drop under `offsets.retention.minutes` (KIP-211): only an
    /// empty group's, once the retention has passed both since the group
    /// emptied and since the offset was committed.
    pub fn expired_offsets(&self, now_ms: i64, retention_ms: i64) -> Vec<(String, i32)> {
        if !self.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<(String, i32)> = self
            .offsets
            .iter()
            .filter(|(_, v)| now_ms - v.commit_timestamp.max(self.empty_since_ms) > retention_ms)
            .map(|(k, _)| k.clone())
            .collect();
        out.sort();
        out
    }

    /// Fails every parked request (the coordinator is moving away).
    pub fn abandon(&mut self) {
        for m in &mut self.members {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(Err((
                    ResponseError::NotCoordinator,
                    "coordinator moved".into(),
                )));
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(Err(ResponseError::NotCoordinator));
            }
        }
    }

    /// Validates an OffsetCommit's membership.
    ///
    /// # Errors
    /// As Kafka: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID,
    /// REBALANCE_IN_PROGRESS.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        if generation < 0 && member_id.is_empty() {
            // Offsets of a consumer that manages its own partitions.
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            };
        }
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(ResponseError::RebalanceInProgress);
        }
        if let Some(m) = self.member_mut(member_id) {
            m.expires = now + m.session_timeout;
        }
        Ok(())
    }
}

mod rebalance;
#[cfg(test)]
mod tests;
