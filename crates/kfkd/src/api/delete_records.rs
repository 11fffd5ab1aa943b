//! DeleteRecords (`kafka-delete-records`, the AdminClient's deleteRecords):
//! moves a partition's log start forward on its leader, so the records below
//! it are gone for every consumer; followers move theirs when they next
//! fetch and see the leader's log start. As Kafka does, the answer waits
//! (up to the request's timeout) until every in-sync replica has, and
//! reports that low watermark.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use std::sync::Arc;
use std::time::Duration;

use kfk_log::TopicPartition;
use tracing::warn;

use crate::broker::Broker;
use crate::replica::partition::Partition;

/// Kafka's "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

/// Deletes on the leader; returns the partition and the offset its low
/// watermark must reach.
fn delete_one(
    broker: &Broker,
    tp: &TopicPartition,
    offset: i64,
) -> Result<(Arc<Partition>, i64), ResponseError> {
    if crate::topics::INTERNAL_TOPICS.contains(&tp.topic.as_str()) {
        return Err(ResponseError::InvalidTopicException);
    }
    let part = broker.partition(tp).ok_or_else(|| broker.not_hosted(tp))?;
    part.check_leader(-1)?;
    let hw = part.high_watermark();
    let target = if offset == HIGH_WATERMARK { hw } else { offset };
    if target < 0 || target > hw {
        return Err(ResponseError::OffsetOutOfRange);
    }
    let start = part.log().advance_log_start(target).map_err(|e| {
        warn!(partition = %tp, error = %e, "could not delete records");
        ResponseError::KafkaStorageError
    })?;
    Ok((part, start))
}

/// How often a waiting answer looks at the replicas' progress.
const POLL: Duration = Duration::from_millis(20);

pub async fn handle(broker: &Broker, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    // A timeout of 0 or less: answer at once with what is known.
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    // (topic index, partition index) -> what to wait for.
    let mut waiting: Vec<(usize, usize, Arc<Partition>, i64)> = Vec::new();
    let mut topics: Vec<DeleteRecordsTopicResult> = Vec::with_capacity(req.topics.len());
    for (ti, t) in req.topics.into_iter().enumerate() {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for (pi, p) in t.partitions.iter().enumerate() {
            let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
            let result =
                DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
            partitions.push(match delete_one(broker, &tp, p.offset) {
                Ok((part, target)) => {
                    waiting.push((ti, pi, part, target));
                    result.with_low_watermark(target)
                }
                Err(e) => result.with_low_watermark(-1).with_error_code(e.code()),
            });
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    loop {
        waiting.retain(|(ti, pi, part, target)| {
            let result = &mut topics[*ti].partitions[*pi];
            match part.low_watermark() {
                Some(low) if low >= *target => {
                    result.low_watermark = low;
                    false
                }
                Some(_) => true,
                // Leadership moved while waiting: the client asks the new leader.
                None => {
                    result.error_code = ResponseError::NotLeaderOrFollower.code();
                    false
                }
            }
        });
        if waiting.is_empty() || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    for (ti, pi, part, _) in waiting {
        let result = &mut topics[ti].partitions[pi];
        result.low_watermark = part.low_watermark().unwrap_or(-1);
        result.error_code = ResponseError::RequestTimedOut.code();
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
