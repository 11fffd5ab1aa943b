//! The admin APIs' checks: creating topics (Create on the cluster or the
//! topic), deleting them (Delete), adding partitions (Alter), and configs
//! (DescribeConfigs and AlterConfigs on the topic, or on the cluster for
//! broker configs).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use kafka_protocol::messages::*;
use kfk_acl::{Operation, ResourceType};

use super::super::ClientInfo;
use super::super::authz::{CLUSTER_DENIED, GROUP_DENIED, TOPIC_DENIED, split_off};
use super::super::str_bytes;
use crate::broker::Broker;

fn message(e: ResponseError) -> Option<kafka_protocol::protocol::StrBytes> {
    Some(str_bytes(match e {
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.".to_string(),
        _ => "Authorization failed.".to_string(),
    }))
}

/// CreateTopics: Create on the cluster, or on each topic.
pub(in crate::api) fn create_topics(
    b: &Broker,
    c: &ClientInfo,
    req: &mut CreateTopicsRequest,
) -> impl FnOnce(&mut CreateTopicsResponse) + use<> {
    let cluster = b.authorizing() && b.allowed_on_cluster(c, Operation::Create);
    let denied = split_off(&mut req.topics, |t| {
        cluster || b.allowed_topic(c, Operation::Create, &t.name)
    });
    move |resp| {
        resp.topics.extend(denied.into_iter().map(|t| {
            CreatableTopicResult::default()
                .with_name(t.name)
                .with_error_code(TOPIC_DENIED.code())
                .with_error_message(message(TOPIC_DENIED))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        }));
    }
}

/// DeleteTopics: Delete on each topic (named, or by id).
pub(in crate::api) fn delete_topics(
    b: &Broker,
    c: &ClientInfo,
    req: &mut DeleteTopicsRequest,
) -> impl FnOnce(&mut DeleteTopicsResponse) + use<> {
    let old = split_off(&mut req.topic_names, |n| {
        b.allowed_topic(c, Operation::Delete, n)
    });
    let new = split_off(&mut req.topics, |t| {
        let name = match &t.name {
            Some(n) => Some(n.0.to_string()),
            None => b.with_image(|i| i.topic_by_id(t.topic_id).map(|(n, _)| n.clone())),
        };
        // An unknown id is the handler's to answer.
        name.is_none_or(|n| b.allowed_topic(c, Operation::Delete, &n))
    });
    move |resp| {
        let denied = |name, id| {
            DeletableTopicResult::default()
                .with_name(name)
                .with_topic_id(id)
                .with_error_code(TOPIC_DENIED.code())
                .with_error_message(message(TOPIC_DENIED))
        };
        resp.responses
            .extend(old.into_iter().map(|n| denied(Some(n), uuid::Uuid::nil())));
        resp.responses
            .extend(new.into_iter().map(|t| denied(t.name, t.topic_id)));
    }
}

/// CreatePartitions: Alter on each topic.
pub(in crate::api) fn create_partitions(
    b: &Broker,
    c: &ClientInfo,
    req: &mut CreatePartitionsRequest,
) -> impl FnOnce(&mut CreatePartitionsResponse) + use<> {
    let denied = split_off(&mut req.topics, |t| {
        b.allowed_topic(c, Operation::Alter, &t.name)
    });
    move |resp| {
        resp.results.extend(denied.into_iter().map(|t| {
            CreatePartitionsTopicResult::default()
                .with_name(t.name)
                .with_error_code(TOPIC_DENIED.code())
                .with_error_message(message(TOPIC_DENIED))
        }));
    }
}

/// Config resource types (DescribeConfigs' codes).
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const GROUP: i8 = 32;

/// Whether `op` on config resource `rtype` `name` is allowed, and the
/// error when it is not.
fn config_access(
    b: &Broker,
    c: &ClientInfo,
    op: Operation,
    rtype: i8,
    name: &str,
) -> Result<(), ResponseError> {
    match rtype {
        TOPIC if !b.allowed(c, op, ResourceType::Topic, name) => Err(TOPIC_DENIED),
        GROUP if !b.allowed(c, op, ResourceType::Group, name) => Err(GROUP_DENIED),
        BROKER | BROKER_LOGGER if !b.allowed_on_cluster(c, op) => Err(CLUSTER_DENIED),
        _ => Ok(()),
    }
}

/// A refused config resource: its type, name and error.
type Refused = (i8, kafka_protocol::protocol::StrBytes, ResponseError);

/// Takes out of `resources` those `op` is refused on.
fn refused_configs<T>(
    b: &Broker,
    c: &ClientInfo,
    op: Operation,
    resources: &mut Vec<T>,
    key: impl Fn(&T) -> (i8, &kafka_protocol::protocol::StrBytes),
) -> Vec<Refused> {
    let mut denied = Vec::new();
    let _ = split_off(resources, |r| {
        let (rtype, name) = key(r);
        match config_access(b, c, op, rtype, name) {
            Ok(()) => true,
            Err(e) => {
                denied.push((rtype, name.clone(), e));
                false
            }
        }
    });
    denied
}

/// DescribeConfigs: DescribeConfigs on each topic, or the cluster for
/// brokers.
pub(in crate::api) fn describe_configs(
    b: &Broker,
    c: &ClientInfo,
    req: &mut DescribeConfigsRequest,
) -> impl FnOnce(&mut DescribeConfigsResponse) + use<> {
    let denied = refused_configs(b, c, Operation::DescribeConfigs, &mut req.resources, |r| {
        (r.resource_type, &r.resource_name)
    });
    move |resp| {
        resp.results
            .extend(denied.into_iter().map(|(rtype, name, e)| {
                DescribeConfigsResult::default()
                    .with_resource_type(rtype)
                    .with_resource_name(name)
                    .with_error_code(e.code())
                    .with_error_message(message(e))
            }));
    }
}

/// AlterConfigs: AlterConfigs on each topic, or the cluster for brokers.
pub(in crate::api) fn alter_configs(
    b: &Broker,
    c: &ClientInfo,
    req: &mut AlterConfigsRequest,
) -> impl FnOnce(&mut AlterConfigsResponse) + use<> {
    let denied = refused_configs(b, c, Operation::AlterConfigs, &mut req.resources, |r| {
        (r.resource_type, &r.resource_name)
    });
    move |resp| {
        resp.responses
            .extend(denied.into_iter().map(|(rtype, name, e)| {
                AlterConfigsResourceResponse::default()
                    .with_resource_type(rtype)
                    .with_resource_name(name)
                    .with_error_code(e.code())
                    .with_error_message(message(e))
            }));
    }
}

/// IncrementalAlterConfigs: as AlterConfigs.
pub(in crate::api) fn incremental_alter_configs(
    b: &Broker,
    c: &ClientInfo,
    req: &mut IncrementalAlterConfigsRequest,
) -> impl FnOnce(&mut IncrementalAlterConfigsResponse) + use<> {
    let denied = refused_configs(b, c, Operation::AlterConfigs, &mut req.resources, |r| {
        (r.resource_type, &r.resource_name)
    });
    move |resp| {
        resp.responses
            .extend(denied.into_iter().map(|(rtype, name, e)| {
                IncrementalResult::default()
                    .with_resource_type(rtype)
                    .with_resource_name(name)
                    .with_error_code(e.code())
                    .with_error_message(message(e))
            }));
    }
}

/// DescribeTopicPartitions: Describe on each topic named; a listing of
/// every topic leaves out the ones the client may not describe.
pub(in crate::api) fn describe_topic_partitions<'a>(
    b: &'a Broker,
    c: &'a ClientInfo,
    req: &mut DescribeTopicPartitionsRequest,
) -> impl FnOnce(&mut DescribeTopicPartitionsResponse) + use<'a> {
    let listing = req.topics.is_empty();
    let denied = split_off(&mut req.topics, |t| {
        b.allowed_topic(c, Operation::Describe, &t.name)
    });
    let asked_only_denied = !denied.is_empty() && req.topics.is_empty();
    move |resp| {
        if listing || asked_only_denied {
            resp.topics.retain(|t| {
                t.name.as_ref().is_some_and(|n| {
                    b.allowed_quietly(c, Operation::Describe, ResourceType::Topic, n)
                })
            });
        }
        resp.topics.extend(denied.into_iter().map(|t| {
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(t.name))
                .with_error_code(TOPIC_DENIED.code())
        }));
    }
}
