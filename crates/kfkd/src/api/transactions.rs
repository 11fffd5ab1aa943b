//! The transactional producer's requests: InitProducerId with a
//! transactional id, AddPartitionsToTxn (a client's form, and v4+'s
//! batched form), AddOffsetsToTxn, EndTxn and TxnOffsetCommit. Each is
//! authorised as Kafka does (WRITE on the transactional id, plus WRITE on
//! the topics added, READ on the group and its topics), then handed to the
//! coordinator.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::*;
use kfk_acl::{Operation, ResourceType};
use kfk_group::schema::OffsetValue;

use crate::api::ClientInfo;
use crate::broker::Broker;

fn may_write_id(broker: &Broker, client: &ClientInfo, id: &str) -> bool {
    broker.allowed(client, Operation::Write, ResourceType::TransactionalId, id)
}

/// A partition refused, with why.
type Refused = (String, i32, ResponseError);

const ID_DENIED: ResponseError = ResponseError::TransactionalIdAuthorizationFailed;

/// InitProducerId for a transactional producer.
pub async fn init_producer_id(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let resp = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let Some(id) = req.transactional_id.as_ref().map(|t| t.0.to_string()) else {
        return resp.with_error_code(ResponseError::InvalidRequest.code());
    };
    if !may_write_id(broker, client, &id) {
        return resp.with_error_code(ID_DENIED.code());
    }
    let expected = (req.producer_id.0 >= 0 && req.producer_epoch >= 0)
        .then_some((req.producer_id.0, req.producer_epoch));
    match broker
        .txns
        .init_producer_id(
            broker,
            &id,
            req.transaction_timeout_ms,
            expected,
            version < 4,
        )
        .await
    {
        Ok((pid, epoch)) => resp
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch),
        Err(e) => resp.with_error_code(e.code()),
    }
}

/// The partitions of `topics`, each with an error when one must be
/// refused: an unknown or unauthorised topic fails its partitions, and
/// every other partition is then OPERATION_NOT_ATTEMPTED, as in Kafka.
fn check_partitions(
    broker: &Broker,
    client: &ClientInfo,
    topics: &[AddPartitionsToTxnTopic],
) -> (Vec<(String, i32)>, Vec<Refused>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for t in topics {
        let name = t.name.0.to_string();
        // Internal topics are the coordinators' to write, as in Kafka.
        let error = (!broker.allowed_topic(client, Operation::Write, &name)
            || crate::topics::INTERNAL_TOPICS.contains(&name.as_str()))
        .then_some(ResponseError::TopicAuthorizationFailed);
        for &p in &t.partitions {
            let exists = broker.with_image(|i| {
                i.topics
                    .get(&name)
                    .is_some_and(|t| p >= 0 && (p as usize) < t.partitions.len())
            });
            match error.or((!exists).then_some(ResponseError::UnknownTopicOrPartition)) {
                Some(e) => refused.push((name.clone(), p, e)),
                None => ok.push((name.clone(), p)),
            }
        }
    }
    (ok, refused)
}

fn topic_results(
    results: Vec<Refused>,
    ok: &[(String, i32)],
    all_error: Option<ResponseError>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut by_topic: std::collections::BTreeMap<String, Vec<AddPartitionsToTxnPartitionResult>> =
        Default::default();
    for (t, p, e) in results {
        by_topic.entry(t).or_default().push(
            AddPartitionsToTxnPartitionResult::default()
                .with_partition_index(p)
                .with_partition_error_code(e.code()),
        );
    }
    for (t, p) in ok {
        by_topic.entry(t.clone()).or_default().push(
            AddPartitionsToTxnPartitionResult::default()
                .with_partition_index(*p)
                .with_partition_error_code(all_error.map_or(0, |e| e.code())),
        );
    }
    by_topic
        .into_iter()
        .map(|(t, ps)| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(crate::api::topic_name(t))
                .with_results_by_partition(ps)
        })
        .collect()
}

/// One transaction's AddPartitionsToTxn: its topics' results.
#[allow(clippy::too_many_arguments)]
async fn add_one(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    id: &str,
    producer_id: i64,
    epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    if !may_write_id(broker, client, id) {
        let all: Vec<_> = topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.0.to_string(), *p, ID_DENIED))
            })
            .collect();
        return topic_results(all, &[], None);
    }
    let (ok, refused) = check_partitions(broker, client, topics);
    if !refused.is_empty() {
        let not_tried: Vec<_> = ok.clone();
        let mut results = refused;
        results.extend(
            not_tried
                .into_iter()
                .map(|(t, p)| (t, p, ResponseError::OperationNotAttempted)),
        );
        return topic_results(results, &[], None);
    }
    let outcome = if verify_only {
        broker
            .txns
            .verify(broker, id, producer_id, epoch, &ok)
            .await
    } else {
        broker
            .txns
            .add_partitions(broker, id, producer_id, epoch, ok.clone(), version < 2)
            .await
    };
    topic_results(Vec::new(), &ok, outcome.err().map(|e| e.error))
}

pub async fn add_partitions_to_txn(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    if version < 4 {
        let results = add_one(
            broker,
            client,
            &req.v3_and_below_transactional_id.0,
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &req.v3_and_below_topics,
            false,
            version,
        )
        .await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    // v4+: brokers verifying (or clients adding) for several transactions.
    let mut out = Vec::with_capacity(req.transactions.len());
    for t in &req.transactions {
        let results = add_one(
            broker,
            client,
            &t.transactional_id.0,
            t.producer_id.0,
            t.producer_epoch,
            &t.topics,
            t.verify_only,
            version,
        )
        .await;
        out.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(t.transactional_id.clone())
                .with_topic_results(results),
        );
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(out)
}

pub async fn add_offsets_to_txn(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let id = req.transactional_id.0.to_string();
    let group = req.group_id.0.to_string();
    if !may_write_id(broker, client, &id) {
        return AddOffsetsToTxnResponse::default().with_error_code(ID_DENIED.code());
    }
    if !broker.allowed_group(client, Operation::Read, &group) {
        return AddOffsetsToTxnResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let partition = match broker.groups.find(broker, &group, &client.listener).await {
        Ok(_) => broker.groups.offsets_partition_of(broker, &group),
        Err(e) => return AddOffsetsToTxnResponse::default().with_error_code(e.code()),
    };
    let Some(partition) = partition else {
        return AddOffsetsToTxnResponse::default()
            .with_error_code(ResponseError::CoordinatorNotAvailable.code());
    };
    let offsets = (kfk_group::schema::OFFSETS_TOPIC.to_string(), partition);
    match broker
        .txns
        .add_partitions(
            broker,
            &id,
            req.producer_id.0,
            req.producer_epoch,
            vec![offsets],
            version < 2,
        )
        .await
    {
        Ok(()) => AddOffsetsToTxnResponse::default(),
        Err(e) => AddOffsetsToTxnResponse::default().with_error_code(e.code()),
    }
}

pub async fn end_txn(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let id = req.transactional_id.0.to_string();
    let resp = EndTxnResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if !may_write_id(broker, client, &id) {
        return resp.with_error_code(ID_DENIED.code());
    }
    match broker
        .txns
        .end_txn(
            broker,
            &id,
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            version < 2,
        )
        .await
    {
        Ok(()) => resp,
        Err(e) => resp.with_error_code(e.code()),
    }
}

pub async fn txn_offset_commit(
    broker: &Arc<Broker>,
    client: &ClientInfo,
    req: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let id = req.transactional_id.0.to_string();
    let group = req.group_id.0.to_string();
    let refuse_all = |code: i16| {
        TxnOffsetCommitResponse::default().with_topics(
            req.topics
                .iter()
                .map(|t| {
                    TxnOffsetCommitResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    TxnOffsetCommitResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
    };
    if !may_write_id(broker, client, &id) {
        return refuse_all(ID_DENIED.code());
    }
    if !broker.allowed_group(client, Operation::Read, &group) {
        return refuse_all(ResponseError::GroupAuthorizationFailed.code());
    }
    let now = kfk_log::now_ms();
    let mut offsets = Vec::new();
    let mut denied = std::collections::HashSet::new();
    // Kafka answers partitions that do not exist without storing them.
    let mut unknown = std::collections::HashSet::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        if !broker.allowed_topic(client, Operation::Read, &name) {
            denied.insert(name);
            continue;
        }
        for p in &t.partitions {
            if !super::groups::partition_exists(broker, &name, p.partition_index) {
                unknown.insert((name.clone(), p.partition_index));
                continue;
            }
            offsets.push((
                name.clone(),
                p.partition_index,
                OffsetValue {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    commit_timestamp: now,
                },
            ));
        }
    }
    let results = broker
        .groups
        .commit_txn(
            broker,
            &group,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
            req.producer_id.0,
            req.producer_epoch,
            offsets,
        )
        .await;
    let mut codes = match results {
        Ok(r) => r
            .into_iter()
            .map(|r| r.err().map_or(0, |e| e.code()))
            .collect::<Vec<_>>(),
        Err(e) => {
            let e = if e == ResponseError::ProducerFenced && version < 3 {
                ResponseError::InvalidProducerEpoch
            } else {
                e
            };
            return refuse_all(e.code());
        }
    }
    .into_iter();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let refused = denied.contains(t.name.0.as_str());
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let code = if refused {
                                ResponseError::TopicAuthorizationFailed.code()
                            } else if unknown.contains(&(t.name.0.to_string(), p.partition_index)) {
                                ResponseError::UnknownTopicOrPartition.code()
                            } else {
                                codes.next().unwrap_or(0)
                            };
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}
