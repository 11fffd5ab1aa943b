//! What operators look at (kafka-transactions.sh, `kfk transactions`):
//! DescribeProducers (the producers a partition leader has state for, with
//! the transaction each has open there), DescribeTransactions (a
//! coordinator's view of transactional ids) and ListTransactions (every id
//! a broker coordinates, filtered by state, producer id, age and pattern).

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::describe_transactions_response::{
    TopicData, TransactionState as DescribedState,
};
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedState;
use kafka_protocol::messages::*;
use kfk_acl::{Operation, ResourceType};
use kfk_log::TopicPartition;
use kfk_txn::TxnMetadata;

use crate::api::ClientInfo;
use crate::broker::Broker;

pub fn describe_producers(
    broker: &Broker,
    client: &ClientInfo,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let allowed = broker.allowed_topic(client, Operation::Read, &name);
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&p| {
                    let resp = PartitionResponse::default().with_partition_index(p);
                    if !allowed {
                        return resp
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    let tp = TopicPartition::new(name.clone(), p);
                    let Some(part) = broker.partition(&tp) else {
                        return resp.with_error_code(broker.not_hosted(&tp).code());
                    };
                    if let Err(e) = part.check_leader(-1) {
                        return resp.with_error_code(e.code());
                    }
                    resp.with_active_producers(
                        part.producers()
                            .into_iter()
                            .map(|s| {
                                ProducerState::default()
                                    .with_producer_id(ProducerId(s.producer_id))
                                    .with_producer_epoch(i32::from(s.epoch))
                                    .with_last_sequence(s.last_sequence)
                                    .with_last_timestamp(s.last_timestamp)
                                    .with_coordinator_epoch(s.coordinator_epoch)
                                    .with_current_txn_start_offset(s.txn_start_offset)
                            })
                            .collect(),
                    )
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

fn topics_of(m: &TxnMetadata) -> Vec<TopicData> {
    let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = Default::default();
    for (t, p) in &m.partitions {
        by_topic.entry(t).or_default().push(*p);
    }
    by_topic
        .into_iter()
        .map(|(t, ps)| {
            TopicData::default()
                .with_topic(crate::api::topic_name(t))
                .with_partitions(ps)
        })
        .collect()
}

pub async fn describe_transactions(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let mut states = Vec::with_capacity(req.transactional_ids.len());
    for id in req.transactional_ids {
        let resp = DescribedState::default()
            .with_transactional_id(id.clone())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
            .with_transaction_start_time_ms(-1);
        let name = id.0.to_string();
        if !broker.allowed(
            client,
            Operation::Describe,
            ResourceType::TransactionalId,
            &name,
        ) {
            states.push(
                resp.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code()),
            );
            continue;
        }
        states.push(match broker.txns.describe(broker, &name).await {
            Err(e) => resp.with_error_code(e.code()),
            Ok(None) => resp.with_error_code(ResponseError::TransactionalIdNotFound.code()),
            Ok(Some(m)) => resp
                .with_transaction_state(crate::api::str_bytes(m.state.name().to_string()))
                .with_transaction_timeout_ms(m.timeout_ms)
                .with_transaction_start_time_ms(m.txn_start_ms)
                .with_producer_id(ProducerId(m.producer_id))
                .with_producer_epoch(m.producer_epoch)
                .with_topics(topics_of(&m)),
        });
    }
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

pub fn list_transactions(
    broker: &Broker,
    client: &ClientInfo,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let known: Vec<&str> = kfk_txn::TxnState::ALL.iter().map(|s| s.name()).collect();
    let unknown: Vec<_> = req
        .state_filters
        .iter()
        .filter(|s| !known.contains(&s.as_str()))
        .cloned()
        .collect();
    let pattern = match req
        .transactional_id_pattern
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(r) => Some(r),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(ResponseError::InvalidRegularExpression.code());
            }
        },
    };
    let now = kfk_log::now_ms();
    let mut listed: Vec<TxnMetadata> = broker
        .txns
        .snapshot()
        .into_iter()
        .filter(|m| {
            (req.state_filters.is_empty()
                || req.state_filters.iter().any(|s| s.as_str() == m.state.name()))
                && (req.producer_id_filters.is_empty()
                    || req.producer_id_filters.contains(&ProducerId(m.producer_id)))
                // Older than the duration: ongoing transactions that began
                // that long ago (KIP-994).
                && (req.duration_filter < 0
                    || (m.txn_start_ms >= 0 && now - m.txn_start_ms >= req.duration_filter))
                && pattern.as_ref().is_none_or(|r| r.is_match(&m.transactional_id))
                && broker.allowed_quietly(
                    client,
                    Operation::Describe,
                    ResourceType::TransactionalId,
                    &m.transactional_id,
                )
        })
        .collect();
    listed.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(
            listed
                .into_iter()
                .map(|m| {
                    ListedState::default()
                        .with_transactional_id(crate::api::str_bytes(m.transactional_id).into())
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_transaction_state(crate::api::str_bytes(m.state.name().to_string()))
                })
                .collect(),
        )
}
