//! Metadata: brokers, controller, and topics with their partitions, leaders,
//! replicas and ISR; creates requested topics when auto-creation is on.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use uuid::Uuid;

use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::metadata::TopicMeta;
use crate::new_topic::validate_topic_name;

/// `live`: unfenced brokers; replicas elsewhere are reported offline.
fn topic_response(name: &str, topic: &TopicMeta, live: &[i32]) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(name)))
        .with_topic_id(topic.id)
        .with_is_internal(name.starts_with("__"))
        .with_partitions(
            topic
                .partitions
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let error = if p.leader < 0 {
                        ResponseError::LeaderNotAvailable.code()
                    } else {
                        0
                    };
                    MetadataResponsePartition::default()
                        .with_error_code(error)
                        .with_partition_index(i as i32)
                        .with_leader_id(BrokerId(p.leader))
                        .with_leader_epoch(p.leader_epoch)
                        .with_replica_nodes(p.replicas.iter().map(|b| BrokerId(*b)).collect())
                        .with_isr_nodes(p.isr.iter().map(|b| BrokerId(*b)).collect())
                        .with_offline_replicas(offline_replicas(&p.replicas, live))
                })
                .collect(),
        )
}

/// The replicas on brokers that are not live (fenced or gone), which
/// Metadata and DescribeTopicPartitions report as offline.
pub(super) fn offline_replicas(replicas: &[i32], live: &[i32]) -> Vec<BrokerId> {
    replicas
        .iter()
        .filter(|b| !live.contains(b))
        .map(|b| BrokerId(*b))
        .collect()
}

fn error_topic(name: Option<&str>, id: Uuid, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(topic_name))
        .with_topic_id(id)
}

pub async fn handle(
    broker: &Broker,
    client: &super::ClientInfo,
    req: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let brokers = broker
        .brokers()
        .into_iter()
        .filter_map(|b| {
            let (host, port) = b.endpoint(&client.listener)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.id))
                    .with_host(str_bytes(host))
                    .with_port(port)
                    .with_rack(b.rack.map(str_bytes)),
            )
        })
        .collect();
    let live = broker.with_image(|i| i.live_broker_ids());
    // v0 asks for all topics with an empty list, later versions with null.
    let all = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    // Before v4 there is no flag and auto-creation is on.
    let allow_create =
        (version < 4 || req.allow_auto_topic_creation) && broker.settings.auto_create_topics_enable;
    let topics = if all {
        broker
            .with_image(|image| {
                image
                    .topics
                    .iter()
                    .map(|(name, t)| topic_response(name, t, &live))
                    .collect::<Vec<_>>()
            })
            .into_iter()
            // Topics the client may not describe are not there for it.
            .filter(|t| {
                !broker.authorizing()
                    || t.name.as_ref().is_some_and(|n| {
                        broker.allowed_quietly(
                            client,
                            kfk_acl::Operation::Describe,
                            kfk_acl::ResourceType::Topic,
                            n,
                        )
                    })
            })
            .collect()
    } else {
        let mut out = Vec::new();
        for wanted in req.topics.unwrap_or_default() {
            match wanted.name {
                Some(name) => {
                    let name = name.0.to_string();
                    if !broker.allowed_topic(client, kfk_acl::Operation::Describe, &name) {
                        out.push(error_topic(
                            Some(&name),
                            Uuid::nil(),
                            ResponseError::TopicAuthorizationFailed,
                        ));
                        continue;
                    }
                    let existing = broker.with_image(|i| i.topics.get(&name).cloned());
                    let may_create = || {
                        broker.allowed_on_cluster(client, kfk_acl::Operation::Create)
                            || broker.allowed_topic(client, kfk_acl::Operation::Create, &name)
                    };
                    out.push(match existing {
                        Some(t) => topic_response(&name, &t, &live),
                        None if allow_create && may_create() => {
                            let created = match validate_topic_name(&name) {
                                Ok(()) => broker.auto_create(&name).await,
                                Err(e) => Err(e),
                            };
                            match created {
                                Ok(t) => topic_response(&name, &t, &live),
                                Err(e) => error_topic(Some(&name), Uuid::nil(), e.error),
                            }
                        }
                        None => error_topic(
                            Some(&name),
                            Uuid::nil(),
                            ResponseError::UnknownTopicOrPartition,
                        ),
                    });
                }
                None => {
                    let found = broker
                        .with_image(|i| {
                            i.topic_by_id(wanted.topic_id)
                                .map(|(n, t)| topic_response(n, t, &live))
                        })
                        .filter(|t| {
                            t.name.as_ref().is_some_and(|n| {
                                broker.allowed_topic(client, kfk_acl::Operation::Describe, n)
                            })
                        });
                    out.push(found.unwrap_or_else(|| {
                        error_topic(None, wanted.topic_id, ResponseError::UnknownTopicId)
                    }));
                }
            }
        }
        out
    };
    let mut topics: Vec<MetadataResponseTopic> = topics;
    let mut cluster_ops = super::authz::OPERATIONS_NOT_ASKED;
    if version >= 8 {
        if req.include_cluster_authorized_operations && version <= 10 {
            cluster_ops = broker.cluster_authorized_operations(client);
        }
        if req.include_topic_authorized_operations {
            for t in &mut topics {
                if t.error_code == ResponseError::TopicAuthorizationFailed.code() {
                    continue;
                }
                if let Some(name) = &t.name {
                    t.topic_authorized_operations =
                        broker.authorized_operations(client, kfk_acl::ResourceType::Topic, name);
                }
            }
        }
    }
    MetadataResponse::default()
        .with_cluster_authorized_operations(cluster_ops)
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(broker.cluster_id.clone())))
        .with_controller_id(BrokerId(broker.controller_for_clients()))
        .with_topics(topics)
}
