//! Errors of the storage engine. Each variant maps onto one Kafka error code so
//! the broker can answer a partition-level error without closing anything.

use std::io;
use std::path::PathBuf;

use kfk_wire::BatchError;
use thiserror::Error;

/// What went wrong with a log operation. An `Err` from an append means the log
/// was left exactly as it was before the call.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LogError {
    /// The bytes are damaged: truncated or failing their CRC (`CORRUPT_MESSAGE`).
    #[error("corrupt record batch at byte {position} of the request: {source}")]
    CorruptBatch { position: usize, source: BatchError },
    /// The batch is intact but not acceptable (`INVALID_RECORD`).
    #[error("invalid record batch at byte {position} of the request: {source}")]
    InvalidBatch { position: usize, source: BatchError },
    /// A batch larger than `max.message.bytes`, or a request larger than a segment
    /// (`MESSAGE_TOO_LARGE` / `RECORD_LIST_TOO_LARGE`).
    #[error("record batch of {size} bytes exceeds the limit of {limit} bytes")]
    BatchTooLarge { size: usize, limit: usize },
    /// A produce request with no batches in it.
    #[error("empty record set")]
    EmptyRecordSet,
    /// A replicated batch whose offsets do not continue the log.
    #[error(
        "replicated batch starts at offset {base_offset}, but the log ends at {log_end_offset}"
    )]
    NonMonotonicOffset {
        base_offset: i64,
        log_end_offset: i64,
    },
    /// Requested offset outside `[log_start_offset, log_end_offset]` (`OFFSET_OUT_OF_RANGE`).
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// A closed segment holds a damaged batch: found by the cleaner, which
    /// leaves such a log alone rather than copy damage into a clean segment.
    #[error("corrupt record batch at byte {position} of {}: {source}", path.display())]
    CorruptSegment {
        path: PathBuf,
        position: u64,
        source: BatchError,
    },
    /// Another process holds the data directory's lock.
    #[error("data directory {} is in use by another process", path.display())]
    DataDirInUse { path: PathBuf },
    /// Disk trouble (full disk, permissions, I/O errors) with the file involved
    /// (`KAFKA_STORAGE_ERROR`).
    #[error("I/O error on {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Result alias for the storage engine.
pub type Result<T, E = LogError> = std::result::Result<T, E>;

/// Attaches the path to an I/O error, so operators learn which file failed.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| LogError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
