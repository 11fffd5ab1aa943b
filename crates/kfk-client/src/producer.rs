//! The producer: records are grouped per partition into batches that are sent
//! when they reach `batch_bytes` or have waited `linger`, one request in flight
//! per partition (so retries keep order), all partitions in parallel.
//!
//! Partitioning follows the Java client: a keyed record goes to
//! `murmur2(key) % partitions`; records without a key stick to one partition
//! until its batch is sent, then move on (KIP-480). With acks=all the producer
//! is idempotent by default: the broker drops a retried batch it already has.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, ProduceRequest, ProducerId};
use kfk_wire::{BatchOptions, Compression, NewRecord, encode_batch};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::partitioner::partition_for_key;

/// The longest wait between two attempts of a batch (Kafka's
/// `retry.backoff.max.ms`).
const MAX_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// 0, 1 or -1 (all).
    pub acks: i16,
    pub compression: Compression,
    pub linger: Duration,
    /// Send a partition's batch once it holds this many bytes.
    pub batch_bytes: usize,
    /// Use producer ids and sequences (only with acks=all, as in Kafka).
    pub idempotent: bool,
    /// Bytes of records queued or in flight before `send` waits (Kafka's
    /// `buffer.memory`): memory stays bounded and a slow cluster slows the
    /// caller instead of queueing without end.
    pub buffer_bytes: usize,
    /// How large a batch may grow while its partition's previous batch is
    /// still in flight. Under load, batches grow instead of queueing up as
    /// many small requests (librdkafka allows 1 MB batches by default); when
    /// the partition is idle, `batch_bytes` and `linger` decide as before.
    pub max_batch_bytes: usize,
    /// How long a record may take from `send` to acknowledged, retries
    /// included (Kafka's `delivery.timeout.ms`): retriable errors — a leader
    /// that died, an election — are retried with backoff until then, so a
    /// failover that takes the brokers' session timeout loses nothing.
    pub delivery_timeout: Duration,
    /// Write in transactions under this id (Kafka's `transactional.id`):
    /// records count only once their transaction commits, and a newer
    /// producer with the id fences this one. Implies idempotence, acks=all.
    pub transactional_id: Option<String>,
    /// How long a transaction may stay open before its coordinator aborts
    /// it (Kafka's `transaction.timeout.ms`).
    pub transaction_timeout: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            compression: Compression::None,
            linger: Duration::from_millis(5),
            batch_bytes: 16 * 1024,
            idempotent: true,
            buffer_bytes: 32 * 1024 * 1024,
            // Well under the brokers' default message.max.bytes (1 MB).
            max_batch_bytes: 512 * 1024,
            delivery_timeout: Duration::from_secs(120),
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
        }
    }
}

/// Where an acknowledged record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: Arc<str>,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
}

/// The outcome of one batch, shared by the deliveries of all its records:
/// one allocation per batch rather than a channel per record.
#[derive(Debug, Default)]
struct BatchOutcome {
    /// The base offset (-1 with acks=0), or why the batch failed.
    result: OnceLock<std::result::Result<i64, String>>,
    /// When the producer learned the result: one clock read per batch gives
    /// every record its exact acknowledgement latency.
    done_at: OnceLock<Instant>,
    done: Notify,
}

impl BatchOutcome {
    fn finish(&self, result: std::result::Result<i64, String>) {
        let _ = self.done_at.set(Instant::now());
        if self.result.set(result).is_ok() {
            self.done.notify_waiters();
        }
    }
}

#[derive(Debug)]
struct Pending {
    records: Vec<NewRecord>,
    bytes: usize,
    since: Instant,
    outcome: Arc<BatchOutcome>,
}

impl Drop for Pending {
    /// A batch dropped unsent (the producer went away) fails its records
    /// rather than leaving their deliveries waiting forever.
    fn drop(&mut self) {
        self.outcome
            .finish(Err("producer dropped before delivery".into()));
    }
}

/// One partition's queue and its send lane: the lane's lock holds the next
/// sequence number and keeps one request in flight, so retries keep order.
#[derive(Debug, Default)]
struct Slot {
    /// Batches waiting, oldest first; only the last one takes new records.
    pending: VecDeque<Pending>,
    lane: Arc<tokio::sync::Mutex<i32>>,
    /// A batch of this partition is being sent; the next one keeps growing
    /// (up to `max_batch_bytes`) and goes when this one is done.
    in_flight: bool,
}

#[derive(Debug)]
struct TopicState {
    name: Arc<str>,
    /// Partition that records without a key currently stick to.
    sticky: Option<i32>,
    slots: Vec<Slot>,
}

#[derive(Debug, Default)]
struct State {
    /// A producer writes to a handful of topics: a short list compared by
    /// name beats hashing the name for every record.
    topics: Vec<TopicState>,
}

#[derive(Debug)]
struct Inner {
    client: Arc<Client>,
    config: ProducerConfig,
    producer: Option<(i64, i16)>,
    /// The open transaction of a transactional producer.
    txn: Option<tokio::sync::Mutex<TxnLocal>>,
    state: Mutex<State>,
    sends: tokio::sync::Mutex<JoinSet<()>>,
    /// Permits are bytes of `buffer_bytes` not yet queued.
    buffer: Semaphore,
}

/// A transactional producer's own view of its transaction.
#[derive(Debug, Default)]
struct TxnLocal {
    open: bool,
    /// Partitions the coordinator has added to the transaction.
    added: std::collections::BTreeSet<(Arc<str>, i32)>,
    /// Why a batch of the transaction failed: it can only be aborted.
    failed: Option<String>,
}

/// A handle to a record on its way; await it for the result.
#[derive(Debug)]
pub struct Delivery {
    outcome: Arc<BatchOutcome>,
    topic: Arc<str>,
    partition: i32,
    index: u32,
}

impl Delivery {
    /// Like [`Delivery::wait`], with the moment the producer learned the
    /// result (for latency measurements that must not depend on when the
    /// caller got round to asking).
    pub async fn wait_timed(self) -> (Result<RecordMetadata>, Instant) {
        let outcome = Arc::clone(&self.outcome);
        let result = self.wait().await;
        let at = outcome.done_at.get().copied().unwrap_or_else(Instant::now);
        (result, at)
    }

    /// # Errors
    /// The error that made the record fail.
    pub async fn wait(self) -> Result<RecordMetadata> {
        loop {
            let notified = self.outcome.done.notified();
            if let Some(result) = self.outcome.result.get() {
                return match result {
                    Ok(base) => Ok(RecordMetadata {
                        topic: self.topic,
                        partition: self.partition,
                        offset: if *base < 0 {
                            -1
                        } else {
                            base + i64::from(self.index)
                        },
                    }),
                    Err(e) => Err(ClientError::Failed(e.clone())),
                };
            }
            notified.await;
        }
    }
}

#[derive(Debug)]
pub struct Producer {
    inner: Arc<Inner>,
    linger_task: tokio::task::JoinHandle<()>,
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.linger_task.abort();
    }
}

impl Producer {
    /// Creates a producer; with idempotence, asks the cluster for a producer id.
    ///
    /// # Errors
    /// When InitProducerId fails.
    pub async fn new(client: Arc<Client>, mut config: ProducerConfig) -> Result<Producer> {
        let producer = if let Some(id) = &config.transactional_id {
            config.acks = -1;
            config.idempotent = true;
            Some(
                client
                    .init_transactional_producer(id, config.transaction_timeout)
                    .await?,
            )
        } else if config.idempotent && config.acks == -1 {
            let req = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            // A broker that has just started answers COORDINATOR_LOAD_IN_PROGRESS
            // (Kafka does while its transaction coordinator loads): retried.
            let resp = client
                .retrying(|| async {
                    let (resp, _) = client.any_broker().await?.send(&req).await?;
                    ClientError::check(resp.error_code, None, "cannot get a producer id")?;
                    Ok(resp)
                })
                .await?;
            Some((resp.producer_id.0, resp.producer_epoch))
        } else {
            None
        };
        let permits = config.buffer_bytes.clamp(1, Semaphore::MAX_PERMITS);
        let txn = config
            .transactional_id
            .is_some()
            .then(|| tokio::sync::Mutex::new(TxnLocal::default()));
        let inner = Arc::new(Inner {
            client,
            config,
            producer,
            txn,
            state: Mutex::default(),
            sends: tokio::sync::Mutex::new(JoinSet::new()),
            buffer: Semaphore::new(permits),
        });
        let linger_task = tokio::spawn(linger_loop(Arc::downgrade(&inner)));
        Ok(Producer { inner, linger_task })
    }

    /// Starts a transaction: what is sent until it is committed or aborted
    /// belongs to it.
    ///
    /// # Errors
    /// Not a transactional producer, or a transaction is open already.
    pub async fn begin_transaction(&self) -> Result<()> {
        let mut t = self.txn()?.lock().await;
        if t.open {
            return Err(ClientError::Invalid("a transaction is already open".into()));
        }
        *t = TxnLocal {
            open: true,
            ..TxnLocal::default()
        };
        Ok(())
    }

    /// Sends what is queued, then commits the open transaction; when a
    /// record of it failed, aborts it instead and says why.
    ///
    /// # Errors
    /// A failed record (the transaction was aborted), or the coordinator's
    /// refusal (a fenced producer).
    pub async fn commit_transaction(&self) -> Result<()> {
        self.end_transaction(true).await
    }

    /// Sends what is queued, then aborts the open transaction: none of its
    /// records will be read by read_committed consumers.
    ///
    /// # Errors
    /// The coordinator's refusal.
    pub async fn abort_transaction(&self) -> Result<()> {
        self.end_transaction(false).await
    }

    fn txn(&self) -> Result<&tokio::sync::Mutex<TxnLocal>> {
        self.inner
            .txn
            .as_ref()
            .ok_or_else(|| ClientError::Invalid("the producer has no transactional id".into()))
    }

    async fn end_transaction(&self, commit: bool) -> Result<()> {
        if !self.txn()?.lock().await.open {
            return Err(ClientError::Invalid("no transaction is open".into()));
        }
        self.flush().await;
        let mut t = self.txn()?.lock().await;
        let failed = t.failed.take();
        let commit = commit && failed.is_none();
        let id = self
            .inner
            .config
            .transactional_id
            .as_deref()
            .unwrap_or_default();
        let producer = self.inner.producer.unwrap_or((-1, -1));
        // Nothing was added: the coordinator has no transaction to end.
        if !t.added.is_empty() {
            self.inner.client.end_txn(id, producer, commit).await?;
        }
        t.open = false;
        t.added.clear();
        match failed {
            Some(why) => Err(ClientError::Failed(format!(
                "the transaction was aborted because a record failed: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Queues a record. `partition` overrides the partitioner. Waits while
    /// the buffer is full.
    ///
    /// # Errors
    /// Unknown topic or partition; for a transactional producer, no open
    /// transaction.
    pub async fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: NewRecord,
    ) -> Result<Delivery> {
        if let Some(t) = &self.inner.txn
            && !t.lock().await.open
        {
            return Err(ClientError::Invalid(
                "a transactional producer sends inside a transaction: begin one first".into(),
            ));
        }
        let count = match self.inner.client.partition_count(topic) {
            Some(n) => n as i32,
            None => self.inner.client.topic(topic).await?.partitions.len() as i32,
        };
        if count == 0 {
            return Err(ClientError::UnknownTopic(topic.to_string()));
        }
        if let Some(p) = partition
            && !(0..count).contains(&p)
        {
            return Err(ClientError::UnknownPartition {
                topic: topic.to_string(),
                partition: p,
            });
        }
        let size = record_size(&record);
        let buffered = self.inner.buffer_permits(size);
        if let Ok(permit) = self.inner.buffer.acquire_many(buffered).await {
            permit.forget();
        }
        let (delivery, full) = {
            let mut st = self.inner.lock();
            let t = st.topic_mut(topic, count as usize);
            let sticky_record = partition.is_none() && record.key.is_none();
            let p = match (partition, &record.key) {
                (Some(p), _) => p,
                (None, Some(key)) => partition_for_key(key, count),
                (None, None) => *t.sticky.get_or_insert_with(|| random_partition(count)),
            };
            let name = Arc::clone(&t.name);
            let slot = &mut t.slots[p as usize];
            let limit = if slot.in_flight {
                self.inner
                    .config
                    .max_batch_bytes
                    .max(self.inner.config.batch_bytes)
            } else {
                self.inner.config.batch_bytes
            };
            if slot.pending.back().is_none_or(|b| b.bytes >= limit) {
                slot.pending.push_back(Pending {
                    records: Vec::new(),
                    bytes: 0,
                    since: Instant::now(),
                    outcome: Arc::default(),
                });
            }
            let pending = slot.pending.back_mut().expect("pushed above");
            let delivery = Delivery {
                outcome: Arc::clone(&pending.outcome),
                topic: Arc::clone(&name),
                partition: p,
                index: pending.records.len() as u32,
            };
            pending.records.push(record);
            pending.bytes += size;
            let batch_done = pending.bytes >= self.inner.config.batch_bytes;
            let full = (!slot.in_flight && batch_done).then_some((name, p));
            if batch_done && sticky_record && t.sticky == Some(p) && count > 1 {
                // KIP-480: records without a key move on once a batch is
                // full, even while it waits for its partition's lane.
                t.sticky = Some((p + 1 + random_partition(count - 1)) % count);
            }
            (delivery, full)
        };
        if let Some((name, p)) = full {
            self.inner.dispatch(&name, p).await;
        }
        Ok(delivery)
    }

    /// Sends everything queued and waits until every send finished.
    pub async fn flush(&self) {
        loop {
            self.inner.dispatch_all(Duration::ZERO).await;
            // Await outside the lock: a finishing send may start the next
            // batch of its partition.
            let mut sends = std::mem::take(&mut *self.inner.sends.lock().await);
            if sends.is_empty() && !self.inner.has_pending() {
                return;
            }
            while sends.join_next().await.is_some() {}
        }
    }
}

fn record_size(r: &NewRecord) -> usize {
    r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len) + 16
}

fn random_partition(count: i32) -> i32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos % count.max(1) as u32) as i32
}

async fn linger_loop(inner: Weak<Inner>) {
    loop {
        let linger = match inner.upgrade() {
            Some(i) => i.config.linger.max(Duration::from_millis(1)),
            None => return,
        };
        tokio::time::sleep(linger).await;
        match inner.upgrade() {
            Some(i) => i.dispatch_all(linger).await,
            None => return,
        }
    }
}

impl State {
    /// The topic's state, grown when the topic gained partitions.
    fn topic_mut(&mut self, topic: &str, partitions: usize) -> &mut TopicState {
        let at = match self.topics.iter().position(|t| &*t.name == topic) {
            Some(i) => i,
            None => {
                self.topics.push(TopicState {
                    name: Arc::from(topic),
                    sticky: None,
                    slots: Vec::new(),
                });
                self.topics.len() - 1
            }
        };
        let t = &mut self.topics[at];
        if t.slots.len() < partitions {
            t.slots.resize_with(partitions, Slot::default);
        }
        t
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        kfk_sync::lock(&self.state)
    }

    /// Buffer permits for a record of `size` bytes (a record larger than the
    /// whole buffer takes all of it).
    fn buffer_permits(&self, size: usize) -> u32 {
        size.min(self.config.buffer_bytes.clamp(1, Semaphore::MAX_PERMITS))
            .min(u32::MAX as usize) as u32
    }

    fn has_pending(&self) -> bool {
        self.lock()
            .topics
            .iter()
            .any(|t| t.slots.iter().any(|s| !s.pending.is_empty() || s.in_flight))
    }

    /// Sends every batch that has waited at least `older_than` (a batch
    /// whose partition has one in flight goes when that one is done).
    async fn dispatch_all(self: &Arc<Self>, older_than: Duration) {
        let ready: Vec<(Arc<str>, i32)> = self
            .lock()
            .topics
            .iter()
            .flat_map(|t| {
                t.slots.iter().enumerate().filter_map(|(p, s)| {
                    s.pending
                        .front()
                        .filter(|b| !s.in_flight && b.since.elapsed() >= older_than)
                        .map(|_| (Arc::clone(&t.name), p as i32))
                })
            })
            .collect();
        for (topic, p) in ready {
            self.dispatch(&topic, p).await;
        }
    }

    /// Takes the batch of a partition and sends it on that partition's lane.
    async fn dispatch(self: &Arc<Self>, topic: &Arc<str>, partition: i32) {
        let (batch, lane) = {
            let mut st = self.lock();
            let Some(t) = st.topics.iter_mut().find(|t| t.name == *topic) else {
                return;
            };
            let partitions = t.slots.len() as i32;
            let Some(slot) = t.slots.get_mut(partition as usize) else {
                return;
            };
            if slot.in_flight {
                return;
            }
            let Some(batch) = slot.pending.pop_front() else {
                return;
            };
            slot.in_flight = true;
            let lane = Arc::clone(&slot.lane);
            if t.sticky == Some(partition) && partitions > 1 {
                // KIP-480: move records without a key on once their batch is sent.
                t.sticky = Some((partition + 1 + random_partition(partitions - 1)) % partitions);
            }
            (batch, lane)
        };
        let inner = Arc::clone(self);
        let topic = Arc::clone(topic);
        let mut sends = self.sends.lock().await;
        // Reap finished sends, so a producer that never flushes stays small.
        while sends.try_join_next().is_some() {}
        sends.spawn(async move {
            let mut batch = batch;
            loop {
                let mut next_seq = lane.lock().await;
                let result = inner
                    .send_batch(&topic, partition, &batch.records, *next_seq)
                    .await;
                if result.is_ok() {
                    *next_seq = next_seq.wrapping_add(batch.records.len() as i32) & i32::MAX;
                }
                drop(next_seq);
                // Exactly the permits `send` took for these records.
                let freed: usize = batch
                    .records
                    .iter()
                    .map(|r| inner.buffer_permits(record_size(r)) as usize)
                    .sum();
                batch.outcome.finish(result.map_err(|e| e.to_string()));
                inner.buffer.add_permits(freed);
                // The partition is free: what gathered meanwhile goes now if
                // it is a full batch or has waited its linger.
                let next = {
                    let mut st = inner.lock();
                    st.topics
                        .iter_mut()
                        .find(|t| t.name == topic)
                        .and_then(|t| t.slots.get_mut(partition as usize))
                        .and_then(|slot| {
                            let ready = slot.pending.len() > 1
                                || slot.pending.front().is_some_and(|b| {
                                    b.bytes >= inner.config.batch_bytes
                                        || b.since.elapsed() >= inner.config.linger
                                });
                            let next = if ready {
                                slot.pending.pop_front()
                            } else {
                                None
                            };
                            slot.in_flight = next.is_some();
                            next
                        })
                };
                match next {
                    Some(b) => batch = b,
                    None => break,
                }
            }
        });
    }

    /// Encodes and sends one batch, retrying retriable errors; returns the base
    /// offset (-1 with acks=0).
    async fn send_batch(
        &self,
        topic: &Arc<str>,
        partition: i32,
        records: &[NewRecord],
        sequence: i32,
    ) -> Result<i64> {
        let (producer_id, producer_epoch, base_sequence) = match self.producer {
            Some((id, epoch)) => (id, epoch, sequence),
            None => (-1, -1, -1),
        };
        if let Err(e) = self.join_transaction(topic, partition).await {
            if let Some(t) = &self.txn {
                t.lock().await.failed.get_or_insert_with(|| e.to_string());
            }
            return Err(e);
        }
        let batch = encode_batch(
            records,
            &BatchOptions {
                compression: self.config.compression,
                producer_id,
                producer_epoch,
                base_sequence,
                transactional: self.txn.is_some(),
            },
        )
        .map_err(|e| ClientError::Invalid(e.to_string()))?
        .freeze();
        let req = ProduceRequest::default()
            .with_transactional_id(
                self.config
                    .transactional_id
                    .as_ref()
                    .map(|id| kafka_protocol::messages::TransactionalId(id.clone().into())),
            )
            .with_acks(self.config.acks)
            .with_timeout_ms(self.client.config().request_timeout.as_millis() as i32)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(kfk_wire::topic_name(&**topic))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(partition)
                            .with_records(Some(batch)),
                    ]),
            ]);
        let deadline = tokio::time::Instant::now() + self.config.delivery_timeout;
        let mut attempt = 0;
        loop {
            let result = self.try_send(topic, partition, &req, attempt > 0).await;
            match result {
                Err(e) if !(e.is_retriable() && tokio::time::Instant::now() < deadline) => {
                    if let Some(t) = &self.txn {
                        t.lock().await.failed.get_or_insert_with(|| e.to_string());
                    }
                    return Err(e);
                }
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(%topic, partition, error = %e, attempt, "retrying produce");
                    // Kafka's retry.backoff.ms growing to retry.backoff.max.ms.
                    let wait = (self.client.config().retry_backoff * attempt).min(MAX_BACKOFF);
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    tokio::time::sleep(wait.min(left)).await;
                }
                other => return other,
            }
        }
    }

    /// Has the coordinator add the partition to the open transaction
    /// before its first batch (Kafka's clients do the same).
    async fn join_transaction(&self, topic: &Arc<str>, partition: i32) -> Result<()> {
        let (Some(t), Some(id), Some(producer)) =
            (&self.txn, &self.config.transactional_id, self.producer)
        else {
            return Ok(());
        };
        let mut t = t.lock().await;
        let key = (Arc::clone(topic), partition);
        if t.added.contains(&key) {
            return Ok(());
        }
        // Every partition with records waiting joins in the same request:
        // one round trip per transaction, not one per partition.
        let mut joining: Vec<(Arc<str>, i32)> = self
            .lock()
            .topics
            .iter()
            .flat_map(|ts| {
                ts.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.in_flight || !s.pending.is_empty())
                    .map(|(p, _)| (Arc::clone(&ts.name), p as i32))
            })
            .filter(|k| !t.added.contains(k))
            .collect();
        if !joining.contains(&key) {
            joining.push(key);
        }
        let partitions: Vec<(String, i32)> =
            joining.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        self.client
            .add_partitions_to_txn(id, producer, &partitions)
            .await?;
        t.added.extend(joining);
        Ok(())
    }

    async fn try_send(
        &self,
        topic: &str,
        partition: i32,
        req: &ProduceRequest,
        refresh: bool,
    ) -> Result<i64> {
        let conn = self.client.leader(topic, partition, refresh).await?;
        if self.config.acks == 0 {
            let version = conn
                .version_for(kafka_protocol::messages::ApiKey::Produce)
                .ok_or(ClientError::Unsupported {
                    addr: conn.addr().to_string(),
                    api: "Produce",
                })?;
            conn.send_no_response(req, version).await?;
            return Ok(-1);
        }
        let (resp, _) = conn.send(req).await?;
        conn.throttled(resp.throttle_time_ms);
        let p = resp
            .responses
            .first()
            .and_then(|t| t.partition_responses.first())
            .ok_or_else(|| ClientError::Protocol {
                addr: conn.addr().to_string(),
                reason: "empty produce response".into(),
            })?;
        ClientError::check(
            p.error_code,
            p.error_message.as_deref(),
            format!("cannot produce to {topic}-{partition}"),
        )?;
        Ok(p.base_offset)
    }
}
