//! The broker's shared state: settings, the metadata image, and the partitions
//! this broker hosts. Request handlers receive `&Broker`; everything that changes
//! the image goes through the methods here so it is validated and persisted in
//! one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::ResponseError;
use kfk_log::{Log, LogManager, TopicPartition};
use tokio::sync::Notify;
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::Settings;
use crate::metadata::{MetadataImage, MetadataStore, PartitionMeta, TopicMeta};
use crate::producer_state::ProducerStates;
use crate::topic_config;

/// A Kafka error code with the message sent along with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error: ResponseError,
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        ApiError {
            error,
            message: Some(message.into()),
        }
    }
    pub fn code(&self) -> i16 {
        self.error.code()
    }
}

impl From<ResponseError> for ApiError {
    fn from(error: ResponseError) -> Self {
        ApiError {
            error,
            message: None,
        }
    }
}

/// A partition hosted here: its log and idempotence state.
#[derive(Debug)]
pub struct Partition {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    pub log: Arc<Log>,
    /// Held across check, append and record so retries are decided atomically.
    pub producers: Mutex<ProducerStates>,
}

impl Partition {
    /// Rebuilds idempotence state from the active segment's batch headers.
    fn load(tp: TopicPartition, topic_id: Uuid, log: Arc<Log>) -> kfk_log::Result<Partition> {
        let mut producers = ProducerStates::default();
        log.scan_batches(log.active_segment_base_offset(), |b| producers.record(b))?;
        Ok(Partition {
            tp,
            topic_id,
            log,
            producers: Mutex::new(producers),
        })
    }

    /// With one replica the high watermark is the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.log.log_end_offset()
    }
}

/// Kafka's rule: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: String| Err(ApiError::new(ResponseError::InvalidTopicException, why));
    if name.is_empty() {
        return invalid("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return invalid(format!("topic name cannot be {name:?}"));
    }
    if name.len() > 249 {
        return invalid(format!(
            "topic name is {} characters long; the limit is 249",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return invalid(format!(
            "topic name {name:?} contains {c:?}; only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

/// What a CreateTopics entry asks for, after defaults.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i32,
    /// Explicit replica assignment per partition, when given.
    pub assignments: Vec<Vec<i32>>,
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Broker {
    pub settings: Settings,
    pub node_id: i32,
    pub cluster_id: String,
    store: MetadataStore,
    image: RwLock<MetadataImage>,
    /// Serialises changes to the image (validate, apply, persist).
    changes: Mutex<()>,
    pub logs: Arc<LogManager>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Woken on every append so long-polling fetches re-check.
    pub data_arrived: Notify,
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
fn lock_write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ResponseError::KafkaStorageError, e.to_string())
}

impl Broker {
    /// Opens the data directory: metadata, then every partition log, dropping
    /// logs of topics that no longer exist.
    ///
    /// # Errors
    /// Unreadable metadata or logs, or a data directory in use.
    pub fn open(settings: Settings) -> anyhow::Result<Broker> {
        let (store, image) = MetadataStore::open(&settings.data_dir, settings.node_id)?;
        let logs = Arc::new(LogManager::open(
            &settings.data_dir,
            &settings.default_log_config(),
        )?);
        let mut partitions = HashMap::new();
        for (name, topic) in &image.topics {
            let config = topic_config::log_config(&settings, &topic.configs);
            for (i, p) in topic.partitions.iter().enumerate() {
                if !p.replicas.contains(&settings.node_id) {
                    continue;
                }
                let tp = TopicPartition::new(name.clone(), i as i32);
                let log = logs.get_or_create(&tp, config.clone())?;
                log.set_config(config.clone());
                let partition = Partition::load(tp.clone(), topic.id, log)?;
                partitions.insert(tp, Arc::new(partition));
            }
        }
        let stray: Vec<TopicPartition> = logs
            .logs()
            .into_iter()
            .map(|(tp, _)| tp)
            .filter(|tp| !partitions.contains_key(tp))
            .collect();
        if !store.image_found && !stray.is_empty() {
            // Deleting every partition because one file is missing would be the
            // worst possible answer to a damaged data directory.
            anyhow::bail!(
                "{} holds {} partition log(s) but no kfk-metadata.json; refusing to start rather than delete them",
                settings.data_dir.display(),
                stray.len()
            );
        }
        for tp in stray {
            {
                warn!(partition = %tp, "deleting log of a partition the metadata does not have");
                logs.delete(&tp)?;
            }
        }
        info!(cluster_id = %store.cluster_id, topics = image.topics.len(),
            partitions = partitions.len(), "broker state loaded");
        Ok(Broker {
            node_id: settings.node_id,
            cluster_id: store.cluster_id.clone(),
            settings,
            store,
            image: RwLock::new(image),
            changes: Mutex::new(()),
            logs,
            partitions: RwLock::new(partitions),
            data_arrived: Notify::new(),
        })
    }

    /// A consistent copy of the metadata image.
    pub fn image(&self) -> MetadataImage {
        lock_read(&self.image).clone()
    }

    /// Reads the image without copying it.
    pub fn with_image<R>(&self, f: impl FnOnce(&MetadataImage) -> R) -> R {
        f(&lock_read(&self.image))
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        lock_read(&self.partitions).get(tp).cloned()
    }

    /// Host and port clients are told to connect to (`advertised.listeners`,
    /// with or without a `PLAINTEXT://` prefix).
    pub fn advertised_endpoint(&self) -> (String, i32) {
        let addr = self.settings.advertised();
        let addr = addr.rsplit("://").next().unwrap_or(addr);
        match addr.rsplit_once(':') {
            Some((host, port)) => (
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port.parse().unwrap_or(9092),
            ),
            None => (addr.to_string(), 9092),
        }
    }

    /// Live broker ids (just this one until brokers form a cluster).
    pub fn live_brokers(&self) -> Vec<i32> {
        vec![self.node_id]
    }

    /// Applies `change` to a copy of the image, persists it and swaps it in.
    fn change_image<R>(
        &self,
        change: impl FnOnce(&mut MetadataImage) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let _serial = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = self.image();
        let result = change(&mut next)?;
        self.store.save(&next).map_err(storage_error)?;
        *lock_write(&self.image) = next;
        Ok(result)
    }

    /// Validates a topic creation without applying it.
    fn check_new_topic(&self, image: &MetadataImage, t: &NewTopic) -> Result<(), ApiError> {
        validate_topic_name(&t.name)?;
        if image.topics.contains_key(&t.name) {
            return Err(ApiError::new(
                ResponseError::TopicAlreadyExists,
                format!("topic '{}' already exists", t.name),
            ));
        }
        let folded = t.name.replace('.', "_");
        if let Some(other) = image.topics.keys().find(|n| n.replace('.', "_") == folded) {
            return Err(ApiError::new(
                ResponseError::InvalidTopicException,
                format!(
                    "topic '{}' collides with existing topic '{other}' ('.' and '_' are interchangeable in metric names)",
                    t.name
                ),
            ));
        }
        if t.num_partitions < 1 {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                format!(
                    "number of partitions must be at least 1, got {}",
                    t.num_partitions
                ),
            ));
        }
        let live = self.live_brokers();
        if t.assignments.is_empty() {
            if t.replication_factor < 1 || t.replication_factor as usize > live.len() {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicationFactor,
                    format!(
                        "replication factor {} is invalid: {} broker(s) available",
                        t.replication_factor,
                        live.len()
                    ),
                ));
            }
        } else {
            for replicas in &t.assignments {
                if let Some(b) = replicas.iter().find(|b| !live.contains(b)) {
                    return Err(ApiError::new(
                        ResponseError::InvalidReplicaAssignment,
                        format!("broker {b} in the replica assignment is not available"),
                    ));
                }
                let mut sorted = replicas.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if replicas.is_empty() || sorted.len() != replicas.len() {
                    return Err(ApiError::new(
                        ResponseError::InvalidReplicaAssignment,
                        "each partition needs distinct replicas",
                    ));
                }
            }
        }
        for (k, v) in &t.configs {
            topic_config::validate(k, v)
                .map_err(|m| ApiError::new(ResponseError::InvalidConfig, m))?;
        }
        Ok(())
    }

    /// Round-robin placement with a rotating start, as Kafka assigns replicas.
    fn place(&self, partitions: std::ops::Range<i32>, rf: i32) -> Vec<Vec<i32>> {
        let live = self.live_brokers();
        partitions
            .map(|p| {
                (0..rf)
                    .map(|r| live[(p as usize + r as usize) % live.len()])
                    .collect()
            })
            .collect()
    }

    /// Creates a topic (or only validates it). Returns the created metadata.
    ///
    /// # Errors
    /// The Kafka error the client should see.
    pub fn create_topic(&self, t: NewTopic, validate_only: bool) -> Result<TopicMeta, ApiError> {
        let replicas = if t.assignments.is_empty() {
            self.place(0..t.num_partitions, t.replication_factor)
        } else {
            t.assignments.clone()
        };
        let meta = TopicMeta {
            id: Uuid::new_v4(),
            partitions: replicas
                .into_iter()
                .map(|r| PartitionMeta {
                    leader: r[0],
                    isr: r.clone(),
                    replicas: r,
                    leader_epoch: 0,
                })
                .collect(),
            configs: t.configs.clone(),
        };
        if validate_only {
            self.check_new_topic(&lock_read(&self.image), &t)?;
            return Ok(meta);
        }
        let created = self.change_image(|image| {
            self.check_new_topic(image, &t)?;
            image.topics.insert(t.name.clone(), meta.clone());
            Ok(meta)
        })?;
        self.open_partitions(&t.name, &created, 0)?;
        info!(topic = %t.name, partitions = created.partitions.len(), "created topic");
        Ok(created)
    }

    /// Opens the logs of partitions `from..` of a topic that this broker hosts.
    fn open_partitions(&self, name: &str, topic: &TopicMeta, from: usize) -> Result<(), ApiError> {
        let config = topic_config::log_config(&self.settings, &topic.configs);
        let mut partitions = lock_write(&self.partitions);
        for (i, p) in topic.partitions.iter().enumerate().skip(from) {
            if !p.replicas.contains(&self.node_id) {
                continue;
            }
            let tp = TopicPartition::new(name, i as i32);
            let log = self
                .logs
                .get_or_create(&tp, config.clone())
                .map_err(storage_error)?;
            let partition = Partition::load(tp.clone(), topic.id, log).map_err(storage_error)?;
            partitions.insert(tp, Arc::new(partition));
        }
        Ok(())
    }

    /// Creates a topic with broker defaults when auto-creation is enabled.
    pub fn auto_create(&self, name: &str) -> Result<TopicMeta, ApiError> {
        let t = NewTopic {
            name: name.to_string(),
            num_partitions: self.settings.num_partitions,
            replication_factor: self
                .settings
                .default_replication_factor
                .min(self.live_brokers().len() as i32),
            assignments: Vec::new(),
            configs: BTreeMap::new(),
        };
        self.create_topic(t, false)
    }

    /// Deletes a topic and its logs.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, or a storage error.
    pub fn delete_topic(&self, name: &str) -> Result<TopicMeta, ApiError> {
        let removed = self.change_image(|image| {
            image.topics.remove(name).ok_or_else(|| {
                ApiError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("topic '{name}' does not exist"),
                )
            })
        })?;
        let doomed: Vec<TopicPartition> = lock_read(&self.partitions)
            .keys()
            .filter(|tp| tp.topic == name)
            .cloned()
            .collect();
        for tp in doomed {
            lock_write(&self.partitions).remove(&tp);
            self.logs.delete(&tp).map_err(storage_error)?;
        }
        info!(topic = %name, "deleted topic");
        Ok(removed)
    }

    /// Grows a topic to `count` partitions.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Vec<Vec<i32>>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let check = |image: &MetadataImage| -> Result<(usize, i32), ApiError> {
            let topic = image.topics.get(name).ok_or_else(|| {
                ApiError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("topic '{name}' does not exist"),
                )
            })?;
            let current = topic.partitions.len();
            if count as usize <= current {
                return Err(ApiError::new(
                    ResponseError::InvalidPartitions,
                    format!(
                        "topic '{name}' has {current} partitions; the new count must be larger, got {count}"
                    ),
                ));
            }
            if !assignments.is_empty() && assignments.len() != count as usize - current {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "{} assignments given for {} new partitions",
                        assignments.len(),
                        count as usize - current
                    ),
                ));
            }
            let rf = topic
                .partitions
                .first()
                .map_or(1, |p| p.replicas.len() as i32);
            Ok((current, rf))
        };
        if validate_only {
            check(&lock_read(&self.image))?;
            return Ok(());
        }
        let (from, topic) = self.change_image(|image| {
            let (current, rf) = check(image)?;
            let placed = if assignments.is_empty() {
                self.place(current as i32..count, rf)
            } else {
                assignments.clone()
            };
            let live = self.live_brokers();
            if placed.iter().flatten().any(|b| !live.contains(b)) {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    "the assignment names brokers that are not available",
                ));
            }
            let topic = image
                .topics
                .get_mut(name)
                .ok_or(ResponseError::UnknownTopicOrPartition)?;
            topic
                .partitions
                .extend(placed.into_iter().map(|r| PartitionMeta {
                    leader: r[0],
                    isr: r.clone(),
                    replicas: r,
                    leader_epoch: 0,
                }));
            Ok((current, topic.clone()))
        })?;
        self.open_partitions(name, &topic, from)?;
        info!(topic = %name, partitions = count, "added partitions");
        Ok(())
    }

    /// Replaces (`replace_all`) or edits a topic's config overrides. `None`
    /// values delete an override.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION or INVALID_CONFIG.
    pub fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[(String, Option<String>)],
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        for (k, v) in changes {
            if let Some(v) = v {
                topic_config::validate(k, v)
                    .map_err(|m| ApiError::new(ResponseError::InvalidConfig, m))?;
            } else if !topic_config::names().contains(&k.as_str()) {
                return Err(ApiError::new(
                    ResponseError::InvalidConfig,
                    format!("unknown topic config {k}"),
                ));
            }
        }
        let apply = |configs: &mut BTreeMap<String, String>| {
            if replace_all {
                configs.clear();
            }
            for (k, v) in changes {
                match v {
                    Some(v) => configs.insert(k.clone(), v.clone()),
                    None => configs.remove(k),
                };
            }
        };
        let unknown = || {
            ApiError::new(
                ResponseError::UnknownTopicOrPartition,
                format!("topic '{name}' does not exist"),
            )
        };
        if validate_only {
            return lock_read(&self.image)
                .topics
                .get(name)
                .map(|_| ())
                .ok_or_else(unknown);
        }
        let configs = self.change_image(|image| {
            let topic = image.topics.get_mut(name).ok_or_else(unknown)?;
            apply(&mut topic.configs);
            Ok(topic.configs.clone())
        })?;
        let log_config = topic_config::log_config(&self.settings, &configs);
        for (tp, p) in lock_read(&self.partitions).iter() {
            if tp.topic == name {
                p.log.set_config(log_config.clone());
            }
        }
        info!(topic = %name, "altered topic configs");
        Ok(())
    }

    /// Hands out a new producer id (InitProducerId), persisted so ids are never
    /// reused after a restart.
    ///
    /// # Errors
    /// A storage error.
    pub fn next_producer_id(&self) -> Result<i64, ApiError> {
        self.change_image(|image| {
            let id = image.next_producer_id;
            image.next_producer_id += 1;
            Ok(id)
        })
    }

    /// Flushes and closes every log; the next start skips recovery.
    ///
    /// # Errors
    /// The first log that could not be closed.
    pub fn close(&self) -> kfk_log::Result<()> {
        self.logs.close()
    }
}
