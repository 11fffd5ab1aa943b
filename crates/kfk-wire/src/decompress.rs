//! Decompressing a batch's records with a ceiling: a batch from the network
//! (or a damaged disk) can claim or expand to any size — snappy states its
//! length up front, gzip, lz4 and zstd simply expand — so output stops at
//! [`MAX_DECOMPRESSED`] and the batch is refused, instead of the process
//! taking what the input asks for.

use std::io::Read;

use bytes::{Bytes, BytesMut};

use crate::batch::{BatchError, Compression};

/// The most one batch may decompress to. Producers fill a batch up to
/// `batch.size` (16 KiB by default) and send at most `max.request.size`
/// (1 MiB) at once, uncompressed, so real batches are far below this.
pub const MAX_DECOMPRESSED: usize = 128 * 1024 * 1024;

/// The xerial framing Kafka's Java client writes around snappy blocks:
/// magic, then version 1 and compatible version 1.
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

fn too_big() -> BatchError {
    BatchError::MalformedRecord("records decompress to more than the 128 MiB a batch may hold")
}

fn undecodable() -> BatchError {
    BatchError::MalformedRecord("records do not decompress")
}

/// Reads `reader` to its end, refusing output past `limit`.
fn read_bounded(reader: impl Read, limit: usize) -> Result<Bytes, BatchError> {
    let mut out = Vec::new();
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| undecodable())?;
    if read > limit {
        return Err(too_big());
    }
    Ok(Bytes::from(out))
}

/// One raw snappy block, its stated length checked against what is left.
fn snappy_block(block: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), BatchError> {
    let len = snap::raw::decompress_len(block).map_err(|_| undecodable())?;
    if len > limit.saturating_sub(out.len()) {
        return Err(too_big());
    }
    let start = out.len();
    out.resize(start + len, 0);
    snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|_| undecodable())?;
    Ok(())
}

fn snappy(input: &[u8], limit: usize) -> Result<Bytes, BatchError> {
    let mut out = BytesMut::new();
    let Some(mut rest) = input.strip_prefix(XERIAL_HEADER.as_slice()) else {
        // Raw snappy, as librdkafka writes it.
        snappy_block(input, &mut out, limit)?;
        return Ok(out.freeze());
    };
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(undecodable)?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > tail.len() {
            return Err(undecodable());
        }
        let (block, tail) = tail.split_at(len);
        snappy_block(block, &mut out, limit)?;
        rest = tail;
    }
    Ok(out.freeze())
}

/// Decompresses `input` written with `codec`, to at most `limit` bytes.
///
/// # Errors
/// [`BatchError::MalformedRecord`] when the codec rejects the bytes or the
/// output would pass `limit`.
pub fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Bytes, BatchError> {
    match codec {
        Compression::None => Ok(Bytes::copy_from_slice(input)),
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), limit),
        Compression::Snappy => snappy(input, limit),
        Compression::Lz4 => {
            let decoder = lz4::Decoder::new(input).map_err(|_| undecodable())?;
            read_bounded(decoder, limit)
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(input).map_err(|_| undecodable())?;
            read_bounded(decoder, limit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

    fn compressed(codec: Compression, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        let mut src = BytesMut::from(data);
        match codec {
            Compression::Gzip => Gzip::compress(&mut out, |b| {
                b.extend_from_slice(&src.split());
                Ok(())
            }),
            Compression::Snappy => Snappy::compress(&mut out, |b| {
                b.extend_from_slice(&src.split());
                Ok(())
            }),
            Compression::Lz4 => Lz4::compress(&mut out, |b| {
                b.extend_from_slice(&src.split());
                Ok(())
            }),
            Compression::Zstd => Zstd::compress(&mut out, |b| {
                b.extend_from_slice(&src.split());
                Ok(())
            }),
            Compression::None => return data.to_vec(),
        }
        .unwrap();
        out.to_vec()
    }

    #[test]
    fn every_codec_round_trips_and_stops_at_the_limit() {
        let data = vec![b'z'; 200_000];
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let packed = compressed(codec, &data);
            assert!(packed.len() < data.len() / 10, "{codec:?}");
            assert_eq!(
                decompress(codec, &packed, 200_000).unwrap(),
                data,
                "{codec:?}"
            );
            let err = decompress(codec, &packed, 199_999).unwrap_err();
            assert!(err.to_string().contains("more than"), "{codec:?}: {err}");
        }
    }

    #[test]
    fn a_snappy_block_claiming_gigabytes_is_refused_before_allocating() {
        // A raw snappy block whose varint header claims 4 GiB - 1.
        let claim = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let err = decompress(Compression::Snappy, &claim, MAX_DECOMPRESSED).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        let mut framed = XERIAL_HEADER.to_vec();
        framed.extend_from_slice(&(claim.len() as u32).to_be_bytes());
        framed.extend_from_slice(&claim);
        assert!(decompress(Compression::Snappy, &framed, MAX_DECOMPRESSED).is_err());
        assert!(decompress(Compression::Gzip, b"not gzip", MAX_DECOMPRESSED).is_err());
    }
}
