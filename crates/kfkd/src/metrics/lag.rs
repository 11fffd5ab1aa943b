//! Consumer lag, as kafka-lag-exporter reports it: for each group this
//! broker coordinates, each committed partition's distance to the
//! partition's high watermark. Partitions this broker hosts answer from
//! memory; the others are asked of their leaders with one ListOffsets per
//! leader, in parallel and bounded in time, so a dead broker costs a scrape
//! its lag figures for that broker's partitions, not the scrape.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest};
use kfk_wire::topic_name;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::replica::leader_link::LeaderLink;

/// How long a scrape waits for other brokers' end offsets.
const REMOTE_PATIENCE: Duration = Duration::from_secs(2);

/// ListOffsets' latest-offset timestamp.
const LATEST: i64 = -1;

/// One committed offset and, when known, its partition's high watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPartition {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub end: Option<i64>,
}

impl GroupPartition {
    /// Records the group has not consumed yet; a commit past the end (the
    /// log was truncated) counts as none.
    pub fn lag(&self) -> Option<i64> {
        self.end.map(|e| (e - self.committed).max(0))
    }
}

type Key = (String, i32);

/// The committed offsets of this broker's groups with their lag.
pub async fn collect(broker: &Broker) -> Vec<GroupPartition> {
    let committed = broker.groups.committed_offsets();
    let mut ends: HashMap<Key, i64> = HashMap::new();
    let mut remote: BTreeMap<i32, Vec<Key>> = BTreeMap::new();
    for (_, topic, partition, _) in &committed {
        let key = (topic.clone(), *partition);
        if ends.contains_key(&key) {
            continue;
        }
        let tp = kfk_log::TopicPartition::new(topic.clone(), *partition);
        if let Some(part) = broker.partition(&tp) {
            ends.insert(key, part.high_watermark());
            continue;
        }
        let leader = broker.with_image(|i| {
            i.topics
                .get(topic)
                .and_then(|t| t.partitions.get(usize::try_from(*partition).ok()?))
                .map(|p| p.leader)
        });
        if let Some(l) = leader.filter(|l| *l >= 0) {
            let keys = remote.entry(l).or_default();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut asks = JoinSet::new();
    for (leader, keys) in remote {
        let Some(addr) = broker.with_image(|i| {
            i.brokers
                .get(&leader)
                .filter(|b| !b.fenced)
                .map(|b| format!("{}:{}", b.host, b.port))
        }) else {
            continue;
        };
        let tls = broker.inter_broker_tls.clone();
        asks.spawn(async move { end_offsets(addr, tls, keys).await });
    }
    let remote = tokio::time::timeout(REMOTE_PATIENCE, async {
        let mut found = Vec::new();
        while let Some(done) = asks.join_next().await {
            if let Ok(Ok(offsets)) = done {
                found.extend(offsets);
            }
        }
        found
    })
    .await
    .unwrap_or_default();
    ends.extend(remote);
    committed
        .into_iter()
        .map(|(group, topic, partition, committed)| {
            let end = ends.get(&(topic.clone(), partition)).copied();
            GroupPartition {
                group,
                topic,
                partition,
                committed,
                end,
            }
        })
        .collect()
}

/// Asks the leader at `addr` for the high watermarks of `keys`.
async fn end_offsets(
    addr: String,
    tls: Option<Arc<kfk_tls::rustls::ClientConfig>>,
    keys: Vec<Key>,
) -> anyhow::Result<Vec<(Key, i64)>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in &keys {
        by_topic.entry(t).or_default().push(*p);
    }
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(0)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    ListOffsetsTopic::default()
                        .with_name(topic_name(t.to_string()))
                        .with_partitions(
                            ps.into_iter()
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_timestamp(LATEST)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let mut link =
        LeaderLink::connect(&addr, tls, REMOTE_PATIENCE, REMOTE_PATIENCE, 16 << 20).await?;
    let resp = link.send_at(&req, 2).await?;
    Ok(resp
        .topics
        .into_iter()
        .flat_map(|t| {
            let name = t.name.0.to_string();
            t.partitions
                .into_iter()
                .filter(|p| p.error_code == 0 && p.offset >= 0)
                .map(move |p| ((name.clone(), p.partition_index), p.offset))
        })
        .collect())
}
