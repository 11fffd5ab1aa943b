//! Batches for tests, encoded through `kafka-protocol`'s encoder (what real
//! clients send), and decoded back for assertions.
#![allow(dead_code)]

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use kfk_wire::{BatchOptions, Compression, NewRecord, encode_batch};

/// One batch of `n` records with values of `value_len` bytes; record `i` has
/// timestamp `ts + i` and key `k<i>`.
pub fn batch(n: usize, value_len: usize, ts: i64) -> Vec<u8> {
    batch_with(n, value_len, ts, Compression::None)
}

pub fn batch_with(n: usize, value_len: usize, ts: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<NewRecord> = (0..n)
        .map(|i| {
            NewRecord::new(
                Some(format!("k{i}")),
                vec![b'a' + (i % 26) as u8; value_len],
                ts + i as i64,
            )
        })
        .collect();
    let options = BatchOptions {
        compression,
        ..BatchOptions::default()
    };
    encode_batch(&records, &options)
        .expect("encode batch")
        .to_vec()
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
