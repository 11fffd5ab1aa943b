//! The coordinators' own logs (`__consumer_offsets`, `__transaction_state`):
//! records appended by the partition's leader and acknowledged once every
//! in-sync replica has them (acks=all), so an answer given to a client
//! survives losing this broker; and replayed, oldest first, by a broker
//! that becomes the partition's leader.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kfk_log::TopicPartition;
use kfk_wire::{BatchOptions, BatchSummary, NewRecord, Record, encode_batch};

use crate::broker::Broker;
use crate::error::ApiError;
use crate::new_topic::NewTopic;

/// One record of a coordinator's log to append.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Vec<u8>,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
}

/// Appends `entries` as one batch (with `options`' producer fields) to `tp`,
/// which this broker must lead, and waits until every in-sync replica has
/// it; with `min_isr`, only while the ISR is at least that big.
///
/// # Errors
/// NOT_COORDINATOR when this broker no longer leads the partition,
/// REQUEST_TIMED_OUT or a storage error otherwise.
pub async fn append(
    broker: &Broker,
    tp: &TopicPartition,
    entries: Vec<Entry>,
    options: &BatchOptions,
    min_isr: Option<i32>,
    timeout: Duration,
) -> Result<(), ApiError> {
    if entries.is_empty() {
        return Ok(());
    }
    let part = broker.partition(tp).ok_or(ResponseError::NotCoordinator)?;
    part.check_leader(-1)
        .map_err(|_| ApiError::from(ResponseError::NotCoordinator))?;
    let now = kfk_log::now_ms();
    let records: Vec<NewRecord> = entries
        .into_iter()
        .map(|e| NewRecord {
            key: Some(Bytes::from(e.key)),
            value: e.value.map(Bytes::from),
            timestamp: now,
            headers: Vec::new(),
        })
        .collect();
    let batch = encode_batch(&records, options)
        .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
    let appended = part.append_as_leader(&batch, min_isr).map_err(|e| {
        if e.error == ResponseError::NotLeaderOrFollower {
            ResponseError::NotCoordinator.into()
        } else {
            e
        }
    })?;
    broker.data_arrived.notify_waiters();
    part.wait_committed(
        appended.end_offset,
        appended.leader_epoch,
        tokio::time::Instant::now() + timeout,
    )
    .await
    .map_err(|e| match e {
        ResponseError::NotLeaderOrFollower => ResponseError::NotCoordinator.into(),
        other => ApiError::from(other),
    })
}

/// Reads every record of `tp` from its log start, oldest first, with the
/// header of the batch it is in (control batches included: a
/// transaction's marker is one).
///
/// # Errors
/// NOT_COORDINATOR when the partition is not hosted here, storage errors,
/// a batch that does not decode.
pub fn replay(
    broker: &Broker,
    tp: &TopicPartition,
    mut f: impl FnMut(&BatchSummary, Record),
) -> Result<(), ApiError> {
    let part = broker.partition(tp).ok_or(ResponseError::NotCoordinator)?;
    let mut offset = part.log().log_start_offset();
    let end = part.log().log_end_offset();
    while offset < end {
        let read = part
            .log()
            .read(offset, 1 << 20)
            .map_err(|e| ApiError::new(ResponseError::KafkaStorageError, e.to_string()))?;
        if read.records.is_empty() {
            break;
        }
        let mut next = offset;
        let mut pos = 0;
        while pos < read.records.len() {
            let batch = read.records.slice(pos..);
            let header = kfk_wire::BatchHeader::parse(&batch)
                .map_err(|e| ApiError::new(ResponseError::CorruptMessage, e.to_string()))?;
            let size = header.size();
            let summary = header.summary();
            // A cleaned batch may end in a hole, or hold no records at all:
            // the next read starts after its last offset, not its last record.
            next = next.max(header.last_offset() + 1);
            let from = offset;
            // Read with kfk-wire's bounded decoding, like every batch that
            // reaches the broker.
            kfk_wire::for_each_record(&batch.slice(..size.min(batch.len())), |r| {
                if r.offset >= from {
                    f(&summary, r);
                }
            })
            .map_err(|e| ApiError::new(ResponseError::CorruptMessage, e.to_string()))?;
            pos += size.max(1);
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(())
}

/// The partitions of the internal topic `t` describes, creating it on
/// first use (a coordinator is looked for before anything is written).
///
/// # Errors
/// COORDINATOR_NOT_AVAILABLE when it cannot be created now.
pub async fn ensure_topic(broker: &Broker, t: NewTopic) -> Result<i32, ApiError> {
    let name = t.name.clone();
    let count =
        |b: &Broker| b.with_image(|i| i.topics.get(&name).map(|t| t.partitions.len() as i32));
    if let Some(n) = count(broker) {
        return Ok(n);
    }
    match broker.create_topic(t, false).await {
        Ok(meta) => {
            tracing::info!(partitions = meta.partitions.len(), "created {name}");
            Ok(meta.partitions.len() as i32)
        }
        Err(e) if e.error == ResponseError::TopicAlreadyExists => Ok(count(broker).unwrap_or(1)),
        Err(e) => Err(ApiError::new(
            ResponseError::CoordinatorNotAvailable,
            format!("cannot create {name}: {}", e.message.unwrap_or_default()),
        )),
    }
}

/// The broker leading partition `p` of `topic`, as a client on `listener`
/// reaches it: (node id, host, port).
///
/// # Errors
/// COORDINATOR_NOT_AVAILABLE while the partition has no live leader.
pub fn leader_endpoint(
    broker: &Broker,
    topic: &str,
    p: i32,
    listener: &str,
) -> Result<(i32, String, i32), ApiError> {
    broker
        .with_image(|i| {
            let leader = i.topics.get(topic)?.partitions.get(p as usize)?.leader;
            let b = i.brokers.get(&leader).filter(|b| !b.fenced)?;
            let (host, port) = b.endpoint(listener)?;
            Some((leader, host, port))
        })
        .ok_or_else(|| {
            ApiError::new(
                ResponseError::CoordinatorNotAvailable,
                format!("partition {p} of {topic} has no leader right now"),
            )
        })
}
