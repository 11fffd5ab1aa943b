//! DescribeTopicPartitions (KIP-966), what Kafka 4's AdminClient and tools
//! ask first to describe topics: Metadata's partition view, paged by a
//! cursor so a topic of 100,000 partitions comes in pieces. kfkd has no
//! eligible leader replicas (ELR), so those lists are empty (Kafka's
//! AdminClient does not accept them null).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
};
use uuid::Uuid;

use super::topic_name;
use crate::broker::Broker;
use crate::metadata::TopicMeta;

/// Kafka's `max.request.partition.size.limit` default.
const PARTITION_LIMIT: usize = 2000;

fn partitions(
    topic: &TopicMeta,
    from: usize,
    take: usize,
    live: &[i32],
) -> Vec<DescribeTopicPartitionsResponsePartition> {
    let ids = |bs: &[i32]| bs.iter().map(|b| BrokerId(*b)).collect::<Vec<_>>();
    topic
        .partitions
        .iter()
        .enumerate()
        .skip(from)
        .take(take)
        .map(|(i, p)| {
            DescribeTopicPartitionsResponsePartition::default()
                .with_partition_index(i as i32)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(ids(&p.replicas))
                .with_isr_nodes(ids(&p.isr))
                .with_eligible_leader_replicas(Some(Vec::new()))
                .with_last_known_elr(Some(Vec::new()))
                .with_offline_replicas(super::metadata::offline_replicas(&p.replicas, live))
        })
        .collect()
}

/// Every topic answered (found or not) carries what the client may do to
/// it; the request has no flag for it, Kafka always answers it.
pub fn handle(
    broker: &Broker,
    client: &super::ClientInfo,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let mut resp = page(broker, req);
    for t in &mut resp.topics {
        if let Some(name) = &t.name {
            t.topic_authorized_operations =
                broker.authorized_operations(client, kfk_acl::ResourceType::Topic, name);
        }
    }
    resp
}

fn page(broker: &Broker, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let limit = usize::try_from(req.response_partition_limit)
        .ok()
        .filter(|l| *l > 0)
        .unwrap_or(PARTITION_LIMIT)
        .min(PARTITION_LIMIT);
    broker.with_image(|image| {
        let live = image.live_broker_ids();
        // Every topic when none is named; in name order either way.
        let mut names: Vec<String> = if req.topics.is_empty() {
            image.topics.keys().cloned().collect()
        } else {
            req.topics.iter().map(|t| t.name.0.to_string()).collect()
        };
        names.sort();
        names.dedup();
        let (first_topic, first_partition) = req.cursor.as_ref().map_or((None, 0), |c| {
            (
                Some(c.topic_name.0.to_string()),
                usize::try_from(c.partition_index).unwrap_or(0),
            )
        });
        let mut left = limit;
        let mut topics = Vec::new();
        let mut next_cursor = None;
        for name in names
            .into_iter()
            .filter(|n| first_topic.as_ref().is_none_or(|f| n >= f))
        {
            let Some(topic) = image.topics.get(&name) else {
                topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_name(Some(topic_name(&name)))
                        .with_topic_id(Uuid::nil())
                        .with_topic_authorized_operations(super::authz::OPERATIONS_NOT_ASKED),
                );
                continue;
            };
            if left == 0 {
                next_cursor = Some(Cursor::default().with_topic_name(topic_name(&name)));
                break;
            }
            let from = if first_topic.as_deref() == Some(name.as_str()) {
                first_partition
            } else {
                0
            };
            let page = partitions(topic, from, left, &live);
            left -= page.len();
            if from + page.len() < topic.partitions.len() {
                next_cursor = Some(
                    Cursor::default()
                        .with_topic_name(topic_name(&name))
                        .with_partition_index((from + page.len()) as i32),
                );
            }
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(topic_name(&name)))
                    .with_topic_id(topic.id)
                    .with_is_internal(crate::topics::INTERNAL_TOPICS.contains(&name.as_str()))
                    .with_partitions(page)
                    .with_topic_authorized_operations(super::authz::OPERATIONS_NOT_ASKED),
            );
            if next_cursor.is_some() {
                break;
            }
        }
        DescribeTopicPartitionsResponse::default()
            .with_topics(topics)
            .with_next_cursor(next_cursor)
    })
}
