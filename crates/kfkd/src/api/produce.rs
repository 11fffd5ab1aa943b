//! Produce: validate each partition's batch, check producer sequences, append
//! verbatim, answer with the assigned base offset.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kfk_log::{LogError, TopicPartition};
use kfk_wire::{BatchHeader, peek_batch_size};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::error::ApiError;
use crate::replica::partition::Partition;
use crate::replica::producer_state::{ProducerStates, SequenceCheck, SequenceError};

/// The Kafka error for a refused append.
fn log_error(e: &LogError) -> ApiError {
    let code = match e {
        LogError::CorruptBatch { .. } => ResponseError::CorruptMessage,
        LogError::InvalidBatch { .. } | LogError::EmptyRecordSet => ResponseError::InvalidRecord,
        LogError::BatchTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::Io { .. } | LogError::DataDirInUse { .. } => ResponseError::KafkaStorageError,
        _ => ResponseError::UnknownServerError,
    };
    ApiError::new(code, e.to_string())
}

/// Result of one partition's append: base offset, log append time, log start,
/// and what acks=all waits for.
struct Appended {
    base_offset: i64,
    log_append_time: i64,
    log_start_offset: i64,
    /// The high watermark that commits the batch.
    end_offset: i64,
    leader_epoch: i32,
}

fn append(
    broker: &Broker,
    partition: &Partition,
    records: &[u8],
    acks: i16,
) -> Result<Appended, ApiError> {
    // Kafka accepts exactly one batch per partition from v3 on.
    match peek_batch_size(records) {
        Some(Ok(size)) if size == records.len() => {}
        Some(Ok(_)) => {
            return Err(ApiError::new(
                ResponseError::InvalidRecord,
                "produce requests must carry exactly one record batch per partition",
            ));
        }
        Some(Err(e)) => return Err(ApiError::new(ResponseError::CorruptMessage, e.to_string())),
        None => {
            return Err(ApiError::new(
                ResponseError::CorruptMessage,
                "record batch shorter than its length field",
            ));
        }
    }
    let leader_epoch = partition.check_leader(-1)?;
    if acks == -1 {
        let min_isr = min_insync_replicas(broker, partition);
        let isr = partition.isr_len() as i32;
        if isr < min_isr {
            return Err(ApiError::new(
                ResponseError::NotEnoughReplicas,
                format!("{isr} in-sync replica(s), min.insync.replicas is {min_isr}"),
            ));
        }
    }
    // The log rewrites offsets in place, so it needs its own copy of the batch.
    let mut buf = BytesMut::from(records);
    let header = BatchHeader::parse(&buf)
        .map_err(|e| ApiError::new(ResponseError::CorruptMessage, e.to_string()))?
        .summary();
    let mut producers = crate::sync::lock(&partition.producers);
    if ProducerStates::is_idempotent(&header) {
        match producers.check(&header) {
            Ok(SequenceCheck::Duplicate { base_offset }) => {
                debug!(partition = %partition.tp, producer_id = header.producer_id, "duplicate batch");
                return Ok(Appended {
                    base_offset,
                    log_append_time: -1,
                    log_start_offset: partition.log.log_start_offset(),
                    end_offset: base_offset + 1,
                    leader_epoch,
                });
            }
            Ok(SequenceCheck::Append) => {}
            Err(SequenceError::OutOfOrder { expected, got }) => {
                return Err(ApiError::new(
                    ResponseError::OutOfOrderSequenceNumber,
                    format!("expected sequence {expected}, got {got}"),
                ));
            }
            Err(SequenceError::FencedEpoch { current, got }) => {
                return Err(ApiError::new(
                    ResponseError::InvalidProducerEpoch,
                    format!("producer epoch {got} is older than {current}"),
                ));
            }
        }
    }
    let info = partition
        .log
        .append(&mut buf, leader_epoch)
        .map_err(|e| log_error(&e))?;
    if let Ok(stored) = BatchHeader::parse(&buf) {
        producers.record(&stored.summary());
    }
    drop(producers);
    partition.appended_as_leader();
    Ok(Appended {
        base_offset: info.base_offset,
        log_append_time: info.log_append_time_ms.unwrap_or(-1),
        log_start_offset: info.log_start_offset,
        end_offset: info.last_offset + 1,
        leader_epoch,
    })
}

fn min_insync_replicas(broker: &Broker, partition: &Partition) -> i32 {
    broker.with_image(|i| {
        i.topics.get(&partition.tp.topic).map_or(1, |t| {
            topic_config::min_insync_replicas(&broker.settings, &t.configs)
        })
    })
}

/// acks=all: the batch counts once every in-sync replica has it, and only if
/// the ISR still meets `min.insync.replicas` then.
async fn wait_committed(
    broker: &Broker,
    partition: &Partition,
    a: &Appended,
    deadline: Instant,
) -> Result<(), ApiError> {
    partition
        .wait_committed(a.end_offset, a.leader_epoch, deadline)
        .await
        .map_err(|e| match e {
            ResponseError::RequestTimedOut => ApiError::new(
                e,
                "the in-sync replicas did not all confirm the batch within the request timeout",
            ),
            other => other.into(),
        })?;
    let min_isr = min_insync_replicas(broker, partition);
    let isr = partition.isr_len() as i32;
    if isr < min_isr {
        return Err(ApiError::new(
            ResponseError::NotEnoughReplicasAfterAppend,
            format!(
                "written, but only {isr} in-sync replica(s) remain and min.insync.replicas is {min_isr}"
            ),
        ));
    }
    Ok(())
}

/// `None` for acks=0: the client expects no response.
pub async fn handle(broker: &Broker, req: ProduceRequest) -> Option<ProduceResponse> {
    if req.transactional_id.is_some() {
        warn!("transactional produce refused: kfk does not support transactions");
    }
    let deadline =
        Instant::now() + Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let mut appended = false;
    // Append everything first, then wait: the partitions replicate in parallel.
    let mut results = Vec::with_capacity(req.topic_data.len());
    for topic in &req.topic_data {
        let name = topic.name.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for p in &topic.partition_data {
            let tp = TopicPartition::new(name.clone(), p.index);
            let part = broker.partition(&tp);
            let result = if req.transactional_id.is_some() {
                Err(ApiError::new(
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "transactions are not supported by kfk",
                ))
            } else {
                match (&part, p.records.as_deref()) {
                    (None, _) => Err(broker.not_hosted(&tp).into()),
                    (Some(_), None) => {
                        Err(ApiError::new(ResponseError::InvalidRecord, "no records"))
                    }
                    (Some(part), Some(records)) => append(broker, part, records, req.acks),
                }
            };
            appended |= result.is_ok();
            partitions.push((tp, part, result));
        }
        results.push(partitions);
    }
    if appended {
        broker.data_arrived.notify_waiters();
    }
    if req.acks == 0 {
        return None;
    }
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (topic, partitions) in req.topic_data.into_iter().zip(results) {
        let mut out = Vec::with_capacity(partitions.len());
        for (tp, part, mut result) in partitions {
            if req.acks == -1
                && let (Ok(a), Some(part)) = (&result, &part)
                && let Err(e) = wait_committed(broker, part, a, deadline).await
            {
                result = Err(e);
            }
            out.push(match result {
                Ok(a) => PartitionProduceResponse::default()
                    .with_index(tp.partition)
                    .with_base_offset(a.base_offset)
                    .with_log_append_time_ms(a.log_append_time)
                    .with_log_start_offset(a.log_start_offset),
                Err(e) => {
                    debug!(partition = %tp, error = ?e, "produce refused");
                    PartitionProduceResponse::default()
                        .with_index(tp.partition)
                        .with_error_code(e.code())
                        .with_error_message(e.message.map(StrBytes::from_string))
                        .with_base_offset(-1)
                }
            });
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_topic_id(topic.topic_id)
                .with_partition_responses(out),
        );
    }
    Some(ProduceResponse::default().with_responses(responses))
}
