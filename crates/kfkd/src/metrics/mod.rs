//! Prometheus metrics under the names operators' Kafka dashboards already
//! use: Kafka's JMX names as the Prometheus JMX exporter renders them
//! (`kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec` becomes
//! `kafka_server_brokertopicmetrics_messagesin_total`).
//!
//! Two kinds: [`Meters`] count events as they happen (records in, bytes out,
//! requests and their latency, ISR changes, connections) and are bumped on
//! the request path without allocating; everything that is state (partition
//! counts, log sizes, group lag, the quorum) is read from the broker when
//! Prometheus scrapes ([`scrape`]), so it cannot drift from the truth.

pub mod http;
mod lag;
pub mod scrape;

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kfk_sync::{read, write};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A series' labels; empty for a broker-wide total.
pub type Labels = Vec<(&'static str, String)>;

/// Request latency buckets in milliseconds, as Kafka's `TotalTimeMs`: from a
/// cached metadata answer to a long-polling fetch's wait.
const LATENCY_BUCKETS_MS: [f64; 15] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
    30000.0,
];

/// One topic's counters (or the broker's totals).
#[derive(Debug, Clone, Default)]
struct TopicMeters {
    messages_in: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    replication_bytes_in: Counter,
    replication_bytes_out: Counter,
}

/// One request type's counters.
#[derive(Debug, Clone)]
struct RequestMeters {
    requests: Counter,
    total_time_ms: Histogram,
}

/// Kafka's request label: fetches from followers and consumers are counted
/// apart (`FetchFollower`, `FetchConsumer`), every other API by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestLabel {
    Api(ApiKey),
    FetchFollower,
    FetchConsumer,
}

/// The event counters; one per broker, shared by every connection.
#[derive(Debug)]
pub struct Meters {
    registry: Registry,
    messages_in: Family<Labels, Counter>,
    bytes_in: Family<Labels, Counter>,
    bytes_out: Family<Labels, Counter>,
    replication_bytes_in: Family<Labels, Counter>,
    replication_bytes_out: Family<Labels, Counter>,
    total: TopicMeters,
    topics: RwLock<HashMap<String, TopicMeters>>,
    /// Indexed by API key, the two fetch kinds after the last key; each
    /// made on its first request, so only request types seen are listed.
    requests: Vec<OnceLock<RequestMeters>>,
    requests_family: Family<Labels, Counter>,
    times: Family<Labels, Histogram>,
    isr_shrinks: Counter,
    isr_expands: Counter,
    connections: Family<Labels, Gauge>,
    /// Connections accepted since start, per listener.
    connections_accepted: Family<Labels, Counter>,
}

impl Default for Meters {
    fn default() -> Self {
        Meters::new()
    }
}

/// The slots of [`Meters::requests`]: every API key, then the fetch kinds.
fn request_slot(label: RequestLabel) -> usize {
    let keys = max_api_key() + 1;
    match label {
        RequestLabel::Api(k) => k as i16 as usize,
        RequestLabel::FetchFollower => keys,
        RequestLabel::FetchConsumer => keys + 1,
    }
}

fn max_api_key() -> usize {
    ApiKey::iter().map(|k| k as i16 as usize).max().unwrap_or(0)
}

impl Meters {
    pub fn new() -> Meters {
        let mut registry = Registry::default();
        let family = |registry: &mut Registry, name: &str, help: &str| {
            let f = Family::<Labels, Counter>::default();
            registry.register(name, help, f.clone());
            f
        };
        let messages_in = family(
            &mut registry,
            "kafka_server_brokertopicmetrics_messagesin",
            "Records appended by this broker as leader, per topic and in total",
        );
        let bytes_in = family(
            &mut registry,
            "kafka_server_brokertopicmetrics_bytesin",
            "Bytes of record batches produced to this broker, per topic and in total",
        );
        let bytes_out = family(
            &mut registry,
            "kafka_server_brokertopicmetrics_bytesout",
            "Bytes of records fetched by consumers, per topic and in total",
        );
        let replication_bytes_in = family(
            &mut registry,
            "kafka_server_brokertopicmetrics_replicationbytesin",
            "Bytes of records this broker copied from leaders as a follower",
        );
        let replication_bytes_out = family(
            &mut registry,
            "kafka_server_brokertopicmetrics_replicationbytesout",
            "Bytes of records followers fetched from this broker",
        );
        let total = TopicMeters {
            messages_in: messages_in.get_or_create(&Vec::new()).clone(),
            bytes_in: bytes_in.get_or_create(&Vec::new()).clone(),
            bytes_out: bytes_out.get_or_create(&Vec::new()).clone(),
            replication_bytes_in: replication_bytes_in.get_or_create(&Vec::new()).clone(),
            replication_bytes_out: replication_bytes_out.get_or_create(&Vec::new()).clone(),
        };
        let requests_family = family(
            &mut registry,
            "kafka_network_requestmetrics_requests",
            "Requests answered, per request type",
        );
        let times = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS_MS)) as fn() -> Histogram,
        );
        registry.register(
            "kafka_network_requestmetrics_totaltimems",
            "Milliseconds from a request's arrival to its response written, per request type",
            times.clone(),
        );
        let requests = (0..=request_slot(RequestLabel::FetchConsumer))
            .map(|_| OnceLock::new())
            .collect();
        let isr_shrinks = Counter::default();
        registry.register(
            "kafka_server_replicamanager_isrshrinks",
            "Times a partition this broker leads dropped a follower from its ISR",
            isr_shrinks.clone(),
        );
        let isr_expands = Counter::default();
        registry.register(
            "kafka_server_replicamanager_isrexpands",
            "Times a partition this broker leads took a caught-up follower back into its ISR",
            isr_expands.clone(),
        );
        let connections = Family::<Labels, Gauge>::default();
        registry.register(
            "kafka_server_socket_server_metrics_connection_count",
            "Open client connections, per listener",
            connections.clone(),
        );
        let connections_accepted = family(
            &mut registry,
            "kafka_server_socket_server_metrics_connection_creation",
            "Client connections accepted since start, per listener",
        );
        Meters {
            registry,
            messages_in,
            bytes_in,
            bytes_out,
            replication_bytes_in,
            replication_bytes_out,
            total,
            topics: RwLock::new(HashMap::new()),
            requests,
            requests_family,
            times,
            isr_shrinks,
            isr_expands,
            connections,
            connections_accepted,
        }
    }

    /// Runs `f` on `topic`'s counters, creating them on its first record.
    fn topic(&self, topic: &str, f: impl Fn(&TopicMeters)) {
        f(&self.total);
        if let Some(m) = read(&self.topics).get(topic) {
            f(m);
            return;
        }
        let mut topics = write(&self.topics);
        let m = topics.entry(topic.to_string()).or_insert_with(|| {
            let l: Labels = vec![("topic", topic.to_string())];
            TopicMeters {
                messages_in: self.messages_in.get_or_create(&l).clone(),
                bytes_in: self.bytes_in.get_or_create(&l).clone(),
                bytes_out: self.bytes_out.get_or_create(&l).clone(),
                replication_bytes_in: self.replication_bytes_in.get_or_create(&l).clone(),
                replication_bytes_out: self.replication_bytes_out.get_or_create(&l).clone(),
            }
        });
        f(m);
    }

    /// A leader appended `records` records of `bytes` bytes to `topic`.
    pub fn produced(&self, topic: &str, records: u64, bytes: u64) {
        self.topic(topic, |m| {
            m.messages_in.inc_by(records);
            m.bytes_in.inc_by(bytes);
        });
    }

    /// A fetch answered `bytes` bytes of `topic`'s records.
    pub fn fetched(&self, topic: &str, bytes: u64, by_follower: bool) {
        self.topic(topic, |m| {
            if by_follower {
                m.replication_bytes_out.inc_by(bytes);
            } else {
                m.bytes_out.inc_by(bytes);
            }
        });
    }

    /// This broker, as a follower, copied `bytes` bytes of `topic`.
    pub fn replicated(&self, topic: &str, bytes: u64) {
        self.topic(topic, |m| {
            m.replication_bytes_in.inc_by(bytes);
        });
    }

    /// A request was answered `took` after it arrived.
    pub fn request_done(&self, label: RequestLabel, took: Duration) {
        let Some(slot) = self.requests.get(request_slot(label)) else {
            return;
        };
        let m = slot.get_or_init(|| {
            let l: Labels = vec![("request", request_name(label))];
            RequestMeters {
                requests: self.requests_family.get_or_create(&l).clone(),
                total_time_ms: self.times.get_or_create(&l).clone(),
            }
        });
        m.requests.inc();
        m.total_time_ms.observe(took.as_secs_f64() * 1000.0);
    }

    /// An ISR this broker leads changed from `before` to `after` replicas.
    pub fn isr_changed(&self, before: usize, after: usize) {
        if after < before {
            self.isr_shrinks.inc();
        } else if after > before {
            self.isr_expands.inc();
        }
    }

    /// A connection opened on `listener`; the guard counts it closed.
    pub fn connection_opened(&self, listener: &str) -> ConnectionGuard {
        let l: Labels = vec![("listener", listener.to_string())];
        self.connections_accepted.get_or_create(&l).inc();
        let gauge = self.connections.get_or_create(&l).clone();
        gauge.inc();
        ConnectionGuard { gauge }
    }

    /// Forgets the series of topics that no longer exist, as Kafka removes a
    /// deleted topic's metrics.
    pub fn retain_topics(&self, exists: impl Fn(&str) -> bool) {
        let mut topics = write(&self.topics);
        let gone: Vec<String> = topics.keys().filter(|t| !exists(t)).cloned().collect();
        for t in gone {
            topics.remove(&t);
            let l: Labels = vec![("topic", t)];
            for f in [
                &self.messages_in,
                &self.bytes_in,
                &self.bytes_out,
                &self.replication_bytes_in,
                &self.replication_bytes_out,
            ] {
                f.remove(&l);
            }
        }
    }

    /// Records appended as leader since start, all topics.
    pub fn messages_in_total(&self) -> u64 {
        self.total.messages_in.get()
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Counts a connection closed when dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    gauge: Gauge<i64, std::sync::atomic::AtomicI64>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Kafka's name for a request type in RequestMetrics (`request=...`).
pub fn request_name(label: RequestLabel) -> String {
    match label {
        RequestLabel::Api(k) => format!("{k:?}"),
        RequestLabel::FetchFollower => "FetchFollower".into(),
        RequestLabel::FetchConsumer => "FetchConsumer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(m: &Meters) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, m.registry()).unwrap();
        out
    }

    #[test]
    fn records_count_per_topic_and_in_the_total_series() {
        let m = Meters::new();
        m.produced("orders", 3, 300);
        m.produced("orders", 2, 120);
        m.produced("audit", 1, 50);
        let p = page(&m);
        assert!(
            p.contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 5\n"),
            "{p}"
        );
        assert!(
            p.contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"audit\"} 1\n"),
            "{p}"
        );
        assert!(
            p.contains("kafka_server_brokertopicmetrics_bytesin_total{topic=\"orders\"} 420\n"),
            "{p}"
        );
        assert_eq!(m.messages_in_total(), 6);
    }

    #[test]
    fn fetches_by_followers_count_as_replication_not_consumption() {
        let m = Meters::new();
        m.fetched("orders", 100, false);
        m.fetched("orders", 40, true);
        m.replicated("orders", 7);
        let p = page(&m);
        assert!(
            p.contains("kafka_server_brokertopicmetrics_bytesout_total{topic=\"orders\"} 100\n"),
            "{p}"
        );
        assert!(
            p.contains(
                "kafka_server_brokertopicmetrics_replicationbytesout_total{topic=\"orders\"} 40\n"
            ),
            "{p}"
        );
        assert!(
            p.contains(
                "kafka_server_brokertopicmetrics_replicationbytesin_total{topic=\"orders\"} 7\n"
            ),
            "{p}"
        );
    }

    #[test]
    fn requests_are_counted_and_timed_per_kind_with_fetches_split() {
        let m = Meters::new();
        m.request_done(RequestLabel::Api(ApiKey::Produce), Duration::from_millis(3));
        m.request_done(
            RequestLabel::Api(ApiKey::Produce),
            Duration::from_millis(30),
        );
        m.request_done(RequestLabel::FetchFollower, Duration::from_millis(500));
        let p = page(&m);
        assert!(
            p.contains("kafka_network_requestmetrics_requests_total{request=\"Produce\"} 2\n"),
            "{p}"
        );
        assert!(
            p.contains(
                "kafka_network_requestmetrics_requests_total{request=\"FetchFollower\"} 1\n"
            ),
            "{p}"
        );
        assert!(!p.contains("FetchConsumer"), "{p}");
        // 3 ms is under the 5 ms bucket, 30 ms is not.
        assert!(p.contains("kafka_network_requestmetrics_totaltimems_bucket{le=\"5.0\",request=\"Produce\"} 1\n")
            || p.contains("kafka_network_requestmetrics_totaltimems_bucket{request=\"Produce\",le=\"5.0\"} 1\n"), "{p}");
        assert!(
            p.contains("kafka_network_requestmetrics_totaltimems_sum{request=\"Produce\"} 33"),
            "{p}"
        );
    }

    #[test]
    fn isr_changes_and_connections_are_counted() {
        let m = Meters::new();
        m.isr_changed(3, 2);
        m.isr_changed(2, 1);
        m.isr_changed(1, 3);
        m.isr_changed(2, 2);
        let a = m.connection_opened("PLAINTEXT");
        let b = m.connection_opened("PLAINTEXT");
        drop(a);
        let p = page(&m);
        assert!(
            p.contains("kafka_server_replicamanager_isrshrinks_total 2\n"),
            "{p}"
        );
        assert!(
            p.contains("kafka_server_replicamanager_isrexpands_total 1\n"),
            "{p}"
        );
        assert!(
            p.contains(
                "kafka_server_socket_server_metrics_connection_count{listener=\"PLAINTEXT\"} 1\n"
            ),
            "{p}"
        );
        assert!(p.contains("kafka_server_socket_server_metrics_connection_creation_total{listener=\"PLAINTEXT\"} 2\n"), "{p}");
        drop(b);
    }

    #[test]
    fn a_deleted_topics_series_go_but_the_total_keeps_its_records() {
        let m = Meters::new();
        m.produced("gone", 4, 40);
        m.produced("kept", 1, 10);
        m.retain_topics(|t| t == "kept");
        let p = page(&m);
        assert!(!p.contains("topic=\"gone\""), "{p}");
        assert!(p.contains("topic=\"kept\""), "{p}");
        assert_eq!(m.messages_in_total(), 5);
        // Produced again after being recreated: counted from zero.
        m.produced("gone", 1, 10);
        assert!(
            page(&m)
                .contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"gone\"} 1\n")
        );
    }
}
