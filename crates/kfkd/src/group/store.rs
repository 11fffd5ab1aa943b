//! Reading and writing a coordinator's `__consumer_offsets` partition: the
//! records ([`kfk_group::schema`]) go through this broker's log with acks=all,
//! and come back when a new leader replays the partition.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kfk_log::TopicPartition;
use kfk_wire::{BatchOptions, NewRecord, encode_batch};

use kfk_group::schema::{Entry, Loaded, OFFSETS_TOPIC, decode};

use crate::broker::Broker;
use crate::error::ApiError;

/// Appends `entries` as one batch to the offsets partition this broker
/// leads and waits until every in-sync replica has it (acks=all), so a
/// commit acknowledged to a client survives losing this broker.
///
/// # Errors
/// NOT_COORDINATOR when this broker no longer leads the partition,
/// REQUEST_TIMED_OUT or a storage error otherwise.
pub async fn append(
    broker: &Broker,
    partition: i32,
    entries: &[Entry],
    timeout: Duration,
) -> Result<(), ApiError> {
    if entries.is_empty() {
        return Ok(());
    }
    let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
    let part = broker.partition(&tp).ok_or(ResponseError::NotCoordinator)?;
    part.check_leader(-1)
        .map_err(|_| ApiError::from(ResponseError::NotCoordinator))?;
    let now = kfk_log::now_ms();
    let records: Vec<NewRecord> = entries
        .iter()
        .map(|e| NewRecord {
            key: serde_json::to_vec(&e.key).ok().map(Bytes::from),
            value: e.value.clone().map(Bytes::from),
            timestamp: now,
            headers: Vec::new(),
        })
        .collect();
    let batch = encode_batch(&records, &BatchOptions::default())
        .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
    let appended = part.append_as_leader(&batch, None).map_err(|e| {
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

/// Reads every record of an offsets partition, oldest first. Undecodable
/// records are skipped with a warning (they cannot come from kfk).
///
/// # Errors
/// Storage errors.
pub fn load(broker: &Broker, partition: i32) -> Result<Vec<Loaded>, ApiError> {
    let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
    let part = broker.partition(&tp).ok_or(ResponseError::NotCoordinator)?;
    let mut out = Vec::new();
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
            // A cleaned batch may end in a hole, or hold no records at all:
            // the next read starts after its last offset, not its last record.
            next = next.max(header.last_offset() + 1);
            let from = offset;
            // Group records are read with kfk-wire's bounded decoding, like
            // every batch that reaches the broker.
            kfk_wire::for_each_record(&batch.slice(..size.min(batch.len())), |r| {
                if r.offset < from {
                    return;
                }
                match decode(r.key.as_deref(), r.value.as_deref()) {
                    Some(l) => out.push(l),
                    None => {
                        tracing::warn!(partition = %tp, offset = r.offset, "skipping an undecodable group record")
                    }
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
    Ok(out)
}
