//! KIP-848's group APIs: ConsumerGroupHeartbeat, the only request a
//! consumer-protocol member sends to stay in its group and learn its
//! partitions, and ConsumerGroupDescribe, which shows each member's current
//! and target assignment.

use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribedAssignment, DescribedGroup, Member, TopicPartitions as DescribedTps,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as HeartbeatAssignment, TopicPartitions as HeartbeatTps,
};
use kafka_protocol::messages::*;

use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::group::ClientInfo;
use kfk_group::consumer::{Assignment, Heartbeat};

pub async fn heartbeat(
    broker: &Broker,
    client: &ClientInfo,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let owned = req.topic_partitions.map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            a.entry(tp.topic_id).or_default().extend(tp.partitions);
        }
        a
    });
    let hb = Heartbeat {
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.map(|s| s.to_string()),
        rack_id: req.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|ns| ns.into_iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: req.subscribed_topic_regex.map(|s| s.to_string()),
        server_assignor: req.server_assignor.map(|s| s.to_string()),
        owned,
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
    };
    if req.group_id.0.is_empty() {
        return ConsumerGroupHeartbeatResponse::default()
            .with_error_code(kafka_protocol::ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes("GroupId can't be empty.")));
    }
    match broker
        .groups
        .consumer_heartbeat(broker, &req.group_id.0, hb)
        .await
    {
        Ok((reply, interval)) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(str_bytes(reply.member_id)))
            .with_member_epoch(reply.member_epoch)
            .with_heartbeat_interval_ms(i32::try_from(interval.as_millis()).unwrap_or(i32::MAX))
            .with_assignment(reply.assignment.map(|a| {
                HeartbeatAssignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(id, ps)| {
                            HeartbeatTps::default()
                                .with_topic_id(id)
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            })),
        Err((code, message)) => ConsumerGroupHeartbeatResponse::default()
            .with_error_code(code.code())
            .with_error_message((!message.is_empty()).then(|| str_bytes(message))),
    }
}

pub async fn describe(
    broker: &Broker,
    client: &super::ClientInfo,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let mut groups = Vec::with_capacity(req.group_ids.len());
    for id in req.group_ids {
        let ops = if req.include_authorized_operations {
            broker.authorized_operations(client, kfk_acl::ResourceType::Group, &id.0)
        } else {
            super::authz::OPERATIONS_NOT_ASKED
        };
        let out = DescribedGroup::default()
            .with_group_id(id.clone())
            .with_authorized_operations(ops);
        groups.push(match broker.groups.consumer_describe(broker, &id.0).await {
            Err((code, message)) => out
                .with_error_code(code.code())
                .with_error_message((!message.is_empty()).then(|| str_bytes(message)))
                .with_group_state(str_bytes("Dead")),
            Ok(g) => {
                let named = |a: &Assignment| {
                    broker.with_image(|image| {
                        DescribedAssignment::default().with_topic_partitions(
                            a.iter()
                                .map(|(tid, ps)| {
                                    let name = image
                                        .topic_by_id(*tid)
                                        .map(|(n, _)| n.clone())
                                        .unwrap_or_default();
                                    DescribedTps::default()
                                        .with_topic_id(*tid)
                                        .with_topic_name(topic_name(&name))
                                        .with_partitions(ps.iter().copied().collect())
                                })
                                .collect(),
                        )
                    })
                };
                let members = g
                    .members
                    .values()
                    .map(|m| {
                        Member::default()
                            .with_member_id(str_bytes(m.id.clone()))
                            .with_instance_id(m.instance_id.clone().map(str_bytes))
                            .with_rack_id(m.rack_id.clone().map(str_bytes))
                            .with_member_epoch(m.epoch)
                            .with_client_id(str_bytes(m.client_id.clone()))
                            .with_client_host(str_bytes(m.client_host.clone()))
                            .with_subscribed_topic_names(
                                m.subscribed_topic_names.iter().map(topic_name).collect(),
                            )
                            .with_subscribed_topic_regex(
                                m.subscribed_topic_regex.clone().map(str_bytes),
                            )
                            .with_assignment(named(&m.assigned))
                            .with_target_assignment(named(
                                g.target.get(&m.id).unwrap_or(&Assignment::new()),
                            ))
                            .with_member_type(1)
                    })
                    .collect();
                out.with_group_state(str_bytes(g.state()))
                    .with_group_epoch(g.group_epoch)
                    .with_assignment_epoch(g.assignment_epoch)
                    .with_assignor_name(str_bytes(g.assignor()))
                    .with_members(members)
            }
        });
    }
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
