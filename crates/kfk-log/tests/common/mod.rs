//! Batches for tests, encoded by the `kafka-protocol` crate so the log is fed
//! what real clients send.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// One batch of `n` records with values of `value_len` bytes; record `i` has
/// timestamp `ts + i` and key `k<i>`.
pub fn batch(n: usize, value_len: usize, ts: i64) -> Vec<u8> {
    batch_with(n, value_len, ts, Compression::None)
}

pub fn batch_with(n: usize, value_len: usize, ts: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant.
            sequence: i as i32 - 1,
            timestamp: ts + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(vec![b'a' + (i % 26) as u8; value_len])),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.to_vec()
}

/// Offsets of every record in a chunk of batches, decoded by `kafka-protocol`.
pub fn offsets(records: &[u8]) -> Vec<i64> {
    let mut buf = Bytes::copy_from_slice(records);
    let mut out = Vec::new();
    while !buf.is_empty() {
        let set = RecordBatchDecoder::decode(&mut buf).expect("decode batch");
        out.extend(set.records.iter().map(|r| r.offset));
    }
    out
}
