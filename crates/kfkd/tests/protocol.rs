//! Protocol-level tests: requests encoded with `kafka-protocol`, sent to an
//! in-process broker on a free port, for each API and each error path.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use support::{
    Client, TestBroker, batch, batch_from, code, create_topic, name, produce, produce_req,
};

fn fetch_req(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ])
}

fn record_values(records: &Bytes) -> Vec<(i64, String)> {
    let mut buf = records.clone();
    let mut out = Vec::new();
    while !buf.is_empty() {
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        for r in set.records {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}

use kafka_protocol::protocol::Decodable;

#[tokio::test]
async fn metadata_lists_brokers_and_auto_creates_when_allowed() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("auto"))),
        ]))
        .with_allow_auto_topic_creation(true);
    let resp: MetadataResponse = c.request(ApiKey::Metadata, 12, &req).await;
    assert_eq!(resp.brokers.len(), 1);
    assert_eq!(resp.brokers[0].port, i32::from(broker.addr.port()));
    assert_eq!(resp.controller_id, BrokerId(1));
    assert!(resp.cluster_id.is_some());
    let t = &resp.topics[0];
    assert_eq!(t.error_code, 0);
    assert!(!t.topic_id.is_nil());
    assert_eq!(t.partitions.len(), 1);
    assert_eq!(t.partitions[0].leader_id, BrokerId(1));
    assert_eq!(t.partitions[0].isr_nodes, vec![BrokerId(1)]);

    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("nope"))),
            MetadataRequestTopic::default().with_name(Some(name("bad name!"))),
        ]))
        .with_allow_auto_topic_creation(false);
    let resp: MetadataResponse = c.request(ApiKey::Metadata, 12, &req).await;
    assert_eq!(
        resp.topics[0].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
    assert_eq!(
        resp.topics[1].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );

    // Old clients (v1) get the same answer without the newer fields.
    let all: MetadataResponse = c
        .request(
            ApiKey::Metadata,
            1,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(all.topics.len(), 1);
}

#[tokio::test]
async fn create_topics_validates_like_kafka() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    let ok = create_topic(&mut c, "orders", 3).await;
    assert_eq!(ok.topics[0].error_code, 0);
    assert_eq!(ok.topics[0].num_partitions, 3);
    let again = create_topic(&mut c, "orders", 3).await;
    assert_eq!(
        again.topics[0].error_code,
        code(ResponseError::TopicAlreadyExists)
    );
    let collide = create_topic(&mut c, "ord_ers", 1).await;
    assert_eq!(collide.topics[0].error_code, 0);
    let collide = create_topic(&mut c, "ord.ers", 1).await;
    assert_eq!(
        collide.topics[0].error_code,
        code(ResponseError::InvalidTopicException)
    );
    let bad = create_topic(&mut c, "no spaces", 1).await;
    assert_eq!(
        bad.topics[0].error_code,
        code(ResponseError::InvalidTopicException)
    );
    let long = create_topic(&mut c, &"x".repeat(250), 1).await;
    assert_eq!(
        long.topics[0].error_code,
        code(ResponseError::InvalidTopicException)
    );
    let zero = create_topic(&mut c, "zero", 0).await;
    assert_eq!(
        zero.topics[0].error_code,
        code(ResponseError::InvalidPartitions)
    );

    let req = CreateTopicsRequest::default().with_topics(vec![
        CreatableTopic::default()
            .with_name(name("rf0"))
            .with_num_partitions(1)
            .with_replication_factor(0),
        CreatableTopic::default()
            .with_name(name("huge"))
            .with_num_partitions(i32::MAX)
            .with_replication_factor(1),
        CreatableTopic::default()
            .with_name(name("empty-assignment"))
            .with_assignments(vec![CreatableReplicaAssignment::default()]),
    ]);
    let resp: CreateTopicsResponse = c.request(ApiKey::CreateTopics, 7, &req).await;
    let codes: Vec<i16> = resp.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        vec![
            code(ResponseError::InvalidReplicationFactor),
            code(ResponseError::InvalidPartitions),
            code(ResponseError::InvalidReplicaAssignment)
        ]
    );
    let grow = |count: i32, assignment: Option<Vec<BrokerId>>| {
        CreatePartitionsRequest::default().with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(name("orders"))
                .with_count(count)
                .with_assignments(
                    assignment
                        .map(|a| vec![CreatePartitionsAssignment::default().with_broker_ids(a)]),
                ),
        ])
    };
    for req in [grow(4, Some(vec![])), grow(-1, None), grow(i32::MAX, None)] {
        let resp: CreatePartitionsResponse = c.request(ApiKey::CreatePartitions, 3, &req).await;
        assert_ne!(resp.results[0].error_code, 0, "{req:?}");
    }

    let req = CreateTopicsRequest::default().with_topics(vec![
        CreatableTopic::default()
            .with_name(name("rf2"))
            .with_num_partitions(1)
            .with_replication_factor(2),
        CreatableTopic::default()
            .with_name(name("badcfg"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("soon"))),
            ]),
    ]);
    let resp: CreateTopicsResponse = c.request(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(
        resp.topics[0].error_code,
        code(ResponseError::InvalidReplicationFactor)
    );
    assert_eq!(
        resp.topics[1].error_code,
        code(ResponseError::InvalidConfig)
    );
    assert!(
        resp.topics[1]
            .error_message
            .as_deref()
            .unwrap()
            .contains("retention.ms")
    );

    let req = CreateTopicsRequest::default()
        .with_validate_only(true)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name("dry"))
                .with_num_partitions(1)
                .with_replication_factor(1),
        ]);
    let resp: CreateTopicsResponse = c.request(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(resp.topics[0].error_code, 0);
    let md: MetadataResponse = c
        .request(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    let names: Vec<String> = md
        .topics
        .iter()
        .map(|t| t.name.as_ref().unwrap().0.to_string())
        .collect();
    assert_eq!(names, vec!["ord_ers", "orders"]);
}

#[tokio::test]
async fn produce_and_fetch_round_trip_with_offsets() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 2).await;
    assert_eq!(produce(&mut c, "t", 0, batch(3)).await, (0, 0));
    assert_eq!(produce(&mut c, "t", 0, batch(2)).await, (0, 3));
    assert_eq!(produce(&mut c, "t", 1, batch(1)).await, (0, 0));

    let resp: FetchResponse = c.request(ApiKey::Fetch, 12, &fetch_req("t", 0, 1, 0)).await;
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 5);
    assert_eq!(p.log_start_offset, 0);
    let got = record_values(p.records.as_ref().unwrap());
    // Whole batches: offset 1 comes with its batch starting at 0.
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(got[4].1, "v1");

    let resp: FetchResponse = c.request(ApiKey::Fetch, 4, &fetch_req("t", 0, 6, 0)).await;
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        code(ResponseError::OffsetOutOfRange)
    );
    let resp: FetchResponse = c.request(ApiKey::Fetch, 12, &fetch_req("t", 9, 0, 0)).await;
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
}

#[tokio::test]
async fn produce_errors_are_per_partition() {
    let broker = TestBroker::start_with(|s| s.message_max_bytes = 300).await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    assert_eq!(
        produce(&mut c, "nope", 0, batch(1)).await.0,
        code(ResponseError::UnknownTopicOrPartition)
    );
    let mut corrupt = batch(2).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert_eq!(
        produce(&mut c, "t", 0, Bytes::from(corrupt)).await.0,
        code(ResponseError::CorruptMessage)
    );
    assert_eq!(
        produce(&mut c, "t", 0, batch(40)).await.0,
        code(ResponseError::MessageTooLarge)
    );
    let mut two = batch(1).to_vec();
    two.extend_from_slice(&batch(1));
    assert_eq!(
        produce(&mut c, "t", 0, Bytes::from(two)).await.0,
        code(ResponseError::InvalidRecord)
    );
    // Nothing was written by the refused requests.
    assert_eq!(produce(&mut c, "t", 0, batch(1)).await, (0, 0));
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_pipelined_requests_answer_in_order() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    c.send(ApiKey::Produce, 9, &produce_req("t", 0, batch(1), 0))
        .await;
    let a = c
        .send(ApiKey::Produce, 9, &produce_req("t", 0, batch(1), 1))
        .await;
    let b = c
        .send(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    let (first, mut body) = c.read_raw(ApiKey::Produce, 9).await.unwrap();
    assert_eq!(first, a);
    let resp = ProduceResponse::decode(&mut body, 9).unwrap();
    assert_eq!(resp.responses[0].partition_responses[0].base_offset, 1);
    assert_eq!(c.read_raw(ApiKey::Metadata, 12).await.unwrap().0, b);
}

async fn init_producer(c: &mut Client) -> InitProducerIdResponse {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    c.request(ApiKey::InitProducerId, 4, &req).await
}

#[tokio::test]
async fn idempotent_producers_get_duplicates_dropped_and_gaps_refused() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    let init = init_producer(&mut c).await;
    assert_eq!(init.error_code, 0);
    let pid = init.producer_id.0;
    assert!(pid >= 0);
    assert_eq!(
        produce(&mut c, "t", 0, batch_from(3, pid, 0, 0)).await,
        (0, 0)
    );
    // A retry of the same batch is acknowledged with the original offset.
    assert_eq!(
        produce(&mut c, "t", 0, batch_from(3, pid, 0, 0)).await,
        (0, 0)
    );
    assert_eq!(
        produce(&mut c, "t", 0, batch_from(2, pid, 0, 3)).await,
        (0, 3)
    );
    assert_eq!(
        produce(&mut c, "t", 0, batch_from(1, pid, 0, 9)).await.0,
        code(ResponseError::OutOfOrderSequenceNumber)
    );
    let resp: FetchResponse = c.request(ApiKey::Fetch, 12, &fetch_req("t", 0, 0, 0)).await;
    let got = record_values(resp.responses[0].partitions[0].records.as_ref().unwrap());
    assert_eq!(got.len(), 5, "the duplicate must not be stored: {got:?}");
    // A second producer gets another id.
    let other = init_producer(&mut c).await;
    assert_ne!(other.producer_id.0, pid);
}

#[tokio::test]
async fn fetch_long_polls_until_data_arrives_or_max_wait() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    let started = Instant::now();
    let resp: FetchResponse = c
        .request(ApiKey::Fetch, 12, &fetch_req("t", 0, 0, 300))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(
        resp.responses[0].partitions[0]
            .records
            .as_ref()
            .is_none_or(|r| r.is_empty())
    );

    let mut waiting = broker.client().await;
    let id = waiting
        .send(ApiKey::Fetch, 12, &fetch_req("t", 0, 0, 8000))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    produce(&mut c, "t", 0, batch(2)).await;
    let (got, mut body) = waiting.read_raw(ApiKey::Fetch, 12).await.unwrap();
    assert_eq!(got, id);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fetch was not woken by the append"
    );
    let resp = FetchResponse::decode(&mut body, 12).unwrap();
    let got = record_values(resp.responses[0].partitions[0].records.as_ref().unwrap());
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn list_offsets_answers_earliest_latest_and_by_time() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    let before = kfk_log::now_ms();
    produce(&mut c, "t", 0, batch(3)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = kfk_log::now_ms();
    produce(&mut c, "t", 0, batch(2)).await;
    let ask = |ts: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(ts),
                    ]),
            ])
    };
    let mut offsets = Vec::new();
    for ts in [-2, -1, before, middle, before + 1_000_000] {
        let resp: ListOffsetsResponse = c.request(ApiKey::ListOffsets, 7, &ask(ts)).await;
        let p = &resp.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        offsets.push(p.offset);
    }
    assert_eq!(offsets, vec![0, 5, 0, 3, -1]);
    let resp: ListOffsetsResponse = c.request(ApiKey::ListOffsets, 1, &ask(-1)).await;
    assert_eq!(resp.topics[0].partitions[0].offset, 5);
}

#[tokio::test]
async fn topics_can_be_deleted_grown_and_reconfigured() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;

    let grow = |count: i32| {
        CreatePartitionsRequest::default().with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(name("t"))
                .with_count(count)
                .with_assignments(None),
        ])
    };
    // An explicit assignment list must place every new partition: an empty
    // one is refused, as Kafka refuses it.
    let mut empty = grow(4);
    empty.topics[0].assignments = Some(Vec::new());
    let resp: CreatePartitionsResponse = c.request(ApiKey::CreatePartitions, 3, &empty).await;
    assert_eq!(
        resp.results[0].error_code,
        code(ResponseError::InvalidReplicaAssignment)
    );
    let resp: CreatePartitionsResponse = c.request(ApiKey::CreatePartitions, 3, &grow(4)).await;
    assert_eq!(resp.results[0].error_code, 0);
    assert_eq!(produce(&mut c, "t", 3, batch(1)).await, (0, 0));
    let resp: CreatePartitionsResponse = c.request(ApiKey::CreatePartitions, 3, &grow(2)).await;
    assert_eq!(
        resp.results[0].error_code,
        code(ResponseError::InvalidPartitions)
    );

    let alter = |op: i8, value: Option<&'static str>| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("t"))
                .with_configs(vec![
                    AlterableConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_config_operation(op)
                        .with_value(value.map(StrBytes::from_static_str)),
                ]),
        ])
    };
    let resp: IncrementalAlterConfigsResponse = c
        .request(ApiKey::IncrementalAlterConfigs, 1, &alter(0, Some("1234")))
        .await;
    assert_eq!(resp.responses[0].error_code, 0);
    let describe = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("t"))
            .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")])),
        DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1")),
    ]);
    let resp: DescribeConfigsResponse = c.request(ApiKey::DescribeConfigs, 4, &describe).await;
    assert_eq!(resp.results[0].configs.len(), 1);
    assert_eq!(resp.results[0].configs[0].value.as_deref(), Some("1234"));
    assert_eq!(resp.results[0].configs[0].config_source, 1);
    assert!(
        resp.results[1]
            .configs
            .iter()
            .any(|c| c.name.as_str() == "num.partitions" && c.value.as_deref() == Some("1"))
    );
    let resp: IncrementalAlterConfigsResponse = c
        .request(ApiKey::IncrementalAlterConfigs, 1, &alter(0, Some("-7")))
        .await;
    assert_eq!(
        resp.responses[0].error_code,
        code(ResponseError::InvalidConfig)
    );
    let resp: IncrementalAlterConfigsResponse = c
        .request(ApiKey::IncrementalAlterConfigs, 1, &alter(1, None))
        .await;
    assert_eq!(resp.responses[0].error_code, 0);
    let resp: DescribeConfigsResponse = c.request(ApiKey::DescribeConfigs, 4, &describe).await;
    assert_eq!(resp.results[0].configs[0].config_source, 5);

    let resp: DescribeClusterResponse = c
        .request(
            ApiKey::DescribeCluster,
            1,
            &DescribeClusterRequest::default(),
        )
        .await;
    assert_eq!(resp.brokers.len(), 1);
    assert_eq!(resp.controller_id, BrokerId(1));

    let resp: DeleteTopicsResponse = c
        .request(
            ApiKey::DeleteTopics,
            4,
            &DeleteTopicsRequest::default().with_topic_names(vec![name("t"), name("nope")]),
        )
        .await;
    assert_eq!(resp.responses[0].error_code, 0);
    assert_eq!(
        resp.responses[1].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
    assert_eq!(
        produce(&mut c, "t", 0, batch(1)).await.0,
        code(ResponseError::UnknownTopicOrPartition)
    );
    assert!(!broker.dir.path().join("t-0").exists());
}

#[tokio::test]
async fn data_and_topics_survive_a_restart() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "keep", 1).await;
    produce(&mut c, "keep", 0, batch(4)).await;
    drop(c);
    let broker = broker.restart().await;
    let mut c = broker.client().await;
    let resp: FetchResponse = c
        .request(ApiKey::Fetch, 12, &fetch_req("keep", 0, 0, 0))
        .await;
    let got = record_values(resp.responses[0].partitions[0].records.as_ref().unwrap());
    assert_eq!(got.len(), 4);
    assert_eq!(produce(&mut c, "keep", 0, batch(1)).await, (0, 4));
}

#[tokio::test]
async fn a_data_dir_with_logs_but_no_metadata_is_not_wiped() {
    use kfkd::config::{FileSettings, SettingArgs, Settings};
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
    settings.data_dir = dir.path().to_path_buf();
    {
        let log =
            kfk_log::Log::open(dir.path().join("orders-0"), kfk_log::LogConfig::default()).unwrap();
        log.append(&mut batch(3).to_vec(), 0).unwrap();
        log.close().unwrap();
    }
    let err = kfkd::tasks::start_broker(settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refusing to start"), "{err}");
    assert!(
        dir.path()
            .join("orders-0")
            .join(format!("{:020}.log", 0))
            .exists()
    );
}

#[tokio::test]
async fn offset_for_leader_epoch_reports_where_epochs_end() {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    produce(&mut c, "t", 0, batch(3)).await;
    let ask = |epoch: i32, current: i32| {
        OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![
                        OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_current_leader_epoch(current)
                            .with_leader_epoch(epoch),
                    ]),
            ])
    };
    let resp: OffsetForLeaderEpochResponse =
        c.request(ApiKey::OffsetForLeaderEpoch, 4, &ask(0, 0)).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!((p.error_code, p.leader_epoch, p.end_offset), (0, 0, 3));
    let resp: OffsetForLeaderEpochResponse =
        c.request(ApiKey::OffsetForLeaderEpoch, 2, &ask(0, 7)).await;
    assert_eq!(
        resp.topics[0].partitions[0].error_code,
        code(ResponseError::UnknownLeaderEpoch)
    );
}

#[tokio::test]
async fn acks_all_needs_min_insync_replicas() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    let req = CreateTopicsRequest::default().with_topics(vec![
        CreatableTopic::default()
            .with_name(name("strict"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("min.insync.replicas"))
                    .with_value(Some(StrBytes::from_static_str("2"))),
            ]),
    ]);
    let _: CreateTopicsResponse = c.request(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(
        produce(&mut c, "strict", 0, batch(1)).await.0,
        code(ResponseError::NotEnoughReplicas)
    );
    // acks=1 does not wait for replicas.
    let resp: ProduceResponse = c
        .request(ApiKey::Produce, 9, &produce_req("strict", 0, batch(1), 1))
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
}

#[tokio::test]
async fn describe_log_dirs_reports_each_replicas_size() {
    let broker = TestBroker::start().await;
    let mut c = broker.client().await;
    create_topic(&mut c, "sized", 2).await;
    produce(&mut c, "sized", 1, batch(10)).await;
    let resp: DescribeLogDirsResponse = c
        .request(
            ApiKey::DescribeLogDirs,
            4,
            &DescribeLogDirsRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(resp.results.len(), 1);
    let topic = resp.results[0]
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == "sized")
        .unwrap();
    let sizes: Vec<(i32, i64)> = topic
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.partition_size))
        .collect();
    assert_eq!(sizes.len(), 2);
    assert_eq!(sizes[0], (0, 0));
    assert!(sizes[1].1 > 0, "{sizes:?}");
}
