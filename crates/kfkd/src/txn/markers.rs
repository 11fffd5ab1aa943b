//! Completing a decided transaction: its COMMIT or ABORT marker written to
//! every partition it touched, through WriteTxnMarkers to each partition's
//! leader (answered in place when that is this broker), retried until each
//! is written, the partition is gone, or this broker stops coordinating;
//! then the transaction is recorded complete.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{ProducerId, WriteTxnMarkersRequest};
use kfk_log::TopicPartition;
use kfk_txn::TxnState;
use kfk_txn::schema::TRANSACTION_TOPIC;
use tracing::{debug, info, warn};

use crate::broker::Broker;
use crate::replica::leader_link::LeaderLink;
use kfk_sync::lock;

/// Between rounds for markers that could not be written yet.
const RETRY: Duration = Duration::from_millis(100);
/// WriteTxnMarkers is version 1 only (flexible) in Kafka 4.
const MARKERS_VERSION: i16 = 1;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts (unless one runs) the task that completes `id`'s decided
/// transaction as coordinator of partition `p` in `coordinator_epoch`.
pub(super) fn spawn_completion(broker: &Arc<Broker>, id: String, p: i32, coordinator_epoch: i32) {
    if !lock(&broker.txns.inner).completing.insert(id.clone()) {
        return;
    }
    let broker = Arc::clone(broker);
    tokio::spawn(async move {
        complete(&broker, &id, p, coordinator_epoch).await;
        lock(&broker.txns.inner).completing.remove(&id);
        broker.txns.completed.notify_waiters();
    });
}

fn still_coordinating(broker: &Broker, p: i32, coordinator_epoch: i32) -> bool {
    broker
        .partition(&TopicPartition::new(TRANSACTION_TOPIC, p))
        .and_then(|part| part.check_leader(-1).ok())
        == Some(coordinator_epoch)
}

async fn complete(broker: &Arc<Broker>, id: &str, p: i32, coordinator_epoch: i32) {
    let c = &broker.txns;
    let Some(m) = c.current(id) else { return };
    let commit = match m.state {
        TxnState::PrepareCommit => true,
        TxnState::PrepareAbort => false,
        _ => return,
    };
    let (producer_id, epoch) = (m.producer_id, m.producer_epoch);
    let mut pending: BTreeSet<(String, i32)> = m.partitions.clone();
    let mut rounds = 0u32;
    while !pending.is_empty() {
        if !still_coordinating(broker, p, coordinator_epoch) {
            info!(
                transactional_id = id,
                "stopped completing: no longer its coordinator"
            );
            return;
        }
        match write(
            broker,
            producer_id,
            epoch,
            commit,
            coordinator_epoch,
            &pending,
        )
        .await
        {
            Outcome::Written(done) => {
                for tp in done {
                    pending.remove(&tp);
                }
            }
            Outcome::Fenced => {
                warn!(
                    transactional_id = id,
                    "a newer coordinator or producer epoch refused the markers; stopping"
                );
                return;
            }
        }
        if !pending.is_empty() {
            rounds += 1;
            if rounds.is_multiple_of(50) {
                warn!(
                    transactional_id = id,
                    waiting = pending.len(),
                    "markers still not written"
                );
            }
            tokio::time::sleep(RETRY).await;
        }
    }
    let id_lock = c.id_lock(id);
    let _guard = id_lock.lock().await;
    let Some(mut m) = c.current(id) else { return };
    if m.producer_id != producer_id || m.producer_epoch != epoch || !m.complete(kfk_log::now_ms()) {
        return;
    }
    loop {
        match c.persist(broker, p, m.clone()).await {
            Ok(()) => {
                debug!(transactional_id = id, commit, "transaction complete");
                return;
            }
            Err(ResponseError::NotCoordinator) => return,
            Err(e) => {
                debug!(transactional_id = id, error = ?e, "recording completion failed; retrying");
                if !still_coordinating(broker, p, coordinator_epoch) {
                    return;
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

enum Outcome {
    /// These partitions have their marker (or no longer exist).
    Written(Vec<(String, i32)>),
    /// A newer coordinator or producer epoch: this task must stop.
    Fenced,
}

/// One round: each leader asked once for the markers of its partitions.
async fn write(
    broker: &Arc<Broker>,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    pending: &BTreeSet<(String, i32)>,
) -> Outcome {
    let mut done = Vec::new();
    let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
    broker.with_image(|i| {
        for (topic, p) in pending {
            match i
                .topics
                .get(topic)
                .and_then(|t| t.partitions.get(*p as usize))
            {
                // Deleted: nothing to mark.
                None => done.push((topic.clone(), *p)),
                Some(meta) if meta.leader >= 0 => {
                    by_leader
                        .entry(meta.leader)
                        .or_default()
                        .push((topic.clone(), *p));
                }
                Some(_) => {}
            }
        }
    });
    for (leader, partitions) in by_leader {
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in &partitions {
            topics.entry(t).or_default().push(*p);
        }
        let req = WriteTxnMarkersRequest::default().with_markers(vec![
            WritableTxnMarker::default()
                .with_producer_id(ProducerId(producer_id))
                .with_producer_epoch(epoch)
                .with_transaction_result(commit)
                .with_coordinator_epoch(coordinator_epoch)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(t, ps)| {
                            WritableTxnMarkerTopic::default()
                                .with_name(crate::api::topic_name(t))
                                .with_partition_indexes(ps)
                        })
                        .collect(),
                ),
        ]);
        let resp = if leader == broker.node_id {
            Some(crate::api::write_txn_markers::handle(broker, req).await)
        } else {
            send(broker, leader, &req, MARKERS_VERSION).await
        };
        let Some(resp) = resp else { continue };
        for marker in resp.markers {
            for t in marker.topics {
                for r in t.partitions {
                    let tp = (t.name.0.to_string(), r.partition_index);
                    match ResponseError::try_from_code(r.error_code) {
                        None | Some(ResponseError::UnknownTopicOrPartition) => done.push(tp),
                        Some(
                            ResponseError::InvalidProducerEpoch
                            | ResponseError::TransactionCoordinatorFenced,
                        ) => return Outcome::Fenced,
                        Some(e) => debug!(partition = ?tp, error = ?e, "marker not written yet"),
                    }
                }
            }
        }
    }
    Outcome::Written(done)
}

/// A request to another broker (WriteTxnMarkers, a verification's
/// AddPartitionsToTxn), on a kept connection; `None` when it cannot be
/// reached now.
pub(crate) async fn send<R: kafka_protocol::protocol::Request>(
    broker: &Broker,
    node: i32,
    req: &R,
    version: i16,
) -> Option<R::Response> {
    let mut links = broker.txns.links.lock().await;
    if !links.get(&node).is_some_and(LeaderLink::is_open) {
        let addr = broker.with_image(|i| {
            i.brokers
                .get(&node)
                .map(|r| format!("{}:{}", r.host, r.port))
        })?;
        // Markers are answered once replicated: allow for acks=all.
        let patience = Duration::from_secs(35);
        match LeaderLink::connect(
            &addr,
            broker.inter_broker_tls.clone(),
            CONNECT_TIMEOUT,
            patience,
            1 << 20,
        )
        .await
        {
            Ok(link) => {
                links.insert(node, link);
            }
            Err(e) => {
                debug!(node, %addr, error = %e, "cannot reach a broker for a transaction");
                return None;
            }
        }
    }
    let link = links.get_mut(&node)?;
    match link.send_at(req, version).await {
        Ok(resp) => Some(resp),
        Err(e) => {
            debug!(node, error = %e, "inter-broker transaction request failed");
            links.remove(&node);
            None
        }
    }
}
