//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first
//! offset at or after a timestamp; read_committed clients see offsets below
//! the last stable offset only.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kfk_log::TopicPartition;

use crate::broker::Broker;
use crate::replica::partition::Partition;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// `read_committed` (isolation level 1): the latest offset is the last
/// stable one, and timestamps are looked up below it.
fn lookup(
    part: &Partition,
    timestamp: i64,
    read_committed: bool,
) -> Result<(i64, i64), ResponseError> {
    let log = part.log();
    let visible = if read_committed {
        part.last_stable_offset()
    } else {
        part.high_watermark()
    };
    Ok(match timestamp {
        LATEST => (-1, visible),
        EARLIEST => (-1, log.log_start_offset()),
        MAX_TIMESTAMP => match log
            .max_timestamp_record()
            .map_err(|_| ResponseError::KafkaStorageError)?
        {
            Some(r) => (r.timestamp, r.offset),
            None => (-1, -1),
        },
        ts if ts >= 0 => match log
            .offset_for_timestamp(ts)
            .map_err(|_| ResponseError::KafkaStorageError)?
        {
            // Records deleted below the log start are not answers.
            Some(r) if r.offset < visible => (r.timestamp, r.offset.max(log.log_start_offset())),
            _ => (-1, -1),
        },
        _ => return Err(ResponseError::InvalidRequest),
    })
}

pub fn handle(broker: &Broker, req: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.to_string();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1);
                    let tp = TopicPartition::new(name.clone(), p.partition_index);
                    let Some(part) = broker.partition(&tp) else {
                        return resp.with_error_code(broker.not_hosted(&tp).code());
                    };
                    // Consumers ask the leader; replica id -2 (debugging tools)
                    // may ask any replica.
                    let epoch = match part.check_leader(p.current_leader_epoch) {
                        Ok(epoch) => epoch,
                        Err(e) if req.replica_id.0 != -2 => return resp.with_error_code(e.code()),
                        Err(_) => part.leader_epoch(),
                    };
                    match lookup(&part, p.timestamp, req.isolation_level == 1) {
                        Ok((timestamp, offset)) => resp
                            .with_timestamp(timestamp)
                            .with_offset(offset)
                            // Leader epochs exist from v4 on.
                            .with_leader_epoch(if version >= 4 { epoch } else { -1 }),
                        Err(e) => resp.with_error_code(e.code()),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
