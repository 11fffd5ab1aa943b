//! The client against a real kfkd process on a free port (the binary from
//! `target/debug`, built by `cargo build --workspace --bins`), so the client's
//! tests do not link the broker that itself links the client.

use std::sync::Arc;
use std::time::Duration;

use kfk_client::{
    Client, ClientConfig, ClientError, Consumer, NewTopic, OffsetQuery, Producer, ProducerConfig,
    StartOffset, partition_for_key,
};
use kfk_wire::{Compression, NewRecord};
async fn broker() -> (kfk_e2e::Kfkd, String) {
    let kfkd = kfk_e2e::Kfkd::start();
    let addr = kfkd.bootstrap();
    (kfkd, addr)
}

/// A topic of `partitions` partitions at replication factor 1.
async fn create_topic(client: &Client, name: &str, partitions: i32) {
    let topic = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: 1,
        ..NewTopic::default()
    };
    client.create_topic(&topic, false).await.unwrap();
}

async fn consume_all(
    client: &Arc<Client>,
    topic: &str,
    partitions: i32,
    want: usize,
) -> Vec<kfk_client::ConsumerRecord> {
    let mut consumer = Consumer::new(Arc::clone(client));
    consumer.max_wait = Duration::from_millis(100);
    let parts: Vec<(i32, StartOffset)> = (0..partitions)
        .map(|p| (p, StartOffset::Earliest))
        .collect();
    consumer.assign(topic, &parts).await.unwrap();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {want} records",
            got.len()
        );
        got.extend(consumer.poll().await.unwrap());
    }
    got
}

#[tokio::test]
async fn produce_keyed_records_and_read_them_back() {
    let (_dir, addr) = broker().await;
    let client = Client::connect(ClientConfig::new([addr])).await.unwrap();
    create_topic(&client, "orders", 3).await;
    for compression in [Compression::None, Compression::Zstd] {
        let producer = Producer::new(
            Arc::clone(&client),
            ProducerConfig {
                compression,
                ..ProducerConfig::default()
            },
        )
        .await
        .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..100 {
            let rec = NewRecord::new(Some(format!("key-{i}")), format!("value-{i}"), 1000 + i);
            deliveries.push(producer.send("orders", None, rec).await.unwrap());
        }
        producer.flush().await;
        for (i, d) in deliveries.into_iter().enumerate() {
            let meta = d.wait().await.unwrap();
            assert_eq!(
                meta.partition,
                partition_for_key(format!("key-{i}").as_bytes(), 3)
            );
        }
    }
    let got = consume_all(&client, "orders", 3, 200).await;
    assert_eq!(got.len(), 200);
    for r in &got {
        let key = r.key.as_ref().unwrap();
        assert_eq!(r.partition, partition_for_key(key, 3));
    }
    let ends = client
        .list_offsets("orders", &[0, 1, 2], OffsetQuery::Latest)
        .await
        .unwrap();
    assert_eq!(ends.iter().map(|e| e.1).sum::<i64>(), 200);
}

#[tokio::test]
async fn admin_errors_carry_the_brokers_code() {
    let (_dir, addr) = broker().await;
    let client = Client::connect(ClientConfig::new([addr])).await.unwrap();
    let topic = NewTopic {
        name: "t".into(),
        partitions: 1,
        replication_factor: 1,
        ..NewTopic::default()
    };
    client.create_topic(&topic, false).await.unwrap();
    match client.create_topic(&topic, false).await {
        Err(ClientError::Kafka { error, .. }) => {
            assert_eq!(error, kafka_protocol::ResponseError::TopicAlreadyExists)
        }
        other => panic!("{other:?}"),
    }
    client.create_partitions("t", 4).await.unwrap();
    assert_eq!(client.topic("t").await.unwrap().partitions.len(), 4);
    client
        .alter_topic_configs("t", &[("retention.ms".into(), Some("5000".into()))])
        .await
        .unwrap();
    let configs = client.describe_configs(2, "t").await.unwrap();
    let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("5000"));
    assert!(retention.is_override());
    let deleted = client
        .delete_topics(&["t".into(), "nope".into()])
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok());
    assert!(deleted[1].1.is_err());
}

#[tokio::test]
async fn an_unreachable_cluster_fails_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = Client::connect(ClientConfig::new([format!("127.0.0.1:{port}")]))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn batches_grow_under_load_but_stay_within_the_limit() {
    let (dir, addr) = broker().await;
    let client = Client::connect(ClientConfig::new([addr])).await.unwrap();
    create_topic(&client, "load", 1).await;
    // Small batches and a small growth limit: while one batch is in flight
    // the next ones fill up to 4 KiB each and queue, in order.
    let producer = Producer::new(
        Arc::clone(&client),
        ProducerConfig {
            batch_bytes: 1024,
            max_batch_bytes: 4096,
            ..ProducerConfig::default()
        },
    )
    .await
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..20_000 {
        let rec = NewRecord::new(None::<String>, format!("{i:0>100}"), 1000);
        deliveries.push(producer.send("load", None, rec).await.unwrap());
    }
    producer.flush().await;
    for (i, d) in deliveries.into_iter().enumerate() {
        assert_eq!(d.wait().await.unwrap().offset, i as i64, "in send order");
    }
    let got = consume_all(&client, "load", 1, 20_000).await;
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.value.as_deref().unwrap(), format!("{i:0>100}").as_bytes());
    }
    // The batches as the log holds them: more than one record per batch on
    // average (they grew while waiting), none past the limit.
    let log = kfk_e2e::log_bytes(&dir.data_dir, "load-0");
    let sizes: Vec<usize> = kfk_wire::Batches::new(&log)
        .map(|b| b.unwrap().size())
        .collect();
    assert!(sizes.len() < 20_000 / 4, "{} batches", sizes.len());
    let biggest = sizes.iter().max().copied().unwrap_or(0);
    assert!(biggest > 2048, "batches grew past batch_bytes: {biggest}");
    assert!(biggest <= 4096 + 1024, "a batch of {biggest} bytes");
}

/// The consumer sends its next round as a poll returns; moving a partition
/// in between must win over what that round brings back.
#[tokio::test]
async fn a_seek_between_polls_reads_from_the_new_offset_not_the_round_sent_ahead() {
    let (_dir, addr) = broker().await;
    let client = Client::connect(ClientConfig::new([addr])).await.unwrap();
    create_topic(&client, "seek", 1).await;
    let producer = Producer::new(Arc::clone(&client), ProducerConfig::default())
        .await
        .unwrap();
    // One batch per record, so a small fetch returns only a few of them.
    for i in 0..20 {
        let rec = NewRecord::new(None::<String>, format!("value-{i}"), 1000 + i);
        let d = producer.send("seek", Some(0), rec).await.unwrap();
        producer.flush().await;
        d.wait().await.unwrap();
    }
    let mut consumer = Consumer::new(Arc::clone(&client));
    consumer.max_wait = Duration::from_millis(100);
    consumer.partition_max_bytes = 1;
    consumer
        .assign("seek", &[(0, StartOffset::Offset(12))])
        .await
        .unwrap();
    let first = consumer.poll().await.unwrap();
    assert_eq!(first.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![12]);
    // A round from offset 13 is under way now; the reader moves back to 3.
    consumer.unassign("seek", 0);
    consumer
        .assign("seek", &[(0, StartOffset::Offset(3))])
        .await
        .unwrap();
    let mut offsets = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while offsets.len() < 17 && tokio::time::Instant::now() < deadline {
        offsets.extend(consumer.poll().await.unwrap().iter().map(|r| r.offset));
    }
    assert_eq!(offsets, (3..20).collect::<Vec<_>>());
    // Records written after a round was sent ahead still arrive.
    let d = producer
        .send(
            "seek",
            Some(0),
            NewRecord::new(None::<String>, "late", 5000),
        )
        .await
        .unwrap();
    producer.flush().await;
    d.wait().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let late = loop {
        let got = consumer.poll().await.unwrap();
        if let Some(r) = got.first() {
            break r.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the late record never came"
        );
    };
    assert_eq!(
        (late.offset, late.value.as_deref()),
        (20, Some(&b"late"[..]))
    );
}
