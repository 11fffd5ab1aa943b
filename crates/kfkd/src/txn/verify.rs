//! KIP-890 part 1: before a partition leader takes the first batch of a
//! producer's transaction, it asks the transaction's coordinator whether the
//! partition was added to it (AddPartitionsToTxn with `verify_only`). A
//! batch a coordinator never heard of (a late retry of an aborted
//! transaction, a client bug) would open a transaction there that nobody
//! ends — a hanging transaction holding read_committed consumers and the
//! cleaner back. `transaction.partition.verification.enable` turns it off,
//! as in Kafka.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, ProducerId, TransactionalId};
use kfk_log::TopicPartition;
use kfk_txn::schema::TRANSACTION_TOPIC;

use crate::broker::Broker;
use crate::error::ApiError;

/// AddPartitionsToTxn's batched form, which carries `verify_only`.
const VERIFY_VERSION: i16 = 4;

/// Whether `tp` is in the ongoing transaction of `id` (producer
/// `producer_id` at `epoch`), as its coordinator says.
///
/// # Errors
/// INVALID_TXN_STATE when it is not; the coordinator's other answers
/// (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE: retriable for the client).
pub async fn verify(
    broker: &Arc<Broker>,
    id: &str,
    producer_id: i64,
    epoch: i16,
    tp: &TopicPartition,
) -> Result<(), ApiError> {
    let Some(n) = super::TxnCoordinator::partition_count(broker) else {
        return Err(ResponseError::CoordinatorNotAvailable.into());
    };
    let p = kfk_group::schema::partition_for(id, n);
    let leader = broker.with_image(|i| {
        i.topics
            .get(TRANSACTION_TOPIC)
            .and_then(|t| t.partitions.get(p as usize))
            .map_or(-1, |m| m.leader)
    });
    let partitions = [(tp.topic.clone(), tp.partition)];
    if leader == broker.node_id {
        return broker
            .txns
            .verify(broker, id, producer_id, epoch, &partitions)
            .await
            .map_err(|e| refused(e.error, tp));
    }
    if leader < 0 {
        return Err(ResponseError::CoordinatorNotAvailable.into());
    }
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(id.to_string().into()))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_verify_only(true)
            .with_topics(vec![
                AddPartitionsToTxnTopic::default()
                    .with_name(crate::api::topic_name(&tp.topic))
                    .with_partitions(vec![tp.partition]),
            ]),
    ]);
    let Some(resp) = super::markers::send(broker, leader, &req, VERIFY_VERSION).await else {
        return Err(ResponseError::CoordinatorNotAvailable.into());
    };
    let code = resp
        .results_by_transaction
        .iter()
        .flat_map(|t| &t.topic_results)
        .flat_map(|t| &t.results_by_partition)
        .map(|r| r.partition_error_code)
        .find(|c| *c != 0)
        .unwrap_or(resp.error_code);
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(e) => Err(refused(e, tp)),
    }
}

fn refused(e: ResponseError, tp: &TopicPartition) -> ApiError {
    match e {
        // Produce answers a fenced producer with its epoch error, which
        // every client version knows.
        ResponseError::ProducerFenced | ResponseError::InvalidProducerEpoch => ApiError::new(
            ResponseError::InvalidProducerEpoch,
            format!("the producer's epoch is fenced by a newer one of its transactional id ({tp})"),
        ),
        ResponseError::InvalidTxnState => ApiError::new(
            e,
            format!(
                "{tp} is not part of the producer's ongoing transaction (add it with AddPartitionsToTxn first)"
            ),
        ),
        other => other.into(),
    }
}
