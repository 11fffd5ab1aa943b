//! The APIs kfkd implements: one module per Kafka API, dispatched from one
//! `match`. [`SUPPORTED`] is the single table both dispatch and ApiVersions read,
//! so the broker never advertises a version it does not serve.

mod api_versions;
mod client_quotas;
mod configs;
mod consumer_groups;
mod create_partitions;
mod create_topics;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_quorum;
mod describe_topic_partitions;
mod fetch;
mod groups;
mod init_producer_id;
mod list_offsets;
mod log_dirs;
mod metadata;
mod offset_for_leader_epoch;
mod produce;
mod reassignments;
mod scram;
mod znode_view;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestKind};
use kfk_wire::VersionTable;
use kfk_wire::frame::{FrameError, encode_response};

use crate::broker::Broker;
pub use crate::group::ClientInfo;

/// `(api, min version, max version)` served by kfkd.
pub const SUPPORTED: VersionTable = VersionTable::new(&[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeQuorum, 0, 2),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    // v0-1 and v0 are gone from Kafka 4 (KIP-896) and from kafka-protocol.
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    // v0: bare tokens follow the handshake (librdkafka requires it listed).
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
]);

/// The version range kfkd serves for `api_key`, if it serves it at all.
pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED.range(api_key)
}

/// Whether kfkd serves `version` of `api_key`.
pub fn accepts(api_key: ApiKey, version: i16) -> bool {
    SUPPORTED.accepts(api_key, version)
}

pub(crate) use kfk_wire::{str_bytes, topic_name};

/// An encoded response, with the request memory it holds until written.
#[derive(Debug)]
pub struct Reply {
    pub bytes: BytesMut,
    /// A fetch's share of `queued.max.request.bytes`, released once the
    /// response is on the wire.
    pub held: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Handles one decoded request and encodes the response. `Ok(None)` means the
/// request takes no response (produce with acks=0).
///
/// # Errors
/// [`FrameError::Encode`] if a response cannot be encoded (a bug), or
/// [`FrameError::UnsupportedVersion`] for an API kfkd does not serve.
pub async fn handle(
    broker: &std::sync::Arc<Broker>,
    client: &ClientInfo,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: RequestKind,
) -> Result<Option<Reply>, FrameError> {
    macro_rules! reply {
        ($resp:expr) => {
            encode_response(api_key, version, correlation_id, &$resp)
                .map(|bytes| Some(Reply { bytes, held: None }))
        };
    }
    match body {
        RequestKind::ApiVersions(r) => reply!(api_versions::handle(r)),
        RequestKind::Metadata(r) => reply!(metadata::handle(broker, client, r, version).await),
        RequestKind::Produce(r) => match produce::handle(broker, r).await {
            Some(resp) => reply!(resp),
            None => Ok(None),
        },
        RequestKind::Fetch(r) => {
            let (resp, held) = fetch::handle(broker, r, version).await;
            encode_response(api_key, version, correlation_id, &resp)
                .map(|bytes| Some(Reply { bytes, held }))
        }
        RequestKind::ListOffsets(r) => reply!(list_offsets::handle(broker, r, version)),
        RequestKind::CreateTopics(r) => reply!(create_topics::handle(broker, r).await),
        RequestKind::DeleteTopics(r) => reply!(delete_topics::handle(broker, r).await),
        RequestKind::CreatePartitions(r) => reply!(create_partitions::handle(broker, r).await),
        RequestKind::InitProducerId(r) => reply!(init_producer_id::handle(broker, r).await),
        RequestKind::DescribeConfigs(r) => reply!(configs::describe(broker, r)),
        RequestKind::AlterConfigs(r) => reply!(configs::alter(broker, r).await),
        RequestKind::IncrementalAlterConfigs(r) => {
            reply!(configs::incremental_alter(broker, r).await)
        }
        RequestKind::DescribeCluster(r) => reply!(describe_cluster::handle(broker, client, r)),
        RequestKind::DescribeQuorum(r) => reply!(describe_quorum::handle(broker, r).await),
        RequestKind::OffsetForLeaderEpoch(r) => reply!(offset_for_leader_epoch::handle(broker, r)),
        RequestKind::AlterPartitionReassignments(r) => {
            reply!(reassignments::alter(broker, r).await)
        }
        RequestKind::ListPartitionReassignments(r) => reply!(reassignments::list(broker, r)),
        RequestKind::ElectLeaders(r) => reply!(reassignments::elect_leaders(broker, r).await),
        RequestKind::DescribeLogDirs(r) => reply!(log_dirs::handle(broker, r)),
        RequestKind::DescribeTopicPartitions(r) => {
            reply!(describe_topic_partitions::handle(broker, r))
        }
        RequestKind::DeleteRecords(r) => reply!(delete_records::handle(broker, r).await),
        RequestKind::FindCoordinator(r) => {
            reply!(groups::find_coordinator(broker, client, r, version).await)
        }
        RequestKind::JoinGroup(r) => reply!(groups::join_group(broker, client, r, version).await),
        RequestKind::SyncGroup(r) => reply!(groups::sync_group(broker, r).await),
        RequestKind::Heartbeat(r) => reply!(groups::heartbeat(broker, r).await),
        RequestKind::LeaveGroup(r) => reply!(groups::leave_group(broker, r, version).await),
        RequestKind::OffsetCommit(r) => reply!(groups::offset_commit(broker, r, version).await),
        RequestKind::OffsetFetch(r) => reply!(groups::offset_fetch(broker, r, version).await),
        RequestKind::ListGroups(r) => reply!(groups::list_groups(broker, r)),
        RequestKind::DescribeGroups(r) => reply!(groups::describe_groups(broker, r).await),
        RequestKind::DeleteGroups(r) => reply!(groups::delete_groups(broker, r).await),
        RequestKind::OffsetDelete(r) => reply!(groups::offset_delete(broker, r).await),
        RequestKind::ConsumerGroupHeartbeat(r) => {
            reply!(consumer_groups::heartbeat(broker, client, r).await)
        }
        RequestKind::ConsumerGroupDescribe(r) => reply!(consumer_groups::describe(broker, r).await),
        RequestKind::DescribeUserScramCredentials(r) => reply!(scram::describe(broker, r)),
        RequestKind::AlterUserScramCredentials(r) => reply!(scram::alter(broker, r).await),
        RequestKind::DescribeClientQuotas(r) => reply!(client_quotas::handle(r)),
        _ => Err(FrameError::UnsupportedVersion { api_key, version }),
    }
}

pub use api_versions::unsupported_version_response;

/// When an admin request's `timeout_ms` runs out (none for 0 or less).
fn deadline(timeout_ms: i32) -> Option<tokio::time::Instant> {
    (timeout_ms > 0).then(|| {
        tokio::time::Instant::now()
            + std::time::Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0))
    })
}

/// Awaits work running in its own task until `deadline`: `None` when it is
/// not done by then (it goes on). A task that panicked is a server error.
async fn within<T>(
    deadline: Option<tokio::time::Instant>,
    work: tokio::task::JoinHandle<Result<T, crate::error::ApiError>>,
) -> Option<Result<T, crate::error::ApiError>> {
    let joined = match deadline {
        Some(d) => tokio::time::timeout_at(d, work).await.ok()?,
        None => work.await,
    };
    Some(joined.unwrap_or_else(|e| {
        Err(crate::error::ApiError::new(
            kafka_protocol::ResponseError::UnknownServerError,
            format!("the request failed: {e}"),
        ))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version advertised but outside what kafka-protocol decodes would
    /// close the client's connection on its first request.
    #[test]
    fn every_advertised_version_can_be_decoded() {
        for &(api, min, max) in SUPPORTED.rows() {
            let decodable = api.valid_versions();
            assert!(
                decodable.min <= min && max <= decodable.max,
                "{api:?} {min}-{max} advertised, {}-{} decodable",
                decodable.min,
                decodable.max
            );
        }
    }
}
