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
use tracing::info;

use crate::config::Settings;
use crate::config::topic as topic_config;
use crate::error::{ApiError, storage_error};
use crate::metadata::{BrokerRegistration, MetadataImage, MetadataStore, TopicMeta};
use crate::quorum::Quorum;
use crate::quorum::client::{
    Attempt, QUORUM_READY, commit, commit_once, join_as_learner, propose_with_retry,
};
use crate::quorum::log_store::LogStore;
use crate::quorum::network::{Channel, Liveness};
use crate::quorum::state_machine::StateMachine;
use crate::quorum::{CommandResult, MetadataCommand, MetadataRaft};
use crate::replica::partition::IsrChange;
use crate::replica::partition::Partition;
use kfk_sync::{lock, read, write};

pub struct Broker {
    pub settings: Settings,
    pub node_id: i32,
    pub cluster_id: String,
    pub(crate) raft: Quorum,
    /// The image as the state machine last published it.
    image: watch::Receiver<Arc<MetadataImage>>,
    /// Serialises validate-then-propose so checks see the previous change.
    pub(crate) changes: tokio::sync::Mutex<()>,
    pub logs: Arc<LogManager>,
    pub(crate) partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Held by the one `sync_partitions` running at a time; holds the image
    /// the last successful sync applied, so the next one touches only the
    /// topics that changed (a metadata change among
    /// 10,000 topics would otherwise revisit all of them).
    syncing: Mutex<Option<Arc<MetadataImage>>>,
    /// Woken on every append and high-watermark move so long-polling
    /// fetches re-check.
    pub data_arrived: Notify,
    /// Serves Raft RPCs from peers when there are any.
    quorum_server: Option<tokio::task::JoinHandle<()>>,
    /// Keeps this voter from calling elections no majority would answer
    /// ([`crate::quorum::prevote`]).
    election_gate: Option<tokio::task::JoinHandle<()>>,
    /// High watermarks read at start, handed to partitions as they open.
    checkpointed_hw: Mutex<HashMap<TopicPartition, i64>>,
    /// ISR changes partition leaders want; a task commits them.
    isr_changes: mpsc::UnboundedSender<(TopicPartition, IsrChange)>,
    /// Leaders that have a replica fetcher task running.
    pub(crate) fetchers: Mutex<HashSet<i32>>,
    /// Set once shutdown begins: no more heartbeats or fetching.
    pub(crate) stopping: AtomicBool,
    /// Set once the broker has opened: partitions missing from the metadata
    /// are then deleted (a deletion or move), before that set aside.
    started: AtomicBool,
    /// This broker's unused producer ids.
    producer_ids: tokio::sync::Mutex<std::ops::Range<i64>>,
    /// Consumer groups whose offsets partitions this broker leads.
    pub groups: crate::group::coordinator::GroupCoordinator,
    pub txns: crate::txn::TxnCoordinator,
    /// Replication quota of throttled replicas, shared by the fetchers.
    follower_quota: Mutex<crate::replica::quota::Quota>,
    /// The retention thread, stopped when the broker is dropped.
    pub(crate) retention: Mutex<Option<kfk_log::Background>>,
    /// The log cleaner's threads (compacted topics), stopped with the broker.
    pub(crate) cleaner: Mutex<Option<kfk_log::cleaner::Cleaner>>,
    /// Bytes of requests and fetch responses in memory, one permit a byte
    /// (`queued.max.request.bytes`): a connection waits for room before
    /// reading a request, so many large requests at once cannot exhaust memory.
    pub(crate) memory: Arc<tokio::sync::Semaphore>,
    /// How replica fetchers speak TLS to leaders on an SSL inter-broker
    /// listener (read once: certificates are loaded at start).
    pub(crate) inter_broker_tls: Option<Arc<kfk_tls::rustls::ClientConfig>>,
    /// Checks requests against the ACLs; `None`: every request is allowed.
    pub(crate) authorizer: Option<kfk_acl::Authorizer>,
    /// Client quota sensors (produce and fetch bytes, request time).
    pub(crate) quotas: crate::client_quota::QuotaManager,
    /// Failed authentications by source address, to slow guessing.
    pub(crate) failed_logins: crate::server::failed_logins::FailedLogins,
    /// Event counters for `--metrics-listen` (records in, bytes out,
    /// requests, ISR changes, connections).
    pub meters: crate::metrics::Meters,
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

/// Runs `f`, which may block on disk for long (opening or deleting thousands
/// of partition logs), without stalling the other tasks of a multi-threaded
/// runtime: the broker keeps answering requests meanwhile.
pub(crate) fn off_the_runtime<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Producer ids a broker reserves at a time (Kafka's block size).
const PRODUCER_ID_BLOCK: i64 = 1000;

/// How long a stopping broker tries to hand over its leaderships.
const CONTROLLED_SHUTDOWN_PATIENCE: Duration = Duration::from_secs(3);

/// Directory of the metadata quorum's Raft log and snapshots.
pub const QUORUM_DIR: &str = "__cluster_metadata";

/// What the background tasks need from the opening of a broker besides the
/// broker itself; [`crate::tasks::start_broker`] hands them over.
#[derive(Debug)]
pub(crate) struct TaskInputs {
    /// Every image the state machine publishes.
    pub image: watch::Receiver<Arc<MetadataImage>>,
    /// ISR changes partition leaders ask for.
    pub isr_requests: mpsc::UnboundedReceiver<(TopicPartition, IsrChange)>,
    /// Heartbeats seen by the quorum's server; `None` for a broker alone.
    pub liveness: Option<Arc<Liveness>>,
}

impl Broker {
    /// Opens the data directory: the metadata quorum (its own single voter for
    /// now), then every partition log the image names, dropping logs of topics
    /// that no longer exist.
    ///
    /// # Errors
    /// Unreadable metadata or logs, a data directory in use, or a quorum that
    /// does not become ready.
    pub(crate) async fn open(settings: Settings) -> anyhow::Result<(Arc<Broker>, TaskInputs)> {
        let mut store = MetadataStore::open(&settings.data_dir, settings.node_id)?;
        // Segment files share what the open-file limit leaves after
        // connections and the broker's own files (the metadata quorum's among
        // them), closing the least recently used beyond it.
        if let Some(limit) = crate::fd_budget::raise_open_file_limit() {
            let files = crate::fd_budget::segment_file_budget(limit, settings.max_connections);
            kfk_log::set_open_file_budget(usize::try_from(files).unwrap_or(usize::MAX));
            info!(
                open_file_limit = limit,
                segment_files = files,
                "open segment files bounded"
            );
        }
        let logs = Arc::new(LogManager::open(
            &settings.data_dir,
            &settings.default_log_config(),
        )?);
        let quorum_dir = settings.data_dir.join(QUORUM_DIR);
        let fresh = !quorum_dir.join("log.jsonl").exists();
        let voters = settings.parse_voters()?;
        // Partition logs without metadata: a voter whose metadata was moved
        // aside copies it back from the other voters; alone, deleting every
        // partition because the metadata is missing would be the worst
        // possible answer, so the broker refuses.
        let rejoining = fresh && !logs.logs().is_empty();
        if rejoining && voters.len() < 2 {
            anyhow::bail!(
                "{} holds {} partition log(s) but no cluster metadata ({QUORUM_DIR}); refusing to start rather than delete them; restore {} from a backup",
                settings.data_dir.display(),
                logs.logs().len(),
                quorum_dir.display()
            );
        }
        if rejoining {
            info!(dir = %quorum_dir.display(), "no metadata log here: copying it back from the other voters");
        }
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
        let channel = Channel::new(settings.cluster_secret()?);
        let network = channel.network();
        let raft = Quorum::new(
            MetadataRaft::new(node_id, Arc::new(config), network, log_store, sm.clone()).await?,
            channel,
        );
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
        // A voter without its log neither votes nor campaigns until it has
        // copied the log back.
        let abstain = Arc::new(AtomicBool::new(rejoining));
        let contact = Arc::new(crate::quorum::prevote::LeaderContact::default());
        if rejoining {
            raft.runtime_config().elect(false);
        }
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
                raft.raft().clone(),
                raft.channel.clone(),
                Arc::clone(&liveness),
                Arc::clone(&abstain),
                Arc::clone(&contact),
            )))
        };
        let election_gate = (!alone).then(|| {
            tokio::spawn(crate::quorum::prevote::gate_elections(
                raft.raft().clone(),
                raft.channel.clone(),
                Arc::clone(&contact),
                Arc::clone(&abstain),
            ))
        });
        // The lowest voter forms a new quorum; the other voters join it when
        // it reaches them; brokers beyond the voters ask to follow as learners.
        let initialized = raft.is_initialized().await?;
        if !initialized && !rejoining && members.keys().next() == Some(&node_id) {
            raft.initialize(members.clone()).await?;
        }
        if !initialized && !members.contains_key(&node_id) {
            join_as_learner(
                &raft.channel,
                &members,
                node_id,
                &settings.controller_listen,
            )
            .await?;
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
        if rejoining {
            // Everything the leader has, before partitions are matched
            // against the image.
            crate::quorum::client::catch_up_with_leader(&raft).await?;
            abstain.store(false, Ordering::Relaxed);
            raft.runtime_config().elect(true);
            info!("metadata log copied back from the quorum's leader");
        }
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
        let checkpointed_hw = crate::replica::checkpoint::load(&settings.data_dir);
        let settings_memory = settings
            .queued_max_request_bytes
            .min(tokio::sync::Semaphore::MAX_PERMITS as u64);
        let (isr_changes, isr_requests) = mpsc::unbounded_channel();
        let inter_broker_tls = if settings.is_broker() {
            settings.inter_broker_tls()?
        } else {
            None
        };
        let authorizer = settings.authorizer()?;
        let broker = Arc::new(Broker {
            inter_broker_tls,
            authorizer,
            quotas: crate::client_quota::QuotaManager::default(),
            failed_logins: crate::server::failed_logins::FailedLogins::default(),
            node_id: settings.node_id,
            cluster_id: store.cluster_id.clone(),
            settings,
            raft,
            image,
            changes: tokio::sync::Mutex::new(()),
            logs,
            partitions: RwLock::new(HashMap::new()),
            syncing: Mutex::new(None),
            data_arrived: Notify::new(),
            quorum_server: server,
            election_gate,
            checkpointed_hw: Mutex::new(checkpointed_hw),
            isr_changes,
            fetchers: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            started: AtomicBool::new(false),
            producer_ids: tokio::sync::Mutex::new(0..0),
            groups: crate::group::coordinator::GroupCoordinator::default(),
            txns: crate::txn::TxnCoordinator::default(),
            follower_quota: Mutex::new(crate::replica::quota::Quota::default()),
            retention: Mutex::new(None),
            cleaner: Mutex::new(None),
            memory: Arc::new(tokio::sync::Semaphore::new(
                usize::try_from(settings_memory).unwrap_or(usize::MAX),
            )),
            meters: crate::metrics::Meters::new(),
        });
        if broker.settings.is_broker() {
            broker.register().await?;
        }
        broker
            .sync_partitions()
            .map_err(|e| anyhow::anyhow!("{}", e.message.unwrap_or_default()))?;
        lock(&broker.checkpointed_hw).clear();
        broker.started.store(true, Ordering::Relaxed);
        info!(cluster_id = %broker.cluster_id, topics = broker.with_image(|i| i.topics.len()),
            partitions = read(&broker.partitions).len(), "broker state loaded");
        let inputs = TaskInputs {
            image: sm.subscribe(),
            isr_requests,
            liveness: (!alone).then_some(liveness),
        };
        Ok((broker, inputs))
    }

    /// Announces this broker (its client endpoint and a new broker epoch)
    /// through the quorum, retrying while a leader is being elected.
    async fn register(&self) -> anyhow::Result<()> {
        let (host, port) = self.advertised_endpoint();
        let me = BrokerRegistration {
            id: self.node_id,
            host,
            port,
            rack: (!self.settings.rack.is_empty()).then(|| self.settings.rack.clone()),
            fenced: false,
            stopped: false,
            epoch: 0,
            partition_capacity: crate::capacity::partition_capacity(
                self.settings.max_broker_partitions,
            ),
            endpoints: self
                .settings
                .listeners()
                .map(|ls| ls.into_iter().map(|l| (l.name, l.advertised)).collect())
                .unwrap_or_default(),
        };
        propose_with_retry(&self.raft, MetadataCommand::RegisterBroker(me)).await
    }

    /// The active controller (the quorum's leader), -1 while there is none.
    /// A leader that has not heard from a majority for
    /// a couple of seconds cannot commit anything, so it does not count
    /// (openraft keeps such a node leader until it hears of a newer term;
    /// KRaft's leader resigns after its fetch timeout).
    pub fn controller_id(&self) -> i32 {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        match m.current_leader {
            Some(leader) if !crate::quorum::client::leads_without_quorum(&m) => leader as i32,
            _ => -1,
        }
    }

    /// The controller id clients are told (Metadata, DescribeCluster): the
    /// active controller when it is also a broker, else a live broker, as
    /// KRaft does with dedicated controllers, since clients cannot reach a
    /// controller-only node and any broker takes admin requests. -1 while
    /// the quorum has no leader.
    pub fn controller_for_clients(&self) -> i32 {
        let active = self.controller_id();
        if active < 0 {
            return -1;
        }
        self.with_image(|i| {
            let live = i.live_broker_ids();
            if live.is_empty() || live.contains(&active) {
                active
            } else {
                live[0]
            }
        })
    }

    /// The metadata image as last published: shared, not copied (it is
    /// replaced whole on every change).
    pub fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.image.borrow())
    }

    /// Reads the image without copying it.
    pub fn with_image<R>(&self, f: impl FnOnce(&MetadataImage) -> R) -> R {
        f(&self.image.borrow())
    }

    /// The throttled-replication token bucket.
    pub(crate) fn follower_quota(&self) -> std::sync::MutexGuard<'_, crate::replica::quota::Quota> {
        lock(&self.follower_quota)
    }

    /// Every partition this broker hosts.
    /// Whether the broker has opened every partition log the image names.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    pub fn hosted_partitions(&self) -> Vec<Arc<Partition>> {
        read(&self.partitions).values().cloned().collect()
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        read(&self.partitions).get(tp).cloned()
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
        let advertised = self.settings.advertised();
        let addr = advertised.rsplit("://").next().unwrap_or(&advertised);
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

    /// Registered, unfenced broker ids.
    pub fn live_brokers(&self) -> Vec<i32> {
        self.with_image(|i| self.live_brokers_in(i))
    }

    /// [`Broker::live_brokers`] from an image the caller already holds: a
    /// second borrow of the image `watch` while one is held can deadlock when
    /// the state machine is waiting to publish (tokio's `watch` docs).
    pub fn live_brokers_in(&self, image: &MetadataImage) -> Vec<i32> {
        let ids = image.live_broker_ids();
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
    pub(crate) async fn propose(&self, cmd: MetadataCommand) -> Result<CommandResult, ApiError> {
        let result = commit(&self.raft, cmd).await?;
        off_the_runtime(|| self.sync_partitions())?;
        Ok(result)
    }

    /// Commits a decision this node reached as the active controller in
    /// `term` (see [`commit_as_controller`](crate::quorum::client::commit_as_controller))
    /// and brings the partition logs in line with the new image.
    pub(crate) async fn decide(
        &self,
        term: u64,
        cmd: MetadataCommand,
    ) -> Result<CommandResult, ApiError> {
        let result = crate::quorum::client::commit_as_controller(&self.raft, term, cmd).await?;
        off_the_runtime(|| self.sync_partitions())?;
        Ok(result)
    }

    /// Opens logs of partitions the image assigns here, applies topic configs
    /// and each partition's leadership and ISR, and deletes logs of partitions
    /// it no longer has.
    ///
    /// Only topics that differ from the last successful sync are visited;
    /// the first sync (and the one after a failure) visits them all and also
    /// sets aside logs on disk that the metadata does not name.
    pub(crate) fn sync_partitions(&self) -> Result<(), ApiError> {
        // One sync at a time, on the newest image; the partitions map is
        // locked only to swap entries, never across file creation or removal
        // (thousands of partitions take seconds), so requests keep flowing.
        let mut synced = lock(&self.syncing);
        let image = self.image();
        // Taken: a sync that fails part way leaves the next one to visit
        // every topic again.
        let previous = synced.take();
        if let Some(before) = &previous
            && Arc::ptr_eq(before, &image)
        {
            *synced = previous;
            return Ok(());
        }
        let touched = previous
            .as_ref()
            .map(|before| changed_topics(&before.topics, &image.topics));
        let visits = |name: &str| touched.as_ref().is_none_or(|t| t.contains(name));
        let mut wanted = HashMap::new();
        for (name, topic) in &image.topics {
            if !visits(name) {
                continue;
            }
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
        let missing: Vec<TopicPartition> = {
            let partitions = read(&self.partitions);
            wanted
                .iter()
                .filter(|(tp, (id, ..))| partitions.get(*tp).is_none_or(|p| p.topic_id != *id))
                .map(|(tp, _)| tp.clone())
                .collect()
        };
        let mut opened = Vec::with_capacity(missing.len());
        for tp in missing {
            let (id, config, _) = &wanted[&tp];
            let log = self
                .logs
                .get_or_create(&tp, config.clone())
                .map_err(storage_error)?;
            let hw = lock(&self.checkpointed_hw).get(&tp).copied();
            let partition =
                Partition::load(tp.clone(), *id, log, self.node_id, hw).map_err(storage_error)?;
            opened.push((tp, Arc::new(partition)));
        }
        {
            let mut partitions = write(&self.partitions);
            partitions.retain(|tp, p| {
                !visits(&tp.topic) || wanted.get(tp).is_some_and(|(id, ..)| *id == p.topic_id)
            });
            partitions.extend(opened);
            for (tp, (_, config, meta)) in &wanted {
                if let Some(p) = partitions.get(tp) {
                    p.log().set_config(config.clone());
                    if let Some((before, after)) = p.apply(meta) {
                        self.meters.isr_changed(before, after);
                    }
                }
            }
        }
        match (&previous, &touched) {
            (Some(before), Some(touched)) => {
                // The logs of a visited topic are those the last sync kept.
                for name in touched {
                    let Some(topic) = before.topics.get(name) else {
                        continue;
                    };
                    for (i, p) in topic.partitions.iter().enumerate() {
                        let tp = TopicPartition::new(name.clone(), i as i32);
                        if p.replicas.contains(&self.node_id) && !wanted.contains_key(&tp) {
                            self.delete_log(&tp)?;
                        }
                    }
                }
            }
            _ => self.drop_unwanted_logs(&wanted)?,
        }
        *synced = Some(image);
        // A shrunk ISR can commit at once; long-polling consumers look again.
        self.data_arrived.notify_waiters();
        Ok(())
    }

    /// Logs on disk that no wanted partition names: set aside when found at
    /// start, deleted afterwards.
    fn drop_unwanted_logs<V>(&self, wanted: &HashMap<TopicPartition, V>) -> Result<(), ApiError> {
        let starting = !self.started.load(Ordering::Relaxed);
        let unwanted: Vec<TopicPartition> = self
            .logs
            .logs()
            .into_iter()
            .map(|(tp, _)| tp)
            .filter(|tp| !wanted.contains_key(tp))
            .collect();
        for tp in unwanted {
            if starting {
                // Found on disk at start but not in the metadata (deleted or
                // moved away while this broker was down, or a damaged
                // directory): kept aside rather than deleted or refused.
                if let Some(aside) = self.logs.set_aside(&tp).map_err(storage_error)? {
                    tracing::warn!(partition = %tp, moved_to = %aside.display(),
                        "the metadata has no such partition here; its log was set aside (delete it when it is not needed)");
                }
            } else {
                self.delete_log(&tp)?;
            }
        }
        Ok(())
    }

    fn delete_log(&self, tp: &TopicPartition) -> Result<(), ApiError> {
        if self.logs.delete(tp).map_err(storage_error)? {
            info!(partition = %tp, "deleted the log of a partition the metadata no longer has here");
        }
        Ok(())
    }

    /// Hands an ISR change a partition leader wants to the task that commits it.
    pub fn request_isr_change(&self, tp: &TopicPartition, change: IsrChange) {
        let _ = self.isr_changes.send((tp.clone(), change));
    }

    pub(crate) fn save_hw_checkpoint(&self) -> std::io::Result<()> {
        let mut entries: Vec<(TopicPartition, i64)> = read(&self.partitions)
            .values()
            .map(|p| (p.tp.clone(), p.high_watermark()))
            .collect();
        entries.sort();
        crate::replica::checkpoint::save(&self.settings.data_dir, &entries)
    }

    /// Controlled shutdown: stops heartbeats and fetching, and has the
    /// controller move this broker's leaderships to in-sync replicas and take
    /// it out of every ISR before it exits, so producers and consumers move on
    /// at once instead of waiting for the session timeout.
    pub async fn controlled_shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        if !self.settings.is_broker()
            || self
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
                    broker: self.node_id,
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
        // A clean under way gives up; its copy is discarded.
        drop(kfk_sync::lock(&self.cleaner).take());
        if let Err(e) = self.save_hw_checkpoint() {
            tracing::warn!(error = %e, "could not save the high-watermark checkpoint");
        }
        if let Some(gate) = &self.election_gate {
            gate.abort();
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

/// Names of the topics that differ between two images (added, removed or
/// changed), found by walking both sorted maps side by side.
fn changed_topics(
    before: &BTreeMap<String, Arc<TopicMeta>>,
    after: &BTreeMap<String, Arc<TopicMeta>>,
) -> HashSet<String> {
    let mut changed = HashSet::new();
    let (mut a, mut b) = (before.iter().peekable(), after.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return changed,
            (Some((name, _)), None) => {
                changed.insert((*name).clone());
                a.next();
            }
            (None, Some((name, _))) => {
                changed.insert((*name).clone());
                b.next();
            }
            (Some((na, ta)), Some((nb, tb))) => match na.cmp(nb) {
                std::cmp::Ordering::Less => {
                    changed.insert((*na).clone());
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    changed.insert((*nb).clone());
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    if !Arc::ptr_eq(ta, tb) && ta != tb {
                        changed.insert((*na).clone());
                    }
                    a.next();
                    b.next();
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::PartitionMeta;

    fn topic(leader: i32) -> Arc<TopicMeta> {
        Arc::new(TopicMeta {
            id: uuid::Uuid::nil(),
            partitions: vec![PartitionMeta {
                replicas: vec![1, 2],
                isr: vec![1, 2],
                leader,
                leader_epoch: 0,
                partition_epoch: 0,
                adding_replicas: Vec::new(),
                removing_replicas: Vec::new(),
            }],
            configs: BTreeMap::new(),
        })
    }

    #[test]
    fn only_added_removed_and_changed_topics_are_visited() {
        let before = BTreeMap::from([
            ("a".to_string(), topic(1)),
            ("b".to_string(), topic(1)),
            ("c".to_string(), topic(1)),
            ("e".to_string(), topic(1)),
        ]);
        let mut after = before.clone();
        after.remove("a");
        after.insert("b".into(), topic(2));
        after.insert("d".into(), topic(1));
        after.insert("f".into(), topic(1));
        let changed = changed_topics(&before, &after);
        let mut names: Vec<_> = changed.into_iter().collect();
        names.sort();
        assert_eq!(names, ["a", "b", "d", "f"]);
        assert!(changed_topics(&after, &after).is_empty());
        assert_eq!(changed_topics(&BTreeMap::new(), &after).len(), after.len());
    }
}
