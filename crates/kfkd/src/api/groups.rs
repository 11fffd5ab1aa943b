//! The group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups,
//! DeleteGroups and OffsetDelete, translated to and from the coordinator.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::str_bytes;
use crate::broker::Broker;
use crate::group::{ClientInfo, Committed};
use kfk_group::schema::OffsetValue;
use kfk_group::state::JoinArgs;
use kfk_wire::group_id;

fn opt(s: Option<&StrBytes>) -> Option<String> {
    s.map(|s| s.to_string())
}

pub async fn find_coordinator(
    broker: &Broker,
    client: &ClientInfo,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys: Vec<String> = if version >= 4 {
        req.coordinator_keys.iter().map(|k| k.to_string()).collect()
    } else {
        vec![req.key.to_string()]
    };
    let mut coordinators = Vec::with_capacity(keys.len());
    for key in keys {
        let found = if req.key_type == 1 {
            if key.is_empty() {
                Err(ResponseError::InvalidRequest.into())
            } else {
                broker.txns.find(broker, &key, &client.listener).await
            }
        } else if req.key_type != 0 {
            Err(crate::error::ApiError::new(
                ResponseError::InvalidRequest,
                format!("unknown coordinator key type {}", req.key_type),
            ))
        } else if key.is_empty() {
            Err(ResponseError::InvalidGroupId.into())
        } else {
            broker.groups.find(broker, &key, &client.listener).await
        };
        coordinators.push(match found {
            Ok((id, host, port)) => Coordinator::default()
                .with_key(str_bytes(key))
                .with_node_id(BrokerId(id))
                .with_host(str_bytes(host))
                .with_port(port),
            Err(e) => Coordinator::default()
                .with_key(str_bytes(key))
                .with_node_id(BrokerId(-1))
                .with_port(-1)
                .with_error_code(e.code())
                .with_error_message(e.message.map(StrBytes::from_string)),
        });
    }
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let c = coordinators.remove(0);
    FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_error_message(c.error_message)
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port)
}

pub async fn join_group(
    broker: &Broker,
    client: &ClientInfo,
    req: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let ms = |v: i32| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    let args = JoinArgs {
        member_id: req.member_id.to_string(),
        instance_id: opt(req.group_instance_id.as_ref()),
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        session_timeout: ms(req.session_timeout_ms),
        // v0 has no rebalance timeout: the session timeout stands in.
        rebalance_timeout: if version >= 1 {
            ms(req.rebalance_timeout_ms)
        } else {
            ms(req.session_timeout_ms)
        },
        require_known_member_id: version >= 4,
    };
    let member_id = req.member_id.clone();
    match broker.groups.join(broker, &req.group_id.0, args).await {
        Ok(j) => JoinGroupResponse::default()
            .with_generation_id(j.generation)
            .with_protocol_type(j.protocol_type.map(str_bytes))
            .with_protocol_name(j.protocol.map(str_bytes))
            .with_leader(str_bytes(j.leader))
            .with_member_id(str_bytes(j.member_id))
            .with_members(
                j.members
                    .into_iter()
                    .map(|(id, inst, meta)| {
                        JoinGroupResponseMember::default()
                            .with_member_id(str_bytes(id))
                            .with_group_instance_id(if version >= 5 {
                                inst.map(str_bytes)
                            } else {
                                None
                            })
                            .with_metadata(meta)
                    })
                    .collect(),
            ),
        Err((ResponseError::MemberIdRequired, new_id)) => JoinGroupResponse::default()
            .with_error_code(ResponseError::MemberIdRequired.code())
            .with_generation_id(-1)
            .with_member_id(str_bytes(new_id)),
        Err((e, _)) => JoinGroupResponse::default()
            .with_error_code(e.code())
            .with_generation_id(-1)
            .with_member_id(member_id),
    }
}

pub async fn sync_group(broker: &Broker, req: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let result = broker
        .groups
        .sync(
            broker,
            &req.group_id.0,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
            assignments,
        )
        .await;
    let resp = SyncGroupResponse::default()
        .with_protocol_type(req.protocol_type)
        .with_protocol_name(req.protocol_name);
    match result {
        Ok(a) => resp.with_assignment(a),
        Err(e) => resp.with_error_code(e.code()),
    }
}

pub async fn heartbeat(broker: &Broker, req: HeartbeatRequest) -> HeartbeatResponse {
    let r = broker
        .groups
        .heartbeat(
            broker,
            &req.group_id.0,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        )
        .await;
    HeartbeatResponse::default().with_error_code(r.err().map_or(0, |e| e.code()))
}

pub async fn leave_group(
    broker: &Broker,
    req: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        req.members
            .iter()
            .map(|m| (m.member_id.to_string(), opt(m.group_instance_id.as_ref())))
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    match broker.groups.leave(broker, &req.group_id.0, &members).await {
        Err(e) => LeaveGroupResponse::default().with_error_code(e.code()),
        Ok(results) if version >= 3 => LeaveGroupResponse::default().with_members(
            members
                .into_iter()
                .zip(results)
                .map(|((id, inst), r)| {
                    MemberResponse::default()
                        .with_member_id(str_bytes(id))
                        .with_group_instance_id(inst.map(str_bytes))
                        .with_error_code(r.err().map_or(0, |e| e.code()))
                })
                .collect(),
        ),
        Ok(results) => LeaveGroupResponse::default().with_error_code(
            results
                .into_iter()
                .next()
                .and_then(|r| r.err())
                .map_or(0, |e| e.code()),
        ),
    }
}

/// Whether `topic` has partition `partition` in the metadata image.
pub(super) fn partition_exists(broker: &Broker, topic: &str, partition: i32) -> bool {
    broker.with_image(|i| {
        i.topics
            .get(topic)
            .is_some_and(|t| usize::try_from(partition).is_ok_and(|p| p < t.partitions.len()))
    })
}

pub async fn offset_commit(
    broker: &Broker,
    req: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let now = kfk_log::now_ms();
    // Kafka answers offsets of partitions that do not exist with
    // UNKNOWN_TOPIC_OR_PARTITION and stores the rest.
    let exists: Vec<bool> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| partition_exists(broker, &t.name.0, p.partition_index))
        })
        .collect();
    let offsets: Vec<(String, i32, OffsetValue)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    t.name.0.to_string(),
                    p.partition_index,
                    OffsetValue {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: opt(p.committed_metadata.as_ref()),
                        commit_timestamp: now,
                    },
                )
            })
        })
        .zip(&exists)
        .filter_map(|(o, known)| known.then_some(o))
        .collect();
    let results = broker
        .groups
        .commit(
            broker,
            &req.group_id.0,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id_or_member_epoch,
            version,
            offsets,
        )
        .await;
    let mut stored = match results {
        Ok(r) => r
            .into_iter()
            .map(|r| r.err().map_or(0, |e| e.code()))
            .collect::<Vec<_>>(),
        Err(e) => vec![e.code(); exists.len()],
    }
    .into_iter();
    let mut codes = exists.into_iter().map(|known| {
        if known {
            stored.next().unwrap_or(0)
        } else {
            ResponseError::UnknownTopicOrPartition.code()
        }
    });
    OffsetCommitResponse::default().with_topics(
        req.topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(codes.next().unwrap_or(0))
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(t.name)
                    .with_topic_id(t.topic_id)
                    .with_partitions(partitions)
            })
            .collect(),
    )
}

type Fetched = Result<Vec<(String, Vec<(i32, Option<Committed>)>)>, ResponseError>;

async fn fetch_one(
    broker: &Broker,
    group: &str,
    member: Option<(&str, i32)>,
    wanted: Option<Vec<(String, Vec<i32>)>>,
) -> Fetched {
    broker
        .groups
        .fetch_offsets(broker, group, member, wanted)
        .await
}

pub async fn offset_fetch(
    broker: &Broker,
    req: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    if version >= 8 {
        let mut groups = Vec::with_capacity(req.groups.len());
        for g in req.groups {
            let wanted = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes))
                    .collect()
            });
            let out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
            let member = g.member_id.as_deref().map(|m| (m, g.member_epoch));
            let unstable = if req.require_stable {
                broker.groups.unstable_offsets(&g.group_id.0)
            } else {
                Default::default()
            };
            groups.push(
                match fetch_one(broker, &g.group_id.0, member, wanted).await {
                    Err(e) => out.with_error_code(e.code()),
                    Ok(topics) => out.with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(super::topic_name(&t))
                                    .with_partitions(
                                        ps.into_iter()
                                            .map(|(p, c)| {
                                                let resp = OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(p);
                                                if unstable.contains(&(t.clone(), p)) {
                                                    return resp
                                                        .with_committed_offset(-1)
                                                        .with_error_code(
                                                            ResponseError::UnstableOffsetCommit
                                                                .code(),
                                                        );
                                                }
                                                let c = c.unwrap_or_else(Committed::none);
                                                resp.with_committed_offset(c.offset)
                                                    .with_committed_leader_epoch(c.leader_epoch)
                                                    .with_metadata(Some(str_bytes(c.metadata)))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                },
            );
        }
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = req.topics.clone().map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect::<Vec<_>>()
    });
    let unstable = if version >= 7 && req.require_stable {
        broker.groups.unstable_offsets(&req.group_id.0)
    } else {
        Default::default()
    };
    match fetch_one(broker, &req.group_id.0, None, wanted).await {
        // Before v2 errors only travel per partition.
        Err(e) if version < 2 => OffsetFetchResponse::default().with_topics(
            req.topics
                .unwrap_or_default()
                .into_iter()
                .map(|t| {
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name)
                        .with_partitions(
                            t.partition_indexes
                                .iter()
                                .map(|p| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(*p)
                                        .with_committed_offset(-1)
                                        .with_error_code(e.code())
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
        Err(e) => OffsetFetchResponse::default().with_error_code(e.code()),
        Ok(topics) => OffsetFetchResponse::default().with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(super::topic_name(&t))
                        .with_partitions(
                            ps.into_iter()
                                .map(|(p, c)| {
                                    if unstable.contains(&(t.clone(), p)) {
                                        return OffsetFetchResponsePartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(-1)
                                            .with_error_code(
                                                ResponseError::UnstableOffsetCommit.code(),
                                            );
                                    }
                                    let c = c.unwrap_or_else(Committed::none);
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(c.offset)
                                        .with_committed_leader_epoch(if version >= 5 {
                                            c.leader_epoch
                                        } else {
                                            -1
                                        })
                                        .with_metadata(Some(str_bytes(c.metadata)))
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
    }
}

pub fn list_groups(broker: &Broker, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_string()).collect();
    let groups = broker
        .groups
        .list()
        .into_iter()
        .filter(|(_, _, state, _)| {
            states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(state))
        })
        .filter(|(_, _, _, kind)| {
            types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(kind))
        })
        .map(|(id, protocol_type, state, kind)| {
            ListedGroup::default()
                .with_group_id(group_id(&id))
                .with_protocol_type(str_bytes(protocol_type))
                .with_group_state(str_bytes(state))
                .with_group_type(str_bytes(kind))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

pub async fn describe_groups(
    broker: &Broker,
    client: &super::ClientInfo,
    req: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let with_ops = version >= 3 && req.include_authorized_operations;
    let mut groups = Vec::with_capacity(req.groups.len());
    for g in req.groups {
        let ops = if with_ops {
            broker.authorized_operations(client, kfk_acl::ResourceType::Group, &g.0)
        } else {
            super::authz::OPERATIONS_NOT_ASKED
        };
        let out = DescribedGroup::default().with_group_id(g.clone());
        groups.push(match broker.groups.describe(broker, &g.0).await {
            Err(e) => out
                .with_error_code(e.code())
                .with_group_state(str_bytes("")),
            Ok(d) => out
                .with_authorized_operations(ops)
                .with_group_state(str_bytes(d.state))
                .with_protocol_type(str_bytes(d.protocol_type))
                .with_protocol_data(str_bytes(d.protocol))
                .with_members(
                    d.members
                        .into_iter()
                        .map(|(id, inst, client, host, meta, assignment)| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(id))
                                .with_group_instance_id(inst.map(str_bytes))
                                .with_client_id(str_bytes(client))
                                .with_client_host(str_bytes(host))
                                .with_member_metadata(meta)
                                .with_member_assignment(assignment)
                        })
                        .collect(),
                ),
        });
    }
    DescribeGroupsResponse::default().with_groups(groups)
}

pub async fn delete_groups(broker: &Broker, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for g in req.groups_names {
        let r = broker.groups.delete(broker, &g.0).await;
        results.push(
            DeletableGroupResult::default()
                .with_group_id(g)
                .with_error_code(r.err().map_or(0, |e| e.code())),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

pub async fn offset_delete(broker: &Broker, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let partitions: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.0.to_string(), p.partition_index))
        })
        .collect();
    match broker
        .groups
        .delete_offsets(broker, &req.group_id.0, partitions)
        .await
    {
        Err(e) => OffsetDeleteResponse::default().with_error_code(e.code()),
        Ok(results) => {
            let mut codes = results.into_iter().map(|r| r.err().map_or(0, |e| e.code()));
            OffsetDeleteResponse::default().with_topics(
                req.topics
                    .into_iter()
                    .map(|t| {
                        let partitions = t
                            .partitions
                            .iter()
                            .map(|p| {
                                OffsetDeleteResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(codes.next().unwrap_or(0))
                            })
                            .collect();
                        OffsetDeleteResponseTopic::default()
                            .with_name(t.name)
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
        }
    }
}
