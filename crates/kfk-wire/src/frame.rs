//! Kafka framing: a 4-byte big-endian length, then a request or response.
//!
//! Everything here is sans-IO and bounds-checked: the connection code reads bytes
//! and asks these functions what they mean. A frame longer than the configured
//! cap is refused before a buffer is allocated for it.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use thiserror::Error;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX: usize = 4;
/// api_key, api_version and correlation_id: the part of every request header
/// that is the same in all header versions.
pub const PREAMBLE_LEN: usize = 8;

/// What is wrong with a frame. Each of these closes the connection: after a bad
/// frame the byte stream cannot be trusted to be in sync.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("frame of {size} bytes exceeds the limit of {max} bytes (socket.request.max.bytes)")]
    TooLarge { size: usize, max: usize },
    #[error("negative frame length {0}")]
    NegativeLength(i32),
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    #[error("unknown API key {0}")]
    UnknownApi(i16),
    #[error("{api_key:?} v{version} is not supported")]
    UnsupportedVersion { api_key: ApiKey, version: i16 },
    #[error("malformed request header for {api_key:?} v{version}: {reason}")]
    Header {
        api_key: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("malformed {api_key:?} v{version} request body: {reason}")]
    Body {
        api_key: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("cannot encode {api_key:?} v{version} response: {reason}")]
    Encode {
        api_key: ApiKey,
        version: i16,
        reason: String,
    },
}

/// Reads a frame length prefix and checks it against `max`.
///
/// # Errors
/// [`FrameError::NegativeLength`] or [`FrameError::TooLarge`].
pub fn frame_length(prefix: [u8; LENGTH_PREFIX], max: usize) -> Result<usize, FrameError> {
    let len = i32::from_be_bytes(prefix);
    if len < 0 {
        return Err(FrameError::NegativeLength(len));
    }
    let len = len as usize;
    if len > max {
        return Err(FrameError::TooLarge { size: len, max });
    }
    Ok(len)
}

/// The fixed start of every request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPreamble {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl RequestPreamble {
    /// # Errors
    /// [`FrameError::TooShort`] when the frame cannot hold it.
    pub fn parse(frame: &[u8]) -> Result<Self, FrameError> {
        if frame.len() < PREAMBLE_LEN {
            return Err(FrameError::TooShort(frame.len()));
        }
        Ok(RequestPreamble {
            api_key: i16::from_be_bytes([frame[0], frame[1]]),
            api_version: i16::from_be_bytes([frame[2], frame[3]]),
            correlation_id: i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
        })
    }
}

/// Decodes the request header for a known API and version; `frame` is left at
/// the start of the body.
///
/// # Errors
/// [`FrameError::Header`].
pub fn decode_request_header(
    frame: &mut Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<RequestHeader, FrameError> {
    let header_version = api_key.request_header_version(version);
    RequestHeader::decode(frame, header_version).map_err(|e| FrameError::Header {
        api_key,
        version,
        reason: e.to_string(),
    })
}

/// Decodes any request body the protocol defines into its typed form.
///
/// # Errors
/// [`FrameError::Body`].
pub fn decode_request_body(
    body: &mut Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<RequestKind, FrameError> {
    RequestKind::decode(api_key, body, version).map_err(|e| FrameError::Body {
        api_key,
        version,
        reason: e.to_string(),
    })
}

/// A whole request frame (without its length prefix), decoded.
#[derive(Debug)]
pub struct DecodedRequest {
    pub api_key: ApiKey,
    pub version: i16,
    pub header: RequestHeader,
    pub body: RequestKind,
}

/// Decodes a request frame: preamble, header, body. `accepts` says which
/// versions of an API the caller serves; others are refused before decoding.
/// This is the whole path from untrusted bytes to typed requests, and the
/// fuzz target's entry point.
///
/// # Errors
/// [`FrameError`] for anything that is not a well-formed, accepted request.
pub fn decode_request(
    mut frame: Bytes,
    accepts: impl Fn(ApiKey, i16) -> bool,
) -> Result<DecodedRequest, FrameError> {
    let pre = RequestPreamble::parse(&frame)?;
    let api_key =
        ApiKey::try_from(pre.api_key).map_err(|()| FrameError::UnknownApi(pre.api_key))?;
    if !accepts(api_key, pre.api_version) {
        return Err(FrameError::UnsupportedVersion {
            api_key,
            version: pre.api_version,
        });
    }
    let header = decode_request_header(&mut frame, api_key, pre.api_version)?;
    let body = decode_request_body(&mut frame, api_key, pre.api_version)?;
    Ok(DecodedRequest {
        api_key,
        version: pre.api_version,
        header,
        body,
    })
}

/// Length prefix, header, body: the layout of every frame in both directions.
fn encode_frame<H: Encodable, T: Encodable>(
    header: &H,
    header_version: i16,
    body: &T,
    api_key: ApiKey,
    version: i16,
) -> Result<BytesMut, FrameError> {
    let encode_err = |e: anyhow::Error| FrameError::Encode {
        api_key,
        version,
        reason: e.to_string(),
    };
    let size = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + body.compute_size(version)?))
        .map_err(encode_err)?;
    let mut buf = BytesMut::with_capacity(LENGTH_PREFIX + size);
    buf.put_i32(size as i32);
    header
        .encode(&mut buf, header_version)
        .map_err(encode_err)?;
    body.encode(&mut buf, version).map_err(encode_err)?;
    Ok(buf)
}

/// Encodes a whole response frame: length prefix, response header, body.
///
/// # Errors
/// [`FrameError::Encode`] when the body does not fit the version (a bug).
pub fn encode_response<T: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<BytesMut, FrameError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    encode_frame(&header, header_version, body, api_key, version)
}

/// Encodes a request frame (used by clients and tests).
///
/// # Errors
/// [`FrameError::Encode`] when the body does not fit the version.
pub fn encode_request<T: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &T,
) -> Result<BytesMut, FrameError> {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(|c| c.to_string().into()));
    let header_version = api_key.request_header_version(version);
    encode_frame(&header, header_version, body, api_key, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataRequest;

    #[test]
    fn lengths_are_capped_before_allocation() {
        assert_eq!(frame_length(100i32.to_be_bytes(), 1000).unwrap(), 100);
        assert!(matches!(
            frame_length(2000i32.to_be_bytes(), 1000),
            Err(FrameError::TooLarge {
                size: 2000,
                max: 1000
            })
        ));
        assert!(matches!(
            frame_length((-1i32).to_be_bytes(), 1000),
            Err(FrameError::NegativeLength(-1))
        ));
    }

    #[test]
    fn requests_round_trip_through_the_frame_functions() {
        let body = MetadataRequest::default().with_topics(None);
        let frame = encode_request(ApiKey::Metadata, 9, 42, Some("me"), &body).unwrap();
        let mut rest = Bytes::from(frame).slice(LENGTH_PREFIX..);
        let pre = RequestPreamble::parse(&rest).unwrap();
        assert_eq!(
            (pre.api_key, pre.api_version, pre.correlation_id),
            (3, 9, 42)
        );
        let header = decode_request_header(&mut rest, ApiKey::Metadata, 9).unwrap();
        assert_eq!(header.client_id.as_deref(), Some("me"));
        let decoded = decode_request_body(&mut rest, ApiKey::Metadata, 9).unwrap();
        assert_eq!(decoded, RequestKind::Metadata(body));
    }

    /// kafka-protocol reserves an array by the count it declares; with the
    /// binaries' allocator (jemalloc, also this test's) that reserves
    /// address space lazily, so a frame claiming 2^31 elements is an error
    /// at its end and no memory is used.
    #[test]
    fn a_huge_array_count_in_a_tiny_frame_is_an_error_not_memory() {
        let mut body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0xb6]);
        let res = decode_request_body(&mut body, ApiKey::Metadata, 0);
        assert!(matches!(res, Err(FrameError::Body { .. })));
        let mut compact = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
        let res = decode_request_body(&mut compact, ApiKey::Metadata, 12);
        assert!(matches!(res, Err(FrameError::Body { .. })));
    }
}
