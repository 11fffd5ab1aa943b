//! The producer: records are grouped per partition into batches that are sent
//! when they reach `batch_bytes` or have waited `linger`, one request in flight
//! per partition (so retries keep order), all partitions in parallel.
//!
//! Partitioning follows the Java client: a keyed record goes to
//! `murmur2(key) % partitions`; records without a key stick to one partition
//! until its batch is sent, then move on (KIP-480). With acks=all the producer
//! is idempotent by default: the broker drops a retried batch it already has.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, ProduceRequest, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use kfk_wire::{BatchOptions, Compression, NewRecord, encode_batch};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::partitioner::partition_for_key;

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
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            compression: Compression::None,
            linger: Duration::from_millis(5),
            batch_bytes: 16 * 1024,
            idempotent: true,
        }
    }
}

/// Where an acknowledged record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
}

type TopicPartition = (String, i32);
type Waiter = oneshot::Sender<Result<RecordMetadata>>;

#[derive(Debug)]
struct Pending {
    records: Vec<NewRecord>,
    bytes: usize,
    waiters: Vec<Waiter>,
    since: Instant,
}

#[derive(Debug, Default)]
struct State {
    pending: HashMap<TopicPartition, Pending>,
    /// Partition that records without a key currently stick to, per topic.
    sticky: HashMap<String, i32>,
    /// Per-partition send lock holding the next sequence number.
    lanes: HashMap<TopicPartition, Arc<tokio::sync::Mutex<i32>>>,
}

#[derive(Debug)]
struct Inner {
    client: Arc<Client>,
    config: ProducerConfig,
    producer: Option<(i64, i16)>,
    state: Mutex<State>,
    sends: tokio::sync::Mutex<JoinSet<()>>,
}

/// A handle to a record on its way; await it for the result.
#[derive(Debug)]
pub struct Delivery(oneshot::Receiver<Result<RecordMetadata>>);

impl Delivery {
    /// # Errors
    /// The error that made the record fail.
    pub async fn wait(self) -> Result<RecordMetadata> {
        self.0.await.unwrap_or_else(|_| {
            Err(ClientError::Invalid(
                "producer dropped before delivery".into(),
            ))
        })
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
    pub async fn new(client: Arc<Client>, config: ProducerConfig) -> Result<Producer> {
        let producer = if config.idempotent && config.acks == -1 {
            let req = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            let conn = client.any_broker().await?;
            let (resp, _) = conn.send(&req).await?;
            if let Some(e) =
                ClientError::from_code(resp.error_code, None, "cannot get a producer id")
            {
                return Err(e);
            }
            Some((resp.producer_id.0, resp.producer_epoch))
        } else {
            None
        };
        let inner = Arc::new(Inner {
            client,
            config,
            producer,
            state: Mutex::default(),
            sends: tokio::sync::Mutex::new(JoinSet::new()),
        });
        let linger_task = tokio::spawn(linger_loop(Arc::downgrade(&inner)));
        Ok(Producer { inner, linger_task })
    }

    /// Queues a record. `partition` overrides the partitioner.
    ///
    /// # Errors
    /// Unknown topic or partition.
    pub async fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: NewRecord,
    ) -> Result<Delivery> {
        let count = match self.inner.client.partition_count(topic) {
            Some(n) => n as i32,
            None => self.inner.client.topic(topic).await?.partitions.len() as i32,
        };
        if count == 0 {
            return Err(ClientError::UnknownTopic(topic.to_string()));
        }
        let (tx, rx) = oneshot::channel();
        let full = {
            let mut st = self.inner.lock();
            let p = match (partition, &record.key) {
                (Some(p), _) => {
                    if !(0..count).contains(&p) {
                        return Err(ClientError::UnknownPartition {
                            topic: topic.to_string(),
                            partition: p,
                        });
                    }
                    p
                }
                (None, Some(key)) => partition_for_key(key, count),
                (None, None) => *st
                    .sticky
                    .entry(topic.to_string())
                    .or_insert_with(|| random_partition(count)),
            };
            let tp = (topic.to_string(), p);
            let size = record_size(&record);
            let pending = st.pending.entry(tp.clone()).or_insert_with(|| Pending {
                records: Vec::new(),
                bytes: 0,
                waiters: Vec::new(),
                since: Instant::now(),
            });
            pending.records.push(record);
            pending.bytes += size;
            pending.waiters.push(tx);
            (pending.bytes >= self.inner.config.batch_bytes).then_some(tp)
        };
        if let Some(tp) = full {
            self.inner.dispatch(&tp, count).await;
        }
        Ok(Delivery(rx))
    }

    /// Sends everything queued and waits until every send finished.
    pub async fn flush(&self) {
        self.inner.dispatch_all(Duration::ZERO).await;
        let mut sends = self.inner.sends.lock().await;
        while sends.join_next().await.is_some() {}
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

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends every batch that has waited at least `older_than`.
    async fn dispatch_all(self: &Arc<Self>, older_than: Duration) {
        let ready: Vec<TopicPartition> = self
            .lock()
            .pending
            .iter()
            .filter(|(_, p)| p.since.elapsed() >= older_than)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in ready {
            let count = self
                .client
                .metadata()
                .topics
                .get(&tp.0)
                .map_or(1, |t| t.partitions.len() as i32);
            self.dispatch(&tp, count).await;
        }
    }

    /// Takes the batch of `tp` and sends it on that partition's lane.
    async fn dispatch(self: &Arc<Self>, tp: &TopicPartition, partitions: i32) {
        let (batch, lane) = {
            let mut st = self.lock();
            let Some(batch) = st.pending.remove(tp) else {
                return;
            };
            if st.sticky.get(&tp.0) == Some(&tp.1) && partitions > 1 {
                // KIP-480: move records without a key on once their batch is sent.
                let next = (tp.1 + 1 + random_partition(partitions - 1)) % partitions;
                st.sticky.insert(tp.0.clone(), next);
            }
            let lane = Arc::clone(st.lanes.entry(tp.clone()).or_default());
            (batch, lane)
        };
        let inner = Arc::clone(self);
        let tp = tp.clone();
        self.sends.lock().await.spawn(async move {
            let mut next_seq = lane.lock().await;
            let result = inner.send_batch(&tp, &batch.records, *next_seq).await;
            if result.is_ok() {
                *next_seq = next_seq.wrapping_add(batch.records.len() as i32) & i32::MAX;
            }
            for (i, waiter) in batch.waiters.into_iter().enumerate() {
                let _ = waiter.send(match &result {
                    Ok(base) => Ok(RecordMetadata {
                        topic: tp.0.clone(),
                        partition: tp.1,
                        offset: if *base < 0 { -1 } else { base + i as i64 },
                    }),
                    Err(e) => Err(ClientError::Invalid(e.to_string())),
                });
            }
        });
    }

    /// Encodes and sends one batch, retrying retriable errors; returns the base
    /// offset (-1 with acks=0).
    async fn send_batch(
        &self,
        tp: &TopicPartition,
        records: &[NewRecord],
        sequence: i32,
    ) -> Result<i64> {
        let (producer_id, producer_epoch, base_sequence) = match self.producer {
            Some((id, epoch)) => (id, epoch, sequence),
            None => (-1, -1, -1),
        };
        let batch = encode_batch(
            records,
            &BatchOptions {
                compression: self.config.compression,
                producer_id,
                producer_epoch,
                base_sequence,
            },
        )
        .map_err(|e| ClientError::Invalid(e.to_string()))?
        .freeze();
        let req = ProduceRequest::default()
            .with_transactional_id(None)
            .with_acks(self.config.acks)
            .with_timeout_ms(self.client.config().request_timeout.as_millis() as i32)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(tp.0.clone())))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(tp.1)
                            .with_records(Some(batch)),
                    ]),
            ]);
        let retries = self.client.config().retries;
        let mut attempt = 0;
        loop {
            let result = self.try_send(tp, &req, attempt > 0).await;
            match result {
                Err(e) if e.is_retriable() && attempt < retries => {
                    attempt += 1;
                    tracing::debug!(topic = %tp.0, partition = tp.1, error = %e, attempt, "retrying produce");
                    self.client.backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    async fn try_send(
        &self,
        tp: &TopicPartition,
        req: &ProduceRequest,
        refresh: bool,
    ) -> Result<i64> {
        let conn = self.client.leader(&tp.0, tp.1, refresh).await?;
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
        let p = resp
            .responses
            .first()
            .and_then(|t| t.partition_responses.first())
            .ok_or_else(|| ClientError::Protocol {
                addr: conn.addr().to_string(),
                reason: "empty produce response".into(),
            })?;
        match ClientError::from_code(
            p.error_code,
            p.error_message.as_deref(),
            format!("cannot produce to {}-{}", tp.0, tp.1),
        ) {
            Some(e) => Err(e),
            None => Ok(p.base_offset),
        }
    }
}
