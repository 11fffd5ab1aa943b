//! One transactional id's metadata and the requests that move it: a
//! producer claiming the id (InitProducerId: a new epoch fences the
//! previous owner), adding partitions, ending the transaction, the markers
//! being written, and a transaction that outlived its timeout.

use std::collections::BTreeSet;

use crate::state::TxnState;

/// Why a request does not move the transaction; each is a Kafka error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// An older epoch of the producer that owns the id: a zombie.
    #[error("producer epoch {got} is older than the current epoch {current}")]
    ProducerFenced { got: i16, current: i16 },
    /// The producer id is not the one that owns the transactional id.
    #[error("producer id {got} does not own this transactional id (owned by {owner})")]
    InvalidProducerIdMapping { got: i64, owner: i64 },
    /// Markers for the last transaction are still being written: retry.
    #[error("the previous transaction is still completing ({0:?})")]
    ConcurrentTransactions(TxnState),
    /// The request does not fit where the transaction stands.
    #[error("cannot {action} a transaction in state {state:?}")]
    InvalidTxnState {
        action: &'static str,
        state: TxnState,
    },
}

/// What a transactional id's coordinator knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (-1 for none).
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump (-1 for none): a retried
    /// InitProducerId from it is answered as the bump was.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions of the ongoing transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the ongoing transaction began (-1 for none).
    pub txn_start_ms: i64,
    pub last_update_ms: i64,
}

/// The epoch past which an id gets a new producer id instead (Kafka keeps
/// `Short.MAX_VALUE` free for fencing).
const LAST_USABLE_EPOCH: i16 = i16::MAX - 1;

impl TxnMetadata {
    /// A transactional id seen for the first time, owned by `producer_id`
    /// before its first epoch.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            last_producer_id: -1,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            txn_start_ms: -1,
            last_update_ms: now_ms,
        }
    }

    fn transition(&mut self, to: TxnState, now_ms: i64) {
        debug_assert!(
            to.valid_previous().contains(&self.state),
            "{:?} -> {to:?}",
            self.state
        );
        self.state = to;
        self.last_update_ms = now_ms;
    }

    /// Checks that `(producer_id, epoch)` is the owner's current pair.
    fn check_owner(&self, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
        if producer_id != self.producer_id {
            return Err(TxnError::InvalidProducerIdMapping {
                got: producer_id,
                owner: self.producer_id,
            });
        }
        if epoch != self.producer_epoch {
            return Err(TxnError::ProducerFenced {
                got: epoch,
                current: self.producer_epoch,
            });
        }
        Ok(())
    }

    /// InitProducerId: the next epoch of the id, for a producer starting
    /// (or restarting) with it; every earlier epoch is fenced from then on.
    /// `expected` is the producer id and epoch a running producer asks to
    /// bump (KIP-360, after an abortable error): accepted when it is the
    /// current owner, answered as before when it retries a bump already
    /// made, fenced otherwise. An id whose epochs ran out gets
    /// `new_producer_id()` at epoch 0.
    ///
    /// # Errors
    /// CONCURRENT_TRANSACTIONS while a transaction is in flight (an ongoing
    /// one is fenced and aborted first by the coordinator,
    /// [`TxnMetadata::fence_and_abort`], and the producer retries);
    /// PRODUCER_FENCED for an `expected` pair that is neither.
    pub fn init_producer(
        &mut self,
        timeout_ms: i32,
        now_ms: i64,
        expected: Option<(i64, i16)>,
        new_producer_id: impl FnOnce() -> i64,
    ) -> Result<(i64, i16), TxnError> {
        if matches!(
            self.state,
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
        ) {
            return Err(TxnError::ConcurrentTransactions(self.state));
        }
        if let Some((pid, epoch)) = expected {
            let valid = self.producer_epoch == -1
                || pid == self.producer_id
                || (pid == self.last_producer_id && epoch >= LAST_USABLE_EPOCH);
            if !valid {
                // Kafka answers another producer's id as fenced here.
                return Err(TxnError::ProducerFenced {
                    got: epoch,
                    current: self.producer_epoch,
                });
            }
        }
        if self.state == TxnState::Ongoing {
            return Err(TxnError::ConcurrentTransactions(self.state));
        }
        if self.producer_epoch >= LAST_USABLE_EPOCH
            && expected.is_none_or(|(_, e)| e == self.producer_epoch)
        {
            self.last_producer_epoch = if expected.is_some() {
                self.producer_epoch
            } else {
                -1
            };
            self.last_producer_id = self.producer_id;
            self.producer_id = new_producer_id();
            self.producer_epoch = 0;
        } else {
            let (next, last) = match expected {
                None => (self.producer_epoch + 1, -1),
                Some((_, e)) if self.producer_epoch == -1 || e == self.producer_epoch => {
                    (self.producer_epoch + 1, self.producer_epoch)
                }
                // A retry of a bump already made: the same answer.
                Some((_, e)) if e == self.last_producer_epoch => {
                    (self.producer_epoch, self.last_producer_epoch)
                }
                Some((_, e)) => {
                    return Err(TxnError::ProducerFenced {
                        got: e,
                        current: self.producer_epoch,
                    });
                }
            };
            self.producer_epoch = next;
            self.last_producer_epoch = last;
        }
        self.timeout_ms = timeout_ms;
        self.partitions.clear();
        self.txn_start_ms = -1;
        self.transition(TxnState::Empty, now_ms);
        Ok((self.producer_id, self.producer_epoch))
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the transaction is ongoing and
    /// holds these partitions (a new one starts with the first).
    ///
    /// # Errors
    /// A fenced or foreign producer, or markers still being written.
    pub fn add_partitions(
        &mut self,
        producer_id: i64,
        epoch: i16,
        partitions: impl IntoIterator<Item = (String, i32)>,
        now_ms: i64,
    ) -> Result<(), TxnError> {
        self.check_owner(producer_id, epoch)?;
        match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(TxnError::ConcurrentTransactions(self.state));
            }
            TxnState::Dead => {
                return Err(TxnError::InvalidTxnState {
                    action: "add partitions to",
                    state: self.state,
                });
            }
            TxnState::Ongoing => {}
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                self.txn_start_ms = now_ms;
            }
        }
        self.partitions.extend(partitions);
        self.transition(TxnState::Ongoing, now_ms);
        Ok(())
    }

    /// EndTxn: commit or abort. True when the markers must be written now;
    /// false for a retry of an end already completed the same way.
    ///
    /// # Errors
    /// A fenced or foreign producer; CONCURRENT_TRANSACTIONS while the
    /// markers of an end are being written; INVALID_TXN_STATE for an end
    /// with nothing to end or contradicting the completed one.
    pub fn end(
        &mut self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> Result<bool, TxnError> {
        self.check_owner(producer_id, epoch)?;
        let action = if commit { "commit" } else { "abort" };
        match (self.state, commit) {
            (TxnState::Ongoing, true) => {
                self.transition(TxnState::PrepareCommit, now_ms);
                Ok(true)
            }
            (TxnState::Ongoing, false) => {
                self.transition(TxnState::PrepareAbort, now_ms);
                Ok(true)
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(false),
            (TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence, _) => {
                Err(TxnError::ConcurrentTransactions(self.state))
            }
            (state, _) => Err(TxnError::InvalidTxnState { action, state }),
        }
    }

    /// A transaction that outlived its timeout, or is in the way of a new
    /// producer: the epoch is bumped, so its producer is fenced, and the
    /// transaction moves to being aborted. False when none was ongoing.
    pub fn fence_and_abort(&mut self, now_ms: i64) -> bool {
        if self.state != TxnState::Ongoing {
            return false;
        }
        self.transition(TxnState::PrepareEpochFence, now_ms);
        self.producer_epoch = self.producer_epoch.saturating_add(1);
        // No retry of the fenced epoch's InitProducerId is honoured.
        self.last_producer_epoch = -1;
        self.transition(TxnState::PrepareAbort, now_ms);
        true
    }

    /// Every marker is written: the transaction is complete and holds no
    /// partitions any more. False in any state but a prepared one.
    pub fn complete(&mut self, now_ms: i64) -> bool {
        let done = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return false,
        };
        self.partitions.clear();
        self.txn_start_ms = -1;
        self.transition(done, now_ms);
        true
    }

    /// Whether an ongoing transaction has outlived its timeout.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.state == TxnState::Ongoing
            && now_ms.saturating_sub(self.txn_start_ms) > i64::from(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed() -> TxnMetadata {
        let mut m = TxnMetadata::new("orders-tx", 1000, 60_000, 0);
        assert_eq!(
            m.init_producer(60_000, 1, None, || unreachable!()).unwrap(),
            (1000, 0)
        );
        m
    }

    fn parts(names: &[(&str, i32)]) -> Vec<(String, i32)> {
        names.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    #[test]
    fn a_commit_walks_ongoing_prepare_complete() {
        let mut m = claimed();
        m.add_partitions(1000, 0, parts(&[("orders", 0)]), 10)
            .unwrap();
        m.add_partitions(1000, 0, parts(&[("orders", 1)]), 20)
            .unwrap();
        assert_eq!((m.state, m.txn_start_ms), (TxnState::Ongoing, 10));
        assert_eq!(m.partitions.len(), 2);
        assert!(m.end(1000, 0, true, 30).unwrap());
        assert_eq!(m.state, TxnState::PrepareCommit);
        // Markers are still being written: the next transaction waits.
        assert_eq!(
            m.add_partitions(1000, 0, parts(&[("orders", 2)]), 31),
            Err(TxnError::ConcurrentTransactions(TxnState::PrepareCommit))
        );
        assert!(m.complete(40));
        assert_eq!((m.state, m.partitions.len()), (TxnState::CompleteCommit, 0));
        // A retried EndTxn(commit) is answered as done; an abort is not.
        assert_eq!(m.end(1000, 0, true, 41), Ok(false));
        assert!(matches!(
            m.end(1000, 0, false, 42),
            Err(TxnError::InvalidTxnState { .. })
        ));
        // The next transaction starts from the completed one.
        m.add_partitions(1000, 0, parts(&[("orders", 2)]), 50)
            .unwrap();
        assert_eq!((m.state, m.txn_start_ms), (TxnState::Ongoing, 50));
    }

    #[test]
    fn a_new_epoch_fences_the_old_producer() {
        let mut m = claimed();
        m.add_partitions(1000, 0, parts(&[("orders", 0)]), 10)
            .unwrap();
        // A second instance with the same id: the ongoing transaction is
        // in the way, so the coordinator fences and aborts it first.
        assert_eq!(
            m.init_producer(60_000, 11, None, || unreachable!()),
            Err(TxnError::ConcurrentTransactions(TxnState::Ongoing))
        );
        assert!(m.fence_and_abort(12));
        assert_eq!((m.state, m.producer_epoch), (TxnState::PrepareAbort, 1));
        assert!(m.complete(13));
        assert_eq!(
            m.init_producer(60_000, 14, None, || unreachable!())
                .unwrap(),
            (1000, 2)
        );
        // The zombie's epoch 0 is refused from now on.
        assert_eq!(
            m.add_partitions(1000, 0, parts(&[("orders", 0)]), 15),
            Err(TxnError::ProducerFenced { got: 0, current: 2 })
        );
        assert!(matches!(
            m.end(999, 2, true, 16),
            Err(TxnError::InvalidProducerIdMapping {
                got: 999,
                owner: 1000
            })
        ));
    }

    #[test]
    fn exhausted_epochs_rotate_the_producer_id_and_timeouts_expire() {
        let mut m = claimed();
        m.producer_epoch = i16::MAX - 1;
        assert_eq!(m.init_producer(5_000, 1, None, || 2000).unwrap(), (2000, 0));
        assert_eq!((m.last_producer_id, m.timeout_ms), (1000, 5_000));
        m.add_partitions(2000, 0, parts(&[("t", 0)]), 100).unwrap();
        assert!(!m.is_expired(5_100));
        assert!(m.is_expired(5_101));
        assert!(m.fence_and_abort(5_101));
        assert!(!m.fence_and_abort(5_102), "only an ongoing one");
        assert!(m.complete(5_200));
        assert_eq!(m.state, TxnState::CompleteAbort);
        assert!(!m.complete(5_300));
    }

    #[test]
    fn a_running_producer_bumps_its_own_epoch_and_retries_get_the_same_answer() {
        let mut m = claimed();
        // KIP-360: the owner asks for a bump after an abortable error.
        assert_eq!(
            m.init_producer(60_000, 2, Some((1000, 0)), || unreachable!()),
            Ok((1000, 1))
        );
        // Its retry (the answer was lost) is answered the same.
        assert_eq!(
            m.init_producer(60_000, 3, Some((1000, 0)), || unreachable!()),
            Ok((1000, 1))
        );
        // A new instance without an id bumps and forgets the last epoch, so
        // the old instance cannot come back.
        assert_eq!(
            m.init_producer(60_000, 4, None, || unreachable!()),
            Ok((1000, 2))
        );
        assert_eq!(
            m.init_producer(60_000, 5, Some((1000, 1)), || unreachable!()),
            Err(TxnError::ProducerFenced { got: 1, current: 2 })
        );
        assert_eq!(
            m.init_producer(60_000, 6, Some((7, 2)), || unreachable!()),
            Err(TxnError::ProducerFenced { got: 2, current: 2 })
        );
        // A producer fenced by a timeout is not let back in either.
        m.add_partitions(1000, 2, parts(&[("t", 0)]), 7).unwrap();
        assert!(m.fence_and_abort(8));
        assert!(m.complete(9));
        assert_eq!(
            m.init_producer(60_000, 10, Some((1000, 2)), || unreachable!()),
            Err(TxnError::ProducerFenced { got: 2, current: 3 })
        );
    }

    #[test]
    fn ending_nothing_is_an_invalid_state() {
        let mut m = claimed();
        assert_eq!(
            m.end(1000, 0, true, 5),
            Err(TxnError::InvalidTxnState {
                action: "commit",
                state: TxnState::Empty
            })
        );
    }
}
