//! Whole-request refusals (CLUSTER_AUTHORIZATION_FAILED, SECURITY_DISABLED)
//! in each API's shape: one error per entry the request carried, as Kafka
//! answers them, so clients report it against what they asked.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

pub(super) fn create_acls(r: &CreateAclsRequest, code: i16, why: &StrBytes) -> CreateAclsResponse {
    CreateAclsResponse::default().with_results(
        r.creations
            .iter()
            .map(|_| {
                create_acls_response::AclCreationResult::default()
                    .with_error_code(code)
                    .with_error_message(Some(why.clone()))
            })
            .collect(),
    )
}

pub(super) fn delete_acls(r: &DeleteAclsRequest, code: i16, why: &StrBytes) -> DeleteAclsResponse {
    DeleteAclsResponse::default().with_filter_results(
        r.filters
            .iter()
            .map(|_| {
                delete_acls_response::DeleteAclsFilterResult::default()
                    .with_error_code(code)
                    .with_error_message(Some(why.clone()))
            })
            .collect(),
    )
}

pub(super) fn alter_client_quotas(
    r: &AlterClientQuotasRequest,
    code: i16,
    why: &StrBytes,
) -> AlterClientQuotasResponse {
    AlterClientQuotasResponse::default().with_entries(
        r.entries
            .iter()
            .map(|e| {
                alter_client_quotas_response::EntryData::default()
                    .with_error_code(code)
                    .with_error_message(Some(why.clone()))
                    .with_entity(
                        e.entity
                            .iter()
                            .map(|d| {
                                alter_client_quotas_response::EntityData::default()
                                    .with_entity_type(d.entity_type.clone())
                                    .with_entity_name(d.entity_name.clone())
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

pub(super) fn alter_user_scram_credentials(
    r: &AlterUserScramCredentialsRequest,
    code: i16,
    why: &StrBytes,
) -> AlterUserScramCredentialsResponse {
    AlterUserScramCredentialsResponse::default().with_results(
        r.deletions
            .iter()
            .map(|d| d.name.clone())
            .chain(r.upsertions.iter().map(|u| u.name.clone()))
            .map(|user| {
                alter_user_scram_credentials_response::AlterUserScramCredentialsResult::default()
                    .with_user(user)
                    .with_error_code(code)
                    .with_error_message(Some(why.clone()))
            })
            .collect(),
    )
}

/// WriteTxnMarkers from a principal without CLUSTER_ACTION: every
/// partition refused.
pub(super) fn write_txn_markers(r: &WriteTxnMarkersRequest, code: i16) -> WriteTxnMarkersResponse {
    use kafka_protocol::messages::write_txn_markers_response::{
        WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    };
    WriteTxnMarkersResponse::default().with_markers(
        r.markers
            .iter()
            .map(|m| {
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(
                        m.topics
                            .iter()
                            .map(|t| {
                                WritableTxnMarkerTopicResult::default()
                                    .with_name(t.name.clone())
                                    .with_partitions(
                                        t.partition_indexes
                                            .iter()
                                            .map(|p| {
                                                WritableTxnMarkerPartitionResult::default()
                                                    .with_partition_index(*p)
                                                    .with_error_code(code)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
