//! Per-partition idempotent producer state (KIP-98): for each producer id, its
//! epoch and the sequence ranges of its last five batches.
//!
//! A retried batch that was already written is recognised and answered with its
//! original offset instead of being written twice; a batch that skips sequence
//! numbers is refused with OUT_OF_ORDER_SEQUENCE_NUMBER so the client can retry
//! in order. A producer the partition has no state for (new, or expired with old
//! segments) may start at any sequence, as in Kafka since KIP-360.

use std::collections::{HashMap, VecDeque};

use kfk_wire::BatchSummary;

/// Kafka keeps the last five batches per producer: clients have at most five
/// requests in flight per partition with idempotence.
const CACHED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
    last_offset: i64,
}

#[derive(Debug, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
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

/// Idempotence state of one partition.
#[derive(Debug, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
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

    /// Records a batch as written (with its assigned offsets).
    pub fn record(&mut self, batch: &BatchSummary) {
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

    /// Forgets batches at or beyond `offset` (after a log truncation).
    pub fn truncate(&mut self, offset: i64) {
        for entry in self.producers.values_mut() {
            entry.batches.retain(|b| b.last_offset < offset);
        }
        self.producers.retain(|_, e| !e.batches.is_empty());
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
        s.record(&b0);
        let b1 = batch(7, 0, 3, 2, 3);
        assert_eq!(s.check(&b1), Ok(SequenceCheck::Append));
        s.record(&b1);
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
        s.record(&batch(7, 1, 0, 3, 0));
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

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut s = ProducerStates::default();
        s.record(&batch(1, 0, i32::MAX - 1, 2, 0));
        assert_eq!(s.check(&batch(1, 0, 0, 1, 2)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..6 {
            s.record(&batch(1, 0, i, 1, i64::from(i)));
        }
        assert!(s.check(&batch(1, 0, 0, 1, 0)).is_err());
        assert_eq!(
            s.check(&batch(1, 0, 1, 1, 0)),
            Ok(SequenceCheck::Duplicate { base_offset: 1 })
        );
    }
}
