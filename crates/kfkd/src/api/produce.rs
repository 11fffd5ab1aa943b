//! Produce: each partition's batch goes to its [`Partition`]'s leader append;
//! this maps the request to those appends and their results (after waiting
//! for the ISR with acks=all) to the response.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kfk_log::TopicPartition;
use kfk_wire::BatchSummary;
use tokio::time::Instant;
use tracing::debug;

use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::error::ApiError;
use crate::replica::partition::{LeaderAppend, Partition};

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
    a: &LeaderAppend,
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
/// KIP-890: the first transactional batch of a producer's transaction on a
/// partition is taken only once its coordinator confirms the partition is
/// in the transaction.
async fn verify_transactional(
    broker: &Arc<Broker>,
    transactional_id: &str,
    part: &Partition,
    records: &[u8],
) -> Result<(), ApiError> {
    let Ok(header) = BatchSummary::peek(records) else {
        // The append refuses it with the reason.
        return Ok(());
    };
    if !header.is_transactional() || part.in_transaction(header.producer_id) {
        return Ok(());
    }
    crate::txn::verify::verify(
        broker,
        transactional_id,
        header.producer_id,
        header.producer_epoch,
        &part.tp,
    )
    .await
}

pub async fn handle(broker: &Arc<Broker>, req: ProduceRequest) -> Option<ProduceResponse> {
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
            let result = if crate::topics::INTERNAL_TOPICS.contains(&name.as_str()) {
                // Only the coordinators write there (Kafka's answer too).
                Err(ApiError::new(
                    ResponseError::InvalidTopicException,
                    format!("cannot append to internal topic {name}"),
                ))
            } else {
                match (&part, p.records.as_deref()) {
                    (None, _) => Err(broker.not_hosted(&tp).into()),
                    (Some(_), None) => {
                        Err(ApiError::new(ResponseError::InvalidRecord, "no records"))
                    }
                    (Some(part), Some(records)) => {
                        let verified = match &req.transactional_id {
                            Some(id)
                                if broker.settings.transaction_partition_verification_enable =>
                            {
                                verify_transactional(broker, id, part, records).await
                            }
                            _ => Ok(()),
                        };
                        let min_isr = (req.acks == -1).then(|| min_insync_replicas(broker, part));
                        verified.and_then(|()| part.append_as_leader(records, min_isr))
                    }
                }
            };
            if let Ok(a) = &result {
                appended = true;
                broker.meters.produced(
                    &name,
                    u64::try_from(a.end_offset - a.base_offset).unwrap_or(0),
                    p.records.as_ref().map_or(0, |r| r.len() as u64),
                );
            }
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
                        .with_record_errors(
                            e.record_errors
                                .into_iter()
                                .map(|(i, m)| {
                                    BatchIndexAndErrorMessage::default()
                                        .with_batch_index(i)
                                        .with_batch_index_error_message(Some(
                                            StrBytes::from_string(m),
                                        ))
                                })
                                .collect(),
                        )
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
