//! The cluster as a client sees it: bootstrap, one connection per broker, and a
//! metadata cache that routes requests to partition leaders.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
use uuid::Uuid;

use crate::connection::Connection;
use crate::error::{ClientError, Result};

/// How to reach the cluster and how patient to be.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to start from.
    pub bootstrap: Vec<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Attempts for retriable errors (leader moved, broker restarting).
    pub retries: u32,
    pub retry_backoff: Duration,
    /// Authenticate every connection (a SASL listener); `None`: PLAINTEXT.
    pub sasl: Option<crate::sasl::SaslConfig>,
    /// Speak TLS (SSL and SASL_SSL listeners); `None`: plain TCP.
    pub tls: Option<Arc<kfk_tls::rustls::ClientConfig>>,
}

impl ClientConfig {
    pub fn new(bootstrap: impl IntoIterator<Item = impl Into<String>>) -> Self {
        ClientConfig {
            bootstrap: bootstrap.into_iter().map(Into::into).collect(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retries: 5,
            retry_backoff: Duration::from_millis(100),
            sasl: None,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
    pub error: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub id: Uuid,
    pub internal: bool,
    /// Sorted by partition number (so lookups are binary searches: a topic
    /// may have 100,000 partitions).
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// Partition `partition`, if the topic has it.
    pub fn partition(&self, partition: i32) -> Option<&PartitionInfo> {
        self.partitions
            .binary_search_by_key(&partition, |p| p.partition)
            .ok()
            .map(|i| &self.partitions[i])
    }

    /// Whether the topic has partition `partition`.
    pub fn has_partition(&self, partition: i32) -> bool {
        self.partition(partition).is_some()
    }
}

/// A snapshot of the cluster's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    /// Shared: a topic may have 100,000 partitions, and callers asking for
    /// one topic get it without a deep copy.
    pub topics: BTreeMap<String, Arc<TopicInfo>>,
}

impl Metadata {
    /// The leader of `topic`-`partition`, -1 when it has none or is unknown.
    pub fn leader_of(&self, topic: &str, partition: i32) -> i32 {
        self.topics
            .get(topic)
            .and_then(|t| t.partition(partition))
            .map_or(-1, |x| x.leader)
    }

    fn merge(&mut self, resp: MetadataResponse, all_topics: bool) {
        self.cluster_id = resp.cluster_id.map(|c| c.to_string());
        self.controller_id = resp.controller_id.0;
        self.brokers = resp
            .brokers
            .into_iter()
            .map(|b| {
                (
                    b.node_id.0,
                    BrokerInfo {
                        id: b.node_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        if all_topics {
            self.topics.clear();
        }
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                self.topics.remove(&name);
                continue;
            }
            let mut partitions: Vec<PartitionInfo> = t
                .partitions
                .into_iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    offline: p.offline_replicas.iter().map(|b| b.0).collect(),
                    error: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            self.topics.insert(
                name.clone(),
                Arc::new(TopicInfo {
                    name,
                    id: t.topic_id,
                    internal: t.is_internal,
                    partitions,
                }),
            );
        }
    }
}

/// A client of one cluster.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    conns: tokio::sync::Mutex<HashMap<String, Arc<Connection>>>,
    /// Shared, replaced whole on refresh: readers on hot paths (every
    /// produced record, every fetch round) take an `Arc`, never a deep copy.
    meta: RwLock<Arc<Metadata>>,
}

impl Client {
    /// Connects to the first bootstrap broker that answers and loads metadata.
    ///
    /// # Errors
    /// [`ClientError::Unreachable`] when no bootstrap broker answers.
    pub async fn connect(config: ClientConfig) -> Result<Arc<Client>> {
        if config.bootstrap.is_empty() {
            return Err(ClientError::Invalid("no bootstrap servers given".into()));
        }
        let client = Arc::new(Client {
            config,
            conns: tokio::sync::Mutex::default(),
            meta: RwLock::default(),
        });
        client.refresh(None).await?;
        Ok(client)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The cached metadata.
    pub fn metadata(&self) -> Arc<Metadata> {
        Arc::clone(&kfk_sync::read(&self.meta))
    }

    /// The ids of the cluster's live brokers, from fresh metadata.
    ///
    /// # Errors
    /// When no broker answers.
    pub async fn broker_ids(&self) -> Result<Vec<i32>> {
        Ok(self.refresh(None).await?.brokers.keys().copied().collect())
    }

    /// How many partitions `topic` has, from the cache.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        kfk_sync::read(&self.meta)
            .topics
            .get(topic)
            .map(|t| t.partitions.len())
    }

    /// A connection to `addr`, reused while it is open.
    pub async fn connection(&self, addr: &str) -> Result<Arc<Connection>> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(addr)
            && c.is_usable()
        {
            return Ok(Arc::clone(c));
        }
        let conn = Arc::new(
            Connection::connect_with(addr, self.config.connect_timeout, self.config.tls.as_ref())
                .await
                .map(|c| c.with_timeout(self.config.request_timeout))?,
        );
        if let Some(sasl) = &self.config.sasl {
            conn.authenticate(sasl).await?;
        }
        conns.insert(addr.to_string(), Arc::clone(&conn));
        Ok(conn)
    }

    /// Any broker that answers: known brokers first, then the bootstrap list.
    ///
    /// # Errors
    /// [`ClientError::Unreachable`].
    pub async fn any_broker(&self) -> Result<Arc<Connection>> {
        let mut addrs: Vec<String> = self
            .metadata()
            .brokers
            .values()
            .map(BrokerInfo::addr)
            .collect();
        addrs.extend(self.config.bootstrap.iter().cloned());
        let mut last = String::from("no address");
        for addr in &addrs {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = e.to_string(),
            }
        }
        Err(ClientError::Unreachable {
            addrs: self.config.bootstrap.join(","),
            last,
        })
    }

    /// A connection to broker `id`.
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for an unknown broker, or the connection error.
    pub async fn broker(&self, id: i32) -> Result<Arc<Connection>> {
        let addr = self
            .metadata()
            .brokers
            .get(&id)
            .map(BrokerInfo::addr)
            .ok_or_else(|| {
                ClientError::Invalid(format!("broker {id} is not in the cluster metadata"))
            })?;
        self.connection(&addr).await
    }

    /// The active controller, where admin requests go.
    ///
    /// # Errors
    /// As [`Client::broker`].
    pub async fn controller(&self) -> Result<Arc<Connection>> {
        let id = self.metadata().controller_id;
        match self.broker(id).await {
            Ok(c) => Ok(c),
            Err(_) => self.any_broker().await,
        }
    }

    /// Reloads metadata for `topics` (all topics when `None`), without creating
    /// topics.
    ///
    /// # Errors
    /// When no broker answers.
    pub async fn refresh(&self, topics: Option<&[String]>) -> Result<Metadata> {
        self.fetch_metadata(topics, false).await
    }

    /// Asks for `name`'s metadata letting the broker create the topic
    /// (`auto.create.topics.enable`), as Kafka's producers do on a first send;
    /// waits (bounded) until the new topic's partitions have leaders.
    ///
    /// # Errors
    /// [`ClientError::UnknownTopic`] when the broker does not create topics
    /// on first use.
    pub async fn auto_create(&self, name: &str) -> Result<Arc<TopicInfo>> {
        let only = [name.to_string()];
        let req = MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(kfk_wire::topic_name(name))),
            ]))
            .with_allow_auto_topic_creation(true);
        // A broker that creates it answers UNKNOWN_TOPIC_OR_PARTITION (Kafka
        // while it forwards the creation to its controller), then
        // LEADER_NOT_AVAILABLE or partitions without leaders until they have
        // them. One that does not create answers UNKNOWN_TOPIC_OR_PARTITION
        // for ever: that is given up after a while (Kafka's producer waits
        // max.block.ms, a minute).
        let started = std::time::Instant::now();
        let give_up_unknown = std::time::Duration::from_secs(3);
        for _ in 0..100 {
            let (resp, _) = self.any_broker().await?.send(&req).await?;
            let Some(t) = resp.topics.first() else { break };
            match kafka_protocol::ResponseError::try_from_code(t.error_code) {
                None if !t.partitions.is_empty()
                    && t.partitions.iter().all(|p| p.leader_id.0 >= 0) =>
                {
                    if let Some(t) = self.refresh(Some(&only)).await?.topics.get(name) {
                        return Ok(Arc::clone(t));
                    }
                }
                None | Some(kafka_protocol::ResponseError::LeaderNotAvailable) => {}
                Some(kafka_protocol::ResponseError::UnknownTopicOrPartition)
                    if started.elapsed() < give_up_unknown => {}
                Some(
                    error @ (kafka_protocol::ResponseError::TopicAuthorizationFailed
                    | kafka_protocol::ResponseError::ClusterAuthorizationFailed),
                ) => {
                    return Err(ClientError::Kafka {
                        error,
                        message: None,
                        context: format!("topic '{name}'"),
                    });
                }
                Some(_) => break,
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(ClientError::UnknownTopic(name.to_string()))
    }

    async fn fetch_metadata(
        &self,
        topics: Option<&[String]>,
        allow_create: bool,
    ) -> Result<Metadata> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(kfk_wire::topic_name(t.as_str())))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_create);
        let conn = self.any_broker().await?;
        let (resp, _) = conn.send(&req).await?;
        let mut guard = kfk_sync::write(&self.meta);
        let mut meta = Metadata::clone(&guard);
        meta.merge(resp, topics.is_none());
        *guard = Arc::new(meta.clone());
        Ok(meta)
    }

    /// Topic metadata, refreshed if the cache does not have it.
    ///
    /// # Errors
    /// [`ClientError::UnknownTopic`] when the cluster does not have it.
    pub async fn topic(&self, name: &str) -> Result<Arc<TopicInfo>> {
        if let Some(t) = self.metadata().topics.get(name) {
            return Ok(t.clone());
        }
        self.refresh(Some(&[name.to_string()]))
            .await?
            .topics
            .get(name)
            .cloned()
            .ok_or_else(|| ClientError::UnknownTopic(name.to_string()))
    }

    /// The leader of a partition (refreshing metadata when `refresh`).
    ///
    /// # Errors
    /// Unknown topic or partition, no leader, or the connection error.
    pub async fn leader(
        &self,
        topic: &str,
        partition: i32,
        refresh: bool,
    ) -> Result<Arc<Connection>> {
        if refresh {
            self.refresh(Some(&[topic.to_string()])).await?;
        }
        let t = self.topic(topic).await?;
        let p = t
            .partition(partition)
            .ok_or_else(|| ClientError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            })?;
        if p.leader < 0 {
            return Err(ClientError::Kafka {
                error: kafka_protocol::ResponseError::LeaderNotAvailable,
                message: Some("offline: its in-sync replicas are down".into()),
                context: format!("{topic}-{partition} has no leader"),
            });
        }
        self.broker(p.leader).await
    }

    /// Waits `retry_backoff * attempt` before another attempt, growing to a
    /// second at most (or `retry_backoff` when that is longer), as Kafka's
    /// `retry.backoff.max.ms` caps it.
    pub async fn backoff(&self, attempt: u32) {
        let most = self
            .config
            .retry_backoff
            .max(std::time::Duration::from_secs(1));
        let wait = self.config.retry_backoff * attempt.max(1);
        tokio::time::sleep(wait.min(most)).await;
    }
}
