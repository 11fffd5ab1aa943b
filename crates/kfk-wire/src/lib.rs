//! The sans-IO edge of the Kafka wire format shared by the broker, the client and
//! the storage engine.
//!
//! Everything here takes bytes and returns values: no sockets, no files. Decoding
//! is bounds-checked and never panics on untrusted input, which makes this crate
//! the one fuzz surface for the whole project.

pub mod batch;
pub mod control;
pub mod decompress;
pub mod encode;
pub mod frame;
pub mod names;
pub mod recompress;
pub mod records;
pub mod retain;
pub mod spliced;
pub mod versions;

pub use batch::{
    BatchError, BatchHeader, BatchHeaderMut, BatchSummary, Batches, Compression, HEADER_LEN,
    LOG_OVERHEAD, MAGIC_V2, TimestampType, peek_batch_size,
};
pub use encode::{BatchOptions, NewRecord, encode_batch};
pub use names::{group_id, str_bytes, topic_name};
pub use recompress::{TargetCodec, recompress};
pub use records::{Record, RecordStamp, first_record_at_or_after, for_each_record, record_stamps};
pub use versions::VersionTable;

/// The message kfkd logs once it serves clients: `kfk cluster up` and the
/// test harness read a broker's log for it (with the broker's address) to
/// know that their own process, not another on the same port, is ready.
pub const KFKD_READY: &str = "kfkd started";

/// The binaries' allocator, so tests meet hostile counts as kfkd does.
#[cfg(test)]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
