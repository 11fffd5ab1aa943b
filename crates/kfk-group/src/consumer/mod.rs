//! One consumer group under the consumer group protocol of KIP-848
//! (`group.protocol=consumer`, Kafka 4's default): members only heartbeat,
//! the coordinator computes the whole group's target assignment with a
//! server-side assignor and walks each member towards its share one
//! heartbeat at a time, epochs proving who may read what. Compared with the
//! classic protocol there is no join barrier: a member arriving or leaving
//! never stops the others.
//!
//! Pure bookkeeping like [`crate::state`]; the broker persists
//! [`ConsumerGroup`] after every change and answers the requests.

pub mod assignor;
mod reconcile;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

/// The regex type [`Catalog::matching`] takes.
pub use regex::Regex;

/// Partitions per topic id: topic ids, not names, so a topic deleted and
/// created again under its name is not mistaken for the old one.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// The epoch a member sends to leave for good.
pub const LEAVE_EPOCH: i32 = -1;
/// The epoch a static member sends to leave for a moment, keeping its
/// partitions until its session ends or it comes back.
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// A refused request: Kafka's error code and the message it comes with.
pub type Failure = (ResponseError, String);

fn fail<T>(code: ResponseError, why: impl Into<String>) -> Result<T, Failure> {
    Err((code, why.into()))
}

/// Where a member is on its way to its target assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// It has what the target gives it, or everything it can have for now.
    Stable,
    /// It must first stop reading partitions the target gives to others.
    UnrevokedPartitions,
    /// It waits for partitions others have not released yet.
    UnreleasedPartitions,
}

impl MemberState {
    /// The name Kafka's logs and tools use.
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "STABLE",
            MemberState::UnrevokedPartitions => "UNREVOKED_PARTITIONS",
            MemberState::UnreleasedPartitions => "UNRELEASED_PARTITIONS",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    /// What it may read now.
    pub assigned: Assignment,
    /// What it must give up before it moves on.
    pub pending_revocation: Assignment,
    /// Without a heartbeat by then, the member is fenced.
    #[serde(skip)]
    expires: Option<Instant>,
    /// A member that has not revoked by then is fenced (its rebalance timeout).
    #[serde(skip)]
    revoke_by: Option<Instant>,
}

impl Member {
    fn new(id: &str) -> Member {
        Member {
            id: id.to_string(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: 0,
            subscribed_topic_names: Vec::new(),
            subscribed_topic_regex: None,
            server_assignor: None,
            epoch: 0,
            previous_epoch: -1,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            expires: None,
            revoke_by: None,
        }
    }

    fn set_epoch(&mut self, epoch: i32) {
        self.previous_epoch = self.epoch;
        self.epoch = epoch;
    }

    fn subscription(&self) -> (&[String], Option<&str>, Option<&str>) {
        (
            &self.subscribed_topic_names,
            self.subscribed_topic_regex.as_deref(),
            self.server_assignor.as_deref(),
        )
    }
}

/// What the coordinator needs to know of the cluster's topics.
pub trait Catalog {
    /// A topic's id and partition count.
    fn topic(&self, name: &str) -> Option<(Uuid, i32)>;
    /// The names of the topics `re` matches in full.
    fn matching(&self, re: &Regex) -> Vec<String>;
}

/// The coordinator's settings for consumer groups (Kafka's
/// `group.consumer.*`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_size: usize,
}

/// A ConsumerGroupHeartbeat as the group sees it; `None` fields did not
/// change since the member's last heartbeat.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub member_id: String,
    pub member_epoch: i32,
    /// Sent when it changed or the member asked in full.
    pub assignment: Option<Assignment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsumerGroup {
    /// Bumped whenever membership, subscriptions or subscribed topics change.
    pub group_epoch: i32,
    /// The group epoch the target assignment was computed for.
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, Member>,
    /// Each member's share, as the assignor last decided.
    pub target: BTreeMap<String, Assignment>,
    /// The subscribed topics as last seen (name -> id, partitions): a
    /// topic created, deleted or grown changes the assignment.
    pub topics: BTreeMap<String, (Uuid, i32)>,
}

/// Checks what Kafka checks before anything else.
fn validate(hb: &Heartbeat) -> Result<(), Failure> {
    if hb.instance_id.as_deref() == Some("") {
        return fail(ResponseError::InvalidRequest, "InstanceId can't be empty.");
    }
    if hb.rack_id.as_deref() == Some("") {
        return fail(ResponseError::InvalidRequest, "RackId can't be empty.");
    }
    match hb.member_epoch {
        e if e > 0 || e == LEAVE_EPOCH => {
            if hb.member_id.is_empty() {
                return fail(ResponseError::InvalidRequest, "MemberId can't be empty.");
            }
        }
        0 => {
            if hb.rebalance_timeout_ms == -1 {
                return fail(
                    ResponseError::InvalidRequest,
                    "RebalanceTimeoutMs must be provided in first request.",
                );
            }
            if hb.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                return fail(
                    ResponseError::InvalidRequest,
                    "TopicPartitions must be empty when (re-)joining.",
                );
            }
            let names = hb
                .subscribed_topic_names
                .as_ref()
                .is_some_and(|n| !n.is_empty());
            let regex = hb
                .subscribed_topic_regex
                .as_ref()
                .is_some_and(|r| !r.is_empty());
            if !names && !regex {
                return fail(
                    ResponseError::InvalidRequest,
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                );
            }
        }
        STATIC_LEAVE_EPOCH => {
            if hb.member_id.is_empty() {
                return fail(ResponseError::InvalidRequest, "MemberId can't be empty.");
            }
            if hb.instance_id.is_none() {
                return fail(ResponseError::InvalidRequest, "InstanceId can't be null.");
            }
        }
        _ => return fail(ResponseError::InvalidRequest, "MemberEpoch is invalid."),
    }
    if let Some(a) = &hb.server_assignor
        && !assignor::ASSIGNORS.contains(&a.as_str())
    {
        return fail(
            ResponseError::UnsupportedAssignor,
            format!(
                "ServerAssignor {a} is not supported. Supported assignors: {}.",
                assignor::ASSIGNORS.join(", ")
            ),
        );
    }
    if let Some(r) = &hb.subscribed_topic_regex
        && !r.is_empty()
        && let Err(e) = full_match(r)
    {
        return fail(
            ResponseError::InvalidRegularExpression,
            format!("SubscribedTopicRegex `{r}` is not a valid regular expression: {e}."),
        );
    }
    Ok(())
}

/// A subscription regex matches whole topic names, as Java's `matches()`.
fn full_match(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{re})$"))
}

/// Whether `owned` only has partitions of `assigned`.
fn is_subset(owned: Option<&Assignment>, assigned: &Assignment) -> bool {
    let Some(owned) = owned else { return false };
    owned.iter().all(|(t, ps)| {
        ps.is_empty()
            || assigned
                .get(t)
                .is_some_and(|a| ps.iter().all(|p| a.contains(p)))
    })
}

fn check_epoch(m: &Member, received: i32, owned: Option<&Assignment>) -> Result<(), Failure> {
    if received > m.epoch {
        return fail(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                m.epoch
            ),
        );
    }
    // The answer carrying the new epoch may have been lost: the previous
    // epoch is fine while the member owns nothing it should not.
    if received < m.epoch && (received != m.previous_epoch || !is_subset(owned, &m.assigned)) {
        return fail(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                m.epoch
            ),
        );
    }
    Ok(())
}

impl ConsumerGroup {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The group's state as Kafka names it.
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.group_epoch > self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.state != MemberState::Stable || m.epoch != self.assignment_epoch)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// The assignor the group uses: the one most members ask for, else the
    /// default.
    pub fn assignor(&self) -> &'static str {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = m.server_assignor.as_deref() {
                *votes.entry(a).or_default() += 1;
            }
        }
        let chosen = votes
            .into_iter()
            .max_by_key(|(name, n)| (*n, std::cmp::Reverse(*name)))
            .map(|(name, _)| name);
        assignor::ASSIGNORS
            .iter()
            .find(|a| Some(**a) == chosen)
            .copied()
            .unwrap_or(assignor::ASSIGNORS[0])
    }

    fn static_member(&self, instance_id: &str) -> Option<&Member> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
    }

    /// Members get a fresh session (and revocation time) at a new
    /// coordinator, as they got none from the old one's clock.
    pub fn restore(&mut self, now: Instant, s: &Settings) {
        for m in self.members.values_mut() {
            m.expires = Some(now + s.session_timeout);
            if m.state == MemberState::UnrevokedPartitions {
                m.revoke_by = Some(now + rebalance_timeout(m));
            }
        }
    }

    /// Handles a ConsumerGroupHeartbeat.
    ///
    /// # Errors
    /// Kafka's answer to a request it refuses: INVALID_REQUEST,
    /// UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, UNKNOWN_MEMBER_ID,
    /// FENCED_MEMBER_EPOCH, UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID,
    /// GROUP_MAX_SIZE_REACHED.
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        catalog: &dyn Catalog,
        now: Instant,
        s: &Settings,
    ) -> Result<Reply, Failure> {
        validate(&hb)?;
        if hb.member_epoch == LEAVE_EPOCH || hb.member_epoch == STATIC_LEAVE_EPOCH {
            return self.leave(&hb);
        }
        let id = if hb.member_id.is_empty() {
            Uuid::new_v4().to_string()
        } else {
            hb.member_id.clone()
        };
        let (before, mut member) = self.admit(&id, &hb, s)?;
        if let Some(inst) = &hb.instance_id {
            member.instance_id = Some(inst.clone());
        }
        if let Some(rack) = &hb.rack_id {
            member.rack_id = Some(rack.clone());
        }
        if hb.rebalance_timeout_ms != -1 {
            member.rebalance_timeout_ms = hb.rebalance_timeout_ms;
        }
        if let Some(names) = &hb.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            member.subscribed_topic_names = names;
        }
        if let Some(re) = &hb.subscribed_topic_regex {
            member.subscribed_topic_regex = (!re.is_empty()).then(|| re.clone());
        }
        if let Some(a) = &hb.server_assignor {
            member.server_assignor = Some(a.clone());
        }
        member.client_id.clone_from(&hb.client_id);
        member.client_host.clone_from(&hb.client_host);
        let mut bump = before
            .as_ref()
            .is_none_or(|b| b.subscription() != member.subscription());
        let assigned_before = before.map(|b| b.assigned).unwrap_or_default();
        self.members.insert(id.clone(), member);

        let subscriptions = self.resolve(catalog);
        let topics: BTreeMap<String, (Uuid, i32)> = subscriptions
            .values()
            .flatten()
            .map(|(name, t)| (name.clone(), *t))
            .collect();
        if topics != self.topics {
            self.topics = topics;
            bump = true;
        }
        if bump {
            self.group_epoch += 1;
            tracing::info!(group_epoch = self.group_epoch, member = %id, "consumer group epoch bumped");
        }
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(&subscriptions);
        }

        let held_elsewhere: HashSet<(Uuid, i32)> = self
            .members
            .values()
            .filter(|m| m.id != id)
            .flat_map(|m| {
                m.assigned
                    .iter()
                    .chain(&m.pending_revocation)
                    .flat_map(|(t, ps)| ps.iter().map(|p| (*t, *p)))
            })
            .collect();
        let target = self.target.get(&id).cloned().unwrap_or_default();
        let epoch = self.assignment_epoch;
        let Some(member) = self.members.get_mut(&id) else {
            return fail(ResponseError::UnknownServerError, "member vanished");
        };
        let was = (member.state, member.epoch);
        reconcile::reconcile(member, epoch, &target, &held_elsewhere, hb.owned.as_ref());
        member.expires = Some(now + s.session_timeout);
        member.revoke_by = match member.state {
            MemberState::UnrevokedPartitions
                if was == (MemberState::UnrevokedPartitions, member.epoch) =>
            {
                member.revoke_by
            }
            MemberState::UnrevokedPartitions => Some(now + rebalance_timeout(member)),
            _ => None,
        };
        let full = hb.member_epoch == 0
            || (hb.rebalance_timeout_ms != -1
                && hb.subscribed_topic_names.is_some()
                && hb.owned.is_some());
        Ok(Reply {
            member_id: id,
            member_epoch: member.epoch,
            assignment: (full || member.assigned != assigned_before)
                .then(|| member.assigned.clone()),
        })
    }

    /// The member a heartbeat speaks for, as it was (`None` if new) and as
    /// it continues; a static member coming back under a new member id
    /// takes its old self's place and assignment.
    fn admit(
        &mut self,
        id: &str,
        hb: &Heartbeat,
        s: &Settings,
    ) -> Result<(Option<Member>, Member), Failure> {
        let joining = hb.member_epoch == 0;
        if joining
            && self.members.len() >= s.max_size
            && !self.members.contains_key(id)
            && hb
                .instance_id
                .as_deref()
                .is_none_or(|i| self.static_member(i).is_none())
        {
            return fail(
                ResponseError::GroupMaxSizeReached,
                format!(
                    "The consumer group has reached its maximum capacity of {} members.",
                    s.max_size
                ),
            );
        }
        let existing = match hb.instance_id.as_deref() {
            Some(inst) => match self.static_member(inst) {
                Some(m) if m.id == id => Some(m.clone()),
                Some(m) if joining => {
                    if m.epoch != STATIC_LEAVE_EPOCH {
                        return fail(
                            ResponseError::UnreleasedInstanceId,
                            format!(
                                "Static member {id} with instance id {inst} cannot join the group because the instance id is owned by {} member.",
                                m.id
                            ),
                        );
                    }
                    let old_id = m.id.clone();
                    let Some(mut m) = self.members.remove(&old_id) else {
                        return fail(ResponseError::UnknownServerError, "member vanished");
                    };
                    if let Some(t) = self.target.remove(&old_id) {
                        self.target.insert(id.to_string(), t);
                    }
                    tracing::info!(instance = inst, old = %old_id, new = id, "static member rejoined the consumer group");
                    m.id = id.to_string();
                    m.epoch = 0;
                    m.previous_epoch = 0;
                    m.pending_revocation.clear();
                    m.state = MemberState::Stable;
                    return Ok((Some(m.clone()), m));
                }
                Some(m) => {
                    return fail(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {id} with instance id {inst} is fenced by existing member {}.",
                            m.id
                        ),
                    );
                }
                None if joining => None,
                None => {
                    return fail(
                        ResponseError::UnknownMemberId,
                        format!("Instance id {inst} is unknown."),
                    );
                }
            },
            None => self.members.get(id).cloned(),
        };
        match existing {
            Some(m) if joining => {
                // Back with nothing after losing its place (fenced, or its
                // client restarted under the same id): it starts over.
                let mut fresh = m.clone();
                fresh.set_epoch(0);
                fresh.assigned.clear();
                fresh.pending_revocation.clear();
                fresh.state = MemberState::Stable;
                Ok((Some(m), fresh))
            }
            Some(m) => {
                check_epoch(&m, hb.member_epoch, hb.owned.as_ref())?;
                Ok((Some(m.clone()), m))
            }
            None if joining => {
                tracing::info!(member = id, "member joined the consumer group");
                Ok((None, Member::new(id)))
            }
            None => fail(
                ResponseError::UnknownMemberId,
                format!("Member {id} is not a member of the group."),
            ),
        }
    }

    fn leave(&mut self, hb: &Heartbeat) -> Result<Reply, Failure> {
        let id = match hb.instance_id.as_deref() {
            None => {
                if !self.members.contains_key(&hb.member_id) {
                    return fail(
                        ResponseError::UnknownMemberId,
                        format!("Member {} is not a member of the group.", hb.member_id),
                    );
                }
                hb.member_id.clone()
            }
            Some(inst) => {
                let Some(m) = self.static_member(inst) else {
                    return fail(
                        ResponseError::UnknownMemberId,
                        format!("Instance id {inst} is unknown."),
                    );
                };
                if m.id != hb.member_id {
                    return fail(
                        ResponseError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {inst} is fenced by existing member {}.",
                            hb.member_id, m.id
                        ),
                    );
                }
                m.id.clone()
            }
        };
        if hb.member_epoch == STATIC_LEAVE_EPOCH {
            if let Some(m) = self.members.get_mut(&id) {
                // It keeps its partitions for its successor.
                m.epoch = STATIC_LEAVE_EPOCH;
                m.pending_revocation.clear();
                m.revoke_by = None;
            }
            tracing::info!(member = %id, "static member left the consumer group for now");
        } else {
            tracing::info!(member = %id, "member left the consumer group");
            self.fence(&id);
        }
        Ok(Reply {
            member_id: id,
            member_epoch: hb.member_epoch,
            assignment: None,
        })
    }

    /// Removes a member; the others are reassigned at their next heartbeat.
    pub fn fence(&mut self, id: &str) {
        if self.members.remove(id).is_some() {
            self.target.remove(id);
            self.group_epoch += 1;
        }
    }

    /// Fences members whose session or rebalance timeout passed; returns
    /// their ids.
    pub fn tick(&mut self, now: Instant, s: &Settings) -> Vec<String> {
        let gone: Vec<String> = self
            .members
            .values_mut()
            .filter_map(|m| {
                let expires = *m.expires.get_or_insert(now + s.session_timeout);
                let stuck = m.state == MemberState::UnrevokedPartitions
                    && m.revoke_by.is_some_and(|t| t <= now);
                (expires <= now || stuck).then(|| m.id.clone())
            })
            .collect();
        for id in &gone {
            tracing::info!(member = %id, "consumer group member fenced: no heartbeat in its session, or partitions not revoked in its rebalance timeout");
            self.fence(id);
        }
        gone
    }

    /// Per member, the subscribed topics that exist (name -> id, partitions).
    fn resolve(&self, catalog: &dyn Catalog) -> BTreeMap<String, BTreeMap<String, (Uuid, i32)>> {
        let mut regexes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(r) = m.subscribed_topic_regex.as_deref() {
                regexes.entry(r).or_insert_with(|| {
                    full_match(r)
                        .map(|re| catalog.matching(&re))
                        .unwrap_or_default()
                });
            }
        }
        self.members
            .values()
            .map(|m| {
                let regex_names = m
                    .subscribed_topic_regex
                    .as_deref()
                    .and_then(|r| regexes.get(r))
                    .into_iter()
                    .flatten();
                let topics = m
                    .subscribed_topic_names
                    .iter()
                    .chain(regex_names)
                    .filter_map(|n| catalog.topic(n).map(|t| (n.clone(), t)))
                    .collect();
                (m.id.clone(), topics)
            })
            .collect()
    }

    fn compute_target(&mut self, subscriptions: &BTreeMap<String, BTreeMap<String, (Uuid, i32)>>) {
        let topics: BTreeMap<Uuid, i32> = self.topics.values().copied().collect();
        let specs: Vec<assignor::Spec<'_>> = self
            .members
            .values()
            .map(|m| assignor::Spec {
                member_id: &m.id,
                instance_id: m.instance_id.as_deref(),
                topics: subscriptions
                    .get(&m.id)
                    .map(|t| t.values().map(|(id, _)| *id).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let target = assignor::assign(self.assignor(), &specs, &topics, &self.target);
        self.target = target;
        self.assignment_epoch = self.group_epoch;
    }

    /// Topics the group subscribes to, for OffsetDelete.
    pub fn subscribed_topics(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// Validates an OffsetCommit (v9+ carries the member epoch).
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH, or UNSUPPORTED_VERSION for a
    /// member committing with a version older than 9.
    pub fn check_commit(
        &self,
        member_id: &str,
        member_epoch: i32,
        version: i16,
    ) -> Result<(), ResponseError> {
        if member_epoch < 0 && member_id.is_empty() {
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            };
        }
        let m = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if version < 9 {
            return Err(ResponseError::UnsupportedVersion);
        }
        if member_epoch != m.epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Validates an OffsetFetch v9 that names its member.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH.
    pub fn check_fetch(&self, member_id: &str, member_epoch: i32) -> Result<(), ResponseError> {
        let m = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if member_epoch != m.epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }
}

fn rebalance_timeout(m: &Member) -> Duration {
    Duration::from_millis(u64::try_from(m.rebalance_timeout_ms).unwrap_or(0))
}
