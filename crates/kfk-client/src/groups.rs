//! Consumer-group administration: find a group's coordinator, list and
//! describe groups, read and set committed offsets, delete groups. These
//! are the calls `kafka-consumer-groups.sh` makes.

use std::collections::BTreeMap;

use bytes::Buf;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest,
    DescribeGroupsRequest, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::client::Client;
use crate::connection::Connection;
use crate::error::{ClientError, Result};
use kfk_wire::group_id;

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group: String,
    /// `classic`, or `consumer` for a group of KIP-848's protocol.
    pub group_type: String,
    pub protocol_type: String,
    pub state: String,
    /// The broker that coordinates it.
    pub coordinator: i32,
}

/// A member as DescribeGroups reports it, with its assignment decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// Topic -> partitions assigned (consumer protocol).
    pub assignment: BTreeMap<String, Vec<i32>>,
    /// Consumer-protocol groups: the member's epoch, what the coordinator
    /// means it to have once reconciled, and what it subscribes to.
    pub member_epoch: Option<i32>,
    pub target_assignment: Option<BTreeMap<String, Vec<i32>>>,
    pub subscribed_topics: Vec<String>,
    pub subscribed_regex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group: String,
    pub state: String,
    /// `classic` or `consumer` (KIP-848).
    pub group_type: String,
    pub protocol_type: String,
    /// The assignor: the one the members agreed on (classic, e.g. `range`)
    /// or the coordinator's (consumer, e.g. `uniform`).
    pub protocol: String,
    /// Consumer-protocol groups: the group epoch and the epoch its target
    /// assignment was computed for.
    pub group_epoch: Option<i32>,
    pub assignment_epoch: Option<i32>,
    pub coordinator: i32,
    pub members: Vec<GroupMember>,
}

/// Decodes a consumer-protocol assignment (a version, then the body).
fn decode_assignment(bytes: &[u8]) -> BTreeMap<String, Vec<i32>> {
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    if buf.len() < 2 {
        return BTreeMap::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    ConsumerProtocolAssignment::decode(&mut buf, version)
        .map(|a| {
            a.assigned_partitions
                .into_iter()
                .map(|t| (t.topic.to_string(), t.partitions))
                .collect()
        })
        .unwrap_or_default()
}

/// An OffsetCommit of `offsets` (topic, partition, next offset to read) for
/// `member` in `generation` (-1 and "" for a group without members).
pub(crate) fn offset_commit_request(
    group: &str,
    generation: i32,
    member: &str,
    offsets: &[(String, i32, i64)],
) -> OffsetCommitRequest {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (t, p, o) in offsets {
        by_topic.entry(t).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o)
                .with_committed_leader_epoch(-1),
        );
    }
    OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(StrBytes::from_string(member.to_string()))
        .with_retention_time_ms(-1)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(kfk_wire::topic_name(t as &str))
                        .with_partitions(ps)
                })
                .collect(),
        )
}

/// ConsumerGroupDescribe of `group`: `None` when it is not a
/// consumer-protocol group (GROUP_ID_NOT_FOUND), so the caller asks
/// DescribeGroups.
async fn describe_consumer_group(
    conn: &Connection,
    group: &str,
    coordinator: i32,
) -> Result<Option<GroupDescription>> {
    let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(group)]);
    let (resp, _) = conn.send(&req).await?;
    let g = resp
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::Invalid("empty ConsumerGroupDescribe response".into()))?;
    if g.error_code == ResponseError::GroupIdNotFound.code() {
        return Ok(None);
    }
    ClientError::check(
        g.error_code,
        g.error_message.as_deref(),
        format!("cannot describe group '{group}'"),
    )?;
    let by_topic = |a: consumer_group_describe_response::Assignment| {
        a.topic_partitions
            .into_iter()
            .map(|t| {
                let mut ps = t.partitions;
                ps.sort_unstable();
                (t.topic_name.0.to_string(), ps)
            })
            .collect::<BTreeMap<String, Vec<i32>>>()
    };
    Ok(Some(GroupDescription {
        group: group.to_string(),
        state: g.group_state.to_string(),
        group_type: "consumer".to_string(),
        protocol_type: "consumer".to_string(),
        protocol: g.assignor_name.to_string(),
        group_epoch: Some(g.group_epoch),
        assignment_epoch: Some(g.assignment_epoch),
        coordinator,
        members: g
            .members
            .into_iter()
            .map(|m| GroupMember {
                member_id: m.member_id.to_string(),
                instance_id: m.instance_id.map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: by_topic(m.assignment),
                member_epoch: Some(m.member_epoch),
                target_assignment: Some(by_topic(m.target_assignment)),
                subscribed_topics: m
                    .subscribed_topic_names
                    .into_iter()
                    .map(|n| n.0.to_string())
                    .collect(),
                subscribed_regex: m.subscribed_topic_regex.map(|s| s.to_string()),
            })
            .collect(),
    }))
}

impl Client {
    /// The broker coordinating `group`, retrying while it is being chosen.
    ///
    /// # Errors
    /// When no coordinator appears.
    pub async fn group_coordinator(&self, group: &str) -> Result<i32> {
        self.find_coordinator(group, 0).await
    }

    async fn coordinator_conn(&self, group: &str) -> Result<(i32, std::sync::Arc<Connection>)> {
        let id = self.group_coordinator(group).await?;
        Ok((id, self.broker(id).await?))
    }

    /// Every group of the cluster (ListGroups on each broker).
    ///
    /// # Errors
    /// When a broker cannot be asked.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let brokers = self.broker_ids().await?;
        let mut out = Vec::new();
        for id in brokers {
            let (resp, _) = self
                .broker(id)
                .await?
                .send(&ListGroupsRequest::default())
                .await?;
            ClientError::check(
                resp.error_code,
                None,
                format!("broker {id} cannot list groups"),
            )?;
            out.extend(resp.groups.into_iter().map(|g| GroupListing {
                group: g.group_id.0.to_string(),
                group_type: if g.group_type.is_empty() {
                    "classic".to_string()
                } else {
                    g.group_type.to_lowercase()
                },
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
                coordinator: id,
            }));
        }
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    /// A group's state and members, of either protocol: ConsumerGroupDescribe
    /// first where the coordinator has it, DescribeGroups for a classic group
    /// (as Kafka's AdminClient does). An unknown group is reported in state
    /// "Dead", as Kafka does.
    ///
    /// # Errors
    /// Coordinator errors.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        self.retrying_coordinator(|| async {
            let (coordinator, conn) = self.coordinator_conn(group).await?;
            if conn.version_for(ApiKey::ConsumerGroupDescribe).is_some()
                && let Some(d) = describe_consumer_group(&conn, group, coordinator).await?
            {
                return Ok(d);
            }
            let req = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
            let (resp, _) = conn.send(&req).await?;
            let g = resp
                .groups
                .into_iter()
                .next()
                .ok_or_else(|| ClientError::Invalid("empty DescribeGroups response".into()))?;
            ClientError::check(
                g.error_code,
                None,
                format!("cannot describe group '{group}'"),
            )?;
            Ok(GroupDescription {
                group: group.to_string(),
                state: g.group_state.to_string(),
                group_type: "classic".to_string(),
                protocol_type: g.protocol_type.to_string(),
                protocol: g.protocol_data.to_string(),
                group_epoch: None,
                assignment_epoch: None,
                coordinator,
                members: g
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        member_id: m.member_id.to_string(),
                        instance_id: m.group_instance_id.map(|s| s.to_string()),
                        client_id: m.client_id.to_string(),
                        host: m.client_host.to_string(),
                        assignment: decode_assignment(&m.member_assignment),
                        member_epoch: None,
                        target_assignment: None,
                        subscribed_topics: Vec::new(),
                        subscribed_regex: None,
                    })
                    .collect(),
            })
        })
        .await
    }

    /// Every committed offset of a group: (topic, partition) -> offset.
    ///
    /// # Errors
    /// Coordinator errors.
    pub async fn committed_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>> {
        self.retrying_coordinator(|| async {
            let (_, conn) = self.coordinator_conn(group).await?;
            let req = OffsetFetchRequest::default()
                .with_group_id(group_id(group))
                .with_topics(None);
            let version = conn
                .version_for(kafka_protocol::messages::ApiKey::OffsetFetch)
                .unwrap_or(2)
                .clamp(2, 7);
            let resp = conn.send_at(&req, version).await?;
            ClientError::check(
                resp.error_code,
                None,
                format!("cannot read the offsets of group '{group}'"),
            )?;
            let mut out = BTreeMap::new();
            for t in resp.topics {
                for p in t.partitions {
                    ClientError::check(
                        p.error_code,
                        None,
                        format!("cannot read the offsets of group '{group}'"),
                    )?;
                    if p.committed_offset >= 0 {
                        out.insert(
                            (t.name.0.to_string(), p.partition_index),
                            p.committed_offset,
                        );
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// Sets committed offsets of a group that has no active members (what
    /// `kafka-consumer-groups.sh --reset-offsets --execute` does).
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID when the group has active members, and coordinator
    /// errors.
    pub async fn commit_group_offsets(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<()> {
        self.retrying_coordinator(|| async {
            let (_, conn) = self.coordinator_conn(group).await?;
            let req = offset_commit_request(group, -1, "", offsets);
            let (resp, _) = conn.send(&req).await?;
            for t in resp.topics {
                for p in t.partitions {
                    if p.error_code == ResponseError::UnknownMemberId.code() {
                        return Err(ClientError::Invalid(format!(
                            "group '{group}' has active members; offsets can only be reset while it is inactive"
                        )));
                    }
                    ClientError::check(p.error_code, None, format!("cannot commit offsets for group '{group}'"))?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Deletes a group with no active members, and its offsets.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP and coordinator errors.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        self.retrying_coordinator(|| async {
            let (_, conn) = self.coordinator_conn(group).await?;
            let req = DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]);
            let (resp, _) = conn.send(&req).await?;
            for r in resp.results {
                ClientError::check(r.error_code, None, format!("cannot delete group '{group}'"))?;
            }
            Ok(())
        })
        .await
    }
}
