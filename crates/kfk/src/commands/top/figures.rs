//! The figures `kfk top` shows, computed from two rounds of scrapes taken
//! an interval apart: counters become rates, gauges are read as they are
//! now. Names are those kfkd serves (Kafka's, as the JMX exporter renders
//! them), so the same view reads any endpoint that uses them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::source::{Endpoint, Page};

/// One node's scrape of a round: its page, or why there is none.
pub type Scraped = Result<Page, String>;

/// A round of scrapes, one per endpoint, in the endpoints' order.
#[derive(Debug, Clone)]
pub struct Round {
    pub pages: Vec<Scraped>,
    pub at: std::time::Instant,
}

/// Everything one refresh shows.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// Seconds the rates are measured over.
    pub interval_secs: f64,
    pub nodes: Vec<NodeLine>,
    pub topics: Vec<TopicLine>,
    pub groups: Vec<GroupLine>,
    /// Node id of the active controller, when a page says.
    pub controller: Option<String>,
    /// Partitions without a leader, as the active controller counts them.
    pub offline_partitions: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeLine {
    /// Node id when its page says, else its address.
    pub node: String,
    pub endpoint: String,
    /// `running`, `starting`, `shutting down`, or why it could not be read.
    pub status: String,
    pub roles: Option<String>,
    pub partitions: Option<u64>,
    pub leaders: Option<u64>,
    pub under_replicated: Option<u64>,
    pub messages_in_per_sec: Option<f64>,
    pub bytes_in_per_sec: Option<f64>,
    pub bytes_out_per_sec: Option<f64>,
    pub replication_bytes_in_per_sec: Option<f64>,
    pub requests_per_sec: Option<f64>,
    /// Mean time to answer a produce request over the interval.
    pub produce_ms: Option<f64>,
    pub connections: Option<u64>,
    pub resident_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicLine {
    pub topic: String,
    pub messages_in_per_sec: f64,
    pub bytes_in_per_sec: f64,
    pub bytes_out_per_sec: f64,
    pub partitions: usize,
    pub under_replicated: u64,
    /// Bytes on disk over every replica.
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupLine {
    pub group: String,
    pub lag: u64,
    pub max_lag: u64,
    pub partitions: usize,
    /// How fast the lag grows (positive) or is worked off (negative).
    pub lag_change_per_sec: Option<f64>,
}

const MESSAGES_IN: &str = "kafka_server_brokertopicmetrics_messagesin_total";
const BYTES_IN: &str = "kafka_server_brokertopicmetrics_bytesin_total";
const BYTES_OUT: &str = "kafka_server_brokertopicmetrics_bytesout_total";
const REPLICATION_IN: &str = "kafka_server_brokertopicmetrics_replicationbytesin_total";
const REQUESTS: &str = "kafka_network_requestmetrics_requests_total";
const TIME_SUM: &str = "kafka_network_requestmetrics_totaltimems_sum";
const TIME_COUNT: &str = "kafka_network_requestmetrics_totaltimems_count";
const GROUP_LAG: &str = "kafka_consumergroup_group_lag";
const GROUP_SUM_LAG: &str = "kafka_consumergroup_group_sum_lag";
const GROUP_MAX_LAG: &str = "kafka_consumergroup_group_max_lag";

/// A counter's increase per second between two pages of one node; a series
/// missing before began within the interval, and a counter that went down
/// restarted with its process: both count from zero.
fn rate(before: Option<f64>, now: Option<f64>, secs: f64) -> Option<f64> {
    let now = now?;
    let before = before.unwrap_or(0.0);
    let grew = if now >= before { now - before } else { now };
    (secs > 0.0).then(|| grew / secs)
}

fn count(v: Option<f64>) -> Option<u64> {
    v.map(|v| v.max(0.0) as u64)
}

impl View {
    /// The view of `now`, with rates measured since `before`.
    pub fn between(endpoints: &[Endpoint], before: &Round, now: &Round) -> View {
        let secs = now.at.duration_since(before.at).as_secs_f64();
        let mut nodes = Vec::new();
        let mut controller = None;
        let mut offline = None;
        for (i, endpoint) in endpoints.iter().enumerate() {
            let then = before.pages.get(i).and_then(|p| p.as_ref().ok());
            match now.pages.get(i) {
                Some(Ok(page)) => {
                    let line = node_line(endpoint, then, page, secs);
                    if page.value(
                        "kafka_controller_kafkacontroller_activecontrollercount",
                        &[],
                    ) == Some(1.0)
                    {
                        controller = Some(line.node.clone());
                        offline = count(page.value(
                            "kafka_controller_kafkacontroller_offlinepartitionscount",
                            &[],
                        ));
                    }
                    nodes.push(line);
                }
                Some(Err(why)) => nodes.push(NodeLine::unreadable(endpoint, why)),
                None => nodes.push(NodeLine::unreadable(endpoint, "not scraped")),
            }
        }
        let pages_now: Vec<&Page> = now.pages.iter().filter_map(|p| p.as_ref().ok()).collect();
        // Pairs of pages of the same node, for per-topic rates.
        let pairs: Vec<(Option<&Page>, &Page)> = now
            .pages
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref().ok()?;
                Some((before.pages.get(i).and_then(|b| b.as_ref().ok()), p))
            })
            .collect();
        View {
            interval_secs: secs,
            topics: topic_lines(&pairs, &pages_now, secs),
            groups: group_lines(&before.pages, &pages_now, secs),
            nodes,
            controller,
            offline_partitions: offline,
        }
    }

    /// Partitions hosted, under-replicated, summed over the readable nodes.
    pub fn under_replicated(&self) -> u64 {
        self.nodes.iter().filter_map(|n| n.under_replicated).sum()
    }
}

impl NodeLine {
    fn unreadable(endpoint: &Endpoint, why: &str) -> NodeLine {
        NodeLine {
            node: endpoint.authority(),
            endpoint: endpoint.to_string(),
            status: why.to_string(),
            roles: None,
            partitions: None,
            leaders: None,
            under_replicated: None,
            messages_in_per_sec: None,
            bytes_in_per_sec: None,
            bytes_out_per_sec: None,
            replication_bytes_in_per_sec: None,
            requests_per_sec: None,
            produce_ms: None,
            connections: None,
            resident_bytes: None,
        }
    }
}

fn node_line(endpoint: &Endpoint, then: Option<&Page>, page: &Page, secs: f64) -> NodeLine {
    let info = page.series("kfkd_node_info").next();
    let node = info
        .and_then(|s| s.labels.get("node_id").cloned())
        .unwrap_or_else(|| endpoint.authority());
    let roles = info.and_then(|s| s.labels.get("roles").cloned());
    // Kafka's BrokerState codes, as the gauge carries them.
    let status = match page
        .value("kafka_server_kafkaserver_brokerstate", &[])
        .map(|s| s as i64)
    {
        None | Some(3) => "running",
        Some(6 | 7) => "shutting down",
        Some(_) => "starting",
    };
    let broker = roles.as_deref().is_none_or(|r| r.contains("broker"));
    let total = |p: &Page, name: &str| p.value(name, &[]);
    let counter_rate = |name: &str| {
        broker
            .then(|| then.and_then(|t| rate(total(t, name), total(page, name), secs)))
            .flatten()
    };
    let produce = |p: &Page, name: &str| p.value(name, &[("request", "Produce")]);
    let grown = |name: &str| then.and_then(|t| rate(produce(t, name), produce(page, name), 1.0));
    let produce_ms = match grown(TIME_COUNT) {
        Some(n) if n > 0.0 => grown(TIME_SUM).map(|ms| ms / n),
        _ => None,
    };
    let requests = then.and_then(|t| rate(Some(t.sum(REQUESTS)), Some(page.sum(REQUESTS)), secs));
    NodeLine {
        node,
        endpoint: endpoint.to_string(),
        status: status.to_string(),
        roles,
        partitions: count(page.value("kafka_server_replicamanager_partitioncount", &[])),
        leaders: count(page.value("kafka_server_replicamanager_leadercount", &[])),
        under_replicated: count(
            page.value("kafka_server_replicamanager_underreplicatedpartitions", &[]),
        ),
        messages_in_per_sec: counter_rate(MESSAGES_IN),
        bytes_in_per_sec: counter_rate(BYTES_IN),
        bytes_out_per_sec: counter_rate(BYTES_OUT),
        replication_bytes_in_per_sec: counter_rate(REPLICATION_IN),
        requests_per_sec: broker.then_some(requests).flatten(),
        produce_ms,
        connections: broker
            .then(|| {
                count(Some(
                    page.sum("kafka_server_socket_server_metrics_connection_count"),
                ))
            })
            .flatten(),
        resident_bytes: count(page.value("process_resident_memory_bytes", &[])),
    }
}

/// A per-topic counter summed over nodes: its rate over the interval.
fn topic_rate(pairs: &[(Option<&Page>, &Page)], name: &str, topic: &str, secs: f64) -> f64 {
    pairs
        .iter()
        .filter_map(|(then, now)| {
            let labels = [("topic", topic)];
            then.and_then(|t| rate(t.value(name, &labels), now.value(name, &labels), secs))
        })
        .sum()
}

fn topic_lines(pairs: &[(Option<&Page>, &Page)], pages: &[&Page], secs: f64) -> Vec<TopicLine> {
    let mut partitions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut size: BTreeMap<String, u64> = BTreeMap::new();
    let mut under: BTreeMap<String, u64> = BTreeMap::new();
    for page in pages {
        for s in page.series("kafka_log_log_size") {
            if let (Some(t), Some(p)) = (s.labels.get("topic"), s.labels.get("partition")) {
                partitions.entry(t.clone()).or_default().insert(p.clone());
                *size.entry(t.clone()).or_default() += s.value.max(0.0) as u64;
            }
        }
        for s in page.series("kafka_cluster_partition_underreplicated") {
            if let Some(t) = s.labels.get("topic") {
                *under.entry(t.clone()).or_default() += s.value.max(0.0) as u64;
            }
        }
    }
    // Topics with a counter but no hosted replica here (only some nodes
    // are scraped) are shown too.
    for page in pages {
        for s in page.series(MESSAGES_IN).chain(page.series(BYTES_OUT)) {
            if let Some(t) = s.labels.get("topic") {
                partitions.entry(t.clone()).or_default();
            }
        }
    }
    let mut lines: Vec<TopicLine> = partitions
        .into_iter()
        .map(|(topic, parts)| TopicLine {
            messages_in_per_sec: topic_rate(pairs, MESSAGES_IN, &topic, secs),
            bytes_in_per_sec: topic_rate(pairs, BYTES_IN, &topic, secs),
            bytes_out_per_sec: topic_rate(pairs, BYTES_OUT, &topic, secs),
            partitions: parts.len(),
            under_replicated: under.get(&topic).copied().unwrap_or(0),
            size_bytes: size.get(&topic).copied().unwrap_or(0),
            topic,
        })
        .collect();
    // The busiest first; then the largest; then by name.
    lines.sort_by(|a, b| {
        (b.messages_in_per_sec + b.bytes_out_per_sec)
            .total_cmp(&(a.messages_in_per_sec + a.bytes_out_per_sec))
            .then(b.size_bytes.cmp(&a.size_bytes))
            .then(a.topic.cmp(&b.topic))
    });
    lines
}

fn group_lines(before: &[Scraped], pages: &[&Page], secs: f64) -> Vec<GroupLine> {
    let lag_of = |pages: &mut dyn Iterator<Item = &Page>, group: &str| -> Option<f64> {
        let mut found = None;
        for p in pages {
            if let Some(v) = p.value(GROUP_SUM_LAG, &[("group", group)]) {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    };
    let mut groups: BTreeMap<String, GroupLine> = BTreeMap::new();
    for page in pages {
        for s in page.series(GROUP_SUM_LAG) {
            let Some(g) = s.labels.get("group") else {
                continue;
            };
            let line = groups.entry(g.clone()).or_insert_with(|| GroupLine {
                group: g.clone(),
                lag: 0,
                max_lag: 0,
                partitions: 0,
                lag_change_per_sec: None,
            });
            line.lag += s.value.max(0.0) as u64;
            let max = page.value(GROUP_MAX_LAG, &[("group", g)]).unwrap_or(0.0) as u64;
            line.max_lag = line.max_lag.max(max);
            line.partitions += page
                .series(GROUP_LAG)
                .filter(|l| l.labels.get("group") == Some(g))
                .count();
        }
    }
    for line in groups.values_mut() {
        let then = lag_of(
            &mut before.iter().filter_map(|p| p.as_ref().ok()),
            &line.group,
        );
        line.lag_change_per_sec = then
            .filter(|_| secs > 0.0)
            .map(|t| (line.lag as f64 - t) / secs);
    }
    let mut lines: Vec<GroupLine> = groups.into_values().collect();
    lines.sort_by(|a, b| b.lag.cmp(&a.lag).then(a.group.cmp(&b.group)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn page(text: &str) -> Scraped {
        Ok(Page::parse(text).unwrap())
    }

    #[test]
    fn counters_become_rates_and_gauges_are_read_as_they_are() {
        let endpoints = vec![
            Endpoint::parse("127.0.0.1:10092").unwrap(),
            Endpoint::parse("127.0.0.1:10093").unwrap(),
        ];
        let t0 = Instant::now();
        let before = Round {
            pages: vec![
                page(
                    "kfkd_node_info{node_id=\"1\",roles=\"broker,controller\"} 1\n\
                     kafka_server_brokertopicmetrics_messagesin_total 100\n\
                     kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 100\n\
                     kafka_consumergroup_group_sum_lag{group=\"billing\"} 50\n",
                ),
                Err("down (connection refused)".into()),
            ],
            at: t0,
        };
        let now = Round {
            pages: vec![
                page(
                    "kfkd_node_info{node_id=\"1\",roles=\"broker,controller\"} 1\n\
                     kafka_server_kafkaserver_brokerstate 3\n\
                     kafka_controller_kafkacontroller_activecontrollercount 1\n\
                     kafka_controller_kafkacontroller_offlinepartitionscount 2\n\
                     kafka_server_replicamanager_underreplicatedpartitions 4\n\
                     kafka_server_brokertopicmetrics_messagesin_total 300\n\
                     kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 300\n\
                     kafka_log_log_size{topic=\"orders\",partition=\"0\"} 1000\n\
                     kafka_log_log_size{topic=\"orders\",partition=\"1\"} 24\n\
                     kafka_consumergroup_group_sum_lag{group=\"billing\"} 30\n\
                     kafka_consumergroup_group_max_lag{group=\"billing\"} 20\n\
                     kafka_consumergroup_group_lag{group=\"billing\",topic=\"orders\",partition=\"0\"} 20\n\
                     kafka_consumergroup_group_lag{group=\"billing\",topic=\"orders\",partition=\"1\"} 10\n",
                ),
                Err("down (connection refused)".into()),
            ],
            at: t0 + Duration::from_secs(2),
        };
        let v = View::between(&endpoints, &before, &now);
        assert_eq!(v.nodes[0].node, "1");
        assert_eq!(v.nodes[0].status, "running");
        assert_eq!(v.nodes[0].messages_in_per_sec, Some(100.0));
        assert_eq!(v.nodes[1].node, "127.0.0.1:10093");
        assert_eq!(v.nodes[1].status, "down (connection refused)");
        assert_eq!(v.controller.as_deref(), Some("1"));
        assert_eq!(v.offline_partitions, Some(2));
        assert_eq!(v.under_replicated(), 4);
        let t = &v.topics[0];
        assert_eq!(
            (
                t.topic.as_str(),
                t.messages_in_per_sec,
                t.partitions,
                t.size_bytes
            ),
            ("orders", 100.0, 2, 1024)
        );
        let g = &v.groups[0];
        assert_eq!(
            (g.lag, g.max_lag, g.partitions, g.lag_change_per_sec),
            (30, 20, 2, Some(-10.0))
        );
    }

    #[test]
    fn a_counter_that_went_down_restarted_and_counts_from_zero() {
        assert_eq!(rate(Some(500.0), Some(40.0), 2.0), Some(20.0));
        assert_eq!(rate(None, Some(40.0), 2.0), Some(20.0));
        assert_eq!(rate(Some(1.0), None, 2.0), None);
    }
}
