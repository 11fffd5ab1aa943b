//! The coordinator's state and the client requests that move it:
//! InitProducerId with a transactional id, AddPartitionsToTxn,
//! AddOffsetsToTxn and EndTxn. Requests for one id are handled one at a
//! time (a lock per id); each change is written to the log before memory
//! takes it, so what a client was told is what a new coordinator loads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kfk_log::TopicPartition;
use kfk_txn::schema::{self, TRANSACTION_TOPIC};
use kfk_txn::{TxnError, TxnMetadata, TxnState};
use kfk_wire::BatchOptions;
use tracing::{info, warn};

use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::error::ApiError;
use crate::internal_log;
use crate::new_topic::NewTopic;
use crate::replica::leader_link::LeaderLink;
use kfk_sync::lock;

#[derive(Debug, Default)]
pub(super) struct Inner {
    /// `__transaction_state` partitions loaded, with the leader epoch they
    /// were loaded in (the coordinator epoch markers carry).
    pub(super) loaded: HashMap<i32, i32>,
    pub(super) txns: HashMap<String, TxnMetadata>,
    /// One request (or completion) at a time per transactional id.
    pub(super) locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Ids whose markers a task is writing.
    pub(super) completing: HashSet<String>,
}

/// The transaction coordinator of one broker.
#[derive(Debug, Default)]
pub struct TxnCoordinator {
    pub(super) inner: Mutex<Inner>,
    /// One partition load at a time.
    loading: tokio::sync::Mutex<()>,
    /// Woken whenever a transaction completes (EndTxn waits a little for
    /// its markers, so the producer's next transaction need not retry).
    pub(super) completed: tokio::sync::Notify,
    /// Connections to other brokers for WriteTxnMarkers, by node id.
    pub(super) links: tokio::sync::Mutex<HashMap<i32, LeaderLink>>,
    /// When expired transactions and ids were last looked for.
    pub(super) last_timeout_check: Mutex<Option<tokio::time::Instant>>,
    pub(super) last_id_expiry: Mutex<Option<tokio::time::Instant>>,
}

/// How long EndTxn waits for its markers before answering anyway (the
/// outcome is decided once it is logged; the markers follow).
const END_WAIT: Duration = Duration::from_secs(5);

impl TxnCoordinator {
    /// Partitions of `__transaction_state`, if it exists.
    pub(super) fn partition_count(broker: &Broker) -> Option<i32> {
        broker.with_image(|i| {
            i.topics
                .get(TRANSACTION_TOPIC)
                .map(|t| t.partitions.len() as i32)
        })
    }

    pub(super) fn write_timeout(broker: &Broker) -> Duration {
        Duration::from_millis(broker.settings.offsets_commit_timeout_ms.max(1))
    }

    /// FindCoordinator for a transactional id: creates `__transaction_state`
    /// on first use.
    ///
    /// # Errors
    /// COORDINATOR_NOT_AVAILABLE while its partition has no leader.
    pub async fn find(
        &self,
        broker: &Broker,
        transactional_id: &str,
        listener: &str,
    ) -> Result<(i32, String, i32), ApiError> {
        let live = broker.live_brokers().len() as i32;
        let replication_factor = broker
            .settings
            .transaction_state_log_replication_factor
            .min(live)
            .max(1);
        let t = NewTopic {
            name: TRANSACTION_TOPIC.to_string(),
            num_partitions: broker.settings.transaction_state_log_num_partitions,
            replication_factor,
            assignments: Vec::new(),
            // Compacted: each id's latest record is its state.
            configs: BTreeMap::from([
                ("cleanup.policy".to_string(), "compact".to_string()),
                (
                    "segment.bytes".to_string(),
                    broker
                        .settings
                        .transaction_state_log_segment_bytes
                        .to_string(),
                ),
                (
                    "min.insync.replicas".to_string(),
                    broker
                        .settings
                        .transaction_state_log_min_isr
                        .min(replication_factor)
                        .to_string(),
                ),
            ]),
        };
        let n = internal_log::ensure_topic(broker, t).await?;
        let p = kfk_group::schema::partition_for(transactional_id, n);
        internal_log::leader_endpoint(broker, TRANSACTION_TOPIC, p, listener)
    }

    /// The `__transaction_state` partition of `id` and the coordinator
    /// epoch, when this broker coordinates it (loading it first).
    ///
    /// # Errors
    /// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, as clients expect.
    pub(super) async fn route(
        &self,
        broker: &Arc<Broker>,
        id: &str,
    ) -> Result<(i32, i32), ResponseError> {
        let n = Self::partition_count(broker).ok_or(ResponseError::NotCoordinator)?;
        let p = kfk_group::schema::partition_for(id, n);
        let part = broker
            .partition(&TopicPartition::new(TRANSACTION_TOPIC, p))
            .ok_or(ResponseError::NotCoordinator)?;
        let epoch = part
            .check_leader(-1)
            .map_err(|_| ResponseError::NotCoordinator)?;
        if lock(&self.inner).loaded.get(&p) != Some(&epoch) {
            self.load(broker, p, epoch, n).await?;
        }
        Ok((p, epoch))
    }

    /// Replays a `__transaction_state` partition this broker now leads, and
    /// finishes the transactions it finds between deciding and completing.
    pub(super) async fn load(
        &self,
        broker: &Arc<Broker>,
        p: i32,
        epoch: i32,
        n: i32,
    ) -> Result<(), ResponseError> {
        let _one = self.loading.lock().await;
        if lock(&self.inner).loaded.get(&p) == Some(&epoch) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let tp = TopicPartition::new(TRANSACTION_TOPIC, p);
        let mut found: HashMap<String, TxnMetadata> = HashMap::new();
        internal_log::replay(broker, &tp, |batch, r| {
            if batch.is_control() {
                return;
            }
            let Some(key) = r.key.as_deref() else { return };
            match schema::decode(key, r.value.as_deref()) {
                Some((id, Some(m))) => {
                    found.insert(id, m);
                }
                Some((id, None)) => {
                    found.remove(&id);
                }
                None => {
                    warn!(partition = %tp, offset = r.offset, "skipping an undecodable transaction record")
                }
            }
        })
        .map_err(|e| e.error)?;
        let unfinished: Vec<String> = found
            .iter()
            .filter(|(_, m)| matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort))
            .map(|(id, _)| id.clone())
            .collect();
        {
            let mut inner = lock(&self.inner);
            inner
                .txns
                .retain(|id, _| kfk_group::schema::partition_for(id, n) != p);
            let count = found.len();
            inner.txns.extend(found);
            inner.loaded.insert(p, epoch);
            info!(
                partition = p,
                epoch,
                transactional_ids = count,
                unfinished = unfinished.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "loaded transaction coordinator state"
            );
        }
        for id in unfinished {
            super::markers::spawn_completion(broker, id, p, epoch);
        }
        Ok(())
    }

    /// Stops coordinating partition `p` (another broker leads it now).
    pub(super) fn unload(&self, p: i32, n: i32) {
        let mut inner = lock(&self.inner);
        inner.loaded.remove(&p);
        inner
            .txns
            .retain(|id, _| kfk_group::schema::partition_for(id, n) != p);
        info!(
            partition = p,
            "no longer coordinating the transactions of this partition"
        );
    }

    /// The lock that orders the requests of `id`.
    pub(super) fn id_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.inner).locks.entry(id.to_string()).or_default())
    }

    pub(super) fn current(&self, id: &str) -> Option<TxnMetadata> {
        lock(&self.inner).txns.get(id).cloned()
    }

    /// `id`'s metadata, which a request other than InitProducerId needs.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING for an id this coordinator never saw.
    fn known(&self, id: &str) -> Result<TxnMetadata, ApiError> {
        self.current(id).ok_or_else(|| {
            ApiError::new(
                ResponseError::InvalidProducerIdMapping,
                format!("transactional id {id} is not known to its coordinator"),
            )
        })
    }

    /// Writes `m` to partition `p`'s log, then to memory.
    ///
    /// # Errors
    /// The error a client is told: NOT_COORDINATOR when leadership moved,
    /// COORDINATOR_NOT_AVAILABLE when the replicas could not take it.
    pub(super) async fn persist(
        &self,
        broker: &Broker,
        p: i32,
        m: TxnMetadata,
    ) -> Result<(), ResponseError> {
        let tp = TopicPartition::new(TRANSACTION_TOPIC, p);
        let min_isr = broker.with_image(|i| {
            i.topics.get(TRANSACTION_TOPIC).map_or(1, |t| {
                topic_config::min_insync_replicas(&broker.settings, &t.configs)
            })
        });
        let entry = internal_log::Entry {
            key: schema::key(&m.transactional_id),
            value: schema::value(&m),
        };
        internal_log::append(
            broker,
            &tp,
            vec![entry],
            &BatchOptions::default(),
            Some(min_isr),
            Self::write_timeout(broker),
        )
        .await
        .map_err(|e| match e.error {
            // Kafka's mapping for the transaction log's append errors.
            ResponseError::UnknownTopicOrPartition
            | ResponseError::NotEnoughReplicas
            | ResponseError::NotEnoughReplicasAfterAppend
            | ResponseError::RequestTimedOut => ResponseError::CoordinatorNotAvailable,
            ResponseError::NotLeaderOrFollower
            | ResponseError::KafkaStorageError
            | ResponseError::NotCoordinator => ResponseError::NotCoordinator,
            _ => ResponseError::UnknownServerError,
        })?;
        let mut inner = lock(&self.inner);
        if m.state == TxnState::Dead {
            inner.txns.remove(&m.transactional_id);
        } else {
            inner.txns.insert(m.transactional_id.clone(), m);
        }
        Ok(())
    }

    /// InitProducerId with a transactional id: the producer id and epoch
    /// the producer uses from now on; `expected` is the pair a running
    /// producer asks to bump (KIP-360).
    ///
    /// # Errors
    /// Kafka's errors (CONCURRENT_TRANSACTIONS while a previous transaction
    /// is being aborted for this one; the producer retries).
    pub async fn init_producer_id(
        &self,
        broker: &Arc<Broker>,
        id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fenced_as_epoch: bool,
    ) -> Result<(i64, i16), ApiError> {
        if id.is_empty() {
            return Err(ResponseError::InvalidRequest.into());
        }
        if timeout_ms <= 0 || i64::from(timeout_ms) > broker.settings.transaction_max_timeout_ms {
            return Err(ApiError::new(
                ResponseError::InvalidTransactionTimeout,
                format!(
                    "transaction.timeout.ms {timeout_ms} is not between 1 and transaction.max.timeout.ms ({})",
                    broker.settings.transaction_max_timeout_ms
                ),
            ));
        }
        let (p, epoch) = self.route(broker, id).await?;
        let id_lock = self.id_lock(id);
        let _guard = id_lock.lock().await;
        let now = kfk_log::now_ms();
        let mut m = match self.current(id) {
            Some(m) => m,
            None => TxnMetadata::new(id, broker.next_producer_id().await?, timeout_ms, now),
        };
        // A producer id for the rare id whose epochs ran out.
        let rotated = if m.producer_epoch >= i16::MAX - 1 {
            Some(broker.next_producer_id().await?)
        } else {
            None
        };
        match m.init_producer(timeout_ms, now, expected, || rotated.unwrap_or(-1)) {
            Ok(pair) => {
                self.persist(broker, p, m).await?;
                info!(
                    transactional_id = id,
                    producer_id = pair.0,
                    epoch = pair.1,
                    "initialized transactional producer"
                );
                Ok(pair)
            }
            Err(TxnError::ConcurrentTransactions(TxnState::Ongoing)) => {
                // The previous owner's transaction is in the way: fence it
                // and abort it; the producer retries meanwhile.
                m.fence_and_abort(now);
                self.persist(broker, p, m).await?;
                super::markers::spawn_completion(broker, id.to_string(), p, epoch);
                Err(ResponseError::ConcurrentTransactions.into())
            }
            Err(e) => Err(ApiError::new(
                super::txn_error(&e, fenced_as_epoch),
                e.to_string(),
            )),
        }
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn's offsets partition): the
    /// partitions join the producer's transaction.
    ///
    /// # Errors
    /// Kafka's errors for the transaction as a whole.
    pub async fn add_partitions(
        &self,
        broker: &Arc<Broker>,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: Vec<(String, i32)>,
        fenced_as_epoch: bool,
    ) -> Result<(), ApiError> {
        let (p, _) = self.route(broker, id).await?;
        let id_lock = self.id_lock(id);
        let _guard = id_lock.lock().await;
        let mut m = self.known(id)?;
        // Nothing new for an ongoing transaction: no write (Kafka's too).
        if m.state == TxnState::Ongoing
            && m.producer_id == producer_id
            && m.producer_epoch == epoch
            && partitions.iter().all(|tp| m.partitions.contains(tp))
        {
            return Ok(());
        }
        m.add_partitions(producer_id, epoch, partitions, kfk_log::now_ms())
            .map_err(|e| ApiError::new(super::txn_error(&e, fenced_as_epoch), e.to_string()))?;
        self.persist(broker, p, m).await?;
        Ok(())
    }

    /// AddPartitionsToTxn with `verify_only` (a broker checking a
    /// transactional produce, KIP-890): whether the partitions are in the
    /// producer's ongoing transaction.
    ///
    /// # Errors
    /// INVALID_TXN_STATE when they are not; routing and owner errors.
    pub async fn verify(
        &self,
        broker: &Arc<Broker>,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), ApiError> {
        self.route(broker, id).await?;
        let Some(m) = self.current(id) else {
            return Err(ResponseError::InvalidProducerIdMapping.into());
        };
        if m.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping.into());
        }
        if m.producer_epoch != epoch {
            return Err(ResponseError::ProducerFenced.into());
        }
        if m.state != TxnState::Ongoing || !partitions.iter().all(|tp| m.partitions.contains(tp)) {
            return Err(ResponseError::InvalidTxnState.into());
        }
        Ok(())
    }

    /// EndTxn: the outcome is logged, then the markers are written; the
    /// answer waits for them a little (up to [`END_WAIT`]).
    ///
    /// # Errors
    /// Kafka's errors.
    pub async fn end_txn(
        &self,
        broker: &Arc<Broker>,
        id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        fenced_as_epoch: bool,
    ) -> Result<(), ApiError> {
        let (p, coordinator_epoch) = self.route(broker, id).await?;
        {
            let id_lock = self.id_lock(id);
            let _guard = id_lock.lock().await;
            let mut m = self.known(id)?;
            let write = m
                .end(producer_id, epoch, commit, kfk_log::now_ms())
                .map_err(|e| ApiError::new(super::txn_error(&e, fenced_as_epoch), e.to_string()))?;
            if !write {
                return Ok(());
            }
            self.persist(broker, p, m).await?;
        }
        super::markers::spawn_completion(broker, id.to_string(), p, coordinator_epoch);
        let deadline = tokio::time::Instant::now() + END_WAIT;
        loop {
            let done = self.completed.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.current(id).is_none_or(|m| {
                !matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
            }) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                return Ok(());
            }
        }
    }

    /// DescribeTransactions: `id`'s metadata, when this broker coordinates
    /// it (`None`: it has no metadata).
    ///
    /// # Errors
    /// NOT_COORDINATOR and the other routing errors.
    pub async fn describe(
        &self,
        broker: &Arc<Broker>,
        id: &str,
    ) -> Result<Option<TxnMetadata>, ResponseError> {
        self.route(broker, id).await?;
        Ok(self.current(id))
    }

    /// Every transactional id this broker coordinates, for
    /// ListTransactions and DescribeTransactions.
    pub fn snapshot(&self) -> Vec<TxnMetadata> {
        lock(&self.inner).txns.values().cloned().collect()
    }
}
