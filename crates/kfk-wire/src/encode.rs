//! Building producer record batches.
//!
//! A thin layer over `kafka-protocol`'s encoder that speaks in what a producer
//! has (keys, values, timestamps, its id and next sequence) rather than in
//! pre-assigned offsets, and always yields exactly one v2 batch.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KpTimestampType,
};

use crate::batch::{BatchError, Compression};

/// One record to be produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Milliseconds since the epoch (create time).
    pub timestamp: i64,
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl NewRecord {
    pub fn new(key: Option<impl Into<Bytes>>, value: impl Into<Bytes>, timestamp: i64) -> Self {
        NewRecord {
            key: key.map(Into::into),
            value: Some(value.into()),
            timestamp,
            headers: Vec::new(),
        }
    }
}

/// Who produces the batch and how it is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    pub compression: Compression,
    /// -1 for producers without idempotence.
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Sequence of the first record; -1 without idempotence.
    pub base_sequence: i32,
    /// Part of the producer's ongoing transaction.
    pub transactional: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            compression: Compression::None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
        }
    }
}

fn codec(c: Compression) -> KpCompression {
    match c {
        Compression::None => KpCompression::None,
        Compression::Gzip => KpCompression::Gzip,
        Compression::Snappy => KpCompression::Snappy,
        Compression::Lz4 => KpCompression::Lz4,
        Compression::Zstd => KpCompression::Zstd,
    }
}

/// Encodes `records` as one v2 batch with base offset 0 (the broker assigns
/// the real offsets).
///
/// # Errors
/// [`BatchError::MalformedRecord`] when the records cannot be encoded (for
/// example an empty list).
pub fn encode_batch(records: &[NewRecord], options: &BatchOptions) -> Result<BytesMut, BatchError> {
    if records.is_empty() {
        return Err(BatchError::MalformedRecord(
            "a batch needs at least one record",
        ));
    }
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: options.transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: options.producer_id,
            producer_epoch: options.producer_epoch,
            timestamp_type: KpTimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is
            // constant, and takes the first record's sequence as the base.
            sequence: options.base_sequence.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone().into(), v.clone()))
                .collect(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: codec(options.compression),
        },
    )
    .map_err(|_| BatchError::MalformedRecord("records do not encode"))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchHeader;

    #[test]
    fn one_batch_with_the_producers_sequence() {
        let records: Vec<NewRecord> = (0..5)
            .map(|i| NewRecord::new(Some(format!("k{i}")), format!("v{i}"), 1000 + i))
            .collect();
        let buf = encode_batch(
            &records,
            &BatchOptions {
                producer_id: 9,
                producer_epoch: 2,
                base_sequence: 40,
                compression: Compression::Lz4,
                transactional: true,
            },
        )
        .unwrap();
        let h = BatchHeader::parse(&buf).unwrap();
        h.validate().unwrap();
        assert_eq!(h.size(), buf.len());
        assert_eq!(h.record_count(), 5);
        assert_eq!(
            (h.producer_id(), h.producer_epoch(), h.base_sequence()),
            (9, 2, 40)
        );
        assert_eq!(h.compression().unwrap(), Compression::Lz4);
        assert_eq!(h.max_timestamp(), 1004);
        assert!(h.is_transactional() && !h.is_control());
        assert!(h.summary().is_transactional());
        let plain = encode_batch(&records, &BatchOptions::default()).unwrap();
        assert_eq!(BatchHeader::parse(&plain).unwrap().base_sequence(), -1);
        assert!(
            !BatchHeader::parse(&plain)
                .unwrap()
                .summary()
                .is_transactional()
        );
        assert!(encode_batch(&[], &BatchOptions::default()).is_err());
    }
}
