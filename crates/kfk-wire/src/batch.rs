//! A zero-copy view over the Kafka v2 record batch header.
//!
//! Brokers never need to decode records to store or serve them: everything the
//! produce and fetch paths need (offsets, CRC, counts, timestamps, producer state)
//! sits in the fixed 61-byte header. Layout (all big-endian, see the Kafka protocol
//! guide, "Record Batch"):
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset
//!      8     4  batchLength            (bytes after this field)
//!     12     4  partitionLeaderEpoch
//!     16     1  magic                  (2)
//!     17     4  crc                    (CRC-32C of attributes..end)
//!     21     2  attributes
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  recordCount
//!     61     -  records
//! ```
//!
//! The CRC deliberately excludes the base offset and the partition leader epoch,
//! so the broker can assign offsets by rewriting those two fields in place without
//! touching the checksum.

use thiserror::Error;

/// Size of the fixed v2 batch header, up to the first record.
pub const HEADER_LEN: usize = 61;
/// Bytes before the part counted by `batchLength`: base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
/// The only record format kfk stores.
pub const MAGIC_V2: i8 = 2;
/// Smallest legal `batchLength`: a header with no records.
const MIN_BATCH_LENGTH: i32 = (HEADER_LEN - LOG_OVERHEAD) as i32;

const BASE_OFFSET: usize = 0;
pub(crate) const BATCH_LENGTH: usize = 8;
const PARTITION_LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
pub(crate) const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

pub(crate) const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Why a batch was refused. [`BatchError::is_corrupt`] separates damaged bytes
/// (Kafka's `CORRUPT_MESSAGE`) from well-formed but unacceptable batches
/// (`INVALID_RECORD`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BatchError {
    /// Fewer bytes than the header or the declared length require.
    #[error("record batch is truncated: needs {needed} bytes, {available} available")]
    Truncated { needed: usize, available: usize },
    /// Magic other than 2 (v0/v1 message sets are not supported).
    #[error("unsupported record batch magic {0}; only v2 batches are accepted")]
    UnsupportedMagic(i8),
    /// `batchLength` smaller than an empty header or negative.
    #[error("invalid record batch length {0}")]
    InvalidLength(i32),
    /// Stored and computed CRC-32C differ.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    /// `recordCount` is not `lastOffsetDelta + 1`, or not positive.
    #[error("record count {count} is inconsistent with last offset delta {last_offset_delta}")]
    CountMismatch { count: i32, last_offset_delta: i32 },
    /// Compression codec outside 0..=4.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
    /// The records inside a batch do not parse.
    #[error("malformed record inside batch: {0}")]
    MalformedRecord(&'static str),
}

impl BatchError {
    /// True when the bytes are damaged (truncated or failing the CRC), as opposed
    /// to intact but invalid.
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            BatchError::Truncated { .. } | BatchError::CrcMismatch { .. }
        )
    }
}

/// Compression codec from the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// Whether `maxTimestamp` is the producer's (create time) or the broker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Reads the total on-wire size of the batch starting at `buf[0]` from its first 12
/// bytes, without validating anything else. `None` when fewer than 12 bytes are
/// available; an error when the declared length is impossible.
///
/// This is what a scanner uses to hop from batch to batch.
pub fn peek_batch_size(buf: &[u8]) -> Option<Result<usize, BatchError>> {
    if buf.len() < LOG_OVERHEAD {
        return None;
    }
    let len = be_i32(buf, BATCH_LENGTH);
    if len < MIN_BATCH_LENGTH {
        return Some(Err(BatchError::InvalidLength(len)));
    }
    Some(Ok(LOG_OVERHEAD + len as usize))
}

/// The header fields storage needs to index and scan a log, read from the first
/// [`HEADER_LEN`] bytes of a batch without requiring the records to be present.
///
/// Scanners read headers in small chunks and hop over the records; they must
/// not need the whole batch in memory to learn where it starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub base_offset: i64,
    pub last_offset: i64,
    /// Total size on disk, header included.
    pub size: usize,
    pub max_timestamp: i64,
    pub partition_leader_epoch: i32,
    pub record_count: i32,
    /// -1 for producers without idempotence.
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// -1 for producers without idempotence.
    pub base_sequence: i32,
    /// The attribute bits (codec, timestamp type, transactional, control).
    pub attributes: i16,
}

impl BatchSummary {
    /// Reads the summary from `buf`, which must hold at least the header.
    ///
    /// # Errors
    /// [`BatchError::Truncated`] when `buf` is shorter than the header,
    /// [`BatchError::InvalidLength`] or [`BatchError::UnsupportedMagic`].
    pub fn peek(buf: &[u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let len = be_i32(buf, BATCH_LENGTH);
        if len < MIN_BATCH_LENGTH {
            return Err(BatchError::InvalidLength(len));
        }
        let magic = buf[MAGIC] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic(magic));
        }
        Ok(Self::read_fields(buf, LOG_OVERHEAD + len as usize))
    }

    /// Reads the fields of a header already known to be long enough.
    fn read_fields(buf: &[u8], size: usize) -> Self {
        let base_offset = be_i64(buf, BASE_OFFSET);
        BatchSummary {
            base_offset,
            last_offset: base_offset.saturating_add(i64::from(be_i32(buf, LAST_OFFSET_DELTA))),
            size,
            max_timestamp: be_i64(buf, MAX_TIMESTAMP),
            partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH),
            record_count: be_i32(buf, RECORD_COUNT),
            producer_id: be_i64(buf, PRODUCER_ID),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH),
            base_sequence: be_i32(buf, BASE_SEQUENCE),
            attributes: be_i16(buf, ATTRIBUTES),
        }
    }

    /// Part of a transaction (records, or its COMMIT/ABORT marker).
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// A control batch (a transaction marker): never shown to consumers.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Offset the next batch must start at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset.saturating_add(1)
    }

    /// Sequence number of the batch's last record (sequences wrap at `i32::MAX`).
    pub fn last_sequence(&self) -> i32 {
        let delta = (self.last_offset - self.base_offset) as i32;
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(delta);
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }
}

/// A read-only view over exactly one v2 batch (header and records).
///
/// Construction checks only what is needed to read the header safely (length and
/// magic); [`BatchHeader::validate`] checks integrity.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    buf: &'a [u8],
}

impl<'a> BatchHeader<'a> {
    /// Views the batch at the start of `buf`; `buf` may extend past the batch.
    ///
    /// # Errors
    /// [`BatchError::Truncated`] if `buf` is shorter than the header or the declared
    /// length, [`BatchError::InvalidLength`] or [`BatchError::UnsupportedMagic`].
    pub fn parse(buf: &'a [u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let size = BatchSummary::peek(buf)?.size;
        if buf.len() < size {
            return Err(BatchError::Truncated {
                needed: size,
                available: buf.len(),
            });
        }
        Ok(BatchHeader { buf: &buf[..size] })
    }

    /// Checks the CRC-32C, the compression codec and that the record count agrees
    /// with the offset delta (as Kafka's `LogValidator` does).
    ///
    /// # Errors
    /// The first failed check.
    pub fn validate(&self) -> Result<(), BatchError> {
        let stored = self.crc();
        let computed = crc32c::crc32c(&self.buf[ATTRIBUTES..]);
        if stored != computed {
            return Err(BatchError::CrcMismatch { stored, computed });
        }
        self.compression()?;
        let count = self.record_count();
        let last_offset_delta = self.last_offset_delta();
        if count <= 0
            || last_offset_delta < 0
            || i64::from(count) != i64::from(last_offset_delta) + 1
        {
            return Err(BatchError::CountMismatch {
                count,
                last_offset_delta,
            });
        }
        Ok(())
    }

    /// The checks of a batch already in a log, which the cleaner may have
    /// rewritten: CRC-32C and codec as [`BatchHeader::validate`], but fewer
    /// records than the offset delta spans (holes where records were
    /// cleaned away; none at all for a batch kept only for its producer's
    /// state).
    ///
    /// # Errors
    /// The first failed check.
    pub fn validate_stored(&self) -> Result<(), BatchError> {
        let stored = self.crc();
        let computed = crc32c::crc32c(&self.buf[ATTRIBUTES..]);
        if stored != computed {
            return Err(BatchError::CrcMismatch { stored, computed });
        }
        self.compression()?;
        let count = self.record_count();
        let last_offset_delta = self.last_offset_delta();
        if count < 0 || last_offset_delta < 0 || i64::from(count) > i64::from(last_offset_delta) + 1
        {
            return Err(BatchError::CountMismatch {
                count,
                last_offset_delta,
            });
        }
        Ok(())
    }

    pub fn summary(&self) -> BatchSummary {
        BatchSummary::read_fields(self.buf, self.buf.len())
    }

    /// The whole batch, header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// The bytes after the header (records, possibly compressed).
    pub fn records_bytes(&self) -> &'a [u8] {
        &self.buf[HEADER_LEN..]
    }
    /// Total size on the wire and on disk.
    pub fn size(&self) -> usize {
        self.buf.len()
    }
    pub fn base_offset(&self) -> i64 {
        be_i64(self.buf, BASE_OFFSET)
    }
    /// Offset of the last record: `base_offset + last_offset_delta`.
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .saturating_add(i64::from(self.last_offset_delta()))
    }
    pub fn batch_length(&self) -> i32 {
        be_i32(self.buf, BATCH_LENGTH)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(self.buf, PARTITION_LEADER_EPOCH)
    }
    pub fn magic(&self) -> i8 {
        self.buf[MAGIC] as i8
    }
    pub fn crc(&self) -> u32 {
        be_i32(self.buf, CRC) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.buf, ATTRIBUTES)
    }
    /// # Errors
    /// [`BatchError::UnknownCompression`] for codec bits 5..=7.
    pub fn compression(&self) -> Result<Compression, BatchError> {
        match (self.attributes() & COMPRESSION_MASK) as u8 {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(BatchError::UnknownCompression(other)),
        }
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.buf, LAST_OFFSET_DELTA)
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.buf, BASE_TIMESTAMP)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.buf, MAX_TIMESTAMP)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.buf, PRODUCER_ID)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.buf, PRODUCER_EPOCH)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.buf, BASE_SEQUENCE)
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.buf, RECORD_COUNT)
    }
}

/// In-place edits of a batch header. Only fields outside the CRC are rewritten
/// freely; [`BatchHeaderMut::set_log_append_time`] recomputes the CRC because
/// Kafka's LogAppendTime topics require it.
#[derive(Debug)]
pub struct BatchHeaderMut<'a> {
    buf: &'a mut [u8],
}

impl<'a> BatchHeaderMut<'a> {
    /// Wraps a batch that [`BatchHeader::parse`] accepts.
    ///
    /// # Errors
    /// As [`BatchHeader::parse`].
    pub fn parse(buf: &'a mut [u8]) -> Result<Self, BatchError> {
        let size = BatchHeader::parse(buf)?.size();
        Ok(BatchHeaderMut {
            buf: &mut buf[..size],
        })
    }

    pub fn view(&self) -> BatchHeader<'_> {
        BatchHeader { buf: self.buf }
    }

    /// Wraps a batch whose header was copied and whose records section was
    /// replaced: its length field does not match yet, so only the header
    /// and the size are checked ([`BatchHeaderMut::set_records`] fixes it).
    ///
    /// # Errors
    /// A buffer shorter than a batch header.
    pub fn parse_rewritten(buf: &'a mut [u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::MalformedRecord("shorter than a batch header"));
        }
        Ok(BatchHeaderMut { buf })
    }

    /// Assigns offsets: the records carry deltas, so this is all it takes.
    pub fn set_base_offset(&mut self, offset: i64) {
        self.buf[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&offset.to_be_bytes());
    }

    pub fn set_partition_leader_epoch(&mut self, epoch: i32) {
        self.buf[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4]
            .copy_from_slice(&epoch.to_be_bytes());
    }

    /// Marks the records section uncompressed (for a rewritten batch; the
    /// CRC is recomputed by [`BatchHeaderMut::set_records`]).
    pub fn clear_compression(&mut self) {
        let attrs = be_i16(self.buf, ATTRIBUTES) & !COMPRESSION_MASK;
        self.buf[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
    }

    /// After the records section was replaced: sets the batch length and
    /// record count to match, then recomputes the CRC.
    pub fn set_records(&mut self, record_count: i32) {
        let length = i32::try_from(self.buf.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
        self.buf[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&length.to_be_bytes());
        self.buf[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&record_count.to_be_bytes());
        let crc = crc32c::crc32c(&self.buf[ATTRIBUTES..]);
        self.buf[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }

    /// Stamps the broker's clock: sets the timestamp-type bit and `maxTimestamp`,
    /// then recomputes the CRC (these fields are covered by it).
    pub fn set_log_append_time(&mut self, timestamp_ms: i64) {
        let attrs = be_i16(self.buf, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
        self.buf[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
        self.buf[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp_ms.to_be_bytes());
        let crc = crc32c::crc32c(&self.buf[ATTRIBUTES..]);
        self.buf[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

/// Iterates the batches of a record set (a produce payload, a fetched chunk, a
/// segment file's bytes), yielding each batch's view in order.
///
/// Stops after the first error: a scanner treats everything from there on as a
/// torn or corrupt tail.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Batches<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Batches {
            buf,
            pos: 0,
            failed: false,
        }
    }
    /// Byte position of the next batch, i.e. the length of the valid prefix so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<BatchHeader<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        match BatchHeader::parse(&self.buf[self.pos..]) {
            Ok(h) => {
                self.pos += h.size();
                Some(Ok(h))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
