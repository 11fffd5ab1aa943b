//! Produce and consume throughput of one broker over loopback, 100-byte records.
//!
//! ```text
//! cargo bench -p kfkd --bench loopback
//! ```
//!
//! Starts kfkd in-process on a free port with a temporary data directory, creates
//! a one-partition topic, then on one connection sends Produce requests (acks=1)
//! carrying one ~16 KiB batch of 100-byte records each, keeping 8 requests
//! pipelined, 64 MiB per iteration, and reads each iteration's records back with
//! 1 MiB Fetch requests. The client side only re-sends a pre-encoded batch, so
//! the figures are the broker's (and the loopback's).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kfk_wire::frame::encode_request;
use kfk_wire::{BatchOptions, NewRecord, encode_batch};
use kfkd::config::{FileSettings, SettingArgs, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RECORD: usize = 100;
const BATCH_BYTES: usize = 16 * 1024;

fn batch() -> (Bytes, usize) {
    let n = BATCH_BYTES / (RECORD + 10);
    let records: Vec<NewRecord> = (0..n)
        .map(|_| NewRecord::new(None::<Bytes>, vec![b'x'; RECORD], 1_700_000_000_000))
        .collect();
    let batch = encode_batch(&records, &BatchOptions::default()).expect("encode");
    (batch.freeze(), n)
}

async fn send<R: Encodable>(s: &mut TcpStream, api: ApiKey, v: i16, id: i32, req: &R) {
    let frame = encode_request(api, v, id, Some("bench"), req).expect("encode");
    s.write_all(&frame).await.expect("write");
}

async fn recv<R: Decodable>(s: &mut TcpStream, api: ApiKey, v: i16) -> R {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.expect("read");
    let mut buf = BytesMut::zeroed(i32::from_be_bytes(len) as usize);
    s.read_exact(&mut buf).await.expect("read");
    let mut buf = buf.freeze();
    ResponseHeader::decode(&mut buf, api.response_header_version(v)).expect("header");
    R::decode(&mut buf, v).expect("body")
}

fn name() -> TopicName {
    TopicName(StrBytes::from_static_str("bench"))
}

const PER_ITER: usize = 64 * 1024 * 1024;
const IN_FLIGHT: usize = 8;

/// Sends `batches` copies of the produce frame, `IN_FLIGHT` at a time.
async fn produce_all(s: &mut TcpStream, frame: &[u8], batches: usize) {
    let (mut sent, mut acked) = (0, 0);
    while acked < batches {
        while sent < batches && sent - acked < IN_FLIGHT {
            s.write_all(frame).await.expect("write");
            sent += 1;
        }
        let resp: ProduceResponse = recv(s, ApiKey::Produce, 9).await;
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
        acked += 1;
    }
}

/// Reads from `offset` up to `end` with 1 MiB fetches; returns the bytes read.
async fn consume_range(s: &mut TcpStream, mut offset: i64, end: i64) -> usize {
    let mut read = 0usize;
    while offset < end {
        let fetch = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name())
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        send(s, ApiKey::Fetch, 12, 2, &fetch).await;
        let resp: FetchResponse = recv(s, ApiKey::Fetch, 12).await;
        let data = resp.responses[0].partitions[0]
            .records
            .clone()
            .unwrap_or_default();
        read += data.len();
        for b in kfk_wire::Batches::new(&data) {
            offset = b.expect("batch").last_offset() + 1;
        }
    }
    read
}

fn loopback(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = rt.block_on(async {
        let mut settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        settings.data_dir = dir.path().to_path_buf();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        settings.listen = addr.to_string();
        let broker = kfkd::tasks::start_broker(settings).await.expect("broker");
        tokio::spawn(kfkd::server::run(broker, listener, std::future::pending()));
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let create = CreateTopicsRequest::default().with_topics(vec![
            CreatableTopic::default()
                .with_name(name())
                .with_num_partitions(1)
                .with_replication_factor(1),
        ]);
        send(&mut s, ApiKey::CreateTopics, 7, 0, &create).await;
        let _: CreateTopicsResponse = recv(&mut s, ApiKey::CreateTopics, 7).await;
        s
    });

    let (records, per_batch) = batch();
    let batches = PER_ITER / records.len();
    let produce = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name())
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records.clone())),
                ]),
        ]);
    let frame = encode_request(ApiKey::Produce, 9, 1, Some("bench"), &produce).expect("encode");

    let mut group = c.benchmark_group("loopback");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((batches * per_batch) as u64));
    let mut end = 0i64;
    group.bench_function("produce_64MiB_acks1", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(produce_all(&mut s, &frame, batches));
                end += (batches * per_batch) as i64;
            }
            start.elapsed()
        })
    });
    group.bench_function("consume_64MiB_1MiB_fetches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                // Cycle over what was produced: 64 MiB windows of the log.
                let windows = (end / (batches * per_batch) as i64).max(1);
                let from = (i as i64 % windows) * (batches * per_batch) as i64;
                let start = Instant::now();
                let read = rt.block_on(consume_range(
                    &mut s,
                    from,
                    from + (batches * per_batch) as i64,
                ));
                total += start.elapsed();
                assert!(read >= PER_ITER / 2);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, loopback);
criterion_main!(benches);
