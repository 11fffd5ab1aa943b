//! Transaction markers: the control batches a transaction coordinator has
//! written to every partition of a transaction when it commits or aborts
//! (Kafka's `ControlRecordType` and `EndTxnMarker`). A control batch is
//! transactional, flagged as control, and holds one record whose key says
//! COMMIT or ABORT and whose value carries the coordinator's epoch;
//! consumers never see it, but read_committed ones learn from it where a
//! transaction ended.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KpTimestampType,
};

use crate::batch::BatchError;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
}

impl ControlType {
    /// The type field of the control record's key.
    fn code(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }
}

/// A transaction marker as read back from a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlMarker {
    pub control_type: ControlType,
    /// The epoch of the coordinator that wrote it: a marker from an older
    /// coordinator than one already seen is stale.
    pub coordinator_epoch: i32,
}

impl ControlMarker {
    /// Reads a control record's key (version, type) and value (version,
    /// coordinator epoch). `None` for a type this broker does not know
    /// (Kafka has added others, which carry no transaction's end).
    ///
    /// # Errors
    /// A key or value too short to hold their fields.
    pub fn parse(key: &[u8], value: Option<&[u8]>) -> Result<Option<ControlMarker>, BatchError> {
        let short = || BatchError::MalformedRecord("control record too short");
        let field = |b: &[u8], at: usize| -> Option<i16> {
            Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
        };
        let control_type = match field(key, 2).ok_or_else(short)? {
            0 => ControlType::Abort,
            1 => ControlType::Commit,
            _ => return Ok(None),
        };
        let value = value.ok_or_else(short)?;
        let epoch = value
            .get(2..6)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
            .ok_or_else(short)?;
        Ok(Some(ControlMarker {
            control_type,
            coordinator_epoch: epoch,
        }))
    }
}

/// Encodes the marker ending producer `producer_id`'s (at `producer_epoch`)
/// transaction, as one control batch with base offset 0 (the partition
/// leader assigns its offset).
///
/// # Errors
/// The encoder's refusal (it has none for these fields).
pub fn encode_marker(
    control_type: ControlType,
    producer_id: i64,
    producer_epoch: i16,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Result<BytesMut, BatchError> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&control_type.code().to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch,
        timestamp_type: KpTimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp,
        key: Some(Bytes::from(key)),
        value: Some(Bytes::from(value)),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        std::slice::from_ref(&record),
        &RecordEncodeOptions {
            version: 2,
            compression: KpCompression::None,
        },
    )
    .map_err(|_| BatchError::MalformedRecord("control record does not encode"))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchHeader;
    use crate::records::for_each_record;

    #[test]
    fn a_marker_is_a_transactional_control_batch_that_reads_back() {
        for (kind, epoch) in [(ControlType::Commit, 7), (ControlType::Abort, 0)] {
            let batch = encode_marker(kind, 4_000, 3, epoch, 1_700_000_000_000).unwrap();
            let h = BatchHeader::parse(&batch).unwrap();
            h.validate().unwrap();
            assert!(h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id(), h.producer_epoch()), (4_000, 3));
            assert_eq!((h.record_count(), h.base_sequence()), (1, -1));
            let mut markers = Vec::new();
            for_each_record(&Bytes::from(batch.to_vec()), |r| {
                let key = r.key.expect("a key");
                // Kafka's layout: version 0, then the type.
                assert_eq!(&key[..2], &[0, 0]);
                markers.push(ControlMarker::parse(&key, r.value.as_deref()).unwrap());
            })
            .unwrap();
            assert_eq!(
                markers,
                vec![Some(ControlMarker {
                    control_type: kind,
                    coordinator_epoch: epoch,
                })]
            );
        }
    }

    #[test]
    fn short_or_unknown_control_records_are_told_apart() {
        assert!(ControlMarker::parse(&[0, 0], Some(&[0, 0, 0, 0, 0, 1])).is_err());
        assert!(ControlMarker::parse(&[0, 0, 0, 1], Some(&[0, 0])).is_err());
        assert!(ControlMarker::parse(&[0, 0, 0, 1], None).is_err());
        // A type Kafka added later (e.g. 2): not a transaction's end.
        assert_eq!(
            ControlMarker::parse(&[0, 0, 0, 2], Some(&[0, 0, 0, 0, 0, 1])).unwrap(),
            None
        );
    }
}
