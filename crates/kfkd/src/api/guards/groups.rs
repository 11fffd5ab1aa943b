//! The group APIs' checks: members Read their group, describing a group
//! takes Describe and deleting it Delete; committing offsets also takes
//! Read on each topic, fetching them Describe.

use kafka_protocol::messages::consumer_group_describe_response::DescribedGroup as DescribedConsumerGroup;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::*;
use kfk_acl::{Operation, ResourceType};

use super::super::ClientInfo;
use super::super::authz::{GROUP_DENIED, TOPIC_DENIED, split_off};
use super::super::str_bytes;
use crate::broker::Broker;

/// Whether a member may take part in `group` (Read).
pub(in crate::api) fn member(b: &Broker, c: &ClientInfo, group: &str) -> Result<(), i16> {
    if b.allowed_group(c, Operation::Read, group) {
        Ok(())
    } else {
        Err(GROUP_DENIED.code())
    }
}

/// FindCoordinator: Describe on the group (or transactional id) of each key.
pub(in crate::api) fn find_coordinator(
    b: &Broker,
    c: &ClientInfo,
    req: &mut FindCoordinatorRequest,
) -> Result<impl FnOnce(&mut FindCoordinatorResponse) + use<>, Box<FindCoordinatorResponse>> {
    let (rtype, code, why) = if req.key_type == 1 {
        (
            ResourceType::TransactionalId,
            kafka_protocol::ResponseError::TransactionalIdAuthorizationFailed.code(),
            "Transactional Id authorization failed.",
        )
    } else {
        (
            ResourceType::Group,
            GROUP_DENIED.code(),
            "Group authorization failed.",
        )
    };
    let allowed = |key: &str| b.allowed(c, Operation::Describe, rtype, key);
    if req.coordinator_keys.is_empty() {
        // Before v4: one key, one answer.
        if !allowed(&req.key) {
            return Err(Box::new(
                FindCoordinatorResponse::default()
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(why.to_string())))
                    .with_node_id(kafka_protocol::messages::BrokerId(-1))
                    .with_port(-1),
            ));
        }
    }
    let denied = split_off(&mut req.coordinator_keys, |k| allowed(k));
    Ok(move |resp: &mut FindCoordinatorResponse| {
        resp.coordinators.extend(denied.into_iter().map(|key| {
            Coordinator::default()
                .with_key(key)
                .with_node_id(kafka_protocol::messages::BrokerId(-1))
                .with_port(-1)
                .with_error_code(code)
                .with_error_message(Some(str_bytes(why.to_string())))
        }));
    })
}

/// OffsetCommit: Read on the group, then Read on each topic.
pub(in crate::api) fn offset_commit(
    b: &Broker,
    c: &ClientInfo,
    req: &mut OffsetCommitRequest,
) -> impl FnOnce(&mut OffsetCommitResponse) + use<> {
    let group_ok = b.allowed_group(c, Operation::Read, &req.group_id);
    let denied = split_off(&mut req.topics, |t| {
        group_ok && b.allowed_topic(c, Operation::Read, &t.name)
    });
    let code = if group_ok { TOPIC_DENIED } else { GROUP_DENIED }.code();
    move |resp| {
        resp.topics.extend(denied.into_iter().map(|t| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_topic_id(t.topic_id)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        }));
    }
}

/// OffsetFetch: Describe on each group; topics the client may not describe
/// are left out of what it gets back.
pub(in crate::api) fn offset_fetch<'a>(
    b: &'a Broker,
    c: &'a ClientInfo,
    req: &mut OffsetFetchRequest,
) -> impl FnOnce(&mut OffsetFetchResponse) + use<'a> {
    let single_denied =
        req.groups.is_empty() && !b.allowed_group(c, Operation::Describe, &req.group_id);
    if single_denied {
        req.topics = Some(Vec::new());
    }
    let denied_groups = split_off(&mut req.groups, |g| {
        b.allowed_group(c, Operation::Describe, &g.group_id)
    });
    let visible =
        move |name: &str| b.allowed_quietly(c, Operation::Describe, ResourceType::Topic, name);
    move |resp| {
        if single_denied {
            resp.error_code = GROUP_DENIED.code();
            resp.topics.clear();
        }
        resp.topics.retain(|t| visible(&t.name));
        for g in &mut resp.groups {
            g.topics.retain(|t| visible(&t.name));
        }
        resp.groups.extend(denied_groups.into_iter().map(|g| {
            kafka_protocol::messages::offset_fetch_response::OffsetFetchResponseGroup::default()
                .with_group_id(g.group_id)
                .with_error_code(GROUP_DENIED.code())
        }));
    }
}

/// ListGroups: every group with Describe on the cluster, else the groups
/// the client may describe.
pub(in crate::api) fn list_groups<'a>(
    b: &'a Broker,
    c: &'a ClientInfo,
) -> impl FnOnce(&mut ListGroupsResponse) + use<'a> {
    move |resp| {
        if b.authorizing()
            && !b.allowed_quietly(
                c,
                Operation::Describe,
                ResourceType::Cluster,
                kfk_acl::CLUSTER_NAME,
            )
        {
            resp.groups.retain(|g| {
                b.allowed_quietly(c, Operation::Describe, ResourceType::Group, &g.group_id)
            });
        }
    }
}

/// DescribeGroups: Describe on each group.
pub(in crate::api) fn describe_groups(
    b: &Broker,
    c: &ClientInfo,
    req: &mut DescribeGroupsRequest,
) -> impl FnOnce(&mut DescribeGroupsResponse) + use<> {
    let denied = split_off(&mut req.groups, |g| {
        b.allowed_group(c, Operation::Describe, g)
    });
    move |resp| {
        resp.groups.extend(denied.into_iter().map(|g| {
            DescribedGroup::default()
                .with_group_id(g)
                .with_error_code(GROUP_DENIED.code())
                .with_error_message(Some(str_bytes("Group authorization failed.".to_string())))
        }));
    }
}

/// ConsumerGroupDescribe: Describe on each group.
pub(in crate::api) fn consumer_group_describe(
    b: &Broker,
    c: &ClientInfo,
    req: &mut ConsumerGroupDescribeRequest,
) -> impl FnOnce(&mut ConsumerGroupDescribeResponse) + use<> {
    let denied = split_off(&mut req.group_ids, |g| {
        b.allowed_group(c, Operation::Describe, g)
    });
    move |resp| {
        resp.groups.extend(denied.into_iter().map(|g| {
            DescribedConsumerGroup::default()
                .with_group_id(g)
                .with_error_code(GROUP_DENIED.code())
                .with_error_message(Some(str_bytes("Group authorization failed.".to_string())))
        }));
    }
}

/// DeleteGroups: Delete on each group.
pub(in crate::api) fn delete_groups(
    b: &Broker,
    c: &ClientInfo,
    req: &mut DeleteGroupsRequest,
) -> impl FnOnce(&mut DeleteGroupsResponse) + use<> {
    let denied = split_off(&mut req.groups_names, |g| {
        b.allowed_group(c, Operation::Delete, g)
    });
    move |resp| {
        resp.results.extend(denied.into_iter().map(|g| {
            DeletableGroupResult::default()
                .with_group_id(g)
                .with_error_code(GROUP_DENIED.code())
        }));
    }
}

/// ConsumerGroupHeartbeat: Read on the group and Describe on each topic
/// subscribed to by name.
pub(in crate::api) fn consumer_group_heartbeat(
    b: &Broker,
    c: &ClientInfo,
    req: &ConsumerGroupHeartbeatRequest,
) -> Result<(), Box<ConsumerGroupHeartbeatResponse>> {
    if !b.allowed_group(c, Operation::Read, &req.group_id) {
        return Err(Box::new(
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(GROUP_DENIED.code())
                .with_error_message(Some(str_bytes("Group authorization failed.".to_string()))),
        ));
    }
    let hidden: Vec<String> = req
        .subscribed_topic_names
        .iter()
        .flatten()
        .filter(|t| !b.allowed_topic(c, Operation::Describe, t))
        .map(|t| t.0.to_string())
        .collect();
    if !hidden.is_empty() {
        return Err(Box::new(
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(TOPIC_DENIED.code())
                .with_error_message(Some(str_bytes(format!(
                    "Topic authorization failed for topics [{}]",
                    hidden.join(", ")
                )))),
        ));
    }
    Ok(())
}
