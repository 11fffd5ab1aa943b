//! Walking the records inside a batch: on the broker only for the rare paths
//! that need per-record timestamps (ListOffsets by timestamp; produce and fetch
//! work on batch headers only), and in consumers, which need every record.
//!
//! A v2 record is `length: varint` followed by `length` bytes that start with
//! `attributes: int8, timestampDelta: varlong, offsetDelta: varint`; that prefix is
//! all we read, the rest is skipped by length.

use bytes::Bytes;

use crate::batch::{BatchError, BatchHeader, Compression, TimestampType};

/// The offset and timestamp of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordStamp {
    pub offset: i64,
    pub timestamp: i64,
}

/// Reads a zig-zag varint of at most `max_bytes` bytes from `buf[*pos..]`.
pub(crate) fn read_zigzag(
    buf: &[u8],
    pos: &mut usize,
    max_bytes: usize,
) -> Result<i64, BatchError> {
    let mut raw: u64 = 0;
    for i in 0..max_bytes {
        let Some(&b) = buf.get(*pos) else {
            return Err(BatchError::MalformedRecord("varint runs past the end"));
        };
        *pos += 1;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    Err(BatchError::MalformedRecord("varint too long"))
}

/// Decompresses the records section of `batch` (or borrows it when uncompressed).
///
/// # Errors
/// [`BatchError::MalformedRecord`] when the codec rejects the bytes.
pub fn records_payload(batch: &BatchHeader<'_>) -> Result<Bytes, BatchError> {
    crate::decompress::decompress(
        batch.compression()?,
        batch.records_bytes(),
        crate::decompress::MAX_DECOMPRESSED,
    )
}

/// Calls `f` with the body of each record in `payload` (without its length
/// prefix), at most `count` of them.
pub(crate) fn each_body(
    payload: &Bytes,
    count: usize,
    mut f: impl FnMut(Bytes) -> Result<(), BatchError>,
) -> Result<(), BatchError> {
    let mut pos = 0usize;
    let mut seen = 0usize;
    while pos < payload.len() && seen < count {
        let len = read_zigzag(payload, &mut pos, 5)?;
        let len =
            usize::try_from(len).map_err(|_| BatchError::MalformedRecord("negative length"))?;
        let end = pos
            .checked_add(len)
            .filter(|&e| e <= payload.len())
            .ok_or(BatchError::MalformedRecord("record runs past the batch"))?;
        f(payload.slice(pos..end))?;
        seen += 1;
        pos = end;
    }
    Ok(())
}

/// A record's offset and timestamp from its body's leading `attributes:
/// int8, timestampDelta: varlong, offsetDelta: varint`; also returns where
/// the key starts.
pub(crate) fn stamp_of(
    batch: &BatchHeader<'_>,
    body: &[u8],
) -> Result<(RecordStamp, usize), BatchError> {
    let mut p = 1usize; // attributes
    let ts_delta = read_zigzag(body, &mut p, 10)?;
    let offset_delta = read_zigzag(body, &mut p, 5)?;
    let timestamp = if batch.timestamp_type() == TimestampType::LogAppendTime {
        batch.max_timestamp()
    } else {
        batch.base_timestamp().saturating_add(ts_delta)
    };
    Ok((
        RecordStamp {
            offset: batch.base_offset().saturating_add(offset_delta),
            timestamp,
        },
        p,
    ))
}

/// Offsets and timestamps of every record in `batch`, in order.
///
/// # Errors
/// [`BatchError::MalformedRecord`] when the records do not parse.
pub fn record_stamps(batch: &BatchHeader<'_>) -> Result<Vec<RecordStamp>, BatchError> {
    let payload = records_payload(batch)?;
    let count = usize::try_from(batch.record_count()).unwrap_or(0);
    // Each record takes at least 7 bytes, so the payload bounds the allocation.
    let mut out = Vec::with_capacity(count.min(payload.len() / 7 + 1));
    each_body(&payload, count, |body| {
        out.push(stamp_of(batch, &body)?.0);
        Ok(())
    })?;
    Ok(out)
}

/// The first record of `batch` whose timestamp is at least `timestamp`, as Kafka's
/// `LogSegment.findOffsetByTimestamp` answers it.
///
/// # Errors
/// [`BatchError::MalformedRecord`] when the records do not parse.
pub fn first_record_at_or_after(
    batch: &BatchHeader<'_>,
    timestamp: i64,
) -> Result<Option<RecordStamp>, BatchError> {
    if batch.max_timestamp() < timestamp {
        return Ok(None);
    }
    Ok(record_stamps(batch)?
        .into_iter()
        .find(|r| r.timestamp >= timestamp))
}

/// One record of a batch. Key, value and header values are slices of the
/// batch's bytes (of the decompressed payload for compressed batches): no
/// copy per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

/// A length-prefixed field: `-1` is null.
pub(crate) fn read_field(buf: &Bytes, pos: &mut usize) -> Result<Option<Bytes>, BatchError> {
    let len = read_zigzag(buf, pos, 5)?;
    if len < 0 {
        return Ok(None);
    }
    let end = pos
        .checked_add(len as usize)
        .filter(|&e| e <= buf.len())
        .ok_or(BatchError::MalformedRecord("field runs past the record"))?;
    let field = buf.slice(*pos..end);
    *pos = end;
    Ok(Some(field))
}

/// Calls `f` with every record of a whole batch (header and records, as a
/// fetch returns it), after checking the batch's CRC.
///
/// # Errors
/// A damaged batch or records that do not parse.
pub fn for_each_record(batch: &Bytes, mut f: impl FnMut(Record)) -> Result<(), BatchError> {
    let header = BatchHeader::parse(batch)?;
    header.validate_stored()?;
    let payload = match header.compression()? {
        Compression::None => batch.slice(crate::batch::HEADER_LEN..header.size()),
        _ => records_payload(&header)?,
    };
    let count = usize::try_from(header.record_count()).unwrap_or(0);
    each_body(&payload, count, |body| {
        let (stamp, mut p) = stamp_of(&header, &body)?;
        let key = read_field(&body, &mut p)?;
        let value = read_field(&body, &mut p)?;
        let header_count = read_zigzag(&body, &mut p, 5)?;
        let mut headers = Vec::new();
        for _ in 0..header_count.max(0) {
            let name = read_field(&body, &mut p)?
                .ok_or(BatchError::MalformedRecord("header without a key"))?;
            headers.push((name, read_field(&body, &mut p)?));
        }
        f(Record {
            offset: stamp.offset,
            timestamp: stamp.timestamp,
            key,
            value,
            headers,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_decodes_small_and_negative_values() {
        let mut pos = 0;
        assert_eq!(read_zigzag(&[0x00], &mut pos, 5), Ok(0));
        pos = 0;
        assert_eq!(read_zigzag(&[0x01], &mut pos, 5), Ok(-1));
        pos = 0;
        assert_eq!(read_zigzag(&[0x02], &mut pos, 5), Ok(1));
        pos = 0;
        assert_eq!(read_zigzag(&[0xac, 0x02], &mut pos, 5), Ok(150));
        assert_eq!(pos, 2);
    }

    #[test]
    fn records_come_back_with_keys_values_and_headers() {
        use crate::encode::{BatchOptions, NewRecord, encode_batch};
        for compression in [Compression::None, Compression::Lz4] {
            let mut with_header = NewRecord::new(Some("k1"), "v1", 1_000);
            with_header.headers = vec![
                ("h".into(), Some(Bytes::from_static(b"x"))),
                ("n".into(), None),
            ];
            let records = vec![
                with_header,
                NewRecord {
                    key: None,
                    value: None,
                    timestamp: 1_005,
                    headers: Vec::new(),
                },
            ];
            let batch = encode_batch(
                &records,
                &BatchOptions {
                    compression,
                    ..BatchOptions::default()
                },
            )
            .unwrap()
            .freeze();
            let mut got = Vec::new();
            for_each_record(&batch, |r| got.push(r)).unwrap();
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].offset, 0);
            assert_eq!(got[0].key.as_deref(), Some(&b"k1"[..]));
            assert_eq!(got[0].value.as_deref(), Some(&b"v1"[..]));
            assert_eq!(got[0].headers[0].0.as_ref(), b"h");
            assert_eq!(got[0].headers[1].1, None);
            assert_eq!((got[1].offset, got[1].timestamp), (1, 1_005));
            assert_eq!((got[1].key.clone(), got[1].value.clone()), (None, None));
            // A flipped bit is caught by the CRC.
            let mut bad = batch.to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(for_each_record(&Bytes::from(bad), |_| {}).is_err());
        }
    }

    #[test]
    fn zigzag_rejects_truncated_and_overlong() {
        let mut pos = 0;
        assert!(read_zigzag(&[0x80], &mut pos, 5).is_err());
        pos = 0;
        assert!(read_zigzag(&[0xff; 6], &mut pos, 5).is_err());
    }
}
