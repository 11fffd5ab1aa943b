//! The data-plane APIs' topic checks (TOPIC_AUTHORIZATION_FAILED for each
//! partition of a refused topic).

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kfk_acl::Operation;

use super::super::ClientInfo;
use super::super::authz::{TOPIC_DENIED, split_off};
use crate::broker::Broker;

const DENIED: i16 = TOPIC_DENIED.code();

/// Produce: Write on each topic.
pub(in crate::api) fn produce(
    b: &Broker,
    c: &ClientInfo,
    req: &mut ProduceRequest,
) -> impl FnOnce(&mut ProduceResponse) + use<> {
    let denied = split_off(&mut req.topic_data, |t| {
        b.allowed_topic(c, Operation::Write, &t.name)
    });
    move |resp| {
        resp.responses.extend(denied.into_iter().map(|t| {
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(
                    t.partition_data
                        .iter()
                        .map(|p| {
                            PartitionProduceResponse::default()
                                .with_index(p.index)
                                .with_error_code(DENIED)
                                .with_base_offset(-1)
                                .with_log_append_time_ms(-1)
                                .with_log_start_offset(-1)
                        })
                        .collect(),
                )
        }));
    }
}

/// Fetch: Read on each topic for consumers; ClusterAction on the cluster
/// for followers (other brokers).
pub(in crate::api) fn fetch(
    b: &Broker,
    c: &ClientInfo,
    req: &mut FetchRequest,
) -> impl FnOnce(&mut FetchResponse) + use<> {
    let follower_ok = req.replica_id.0 < 0 || b.allowed_on_cluster(c, Operation::ClusterAction);
    let denied = split_off(&mut req.topics, |t| {
        follower_ok && (req.replica_id.0 >= 0 || b.allowed_topic(c, Operation::Read, &t.topic))
    });
    if !denied.is_empty() {
        // An error to report: answer at once, as for any failed partition.
        req.max_wait_ms = 0;
    }
    move |resp| {
        resp.responses.extend(denied.into_iter().map(|t| {
            FetchableTopicResponse::default()
                .with_topic(t.topic)
                .with_topic_id(t.topic_id)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            PartitionData::default()
                                .with_partition_index(p.partition)
                                .with_error_code(DENIED)
                                .with_high_watermark(-1)
                                .with_last_stable_offset(-1)
                                .with_log_start_offset(-1)
                        })
                        .collect(),
                )
        }));
    }
}

/// ListOffsets: Describe on each topic.
pub(in crate::api) fn list_offsets(
    b: &Broker,
    c: &ClientInfo,
    req: &mut ListOffsetsRequest,
) -> impl FnOnce(&mut ListOffsetsResponse) + use<> {
    let denied = split_off(&mut req.topics, |t| {
        b.allowed_topic(c, Operation::Describe, &t.name)
    });
    move |resp| {
        resp.topics.extend(denied.into_iter().map(|t| {
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            ListOffsetsPartitionResponse::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(DENIED)
                                .with_timestamp(-1)
                                .with_offset(-1)
                                .with_leader_epoch(-1)
                        })
                        .collect(),
                )
        }));
    }
}

/// OffsetForLeaderEpoch: Describe on each topic for consumers,
/// ClusterAction for followers.
pub(in crate::api) fn offset_for_leader_epoch(
    b: &Broker,
    c: &ClientInfo,
    req: &mut OffsetForLeaderEpochRequest,
) -> impl FnOnce(&mut OffsetForLeaderEpochResponse) + use<> {
    let follower = req.replica_id.0 >= 0;
    let follower_ok = !follower || b.allowed_on_cluster(c, Operation::ClusterAction);
    let denied = split_off(&mut req.topics, |t| {
        follower_ok && (follower || b.allowed_topic(c, Operation::Describe, &t.topic))
    });
    move |resp| {
        resp.topics.extend(denied.into_iter().map(|t| {
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            EpochEndOffset::default()
                                .with_partition(p.partition)
                                .with_error_code(DENIED)
                                .with_leader_epoch(-1)
                                .with_end_offset(-1)
                        })
                        .collect(),
                )
        }));
    }
}

/// DeleteRecords: Delete on each topic.
pub(in crate::api) fn delete_records(
    b: &Broker,
    c: &ClientInfo,
    req: &mut DeleteRecordsRequest,
) -> impl FnOnce(&mut DeleteRecordsResponse) + use<> {
    let denied = split_off(&mut req.topics, |t| {
        b.allowed_topic(c, Operation::Delete, &t.name)
    });
    move |resp| {
        resp.topics.extend(denied.into_iter().map(|t| {
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(DENIED)
                                .with_low_watermark(-1)
                        })
                        .collect(),
                )
        }));
    }
}
