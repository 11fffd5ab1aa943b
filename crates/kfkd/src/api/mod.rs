//! The APIs kfkd implements: one module per Kafka API, dispatched from one
//! `match`. [`SUPPORTED`] is the single table both dispatch and ApiVersions read,
//! so the broker never advertises a version it does not serve.

mod api_versions;
mod configs;
mod create_partitions;
mod create_topics;
mod delete_topics;
mod describe_cluster;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod produce;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;
use kfk_wire::frame::{FrameError, decode_body, encode_response};

use crate::broker::Broker;

/// `(api, min version, max version)` served by kfkd.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
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
];

/// The version range kfkd serves for `api_key`, if it serves it at all.
pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api_key)
        .map(|(_, min, max)| (*min, *max))
}

/// A request ready for its handler.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub body: Bytes,
}

pub(crate) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Decodes, handles and encodes one request. `Ok(None)` means the request
/// takes no response (produce with acks=0).
///
/// # Errors
/// A [`FrameError`] for a body that does not decode; the connection closes.
pub async fn handle(broker: &Broker, req: Request) -> Result<Option<BytesMut>, FrameError> {
    let Request {
        api_key,
        version,
        correlation_id,
        mut body,
    } = req;
    macro_rules! reply {
        ($resp:expr) => {
            encode_response(api_key, version, correlation_id, &$resp).map(Some)
        };
    }
    let b = &mut body;
    match api_key {
        ApiKey::ApiVersions => reply!(api_versions::handle(decode_body(b, api_key, version)?)),
        ApiKey::Metadata => reply!(metadata::handle(
            broker,
            decode_body(b, api_key, version)?,
            version
        )),
        ApiKey::Produce => match produce::handle(broker, decode_body(b, api_key, version)?).await {
            Some(resp) => reply!(resp),
            None => Ok(None),
        },
        ApiKey::Fetch => {
            reply!(fetch::handle(broker, decode_body(b, api_key, version)?, version).await)
        }
        ApiKey::ListOffsets => reply!(list_offsets::handle(
            broker,
            decode_body(b, api_key, version)?,
            version
        )),
        ApiKey::CreateTopics => reply!(create_topics::handle(
            broker,
            decode_body(b, api_key, version)?
        )),
        ApiKey::DeleteTopics => reply!(delete_topics::handle(
            broker,
            decode_body(b, api_key, version)?
        )),
        ApiKey::CreatePartitions => {
            reply!(create_partitions::handle(
                broker,
                decode_body(b, api_key, version)?
            ))
        }
        ApiKey::InitProducerId => {
            reply!(init_producer_id::handle(
                broker,
                decode_body(b, api_key, version)?
            ))
        }
        ApiKey::DescribeConfigs => {
            reply!(configs::describe(broker, decode_body(b, api_key, version)?))
        }
        ApiKey::AlterConfigs => reply!(configs::alter(broker, decode_body(b, api_key, version)?)),
        ApiKey::IncrementalAlterConfigs => {
            reply!(configs::incremental_alter(
                broker,
                decode_body(b, api_key, version)?
            ))
        }
        ApiKey::DescribeCluster => {
            reply!(describe_cluster::handle(
                broker,
                decode_body(b, api_key, version)?
            ))
        }
        other => Err(FrameError::Body {
            api_key: other,
            version,
            reason: "not served by kfkd".into(),
        }),
    }
}

pub use api_versions::unsupported_version_response;
