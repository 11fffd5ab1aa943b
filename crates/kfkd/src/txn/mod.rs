//! The transaction coordinator: every broker coordinates the transactional
//! ids whose `__transaction_state` partition it leads
//! (`hash(id) % partitions`, as Kafka places them). Each id's metadata
//! ([`kfk_txn::TxnMetadata`]) is kept in memory and written to that
//! partition (acks=all) before a client hears of a change; a broker that
//! becomes a partition's leader replays it, finishes the commits and aborts
//! it finds half done, and aborts transactions that outlive their timeout.
//!
//! Ending a transaction writes a COMMIT or ABORT marker to each of its
//! partitions (WriteTxnMarkers to their leaders, this broker included),
//! then records it complete.

mod coordinator;
mod markers;
mod upkeep;
pub mod verify;

pub use coordinator::TxnCoordinator;

use kafka_protocol::ResponseError;
use kfk_txn::TxnError;

/// Kafka's error for a refused transition. Before KIP-588's versions a
/// fenced producer is told INVALID_PRODUCER_EPOCH (`fenced_as_epoch`).
pub fn txn_error(e: &TxnError, fenced_as_epoch: bool) -> ResponseError {
    match e {
        TxnError::ProducerFenced { .. } if fenced_as_epoch => ResponseError::InvalidProducerEpoch,
        TxnError::ProducerFenced { .. } => ResponseError::ProducerFenced,
        TxnError::InvalidProducerIdMapping { .. } => ResponseError::InvalidProducerIdMapping,
        TxnError::ConcurrentTransactions(_) => ResponseError::ConcurrentTransactions,
        TxnError::InvalidTxnState { .. } => ResponseError::InvalidTxnState,
    }
}
