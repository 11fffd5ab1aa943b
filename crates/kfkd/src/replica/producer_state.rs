//! Per-partition idempotent producer state (KIP-98): for each producer id, its
//! epoch and the sequence ranges of its last five batches.
//!
//! A retried batch that was already written is recognised and answered with its
//! original offset instead of being written twice; a batch that skips sequence
//! numbers is refused with OUT_OF_ORDER_SEQUENCE_NUMBER so the client can retry
//! in order. A producer the partition has no state for (new, or expired with old
//! segments) may start at any sequence, as in Kafka since KIP-360.
//!
//! Transactions (KIP-98): a producer's first transactional batch opens its
//! transaction at that offset and its COMMIT/ABORT marker closes it. The
//! first offset of the oldest transaction not yet closed by a replicated
//! marker bounds the last stable offset, below which read_committed
//! consumers read.

use std::collections::{BTreeMap, HashMap, VecDeque};

use kfk_wire::BatchSummary;

/// Kafka keeps the last five batches per producer: clients have at most five
/// requests in flight per partition with idempotence.
const CACHED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
    last_offset: i64,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
    /// The first offset of the producer's open transaction here.
    txn_first: Option<i64>,
    /// The epoch of the coordinator whose marker came last: an older
    /// coordinator's markers are refused.
    coordinator_epoch: i32,
    /// The largest timestamp of its last batch (DescribeProducers shows it).
    last_timestamp: i64,
}

/// A producer as DescribeProducers shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerInfo {
    pub producer_id: i64,
    pub epoch: i16,
    /// -1 when it wrote no idempotent batch (a marker only).
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// -1 outside a transaction.
    pub txn_start_offset: i64,
}

/// A transaction a marker closed, as the aborted-transactions index takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    /// Its first record here (the marker's own offset when it wrote none).
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub aborted: bool,
}

/// What to do with an incoming idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data in order: append it.
    Append,
    /// Already written at `base_offset`: answer success without writing.
    Duplicate { base_offset: i64 },
}

/// Why an idempotent batch is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceError {
    /// Sequence gap or reordering (OUT_OF_ORDER_SEQUENCE_NUMBER).
    OutOfOrder { expected: i32, got: i32 },
    /// An epoch older than the producer's current one (INVALID_PRODUCER_EPOCH).
    FencedEpoch { current: i16, got: i16 },
}

/// Idempotence and transaction state of one partition.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// Transactions with records in the log, by first offset: the producer,
    /// and the offset of the marker once one closed it (kept until the high
    /// watermark passes the marker, so a marker a new leader may not have
    /// does not make records look stable too early).
    open_txns: BTreeMap<i64, (i64, Option<i64>)>,
}

/// Why a transaction marker is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerError {
    /// The producer's epoch here is newer (INVALID_PRODUCER_EPOCH).
    FencedEpoch { current: i16, got: i16 },
    /// A newer coordinator wrote markers already (TRANSACTION_COORDINATOR_FENCED).
    StaleCoordinator { current: i32, got: i32 },
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX { 0 } else { seq + 1 }
}

impl ProducerStates {
    /// Whether `batch` is idempotent at all (producer id and sequence set).
    pub fn is_idempotent(batch: &BatchSummary) -> bool {
        batch.producer_id >= 0 && batch.base_sequence >= 0
    }

    /// Decides what to do with an idempotent batch.
    ///
    /// # Errors
    /// [`SequenceError`] when the batch must be refused.
    pub fn check(&self, batch: &BatchSummary) -> Result<SequenceCheck, SequenceError> {
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        let first = batch.base_sequence;
        if batch.producer_epoch < entry.epoch {
            return Err(SequenceError::FencedEpoch {
                current: entry.epoch,
                got: batch.producer_epoch,
            });
        }
        if batch.producer_epoch > entry.epoch {
            // A bumped epoch restarts the sequence.
            return if first == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(SequenceError::OutOfOrder {
                    expected: 0,
                    got: first,
                })
            };
        }
        let last = batch.last_sequence();
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first && b.last_seq == last)
        {
            return Ok(SequenceCheck::Duplicate {
                base_offset: dup.base_offset,
            });
        }
        match entry.batches.back() {
            Some(prev) if next_seq(prev.last_seq) != first => Err(SequenceError::OutOfOrder {
                expected: next_seq(prev.last_seq),
                got: first,
            }),
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Whether a marker from `producer_id` at `epoch`, written by the
    /// coordinator in `coordinator_epoch`, may be appended.
    ///
    /// # Errors
    /// [`MarkerError`] when it must be refused.
    pub fn check_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), MarkerError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if epoch < entry.epoch {
            return Err(MarkerError::FencedEpoch {
                current: entry.epoch,
                got: epoch,
            });
        }
        if coordinator_epoch < entry.coordinator_epoch {
            return Err(MarkerError::StaleCoordinator {
                current: entry.coordinator_epoch,
                got: coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Records a batch as written (with its assigned offsets). A marker
    /// (`marker` = `Some(aborted)`) closes its producer's transaction,
    /// which is returned.
    pub fn record(&mut self, batch: &BatchSummary, marker: Option<bool>) -> Option<CompletedTxn> {
        if batch.producer_id < 0 {
            return None;
        }
        let entry = self.producers.entry(batch.producer_id).or_default();
        entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp);
        if batch.is_control() {
            return self.close_txn(batch, marker?);
        }
        if batch.is_transactional() {
            let entry = self.producers.entry(batch.producer_id).or_default();
            if entry.txn_first.is_none() {
                entry.txn_first = Some(batch.base_offset);
                self.open_txns
                    .insert(batch.base_offset, (batch.producer_id, None));
            }
        }
        self.record_sequence(batch);
        None
    }

    fn close_txn(&mut self, batch: &BatchSummary, aborted: bool) -> Option<CompletedTxn> {
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.producer_epoch > entry.epoch {
            // A marker of a bumped epoch (a fenced producer's transaction
            // aborted): the old epoch's sequences are done.
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        let first = match entry.txn_first.take() {
            Some(first) => {
                if let Some(open) = self.open_txns.get_mut(&first) {
                    open.1 = Some(batch.base_offset);
                }
                first
            }
            None => batch.base_offset,
        };
        Some(CompletedTxn {
            producer_id: batch.producer_id,
            first_offset: first,
            last_offset: batch.base_offset,
            aborted,
        })
    }

    /// Notes the coordinator epoch of a marker just written.
    pub fn note_coordinator(&mut self, producer_id: i64, coordinator_epoch: i32) {
        let entry = self.producers.entry(producer_id).or_default();
        entry.coordinator_epoch = entry.coordinator_epoch.max(coordinator_epoch);
    }

    /// Whether any transaction has records here without a replicated marker.
    pub fn has_transactions(&self) -> bool {
        !self.open_txns.is_empty()
    }

    /// Whether `producer_id` has a transaction open here.
    pub fn in_transaction(&self, producer_id: i64) -> bool {
        self.producers
            .get(&producer_id)
            .is_some_and(|e| e.txn_first.is_some())
    }

    /// The last stable offset under high watermark `hw`: the first offset
    /// of the oldest transaction whose marker is not yet below `hw`, or
    /// `hw` itself. Transactions closed below it are forgotten.
    pub fn last_stable_offset(&mut self, hw: i64) -> i64 {
        while let Some((&first, &(_, marker))) = self.open_txns.first_key_value() {
            match marker {
                Some(m) if m < hw => {
                    self.open_txns.remove(&first);
                }
                _ => return first.min(hw),
            }
        }
        hw
    }

    /// The last stable offset as an aborted transaction's index entry
    /// records it (Kafka's): the first offset of the oldest other open
    /// transaction, or the offset after the marker when none is open. A
    /// read_committed search of the index stops at an entry whose value
    /// reaches its range, so it must not be higher than this.
    pub fn stable_after(&self, done: &CompletedTxn) -> i64 {
        self.open_txns
            .iter()
            .find(|(_, (pid, marker))| marker.is_none() && *pid != done.producer_id)
            .map_or(done.last_offset + 1, |(first, _)| *first)
    }

    /// The open transactions (producer id, first offset), oldest first:
    /// what DescribeProducers and hanging-transaction searches show.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.open_txns
            .iter()
            .filter(|(_, (_, marker))| marker.is_none())
            .map(|(first, (pid, _))| (*pid, *first))
            .collect()
    }

    /// Every producer with state here.
    pub fn describe(&self) -> Vec<ProducerInfo> {
        let mut out: Vec<ProducerInfo> = self
            .producers
            .iter()
            .map(|(pid, e)| ProducerInfo {
                producer_id: *pid,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                txn_start_offset: e.txn_first.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    fn record_sequence(&mut self, batch: &BatchSummary) {
        if !Self::is_idempotent(batch) {
            return;
        }
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.producer_epoch != entry.epoch {
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == CACHED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: batch.base_sequence,
            last_seq: batch.last_sequence(),
            base_offset: batch.base_offset,
            last_offset: batch.last_offset,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchSummary {
        BatchSummary {
            base_offset: base,
            last_offset: base + i64::from(count) - 1,
            size: 100,
            max_timestamp: 0,
            partition_leader_epoch: 0,
            record_count: count,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            attributes: 0,
        }
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut s = ProducerStates::default();
        let b0 = batch(7, 0, 0, 3, 0);
        assert_eq!(s.check(&b0), Ok(SequenceCheck::Append));
        s.record(&b0, None);
        let b1 = batch(7, 0, 3, 2, 3);
        assert_eq!(s.check(&b1), Ok(SequenceCheck::Append));
        s.record(&b1, None);
        // The same batch again (offsets not yet assigned on a retry).
        assert_eq!(
            s.check(&batch(7, 0, 0, 3, 0)),
            Ok(SequenceCheck::Duplicate { base_offset: 0 })
        );
        assert_eq!(
            s.check(&batch(7, 0, 3, 2, 0)),
            Ok(SequenceCheck::Duplicate { base_offset: 3 })
        );
    }

    #[test]
    fn gaps_are_out_of_order_and_old_epochs_fenced() {
        let mut s = ProducerStates::default();
        s.record(&batch(7, 1, 0, 3, 0), None);
        assert_eq!(
            s.check(&batch(7, 1, 5, 1, 0)),
            Err(SequenceError::OutOfOrder {
                expected: 3,
                got: 5
            })
        );
        assert_eq!(
            s.check(&batch(7, 0, 3, 1, 0)),
            Err(SequenceError::FencedEpoch { current: 1, got: 0 })
        );
        assert_eq!(s.check(&batch(7, 2, 0, 1, 0)), Ok(SequenceCheck::Append));
        assert!(s.check(&batch(7, 2, 4, 1, 0)).is_err());
        // Unknown producers may start anywhere.
        assert_eq!(s.check(&batch(8, 0, 42, 1, 0)), Ok(SequenceCheck::Append));
    }

    fn txn(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchSummary {
        BatchSummary {
            attributes: 0x10,
            ..batch(pid, epoch, seq, count, base)
        }
    }

    fn marker(pid: i64, epoch: i16, at: i64) -> BatchSummary {
        BatchSummary {
            attributes: 0x30,
            base_sequence: -1,
            ..batch(pid, epoch, 0, 1, at)
        }
    }

    #[test]
    fn open_transactions_hold_the_last_stable_offset_until_their_marker_replicates() {
        let mut s = ProducerStates::default();
        s.record(&txn(1, 0, 0, 3, 0), None);
        s.record(&batch(2, 0, 0, 2, 3), None);
        s.record(&txn(3, 0, 0, 1, 5), None);
        s.record(&txn(1, 0, 3, 1, 6), None);
        assert!(s.in_transaction(1) && !s.in_transaction(2));
        assert_eq!(s.last_stable_offset(7), 0);
        assert_eq!(s.open_transactions(), vec![(1, 0), (3, 5)]);
        let done = s.record(&marker(1, 0, 7), Some(true)).unwrap();
        assert_eq!(
            done,
            CompletedTxn {
                producer_id: 1,
                first_offset: 0,
                last_offset: 7,
                aborted: true
            }
        );
        assert!(!s.in_transaction(1));
        // Its index entry's stable offset: producer 3's open transaction.
        assert_eq!(s.stable_after(&done), 5);
        // The marker is not replicated yet: the transaction still bounds it.
        assert_eq!(s.last_stable_offset(7), 0);
        assert_eq!(s.last_stable_offset(8), 5);
        s.record(&marker(3, 0, 8), Some(false));
        assert_eq!(s.last_stable_offset(9), 9);
        // A marker for a transaction that wrote nothing here spans itself.
        let empty = s.record(&marker(4, 0, 9), Some(true)).unwrap();
        assert_eq!((empty.first_offset, empty.last_offset), (9, 9));
        assert_eq!(s.last_stable_offset(10), 10);
    }

    #[test]
    fn markers_fence_older_epochs_and_coordinators() {
        let mut s = ProducerStates::default();
        s.record(&txn(1, 0, 0, 2, 0), None);
        // The coordinator fenced epoch 0 and aborts with epoch 1.
        assert_eq!(s.check_marker(1, 1, 5), Ok(()));
        s.record(&marker(1, 1, 2), Some(true));
        s.note_coordinator(1, 5);
        assert_eq!(
            s.check(&txn(1, 0, 2, 1, 3)),
            Err(SequenceError::FencedEpoch { current: 1, got: 0 })
        );
        assert_eq!(
            s.check_marker(1, 0, 5),
            Err(MarkerError::FencedEpoch { current: 1, got: 0 })
        );
        assert_eq!(
            s.check_marker(1, 1, 4),
            Err(MarkerError::StaleCoordinator { current: 5, got: 4 })
        );
        // The next epoch starts its sequences at 0.
        assert_eq!(s.check(&txn(1, 2, 0, 1, 3)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut s = ProducerStates::default();
        s.record(&batch(1, 0, i32::MAX - 1, 2, 0), None);
        assert_eq!(s.check(&batch(1, 0, 0, 1, 2)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..6 {
            s.record(&batch(1, 0, i, 1, i64::from(i)), None);
        }
        assert!(s.check(&batch(1, 0, 0, 1, 0)).is_err());
        assert_eq!(
            s.check(&batch(1, 0, 1, 1, 0)),
            Ok(SequenceCheck::Duplicate { base_offset: 1 })
        );
    }
}
