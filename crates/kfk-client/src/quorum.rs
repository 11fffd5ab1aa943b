//! DescribeQuorum: who leads the metadata quorum and how far each node has
//! replicated it (`kafka-metadata-quorum describe --status/--replication`).

use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::{DescribeQuorumRequest, TopicName};

use crate::client::Client;
use crate::error::{ClientError, Result};

/// The metadata log's topic, the one partition DescribeQuorum describes.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// One node replicating the metadata log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumReplica {
    pub id: i32,
    /// -1 when the leader does not know it.
    pub log_end_offset: i64,
}

/// The metadata quorum as its leader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    pub leader: i32,
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<QuorumReplica>,
    pub observers: Vec<QuorumReplica>,
    /// Controller address of each node, host:port (v2 answers only).
    pub nodes: std::collections::BTreeMap<i32, String>,
}

impl Client {
    /// The cluster's finalized feature levels (ApiVersions v3+), e.g.
    /// `metadata.version`; none from a broker that finalizes none.
    ///
    /// # Errors
    /// A transport failure.
    pub async fn finalized_features(&self) -> Result<Vec<(String, i16)>> {
        let (resp, _) = self
            .any_broker()
            .await?
            .send(&kafka_protocol::messages::ApiVersionsRequest::default())
            .await?;
        Ok(resp
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.max_version_level))
            .collect())
    }

    /// The metadata quorum's status, asked of any broker.
    ///
    /// # Errors
    /// The broker's error when the quorum has no leader, or a transport failure.
    pub async fn describe_quorum(&self) -> Result<QuorumStatus> {
        let req = DescribeQuorumRequest::default().with_topics(vec![
            TopicData::default()
                .with_topic_name(TopicName(METADATA_TOPIC.to_string().into()))
                .with_partitions(vec![PartitionData::default().with_partition_index(0)]),
        ]);
        let (resp, _) = self.any_broker().await?.send(&req).await?;
        ClientError::check(
            resp.error_code,
            resp.error_message.as_deref(),
            "DescribeQuorum",
        )?;
        let nodes = resp
            .nodes
            .iter()
            .filter_map(|n| {
                let l = n.listeners.first()?;
                Some((n.node_id.0, format!("{}:{}", l.host, l.port)))
            })
            .collect();
        let p = resp
            .topics
            .into_iter()
            .flat_map(|t| t.partitions)
            .next()
            .ok_or_else(|| ClientError::Invalid("DescribeQuorum answered no partition".into()))?;
        ClientError::check(p.error_code, p.error_message.as_deref(), "DescribeQuorum")?;
        let replicas =
            |v: Vec<kafka_protocol::messages::describe_quorum_response::ReplicaState>| {
                v.into_iter()
                    .map(|r| QuorumReplica {
                        id: r.replica_id.0,
                        log_end_offset: r.log_end_offset,
                    })
                    .collect()
            };
        Ok(QuorumStatus {
            leader: p.leader_id.0,
            epoch: p.leader_epoch,
            high_watermark: p.high_watermark,
            voters: replicas(p.current_voters),
            observers: replicas(p.observers),
            nodes,
        })
    }
}
