//! The ZooKeeper tree Kafka kept, built from standard admin APIs (so it
//! works against any Kafka cluster) plus, from kfkd, what only the metadata
//! log knows: when each node changed and the data of `/controller`,
//! `/controller_epoch` and `/latest_producer_id_block` (see [`Tree::stamp`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use kfk_client::acl::{AclBinding, AclFilter, PatternType};
use kfk_client::{Client, Metadata, QuorumStatus};

/// The resource types ZooKeeper kept ACL nodes for.
const ACL_RESOURCE_TYPES: &[&str] = &[
    "Cluster",
    "DelegationToken",
    "Group",
    "Topic",
    "TransactionalId",
];
use serde_json::{Value, json};

use crate::error::{CliError, CliResult};

/// One command's view of the cluster (metadata fetched once per command).
pub(super) struct Tree {
    pub(super) client: Arc<Client>,
    pub(super) meta: Metadata,
    /// The metadata quorum, where the cluster answers DescribeQuorum.
    pub(super) quorum: Option<QuorumStatus>,
}

pub(super) fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

pub(super) fn no_node(path: &str) -> CliError {
    CliError::new(format!("Node does not exist: {path}"))
}

/// The name that asks kfkd for a path's stat (see kfkd's znode view).
const ZNODE_PREFIX: &str = "kfk.znode:";

/// What the metadata log knows of a node: ZooKeeper's `Stat` fields and,
/// for a few nodes, their data.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(super) struct Stamp {
    pub(super) czxid: u64,
    pub(super) ctime: i64,
    pub(super) mzxid: u64,
    pub(super) mtime: i64,
    pub(super) pzxid: u64,
    pub(super) cversion: i32,
    pub(super) version: i32,
    pub(super) ephemeral_owner: i64,
    #[serde(default)]
    pub(super) data: Option<Value>,
}

impl Tree {
    pub(super) async fn load(client: Arc<Client>) -> CliResult<Tree> {
        let meta = client.refresh(None).await?;
        // A cluster without DescribeQuorum (or without a quorum leader right
        // now) still shows the rest of the tree.
        let quorum = client.describe_quorum().await.ok();
        Ok(Tree {
            client,
            meta,
            quorum,
        })
    }

    /// The active controller: the quorum's leader, else what Metadata says.
    fn controller(&self) -> i32 {
        self.quorum
            .as_ref()
            .map_or(self.meta.controller_id, |q| q.leader)
    }

    /// What the metadata log knows of `path` (kfkd only; `None` elsewhere).
    pub(super) async fn stamp(&self, path: &str) -> Option<Stamp> {
        let key = format!("{ZNODE_PREFIX}{path}");
        let configs = self
            .client
            .describe_configs_keys(4, "", Some(vec![key.clone()]))
            .await
            .ok()?;
        let entry = configs.into_iter().find(|c| c.name == key)?;
        serde_json::from_str(entry.value.as_deref()?).ok()
    }

    /// Children of `path`, sorted as zookeeper-shell prints them.
    pub(super) async fn children(&self, path: &str) -> CliResult<Vec<String>> {
        let parts = split(path);
        let ids = |v: Vec<i32>| v.into_iter().map(|i| i.to_string()).collect::<Vec<_>>();
        Ok(match parts.as_slice() {
            [] => {
                let mut root: Vec<String> = [
                    "admin",
                    "brokers",
                    "cluster",
                    "config",
                    "consumers",
                    "controller_epoch",
                    "feature",
                    "isr_change_notification",
                    "latest_producer_id_block",
                    "log_dir_event_notification",
                    "zookeeper",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                // As in ZooKeeper, /controller exists while there is one.
                if self.controller() >= 0 {
                    root.push("controller".into());
                }
                // The ACL nodes exist with an authorizer.
                if self.acls().await?.is_some() {
                    root.push("kafka-acl".into());
                    root.push("kafka-acl-extended".into());
                }
                root.sort();
                root
            }
            // As in ZooKeeper, the reassignment node exists only while moves
            // are in flight.
            ["admin"] => {
                if self.client.list_partition_reassignments().await?.is_empty() {
                    Vec::new()
                } else {
                    vec!["reassign_partitions".into()]
                }
            }
            ["brokers"] => vec!["ids".into(), "seqid".into(), "topics".into()],
            ["zookeeper"] => vec!["config".into(), "quota".into()],
            ["brokers", "ids"] => ids(self.meta.brokers.keys().copied().collect()),
            ["brokers", "topics"] | ["config", "topics"] => {
                self.meta.topics.keys().cloned().collect()
            }
            ["brokers", "topics", t] => {
                self.topic(t, path)?;
                vec!["partitions".into()]
            }
            ["brokers", "topics", t, "partitions"] => ids(self
                .topic(t, path)?
                .partitions
                .iter()
                .map(|p| p.partition)
                .collect()),
            ["brokers", "topics", t, "partitions", p] => {
                self.partition(t, p, path)?;
                vec!["state".into()]
            }
            ["cluster"] => vec!["id".into()],
            ["kafka-acl"] | ["kafka-acl-extended", "prefixed"] => {
                ACL_RESOURCE_TYPES.iter().map(|t| t.to_string()).collect()
            }
            ["kafka-acl-extended"] => vec!["prefixed".into()],
            ["kafka-acl", rtype] | ["kafka-acl-extended", "prefixed", rtype] => {
                let prefixed = parts.len() == 3;
                let mut names: Vec<String> = self
                    .acls()
                    .await?
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| {
                        a.resource_type.name() == *rtype
                            && (a.pattern_type == PatternType::Prefixed) == prefixed
                    })
                    .map(|a| a.resource_name)
                    .collect();
                names.dedup();
                names
            }
            // Nodes Kafka kept that kfk's clusters have nothing under.
            ["brokers", "seqid"]
            | ["isr_change_notification"]
            | ["log_dir_event_notification"]
            | ["zookeeper", "quota"] => Vec::new(),
            ["config"] => vec![
                "brokers".into(),
                "clients".into(),
                "topics".into(),
                "users".into(),
            ],
            ["config", "users"] => {
                let mut users: Vec<String> = self.scram_users().await?.into_keys().collect();
                users.extend(self.quotas().await.into_iter().filter_map(|(u, _, _)| u));
                users.sort();
                users.dedup();
                users
            }
            ["config", "clients"] => {
                let mut clients: Vec<String> = self
                    .quotas()
                    .await
                    .into_iter()
                    .filter(|(u, _, _)| u.is_none())
                    .filter_map(|(_, c, _)| c)
                    .collect();
                clients.sort();
                clients.dedup();
                clients
            }
            ["config", "users", user, "clients"] => {
                let mut clients: Vec<String> = self
                    .quotas()
                    .await
                    .into_iter()
                    .filter(|(u, _, _)| u.as_deref() == Some(*user))
                    .filter_map(|(_, c, _)| c)
                    .collect();
                if clients.is_empty() {
                    return Err(no_node(path));
                }
                clients.sort();
                clients
            }
            ["config", "brokers"] => ids(self.meta.brokers.keys().copied().collect()),
            ["consumers"] => {
                let mut g: Vec<String> = self
                    .client
                    .list_groups()
                    .await?
                    .into_iter()
                    .map(|g| g.group)
                    .collect();
                g.sort();
                g
            }
            _ => {
                // Leaves exist (with no children) when their data does.
                self.data(path).await?;
                Vec::new()
            }
        })
    }

    fn topic(&self, t: &str, path: &str) -> CliResult<&kfk_client::TopicInfo> {
        self.meta
            .topics
            .get(t)
            .map(|t| &**t)
            .ok_or_else(|| no_node(path))
    }

    fn partition(&self, t: &str, p: &str, path: &str) -> CliResult<&kfk_client::PartitionInfo> {
        let p: i32 = p.parse().map_err(|_| no_node(path))?;
        self.topic(t, path)?
            .partition(p)
            .ok_or_else(|| no_node(path))
    }

    /// The node's data as JSON (`null` for nodes that only have children).
    pub(super) async fn data(&self, path: &str) -> CliResult<Value> {
        let parts = split(path);
        Ok(match parts.as_slice() {
            ["controller"] => {
                let active = self.controller();
                if active < 0 {
                    return Err(no_node(path));
                }
                // kfkd recorded the election and when; elsewhere the time
                // is not known.
                match self.stamp(path).await.and_then(|s| s.data) {
                    Some(d) if d["brokerid"] == active => d,
                    _ => json!({"version": 2, "brokerid": active}),
                }
            }
            ["controller_epoch"] => match self.stamp(path).await.and_then(|s| s.data) {
                Some(d) => d,
                None => self.quorum.as_ref().map_or(Value::Null, |q| json!(q.epoch)),
            },
            ["latest_producer_id_block"] => self
                .stamp(path)
                .await
                .and_then(|s| s.data)
                .unwrap_or(Value::Null),
            ["feature"] => {
                let features: BTreeMap<String, i16> = self
                    .client
                    .finalized_features()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                json!({"version": 2, "status": 1, "features": features})
            }
            ["zookeeper", "config"] => {
                // The ensemble ZooKeeper described here is the quorum's voters.
                let Some(q) = &self.quorum else {
                    return Ok(Value::Null);
                };
                let mut lines: Vec<String> = q
                    .voters
                    .iter()
                    .map(|v| {
                        let addr = q.nodes.get(&v.id).map_or("", String::as_str);
                        format!("server.{}={addr}:participant", v.id)
                    })
                    .collect();
                lines.push(format!("version={:x}", q.epoch));
                Value::String(lines.join("\n"))
            }
            ["cluster", "id"] => json!({"version": "1", "id": self.meta.cluster_id}),
            ["brokers", "ids", id] => {
                let b = id
                    .parse::<i32>()
                    .ok()
                    .and_then(|id| self.meta.brokers.get(&id))
                    .ok_or_else(|| no_node(path))?;
                json!({
                    "host": b.host,
                    "port": b.port,
                    "endpoints": [format!("PLAINTEXT://{}:{}", b.host, b.port)],
                    "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
                    "rack": b.rack,
                    "jmx_port": -1,
                    "version": 5,
                })
            }
            ["brokers", "topics", t] => {
                let info = self.topic(t, path)?;
                let partitions: BTreeMap<String, Vec<i32>> = info
                    .partitions
                    .iter()
                    .map(|p| (p.partition.to_string(), p.replicas.clone()))
                    .collect();
                json!({
                    "version": 3,
                    "topic_id": info.id.to_string(),
                    "partitions": partitions,
                    "adding_replicas": {},
                    "removing_replicas": {},
                })
            }
            ["brokers", "topics", t, "partitions", p, "state"] => {
                let part = self.partition(t, p, path)?;
                json!({
                    "controller_epoch": 1,
                    "leader": part.leader,
                    "version": 1,
                    "leader_epoch": part.leader_epoch,
                    "isr": part.isr,
                })
            }
            ["config", "topics", t] => {
                self.topic(t, path)?;
                let overrides: BTreeMap<String, String> = self
                    .client
                    .describe_configs(2, t)
                    .await?
                    .into_iter()
                    .filter(|c| c.is_override())
                    .filter_map(|c| Some((c.name, c.value?)))
                    .collect();
                json!({"version": 1, "config": overrides})
            }
            ["kafka-acl", rtype, name] | ["kafka-acl-extended", "prefixed", rtype, name] => {
                let prefixed = parts.len() == 4;
                let acls: Vec<Value> = self
                    .acls()
                    .await?
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| {
                        a.resource_type.name() == *rtype
                            && a.resource_name == *name
                            && (a.pattern_type == PatternType::Prefixed) == prefixed
                    })
                    .map(|a| {
                        json!({
                            "principal": a.principal,
                            "permissionType": a.permission.name(),
                            "operation": a.operation.name(),
                            "host": a.host,
                        })
                    })
                    .collect();
                if acls.is_empty() {
                    return Err(no_node(path));
                }
                json!({"version": 1, "acls": acls})
            }
            ["config", "users", user] => {
                // ZooKeeper held the salt and keys too; the API shows only
                // the mechanisms and their iteration counts.
                let users = self.scram_users().await?;
                let mut config: BTreeMap<String, String> = users
                    .get(*user)
                    .into_iter()
                    .flatten()
                    .map(|(m, i)| (m.name().to_string(), format!("iterations={i}")))
                    .collect();
                let quotas = self.quotas().await;
                let mine = quotas
                    .iter()
                    .find(|(u, c, _)| u.as_deref() == Some(*user) && c.is_none());
                if let Some((_, _, q)) = mine {
                    config.extend(q.iter().map(|(k, v)| (k.clone(), v.to_string())));
                }
                let has_clients = quotas
                    .iter()
                    .any(|(u, c, _)| u.as_deref() == Some(*user) && c.is_some());
                if config.is_empty() && !has_clients {
                    return Err(no_node(path));
                }
                json!({"version": 1, "config": config})
            }
            ["config", "users", _, "clients", client] | ["config", "clients", client] => {
                let user = (parts.len() == 5).then(|| parts[2]);
                let quotas = self.quotas().await;
                let (_, _, q) = quotas
                    .iter()
                    .find(|(u, c, _)| u.as_deref() == user && c.as_deref() == Some(*client))
                    .ok_or_else(|| no_node(path))?;
                let config: BTreeMap<&String, String> =
                    q.iter().map(|(k, v)| (k, v.to_string())).collect();
                json!({"version": 1, "config": config})
            }
            ["config", "brokers", id] => {
                let id: i32 = id.parse().map_err(|_| no_node(path))?;
                if !self.meta.brokers.contains_key(&id) {
                    return Err(no_node(path));
                }
                // Only dynamic broker configs live here, as in ZooKeeper.
                let dynamic: BTreeMap<String, String> = self
                    .client
                    .describe_configs(4, &id.to_string())
                    .await?
                    .into_iter()
                    .filter(|c| c.is_override() && !c.read_only)
                    .filter_map(|c| Some((c.name, c.value?)))
                    .collect();
                json!({"version": 1, "config": dynamic})
            }
            ["admin", "reassign_partitions"] => {
                let flight = self.client.list_partition_reassignments().await?;
                if flight.is_empty() {
                    return Err(no_node(path));
                }
                let partitions: Vec<Value> = flight
                    .iter()
                    .map(|r| {
                        let target: Vec<i32> = r
                            .replicas
                            .iter()
                            .copied()
                            .filter(|b| !r.removing.contains(b))
                            .collect();
                        json!({"topic": r.topic, "partition": r.partition, "replicas": target})
                    })
                    .collect();
                json!({"version": 1, "partitions": partitions})
            }
            ["consumers", g] => {
                let d = self.client.describe_group(g).await?;
                let offsets = self.client.committed_offsets(g).await?;
                if d.state == "Dead" && offsets.is_empty() {
                    return Err(no_node(path));
                }
                let mut by_topic: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
                for ((t, p), o) in offsets {
                    by_topic.entry(t).or_default().insert(p.to_string(), o);
                }
                json!({
                    "state": d.state,
                    "protocol": d.protocol,
                    "coordinator": d.coordinator,
                    "members": d.members.iter().map(|m| json!({
                        "member_id": m.member_id,
                        "client_id": m.client_id,
                        "host": m.host,
                        "assignment": m.assignment,
                    })).collect::<Vec<_>>(),
                    "offsets": by_topic,
                })
            }
            _ => {
                // Inner nodes have no data; anything else does not exist.
                Box::pin(self.children_exist(path)).await?;
                Value::Null
            }
        })
    }

    async fn children_exist(&self, path: &str) -> CliResult {
        let parts = split(path);
        let inner = matches!(
            parts.as_slice(),
            [] | ["admin"]
                | ["brokers"]
                | ["brokers", "ids"]
                | ["brokers", "seqid"]
                | ["isr_change_notification"]
                | ["log_dir_event_notification"]
                | ["zookeeper"]
                | ["zookeeper", "quota"]
                | ["brokers", "topics"]
                | ["brokers", "topics", _, "partitions"]
                | ["brokers", "topics", _, "partitions", _]
                | ["cluster"]
                | ["config"]
                | ["config", "brokers"]
                | ["config", "topics"]
                | ["config", "users"]
                | ["config", "clients"]
                | ["config", "users", _, "clients"]
                | ["consumers"]
                | ["kafka-acl"]
                | ["kafka-acl", _]
                | ["kafka-acl-extended"]
                | ["kafka-acl-extended", "prefixed"]
                | ["kafka-acl-extended", "prefixed", _]
        );
        if !inner {
            return Err(no_node(path));
        }
        Box::pin(self.children(path)).await.map(|_| ())
    }

    /// Every ACL; `None` from a cluster without an authorizer (or one that
    /// does not let this principal list them).
    async fn acls(&self) -> CliResult<Option<Vec<AclBinding>>> {
        match self.client.describe_acls(&AclFilter::any()).await {
            Ok(a) => Ok(Some(a)),
            Err(
                kfk_client::ClientError::Unsupported { .. } | kfk_client::ClientError::Kafka { .. },
            ) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Client quotas as (user, client id, quotas), `<default>` for the
    /// defaults; none from a cluster that does not let us see them.
    async fn quotas(&self) -> Vec<(Option<String>, Option<String>, BTreeMap<String, f64>)> {
        let name = |n: &Option<String>| n.clone().unwrap_or_else(|| "<default>".to_string());
        self.client
            .describe_client_quotas(&[])
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(entity, q)| {
                let part =
                    |kind: &str| entity.iter().find(|(t, _)| t == kind).map(|(_, n)| name(n));
                (part("user"), part("client-id"), q)
            })
            .collect()
    }

    /// SCRAM users; none from a cluster that does not keep them.
    async fn scram_users(&self) -> CliResult<kfk_client::users::UserCredentials> {
        match self.client.scram_users(None).await {
            Ok(u) => Ok(u),
            Err(kfk_client::ClientError::Unsupported { .. }) => Ok(Default::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every path under `path`, depth first.
    pub(super) async fn walk(&self, path: &str, out: &mut Vec<String>) -> CliResult {
        let children = Box::pin(self.children(path)).await?;
        for c in children {
            let child = super::join(path, &c);
            out.push(child.clone());
            Box::pin(self.walk(&child, out)).await?;
        }
        Ok(())
    }
}
