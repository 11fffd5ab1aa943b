//! What a scrape reads from the broker's state: partition and leader
//! counts, under-replicated and offline partitions, each hosted log's size
//! and offsets, consumer lag, the metadata quorum, request memory and the
//! process. Built fresh for each scrape into its own registry and written
//! after the event counters, so state and counters share one exposition.

use std::collections::{BTreeMap, HashSet};

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Labels;
use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::replica::partition::Role;

/// One metric of a scrape: a single value or a family of labelled ones.
#[derive(Debug)]
enum Series {
    One(Gauge),
    Labelled(Family<Labels, Gauge>),
}

/// Gauges of one scrape, by metric name.
#[derive(Debug, Default)]
struct Gauges {
    metrics: BTreeMap<&'static str, (&'static str, Series)>,
}

impl Gauges {
    fn set(&mut self, name: &'static str, help: &'static str, labels: Labels, value: i64) {
        let (_, series) = self
            .metrics
            .entry(name)
            .or_insert_with(|| (help, Series::Labelled(Family::default())));
        if let Series::Labelled(family) = series {
            family.get_or_create(&labels).set(value);
        }
    }

    fn one(&mut self, name: &'static str, help: &'static str, value: i64) {
        let gauge = Gauge::default();
        gauge.set(value);
        self.metrics.insert(name, (help, Series::One(gauge)));
    }

    fn into_registry(self) -> Registry {
        let mut registry = Registry::default();
        for (name, (help, series)) in self.metrics {
            match series {
                Series::One(g) => registry.register(name, help, g),
                Series::Labelled(f) => registry.register(name, help, f),
            }
        }
        registry
    }
}

fn tp_labels(topic: &str, partition: i32) -> Labels {
    vec![
        ("topic", topic.to_string()),
        ("partition", partition.to_string()),
    ]
}

/// The whole exposition (OpenMetrics text) of a broker or controller.
pub async fn render(broker: &Broker) -> String {
    let mut g = Gauges::default();
    if broker.settings.is_broker() {
        broker
            .meters
            .retain_topics(|t| broker.with_image(|i| i.topics.contains_key(t)));
        replicas(broker, &mut g);
        groups(broker, &mut g).await;
        memory(broker, &mut g);
    }
    identity(broker, &mut g);
    controller(broker, &mut g);
    quorum(broker, &mut g);
    process(&mut g);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode_registry(&mut out, broker.meters.registry());
    let _ = encode_registry(&mut out, &g.into_registry());
    let _ = encode_eof(&mut out);
    out
}

/// Kafka's name for the broker state gauge, which alerts on "not running" use.
const BROKER_STATE: &str = "kafka_server_kafkaserver_brokerstate";
const BROKER_STATE_HELP: &str =
    "Kafka's broker state code: 1 starting or fenced, 3 running, 6 shutting down";

/// Which node this page is from and what it is doing: Prometheus knows a
/// target only by address, while people and `kfk top` want its node id.
fn identity(broker: &Broker, g: &mut Gauges) {
    g.set(
        "kfkd_node_info",
        "Always 1; the labels say which node this is (node id, process.roles, kfkd version)",
        vec![
            ("node_id", broker.node_id.to_string()),
            ("roles", broker.settings.process_roles.replace(' ', "")),
            ("version", env!("CARGO_PKG_VERSION").to_string()),
        ],
        1,
    );
    // Kafka's BrokerState codes: RUNNING 3, PENDING_CONTROLLED_SHUTDOWN 6.
    let state = if broker.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        6
    } else if super::http::not_ready(broker).is_some() {
        1
    } else {
        3
    };
    g.one(BROKER_STATE, BROKER_STATE_HELP, state);
}

/// The exposition of a node still joining its metadata quorum: only the
/// process's own figures exist yet.
pub fn render_starting() -> String {
    let mut g = Gauges::default();
    g.one(BROKER_STATE, BROKER_STATE_HELP, 1);
    process(&mut g);
    let mut out = String::new();
    let _ = encode_registry(&mut out, &g.into_registry());
    let _ = encode_eof(&mut out);
    out
}

/// ReplicaManager's gauges and each hosted log's figures.
fn replicas(broker: &Broker, g: &mut Gauges) {
    let hosted = broker.hosted_partitions();
    let (mut leaders, mut under, mut under_min, mut at_min) = (0, 0, 0, 0);
    for part in &hosted {
        let tp = &part.tp;
        let labels = tp_labels(&tp.topic, tp.partition);
        let log = part.log();
        g.set(
            "kafka_log_log_size",
            "Bytes of a hosted partition's log on disk",
            labels.clone(),
            i64::try_from(log.size_bytes()).unwrap_or(i64::MAX),
        );
        g.set(
            "kafka_log_log_logendoffset",
            "Offset the next record appended to a hosted partition gets",
            labels.clone(),
            log.log_end_offset(),
        );
        g.set(
            "kafka_log_log_logstartoffset",
            "First offset still in a hosted partition's log",
            labels.clone(),
            log.log_start_offset(),
        );
        g.set(
            "kafka_log_log_numlogsegments",
            "Segments of a hosted partition's log",
            labels.clone(),
            i64::try_from(log.segment_count()).unwrap_or(i64::MAX),
        );
        g.set(
            "kafka_cluster_partition_highwatermark",
            "A hosted partition's high watermark: what consumers may read up to",
            labels.clone(),
            part.high_watermark(),
        );
        if part.role() != Role::Leader {
            continue;
        }
        leaders += 1;
        let (replicas, isr, min_isr) = broker.with_image(|i| {
            let topic = i.topics.get(&tp.topic);
            let meta = topic.and_then(|t| t.partitions.get(usize::try_from(tp.partition).ok()?));
            let min = topic.map_or(1, |t| {
                topic_config::min_insync_replicas(&broker.settings, &t.configs)
            });
            meta.map_or((0, 0, min), |m| (m.replicas.len(), m.isr.len(), min))
        });
        let urp = isr < replicas;
        under += i64::from(urp);
        let isr = i64::try_from(isr).unwrap_or(i64::MAX);
        under_min += i64::from(isr < i64::from(min_isr));
        at_min += i64::from(isr == i64::from(min_isr));
        g.set(
            "kafka_cluster_partition_underreplicated",
            "1 when a partition this broker leads has fewer in-sync replicas than replicas",
            labels,
            i64::from(urp),
        );
    }
    g.one(
        "kafka_server_replicamanager_partitioncount",
        "Partition replicas this broker hosts",
        i64::try_from(hosted.len()).unwrap_or(i64::MAX),
    );
    g.one(
        "kafka_server_replicamanager_leadercount",
        "Partitions this broker leads",
        leaders,
    );
    g.one(
        "kafka_server_replicamanager_underreplicatedpartitions",
        "Partitions this broker leads with fewer in-sync replicas than replicas",
        under,
    );
    g.one(
        "kafka_server_replicamanager_underminisrpartitioncount",
        "Partitions this broker leads with fewer in-sync replicas than min.insync.replicas (acks=all produce fails)",
        under_min,
    );
    g.one(
        "kafka_server_replicamanager_atminisrpartitioncount",
        "Partitions this broker leads with exactly min.insync.replicas in-sync replicas",
        at_min,
    );
}

/// The controller's gauges: reported by the active controller only, as in
/// Kafka, so summing them over the cluster counts each partition once.
fn controller(broker: &Broker, g: &mut Gauges) {
    let active = {
        let m = broker.raft.metrics();
        let m = m.borrow();
        m.current_leader == Some(m.id)
    };
    g.one(
        "kafka_controller_kafkacontroller_activecontrollercount",
        "1 on the node that is the active controller (the metadata quorum's leader)",
        i64::from(active),
    );
    let (mut offline, mut partitions, mut topics, mut fenced, mut live) = (0, 0, 0, 0, 0);
    if active {
        broker.with_image(|i| {
            let up: HashSet<i32> = i.live_broker_ids().into_iter().collect();
            topics = i64::try_from(i.topics.len()).unwrap_or(i64::MAX);
            for t in i.topics.values() {
                for p in &t.partitions {
                    partitions += 1;
                    offline += i64::from(p.leader < 0 || !up.contains(&p.leader));
                }
            }
            live = i64::try_from(up.len()).unwrap_or(i64::MAX);
            fenced =
                i64::try_from(i.brokers.values().filter(|b| b.fenced).count()).unwrap_or(i64::MAX);
        });
    }
    g.one(
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        "Partitions without a live leader (active controller only)",
        offline,
    );
    g.one(
        "kafka_controller_kafkacontroller_globalpartitioncount",
        "Partitions in the cluster (active controller only)",
        partitions,
    );
    g.one(
        "kafka_controller_kafkacontroller_globaltopiccount",
        "Topics in the cluster (active controller only)",
        topics,
    );
    g.one(
        "kafka_controller_kafkacontroller_activebrokercount",
        "Registered brokers not fenced (active controller only)",
        live,
    );
    g.one(
        "kafka_controller_kafkacontroller_fencedbrokercount",
        "Registered brokers fenced for missed heartbeats or a shutdown (active controller only)",
        fenced,
    );
}

/// The metadata quorum as this node sees it (KRaft's raft-metrics).
fn quorum(broker: &Broker, g: &mut Gauges) {
    let m = broker.raft.metrics();
    let m = m.borrow();
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    g.one(
        "kafka_server_raft_metrics_current_leader",
        "Node id of the metadata quorum's leader; -1 when none is known",
        m.current_leader.map_or(-1, to_i64),
    );
    g.one(
        "kafka_server_raft_metrics_current_epoch",
        "The metadata quorum's current term (KRaft's epoch)",
        to_i64(m.current_term),
    );
    g.one(
        "kafka_server_raft_metrics_log_end_offset",
        "Entries in this node's copy of the metadata log",
        m.last_log_index.map_or(0, |i| to_i64(i + 1)),
    );
    let applied = m.last_applied.map_or(0, |l| to_i64(l.index + 1));
    g.one(
        "kafka_server_broker_metadata_metrics_last_applied_record_offset",
        "Metadata log entries this node has applied to its image",
        applied,
    );
    let state = match m.state {
        openraft::ServerState::Leader => "leader",
        openraft::ServerState::Follower => "follower",
        openraft::ServerState::Candidate => "candidate",
        openraft::ServerState::Learner => "observer",
        openraft::ServerState::Shutdown => "shutdown",
    };
    for s in ["leader", "follower", "candidate", "observer", "shutdown"] {
        g.set(
            "kafka_server_raft_metrics_current_state",
            "1 for this node's role in the metadata quorum",
            vec![("state", s.to_string())],
            i64::from(s == state),
        );
    }
    // The leader knows how far behind each other node's copy is.
    if let Some(replication) = &m.replication {
        let end = m.last_log_index.map_or(0, |i| to_i64(i + 1));
        for (id, matched) in replication {
            if *id == m.id {
                continue;
            }
            let has = matched.map_or(0, |l| to_i64(l.index + 1));
            g.set(
                "kafka_server_raft_metrics_replica_lag",
                "Metadata log entries a node lacks, as its quorum leader sees it",
                vec![("replica", id.to_string())],
                (end - has).max(0),
            );
        }
    }
}

/// Group lag per committed partition, and each group's total and maximum.
async fn groups(broker: &Broker, g: &mut Gauges) {
    let rows = super::lag::collect(broker).await;
    let mut per_group: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let labels = vec![
            ("group", r.group.clone()),
            ("topic", r.topic.clone()),
            ("partition", r.partition.to_string()),
        ];
        g.set(
            "kafka_consumergroup_group_offset",
            "A group's committed offset for a partition",
            labels.clone(),
            r.committed,
        );
        if let Some(lag) = r.lag() {
            g.set(
                "kafka_consumergroup_group_lag",
                "Records of a partition a group has not committed yet (high watermark minus committed offset)",
                labels,
                lag,
            );
            let e = per_group.entry(&r.group).or_default();
            e.0 += lag;
            e.1 = e.1.max(lag);
        }
    }
    for (group, (sum, max)) in per_group {
        let labels = vec![("group", group.to_string())];
        g.set(
            "kafka_consumergroup_group_sum_lag",
            "A group's lag summed over its partitions",
            labels.clone(),
            sum,
        );
        g.set(
            "kafka_consumergroup_group_max_lag",
            "A group's largest lag on one partition",
            labels,
            max,
        );
    }
}

/// The request memory pool (`queued.max.request.bytes`).
fn memory(broker: &Broker, g: &mut Gauges) {
    let total = i64::try_from(broker.settings.queued_max_request_bytes).unwrap_or(i64::MAX);
    let available = i64::try_from(broker.memory.available_permits()).unwrap_or(i64::MAX);
    g.one(
        "kafka_network_socketserver_memorypoolused",
        "Bytes of requests and fetch responses held in memory",
        (total - available).max(0),
    );
    g.one(
        "kafka_network_socketserver_memorypoolavailable",
        "Bytes of queued.max.request.bytes free for more requests",
        available,
    );
}

/// Resident memory and open files, as Prometheus' process collectors name
/// them (read from /proc; absent where there is none).
fn process(g: &mut Gauges) {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
    {
        g.one(
            "process_resident_memory_bytes",
            "Resident memory of the kfkd process",
            kb * 1024,
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        g.one(
            "process_open_fds",
            "Open file descriptors of the kfkd process",
            i64::try_from(fds.count()).unwrap_or(i64::MAX),
        );
    }
}
