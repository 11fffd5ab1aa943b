//! The APIs kfkd implements: one module per Kafka API, dispatched from one
//! `match`. [`SUPPORTED`] is the single table both dispatch and ApiVersions read,
//! so the broker never advertises a version it does not serve.

mod acls;
mod api_versions;
mod authz;
mod cleaner_view;
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
mod guards;
mod init_producer_id;
mod list_offsets;
mod log_dirs;
mod metadata;
mod offset_for_leader_epoch;
mod produce;
mod reassignments;
mod refusals;
mod scram;
mod throttle;
mod transactions;
mod txn_describe;
pub(crate) mod write_txn_markers;
mod znode_view;

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::*;
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
    // Transactions as Kafka's transaction version 1 has them (version 2,
    // KIP-890 part 2, is not advertised, so clients do not use v5).
    (ApiKey::AddPartitionsToTxn, 0, 4),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 4),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 2),
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
    (ApiKey::AlterClientQuotas, 0, 1),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
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

/// A response encoded around records sent from their segment files: its
/// pieces in order, each hole filled from `files[key]`.
#[derive(Debug)]
pub struct Spliced {
    pub pieces: Vec<kfk_wire::spliced::Piece>,
    pub files: Vec<kfk_log::FileRange>,
}

/// An encoded response, with the request memory it holds until written.
#[derive(Debug)]
pub struct Reply {
    /// The whole frame, unless it is `spliced`.
    pub bytes: BytesMut,
    /// A fetch whose records go from the page cache to the socket.
    pub spliced: Option<Spliced>,
    /// A fetch's share of `queued.max.request.bytes`, released once the
    /// response is on the wire.
    pub held: Option<tokio::sync::OwnedSemaphorePermit>,
    /// How long the connection stays muted after this response: the client
    /// went over a quota (Kafka's channel muting).
    pub throttle: std::time::Duration,
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
    let started = std::time::Instant::now();
    let mut reply = serve(broker, client, api_key, version, correlation_id, body).await?;
    // Request-time quotas: ApiVersions is exempt, as in Kafka.
    if api_key != ApiKey::ApiVersions
        && let Some(r) = reply.as_mut()
    {
        let wait = throttle::request_time(broker, client, started.elapsed());
        r.throttle = r.throttle.max(wait);
    }
    Ok(reply)
}

async fn serve(
    broker: &std::sync::Arc<Broker>,
    client: &ClientInfo,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: RequestKind,
) -> Result<Option<Reply>, FrameError> {
    macro_rules! reply {
        ($resp:expr) => {
            encode_response(api_key, version, correlation_id, &$resp).map(|bytes| {
                Some(Reply {
                    bytes,
                    spliced: None,
                    held: None,
                    throttle: std::time::Duration::ZERO,
                })
            })
        };
    }
    // APIs that act on the cluster as a whole: CLUSTER_AUTHORIZATION_FAILED
    // without the operation on it.
    macro_rules! on_cluster {
        ($op:ident, $denied:expr, $serve:expr) => {
            if broker.allowed_on_cluster(client, kfk_acl::Operation::$op) {
                $serve
            } else {
                reply!($denied)
            }
        };
    }
    let denied = authz::CLUSTER_DENIED.code();
    let refused = str_bytes("Cluster authorization failed.".to_string());
    let why = || Some(refused.clone());
    // Kafka's answer to ACL requests when no authorizer is configured.
    let off = ResponseError::SecurityDisabled.code();
    let no_authorizer = str_bytes(
        "No Authorizer is configured (set authorizer.class.name on the brokers).".to_string(),
    );
    match body {
        RequestKind::CreateAcls(r) if !broker.authorizing() => {
            reply!(refusals::create_acls(&r, off, &no_authorizer))
        }
        RequestKind::DescribeAcls(_) if !broker.authorizing() => reply!(
            DescribeAclsResponse::default()
                .with_error_code(off)
                .with_error_message(Some(no_authorizer))
        ),
        RequestKind::DeleteAcls(r) if !broker.authorizing() => {
            reply!(refusals::delete_acls(&r, off, &no_authorizer))
        }
        RequestKind::ApiVersions(r) => reply!(api_versions::handle(r)),
        RequestKind::Metadata(r) => reply!(metadata::handle(broker, client, r, version).await),
        RequestKind::Produce(mut r) => {
            let answer_denied = guards::produce(broker, client, &mut r);
            let bytes = throttle::produce_bytes(&r);
            match produce::handle(broker, r).await {
                Some(mut resp) => {
                    answer_denied(&mut resp);
                    let wait = throttle::produce(broker, client, bytes, &mut resp);
                    encode_response(api_key, version, correlation_id, &resp).map(|bytes| {
                        Some(Reply {
                            bytes,
                            spliced: None,
                            held: None,
                            throttle: wait,
                        })
                    })
                }
                None => Ok(None),
            }
        }
        RequestKind::Fetch(mut r) => {
            let answer_denied = guards::fetch(broker, client, &mut r);
            let follower = r.replica_id.0 >= 0;
            let mut answer = fetch::handle(broker, r, client.plaintext).await;
            answer_denied(&mut answer.resp);
            // Followers replicate under replication quotas, not client ones.
            let wait = if follower {
                std::time::Duration::ZERO
            } else {
                throttle::fetch(broker, client, &mut answer)
            };
            match answer.files {
                Some(files) if !files.markers.is_empty() => {
                    kfk_wire::spliced::encode_response_spliced(
                        api_key,
                        version,
                        api_key.response_header_version(version) >= 1,
                        correlation_id,
                        &answer.resp,
                        &files.markers,
                    )
                    .map(|pieces| {
                        Some(Reply {
                            bytes: BytesMut::new(),
                            spliced: Some(Spliced {
                                pieces,
                                files: files.files,
                            }),
                            held: answer.held,
                            throttle: wait,
                        })
                    })
                }
                _ => encode_response(api_key, version, correlation_id, &answer.resp).map(|bytes| {
                    Some(Reply {
                        bytes,
                        spliced: None,
                        held: answer.held,
                        throttle: wait,
                    })
                }),
            }
        }
        RequestKind::ListOffsets(mut r) => {
            let answer_denied = guards::list_offsets(broker, client, &mut r);
            let mut resp = list_offsets::handle(broker, r, version);
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::CreateTopics(mut r) => {
            let answer_denied = guards::create_topics(broker, client, &mut r);
            let mut resp = create_topics::handle(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::DeleteTopics(mut r) => {
            let answer_denied = guards::delete_topics(broker, client, &mut r);
            let mut resp = delete_topics::handle(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::CreatePartitions(mut r) => {
            let answer_denied = guards::create_partitions(broker, client, &mut r);
            let mut resp = create_partitions::handle(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::InitProducerId(r) if r.transactional_id.is_some() => {
            reply!(transactions::init_producer_id(broker, client, r, version).await)
        }
        RequestKind::AddPartitionsToTxn(r) => {
            reply!(transactions::add_partitions_to_txn(broker, client, r, version).await)
        }
        RequestKind::AddOffsetsToTxn(r) => {
            reply!(transactions::add_offsets_to_txn(broker, client, r, version).await)
        }
        RequestKind::EndTxn(r) => reply!(transactions::end_txn(broker, client, r, version).await),
        RequestKind::TxnOffsetCommit(r) => {
            reply!(transactions::txn_offset_commit(broker, client, r, version).await)
        }
        RequestKind::WriteTxnMarkers(r) => on_cluster!(
            ClusterAction,
            refusals::write_txn_markers(&r, denied),
            reply!(write_txn_markers::handle(broker, r).await)
        ),
        RequestKind::DescribeProducers(r) => {
            reply!(txn_describe::describe_producers(broker, client, r))
        }
        RequestKind::DescribeTransactions(r) => {
            reply!(txn_describe::describe_transactions(broker, client, r).await)
        }
        RequestKind::ListTransactions(r) => {
            reply!(txn_describe::list_transactions(broker, client, r))
        }
        RequestKind::InitProducerId(r) => {
            if broker.allowed_on_cluster(client, kfk_acl::Operation::IdempotentWrite)
                || broker.allowed_on_cluster(client, kfk_acl::Operation::IdempotentWrite)
                || broker.allowed_on_any(
                    client,
                    kfk_acl::Operation::Write,
                    kfk_acl::ResourceType::Topic,
                )
            {
                reply!(init_producer_id::handle(broker, r).await)
            } else {
                reply!(
                    InitProducerIdResponse::default()
                        .with_error_code(denied)
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1)
                )
            }
        }
        RequestKind::DescribeConfigs(mut r) => {
            let answer_denied = guards::describe_configs(broker, client, &mut r);
            let mut resp = configs::describe(broker, r);
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::AlterConfigs(mut r) => {
            let answer_denied = guards::alter_configs(broker, client, &mut r);
            let mut resp = configs::alter(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::IncrementalAlterConfigs(mut r) => {
            let answer_denied = guards::incremental_alter_configs(broker, client, &mut r);
            let mut resp = configs::incremental_alter(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::DescribeCluster(r) => on_cluster!(
            Describe,
            DescribeClusterResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(describe_cluster::handle(broker, client, r))
        ),
        RequestKind::DescribeQuorum(r) => on_cluster!(
            Describe,
            DescribeQuorumResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(describe_quorum::handle(broker, r).await)
        ),
        RequestKind::OffsetForLeaderEpoch(mut r) => {
            let answer_denied = guards::offset_for_leader_epoch(broker, client, &mut r);
            let mut resp = offset_for_leader_epoch::handle(broker, r);
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::AlterPartitionReassignments(r) => on_cluster!(
            Alter,
            AlterPartitionReassignmentsResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(reassignments::alter(broker, r).await)
        ),
        RequestKind::ListPartitionReassignments(r) => on_cluster!(
            Describe,
            ListPartitionReassignmentsResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(reassignments::list(broker, r))
        ),
        RequestKind::ElectLeaders(r) => on_cluster!(
            Alter,
            ElectLeadersResponse::default().with_error_code(denied),
            reply!(reassignments::elect_leaders(broker, r).await)
        ),
        RequestKind::DescribeLogDirs(r) => on_cluster!(
            Describe,
            DescribeLogDirsResponse::default().with_error_code(denied),
            reply!(log_dirs::handle(broker, r))
        ),
        RequestKind::DescribeTopicPartitions(mut r) => {
            let answer_denied = guards::describe_topic_partitions(broker, client, &mut r);
            let mut resp = describe_topic_partitions::handle(broker, client, r);
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::DeleteRecords(mut r) => {
            let answer_denied = guards::delete_records(broker, client, &mut r);
            let mut resp = delete_records::handle(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::FindCoordinator(mut r) => {
            match guards::find_coordinator(broker, client, &mut r) {
                Err(denied) => reply!(*denied),
                Ok(answer_denied) => {
                    let mut resp = groups::find_coordinator(broker, client, r, version).await;
                    answer_denied(&mut resp);
                    reply!(resp)
                }
            }
        }
        RequestKind::JoinGroup(r) => match guards::member(broker, client, &r.group_id) {
            Err(code) => reply!(
                JoinGroupResponse::default()
                    .with_error_code(code)
                    .with_generation_id(-1)
            ),
            Ok(()) => reply!(groups::join_group(broker, client, r, version).await),
        },
        RequestKind::SyncGroup(r) => match guards::member(broker, client, &r.group_id) {
            Err(code) => reply!(SyncGroupResponse::default().with_error_code(code)),
            Ok(()) => reply!(groups::sync_group(broker, r).await),
        },
        RequestKind::Heartbeat(r) => match guards::member(broker, client, &r.group_id) {
            Err(code) => reply!(HeartbeatResponse::default().with_error_code(code)),
            Ok(()) => reply!(groups::heartbeat(broker, r).await),
        },
        RequestKind::LeaveGroup(r) => match guards::member(broker, client, &r.group_id) {
            Err(code) => reply!(LeaveGroupResponse::default().with_error_code(code)),
            Ok(()) => reply!(groups::leave_group(broker, r, version).await),
        },
        RequestKind::OffsetCommit(mut r) => {
            let answer_denied = guards::offset_commit(broker, client, &mut r);
            let mut resp = groups::offset_commit(broker, r, version).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::OffsetFetch(mut r) => {
            let answer_denied = guards::offset_fetch(broker, client, &mut r);
            let mut resp = groups::offset_fetch(broker, r, version).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::ListGroups(r) => {
            let mut resp = groups::list_groups(broker, r);
            guards::list_groups(broker, client)(&mut resp);
            reply!(resp)
        }
        RequestKind::DescribeGroups(mut r) => {
            let answer_denied = guards::describe_groups(broker, client, &mut r);
            let mut resp = groups::describe_groups(broker, client, r, version).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::DeleteGroups(mut r) => {
            let answer_denied = guards::delete_groups(broker, client, &mut r);
            let mut resp = groups::delete_groups(broker, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::OffsetDelete(r) => {
            if broker.allowed_group(client, kfk_acl::Operation::Delete, &r.group_id) {
                reply!(groups::offset_delete(broker, r).await)
            } else {
                reply!(OffsetDeleteResponse::default().with_error_code(authz::GROUP_DENIED.code()))
            }
        }
        RequestKind::ConsumerGroupHeartbeat(r) => {
            match guards::consumer_group_heartbeat(broker, client, &r) {
                Err(denied) => reply!(*denied),
                Ok(()) => reply!(consumer_groups::heartbeat(broker, client, r).await),
            }
        }
        RequestKind::ConsumerGroupDescribe(mut r) => {
            let answer_denied = guards::consumer_group_describe(broker, client, &mut r);
            let mut resp = consumer_groups::describe(broker, client, r).await;
            answer_denied(&mut resp);
            reply!(resp)
        }
        RequestKind::DescribeUserScramCredentials(r) => on_cluster!(
            Describe,
            DescribeUserScramCredentialsResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(scram::describe(broker, r))
        ),
        RequestKind::AlterUserScramCredentials(r) => on_cluster!(
            Alter,
            refusals::alter_user_scram_credentials(&r, denied, &refused),
            reply!(scram::alter(broker, r).await)
        ),
        RequestKind::DescribeClientQuotas(r) => on_cluster!(
            DescribeConfigs,
            DescribeClientQuotasResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(client_quotas::describe(broker, r))
        ),
        RequestKind::AlterClientQuotas(r) => on_cluster!(
            AlterConfigs,
            refusals::alter_client_quotas(&r, denied, &refused),
            reply!(client_quotas::alter(broker, r).await)
        ),
        RequestKind::CreateAcls(r) => on_cluster!(
            Alter,
            refusals::create_acls(&r, denied, &refused),
            reply!(acls::create(broker, r).await)
        ),
        RequestKind::DescribeAcls(r) => on_cluster!(
            Describe,
            DescribeAclsResponse::default()
                .with_error_code(denied)
                .with_error_message(why()),
            reply!(acls::describe(broker, r))
        ),
        RequestKind::DeleteAcls(r) => on_cluster!(
            Alter,
            refusals::delete_acls(&r, denied, &refused),
            reply!(acls::delete(broker, r).await)
        ),
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
