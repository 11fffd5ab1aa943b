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
use kfk_log::{FileRange, LogError, TopicPartition};
use kfk_wire::spliced::Markers;
use tokio::time::Instant;

use crate::broker::Broker;

/// Upper bound on a client's `max_wait_ms`, so a bad value cannot park a
/// connection for days.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

/// Records a fetch sends from their segment files (`sendfile`) instead of
/// reading them: the marks standing in for them in the response, and the
/// file ranges, in mark-key order.
#[derive(Debug, Default)]
pub struct FileRecords {
    pub markers: Markers,
    pub files: Vec<FileRange>,
}

/// A partition's records: read, or located in a segment file.
enum Got {
    Read(Bytes),
    Located(Option<FileRange>),
}

impl Got {
    fn len(&self) -> usize {
        match self {
            Got::Read(b) => b.len(),
            Got::Located(r) => r.as_ref().map_or(0, |r| r.len),
        }
    }

    /// The offset after the last record sent, `None` when nothing is.
    fn upper(&self) -> Option<i64> {
        match self {
            Got::Read(b) => kfk_wire::Batches::new(b)
                .flatten()
                .last()
                .map(|b| b.summary().next_offset()),
            Got::Located(r) => r.as_ref().map(|r| r.last_offset + 1),
        }
    }
}

/// A response built from what the logs hold now.
struct Collected {
    resp: FetchResponse,
    /// Record bytes it carries, in all and per topic (in response order).
    bytes: usize,
    per_topic: Vec<usize>,
    /// Where the records are when they are sent from their files.
    files: Option<FileRecords>,
}

/// Builds the response from what the logs hold now; with `from_files`,
/// leaves the records in their segment files, marked in the response.
fn collect(broker: &Broker, req: &FetchRequest, from_files: bool) -> Collected {
    let from_follower = req.replica_id.0 >= 0;
    let read_committed = req.isolation_level == 1;
    let mut files = from_files.then(FileRecords::default);
    // The broker's fetch.max.bytes caps what any client asks for.
    let mut budget = usize::try_from(req.max_bytes)
        .unwrap_or(0)
        .min(usize::try_from(broker.settings.fetch_max_bytes).unwrap_or(usize::MAX));
    let mut total = 0usize;
    let mut per_topic = Vec::with_capacity(req.topics.len());
    let mut topics = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let name = topic.topic.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        let mut topic_bytes = 0;
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
                    // Followers copy everything; consumers see committed
                    // records only, and read_committed ones stop where
                    // transactions are still undecided.
                    let bound = match (from_follower, read_committed) {
                        (true, _) => i64::MAX,
                        (false, true) => lso,
                        (false, false) => hw,
                    };
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    let got = if files.is_some() {
                        part.log()
                            .locate_below(p.fetch_offset, limit, bound)
                            .map(|l| (Got::Located(l.range), l.log_start_offset))
                    } else {
                        part.log()
                            .read_below(p.fetch_offset, limit, bound)
                            .map(|r| (Got::Read(r.records), r.log_start_offset))
                    };
                    match got {
                        Ok((got, log_start_offset)) => {
                            // Only the first partition with data may exceed the
                            // limits (by one batch), so a large batch never blocks
                            // a consumer; later ones wait for the next fetch.
                            let got = if total > 0 && got.len() > limit {
                                Got::Read(Bytes::new())
                            } else {
                                got
                            };
                            let len = got.len();
                            total += len;
                            topic_bytes += len;
                            budget = budget.saturating_sub(len);
                            if read_committed && !from_follower {
                                data = data.with_aborted_transactions(Some(aborted_in(
                                    part.log(),
                                    p.fetch_offset,
                                    got.upper(),
                                )));
                            }
                            let records = match (got, files.as_mut()) {
                                (Got::Read(b), _) => b,
                                (Got::Located(Some(range)), Some(f)) => {
                                    let key = f.files.len();
                                    f.files.push(range);
                                    f.markers.mark(key, len)
                                }
                                (Got::Located(_), _) => Bytes::new(),
                            };
                            data = data
                                .with_high_watermark(hw)
                                .with_last_stable_offset(lso)
                                .with_log_start_offset(log_start_offset)
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
        per_topic.push(topic_bytes);
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    Collected {
        resp: FetchResponse::default()
            .with_responses(topics)
            .with_session_id(0),
        bytes: total,
        per_topic,
        files,
    }
}

/// The aborted transactions overlapping the batches a read_committed fetch
/// returns (up to `upper`), which its consumer drops.
fn aborted_in(
    log: &kfk_log::Log,
    fetch_offset: i64,
    upper: Option<i64>,
) -> Vec<AbortedTransaction> {
    let Some(upper) = upper else {
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
fn count_bytes_out(broker: &Broker, req: &FetchRequest, per_topic: &[usize], from_follower: bool) {
    for (t, bytes) in req.topics.iter().zip(per_topic) {
        if *bytes > 0 {
            broker
                .meters
                .fetched(t.topic.0.as_str(), *bytes as u64, from_follower);
        }
    }
}

/// A fetch's answer: the response, the record bytes it carries, the records
/// left in their files (with `from_files`), and the request memory held.
pub struct Answer {
    pub resp: FetchResponse,
    pub bytes: usize,
    pub files: Option<FileRecords>,
    pub held: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Answers a fetch, long-polling without holding memory; while the records
/// are read and until the response is written it holds as much of the
/// broker's request memory as the response may take (`fetch.max.bytes` at
/// most), which it returns with the response.
///
/// With `from_files` (a plaintext connection), records stay in their segment
/// files, marked in the response, to be sent from the page cache.
pub async fn handle(broker: &Broker, req: FetchRequest, from_files: bool) -> Answer {
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
        let c = collect(broker, &req, from_files);
        let has_error = c
            .resp
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| p.error_code != 0);
        let hw_moved = from_follower && high_watermarks(broker, &req) != hws;
        if c.bytes >= min_bytes || has_error || hw_moved || Instant::now() >= deadline {
            if c.bytes > 0 {
                count_bytes_out(broker, &req, &c.per_topic, from_follower);
            }
            return Answer {
                resp: c.resp,
                bytes: c.bytes,
                files: c.files,
                held,
            };
        }
        // Not enough yet: release the memory while waiting.
        drop((c, held));
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
