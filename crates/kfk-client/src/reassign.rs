//! Partition reassignment and leader elections: the calls behind
//! `kafka-reassign-partitions.sh` and `kafka-leader-election.sh`.

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, ElectLeadersRequest,
    ListPartitionReassignmentsRequest,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};
use kfk_wire::topic_name as name;

/// A reassignment in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// The outcome for one partition: `None` when accepted.
pub type PartitionOutcome = (String, i32, Option<ClientError>);

/// Per-partition results `(topic, [(partition, error code, message)])` as
/// outcomes, errors described as "`what` topic-partition".
fn outcomes(
    what: &str,
    topics: impl Iterator<Item = (String, Vec<(i32, i16, Option<StrBytes>)>)>,
) -> Vec<PartitionOutcome> {
    topics
        .flat_map(|(topic, parts)| {
            parts.into_iter().map(move |(p, code, message)| {
                let e =
                    ClientError::from_code(code, message.as_deref(), format!("{what} {topic}-{p}"));
                (topic.clone(), p, e)
            })
        })
        .collect()
}

impl Client {
    /// Size in bytes of each partition replica on broker `id`
    /// (DescribeLogDirs): (topic, partition) -> bytes.
    ///
    /// # Errors
    /// When the broker cannot be asked.
    pub async fn replica_sizes(
        &self,
        id: i32,
    ) -> Result<std::collections::BTreeMap<(String, i32), i64>> {
        let req = kafka_protocol::messages::DescribeLogDirsRequest::default().with_topics(None);
        let (resp, _) = self.broker(id).await?.send(&req).await?;
        let mut out = std::collections::BTreeMap::new();
        for dir in resp.results {
            for t in dir.topics {
                for p in t.partitions {
                    out.insert((t.name.0.to_string(), p.partition_index), p.partition_size);
                }
            }
        }
        Ok(out)
    }

    /// Starts (`Some(replicas)`) or cancels (`None`) partition moves.
    ///
    /// # Errors
    /// A request-level failure; partitions carry their own errors.
    pub async fn alter_partition_reassignments(
        &self,
        moves: &[(String, i32, Option<Vec<i32>>)],
    ) -> Result<Vec<PartitionOutcome>> {
        let mut topics: Vec<ReassignableTopic> = Vec::new();
        for (t, p, replicas) in moves {
            let part = ReassignablePartition::default()
                .with_partition_index(*p)
                .with_replicas(
                    replicas
                        .as_ref()
                        .map(|r| r.iter().map(|b| BrokerId(*b)).collect()),
                );
            match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
                Some(x) => x.partitions.push(part),
                None => topics.push(
                    ReassignableTopic::default()
                        .with_name(name(t))
                        .with_partitions(vec![part]),
                ),
            }
        }
        let req = AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(self.config().request_timeout.as_millis() as i32)
            .with_topics(topics);
        let resp = self
            .retrying(|| async { Ok(self.controller().await?.send(&req).await?.0) })
            .await?;
        ClientError::check(
            resp.error_code,
            resp.error_message.as_deref(),
            "cannot reassign partitions",
        )?;
        Ok(outcomes(
            "cannot reassign",
            resp.responses.into_iter().map(|t| {
                let parts = t.partitions.into_iter();
                (
                    t.name.0.to_string(),
                    parts
                        .map(|p| (p.partition_index, p.error_code, p.error_message))
                        .collect(),
                )
            }),
        ))
    }

    /// Reassignments in flight.
    ///
    /// # Errors
    /// When the controller cannot be asked.
    pub async fn list_partition_reassignments(&self) -> Result<Vec<Reassignment>> {
        let req = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(self.config().request_timeout.as_millis() as i32)
            .with_topics(None);
        let resp = self
            .retrying(|| async { Ok(self.controller().await?.send(&req).await?.0) })
            .await?;
        ClientError::check(
            resp.error_code,
            resp.error_message.as_deref(),
            "cannot list reassignments",
        )?;
        let ids = |v: Vec<BrokerId>| v.into_iter().map(|b| b.0).collect();
        let mut out: Vec<Reassignment> = resp
            .topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.name.0.to_string();
                t.partitions.into_iter().map(move |p| Reassignment {
                    topic: topic.clone(),
                    partition: p.partition_index,
                    replicas: ids(p.replicas),
                    adding: ids(p.adding_replicas),
                    removing: ids(p.removing_replicas),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(out)
    }

    /// Preferred (or unclean) leader elections for `partitions`, or every
    /// partition that needs one when `None`.
    ///
    /// # Errors
    /// A request-level failure; partitions carry their own errors.
    pub async fn elect_leaders(
        &self,
        unclean: bool,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<PartitionOutcome>> {
        let topic_partitions = partitions.map(|ps| {
            let mut topics: Vec<TopicPartitions> = Vec::new();
            for (t, p) in ps {
                match topics.iter_mut().find(|x| x.topic.0.as_str() == t) {
                    Some(x) => x.partitions.push(*p),
                    None => topics.push(
                        TopicPartitions::default()
                            .with_topic(name(t))
                            .with_partitions(vec![*p]),
                    ),
                }
            }
            topics
        });
        let req = ElectLeadersRequest::default()
            .with_election_type(i8::from(unclean))
            .with_topic_partitions(topic_partitions)
            .with_timeout_ms(self.config().request_timeout.as_millis() as i32);
        let resp = self
            .retrying(|| async { Ok(self.controller().await?.send(&req).await?.0) })
            .await?;
        ClientError::check(resp.error_code, None, "cannot elect leaders")?;
        Ok(outcomes(
            "election for",
            resp.replica_election_results.into_iter().map(|t| {
                let parts = t.partition_result.into_iter();
                (
                    t.topic.0.to_string(),
                    parts
                        .map(|p| (p.partition_id, p.error_code, p.error_message))
                        .collect(),
                )
            }),
        ))
    }
}
