//! Encoding a response around bytes that are sent from elsewhere.
//!
//! A fetch response is mostly records that already lie in segment files; on
//! a plaintext connection the broker sends them from the page cache to the
//! socket (`sendfile`) and encodes only what surrounds them. The response
//! is encoded with a short marker where each range of records goes; the
//! marker is then found in the (small) encoded frame and cut out together
//! with its length prefix, which is rewritten for the real length. What is
//! left is a list of [`Piece`]s: encoded bytes, and holes for the ranges.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Encodable;

use crate::frame::{FrameError, LENGTH_PREFIX, encode_response};

/// Length of a marker: a per-process random prefix and a counter.
const MARKER: usize = 16;

/// Hands out the markers of one response.
#[derive(Debug)]
pub struct Markers {
    salt: [u8; 12],
    next: u32,
    /// `(key, real length)` of each marker, in the order handed out: the
    /// n-th marker ends with counter n.
    given: Vec<(usize, usize)>,
}

impl Default for Markers {
    fn default() -> Markers {
        Markers {
            salt: process_salt(),
            next: 0,
            given: Vec::new(),
        }
    }
}

/// Random bytes chosen once per process, so no topic name or other field
/// of a response can be made to look like a marker.
fn process_salt() -> [u8; 12] {
    use std::hash::{BuildHasher, Hasher};
    static SALT: std::sync::OnceLock<[u8; 12]> = std::sync::OnceLock::new();
    *SALT.get_or_init(|| {
        let state = std::collections::hash_map::RandomState::new();
        let mut a = state.build_hasher();
        a.write_u64(0x6b66_6b73_706c_6963);
        let mut b = state.build_hasher();
        b.write_u64(a.finish());
        let mut salt = [0u8; 12];
        salt[..8].copy_from_slice(&a.finish().to_le_bytes());
        salt[8..].copy_from_slice(&b.finish().to_le_bytes()[..4]);
        salt
    })
}

impl Markers {
    /// The bytes to put in a response where `len` bytes identified by `key`
    /// will be sent.
    pub fn mark(&mut self, key: usize, len: usize) -> Bytes {
        let mut m = [0u8; MARKER];
        m[..12].copy_from_slice(&self.salt);
        m[12..].copy_from_slice(&self.next.to_be_bytes());
        self.next += 1;
        self.given.push((key, len));
        Bytes::copy_from_slice(&m)
    }

    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }
}

/// Part of a spliced frame, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Bytes),
    /// The `len` bytes a marker stood for, identified by its key.
    Hole {
        key: usize,
        len: usize,
    },
}

/// Encodes a response frame whose body carries `markers`' marks in bytes
/// fields; returns its pieces, with the frame's length counting the holes.
/// `flexible`: whether this version encodes bytes fields with a compact
/// (varint) length, else a 4-byte one.
///
/// # Errors
/// [`FrameError::Encode`] when the body does not fit the version, or a
/// mark is missing, found twice, or not a bytes field's whole value (bugs).
pub fn encode_response_spliced<T: Encodable>(
    api_key: ApiKey,
    version: i16,
    flexible: bool,
    correlation_id: i32,
    body: &T,
    markers: &Markers,
) -> Result<Vec<Piece>, FrameError> {
    let fail = |reason: &str| FrameError::Encode {
        api_key,
        version,
        reason: reason.to_string(),
    };
    let frame = encode_response(api_key, version, correlation_id, body)?.freeze();
    // Each mark's place, found in one pass over the frame (a follower's
    // fetch may carry thousands): where the salt starts, the counter after
    // it says which mark it is.
    let mut places: Vec<Option<usize>> = vec![None; markers.given.len()];
    let mut i = 0;
    while i + MARKER <= frame.len() {
        if frame[i..i + 12] != markers.salt {
            i += 1;
            continue;
        }
        let n = u32::from_be_bytes([frame[i + 12], frame[i + 13], frame[i + 14], frame[i + 15]]);
        if let Some(place) = usize::try_from(n).ok().and_then(|n| places.get_mut(n))
            && place.replace(i).is_some()
        {
            return Err(fail("a marker occurs twice"));
        }
        i += MARKER;
    }
    let (prefix, expected): (usize, &[u8]) = if flexible {
        (1, &[MARKER as u8 + 1])
    } else {
        (4, &[0, 0, 0, MARKER as u8])
    };
    let mut cuts: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(markers.given.len());
    for ((key, len), place) in markers.given.iter().zip(places) {
        let at = place.ok_or_else(|| fail("a marker is missing"))?;
        if at < prefix || &frame[at - prefix..at] != expected {
            return Err(fail("a marker is not a whole bytes field"));
        }
        cuts.push((at - prefix, at + MARKER, *key, *len));
    }
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(cuts.len() * 2 + 1);
    let mut from = LENGTH_PREFIX;
    let mut head = BytesMut::new();
    for (start, end, key, len) in cuts {
        head.extend_from_slice(&frame[from..start]);
        if flexible {
            put_unsigned_varint(
                &mut head,
                u32::try_from(len + 1).map_err(|_| fail("too long"))?,
            );
        } else {
            head.put_i32(i32::try_from(len).map_err(|_| fail("too long"))?);
        }
        pieces.push(Piece::Bytes(head.split().freeze()));
        pieces.push(Piece::Hole { key, len });
        from = end;
    }
    let mut rest = BytesMut::new();
    rest.extend_from_slice(&frame[from..]);
    pieces.push(Piece::Bytes(rest.freeze()));
    // The frame's length prefix, for what is now its body.
    let body_len: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len(),
            Piece::Hole { len, .. } => *len,
        })
        .sum();
    let mut prefix = BytesMut::with_capacity(LENGTH_PREFIX);
    prefix.put_i32(i32::try_from(body_len).map_err(|_| fail("frame too long"))?);
    pieces.insert(0, Piece::Bytes(prefix.freeze()));
    Ok(pieces)
}

fn put_unsigned_varint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::FetchResponse;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};

    fn response(records: Vec<Bytes>) -> FetchResponse {
        FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(crate::topic_name("t"))
                .with_partitions(
                    records
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            PartitionData::default()
                                .with_partition_index(i as i32)
                                .with_high_watermark(7)
                                .with_records(Some(r))
                        })
                        .collect(),
                ),
        ])
    }

    /// Filling each hole with the bytes its marker stood for gives exactly
    /// the frame encoded with the bytes themselves, in every Fetch version
    /// kfkd serves, for lengths whose prefix grows past one varint byte.
    #[test]
    fn filled_holes_give_the_plain_encoding() {
        let real: Vec<Bytes> = vec![
            Bytes::from(vec![7u8; 1000]),
            Bytes::new(),
            Bytes::from((0..=255u8).cycle().take(70_000).collect::<Vec<_>>()),
            Bytes::from(vec![1u8; 3]),
        ];
        for version in 4..=12 {
            let mut markers = Markers::default();
            let marked: Vec<Bytes> = real
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    if r.is_empty() {
                        r.clone()
                    } else {
                        markers.mark(i, r.len())
                    }
                })
                .collect();
            let pieces = encode_response_spliced(
                ApiKey::Fetch,
                version,
                version >= 12,
                42,
                &response(marked),
                &markers,
            )
            .unwrap();
            let mut filled = Vec::new();
            for p in &pieces {
                match p {
                    Piece::Bytes(b) => filled.extend_from_slice(b),
                    Piece::Hole { key, len } => {
                        assert_eq!(real[*key].len(), *len);
                        filled.extend_from_slice(&real[*key]);
                    }
                }
            }
            let plain =
                encode_response(ApiKey::Fetch, version, 42, &response(real.clone())).unwrap();
            assert_eq!(filled, plain.to_vec(), "version {version}");
        }
    }

    #[test]
    fn a_marker_that_is_not_in_the_frame_is_an_error() {
        let mut markers = Markers::default();
        let _ = markers.mark(0, 10);
        let err = encode_response_spliced(
            ApiKey::Fetch,
            12,
            true,
            1,
            &response(vec![Bytes::from_static(b"plain")]),
            &markers,
        );
        assert!(err.is_err());
    }
}
