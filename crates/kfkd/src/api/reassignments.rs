//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455): move
//! partitions between brokers, and see the moves in flight; ElectLeaders.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ElectLeadersRequest, ElectLeadersResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::topic_name;
use crate::broker::Broker;

pub async fn alter(
    broker: &Broker,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in t.partitions {
            let target = p
                .replicas
                .map(|r| r.into_iter().map(|b| b.0).collect::<Vec<i32>>());
            let result = broker
                .reassign(
                    &name,
                    p.partition_index,
                    target,
                    req.allow_replication_factor_change,
                )
                .await;
            let (code, message) = match result {
                Ok(()) => (0, None),
                Err(e) => (e.code(), e.message.map(StrBytes::from_string)),
            };
            partitions.push(
                ReassignablePartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code)
                    .with_error_message(message),
            );
        }
        topics.push(
            ReassignableTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(req.allow_replication_factor_change)
        .with_responses(topics)
}

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().map(|b| BrokerId(*b)).collect()
}

pub fn list(
    broker: &Broker,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let topics = broker.with_image(|image| {
        let mut out = Vec::new();
        for (name, topic) in &image.topics {
            let wanted: Option<Vec<i32>> = match &req.topics {
                None => None,
                Some(ts) => match ts.iter().find(|t| t.name.0.as_str() == name) {
                    Some(t) => Some(t.partition_indexes.clone()),
                    None => continue,
                },
            };
            let partitions: Vec<OngoingPartitionReassignment> = topic
                .partitions
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    p.is_reassigning() && wanted.as_ref().is_none_or(|w| w.contains(&(*i as i32)))
                })
                .map(|(i, p)| {
                    OngoingPartitionReassignment::default()
                        .with_partition_index(i as i32)
                        .with_replicas(ids(&p.replicas))
                        .with_adding_replicas(ids(&p.adding_replicas))
                        .with_removing_replicas(ids(&p.removing_replicas))
                })
                .collect();
            if !partitions.is_empty() {
                out.push(
                    OngoingTopicReassignment::default()
                        .with_name(topic_name(name))
                        .with_partitions(partitions),
                );
            }
        }
        out
    });
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}

/// ElectLeaders (KIP-460): preferred (0) or unclean (1) elections for the
/// given partitions, or for every partition when none are given.
pub async fn elect_leaders(broker: &Broker, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let preferred = req.election_type == 0;
    let all = req.topic_partitions.is_none();
    let wanted: Vec<(String, Vec<i32>)> = match req.topic_partitions {
        Some(tps) => tps
            .into_iter()
            .map(|t| (t.topic.0.to_string(), t.partitions))
            .collect(),
        None => broker.with_image(|i| {
            i.topics
                .iter()
                .map(|(n, t)| (n.clone(), (0..t.partitions.len() as i32).collect()))
                .collect()
        }),
    };
    let mut results = Vec::with_capacity(wanted.len());
    for (topic, partitions) in wanted {
        let mut out = Vec::with_capacity(partitions.len());
        for p in partitions {
            let r = broker.elect_leader(&topic, p, preferred).await;
            // Asked for everything, partitions that need nothing are left out.
            if all
                && r.as_ref()
                    .is_err_and(|e| e.error == ResponseError::ElectionNotNeeded)
            {
                continue;
            }
            out.push(match r {
                Ok(()) => PartitionResult::default().with_partition_id(p),
                Err(e) => PartitionResult::default()
                    .with_partition_id(p)
                    .with_error_code(e.code())
                    .with_error_message(e.message.map(StrBytes::from_string)),
            });
        }
        if !out.is_empty() {
            results.push(
                ReplicaElectionResult::default()
                    .with_topic(topic_name(&topic))
                    .with_partition_result(out),
            );
        }
    }
    ElectLeadersResponse::default().with_replica_election_results(results)
}
