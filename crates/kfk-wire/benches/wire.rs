//! The broker's per-request CPU on the produce path, per 16 KiB batch of
//! 100-byte records: validating a batch (header checks and CRC-32C),
//! decoding a Produce request frame, and what a client spends encoding a
//! batch and its request.
//!
//! ```text
//! cargo bench -p kfk-wire --bench wire
//! ```

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kfk_wire::frame::{decode_request, encode_request};
use kfk_wire::{BatchHeader, BatchOptions, NewRecord, encode_batch};

const RECORD: usize = 100;
const BATCH_BYTES: usize = 16 * 1024;

fn records() -> Vec<NewRecord> {
    let n = BATCH_BYTES / (RECORD + 10);
    (0..n)
        .map(|_| NewRecord::new(None::<Bytes>, vec![b'x'; RECORD], 1_700_000_000_000))
        .collect()
}

fn produce_request(batch: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("bench")))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch)),
                ]),
        ])
}

fn wire(c: &mut Criterion) {
    let recs = records();
    let batch = encode_batch(&recs, &BatchOptions::default())
        .expect("encode")
        .freeze();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(recs.len() as u64));

    group.bench_function("validate_16KiB_batch", |b| {
        b.iter(|| {
            let h = BatchHeader::parse(std::hint::black_box(&batch)).expect("parse");
            h.validate().expect("valid");
            h.record_count()
        })
    });

    let frame = encode_request(
        ApiKey::Produce,
        9,
        1,
        Some("bench"),
        &produce_request(batch.clone()),
    )
    .expect("encode")
    .freeze();
    // Without the length prefix, as the connection hands frames over.
    let body = frame.slice(4..);
    group.bench_function("decode_produce_request", |b| {
        b.iter(|| decode_request(body.clone(), |_, _| true).expect("decode"))
    });

    group.bench_function("encode_16KiB_batch", |b| {
        b.iter(|| {
            encode_batch(std::hint::black_box(&recs), &BatchOptions::default()).expect("encode")
        })
    });

    group.bench_function("encode_produce_request", |b| {
        b.iter(|| {
            encode_request(
                ApiKey::Produce,
                9,
                1,
                Some("bench"),
                &produce_request(batch.clone()),
            )
            .expect("encode")
        })
    });
    group.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
