//! A topic's `compression.type`: the broker stores batches in one codec
//! whatever the producer sent, as Kafka's LogValidator does. Only the
//! records section changes; the header (offsets, producer id, epoch,
//! sequence, transactional and timestamp bits) is kept and the CRC
//! recomputed, so idempotence and transactions see the same batch.

use std::io::Write;

use bytes::{BufMut, BytesMut};
use kafka_protocol::compression::{Compressor, Snappy};

use crate::batch::{
    ATTRIBUTES, BATCH_LENGTH, BatchError, BatchHeader, COMPRESSION_MASK, CRC, Compression,
    HEADER_LEN, LOG_OVERHEAD,
};

/// The codec a topic stores its batches in, with its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetCodec {
    pub compression: Compression,
    /// `compression.gzip.level` (1..=9, or -1 for zlib's default),
    /// `compression.lz4.level` (1..=17) or `compression.zstd.level`;
    /// unused for snappy and none.
    pub level: i32,
}

impl Compression {
    /// The attribute bits of the codec.
    pub fn code(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// From a `compression.type` name (`uncompressed` for none; `producer`
    /// is not a codec and gives `None`).
    pub fn from_topic_config(name: &str) -> Option<Compression> {
        Some(match name {
            "uncompressed" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            _ => return None,
        })
    }
}

fn failed() -> BatchError {
    BatchError::MalformedRecord("records do not compress")
}

/// Compresses `payload` (record bodies as a batch holds them) into `out`.
fn compress(target: TargetCodec, payload: &[u8], out: &mut BytesMut) -> Result<(), BatchError> {
    match target.compression {
        Compression::None => out.put_slice(payload),
        Compression::Gzip => {
            let level = match target.level {
                l @ 1..=9 => flate2::Compression::new(l as u32),
                _ => flate2::Compression::default(),
            };
            let mut encoder = flate2::write::GzEncoder::new(out.writer(), level);
            encoder.write_all(payload).map_err(|_| failed())?;
            encoder.finish().map_err(|_| failed())?;
        }
        // Kafka's Java client frames snappy as snappy-java does (xerial):
        // the one form every client reads.
        Compression::Snappy => {
            Snappy::compress(out, |tmp: &mut BytesMut| {
                tmp.put_slice(payload);
                Ok(())
            })
            .map_err(|_| failed())?;
        }
        Compression::Lz4 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .level(u32::try_from(target.level).unwrap_or(9))
                .block_mode(lz4::BlockMode::Independent)
                .build(out.writer())
                .map_err(|_| failed())?;
            encoder.write_all(payload).map_err(|_| failed())?;
            encoder.finish().1.map_err(|_| failed())?;
        }
        Compression::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(out.writer(), target.level)
                .map_err(|_| failed())?;
            encoder.write_all(payload).map_err(|_| failed())?;
            encoder.finish().map_err(|_| failed())?;
        }
    }
    Ok(())
}

/// `batch` (exactly one v2 batch) with its records in `target`'s codec, or
/// `None` when it already is (the common case costs one header read).
/// The batch is validated first: a damaged batch must not come out with a
/// fresh, valid CRC.
///
/// # Errors
/// The batch's validation failure, or records that do not decompress.
pub fn recompress(batch: &[u8], target: TargetCodec) -> Result<Option<BytesMut>, BatchError> {
    let header = BatchHeader::parse(batch)?;
    if header.compression()? == target.compression || header.is_control() {
        return Ok(None);
    }
    header.validate()?;
    let payload = crate::records::records_payload(&header)?;
    let mut out = BytesMut::with_capacity(HEADER_LEN + payload.len() / 2);
    out.put_slice(&batch[..HEADER_LEN]);
    compress(target, &payload, &mut out)?;
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| BatchError::MalformedRecord("batch too large"))?;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = (header.attributes() & !COMPRESSION_MASK) | target.compression.code();
    out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{BatchOptions, NewRecord, encode_batch};
    use bytes::Bytes;

    fn records() -> Vec<NewRecord> {
        (0..50)
            .map(|i| {
                NewRecord::new(
                    Some(format!("key-{i}")),
                    format!("value {i} {}", "x".repeat(i)),
                    1_000 + i as i64,
                )
            })
            .collect()
    }

    fn read_back(batch: &[u8]) -> Vec<(Option<Bytes>, Option<Bytes>, i64)> {
        let mut out = Vec::new();
        crate::records::for_each_record(&Bytes::copy_from_slice(batch), |r| {
            out.push((r.key, r.value, r.offset))
        })
        .unwrap();
        out
    }

    #[test]
    fn every_codec_to_every_codec_keeps_records_and_producer_fields() {
        let codecs = [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ];
        for from in codecs {
            let options = BatchOptions {
                compression: from,
                producer_id: 77,
                producer_epoch: 3,
                base_sequence: 120,
                transactional: true,
            };
            let original = encode_batch(&records(), &options).unwrap();
            let expected = read_back(&original);
            for to in codecs {
                let target = TargetCodec {
                    compression: to,
                    level: if to == Compression::Lz4 { 9 } else { 3 },
                };
                let out = recompress(&original, target).unwrap();
                if from == to {
                    assert!(out.is_none(), "{from:?} kept as it is");
                    continue;
                }
                let out = out.unwrap();
                let h = BatchHeader::parse(&out).unwrap();
                h.validate().unwrap();
                assert_eq!(h.size(), out.len());
                assert_eq!(h.compression().unwrap(), to);
                assert_eq!(
                    (h.producer_id(), h.producer_epoch(), h.base_sequence()),
                    (77, 3, 120)
                );
                assert!(h.is_transactional());
                assert_eq!(h.record_count(), 50);
                assert_eq!(read_back(&out), expected, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn a_damaged_batch_is_refused_not_given_a_new_crc() {
        let mut batch = encode_batch(&records(), &BatchOptions::default()).unwrap();
        let last = batch.len() - 1;
        batch[last] ^= 0xff;
        let target = TargetCodec {
            compression: Compression::Zstd,
            level: 3,
        };
        assert!(matches!(
            recompress(&batch, target),
            Err(BatchError::CrcMismatch { .. })
        ));
    }
}
