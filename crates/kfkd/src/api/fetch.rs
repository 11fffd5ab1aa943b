//! Fetch: whole stored batches below the high watermark (read_committed:
//! the last stable offset, with the aborted transactions the batches
//! overlap), long-polled until `min_bytes` are available or `max_wait_ms`
//! passes.
//!
//! Fetch sessions (KIP-227) are declined by answering session id 0, which the
//! protocol allows: clients then send full fetch requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};
use kfk_log::{LogError, TopicPartition};
use tokio::time::Instant;

use crate::broker::Broker;

/// Upper bound on a client's `max_wait_ms`, so a bad value cannot park a
/// connection for days.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

/// Builds the response from what the logs hold now; returns it with the number
/// of record bytes it carries.
fn collect(broker: &Broker, req: &FetchRequest) -> (FetchResponse, usize) {
    let from_follower = req.replica_id.0 >= 0;
    let read_committed = req.isolation_level == 1;
    // The broker's fetch.max.bytes caps what any client asks for.
    let mut budget = usize::try_from(req.max_bytes)
        .unwrap_or(0)
        .min(usize::try_from(broker.settings.fetch_max_bytes).unwrap_or(usize::MAX));
    let mut total = 0usize;
    let mut topics = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let name = topic.topic.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition);
            let mut data = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1);
            let part = broker.partition(&tp);
            match part
                .as_ref()
                .map(|part| part.check_leader(p.current_leader_epoch))
            {
                None => data = data.with_error_code(broker.not_hosted(&tp).code()),
                Some(Err(e)) => data = data.with_error_code(e.code()),
                Some(Ok(_)) => {
                    let Some(part) = part else { continue };
                    let hw = part.high_watermark();
                    // Followers copy everything: the stable offset is for consumers.
                    let lso = if from_follower {
                        hw
                    } else {
                        part.last_stable_offset()
                    };
                    // read_committed consumers stop where transactions
                    // are still undecided.
                    let bound = if read_committed { lso } else { hw };
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    // Followers copy everything; consumers see committed records only.
                    let read = if from_follower {
                        part.log().read(p.fetch_offset, limit)
                    } else {
                        part.log().read_below(p.fetch_offset, limit, bound)
                    };
                    match read {
                        Ok(r) => {
                            // Only the first partition with data may exceed the
                            // limits (by one batch), so a large batch never blocks
                            // a consumer; later ones wait for the next fetch.
                            let records = if total > 0 && r.records.len() > limit {
                                Bytes::new()
                            } else {
                                r.records
                            };
                            total += records.len();
                            budget = budget.saturating_sub(records.len());
                            if read_committed && !from_follower {
                                data = data.with_aborted_transactions(Some(aborted_in(
                                    part.log(),
                                    p.fetch_offset,
                                    &records,
                                )));
                            }
                            data = data
                                .with_high_watermark(hw)
                                .with_last_stable_offset(lso)
                                .with_log_start_offset(r.log_start_offset)
                                .with_records(Some(records));
                        }
                        Err(LogError::OffsetOutOfRange {
                            log_start_offset, ..
                        }) => {
                            data = data
                                .with_error_code(ResponseError::OffsetOutOfRange.code())
                                .with_high_watermark(hw)
                                .with_last_stable_offset(lso)
                                .with_log_start_offset(log_start_offset)
                                .with_records(Some(Bytes::new()));
                        }
                        Err(_) => {
                            data = data.with_error_code(ResponseError::KafkaStorageError.code());
                        }
                    }
                }
            }
            partitions.push(data);
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default()
            .with_responses(topics)
            .with_session_id(0),
        total,
    )
}

/// The aborted transactions overlapping the batches a read_committed fetch
/// returns, which its consumer drops.
fn aborted_in(log: &kfk_log::Log, fetch_offset: i64, records: &[u8]) -> Vec<AbortedTransaction> {
    let Some(upper) = kfk_wire::Batches::new(records)
        .flatten()
        .last()
        .map(|b| b.summary().next_offset())
    else {
        return Vec::new();
    };
    log.aborted_transactions(fetch_offset, upper)
        .into_iter()
        .map(|t| {
            AbortedTransaction::default()
                .with_producer_id(ProducerId(t.producer_id))
                .with_first_offset(t.first_offset)
        })
        .collect()
}

/// A follower's fetch offset is its log end offset: the leader records it
/// (moving the high watermark, perhaps growing the ISR) before answering.
fn record_follower_progress(broker: &Broker, req: &FetchRequest) {
    let replica = req.replica_id.0;
    let mut moved = false;
    for topic in &req.topics {
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.to_string(), p.partition);
            let Some(part) = broker.partition(&tp) else {
                continue;
            };
            if part.check_leader(p.current_leader_epoch).is_err() {
                continue;
            }
            let before = part.high_watermark();
            part.follower_log_start(replica, p.log_start_offset);
            if let Some(change) = part.follower_fetched(replica, p.fetch_offset) {
                broker.request_isr_change(&tp, change);
            }
            moved |= part.high_watermark() != before;
        }
    }
    if moved {
        broker.data_arrived.notify_waiters();
    }
}

/// High watermarks of the requested partitions, in request order.
fn high_watermarks(broker: &Broker, req: &FetchRequest) -> Vec<i64> {
    req.topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                broker
                    .partition(&TopicPartition::new(t.topic.0.to_string(), p.partition))
                    .map_or(-1, |part| part.high_watermark())
            })
        })
        .collect()
}

/// Counts the records a fetch answers, per topic.
fn count_bytes_out(broker: &Broker, resp: &FetchResponse, from_follower: bool) {
    for t in &resp.responses {
        let bytes: usize = t
            .partitions
            .iter()
            .map(|p| p.records.as_ref().map_or(0, Bytes::len))
            .sum();
        if bytes > 0 {
            broker
                .meters
                .fetched(t.topic.0.as_str(), bytes as u64, from_follower);
        }
    }
}

/// Answers a fetch, long-polling without holding memory; while the records
/// are read and until the response is written it holds as much of the
/// broker's request memory as the response may take (`fetch.max.bytes` at
/// most), which it returns with the response.
pub async fn handle(
    broker: &Broker,
    req: FetchRequest,
    _version: i16,
) -> (FetchResponse, Option<tokio::sync::OwnedSemaphorePermit>) {
    let from_follower = req.replica_id.0 >= 0;
    if from_follower {
        record_follower_progress(broker, &req);
    }
    // A follower's long poll also ends when a high watermark moves, so
    // followers learn what is committed without waiting out max_wait_ms (a
    // follower that becomes leader then starts from a current one).
    let hws = if from_follower {
        high_watermarks(broker, &req)
    } else {
        Vec::new()
    };
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0).max(1);
    loop {
        // Register for wake-ups before looking, so an append in between is not missed.
        let notified = broker.data_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let most = usize::try_from(req.max_bytes.max(0))
            .unwrap_or(0)
            .min(usize::try_from(broker.settings.fetch_max_bytes).unwrap_or(usize::MAX))
            // Room for the one batch a first partition may exceed the limits by.
            .saturating_add(usize::try_from(broker.settings.message_max_bytes).unwrap_or(0))
            .min(usize::try_from(broker.settings.queued_max_request_bytes).unwrap_or(usize::MAX));
        let held = Arc::clone(&broker.memory)
            .acquire_many_owned(u32::try_from(most).unwrap_or(u32::MAX))
            .await
            .ok();
        let (resp, bytes) = collect(broker, &req);
        let has_error = resp
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| p.error_code != 0);
        let hw_moved = from_follower && high_watermarks(broker, &req) != hws;
        if bytes >= min_bytes || has_error || hw_moved || Instant::now() >= deadline {
            if bytes > 0 {
                count_bytes_out(broker, &resp, from_follower);
            }
            return (resp, held);
        }
        // Not enough yet: release the memory while waiting.
        drop((resp, held));
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
