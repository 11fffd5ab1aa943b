//! Transactions from the client's side: a transactional producer's calls to
//! its coordinator (InitProducerId with its id, AddPartitionsToTxn, EndTxn),
//! and the admin calls kafka-transactions.sh makes (ListTransactions,
//! DescribeTransactions, DescribeProducers, and aborting a hanging
//! transaction with WriteTxnMarkers to the partition's leader).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, DescribeProducersRequest, DescribeTransactionsRequest,
    EndTxnRequest, FindCoordinatorRequest, InitProducerIdRequest, ListTransactionsRequest,
    ProducerId, TransactionalId, WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// How long a coordinator may stay busy or away before a call gives up
/// (a failover takes the broker session timeout and a load).
const PATIENCE: Duration = Duration::from_secs(60);

fn txn_id(id: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(id.to_string()))
}

/// Errors after which a coordinator call is tried again: the coordinator is
/// moving, loading, or finishing the previous transaction.
fn busy(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Kafka {
            error: ResponseError::ConcurrentTransactions
                | ResponseError::CoordinatorLoadInProgress
                | ResponseError::CoordinatorNotAvailable
                | ResponseError::NotCoordinator,
            ..
        }
    ) || e.is_retriable()
}

/// A transaction as ListTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TxnListing {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: String,
    /// The broker that coordinates it.
    pub coordinator: i32,
}

/// A transaction as DescribeTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TxnDescription {
    pub transactional_id: String,
    pub coordinator: i32,
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// When the ongoing transaction began (ms since the epoch), or -1.
    pub start_time_ms: i64,
    pub partitions: Vec<(String, i32)>,
}

/// A producer a partition leader has state for (DescribeProducers).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction here, or -1.
    pub current_txn_start_offset: i64,
}

impl Client {
    /// The broker coordinating `key` (a group for key type 0, a
    /// transactional id for 1), retrying while it is being chosen.
    ///
    /// # Errors
    /// When no coordinator appears.
    pub async fn find_coordinator(&self, key: &str, key_type: i8) -> Result<i32> {
        self.retrying_coordinator(|| async {
            let req = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(key.to_string()))
                .with_key_type(key_type);
            let conn = self.any_broker().await?;
            let version = conn
                .version_for(kafka_protocol::messages::ApiKey::FindCoordinator)
                .unwrap_or(0)
                .min(3);
            let resp = conn.send_at(&req, version).await?;
            let what = if key_type == 1 {
                "transactional id"
            } else {
                "group"
            };
            ClientError::check(
                resp.error_code,
                resp.error_message.as_deref(),
                format!("cannot find the coordinator of {what} '{key}'"),
            )?;
            self.refresh(None).await?;
            Ok(resp.node_id.0)
        })
        .await
    }

    /// Runs `op` against `id`'s coordinator, finding it again and retrying
    /// while it is busy or moving.
    async fn with_txn_coordinator<T, F, Fut>(&self, id: &str, mut op: F) -> Result<T>
    where
        F: FnMut(std::sync::Arc<crate::connection::Connection>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let result = async {
                let node = self.find_coordinator(id, 1).await?;
                op(self.broker(node).await?).await
            }
            .await;
            match result {
                Err(e) if busy(&e) && started.elapsed() < PATIENCE => {
                    attempt += 1;
                    self.backoff(attempt.min(5)).await;
                }
                other => return other,
            }
        }
    }

    /// InitProducerId for transactional id `id`: its producer id and a new
    /// epoch, fencing any earlier producer with the id (whose open
    /// transaction the coordinator aborts first).
    ///
    /// # Errors
    /// The coordinator's refusal.
    pub async fn init_transactional_producer(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(i64, i16)> {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id(id)))
            .with_transaction_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        self.with_txn_coordinator(id, |conn| {
            let req = req.clone();
            async move {
                let (resp, _) = conn.send(&req).await?;
                ClientError::check(
                    resp.error_code,
                    None,
                    format!("cannot initialize transactional id '{id}'"),
                )?;
                Ok((resp.producer_id.0, resp.producer_epoch))
            }
        })
        .await
    }

    /// AddPartitionsToTxn: the partitions join the producer's transaction.
    ///
    /// # Errors
    /// The coordinator's refusal, for the transaction or a partition.
    pub async fn add_partitions_to_txn(
        &self,
        id: &str,
        producer: (i64, i16),
        partitions: &[(String, i32)],
    ) -> Result<()> {
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            topics.entry(t).or_default().push(*p);
        }
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn_id(id))
            .with_v3_and_below_producer_id(ProducerId(producer.0))
            .with_v3_and_below_producer_epoch(producer.1)
            .with_v3_and_below_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(kfk_wire::topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        self.with_txn_coordinator(id, |conn| {
            let req = req.clone();
            async move {
                let version = conn
                    .version_for(kafka_protocol::messages::ApiKey::AddPartitionsToTxn)
                    .ok_or(ClientError::Unsupported {
                        addr: conn.addr().to_string(),
                        api: "AddPartitionsToTxn",
                    })?
                    .min(3);
                let resp = conn.send_at(&req, version).await?;
                for t in resp.results_by_topic_v3_and_below {
                    for p in t.results_by_partition {
                        ClientError::check(
                            p.partition_error_code,
                            None,
                            format!(
                                "cannot add {}-{} to the transaction of '{id}'",
                                t.name.0, p.partition_index
                            ),
                        )?;
                    }
                }
                Ok(())
            }
        })
        .await
    }

    /// EndTxn: commits or aborts the producer's transaction.
    ///
    /// # Errors
    /// The coordinator's refusal (a fenced producer, nothing to end).
    pub async fn end_txn(&self, id: &str, producer: (i64, i16), commit: bool) -> Result<()> {
        let req = EndTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(ProducerId(producer.0))
            .with_producer_epoch(producer.1)
            .with_committed(commit);
        let verb = if commit { "commit" } else { "abort" };
        self.with_txn_coordinator(id, |conn| {
            let req = req.clone();
            async move {
                let (resp, _) = conn.send(&req).await?;
                ClientError::check(
                    resp.error_code,
                    None,
                    format!("cannot {verb} the transaction of '{id}'"),
                )
            }
        })
        .await
    }

    /// Every transaction of the cluster (ListTransactions on each broker),
    /// in `states` when not empty.
    ///
    /// # Errors
    /// When a broker cannot be asked.
    pub async fn list_transactions(&self, states: &[String]) -> Result<Vec<TxnListing>> {
        let mut out = Vec::new();
        let req = ListTransactionsRequest::default()
            .with_state_filters(
                states
                    .iter()
                    .map(|s| StrBytes::from_string(s.clone()))
                    .collect(),
            )
            .with_duration_filter(-1);
        for id in self.broker_ids().await? {
            let (resp, _) = self.broker(id).await?.send(&req).await?;
            ClientError::check(
                resp.error_code,
                None,
                format!("broker {id} cannot list transactions"),
            )?;
            out.extend(resp.transaction_states.into_iter().map(|t| TxnListing {
                transactional_id: t.transactional_id.0.to_string(),
                producer_id: t.producer_id.0,
                state: t.transaction_state.to_string(),
                coordinator: id,
            }));
        }
        out.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        Ok(out)
    }

    /// A transactional id as its coordinator describes it.
    ///
    /// # Errors
    /// An unknown id (TRANSACTIONAL_ID_NOT_FOUND), coordinator errors.
    pub async fn describe_transaction(&self, id: &str) -> Result<TxnDescription> {
        let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id(id)]);
        let node = self.find_coordinator(id, 1).await?;
        self.with_txn_coordinator(id, |conn| {
            let req = req.clone();
            async move {
                let (resp, _) = conn.send(&req).await?;
                let t = resp.transaction_states.into_iter().next().ok_or_else(|| {
                    ClientError::Protocol {
                        addr: conn.addr().to_string(),
                        reason: "empty DescribeTransactions response".into(),
                    }
                })?;
                ClientError::check(
                    t.error_code,
                    None,
                    format!("cannot describe transactional id '{id}'"),
                )?;
                Ok(TxnDescription {
                    transactional_id: id.to_string(),
                    coordinator: node,
                    state: t.transaction_state.to_string(),
                    producer_id: t.producer_id.0,
                    producer_epoch: t.producer_epoch,
                    timeout_ms: t.transaction_timeout_ms,
                    start_time_ms: t.transaction_start_time_ms,
                    partitions: t
                        .topics
                        .into_iter()
                        .flat_map(|d| {
                            let name = d.topic.0.to_string();
                            d.partitions.into_iter().map(move |p| (name.clone(), p))
                        })
                        .collect(),
                })
            }
        })
        .await
    }

    /// The producers partition `partition` of `topic` has state for, from
    /// its leader.
    ///
    /// # Errors
    /// An unknown partition, leader errors.
    pub async fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<ActiveProducer>> {
        let req = DescribeProducersRequest::default().with_topics(vec![
            TopicRequest::default()
                .with_name(kfk_wire::topic_name(topic))
                .with_partition_indexes(vec![partition]),
        ]);
        self.retrying(|| async {
            let conn = self.leader(topic, partition, true).await?;
            let (resp, _) = conn.send(&req).await?;
            let p = resp
                .topics
                .into_iter()
                .flat_map(|t| t.partitions)
                .find(|p| p.partition_index == partition)
                .ok_or_else(|| ClientError::Protocol {
                    addr: conn.addr().to_string(),
                    reason: "empty DescribeProducers response".into(),
                })?;
            ClientError::check(
                p.error_code,
                p.error_message.as_deref(),
                format!("cannot describe the producers of {topic}-{partition}"),
            )?;
            Ok(p.active_producers
                .into_iter()
                .map(|s| ActiveProducer {
                    producer_id: s.producer_id.0,
                    producer_epoch: s.producer_epoch,
                    last_sequence: s.last_sequence,
                    last_timestamp: s.last_timestamp,
                    coordinator_epoch: s.coordinator_epoch,
                    current_txn_start_offset: s.current_txn_start_offset,
                })
                .collect())
        })
        .await
    }

    /// Aborts producer `producer_id`'s open transaction on one partition by
    /// writing its ABORT marker there (kafka-transactions.sh `abort`): for a
    /// hanging transaction whose coordinator no longer knows it. The
    /// producer's epoch and coordinator epoch come from the partition's
    /// leader.
    ///
    /// # Errors
    /// No such open transaction on the partition, or the leader's refusal.
    pub async fn abort_hanging(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
    ) -> Result<i64> {
        let producers = self.describe_producers(topic, partition).await?;
        let p = producers
            .into_iter()
            .find(|p| p.producer_id == producer_id && p.current_txn_start_offset >= 0)
            .ok_or_else(|| {
                ClientError::Invalid(format!(
                    "producer {producer_id} has no open transaction on {topic}-{partition}"
                ))
            })?;
        let req = WriteTxnMarkersRequest::default().with_markers(vec![
            WritableTxnMarker::default()
                .with_producer_id(ProducerId(producer_id))
                .with_producer_epoch(p.producer_epoch as i16)
                .with_transaction_result(false)
                .with_coordinator_epoch(p.coordinator_epoch)
                .with_topics(vec![
                    WritableTxnMarkerTopic::default()
                        .with_name(kfk_wire::topic_name(topic))
                        .with_partition_indexes(vec![partition]),
                ]),
        ]);
        let conn = self.leader(topic, partition, true).await?;
        let (resp, _) = conn.send(&req).await?;
        for m in resp.markers {
            for t in m.topics {
                for r in t.partitions {
                    ClientError::check(
                        r.error_code,
                        None,
                        format!("cannot abort the transaction on {topic}-{partition}"),
                    )?;
                }
            }
        }
        Ok(p.current_txn_start_offset)
    }
}
