//! Produce and consume throughput of one broker over loopback, 100-byte records.
//!
//! ```text
//! cargo run --release -p kfkd --example loopback_bench -- [TOTAL_MB] [IN_FLIGHT]
//! ```
//!
//! Starts kfkd in-process on a free port with a temporary data directory, creates
//! a one-partition topic, then on one connection sends Produce requests (acks=1)
//! carrying one ~16 KiB batch of 100-byte records each, keeping IN_FLIGHT
//! requests pipelined, and finally reads everything back with 1 MiB Fetch
//! requests. The client side only re-sends a pre-encoded batch, so the figures
//! are the broker's (and the loopback's).

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kfk_wire::frame::encode_request;
use kfk_wire::{BatchOptions, NewRecord, encode_batch};
use kfkd::broker::Broker;
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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total_mb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let in_flight: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
    settings.data_dir = dir.path().to_path_buf();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    settings.listen = addr.to_string();
    let broker = Broker::open(settings).await.expect("broker");
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

    let (records, per_batch) = batch();
    let batches = total_mb * 1024 * 1024 / records.len();
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
    let start = Instant::now();
    let (mut sent, mut acked) = (0, 0);
    while acked < batches {
        while sent < batches && sent - acked < in_flight {
            s.write_all(&frame).await.expect("write");
            sent += 1;
        }
        let resp: ProduceResponse = recv(&mut s, ApiKey::Produce, 9).await;
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
        acked += 1;
    }
    let produce_secs = start.elapsed().as_secs_f64();
    let bytes = (batches * records.len()) as f64;
    let count = (batches * per_batch) as f64;
    println!(
        "produce: {:.0} records/s, {:.1} MB/s ({} records of {RECORD} B, {in_flight} in flight, acks=1)",
        count / produce_secs,
        bytes / produce_secs / 1e6,
        batches * per_batch
    );

    let start = Instant::now();
    let mut offset = 0i64;
    let mut read = 0usize;
    let end = (batches * per_batch) as i64;
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
        send(&mut s, ApiKey::Fetch, 12, 2, &fetch).await;
        let resp: FetchResponse = recv(&mut s, ApiKey::Fetch, 12).await;
        let data = resp.responses[0].partitions[0]
            .records
            .clone()
            .unwrap_or_default();
        read += data.len();
        for b in kfk_wire::Batches::new(&data) {
            offset = b.expect("batch").last_offset() + 1;
        }
    }
    let fetch_secs = start.elapsed().as_secs_f64();
    println!(
        "consume: {:.0} records/s, {:.1} MB/s (1 MiB fetches)",
        count / fetch_secs,
        read as f64 / fetch_secs / 1e6
    );
}
