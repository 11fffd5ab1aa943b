//! Batch header view against batches encoded by the `kafka-protocol` crate (the
//! same encoder family real clients use), including every compression codec.

use bytes::BytesMut;
use kafka_protocol::records::RecordBatchDecoder;
use kfk_wire::{
    BatchError, BatchHeader, BatchHeaderMut, BatchOptions, Batches, Compression, NewRecord,
    TimestampType, encode_batch, first_record_at_or_after, record_stamps,
};
use proptest::prelude::*;

fn encode(n: usize, compression: Compression, base_ts: i64) -> BytesMut {
    let records: Vec<NewRecord> = (0..n)
        .map(|i| {
            NewRecord::new(
                Some(format!("k{i}")),
                vec![b'v'; 100],
                base_ts + 10 * i as i64,
            )
        })
        .collect();
    encode_batch(
        &records,
        &BatchOptions {
            compression,
            ..BatchOptions::default()
        },
    )
    .expect("encode")
}

#[test]
fn header_fields_match_what_was_encoded() {
    let buf = encode(5, Compression::None, 1_000);
    let h = BatchHeader::parse(&buf).unwrap();
    h.validate().unwrap();
    assert_eq!(h.size(), buf.len());
    assert_eq!(h.base_offset(), 0);
    assert_eq!(h.last_offset_delta(), 4);
    assert_eq!(h.last_offset(), 4);
    assert_eq!(h.record_count(), 5);
    assert_eq!(h.magic(), 2);
    assert_eq!(h.base_timestamp(), 1_000);
    assert_eq!(h.max_timestamp(), 1_040);
    assert_eq!(h.producer_id(), -1);
    assert_eq!(h.compression().unwrap(), Compression::None);
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(!h.is_transactional() && !h.is_control());
}

#[test]
fn rewriting_base_offset_and_epoch_keeps_the_crc_valid() {
    let mut buf = encode(3, Compression::None, 0);
    let mut m = BatchHeaderMut::parse(&mut buf).unwrap();
    m.set_base_offset(1_000_000);
    m.set_partition_leader_epoch(7);
    let h = m.view();
    h.validate().unwrap();
    assert_eq!(h.base_offset(), 1_000_000);
    assert_eq!(h.partition_leader_epoch(), 7);
    assert_eq!(h.last_offset(), 1_000_002);
    let decoded = RecordBatchDecoder::decode(&mut buf.freeze()).unwrap();
    let offsets: Vec<i64> = decoded.records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![1_000_000, 1_000_001, 1_000_002]);
}

#[test]
fn log_append_time_rewrites_timestamps_and_crc() {
    let mut buf = encode(3, Compression::None, 5);
    let mut m = BatchHeaderMut::parse(&mut buf).unwrap();
    m.set_log_append_time(99_999);
    let h = m.view();
    h.validate().unwrap();
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(h.max_timestamp(), 99_999);
    let stamps = record_stamps(&h).unwrap();
    assert!(stamps.iter().all(|s| s.timestamp == 99_999));
}

#[test]
fn crc_flip_is_detected_as_corrupt() {
    let mut buf = encode(3, Compression::None, 0);
    let last = buf.len() - 1;
    buf[last] ^= 0x01;
    let err = BatchHeader::parse(&buf).unwrap().validate().unwrap_err();
    assert!(matches!(err, BatchError::CrcMismatch { .. }));
    assert!(err.is_corrupt());
}

#[test]
fn bad_magic_and_short_buffers_are_typed_errors() {
    let mut buf = encode(1, Compression::None, 0);
    assert!(matches!(
        BatchHeader::parse(&buf[..30]),
        Err(BatchError::Truncated { .. })
    ));
    assert!(matches!(
        BatchHeader::parse(&buf[..buf.len() - 1]),
        Err(BatchError::Truncated { .. })
    ));
    buf[16] = 1;
    assert_eq!(
        BatchHeader::parse(&buf).unwrap_err(),
        BatchError::UnsupportedMagic(1)
    );
}

#[test]
fn count_mismatch_is_invalid_not_corrupt() {
    let mut buf = encode(3, Compression::None, 0);
    buf[57..61].copy_from_slice(&4i32.to_be_bytes());
    // Re-seal the CRC so only the count is wrong.
    let crc = crc32c::crc32c(&buf[21..]);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
    let err = BatchHeader::parse(&buf).unwrap().validate().unwrap_err();
    assert!(matches!(err, BatchError::CountMismatch { .. }));
    assert!(!err.is_corrupt());
}

#[test]
fn batches_iterates_a_record_set_and_stops_at_a_torn_tail() {
    let mut set = BytesMut::new();
    set.extend_from_slice(&encode(2, Compression::None, 0));
    set.extend_from_slice(&encode(3, Compression::None, 0));
    let full = set.len();
    let third = encode(1, Compression::None, 0);
    set.extend_from_slice(&third[..third.len() - 5]);
    let mut it = Batches::new(&set);
    assert_eq!(it.next().unwrap().unwrap().record_count(), 2);
    assert_eq!(it.next().unwrap().unwrap().record_count(), 3);
    assert_eq!(it.position(), full);
    assert!(it.next().unwrap().is_err());
    assert!(it.next().is_none());
}

#[test]
fn timestamp_search_works_for_every_codec() {
    for ours in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut buf = encode(10, ours, 1_000);
        BatchHeaderMut::parse(&mut buf).unwrap().set_base_offset(50);
        let h = BatchHeader::parse(&buf).unwrap();
        h.validate().unwrap();
        assert_eq!(h.compression().unwrap(), ours);
        let hit = first_record_at_or_after(&h, 1_031).unwrap().unwrap();
        assert_eq!((hit.offset, hit.timestamp), (54, 1_040), "{ours:?}");
        assert_eq!(first_record_at_or_after(&h, 0).unwrap().unwrap().offset, 50);
        assert_eq!(first_record_at_or_after(&h, 1_091).unwrap(), None);
    }
}

proptest! {
    /// Arbitrary bytes never panic the header view, the validator or the record walker.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for batch in Batches::new(&bytes).flatten() {
            let _ = batch.validate();
            let _ = record_stamps(&batch);
        }
    }

    /// Single-bit flips anywhere in the CRC-covered region are always detected.
    #[test]
    fn bit_flips_in_covered_region_fail_validation(pos in 21usize..200, bit in 0u8..8) {
        let mut buf = encode(2, Compression::None, 0);
        let pos = pos % buf.len();
        prop_assume!(pos >= 21);
        buf[pos] ^= 1 << bit;
        let res = BatchHeader::parse(&buf).and_then(|h| h.validate());
        prop_assert!(res.is_err());
    }
}
