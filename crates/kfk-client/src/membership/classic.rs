//! Membership under the classic protocol: join (with KIP-394's member-id
//! round trip), assign partitions with the range assignor when this member
//! leads, sync, heartbeat in the background, commit offsets under the
//! current generation, and leave.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::Assignment;
use crate::client::Client;
use crate::error::{ClientError, Result};

const PROTOCOL_TYPE: &str = "consumer";
const ASSIGNOR: &str = "range";
/// Attempts to get through a join while coordinators move.
const JOIN_ATTEMPTS: u32 = 30;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Consumer-protocol bytes: an i16 version, then the message.
fn encode_versioned<M: Encodable>(m: &M, version: i16) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    m.encode(&mut buf, version)
        .map_err(|e| ClientError::Invalid(format!("cannot encode group metadata: {e}")))?;
    Ok(buf.freeze())
}

fn decode_versioned<M: Decodable>(bytes: &[u8], max: i16) -> Option<M> {
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.len() < 2 {
        return None;
    }
    let version = buf.get_i16().clamp(0, max);
    M::decode(&mut buf, version).ok()
}

/// Kafka's RangeAssignor: per topic, members subscribed to it in member-id
/// order each take a contiguous range, the first ones one extra.
pub fn range_assign(
    members: &[(String, Vec<String>)],
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .iter()
        .map(|(m, _)| (m.clone(), Assignment::new()))
        .collect();
    for (topic, &n) in partitions {
        let mut subscribed: Vec<&String> = members
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        subscribed.sort();
        let count = subscribed.len() as i32;
        if count == 0 {
            continue;
        }
        let (per, extra) = (n / count, n % count);
        for (i, m) in subscribed.into_iter().enumerate() {
            let i = i as i32;
            let start = i * per + i.min(extra);
            let len = per + i32::from(i < extra);
            if len > 0 {
                out.entry(m.clone())
                    .or_default()
                    .insert(topic.clone(), (start..start + len).collect());
            }
        }
    }
    out
}

/// One member of one group.
#[derive(Debug)]
pub(super) struct ClassicMember {
    client: Arc<Client>,
    group: String,
    topics: Vec<String>,
    member_id: String,
    generation: i32,
    coordinator: i32,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    rejoin: Arc<AtomicBool>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for ClassicMember {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

impl ClassicMember {
    pub(super) fn new(client: Arc<Client>, group: &str, topics: &[String]) -> ClassicMember {
        ClassicMember {
            client,
            group: group.to_string(),
            topics: topics.to_vec(),
            member_id: String::new(),
            generation: -1,
            coordinator: -1,
            session_timeout: Duration::from_secs(45),
            rebalance_timeout: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(3),
            rejoin: Arc::new(AtomicBool::new(true)),
            heartbeat: None,
        }
    }

    /// The group rebalanced (or this member was dropped): join again before
    /// reading further.
    pub fn needs_rejoin(&self) -> bool {
        self.rejoin.load(Ordering::Relaxed)
    }

    /// Joins or rejoins the group; returns this member's partitions.
    ///
    /// # Errors
    /// When no coordinator accepts the member after repeated attempts, or a
    /// fatal group error.
    pub async fn join(&mut self) -> Result<Assignment> {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.join_once().await {
                Ok(a) => {
                    self.rejoin.store(false, Ordering::Relaxed);
                    self.start_heartbeats();
                    return Ok(a);
                }
                Err(e) if attempt < JOIN_ATTEMPTS && e.is_retriable() => {
                    self.client.backoff(attempt.min(5)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn join_once(&mut self) -> Result<Assignment> {
        self.coordinator = self.client.group_coordinator(&self.group).await?;
        let conn = self.client.broker(self.coordinator).await?;
        let subscription = ConsumerProtocolSubscription::default()
            .with_topics(self.topics.iter().map(|t| s(t)).collect());
        let metadata = encode_versioned(&subscription, 0)?;
        let join = loop {
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_session_timeout_ms(self.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(self.rebalance_timeout.as_millis() as i32)
                .with_member_id(s(&self.member_id))
                .with_protocol_type(s(PROTOCOL_TYPE))
                .with_protocols(vec![
                    JoinGroupRequestProtocol::default()
                        .with_name(s(ASSIGNOR))
                        .with_metadata(metadata.clone()),
                ]);
            // The join waits for the whole group: allow the rebalance timeout.
            let version = conn
                .version_for(ApiKey::JoinGroup)
                .ok_or(ClientError::Unsupported {
                    addr: conn.addr().to_string(),
                    api: "JoinGroup",
                })?;
            let resp = tokio::time::timeout(
                self.rebalance_timeout + Duration::from_secs(5),
                conn.send_at(&req, version),
            )
            .await
            .map_err(|_| ClientError::Timeout {
                addr: conn.addr().to_string(),
                secs: self.rebalance_timeout.as_secs(),
            })??;
            match ResponseError::try_from_code(resp.error_code) {
                None => break resp,
                Some(ResponseError::MemberIdRequired) => {
                    self.member_id = resp.member_id.to_string();
                }
                Some(ResponseError::UnknownMemberId) | Some(ResponseError::IllegalGeneration) => {
                    self.member_id.clear();
                }
                Some(e) => {
                    return Err(ClientError::Kafka {
                        error: e,
                        message: None,
                        context: format!("cannot join group '{}'", self.group),
                    });
                }
            }
        };
        self.member_id = join.member_id.to_string();
        self.generation = join.generation_id;
        let assignments = if join.leader == join.member_id {
            self.assign(&join.members).await?
        } else {
            Vec::new()
        };
        let req = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(s(&self.member_id))
            .with_protocol_type(Some(s(PROTOCOL_TYPE)))
            .with_protocol_name(join.protocol_name.clone())
            .with_assignments(assignments);
        let (resp, _) = conn.send(&req).await?;
        ClientError::check(
            resp.error_code,
            None,
            format!("cannot sync with group '{}'", self.group),
        )?;
        let assignment = decode_versioned::<ConsumerProtocolAssignment>(&resp.assignment, 3)
            .map(|a| {
                a.assigned_partitions
                    .into_iter()
                    .map(|t| (t.topic.to_string(), t.partitions))
                    .collect()
            })
            .unwrap_or_default();
        Ok(assignment)
    }

    /// The leader's part: range-assign the members' subscriptions.
    async fn assign(
        &self,
        members: &[kafka_protocol::messages::join_group_response::JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let subscriptions: Vec<(String, Vec<String>)> = members
            .iter()
            .map(|m| {
                let topics = decode_versioned::<ConsumerProtocolSubscription>(&m.metadata, 3)
                    .map(|sub| sub.topics.into_iter().map(|t| t.to_string()).collect())
                    .unwrap_or_default();
                (m.member_id.to_string(), topics)
            })
            .collect();
        let mut wanted: Vec<String> = subscriptions.iter().flat_map(|(_, t)| t.clone()).collect();
        wanted.sort();
        wanted.dedup();
        let meta = self.client.refresh(Some(&wanted)).await?;
        let counts: BTreeMap<String, i32> = wanted
            .iter()
            .filter_map(|t| {
                meta.topics
                    .get(t)
                    .map(|i| (t.clone(), i.partitions.len() as i32))
            })
            .collect();
        range_assign(&subscriptions, &counts)
            .into_iter()
            .map(|(member, a)| {
                let body = ConsumerProtocolAssignment::default().with_assigned_partitions(
                    a.into_iter()
                        .map(|(t, ps)| {
                            AssignedTopic::default()
                                .with_topic(TopicName(s(&t)))
                                .with_partitions(ps)
                        })
                        .collect(),
                );
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(s(&member))
                    .with_assignment(encode_versioned(&body, 0)?))
            })
            .collect()
    }

    fn start_heartbeats(&mut self) {
        let client = Arc::clone(&self.client);
        let rejoin = Arc::clone(&self.rejoin);
        let (group, member, generation, coordinator, every) = (
            self.group.clone(),
            self.member_id.clone(),
            self.generation,
            self.coordinator,
            self.heartbeat_interval,
        );
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let req = HeartbeatRequest::default()
                    .with_group_id(GroupId(s(&group)))
                    .with_generation_id(generation)
                    .with_member_id(s(&member));
                let sent = match client.broker(coordinator).await {
                    Ok(conn) => conn.send(&req).await.map(|(r, _)| r.error_code),
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(0) => {}
                    // Rebalancing, dropped, or the coordinator moved: rejoin.
                    Ok(_) => {
                        rejoin.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => {}
                }
            }
        }));
    }

    /// A handle that commits under this member's current generation, usable
    /// from another task (asynchronous commits).
    pub fn committer(&self) -> ClassicCommitter {
        ClassicCommitter {
            client: Arc::clone(&self.client),
            group: self.group.clone(),
            member_id: self.member_id.clone(),
            generation: self.generation,
            coordinator: self.coordinator,
        }
    }

    /// Leaves the group so its partitions move to the others at once.
    ///
    /// # Errors
    /// When the coordinator cannot be told.
    pub async fn leave(&mut self) -> Result<()> {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        if self.member_id.is_empty() {
            return Ok(());
        }
        let conn = self.client.broker(self.coordinator).await?;
        let version = conn.version_for(ApiKey::LeaveGroup).unwrap_or(0);
        // v3 replaced the member id by a list of members.
        let req = if version >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_members(vec![
                    MemberIdentity::default().with_member_id(s(&self.member_id)),
                ])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_member_id(s(&self.member_id))
        };
        conn.send_at(&req, version).await?;
        self.member_id.clear();
        Ok(())
    }
}

/// Commits offsets for one generation of one member.
#[derive(Debug, Clone)]
pub(super) struct ClassicCommitter {
    client: Arc<Client>,
    group: String,
    member_id: String,
    generation: i32,
    coordinator: i32,
}

impl ClassicCommitter {
    /// Commits `offsets` (topic, partition, next offset to read).
    ///
    /// # Errors
    /// Coordinator errors; REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION when
    /// the group moved on (the partitions may belong to someone else now).
    pub async fn commit(&self, offsets: &[(String, i32, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let req = crate::groups::offset_commit_request(
            &self.group,
            self.generation,
            &self.member_id,
            offsets,
        );
        let conn = self.client.broker(self.coordinator).await?;
        let (resp, _) = conn.send(&req).await?;
        super::check_commit(&resp, &self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignment_matches_kafkas() {
        let members = vec![
            ("b".to_string(), vec!["t".to_string()]),
            ("a".to_string(), vec!["t".to_string(), "u".to_string()]),
        ];
        let counts = BTreeMap::from([("t".to_string(), 3), ("u".to_string(), 2)]);
        let a = range_assign(&members, &counts);
        assert_eq!(a["a"]["t"], vec![0, 1]);
        assert_eq!(a["b"]["t"], vec![2]);
        assert_eq!(a["a"]["u"], vec![0, 1]);
        assert!(!a["b"].contains_key("u"));
    }

    #[test]
    fn consumer_protocol_bytes_round_trip() {
        let sub = ConsumerProtocolSubscription::default().with_topics(vec![s("t")]);
        let bytes = encode_versioned(&sub, 0).unwrap();
        let back: ConsumerProtocolSubscription = decode_versioned(&bytes, 3).unwrap();
        assert_eq!(back.topics, vec![s("t")]);
    }
}
