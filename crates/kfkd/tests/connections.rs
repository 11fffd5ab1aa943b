//! What the broker does with any request, whatever its API: the version
//! table it advertises and answers, and connections that send garbage or
//! nothing at all. Requests are encoded with `kafka-protocol` and sent to an
//! in-process broker on a free port.

/// kfkd's allocator: hostile array counts reserve address space lazily.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod support;

use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use support::{Client, TestBroker, batch, code, create_topic, produce};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn api_versions_advertises_the_dispatch_table_and_omits_default_tags() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    let id = c
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let (got, body) = c.read_raw(ApiKey::ApiVersions, 3).await.unwrap();
    assert_eq!(got, id);
    // The last byte is the tagged-field count: librdkafka 2.0 cannot skip
    // non-empty tagged fields, so it must be zero.
    assert_eq!(*body.last().unwrap(), 0);
    let resp = ApiVersionsResponse::decode(&mut body.clone(), 3).unwrap();
    assert_eq!(resp.error_code, 0);
    for (key, min, max) in kfkd::api::SUPPORTED.rows() {
        let v = resp
            .api_keys
            .iter()
            .find(|v| v.api_key == *key as i16)
            .unwrap_or_else(|| panic!("{key:?} not advertised"));
        assert_eq!((v.min_version, v.max_version), (*min, *max));
    }
    assert_eq!(resp.api_keys.len(), kfkd::api::SUPPORTED.len());
}

#[tokio::test]
async fn api_versions_of_an_unknown_version_answers_v0_with_the_table() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    let id = c
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    // Rewrite the version to 99 by sending a raw frame instead.
    let _ = c.read_raw(ApiKey::ApiVersions, 3).await.unwrap();
    let mut raw = Vec::new();
    raw.extend_from_slice(&12i32.to_be_bytes());
    raw.extend_from_slice(&18i16.to_be_bytes()); // ApiVersions
    raw.extend_from_slice(&99i16.to_be_bytes());
    raw.extend_from_slice(&(id + 1).to_be_bytes());
    raw.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    raw.extend_from_slice(&[0, 0]);
    c.stream.write_all(&raw).await.unwrap();
    let (got, mut body) = c.read_raw(ApiKey::ApiVersions, 0).await.unwrap();
    assert_eq!(got, id + 1);
    let resp = ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(resp.error_code, code(ResponseError::UnsupportedVersion));
    assert!(!resp.api_keys.is_empty());
}

/// Sends raw bytes on a new connection and reports whether the broker closed it.
async fn closes_after(broker: &TestBroker, raw: &[u8]) -> bool {
    let mut c = broker.client().await;
    c.stream.write_all(raw).await.unwrap();
    c.is_closed().await
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let broker = TestBroker::start_with(|s| s.socket_request_max_bytes = 4096).await;
    let mut healthy = broker.client().await;
    create_topic(&mut healthy, "t", 1).await;

    // Above socket.request.max.bytes: refused from the length alone.
    assert!(closes_after(&broker, &(1i32 << 30).to_be_bytes()).await);
    assert!(closes_after(&broker, &(-5i32).to_be_bytes()).await);
    // Too short for a header.
    assert!(closes_after(&broker, &[0, 0, 0, 3, 1, 2, 3]).await);
    // Unknown API key.
    let mut unknown = vec![0, 0, 0, 10];
    unknown.extend_from_slice(&999i16.to_be_bytes());
    unknown.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0xff, 0xff]);
    assert!(closes_after(&broker, &unknown).await);
    // Metadata v99.
    let mut unsupported = vec![0, 0, 0, 10, 0, 3];
    unsupported.extend_from_slice(&99i16.to_be_bytes());
    unsupported.extend_from_slice(&[0, 0, 0, 1, 0xff, 0xff]);
    assert!(closes_after(&broker, &unsupported).await);
    // Metadata v0 whose topic array claims 2^31-1 entries in a 15-byte body.
    let mut huge = vec![0, 0, 0, 15, 0, 3, 0, 0, 0, 0, 0, 1, 0xff, 0xff];
    huge.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 0xb6]);
    assert!(closes_after(&broker, &huge).await);
    // Garbage.
    let garbage: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    let mut framed = (garbage.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&garbage);
    assert!(closes_after(&broker, &framed).await);
    // A frame cut off by the client closing.
    {
        let mut c = broker.client().await;
        c.stream.write_all(&[0, 0, 0, 100, 0, 3]).await.unwrap();
    }

    // The healthy connection still works.
    assert_eq!(produce(&mut healthy, "t", 0, batch(1)).await, (0, 0));
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let broker = TestBroker::start_with(|s| s.connections_max_idle_ms = 200).await;
    let mut c = broker.client().await;
    let started = Instant::now();
    assert!(c.is_closed().await);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // A frame that stops halfway is cut off too.
    let mut c = broker.client().await;
    c.stream
        .write_all(&[0, 0, 0, 100, 0, 3, 0, 1])
        .await
        .unwrap();
    assert!(c.is_closed().await);
}

/// Sends a default request of `api` at `version` (acks=1 for Produce, so it
/// is answered); returns its correlation id, or `None` for an API this test
/// does not know how to build.
async fn send_default(c: &mut Client, api: ApiKey, version: i16) -> Option<i32> {
    macro_rules! requests {
        ($($key:ident => $req:expr),* $(,)?) => {
            match api {
                $(ApiKey::$key => Some(c.send(api, version, &$req).await),)*
                _ => None,
            }
        };
    }
    requests! {
        Produce => ProduceRequest::default().with_acks(1).with_timeout_ms(1000),
        Fetch => FetchRequest::default(),
        ListOffsets => ListOffsetsRequest::default(),
        Metadata => MetadataRequest::default(),
        ApiVersions => ApiVersionsRequest::default(),
        CreateTopics => CreateTopicsRequest::default(),
        DeleteTopics => DeleteTopicsRequest::default(),
        InitProducerId => InitProducerIdRequest::default(),
        DescribeConfigs => DescribeConfigsRequest::default(),
        AlterConfigs => AlterConfigsRequest::default(),
        CreatePartitions => CreatePartitionsRequest::default(),
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest::default(),
        DescribeCluster => DescribeClusterRequest::default(),
        DescribeQuorum => DescribeQuorumRequest::default(),
        OffsetForLeaderEpoch => OffsetForLeaderEpochRequest::default(),
        AlterPartitionReassignments => AlterPartitionReassignmentsRequest::default(),
        ListPartitionReassignments => ListPartitionReassignmentsRequest::default(),
        ElectLeaders => ElectLeadersRequest::default(),
        DescribeLogDirs => DescribeLogDirsRequest::default(),
        DeleteRecords => DeleteRecordsRequest::default(),
        DescribeTopicPartitions => DescribeTopicPartitionsRequest::default(),
        FindCoordinator => FindCoordinatorRequest::default(),
        JoinGroup => JoinGroupRequest::default(),
        SyncGroup => SyncGroupRequest::default(),
        Heartbeat => HeartbeatRequest::default(),
        LeaveGroup => LeaveGroupRequest::default(),
        OffsetCommit => OffsetCommitRequest::default(),
        OffsetFetch => OffsetFetchRequest::default(),
        ListGroups => ListGroupsRequest::default(),
        DescribeGroups => DescribeGroupsRequest::default(),
        DeleteGroups => DeleteGroupsRequest::default(),
        OffsetDelete => OffsetDeleteRequest::default(),
        ConsumerGroupHeartbeat => ConsumerGroupHeartbeatRequest::default(),
        ConsumerGroupDescribe => ConsumerGroupDescribeRequest::default(),
        DescribeUserScramCredentials => DescribeUserScramCredentialsRequest::default(),
        AlterUserScramCredentials => AlterUserScramCredentialsRequest::default(),
        DescribeClientQuotas => DescribeClientQuotasRequest::default(),
        AlterClientQuotas => AlterClientQuotasRequest::default(),
        CreateAcls => CreateAclsRequest::default(),
        DescribeAcls => DescribeAclsRequest::default(),
        DeleteAcls => DeleteAclsRequest::default(),
        SaslHandshake => SaslHandshakeRequest::default(),
        SaslAuthenticate => SaslAuthenticateRequest::default(),
        AddPartitionsToTxn => AddPartitionsToTxnRequest::default(),
        AddOffsetsToTxn => AddOffsetsToTxnRequest::default(),
        EndTxn => EndTxnRequest::default(),
        TxnOffsetCommit => TxnOffsetCommitRequest::default(),
        WriteTxnMarkers => WriteTxnMarkersRequest::default(),
        DescribeProducers => DescribeProducersRequest::default(),
        DescribeTransactions => DescribeTransactionsRequest::default(),
        ListTransactions => ListTransactionsRequest::default(),
    }
}

/// Every (API, version) that ApiVersions advertises is answered: an entry of
/// `SUPPORTED` without a handler would close the connection instead.
#[tokio::test]
async fn every_advertised_version_is_answered() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for &(api, min, max) in kfkd::api::SUPPORTED.rows() {
        for version in min..=max {
            let id = send_default(&mut c, api, version)
                .await
                .unwrap_or_else(|| panic!("add {api:?} to send_default"));
            let answer = c.read_raw(api, version).await;
            assert!(
                matches!(answer, Some((got, _)) if got == id),
                "{api:?} v{version} was advertised but not answered"
            );
        }
    }
}
