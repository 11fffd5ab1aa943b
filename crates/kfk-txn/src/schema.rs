//! Transaction metadata as records of the internal topic
//! `__transaction_state` (compacted): one record per transactional id, the
//! latest being its current metadata, a null value (tombstone) once the id
//! is dead. A coordinator taking over a partition replays it.
//!
//! JSON, as the group coordinator's records are (kfk's own format: only kfk
//! coordinators read this topic): `{"transactional_id":ID}` -> the fields
//! of [`TxnMetadata`], the state by Kafka's id.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::metadata::TxnMetadata;
use crate::state::TxnState;

/// The internal topic's name, as in Kafka.
pub const TRANSACTION_TOPIC: &str = "__transaction_state";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    transactional_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Value {
    producer_id: i64,
    last_producer_id: i64,
    producer_epoch: i16,
    last_producer_epoch: i16,
    timeout_ms: i32,
    state: i8,
    partitions: Vec<(String, i32)>,
    txn_start_ms: i64,
    last_update_ms: i64,
}

/// The record key of `transactional_id`.
pub fn key(transactional_id: &str) -> Vec<u8> {
    serde_json::to_vec(&Key {
        transactional_id: transactional_id.to_string(),
    })
    .unwrap_or_default()
}

/// The record value of `m` (a tombstone, `None`, once it is dead).
pub fn value(m: &TxnMetadata) -> Option<Vec<u8>> {
    if m.state == TxnState::Dead {
        return None;
    }
    serde_json::to_vec(&Value {
        producer_id: m.producer_id,
        last_producer_id: m.last_producer_id,
        producer_epoch: m.producer_epoch,
        last_producer_epoch: m.last_producer_epoch,
        timeout_ms: m.timeout_ms,
        state: m.state.id(),
        partitions: m.partitions.iter().cloned().collect(),
        txn_start_ms: m.txn_start_ms,
        last_update_ms: m.last_update_ms,
    })
    .ok()
}

/// One record read back: the id, and its metadata (`None` for a
/// tombstone). `None` for a record that is not kfk's.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Option<(String, Option<TxnMetadata>)> {
    let Key { transactional_id } = serde_json::from_slice(key).ok()?;
    let Some(value) = value else {
        return Some((transactional_id, None));
    };
    let v: Value = serde_json::from_slice(value).ok()?;
    let metadata = TxnMetadata {
        transactional_id: transactional_id.clone(),
        producer_id: v.producer_id,
        last_producer_id: v.last_producer_id,
        producer_epoch: v.producer_epoch,
        last_producer_epoch: v.last_producer_epoch,
        timeout_ms: v.timeout_ms,
        state: TxnState::from_id(v.state)?,
        partitions: v.partitions.into_iter().collect::<BTreeSet<_>>(),
        txn_start_ms: v.txn_start_ms,
        last_update_ms: v.last_update_ms,
    };
    Some((transactional_id, Some(metadata)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_dead_ids_are_tombstones() {
        let mut m = TxnMetadata::new("payments", 42, 30_000, 1);
        m.init_producer(30_000, 2, None, || unreachable!()).unwrap();
        m.add_partitions(42, 0, [("ledger".to_string(), 3)], 3)
            .unwrap();
        let k = key("payments");
        let v = value(&m).unwrap();
        assert_eq!(
            decode(&k, Some(&v)),
            Some(("payments".into(), Some(m.clone())))
        );
        m.state = TxnState::Dead;
        assert_eq!(value(&m), None);
        assert_eq!(decode(&k, None), Some(("payments".into(), None)));
        assert_eq!(decode(b"not json", None), None);
        assert_eq!(decode(&k, Some(br#"{"producer_id":1}"#)), None);
    }
}
