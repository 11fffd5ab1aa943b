//! Reading and writing a coordinator's `__consumer_offsets` partition: the
//! records ([`kfk_group::schema`]) go through this broker's log with acks=all,
//! and come back when a new leader replays the partition.

use std::collections::HashMap;
use std::time::Duration;

use kfk_log::TopicPartition;
use kfk_wire::BatchOptions;

use kfk_group::schema::{Entry, Loaded, OFFSETS_TOPIC, decode};

use crate::broker::Broker;
use crate::error::ApiError;
use crate::internal_log;

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
    append_with(
        broker,
        partition,
        entries,
        &BatchOptions::default(),
        timeout,
    )
    .await
}

/// [`append`] as a batch with `options`' producer fields: offsets committed
/// inside a transaction (TxnOffsetCommit) are a transactional batch, which
/// that transaction's marker later makes count or not.
///
/// # Errors
/// As [`append`].
pub async fn append_with(
    broker: &Broker,
    partition: i32,
    entries: &[Entry],
    options: &BatchOptions,
    timeout: Duration,
) -> Result<(), ApiError> {
    let records = entries
        .iter()
        .map(|e| internal_log::Entry {
            key: serde_json::to_vec(&e.key).unwrap_or_default(),
            value: e.value.clone(),
        })
        .collect();
    internal_log::append(
        broker,
        &TopicPartition::new(OFFSETS_TOPIC, partition),
        records,
        options,
        None,
        timeout,
    )
    .await
}

/// An offsets partition read back: its records in the order they took
/// effect (a transaction's offsets where its COMMIT marker is; an aborted
/// transaction's nowhere), and the offsets of transactions with no marker
/// yet, by producer id.
#[derive(Debug, Default)]
pub struct Replayed {
    pub records: Vec<Loaded>,
    pub pending: HashMap<i64, Vec<Loaded>>,
}

/// Reads every record of an offsets partition, oldest first. Undecodable
/// records are skipped with a warning (they cannot come from kfk).
///
/// # Errors
/// Storage errors.
pub fn load(broker: &Broker, partition: i32) -> Result<Replayed, ApiError> {
    let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
    let mut out = Replayed::default();
    internal_log::replay(broker, &tp, |batch, r| {
        if batch.is_control() {
            let pending = out.pending.remove(&batch.producer_id).unwrap_or_default();
            let commit = r.key.as_deref().and_then(|k| {
                kfk_wire::control::ControlMarker::parse(k, r.value.as_deref()).ok()?
            });
            if commit.is_some_and(|m| m.control_type == kfk_wire::control::ControlType::Commit) {
                out.records.extend(pending);
            }
            return;
        }
        match decode(r.key.as_deref(), r.value.as_deref()) {
            Some(l) if batch.is_transactional() => {
                out.pending.entry(batch.producer_id).or_default().push(l)
            }
            Some(l) => out.records.push(l),
            None => {
                tracing::warn!(partition = %tp, offset = r.offset, "skipping an undecodable group record")
            }
        }
    })?;
    Ok(out)
}
