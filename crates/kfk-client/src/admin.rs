//! Admin operations: topics, partitions, configs, offsets. Requests go to the
//! controller (topics) or to partition leaders (offsets); errors come back as
//! [`ClientError::Kafka`] with the broker's message.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
    ListOffsetsRequest,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};
use kfk_wire::topic_name;

/// What to look up with ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OffsetQuery {
    Earliest,
    Latest,
    /// The last stable offset: where read_committed consumers stop (the
    /// latest offset asked with isolation level read_committed).
    LastStable,
    /// First offset whose timestamp is at or after this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetQuery {
    fn wire(self) -> i64 {
        match self {
            OffsetQuery::Earliest => -2,
            OffsetQuery::Latest | OffsetQuery::LastStable => -1,
            OffsetQuery::Timestamp(t) => t,
        }
    }
}

/// The config resource type of consumer groups (Kafka's
/// ConfigResource.Type.GROUP; not the ACL resource type).
pub const GROUP_CONFIGS: i8 = 32;

/// One config of a resource as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's ConfigSource: 1 topic override, 4 static broker, 5 default, ...
    pub source: i8,
    pub read_only: bool,
}

impl ConfigEntry {
    /// Whether the value was set on the resource itself rather than inherited.
    pub fn is_override(&self) -> bool {
        matches!(self.source, 1 | 2 | 8)
    }
}

/// A new topic.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub name: String,
    /// -1 for the broker's `num.partitions`.
    pub partitions: i32,
    /// -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
    /// Explicit replicas per partition (the first leads); when given,
    /// `partitions` and `replication_factor` must be -1.
    pub assignments: Vec<Vec<i32>>,
}

/// Attempts for admin requests while the controller moves (an election takes
/// about a second).
const CONTROLLER_RETRIES: u32 = 10;

/// How long admin requests are retried in all: brokers already wait out an
/// election before answering NOT_CONTROLLER, so a quorum that stays without
/// a leader past this is reported, not waited on for a minute.
const CONTROLLER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(8);

/// How long group calls wait for a coordinator to come back (see
/// [`Client::retrying_coordinator`]).
const COORDINATOR_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a change whose outcome is unknown (the broker answered "timed
/// out, still going on", or did not answer) is retried to learn it, as
/// Kafka's `default.api.timeout.ms`: a create of thousands of partitions
/// outlasts one request timeout, and the user wants its outcome, not a guess.
const OUTCOME_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether to ask again about a change whose outcome `e` left unknown.
fn learn_outcome(e: &crate::ClientError, started: std::time::Instant) -> bool {
    e.outcome_unknown() && started.elapsed() < OUTCOME_PATIENCE
}

/// Whether another attempt is worth making after `attempt` failures that
/// began at `started`.
fn retry_again(attempt: u32, started: std::time::Instant) -> bool {
    attempt < CONTROLLER_RETRIES && started.elapsed() < CONTROLLER_PATIENCE
}

impl Client {
    /// Runs `op` again on retriable errors (NOT_CONTROLLER, a broker going
    /// away), refreshing metadata in between.
    pub(crate) async fn retrying<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.retrying_within(CONTROLLER_RETRIES, CONTROLLER_PATIENCE, op)
            .await
    }

    /// [`Client::retrying`] for a group's coordinator, which is gone for as
    /// long as its broker takes to be declared dead and another to load the
    /// group (`broker.session.timeout.ms`, 9 s by default, and more).
    pub(crate) async fn retrying_coordinator<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.retrying_within(u32::MAX, COORDINATOR_PATIENCE, op)
            .await
    }

    async fn retrying_within<T, F, Fut>(
        &self,
        attempts: u32,
        patience: std::time::Duration,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            match op().await {
                Err(e)
                    if e.is_retriable() && attempt < attempts && started.elapsed() < patience =>
                {
                    attempt += 1;
                    self.refresh(None).await.ok();
                    self.backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    /// The `timeout_ms` admin requests carry: the broker answers
    /// REQUEST_TIMED_OUT (the work going on) before the client stops waiting.
    fn admin_timeout_ms(&self) -> i32 {
        i32::try_from(self.config().request_timeout.as_millis() * 3 / 4).unwrap_or(i32::MAX)
    }

    /// Creates a topic. When an attempt's outcome is unknown (it timed out, or
    /// the connection broke) and the retry finds the topic, it is this call's
    /// own creation if it has the partitions asked for: success, not
    /// "already exists".
    ///
    /// # Errors
    /// [`ClientError::Kafka`] with TOPIC_ALREADY_EXISTS, INVALID_* and so on.
    pub async fn create_topic(&self, topic: &NewTopic, validate_only: bool) -> Result<()> {
        let mut attempt = 0;
        let mut unknown_outcome = false;
        let started = std::time::Instant::now();
        loop {
            match self.create_topic_once(topic, validate_only).await {
                Err(e) if unknown_outcome && !validate_only && e.is_topic_exists() => {
                    let info = self.retrying(|| self.topic(&topic.name)).await?;
                    let asked = usize::try_from(topic.partitions).ok();
                    let asked = asked
                        .or((!topic.assignments.is_empty()).then_some(topic.assignments.len()));
                    return match asked {
                        Some(n) if n != info.partitions.len() => Err(e),
                        _ => Ok(()),
                    };
                }
                Err(e)
                    if e.is_retriable()
                        && (retry_again(attempt, started) || learn_outcome(&e, started)) =>
                {
                    unknown_outcome |= e.outcome_unknown();
                    attempt += 1;
                    self.refresh(None).await.ok();
                    self.backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    async fn create_topic_once(&self, topic: &NewTopic, validate_only: bool) -> Result<()> {
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(self.admin_timeout_ms())
            .with_validate_only(validate_only)
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(topic_name(&topic.name))
                    .with_num_partitions(topic.partitions)
                    .with_replication_factor(topic.replication_factor)
                    .with_assignments(
                        topic
                            .assignments
                            .iter()
                            .enumerate()
                            .map(|(i, replicas)| {
                                CreatableReplicaAssignment::default()
                                    .with_partition_index(i as i32)
                                    .with_broker_ids(
                                        replicas.iter().map(|b| BrokerId(*b)).collect(),
                                    )
                            })
                            .collect(),
                    )
                    .with_configs(
                        topic
                            .configs
                            .iter()
                            .map(|(k, v)| {
                                CreatableTopicConfig::default()
                                    .with_name(StrBytes::from_string(k.clone()))
                                    .with_value(Some(StrBytes::from_string(v.clone())))
                            })
                            .collect(),
                    ),
            ]);
        let (resp, _) = self.controller().await?.send(&req).await?;
        for t in resp.topics {
            ClientError::check(
                t.error_code,
                t.error_message.as_deref(),
                format!("cannot create topic '{}'", topic.name),
            )?;
        }
        self.refresh(Some(std::slice::from_ref(&topic.name)))
            .await
            .ok();
        Ok(())
    }

    /// Deletes topics; one result per name.
    ///
    /// # Errors
    /// When the request itself fails; per-topic failures are in the result.
    pub async fn delete_topics(&self, names: &[String]) -> Result<Vec<(String, Result<()>)>> {
        let mut done: Vec<(String, Result<()>)> = Vec::new();
        let mut pending: Vec<String> = names.to_vec();
        let mut attempt = 0;
        let started = std::time::Instant::now();
        // Topics whose deletion may have happened without an answer saying so:
        // if a retry finds them gone, that was this call's deletion.
        let mut unknown_outcome: Vec<String> = Vec::new();
        loop {
            let results = match self.delete_topics_once(&pending).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() && learn_outcome(&e, started) => {
                    unknown_outcome.extend(pending.iter().cloned());
                    attempt += 1;
                    self.refresh(None).await.ok();
                    self.backoff(attempt).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            pending.clear();
            for (name, res) in results {
                match res {
                    Err(e) if e.is_unknown_topic() && unknown_outcome.contains(&name) => {
                        done.push((name, Ok(())))
                    }
                    Err(e)
                        if e.is_retriable()
                            && (retry_again(attempt, started) || learn_outcome(&e, started)) =>
                    {
                        if e.outcome_unknown() {
                            unknown_outcome.push(name.clone());
                        }
                        pending.push(name)
                    }
                    other => done.push((name, other)),
                }
            }
            if pending.is_empty() {
                return Ok(done);
            }
            attempt += 1;
            self.refresh(None).await.ok();
            self.backoff(attempt).await;
        }
    }

    async fn delete_topics_once(&self, names: &[String]) -> Result<Vec<(String, Result<()>)>> {
        let req = DeleteTopicsRequest::default()
            .with_timeout_ms(self.admin_timeout_ms())
            .with_topic_names(names.iter().map(topic_name).collect());
        let (resp, _) = self.controller().await?.send(&req).await?;
        let out = resp
            .responses
            .into_iter()
            .map(|r| {
                let name = r.name.map(|n| n.0.to_string()).unwrap_or_default();
                let res = match ClientError::from_code(
                    r.error_code,
                    r.error_message.as_deref(),
                    format!("cannot delete topic '{name}'"),
                ) {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
                (name, res)
            })
            .collect();
        self.refresh(None).await.ok();
        Ok(out)
    }

    /// Grows a topic to `count` partitions. When an attempt's outcome is
    /// unknown and a retry is refused because the topic already has `count`
    /// partitions, that was this call's own change: success.
    ///
    /// # Errors
    /// [`ClientError::Kafka`] (INVALID_PARTITIONS when not larger).
    pub async fn create_partitions(&self, topic: &str, count: i32) -> Result<()> {
        let mut attempt = 0;
        let mut unknown_outcome = false;
        let started = std::time::Instant::now();
        loop {
            match self.create_partitions_once(topic, count).await {
                Err(e) if unknown_outcome && e.is_invalid_partitions() => {
                    let info = self.retrying(|| self.topic(topic)).await?;
                    return match usize::try_from(count) {
                        Ok(n) if n == info.partitions.len() => Ok(()),
                        _ => Err(e),
                    };
                }
                Err(e)
                    if e.is_retriable()
                        && (retry_again(attempt, started) || learn_outcome(&e, started)) =>
                {
                    unknown_outcome |= e.outcome_unknown();
                    attempt += 1;
                    self.refresh(None).await.ok();
                    self.backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    async fn create_partitions_once(&self, topic: &str, count: i32) -> Result<()> {
        let req = CreatePartitionsRequest::default()
            .with_timeout_ms(self.admin_timeout_ms())
            .with_topics(vec![
                // Null assignments: the broker places the new partitions.
                // (The default is an empty list, which Kafka reads as
                // "explicit assignments, none given" and refuses.)
                CreatePartitionsTopic::default()
                    .with_name(topic_name(topic))
                    .with_count(count)
                    .with_assignments(None),
            ]);
        let (resp, _) = self.controller().await?.send(&req).await?;
        for r in resp.results {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                format!("cannot change the partitions of '{topic}'"),
            )?;
        }
        self.refresh(Some(&[topic.to_string()])).await.ok();
        Ok(())
    }

    /// Configs of a topic (resource type 2) or broker (4).
    ///
    /// # Errors
    /// [`ClientError::Kafka`], e.g. UNKNOWN_TOPIC_OR_PARTITION.
    pub async fn describe_configs(
        &self,
        resource_type: i8,
        name: &str,
    ) -> Result<Vec<ConfigEntry>> {
        self.describe_configs_keys(resource_type, name, None).await
    }

    /// [`Client::describe_configs`] of only the configs named in `keys`
    /// (all of them for `None`).
    ///
    /// # Errors
    /// As [`Client::describe_configs`].
    pub async fn describe_configs_keys(
        &self,
        resource_type: i8,
        name: &str,
        keys: Option<Vec<String>>,
    ) -> Result<Vec<ConfigEntry>> {
        let req = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configuration_keys(
                    keys.map(|k| k.into_iter().map(StrBytes::from_string).collect()),
                ),
        ]);
        let conn = if resource_type == 4 {
            match name.parse::<i32>() {
                Ok(id) => self.broker(id).await?,
                Err(_) => self.any_broker().await?,
            }
        } else {
            self.any_broker().await?
        };
        let (resp, _) = conn.send(&req).await?;
        let mut out = Vec::new();
        for r in resp.results {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                format!("cannot describe the configs of '{name}'"),
            )?;
            out.extend(r.configs.into_iter().map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: c.config_source,
                read_only: c.read_only,
            }));
        }
        Ok(out)
    }

    /// Sets (`Some`) or removes (`None`) topic config overrides.
    ///
    /// # Errors
    /// [`ClientError::Kafka`], e.g. INVALID_CONFIG.
    pub async fn alter_topic_configs(
        &self,
        topic: &str,
        changes: &[(String, Option<String>)],
    ) -> Result<()> {
        self.retrying(|| self.alter_configs_once(2, topic, changes))
            .await
    }

    /// Changes dynamic configs of broker `broker` (`None`: the cluster-wide
    /// default); `None` values delete a key.
    ///
    /// # Errors
    /// INVALID_CONFIG for keys the broker cannot change at runtime.
    pub async fn alter_broker_configs(
        &self,
        broker: Option<i32>,
        changes: &[(String, Option<String>)],
    ) -> Result<()> {
        let name = broker.map(|b| b.to_string()).unwrap_or_default();
        self.retrying(|| self.alter_configs_once(4, &name, changes))
            .await
    }

    /// Sets (`Some`) or removes (`None`) a consumer group's configs
    /// (KIP-848's `consumer.session.timeout.ms`, ...); the group need not
    /// exist yet.
    ///
    /// # Errors
    /// INVALID_CONFIG for unknown names or values outside the broker's
    /// bounds.
    pub async fn alter_group_configs(
        &self,
        group: &str,
        changes: &[(String, Option<String>)],
    ) -> Result<()> {
        self.retrying(|| self.alter_configs_once(GROUP_CONFIGS, group, changes))
            .await
    }

    async fn alter_configs_once(
        &self,
        resource_type: i8,
        topic: &str,
        changes: &[(String, Option<String>)],
    ) -> Result<()> {
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configs(
                    changes
                        .iter()
                        .map(|(k, v)| {
                            AlterableConfig::default()
                                .with_name(StrBytes::from_string(k.clone()))
                                .with_config_operation(if v.is_some() { 0 } else { 1 })
                                .with_value(v.clone().map(StrBytes::from_string))
                        })
                        .collect(),
                ),
        ]);
        let (resp, _) = self.controller().await?.send(&req).await?;
        for r in resp.responses {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                format!("cannot change the configs of '{topic}'"),
            )?;
        }
        Ok(())
    }

    /// `items` (each about one partition of `topic`) grouped by the
    /// partition's leader (-1 for none), so each leader gets one request.
    ///
    /// # Errors
    /// Unknown topic or partition.
    async fn by_leader<T: Copy>(
        &self,
        topic: &str,
        items: &[T],
        partition: impl Fn(&T) -> i32,
    ) -> Result<BTreeMap<i32, Vec<T>>> {
        let info = self.topic(topic).await?;
        let mut by_leader: BTreeMap<i32, Vec<T>> = BTreeMap::new();
        for item in items {
            let p = partition(item);
            let part = info
                .partition(p)
                .ok_or_else(|| ClientError::UnknownPartition {
                    topic: topic.to_string(),
                    partition: p,
                })?;
            by_leader.entry(part.leader).or_default().push(*item);
        }
        Ok(by_leader)
    }

    /// The leader's connection, or any broker's when the partition has no
    /// leader (that broker's answer says so, and the caller retries).
    async fn leader_or_any(
        &self,
        leader: i32,
    ) -> Result<std::sync::Arc<crate::connection::Connection>> {
        if leader >= 0 {
            self.broker(leader).await
        } else {
            self.any_broker().await
        }
    }

    /// Deletes the records of `topic` below each `(partition, offset)` (-1:
    /// below the high watermark, i.e. all), asking each partition's leader.
    /// Returns each partition's low watermark (its new log start on every
    /// in-sync replica) or its error.
    ///
    /// # Errors
    /// Unknown topic or partition, or a broker that cannot be reached.
    pub async fn delete_records(
        &self,
        topic: &str,
        before: &[(i32, i64)],
    ) -> Result<Vec<(i32, Result<i64>)>> {
        let by_leader = self.by_leader(topic, before, |&(p, _)| p).await?;
        let mut out = Vec::with_capacity(before.len());
        for (leader, parts) in by_leader {
            let req = DeleteRecordsRequest::default()
                .with_timeout_ms(self.admin_timeout_ms())
                .with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            parts
                                .iter()
                                .map(|&(p, o)| {
                                    DeleteRecordsPartition::default()
                                        .with_partition_index(p)
                                        .with_offset(o)
                                })
                                .collect(),
                        ),
                ]);
            let conn = self.leader_or_any(leader).await?;
            let (resp, _) = conn.send(&req).await?;
            for t in resp.topics {
                for p in t.partitions {
                    let result = ClientError::check(
                        p.error_code,
                        None,
                        format!("cannot delete records of {topic}-{}", p.partition_index),
                    )
                    .map(|()| p.low_watermark);
                    out.push((p.partition_index, result));
                }
            }
        }
        out.sort_by_key(|(p, _)| *p);
        Ok(out)
    }

    /// Offsets of partitions of a topic, asked of each partition's leader.
    /// Returns `(partition, offset)`; offset -1 when no record matches a
    /// timestamp query.
    ///
    /// # Errors
    /// Unknown topic, or a partition's error.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        query: OffsetQuery,
    ) -> Result<Vec<(i32, i64)>> {
        Ok(self
            .list_offsets_where_known(topic, partitions, query, false)
            .await?
            .into_iter()
            .filter_map(|(p, o)| Some((p, o?)))
            .collect())
    }

    /// [`Client::list_offsets`], one request per leader however many
    /// partitions are asked. With `tolerate_retriable`, a partition whose
    /// leader is away or moving gets `None` instead of failing the others
    /// (a consumer of 100,000 partitions starts reading the rest).
    ///
    /// # Errors
    /// Unknown topic or partition, or an error retrying would not cure.
    pub async fn list_offsets_where_known(
        &self,
        topic: &str,
        partitions: &[i32],
        query: OffsetQuery,
        tolerate_retriable: bool,
    ) -> Result<Vec<(i32, Option<i64>)>> {
        let by_leader = self.by_leader(topic, partitions, |&p| p).await?;
        let mut out = Vec::with_capacity(partitions.len());
        for (leader, parts) in by_leader {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(i8::from(query == OffsetQuery::LastStable))
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            parts
                                .iter()
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(*p)
                                        .with_timestamp(query.wire())
                                })
                                .collect(),
                        ),
                ]);
            let sent = async {
                let conn = self.leader_or_any(leader).await?;
                Ok::<_, ClientError>(conn.send(&req).await?.0)
            };
            let resp = match sent.await {
                Ok(resp) => resp,
                Err(e) if tolerate_retriable && e.is_retriable() => {
                    out.extend(parts.iter().map(|&p| (p, None)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            for t in resp.topics {
                for p in t.partitions {
                    match ClientError::check(
                        p.error_code,
                        None,
                        format!("cannot list offsets of {topic}-{}", p.partition_index),
                    ) {
                        Ok(()) => out.push((p.partition_index, Some(p.offset))),
                        Err(e) if tolerate_retriable && e.is_retriable() => {
                            out.push((p.partition_index, None));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}
