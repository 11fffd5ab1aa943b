//! Rebalancing a group: joins (new, returning and static members), the
//! choice of a common protocol, the leader's assignment handed out by
//! SyncGroup, and when a rebalance completes.

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use super::*;

impl Group {
    /// Starts a rebalance: every member must join again.
    pub(super) fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
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
    pub(super) fn static_return(
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

    pub(super) fn add_member(
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
    pub(super) fn rejoin(
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
    pub(super) fn joined_for(&self, id: &str, with_members: bool) -> Joined {
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
    pub(super) fn try_complete_join(&mut self, now: Instant) {
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
    pub(super) fn select_protocol(&self) -> String {
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
}
