//! Topic administration on the broker: creation (with replica placement),
//! deletion, added partitions, config overrides and reassignments. Each
//! request is validated against the current image, then committed through
//! the metadata quorum.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use tracing::info;
use uuid::Uuid;

use crate::broker::Broker;
use crate::config::ops::ConfigOp;
use crate::config::topic as topic_config;
use crate::error::ApiError;
use crate::metadata::{MetadataImage, PartitionMeta, TopicMeta};
use crate::new_topic::NewTopic;
use crate::new_topic::validate_topic_name;
use crate::quorum::{CommandResult, MetadataCommand};

/// Kafka's internal topics: the group coordinator's and the transaction
/// coordinator's state, which clients must not delete or resize.
pub const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

/// Partition replicas each broker holds now.
fn hosted_replicas(image: &MetadataImage) -> BTreeMap<i32, u64> {
    let mut hosted = BTreeMap::new();
    for r in image
        .topics
        .values()
        .flat_map(|t| &t.partitions)
        .flat_map(|p| &p.replicas)
    {
        *hosted.entry(*r).or_default() += 1;
    }
    hosted
}

/// Refuses new replicas beyond what a broker registered it can hold
/// (`max.broker.partitions`): each replica costs the broker memory and files
/// whether or not it is used, and a broker out of either bricks, so the
/// create is refused up front, before anything is written.
fn check_capacity(
    image: &MetadataImage,
    hosted: &BTreeMap<i32, u64>,
    new_replicas: &[Vec<i32>],
) -> Result<(), ApiError> {
    let mut adding: BTreeMap<i32, u64> = BTreeMap::new();
    for r in new_replicas.iter().flatten() {
        *adding.entry(*r).or_default() += 1;
    }
    for (broker, extra) in adding {
        let Some(capacity) = image
            .brokers
            .get(&broker)
            .and_then(|b| b.partition_capacity)
        else {
            continue;
        };
        let hosted = hosted.get(&broker).copied().unwrap_or(0);
        if hosted + extra > capacity {
            return Err(ApiError::new(
                ResponseError::PolicyViolation,
                format!(
                    "broker {broker} can hold {capacity} partition replicas (max.broker.partitions) and holds {hosted}; this would add {extra}: add brokers, use fewer partitions, or raise max.broker.partitions on a broker with the memory for them"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a change to an internal topic, as Kafka does, saying why.
fn refuse_internal(name: &str, why: &str) -> Result<(), ApiError> {
    if INTERNAL_TOPICS.contains(&name) {
        return Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!("{name} is an internal topic and cannot be {why}"),
        ));
    }
    Ok(())
}

impl Broker {
    /// Validates a topic creation without applying it.
    fn check_new_topic(&self, image: &MetadataImage, t: &NewTopic) -> Result<(), ApiError> {
        validate_topic_name(&t.name)?;
        if image.topics.contains_key(&t.name) {
            return Err(topic_exists(&t.name));
        }
        if let Some(other) = image.topics.keys().find(|n| same_when_folded(n, &t.name)) {
            return Err(collision(&t.name, other));
        }
        if !(1..=MAX_PARTITIONS).contains(&t.num_partitions) {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                format!(
                    "number of partitions must be between 1 and {MAX_PARTITIONS}, got {}",
                    t.num_partitions
                ),
            ));
        }
        let live = self.live_brokers_in(image);
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
                check_replica_list(replicas)?;
            }
            let rf = t.assignments[0].len();
            if t.assignments.iter().any(|r| r.len() != rf) {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    "every partition needs the same number of replicas",
                ));
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
        self.create_topics(vec![t], validate_only)
            .await
            .pop()
            .unwrap_or_else(|| {
                Err(ApiError::new(
                    ResponseError::UnknownServerError,
                    "no result",
                ))
            })
    }

    /// Creates the topics of one request (or only validates them), each
    /// result in the order asked. The valid ones are committed as one
    /// metadata command: one round through the quorum and one image change
    /// for the lot, as Kafka's controller commits a request's records in one
    /// batch. Each is validated against the image and the ones before it.
    pub async fn create_topics(
        &self,
        topics: Vec<NewTopic>,
        validate_only: bool,
    ) -> Vec<Result<TopicMeta, ApiError>> {
        let _serial = self.changes.lock().await;
        let mut results: Vec<Result<TopicMeta, ApiError>> = Vec::with_capacity(topics.len());
        let mut accepted: Vec<(String, TopicMeta)> = Vec::new();
        // Replicas each broker holds, counted once per request.
        let mut hosted: Option<BTreeMap<i32, u64>> = None;
        self.with_image(|image| {
            for t in &topics {
                results.push(
                    self.plan_topic(image, t, &accepted, &mut hosted)
                        .inspect(|meta| accepted.push((t.name.clone(), meta.clone()))),
                );
            }
        });
        if validate_only || accepted.is_empty() {
            return results;
        }
        let outcome = self
            .propose(MetadataCommand::CreateTopics {
                topics: accepted.clone(),
            })
            .await;
        let existed = match outcome {
            Ok(CommandResult::Created { existed }) => existed,
            Ok(_) => Vec::new(),
            Err(e) => {
                // The command did not go through: none of them was created.
                return results
                    .into_iter()
                    .map(|r| r.and_then(|_| Err(e.clone())))
                    .collect();
            }
        };
        for (r, t) in results.iter_mut().zip(&topics) {
            if let Ok(meta) = r {
                if existed.contains(&t.name) {
                    *r = Err(topic_exists(&t.name));
                } else {
                    info!(topic = %t.name, partitions = meta.partitions.len(), "created topic");
                }
            }
        }
        results
    }

    /// Validates one topic of a request and places its replicas: against the
    /// image, the topics accepted before it in the same request, and each
    /// broker's `max.broker.partitions`.
    fn plan_topic(
        &self,
        image: &MetadataImage,
        t: &NewTopic,
        accepted: &[(String, TopicMeta)],
        hosted: &mut Option<BTreeMap<i32, u64>>,
    ) -> Result<TopicMeta, ApiError> {
        // Validate before placing: the counts come from the network.
        self.check_new_topic(image, t)?;
        if let Some((other, _)) = accepted.iter().find(|(n, _)| same_when_folded(n, &t.name)) {
            return Err(if *other == t.name {
                topic_exists(&t.name)
            } else {
                collision(&t.name, other)
            });
        }
        let replicas = if t.assignments.is_empty() {
            let start = image.topics.len() + accepted.len();
            self.place(0..t.num_partitions, t.replication_factor, start)
        } else {
            t.assignments.clone()
        };
        let hosted = hosted.get_or_insert_with(|| hosted_replicas(image));
        check_capacity(image, hosted, &replicas)?;
        for r in replicas.iter().flatten() {
            *hosted.entry(*r).or_default() += 1;
        }
        Ok(TopicMeta {
            id: Uuid::new_v4(),
            partitions: replicas.into_iter().map(new_partition).collect(),
            configs: t.configs.clone(),
        })
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
            Err(e) if e.error == ResponseError::TopicAlreadyExists => self
                .with_image(|i| i.topics.get(name).map(|t| TopicMeta::clone(t)))
                .ok_or(e),
            other => other,
        }
    }

    /// Deletes a topic and its logs.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, or a storage error.
    pub async fn delete_topic(&self, name: &str) -> Result<TopicMeta, ApiError> {
        refuse_internal(
            name,
            "deleted: every committed offset (or transaction) would be lost",
        )?;
        let _serial = self.changes.lock().await;
        let removed = self
            .with_image(|i| i.topics.get(name).map(|t| TopicMeta::clone(t)))
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
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        refuse_internal(
            name,
            "given partitions: groups are mapped to its partitions by their count",
        )?;
        // Null: the broker places them; a list (even empty) must place each.
        let explicit = assignments.is_some();
        let assignments = assignments.unwrap_or_default();
        let _serial = self.changes.lock().await;
        let (current, rf, first) = self.with_image(|image| -> Result<(usize, i32, i32), ApiError> {
            let topic = image.topics.get(name).ok_or_else(|| unknown_topic(name))?;
            let current = topic.partitions.len();
            if i64::from(count) <= current as i64 || count > MAX_PARTITIONS {
                return Err(ApiError::new(
                    ResponseError::InvalidPartitions,
                    format!("topic '{name}' has {current} partitions; the new count must be larger (and at most {MAX_PARTITIONS}), got {count}"),
                ));
            }
            if explicit && assignments.len() != count as usize - current {
                // Kafka's words.
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Attempted to add {} additional partition(s), but only {} assignment(s) were specified.",
                        count as usize - current,
                        assignments.len()
                    ),
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
        for replicas in &placed {
            check_replica_list(replicas)?;
        }
        let live = self.live_brokers();
        if placed.iter().flatten().any(|b| !live.contains(b)) {
            return Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                "the assignment names brokers that are not available",
            ));
        }
        self.with_image(|image| check_capacity(image, &hosted_replicas(image), &placed))?;
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

    /// Replaces (`replace_all`) or edits a topic's config overrides; list
    /// ops resolve against the override, else the broker's default, under
    /// this broker's change lock so two alters here keep each other's items.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION or INVALID_CONFIG.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        changes: &[(String, ConfigOp)],
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let invalid = |m: String| ApiError::new(ResponseError::InvalidConfig, m);
        for (k, op) in changes {
            if !topic_config::names().contains(&k.as_str()) {
                return Err(invalid(format!("unknown topic config {k}")));
            }
            if let Some(v) = op.set_value() {
                topic_config::validate(k, v).map_err(invalid)?;
            } else if !topic_config::is_list(k)
                && let Some(refusal) = op.refuse_list_op(k)
            {
                return Err(refusal);
            }
        }
        let _serial = self.changes.lock().await;
        let mut configs = self
            .with_image(|i| i.topics.get(name).map(|t| t.configs.clone()))
            .ok_or_else(|| unknown_topic(name))?;
        if replace_all {
            configs.clear();
        }
        for (k, op) in changes {
            let current = configs
                .get(k)
                .cloned()
                .or_else(|| topic_config::broker_default(&self.settings, k))
                .unwrap_or_default();
            match op.apply(&current) {
                Some(v) => {
                    topic_config::validate(k, &v).map_err(invalid)?;
                    configs.insert(k.clone(), v)
                }
                None => configs.remove(k),
            };
        }
        if validate_only {
            return Ok(());
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

    /// ElectLeaders for one partition: `preferred` hands leadership to the
    /// first replica when it is live and in sync; otherwise (unclean) an
    /// offline partition takes any live replica.
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, ELECTION_NOT_NEEDED,
    /// PREFERRED_LEADER_NOT_AVAILABLE or ELIGIBLE_LEADERS_NOT_AVAILABLE.
    pub async fn elect_leader(
        &self,
        topic: &str,
        partition: i32,
        preferred: bool,
    ) -> Result<(), ApiError> {
        let current = self
            .with_image(|i| {
                let p = i
                    .topics
                    .get(topic)?
                    .partitions
                    .get(usize::try_from(partition).ok()?)?;
                Some((p.clone(), i.live_broker_ids()))
            })
            .ok_or_else(|| {
                ApiError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("partition {topic}-{partition} does not exist"),
                )
            })?;
        let (p, live) = current;
        let cmd = if preferred {
            let first = p.replicas.first().copied().unwrap_or(-1);
            if p.leader == first {
                return Err(ApiError::new(
                    ResponseError::ElectionNotNeeded,
                    format!("broker {first} already leads {topic}-{partition}"),
                ));
            }
            if !p.isr.contains(&first) || !live.contains(&first) {
                return Err(ApiError::new(
                    ResponseError::PreferredLeaderNotAvailable,
                    format!(
                        "preferred replica {first} of {topic}-{partition} is not alive and in sync"
                    ),
                ));
            }
            MetadataCommand::ElectPreferred {
                topic: topic.to_string(),
                partition,
            }
        } else {
            if p.leader >= 0 {
                return Err(ApiError::new(
                    ResponseError::ElectionNotNeeded,
                    format!("{topic}-{partition} has a leader (broker {})", p.leader),
                ));
            }
            MetadataCommand::ElectUnclean {
                topic: topic.to_string(),
                partition,
            }
        };
        match self.propose(cmd).await? {
            CommandResult::Done => {
                info!(topic, partition, preferred, "leader elected on request");
                Ok(())
            }
            CommandResult::NoSuchTopic => Err(unknown_topic(topic)),
            _ if preferred => Err(ResponseError::PreferredLeaderNotAvailable.into()),
            _ => Err(ApiError::new(
                ResponseError::EligibleLeadersNotAvailable,
                format!("no replica of {topic}-{partition} is alive"),
            )),
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
}

/// A new partition: led by its first replica, all replicas in sync, epoch 0.
fn new_partition(replicas: Vec<i32>) -> PartitionMeta {
    PartitionMeta {
        leader: replicas.first().copied().unwrap_or(-1),
        isr: replicas.clone(),
        replicas,
        leader_epoch: 0,
        partition_epoch: 0,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
    }
}

/// Most partitions one topic may have; the count arrives from the network
/// and each partition is a directory of files.
const MAX_PARTITIONS: i32 = 100_000;

/// A partition's replica list: not empty, no broker twice.
fn check_replica_list(replicas: &[i32]) -> Result<(), ApiError> {
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if replicas.is_empty() || sorted.len() != replicas.len() {
        return Err(ApiError::new(
            ResponseError::InvalidReplicaAssignment,
            "each partition needs distinct replicas",
        ));
    }
    Ok(())
}

fn collision(name: &str, other: &str) -> ApiError {
    ApiError::new(
        ResponseError::InvalidTopicException,
        format!(
            "topic '{name}' collides with existing topic '{other}' ('.' and '_' are interchangeable in metric names)"
        ),
    )
}

fn topic_exists(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::TopicAlreadyExists,
        format!("Topic '{name}' already exists."),
    )
}

fn unknown_topic(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("topic '{name}' does not exist"),
    )
}

/// Whether two topic names differ only in '.' against '_' (Kafka refuses
/// such a pair: the two collide in metric names). Compared byte by byte:
/// this runs against every existing topic for each new one.
fn same_when_folded(a: &str, b: &str) -> bool {
    let fold = |c: u8| if c == b'.' { b'_' } else { c };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

#[cfg(test)]
mod fold_tests {
    use super::same_when_folded;

    #[test]
    fn dots_and_underscores_fold_together_and_nothing_else_does() {
        assert!(same_when_folded("web.clicks", "web_clicks"));
        assert!(same_when_folded("a.b_c", "a_b.c"));
        assert!(same_when_folded("same", "same"));
        assert!(!same_when_folded("web.clicks", "web-clicks"));
        assert!(!same_when_folded("web.click", "web_clicks"));
        assert!(!same_when_folded("abc", "abd"));
    }
}
