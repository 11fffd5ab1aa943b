//! The broker's shared state: settings, the metadata quorum and its image, and
//! the partitions this broker hosts. Request handlers receive `&Broker`; every
//! change to the image is validated here and then committed through the quorum,
//! after which the partition logs are brought in line with the new image.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kfk_log::{LogManager, TopicPartition};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{debug, info};
use uuid::Uuid;

use crate::config::Settings;
use crate::metadata::{BrokerRegistration, MetadataImage, MetadataStore, PartitionMeta, TopicMeta};
pub use crate::partition::Partition;
use crate::partition::{FollowerView, IsrChange};
use crate::quorum::log_store::LogStore;
use crate::quorum::network::{Liveness, Network};
use crate::quorum::state_machine::StateMachine;
use crate::quorum::{CommandResult, MetadataCommand, MetadataRaft};
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

pub struct Broker {
    pub settings: Settings,
    pub node_id: i32,
    pub cluster_id: String,
    raft: MetadataRaft,
    /// The image as the state machine last published it.
    image: watch::Receiver<MetadataImage>,
    /// Serialises validate-then-propose so checks see the previous change.
    changes: tokio::sync::Mutex<()>,
    pub logs: Arc<LogManager>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Woken on every append and high-watermark move so long-polling
    /// fetches re-check.
    pub data_arrived: Notify,
    /// Serves Raft RPCs from peers when there are any.
    quorum_server: Option<tokio::task::JoinHandle<()>>,
    /// High watermarks read at start, handed to partitions as they open.
    checkpointed_hw: Mutex<HashMap<TopicPartition, i64>>,
    /// ISR changes partition leaders want; a task commits them.
    isr_changes: mpsc::UnboundedSender<(TopicPartition, IsrChange)>,
    /// Leaders that have a replica fetcher task running.
    fetchers: Mutex<HashSet<i32>>,
    /// Set once shutdown begins: no more heartbeats or fetching.
    stopping: AtomicBool,
    /// This broker's unused producer ids.
    producer_ids: tokio::sync::Mutex<std::ops::Range<i64>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("node_id", &self.node_id)
            .field("cluster_id", &self.cluster_id)
            .field("data_dir", &self.settings.data_dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// Producer ids a broker reserves at a time (Kafka's block size).
const PRODUCER_ID_BLOCK: i64 = 1000;

/// How long a starting broker waits for its metadata quorum to be ready.
const QUORUM_READY: Duration = Duration::from_secs(30);
/// Patience for one forwarded metadata change.
const QUORUM_RPC: Duration = Duration::from_secs(10);

/// How long a stopping broker tries to hand over its leaderships.
const CONTROLLED_SHUTDOWN_PATIENCE: Duration = Duration::from_secs(3);

/// How long a change waits for the quorum to (re-)elect a leader before the
/// request fails with NOT_CONTROLLER.
const LEADER_PATIENCE: Duration = Duration::from_secs(5);

/// Commits a command through the quorum: locally when this broker leads it,
/// else by forwarding it to the leader; returns once this broker's own image
/// includes the change. While the quorum is between leaders (the controller
/// just stopped), waits up to [`LEADER_PATIENCE`] for the next one.
async fn commit(raft: &MetadataRaft, cmd: MetadataCommand) -> Result<CommandResult, ApiError> {
    let deadline = tokio::time::Instant::now() + LEADER_PATIENCE;
    loop {
        match commit_once(raft, cmd.clone()).await {
            Err(Attempt::NotApplied(e)) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = ?e, "no reachable quorum leader yet; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(Attempt::NotApplied(e) | Attempt::Failed(e)) => return Err(e),
            Ok(r) => return Ok(r),
        }
    }
}

/// A failed commit: whether it can safely be tried again.
enum Attempt {
    NotApplied(ApiError),
    Failed(ApiError),
}

async fn commit_once(raft: &MetadataRaft, cmd: MetadataCommand) -> Result<CommandResult, Attempt> {
    match raft.client_write(cmd.clone()).await {
        Ok(r) => Ok(r.data),
        Err(openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(f),
        )) => {
            let leader = f.leader_node.ok_or_else(|| {
                Attempt::NotApplied(ApiError::new(
                    ResponseError::NotController,
                    "the metadata quorum has no leader right now",
                ))
            })?;
            let (result, index) = crate::quorum::network::forward(&leader.addr, cmd, QUORUM_RPC)
                .await
                .map_err(|r| {
                    let e = ApiError::new(ResponseError::NotController, r.message);
                    if r.not_applied {
                        Attempt::NotApplied(e)
                    } else {
                        Attempt::Failed(e)
                    }
                })?;
            raft.wait(Some(QUORUM_RPC))
                .applied_index_at_least(Some(index), "the change to reach this broker")
                .await
                .map_err(|e| {
                    Attempt::Failed(ApiError::new(ResponseError::RequestTimedOut, e.to_string()))
                })?;
            Ok(result)
        }
        Err(e) => Err(Attempt::Failed(ApiError::new(
            ResponseError::UnknownServerError,
            e.to_string(),
        ))),
    }
}

/// Commits a command from a broker that is still starting, retrying while a
/// leader is being elected.
async fn propose_with_retry(raft: &MetadataRaft, cmd: MetadataCommand) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        match commit(raft, cmd.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = ?e, "metadata change not committed yet; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!(
                "the metadata quorum did not commit a change: {}",
                e.message.unwrap_or_default()
            ),
        }
    }
}

/// Asks the voters, until the leader among them agrees, to add this broker
/// as a learner of the metadata quorum.
async fn join_as_learner(
    voters: &BTreeMap<u64, openraft::BasicNode>,
    node_id: u64,
    own_addr: &str,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        let mut last = String::new();
        for voter in voters.values() {
            match crate::quorum::network::join(&voter.addr, node_id, own_addr, QUORUM_RPC).await {
                Ok(()) => {
                    info!(controller = %voter.addr, "joined the metadata quorum as a learner");
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!(
                "no voter of the metadata quorum accepted this broker as a learner: {last}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tells the controller every `broker.heartbeat.interval.ms` that this broker
/// is alive (straight into the liveness table when this broker is it).
async fn send_heartbeats(broker: std::sync::Weak<Broker>, liveness: Arc<Liveness>) {
    loop {
        let Some(b) = broker.upgrade() else { return };
        if b.stopping.load(Ordering::Relaxed) {
            return;
        }
        let interval = Duration::from_millis(b.settings.broker_heartbeat_interval_ms.max(10));
        let (leader, addr) = {
            let m = b.raft.metrics();
            let m = m.borrow();
            let leader = m.current_leader;
            let addr = leader.and_then(|l| {
                m.membership_config
                    .membership()
                    .get_node(&l)
                    .map(|n| n.addr.clone())
            });
            (leader, addr)
        };
        if leader == Some(b.node_id as u64) {
            liveness.saw(b.node_id);
        } else if let Some(addr) = addr
            && let Err(e) = crate::quorum::network::heartbeat(&addr, b.node_id, interval).await
        {
            tracing::debug!(error = %e, "heartbeat to the controller failed");
        }
        drop(b);
        tokio::time::sleep(interval).await;
    }
}

/// On the active controller: fences brokers that stopped heartbeating for
/// `broker.session.timeout.ms` and unfences them when they are heard again.
async fn watch_brokers(broker: std::sync::Weak<Broker>, liveness: Arc<Liveness>) {
    let mut leading = false;
    loop {
        let Some(b) = broker.upgrade() else { return };
        let session = Duration::from_millis(b.settings.broker_session_timeout_ms.max(100));
        let is_leader = b.raft.metrics().borrow().current_leader == Some(b.node_id as u64);
        // Brokers that shut down stay fenced until they register again.
        let registered: Vec<(i32, bool)> = b.with_image(|i| {
            i.brokers
                .values()
                .filter(|r| !r.stopped)
                .map(|r| (r.id, r.fenced))
                .collect()
        });
        if is_leader && !leading {
            liveness.reset(&registered.iter().map(|r| r.0).collect::<Vec<_>>());
        }
        leading = is_leader;
        if is_leader {
            for (id, fenced) in registered {
                let alive = liveness
                    .last_seen(id)
                    .is_some_and(|t| t.elapsed() < session);
                let change = match (alive, fenced) {
                    (false, false) => Some(MetadataCommand::FenceBroker(id)),
                    (true, true) => Some(MetadataCommand::UnfenceBroker(id)),
                    _ => None,
                };
                if let Some(cmd) = change {
                    info!(broker = id, alive, "broker liveness changed");
                    if let Err(e) = b.propose(cmd).await {
                        tracing::warn!(error = ?e, "could not record a broker's liveness");
                    }
                }
            }
        }
        drop(b);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Keeps the partition logs in line with every image the quorum publishes
/// (changes made through other brokers arrive this way).
async fn follow_image(broker: std::sync::Weak<Broker>, mut image: watch::Receiver<MetadataImage>) {
    while image.changed().await.is_ok() {
        let Some(b) = broker.upgrade() else { return };
        if let Err(e) = b.sync_partitions() {
            tracing::error!(error = ?e, "could not apply a metadata change to the partition logs");
        }
        b.ensure_fetchers();
    }
}

/// Commits the ISR changes partition leaders ask for, and every half
/// `replica.lag.time.max.ms` asks each led partition whether a follower fell
/// out of sync.
async fn maintain_isr(
    broker: std::sync::Weak<Broker>,
    mut changes: mpsc::UnboundedReceiver<(TopicPartition, IsrChange)>,
) {
    let lag = match broker.upgrade() {
        Some(b) => Duration::from_millis(b.settings.replica_lag_time_max_ms.max(1)),
        None => return,
    };
    let mut tick =
        tokio::time::interval((lag / 2).clamp(Duration::from_millis(50), Duration::from_secs(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (tp, change) = tokio::select! {
            c = changes.recv() => match c {
                Some(c) => c,
                None => return,
            },
            _ = tick.tick() => {
                let Some(b) = broker.upgrade() else { return };
                let parts: Vec<Arc<Partition>> = lock_read(&b.partitions).values().cloned().collect();
                for p in parts {
                    if let Some(change) = p.shrink_lagging(lag) {
                        let _ = b.isr_changes.send((p.tp.clone(), change));
                    }
                }
                continue;
            }
        };
        let Some(b) = broker.upgrade() else { return };
        let Some(part) = b.partition(&tp) else {
            continue;
        };
        let cmd = MetadataCommand::AlterPartition {
            topic: tp.topic.clone(),
            partition: tp.partition,
            leader: b.node_id,
            leader_epoch: change.leader_epoch,
            partition_epoch: change.partition_epoch,
            isr: change.isr.clone(),
        };
        match b.propose(cmd).await {
            Ok(CommandResult::Done) => {
                info!(partition = %tp, isr = ?change.isr, "ISR changed");
            }
            other => {
                debug!(partition = %tp, result = ?other, "ISR change not applied");
                part.isr_change_failed();
            }
        }
    }
}

/// Saves every hosted partition's high watermark every
/// `replica.high.watermark.checkpoint.interval.ms`.
async fn checkpoint_hws(broker: std::sync::Weak<Broker>) {
    loop {
        let every = match broker.upgrade() {
            Some(b) => {
                if let Err(e) = b.save_hw_checkpoint() {
                    tracing::warn!(error = %e, "could not save the high-watermark checkpoint");
                }
                Duration::from_millis(
                    b.settings
                        .replica_high_watermark_checkpoint_interval_ms
                        .max(10),
                )
            }
            None => return,
        };
        tokio::time::sleep(every).await;
    }
}

/// Directory of the metadata quorum's Raft log and snapshots.
pub const QUORUM_DIR: &str = "__cluster_metadata";

impl Broker {
    /// Opens the data directory: the metadata quorum (its own single voter for
    /// now), then every partition log the image names, dropping logs of topics
    /// that no longer exist.
    ///
    /// # Errors
    /// Unreadable metadata or logs, a data directory in use, or a quorum that
    /// does not become ready.
    pub async fn open(settings: Settings) -> anyhow::Result<Arc<Broker>> {
        let mut store = MetadataStore::open(&settings.data_dir, settings.node_id)?;
        let logs = Arc::new(LogManager::open(
            &settings.data_dir,
            &settings.default_log_config(),
        )?);
        let quorum_dir = settings.data_dir.join(QUORUM_DIR);
        let fresh = !quorum_dir.join("log.jsonl").exists();
        if fresh && !logs.logs().is_empty() {
            // Deleting every partition because the metadata is missing would be
            // the worst possible answer to a damaged data directory.
            anyhow::bail!(
                "{} holds {} partition log(s) but no cluster metadata ({QUORUM_DIR}); refusing to start rather than delete them",
                settings.data_dir.display(),
                logs.logs().len()
            );
        }
        let voters = settings.parse_voters()?;
        let sm = StateMachine::open(&quorum_dir)?;
        let log_store = LogStore::open(&quorum_dir)?;
        let node_id = settings.node_id as u64;
        let alone = voters.is_empty();
        let config = openraft::Config {
            cluster_name: "kfk".into(),
            // One voter elects itself at once; peers need room for jitter.
            heartbeat_interval: if alone { 50 } else { 150 },
            election_timeout_min: if alone { 100 } else { 600 },
            election_timeout_max: if alone { 200 } else { 1200 },
            ..openraft::Config::default()
        }
        .validate()?;
        let raft = MetadataRaft::new(
            node_id,
            Arc::new(config),
            Network::default(),
            log_store,
            sm.clone(),
        )
        .await?;
        let members: BTreeMap<u64, openraft::BasicNode> = if alone {
            BTreeMap::from([(
                node_id,
                openraft::BasicNode::new(settings.advertised().to_string()),
            )])
        } else {
            voters
                .iter()
                .map(|(id, a)| (*id, openraft::BasicNode::new(a.clone())))
                .collect()
        };
        let liveness = Arc::new(Liveness::default());
        let server = if alone {
            None
        } else {
            let listener = tokio::net::TcpListener::bind(&settings.controller_listen)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("cannot listen on {}: {e}", settings.controller_listen)
                })?;
            Some(tokio::spawn(crate::quorum::network::serve(
                listener,
                raft.clone(),
                Arc::clone(&liveness),
            )))
        };
        // The lowest voter forms a new quorum; the other voters join it when
        // it reaches them; brokers beyond the voters ask to follow as learners.
        let initialized = raft.is_initialized().await?;
        if !initialized && members.keys().next() == Some(&node_id) {
            raft.initialize(members.clone()).await?;
        }
        if !initialized && !members.contains_key(&node_id) {
            join_as_learner(&members, node_id, &settings.controller_listen).await?;
        }
        raft.wait(Some(QUORUM_READY))
            .metrics(
                |m| {
                    m.current_leader.is_some()
                        && m.last_applied.map(|l| l.index) >= m.last_log_index
                },
                "the metadata quorum to elect a leader and replay its log",
            )
            .await?;
        let image = sm.subscribe();
        if image.borrow().cluster_id.is_none() {
            propose_with_retry(
                &raft,
                MetadataCommand::SetClusterId(store.cluster_id.clone()),
            )
            .await?;
        }
        let agreed = image.borrow().cluster_id.clone();
        if let Some(id) = agreed {
            store.adopt_cluster_id(&settings.data_dir, settings.node_id, &id)?;
        }
        let checkpointed_hw = crate::checkpoint::load(&settings.data_dir);
        let (isr_changes, isr_requests) = mpsc::unbounded_channel();
        let broker = Arc::new(Broker {
            node_id: settings.node_id,
            cluster_id: store.cluster_id.clone(),
            settings,
            raft,
            image,
            changes: tokio::sync::Mutex::new(()),
            logs,
            partitions: RwLock::new(HashMap::new()),
            data_arrived: Notify::new(),
            quorum_server: server,
            checkpointed_hw: Mutex::new(checkpointed_hw),
            isr_changes,
            fetchers: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            producer_ids: tokio::sync::Mutex::new(0..0),
        });
        broker.register().await?;
        broker
            .sync_partitions()
            .map_err(|e| anyhow::anyhow!("{}", e.message.unwrap_or_default()))?;
        lock(&broker.checkpointed_hw).clear();
        tokio::spawn(follow_image(Arc::downgrade(&broker), sm.subscribe()));
        tokio::spawn(maintain_isr(Arc::downgrade(&broker), isr_requests));
        tokio::spawn(checkpoint_hws(Arc::downgrade(&broker)));
        broker.ensure_fetchers();
        if !alone {
            tokio::spawn(send_heartbeats(
                Arc::downgrade(&broker),
                Arc::clone(&liveness),
            ));
            tokio::spawn(watch_brokers(Arc::downgrade(&broker), liveness));
        }
        info!(cluster_id = %broker.cluster_id, topics = broker.with_image(|i| i.topics.len()),
            partitions = lock_read(&broker.partitions).len(), "broker state loaded");
        Ok(broker)
    }

    /// Announces this broker's client endpoint through the quorum, retrying
    /// while a leader is being elected.
    async fn register(&self) -> anyhow::Result<()> {
        let (host, port) = self.advertised_endpoint();
        let me = BrokerRegistration {
            id: self.node_id,
            host,
            port,
            rack: (!self.settings.rack.is_empty()).then(|| self.settings.rack.clone()),
            fenced: false,
            stopped: false,
        };
        if self.with_image(|i| i.brokers.get(&self.node_id) == Some(&me)) {
            return Ok(());
        }
        propose_with_retry(&self.raft, MetadataCommand::RegisterBroker(me)).await
    }

    /// The active controller (the quorum's leader), -1 while there is none.
    pub fn controller_id(&self) -> i32 {
        self.raft
            .metrics()
            .borrow()
            .current_leader
            .map_or(-1, |l| l as i32)
    }

    /// A consistent copy of the metadata image.
    pub fn image(&self) -> MetadataImage {
        self.image.borrow().clone()
    }

    /// Reads the image without copying it.
    pub fn with_image<R>(&self, f: impl FnOnce(&MetadataImage) -> R) -> R {
        f(&self.image.borrow())
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        lock_read(&self.partitions).get(tp).cloned()
    }

    /// The error for a partition this broker does not host: Kafka answers
    /// NOT_LEADER_OR_FOLLOWER when the partition exists elsewhere, so clients
    /// refresh their metadata instead of giving up.
    pub fn not_hosted(&self, tp: &TopicPartition) -> ResponseError {
        let exists = self.with_image(|i| {
            i.topics
                .get(&tp.topic)
                .is_some_and(|t| tp.partition >= 0 && (tp.partition as usize) < t.partitions.len())
        });
        if exists {
            ResponseError::NotLeaderOrFollower
        } else {
            ResponseError::UnknownTopicOrPartition
        }
    }

    /// The current leader epoch of a partition, -1 when it does not exist.
    pub fn leader_epoch(&self, tp: &TopicPartition) -> i32 {
        self.with_image(|i| {
            i.topics
                .get(&tp.topic)
                .and_then(|t| t.partitions.get(tp.partition as usize))
                .map_or(-1, |p| p.leader_epoch)
        })
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

    /// Registered broker ids (liveness tracking arrives with heartbeats).
    pub fn live_brokers(&self) -> Vec<i32> {
        let ids: Vec<i32> = self.with_image(|i| i.live_broker_ids());
        if ids.is_empty() {
            vec![self.node_id]
        } else {
            ids
        }
    }

    /// Registered brokers and their client endpoints.
    pub fn brokers(&self) -> Vec<BrokerRegistration> {
        self.with_image(|i| i.brokers.values().filter(|b| !b.fenced).cloned().collect())
    }

    /// Commits a command through the metadata quorum and brings the partition
    /// logs in line with the new image.
    async fn propose(&self, cmd: MetadataCommand) -> Result<CommandResult, ApiError> {
        let result = commit(&self.raft, cmd).await?;
        self.sync_partitions()?;
        Ok(result)
    }

    /// Opens logs of partitions the image assigns here, applies topic configs
    /// and each partition's leadership and ISR, and deletes logs of partitions
    /// it no longer has.
    fn sync_partitions(&self) -> Result<(), ApiError> {
        let image = self.image();
        let mut partitions = lock_write(&self.partitions);
        let mut wanted = HashMap::new();
        for (name, topic) in &image.topics {
            let config = topic_config::log_config(&self.settings, &topic.configs);
            for (i, p) in topic.partitions.iter().enumerate() {
                if p.replicas.contains(&self.node_id) {
                    wanted.insert(
                        TopicPartition::new(name.clone(), i as i32),
                        (topic.id, config.clone(), p),
                    );
                }
            }
        }
        partitions.retain(|tp, p| wanted.get(tp).is_some_and(|(id, ..)| *id == p.topic_id));
        for (tp, (id, config, meta)) in wanted {
            let partition = match partitions.get(&tp) {
                Some(p) => {
                    p.log.set_config(config);
                    Arc::clone(p)
                }
                None => {
                    let log = self
                        .logs
                        .get_or_create(&tp, config.clone())
                        .map_err(storage_error)?;
                    log.set_config(config);
                    let hw = lock(&self.checkpointed_hw).get(&tp).copied();
                    let partition = Arc::new(
                        Partition::load(tp.clone(), id, log, self.node_id, hw)
                            .map_err(storage_error)?,
                    );
                    partitions.insert(tp, Arc::clone(&partition));
                    partition
                }
            };
            partition.apply(meta);
        }
        for (tp, _) in self.logs.logs() {
            if !partitions.contains_key(&tp) {
                info!(partition = %tp, "deleting log of a partition the metadata no longer has");
                self.logs.delete(&tp).map_err(storage_error)?;
            }
        }
        drop(partitions);
        // A shrunk ISR can commit at once; long-polling consumers look again.
        self.data_arrived.notify_waiters();
        Ok(())
    }

    /// Partitions this broker follows from `leader`; `None` (and the fetcher
    /// deregistered) when there are none, so a fetcher task can end without
    /// racing [`Broker::ensure_fetchers`].
    pub fn followed_from(&self, leader: i32) -> Option<Vec<(Arc<Partition>, FollowerView)>> {
        let mut fetchers = lock(&self.fetchers);
        let followed: Vec<_> = if self.stopping.load(Ordering::Relaxed) {
            Vec::new()
        } else {
            lock_read(&self.partitions)
                .values()
                .filter_map(|p| {
                    p.follower_view()
                        .filter(|v| v.leader == leader)
                        .map(|v| (Arc::clone(p), v))
                })
                .collect()
        };
        if followed.is_empty() {
            fetchers.remove(&leader);
            return None;
        }
        Some(followed)
    }

    /// Starts a replica fetcher for every leader this broker follows a
    /// partition from and has none yet.
    fn ensure_fetchers(self: &Arc<Self>) {
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        let leaders: HashSet<i32> = lock_read(&self.partitions)
            .values()
            .filter_map(|p| p.follower_view().map(|v| v.leader))
            .collect();
        let mut fetchers = lock(&self.fetchers);
        for leader in leaders {
            if fetchers.insert(leader) {
                debug!(leader, "starting a replica fetcher");
                tokio::spawn(crate::fetcher::run(Arc::downgrade(self), leader));
            }
        }
    }

    /// Hands an ISR change a partition leader wants to the task that commits it.
    pub fn request_isr_change(&self, tp: &TopicPartition, change: IsrChange) {
        let _ = self.isr_changes.send((tp.clone(), change));
    }

    fn save_hw_checkpoint(&self) -> std::io::Result<()> {
        let mut entries: Vec<(TopicPartition, i64)> = lock_read(&self.partitions)
            .values()
            .map(|p| (p.tp.clone(), p.high_watermark()))
            .collect();
        entries.sort();
        crate::checkpoint::save(&self.settings.data_dir, &entries)
    }

    /// Controlled shutdown: stops heartbeats and fetching, and has the
    /// controller move this broker's leaderships to in-sync replicas and take
    /// it out of every ISR before it exits, so producers and consumers move on
    /// at once instead of waiting for the session timeout.
    pub async fn controlled_shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        if self
            .settings
            .parse_voters()
            .map(|v| v.is_empty())
            .unwrap_or(true)
        {
            return;
        }
        // One attempt: when the whole cluster stops at once the quorum goes
        // away, and waiting for it would only delay the exit.
        match tokio::time::timeout(
            CONTROLLED_SHUTDOWN_PATIENCE,
            commit_once(&self.raft, MetadataCommand::ShutdownBroker(self.node_id)),
        )
        .await
        {
            Ok(Ok(_)) => info!("controlled shutdown: leaderships moved"),
            Ok(Err(Attempt::NotApplied(e) | Attempt::Failed(e))) => {
                info!(reason = ?e.message, "controlled shutdown skipped: no metadata quorum")
            }
            Err(_) => tracing::warn!("controlled shutdown timed out"),
        }
    }

    /// Validates a topic creation without applying it.
    fn check_new_topic(&self, image: &MetadataImage, t: &NewTopic) -> Result<(), ApiError> {
        validate_topic_name(&t.name)?;
        if image.topics.contains_key(&t.name) {
            return Err(topic_exists(&t.name));
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

    /// Round-robin placement, as Kafka assigns replicas: partition p's replicas
    /// are consecutive live brokers from `start + p`. The start rotates with
    /// every topic created, so single-partition topics do not all land on the
    /// first broker.
    fn place(&self, partitions: std::ops::Range<i32>, rf: i32, start: usize) -> Vec<Vec<i32>> {
        let live = self.live_brokers();
        partitions
            .map(|p| {
                (0..rf)
                    .map(|r| live[(start + p as usize + r as usize) % live.len()])
                    .collect()
            })
            .collect()
    }

    /// Creates a topic (or only validates it). Returns the created metadata.
    ///
    /// # Errors
    /// The Kafka error the client should see.
    pub async fn create_topic(
        &self,
        t: NewTopic,
        validate_only: bool,
    ) -> Result<TopicMeta, ApiError> {
        let replicas = if t.assignments.is_empty() {
            let start = self.with_image(|i| i.topics.len());
            self.place(0..t.num_partitions, t.replication_factor, start)
        } else {
            t.assignments.clone()
        };
        let meta = TopicMeta {
            id: Uuid::new_v4(),
            partitions: replicas.into_iter().map(new_partition).collect(),
            configs: t.configs.clone(),
        };
        let _serial = self.changes.lock().await;
        self.with_image(|image| self.check_new_topic(image, &t))?;
        if validate_only {
            return Ok(meta);
        }
        let cmd = MetadataCommand::CreateTopic {
            name: t.name.clone(),
            topic: meta.clone(),
        };
        match self.propose(cmd).await? {
            CommandResult::TopicExists => return Err(topic_exists(&t.name)),
            _ => info!(topic = %t.name, partitions = meta.partitions.len(), "created topic"),
        }
        Ok(meta)
    }

    /// Creates a topic with broker defaults when auto-creation is enabled.
    pub async fn auto_create(&self, name: &str) -> Result<TopicMeta, ApiError> {
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
        match self.create_topic(t, false).await {
            // Another request created it meanwhile: that is what we wanted.
            Err(e) if e.error == ResponseError::TopicAlreadyExists => {
                self.with_image(|i| i.topics.get(name).cloned()).ok_or(e)
            }
            other => other,
        }
    }

    /// Deletes a topic and its logs.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, or a storage error.
    pub async fn delete_topic(&self, name: &str) -> Result<TopicMeta, ApiError> {
        let _serial = self.changes.lock().await;
        let removed = self
            .with_image(|i| i.topics.get(name).cloned())
            .ok_or_else(|| unknown_topic(name))?;
        match self
            .propose(MetadataCommand::DeleteTopic {
                name: name.to_string(),
            })
            .await?
        {
            CommandResult::NoSuchTopic => Err(unknown_topic(name)),
            _ => {
                info!(topic = %name, "deleted topic");
                Ok(removed)
            }
        }
    }

    /// Grows a topic to `count` partitions.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT.
    pub async fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Vec<Vec<i32>>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let _serial = self.changes.lock().await;
        let (current, rf, first) = self.with_image(|image| -> Result<(usize, i32, i32), ApiError> {
            let topic = image.topics.get(name).ok_or_else(|| unknown_topic(name))?;
            let current = topic.partitions.len();
            if count as usize <= current {
                return Err(ApiError::new(
                    ResponseError::InvalidPartitions,
                    format!("topic '{name}' has {current} partitions; the new count must be larger, got {count}"),
                ));
            }
            if !assignments.is_empty() && assignments.len() != count as usize - current {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!("{} assignments given for {} new partitions", assignments.len(), count as usize - current),
                ));
            }
            let first = topic.partitions.first();
            Ok((
                current,
                first.map_or(1, |p| p.replicas.len() as i32),
                first.and_then(|p| p.replicas.first().copied()).unwrap_or(-1),
            ))
        })?;
        let placed = if assignments.is_empty() {
            // Continue the topic's round-robin from where its partition 0 started.
            let start = self
                .live_brokers()
                .iter()
                .position(|b| *b == first)
                .unwrap_or(0);
            self.place(current as i32..count, rf, start)
        } else {
            assignments
        };
        let live = self.live_brokers();
        if placed.iter().flatten().any(|b| !live.contains(b)) {
            return Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                "the assignment names brokers that are not available",
            ));
        }
        if validate_only {
            return Ok(());
        }
        let partitions = placed.into_iter().map(new_partition).collect();
        match self
            .propose(MetadataCommand::AddPartitions {
                name: name.to_string(),
                partitions,
            })
            .await?
        {
            CommandResult::NoSuchTopic => Err(unknown_topic(name)),
            _ => {
                info!(topic = %name, partitions = count, "added partitions");
                Ok(())
            }
        }
    }

    /// Replaces (`replace_all`) or edits a topic's config overrides. `None`
    /// values delete an override.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION or INVALID_CONFIG.
    pub async fn alter_topic_configs(
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
        let _serial = self.changes.lock().await;
        let mut configs = self
            .with_image(|i| i.topics.get(name).map(|t| t.configs.clone()))
            .ok_or_else(|| unknown_topic(name))?;
        if validate_only {
            return Ok(());
        }
        if replace_all {
            configs.clear();
        }
        for (k, v) in changes {
            match v {
                Some(v) => configs.insert(k.clone(), v.clone()),
                None => configs.remove(k),
            };
        }
        match self
            .propose(MetadataCommand::SetTopicConfigs {
                name: name.to_string(),
                configs,
            })
            .await?
        {
            CommandResult::NoSuchTopic => Err(unknown_topic(name)),
            _ => {
                info!(topic = %name, "altered topic configs");
                Ok(())
            }
        }
    }

    /// Starts moving a partition to `target` replicas, or cancels the move in
    /// flight (`None`). The move completes on its own once the new replicas
    /// are in sync.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT,
    /// INVALID_REPLICATION_FACTOR or NO_REASSIGNMENT_IN_PROGRESS.
    pub async fn reassign(
        &self,
        topic: &str,
        partition: i32,
        target: Option<Vec<i32>>,
        allow_replication_factor_change: bool,
    ) -> Result<(), ApiError> {
        let _serial = self.changes.lock().await;
        let current = self
            .with_image(|i| {
                i.topics
                    .get(topic)
                    .and_then(|t| t.partitions.get(usize::try_from(partition).ok()?))
                    .cloned()
            })
            .ok_or_else(|| {
                ApiError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("partition {topic}-{partition} does not exist"),
                )
            })?;
        match &target {
            None if !current.is_reassigning() => {
                return Err(ApiError::new(
                    ResponseError::NoReassignmentInProgress,
                    format!("no reassignment of {topic}-{partition} is in progress"),
                ));
            }
            None => {}
            Some(t) => {
                let mut sorted = t.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if t.is_empty() || sorted.len() != t.len() {
                    return Err(ApiError::new(
                        ResponseError::InvalidReplicaAssignment,
                        "the new replica list must name distinct brokers",
                    ));
                }
                let registered: Vec<i32> = self.with_image(|i| i.brokers.keys().copied().collect());
                if let Some(b) = t.iter().find(|b| !registered.contains(b)) {
                    return Err(ApiError::new(
                        ResponseError::InvalidReplicaAssignment,
                        format!("broker {b} is not registered in the cluster"),
                    ));
                }
                let original = current.replicas.len() - current.adding_replicas.len();
                if !allow_replication_factor_change && t.len() != original {
                    return Err(ApiError::new(
                        ResponseError::InvalidReplicationFactor,
                        format!(
                            "the reassignment changes the replication factor from {original} to {}",
                            t.len()
                        ),
                    ));
                }
            }
        }
        let cmd = MetadataCommand::Reassign {
            topic: topic.to_string(),
            partition,
            target: target.clone(),
        };
        match self.propose(cmd).await? {
            CommandResult::NoSuchTopic => Err(unknown_topic(topic)),
            _ => {
                info!(topic, partition, target = ?target, "reassignment submitted");
                Ok(())
            }
        }
    }

    /// Hands out a new producer id (InitProducerId), committed through the
    /// quorum so ids are never reused, whichever broker hands them out.
    ///
    /// # Errors
    /// When the quorum cannot commit.
    pub async fn next_producer_id(&self) -> Result<i64, ApiError> {
        // Ids come from a block reserved through the quorum, so producers can
        // start without a metadata commit each (and while the quorum is down).
        let mut block = self.producer_ids.lock().await;
        if block.is_empty() {
            match self
                .propose(MetadataCommand::AllocateProducerIds {
                    count: PRODUCER_ID_BLOCK,
                })
                .await?
            {
                CommandResult::ProducerIds { first } => *block = first..first + PRODUCER_ID_BLOCK,
                other => {
                    return Err(ApiError::new(
                        ResponseError::UnknownServerError,
                        format!("unexpected result {other:?}"),
                    ));
                }
            }
        }
        let id = block.start;
        block.start += 1;
        Ok(id)
    }

    /// Flushes and closes every log (the next start skips recovery) and stops
    /// the metadata quorum.
    ///
    /// # Errors
    /// The first log that could not be closed.
    pub async fn close(&self) -> kfk_log::Result<()> {
        self.stopping.store(true, Ordering::Relaxed);
        if let Err(e) = self.save_hw_checkpoint() {
            tracing::warn!(error = %e, "could not save the high-watermark checkpoint");
        }
        if let Some(server) = &self.quorum_server {
            server.abort();
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "metadata quorum did not stop cleanly");
        }
        self.logs.close()
    }
}

/// A new partition: led by its first replica, all replicas in sync, epoch 0.
fn new_partition(replicas: Vec<i32>) -> PartitionMeta {
    PartitionMeta {
        leader: replicas[0],
        isr: replicas.clone(),
        replicas,
        leader_epoch: 0,
        partition_epoch: 0,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
    }
}

fn topic_exists(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::TopicAlreadyExists,
        format!("topic '{name}' already exists"),
    )
}

fn unknown_topic(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("topic '{name}' does not exist"),
    )
}
