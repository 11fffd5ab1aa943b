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
        self.members.is_empty()
    }

    /// Topics the members subscribe to (consumer protocol), for OffsetDelete.
    pub fn subscribed_topics(&self) -> Vec<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
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

    /// Starts a rebalance: every member must join again.
    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        // Members waiting for an assignment learn that it is void.
        for m in &mut self.members {
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(Err(ResponseError::RebalanceInProgress));
            }
        }
        let timeout = self
            .members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        if self.state == GroupState::Empty {
            self.initial_deadline = Some(now + initial_delay.min(timeout));
        }
        self.state = GroupState::PreparingRebalance;
        self.join_deadline = Some(now + timeout);
        self.sync_deadline = None;
    }

    /// Handles a JoinGroup.
    pub fn join(&mut self, a: JoinArgs, now: Instant, initial_delay: Duration) -> JoinOutcome {
        if a.protocols.is_empty() || a.protocol_type.is_empty() {
            return JoinOutcome::Reply(err(
                ResponseError::InconsistentGroupProtocol,
                "a join needs a protocol type and at least one protocol",
            ));
        }
        if !self.members.is_empty() {
            let same_type = self.protocol_type.as_deref() == Some(a.protocol_type.as_str());
            let shared = a.protocols.iter().any(|(n, _)| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(mn, _)| mn == n))
            });
            if !same_type || !shared {
                return JoinOutcome::Reply(err(
                    ResponseError::InconsistentGroupProtocol,
                    format!(
                        "group '{}' uses protocol type {:?} with protocols none of which this member supports",
                        self.id, self.protocol_type
                    ),
                ));
            }
        }
        let known = !a.member_id.is_empty();
        if known && self.member(&a.member_id).is_none() && !self.pending.contains(&a.member_id) {
            return JoinOutcome::Reply(err(
                ResponseError::UnknownMemberId,
                format!("member {} is not in group '{}'", a.member_id, self.id),
            ));
        }
        if !known {
            let new_id = format!("{}-{}", a.client_id, uuid::Uuid::new_v4());
            // A static member coming back takes over its old identity.
            if let Some(inst) = &a.instance_id
                && let Some(old) = self
                    .members
                    .iter_mut()
                    .find(|m| m.instance_id.as_deref() == Some(inst.as_str()))
            {
                let old_id = std::mem::replace(&mut old.id, new_id.clone());
                if let Some(w) = old.join_waiter.take() {
                    let _ = w.send(Err((
                        ResponseError::FencedInstanceId,
                        "another instance with this group.instance.id joined".into(),
                    )));
                }
                if let Some(w) = old.sync_waiter.take() {
                    let _ = w.send(Err(ResponseError::FencedInstanceId));
                }
                let leader_before = self.leader.clone().unwrap_or_default();
                if leader_before == old_id {
                    self.leader = Some(new_id.clone());
                }
                if self.state == GroupState::Stable {
                    return self.static_return(&new_id, leader_before, a, now, initial_delay);
                }
                // Mid-rebalance the leader may already be assigning to the
                // old member id: start over, as Kafka does.
                return self.rejoin(&new_id, a, now, initial_delay, true);
            }
            if a.require_known_member_id && a.instance_id.is_none() {
                self.pending.push(new_id.clone());
                return JoinOutcome::Reply(Err((ResponseError::MemberIdRequired, new_id)));
            }
            return self.add_member(new_id, a, now, initial_delay);
        }
        if let Some(i) = self.pending.iter().position(|p| *p == a.member_id) {
            self.pending.remove(i);
            let id = a.member_id.clone();
            return self.add_member(id, a, now, initial_delay);
        }
        let id = a.member_id.clone();
        self.rejoin(&id, a, now, initial_delay, false)
    }

    /// KIP-345: a restarted static member of a stable group keeps its
    /// assignment without a rebalance, unless its protocols would change the
    /// group's. The answer names the leader as it was before the member's id
    /// changed, so a returning leader acts as a follower and fetches its old
    /// assignment instead of assigning again (which a stable group would not
    /// hand out).
    fn static_return(
        &mut self,
        id: &str,
        leader_before: String,
        a: JoinArgs,
        now: Instant,
        initial_delay: Duration,
    ) -> JoinOutcome {
        let Some(m) = self.member_mut(id) else {
            return JoinOutcome::Reply(err(ResponseError::UnknownMemberId, "unknown member"));
        };
        m.protocols.clone_from(&a.protocols);
        m.session_timeout = a.session_timeout;
        m.rebalance_timeout = a.rebalance_timeout;
        m.expires = now + a.session_timeout;
        if self.protocol.as_deref() != Some(self.select_protocol().as_str()) {
            return self.rejoin(id, a, now, initial_delay, true);
        }
        // The new member id must survive a coordinator failover.
        self.dirty = true;
        let mut joined = self.joined_for(id, false);
        joined.leader = leader_before;
        JoinOutcome::Reply(Ok(joined))
    }

    fn add_member(
        &mut self,
        id: String,
        a: JoinArgs,
        now: Instant,
        initial_delay: Duration,
    ) -> JoinOutcome {
        if self.members.is_empty() {
            self.protocol_type = Some(a.protocol_type.clone());
        }
        self.members.push(Member {
            id: id.clone(),
            instance_id: a.instance_id,
            client_id: a.client_id,
            client_host: a.client_host,
            session_timeout: a.session_timeout,
            rebalance_timeout: a.rebalance_timeout,
            protocols: a.protocols,
            assignment: Bytes::new(),
            expires: now + a.session_timeout,
            join_waiter: None,
            sync_waiter: None,
        });
        let (tx, rx) = oneshot::channel();
        if let Some(m) = self.member_mut(&id) {
            m.join_waiter = Some(tx);
        }
        match self.state {
            GroupState::PreparingRebalance => {
                // A new member of a new group extends the initial delay.
                if let Some(d) = self.initial_deadline {
                    let cap = self.join_deadline.unwrap_or(d);
                    self.initial_deadline = Some((now + initial_delay).min(cap).max(d));
                }
            }
            _ => self.prepare_rebalance(now, initial_delay),
        }
        self.try_complete_join(now);
        JoinOutcome::Wait(rx)
    }

    /// A known member joins again; `force` starts a rebalance even when
    /// nothing about it changed.
    fn rejoin(
        &mut self,
        id: &str,
        a: JoinArgs,
        now: Instant,
        initial_delay: Duration,
        force: bool,
    ) -> JoinOutcome {
        let is_leader = self.leader.as_deref() == Some(id);
        let state = self.state;
        let Some(m) = self.member_mut(id) else {
            return JoinOutcome::Reply(err(ResponseError::UnknownMemberId, "unknown member"));
        };
        let changed = force || m.protocols != a.protocols;
        m.protocols = a.protocols;
        m.session_timeout = a.session_timeout;
        m.rebalance_timeout = a.rebalance_timeout;
        m.expires = now + m.session_timeout;
        match state {
            // A follower re-sending its join during the sync phase (or in a
            // stable group) with nothing changed gets the current generation.
            GroupState::CompletingRebalance | GroupState::Stable if !changed && !is_leader => {
                JoinOutcome::Reply(Ok(self.joined_for(id, false)))
            }
            GroupState::CompletingRebalance if !changed => {
                JoinOutcome::Reply(Ok(self.joined_for(id, true)))
            }
            _ => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.member_mut(id)
                    && let Some(old) = m.join_waiter.replace(tx)
                {
                    let _ = old.send(Err((
                        ResponseError::UnknownMemberId,
                        "superseded by a newer join".into(),
                    )));
                }
                if self.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(now, initial_delay);
                }
                self.try_complete_join(now);
                JoinOutcome::Wait(rx)
            }
        }
    }

    /// The JoinGroup answer for `id` in the current generation.
    fn joined_for(&self, id: &str, with_members: bool) -> Joined {
        let protocol = self.protocol.clone().unwrap_or_default();
        Joined {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: id.to_string(),
            members: if with_members {
                self.members
                    .iter()
                    .map(|m| {
                        (
                            m.id.clone(),
                            m.instance_id.clone(),
                            m.metadata_for(&protocol),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Ends the join phase when every member has joined (after the initial
    /// delay of a new group) or the rebalance timeout has passed.
    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.iter().all(|m| m.join_waiter.is_some());
        let initial_done = self.initial_deadline.is_none_or(|d| now >= d);
        let timed_out = self.join_deadline.is_some_and(|d| now >= d);
        if !(timed_out || all_joined && initial_done) {
            return;
        }
        // Members that did not rejoin in time are out.
        self.members.retain(|m| m.join_waiter.is_some());
        self.pending.clear();
        self.initial_deadline = None;
        self.join_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            self.dirty = true;
            self.empty_since_ms = now_ms();
            return;
        }
        self.protocol = Some(self.select_protocol());
        if self
            .leader
            .as_ref()
            .is_none_or(|l| self.member(l).is_none())
        {
            self.leader = Some(self.members[0].id.clone());
        }
        self.state = GroupState::CompletingRebalance;
        let timeout = self
            .members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        self.sync_deadline = Some(now + timeout);
        let leader = self.leader.clone().unwrap_or_default();
        let replies: Vec<(String, Joined)> = self
            .members
            .iter()
            .map(|m| (m.id.clone(), self.joined_for(&m.id, m.id == leader)))
            .collect();
        for (id, reply) in replies {
            if let Some(m) = self.member_mut(&id) {
                m.expires = now + m.session_timeout;
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(Ok(reply));
                }
            }
        }
    }

    /// The protocol every member supports that most members prefer.
    fn select_protocol(&self) -> String {
        let candidates: Vec<&String> = self.members[0]
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(mn, _)| mn == *n))
            })
            .collect();
        let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
        for m in &self.members {
            if let Some(i) = m
                .protocols
                .iter()
                .find_map(|(n, _)| candidates.iter().position(|c| *c == n))
            {
                *votes.entry(i).or_default() += 1;
            }
        }
        let best = votes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(0, |(i, _)| *i);
        candidates
            .get(best)
            .map(|s| (*s).clone())
            .unwrap_or_default()
    }

    /// Handles a SyncGroup.
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> SyncOutcome {
        if let Err(e) = self.check_member(member_id, instance_id) {
            return SyncOutcome::Reply(Err(e));
        }
        if generation != self.generation {
            return SyncOutcome::Reply(Err(ResponseError::IllegalGeneration));
        }
        match self.state {
            GroupState::Empty => SyncOutcome::Reply(Err(ResponseError::UnknownMemberId)),
            GroupState::PreparingRebalance => {
                SyncOutcome::Reply(Err(ResponseError::RebalanceInProgress))
            }
            GroupState::Stable => SyncOutcome::Reply(Ok(self
                .member(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default())),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.member_mut(member_id) {
                    m.expires = now + m.session_timeout;
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() != Some(member_id) {
                    return SyncOutcome::Wait(rx);
                }
                let mut by_member: HashMap<String, Bytes> = assignments.into_iter().collect();
                for m in &mut self.members {
                    m.assignment = by_member.remove(&m.id).unwrap_or_default();
                }
                SyncOutcome::Persist {
                    generation: self.generation,
                    value: self.value(),
                    wait: rx,
                }
            }
        }
    }

    /// The leader's assignment was persisted (or not): the group becomes
    /// Stable and every waiting member gets its assignment.
    pub fn complete_sync(&mut self, generation: i32, persisted: Result<(), ResponseError>) {
        if self.generation != generation || self.state != GroupState::CompletingRebalance {
            return;
        }
        match persisted {
            Ok(()) => {
                self.state = GroupState::Stable;
                self.sync_deadline = None;
                for m in &mut self.members {
                    if let Some(w) = m.sync_waiter.take() {
                        let _ = w.send(Ok(m.assignment.clone()));
                    }
                }
            }
            Err(e) => {
                for m in &mut self.members {
                    m.assignment = Bytes::new();
                    if let Some(w) = m.sync_waiter.take() {
                        let _ = w.send(Err(e));
                    }
                }
            }
        }
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
        if !self.members.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::ZERO;

    fn args(member_id: &str, protocols: &[&str]) -> JoinArgs {
        JoinArgs {
            member_id: member_id.to_string(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from_static(b"meta")))
                .collect(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            require_known_member_id: true,
        }
    }

    fn member_id_required(g: &mut Group, now: Instant) -> String {
        match g.join(args("", &["range"]), now, DELAY) {
            JoinOutcome::Reply(Err((ResponseError::MemberIdRequired, id))) => id,
            _ => panic!("expected MEMBER_ID_REQUIRED"),
        }
    }

    fn waiting(o: JoinOutcome) -> oneshot::Receiver<JoinReply> {
        match o {
            JoinOutcome::Wait(rx) => rx,
            JoinOutcome::Reply(r) => panic!("expected to wait, got {r:?}"),
        }
    }

    #[tokio::test]
    async fn two_members_join_sync_and_the_leader_assigns() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let a = member_id_required(&mut g, now);
        let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
        // Alone, a joins at once (generation 1).
        let ja = ra.try_recv().unwrap().unwrap();
        assert_eq!((ja.generation, ja.leader.as_str()), (1, a.as_str()));
        assert_eq!(ja.members.len(), 1);
        let out = g.sync(
            &a,
            None,
            1,
            vec![(a.clone(), Bytes::from_static(b"all"))],
            now,
        );
        let SyncOutcome::Persist { generation, .. } = out else {
            panic!()
        };
        g.complete_sync(generation, Ok(()));
        assert_eq!(g.state, GroupState::Stable);

        // b joins: a rebalance; a's heartbeat tells it to rejoin.
        let b = member_id_required(&mut g, now);
        let mut rb = waiting(g.join(args(&b, &["range", "roundrobin"]), now, DELAY));
        assert_eq!(
            g.heartbeat(&a, None, 1, now),
            Err(ResponseError::RebalanceInProgress)
        );
        assert!(rb.try_recv().is_err(), "waits for a");
        let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
        let ja = ra.try_recv().unwrap().unwrap();
        let jb = rb.try_recv().unwrap().unwrap();
        assert_eq!(ja.generation, 2);
        assert_eq!(ja.protocol.as_deref(), Some("range"));
        assert_eq!(ja.members.len(), 2, "the leader sees everyone");
        assert!(jb.members.is_empty());
        let SyncOutcome::Wait(mut sb) = g.sync(&b, None, 2, vec![], now) else {
            panic!()
        };
        let out = g.sync(
            &a,
            None,
            2,
            vec![
                (a.clone(), Bytes::from_static(b"p0")),
                (b.clone(), Bytes::from_static(b"p1")),
            ],
            now,
        );
        let SyncOutcome::Persist {
            generation, value, ..
        } = out
        else {
            panic!()
        };
        assert_eq!(value.members.len(), 2);
        g.complete_sync(generation, Ok(()));
        assert_eq!(sb.try_recv().unwrap().unwrap(), Bytes::from_static(b"p1"));
        assert_eq!(g.heartbeat(&b, None, 2, now), Ok(()));
        assert_eq!(
            g.heartbeat(&b, None, 1, now),
            Err(ResponseError::IllegalGeneration)
        );
    }

    #[tokio::test]
    async fn silent_members_expire_and_the_rest_rebalance() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let a = member_id_required(&mut g, now);
        let _ = g.join(args(&a, &["range"]), now, DELAY);
        let SyncOutcome::Persist { generation, .. } = g.sync(&a, None, 1, vec![], now) else {
            panic!()
        };
        g.complete_sync(generation, Ok(()));
        assert!(!g.tick(now + Duration::from_secs(5), DELAY));
        assert!(g.tick(now + Duration::from_secs(11), DELAY));
        assert_eq!(g.state, GroupState::Empty);
        assert!(g.dirty);
        assert_eq!(g.generation, 2);
    }

    #[tokio::test]
    async fn a_static_member_returns_without_a_rebalance() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let mut a_args = args("", &["range"]);
        a_args.instance_id = Some("i-1".into());
        let mut b_args = args("", &["range"]);
        b_args.instance_id = Some("i-2".into());
        let mut ra = waiting(g.join(a_args.clone(), now, DELAY));
        let a = ra.try_recv().unwrap().unwrap().member_id;
        let SyncOutcome::Persist { generation, .. } = g.sync(&a, None, 1, vec![], now) else {
            panic!()
        };
        g.complete_sync(generation, Ok(()));
        let mut rb = waiting(g.join(b_args.clone(), now, DELAY));
        let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
        let b = rb.try_recv().unwrap().unwrap().member_id;
        let _ = ra.try_recv().unwrap().unwrap();
        let SyncOutcome::Persist { generation, .. } = g.sync(
            &a,
            None,
            2,
            vec![(b.clone(), Bytes::from_static(b"p1"))],
            now,
        ) else {
            panic!()
        };
        g.complete_sync(generation, Ok(()));
        // b restarts (new process, same instance id): same generation, no rebalance.
        match g.join(b_args, now, DELAY) {
            JoinOutcome::Reply(Ok(j)) => {
                assert_eq!(j.generation, 2);
                assert_ne!(j.member_id, b);
                assert_eq!(g.state, GroupState::Stable);
                assert_eq!(
                    g.heartbeat(&b, Some("i-2"), 2, now),
                    Err(ResponseError::FencedInstanceId)
                );
            }
            _ => panic!("expected an immediate answer"),
        }
        // a, the leader, restarts too: it is told the leader is its old id,
        // so it syncs as a follower and gets its old assignment back.
        match g.join(a_args, now, DELAY) {
            JoinOutcome::Reply(Ok(j)) => {
                assert_eq!(j.generation, 2);
                assert_eq!(j.leader, a);
                assert_ne!(j.member_id, a);
                assert!(j.members.is_empty());
                assert_eq!(g.state, GroupState::Stable);
                assert_eq!(g.leader.as_deref(), Some(j.member_id.as_str()));
                assert!(matches!(
                    g.sync(&j.member_id, Some("i-1"), 2, vec![], now),
                    SyncOutcome::Reply(Ok(_))
                ));
            }
            _ => panic!("expected an immediate answer"),
        }
    }

    #[test]
    fn only_an_empty_groups_old_offsets_expire() {
        let now = Instant::now();
        let mut g = Group::new("g");
        g.empty_since_ms = 1_000;
        for (p, ts) in [(0, 1_000), (1, 50_000)] {
            g.offsets.insert(
                ("t".into(), p),
                OffsetValue {
                    offset: 1,
                    leader_epoch: -1,
                    metadata: None,
                    commit_timestamp: ts,
                },
            );
        }
        assert_eq!(
            g.expired_offsets(20_000, 10_000),
            vec![("t".to_string(), 0)]
        );
        assert!(g.expired_offsets(5_000, 10_000).is_empty());
        let _ = g.join(args("", &["range"]), now, DELAY);
        let _ = g.join(args(&g.pending[0].clone(), &["range"]), now, DELAY);
        assert!(!g.members.is_empty());
        assert!(
            g.expired_offsets(100_000, 10_000).is_empty(),
            "members keep them"
        );
    }

    #[test]
    fn commits_check_membership_like_kafka() {
        let now = Instant::now();
        let mut g = Group::new("g");
        assert_eq!(g.check_commit("", None, -1, now), Ok(()));
        assert_eq!(
            g.check_commit("nobody", None, 1, now),
            Err(ResponseError::UnknownMemberId)
        );
    }
}
