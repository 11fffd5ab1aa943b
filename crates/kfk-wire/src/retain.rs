//! Rewriting a batch to keep some of its records, as the log cleaner does
//! (Kafka's `MemoryRecords.filterTo`). The header stays what it was — base
//! offset, last offset delta, timestamps, producer id, epoch and base
//! sequence, attributes — so the records kept keep their offsets, holes
//! are left where others were, and an idempotent producer's state rebuilt
//! from the log is unchanged. Record bodies are copied as they are (their
//! offset and timestamp deltas stay valid against the same header); a
//! compressed batch is decompressed and compressed again with its codec.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use crate::batch::{BatchError, BatchHeader, BatchHeaderMut, Compression, HEADER_LEN};
use crate::records::{each_body, read_field, records_payload, stamp_of};

/// What the cleaner sees of one record when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    /// A tombstone: the key's deletion.
    pub tombstone: bool,
}

/// What became of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retained {
    /// Every record is kept: the batch is written as it was.
    All,
    /// No record is kept.
    Nothing,
    /// Some are: the rewritten batch.
    Some(BytesMut),
}

/// Appends a zig-zag varint.
fn put_zigzag(out: &mut BytesMut, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.put_u8((raw as u8 & 0x7f) | 0x80);
        raw >>= 7;
    }
    out.put_u8(raw as u8);
}

fn compressed(codec: Compression, records: &[u8]) -> Result<BytesMut, BatchError> {
    let mut out = BytesMut::new();
    let fill = |buf: &mut BytesMut| {
        buf.put_slice(records);
        Ok(())
    };
    let done = match codec {
        Compression::None => {
            out.put_slice(records);
            Ok(())
        }
        Compression::Gzip => Gzip::compress(&mut out, fill),
        Compression::Snappy => Snappy::compress(&mut out, fill),
        Compression::Lz4 => Lz4::compress(&mut out, fill),
        Compression::Zstd => Zstd::compress(&mut out, fill),
    };
    done.map_err(|_| BatchError::MalformedRecord("records do not compress"))?;
    Ok(out)
}

/// Calls `f` with each record of `header`'s batch and the record's body.
fn visit(
    header: &BatchHeader<'_>,
    mut f: impl FnMut(&RecordView<'_>, &Bytes),
) -> Result<(), BatchError> {
    let payload = match header.compression()? {
        Compression::None => Bytes::copy_from_slice(header.records_bytes()),
        _ => records_payload(header)?,
    };
    let count = usize::try_from(header.record_count()).unwrap_or(0);
    each_body(&payload, count, |body| {
        let (stamp, mut p) = stamp_of(header, &body)?;
        let key = read_field(&body, &mut p)?;
        let value = read_field(&body, &mut p)?;
        let view = RecordView {
            offset: stamp.offset,
            timestamp: stamp.timestamp,
            key: key.as_deref(),
            tombstone: value.is_none(),
        };
        f(&view, &body);
        Ok(())
    })
}

/// Calls `f` with every record of `batch` (one whole v2 batch, CRC checked):
/// what the cleaner reads to learn each key's latest offset.
///
/// # Errors
/// A damaged batch or records that do not parse.
pub fn for_each_key(batch: &[u8], mut f: impl FnMut(&RecordView<'_>)) -> Result<(), BatchError> {
    let header = BatchHeader::parse(batch)?;
    header.validate_stored()?;
    visit(&header, |view, _| f(view))
}

/// Keeps the records of `batch` (one whole v2 batch) that `keep` accepts.
///
/// # Errors
/// A damaged batch, records that do not parse, or a codec failure.
pub fn retain_records(
    batch: &[u8],
    mut keep: impl FnMut(&RecordView<'_>) -> bool,
) -> Result<Retained, BatchError> {
    let header = BatchHeader::parse(batch)?;
    header.validate_stored()?;
    let codec = header.compression()?;
    let mut kept_records = BytesMut::with_capacity(header.records_bytes().len());
    let (mut kept, mut seen) = (0i32, 0usize);
    visit(&header, |view, body| {
        seen += 1;
        if keep(view) {
            put_zigzag(&mut kept_records, body.len() as i64);
            kept_records.put_slice(body);
            kept += 1;
        }
    })?;
    if kept == 0 {
        return Ok(Retained::Nothing);
    }
    if kept as usize == seen {
        return Ok(Retained::All);
    }
    let records = compressed(codec, &kept_records)?;
    let mut out = BytesMut::with_capacity(HEADER_LEN + records.len());
    out.put_slice(&header.bytes()[..HEADER_LEN]);
    out.put_slice(&records);
    BatchHeaderMut::parse_rewritten(&mut out)?.set_records(kept);
    Ok(Retained::Some(out))
}

/// `batch`'s header with no records: what the cleaner leaves of a batch
/// whose records all went but whose offsets or producer state must stay
/// (the last batch of a producer, the last of a segment). Uncompressed, as
/// Kafka writes them.
///
/// # Errors
/// A buffer shorter than a batch header.
pub fn emptied(batch: &[u8]) -> Result<BytesMut, BatchError> {
    let header = BatchHeader::parse(batch)?;
    let mut out = BytesMut::from(&header.bytes()[..HEADER_LEN]);
    let mut h = BatchHeaderMut::parse_rewritten(&mut out)?;
    h.clear_compression();
    h.set_records(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{BatchOptions, NewRecord, encode_batch};
    use crate::records::for_each_record;

    fn batch(codec: Compression) -> BytesMut {
        let records: Vec<NewRecord> = (0..6)
            .map(|i| NewRecord {
                key: Some(Bytes::from(format!("k{}", i % 3))),
                value: (i != 4).then(|| Bytes::from(format!("v{i}"))),
                timestamp: 1_000 + i,
                headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
            })
            .collect();
        let mut b = encode_batch(
            &records,
            &BatchOptions {
                compression: codec,
                producer_id: 7,
                producer_epoch: 1,
                base_sequence: 30,
                transactional: false,
            },
        )
        .unwrap();
        BatchHeaderMut::parse(&mut b).unwrap().set_base_offset(100);
        b
    }

    #[test]
    fn kept_records_keep_offsets_timestamps_and_the_producers_header() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let original = batch(codec);
            // The latest record of each key: offsets 103 (k0), 104 (k1, a
            // tombstone), 105 (k2).
            let rewritten = match retain_records(&original, |r| r.offset >= 103).unwrap() {
                Retained::Some(b) => b,
                other => panic!("{codec:?}: {other:?}"),
            };
            let h = BatchHeader::parse(&rewritten).unwrap();
            h.validate_stored().unwrap();
            let o = BatchHeader::parse(&original).unwrap();
            assert_eq!(h.base_offset(), 100);
            assert_eq!(h.last_offset(), o.last_offset(), "{codec:?}");
            assert_eq!(h.record_count(), 3);
            assert_eq!(
                (h.producer_id(), h.producer_epoch(), h.base_sequence()),
                (7, 1, 30)
            );
            assert_eq!(h.compression().unwrap(), codec);
            let mut seen = Vec::new();
            for_each_record(&Bytes::from(rewritten.to_vec()), |r| {
                seen.push((r.offset, r.timestamp, r.key, r.value, r.headers.len()))
            })
            .unwrap();
            assert_eq!(
                seen,
                vec![
                    (
                        103,
                        1003,
                        Some(Bytes::from("k0")),
                        Some(Bytes::from("v3")),
                        1
                    ),
                    (104, 1004, Some(Bytes::from("k1")), None, 1),
                    (
                        105,
                        1005,
                        Some(Bytes::from("k2")),
                        Some(Bytes::from("v5")),
                        1
                    ),
                ],
                "{codec:?}"
            );
        }
    }

    #[test]
    fn all_or_nothing_is_said_without_rewriting() {
        let b = batch(Compression::None);
        assert_eq!(retain_records(&b, |_| true).unwrap(), Retained::All);
        assert_eq!(retain_records(&b, |_| false).unwrap(), Retained::Nothing);
        let mut tombstones = Vec::new();
        retain_records(&b, |r| {
            if r.tombstone {
                tombstones.push(r.offset);
            }
            true
        })
        .unwrap();
        assert_eq!(tombstones, vec![104]);
    }

    #[test]
    fn an_emptied_batch_keeps_offsets_and_producer_state() {
        let original = batch(Compression::Zstd);
        let empty = emptied(&original).unwrap();
        let h = BatchHeader::parse(&empty).unwrap();
        h.validate_stored().unwrap();
        assert_eq!((h.base_offset(), h.last_offset()), (100, 105));
        assert_eq!(h.record_count(), 0);
        assert_eq!(h.compression().unwrap(), Compression::None);
        assert_eq!((h.producer_id(), h.base_sequence()), (7, 30));
        let mut keys = Vec::new();
        for_each_key(&original, |r| {
            keys.push((r.offset, r.key.map(<[u8]>::to_vec)))
        })
        .unwrap();
        assert_eq!(keys.len(), 6);
        assert_eq!(keys[4], (104, Some(b"k1".to_vec())));
    }

    #[test]
    fn a_damaged_batch_is_an_error() {
        let mut b = batch(Compression::None);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(retain_records(&b, |_| true).is_err());
    }
}
