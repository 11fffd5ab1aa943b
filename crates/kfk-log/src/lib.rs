//! kfk's storage engine: one partition = one [`Log`] of segments holding Kafka
//! v2 record batches verbatim, laid out on disk as Apache Kafka does.
//!
//! ```text
//! <data dir>/
//!     .kfk_clean_shutdown                 present only after a clean close
//!     <topic>-<partition>/
//!         00000000000000000000.log        batches, byte for byte as produced
//!         00000000000000000000.index      sparse: relative offset -> file position
//!         00000000000000000000.timeindex  sparse: max timestamp -> relative offset
//!         recovery-point                  offset below which data is fsynced
//!         leader-epoch-checkpoint         where each leader epoch began
//!         log-start-offset                records deleted up to here (only if inside a segment)
//!         cleaner-offset-checkpoint       how far the cleaner got, and when (compacted logs)
//! ```
//!
//! Files are made when they first have something to hold (an index with its
//! first entry), so a partition that was never written is one directory and
//! one empty log file.
//!
//! Durability follows Kafka: replication plus the page cache by default,
//! `flush.messages` / `flush.ms` for those who want fsync. After a crash the
//! segments past the recovery point are checked batch by batch and cut at the
//! first torn or corrupt batch, so a batch that was fully written and flushed is
//! never lost and a damaged one is never served.

mod atomic_file;
pub mod checkpoint_file;
pub mod cleaner;
mod config;
mod error;
mod fd_cache;
mod index;
mod leader_epoch;
mod log;
mod log_start;
mod manager;
mod partition;
mod recovery_point;
mod scan;
mod segment;
pub mod txn_index;

pub use atomic_file::{sync_dir, write_atomically};
pub use config::{
    CleanupPolicy, DEFAULT_DELETE_RETENTION_MS, DEFAULT_INDEX_INTERVAL_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_RETENTION_MS, DEFAULT_SEGMENT_BYTES, DEFAULT_SEGMENT_MS,
    LogConfig,
};
pub use error::{LogError, Result};
pub use fd_cache::{open_files, set_open_file_budget};
pub use leader_epoch::{EpochEntry, UNDEFINED_EPOCH, UNDEFINED_OFFSET};
pub use log::{
    AppendInfo, CLEAN_SHUTDOWN_FILE, CleanStats, Dirtiness, FileRange, Located, Log, ReadResult,
    now_ms,
};
pub use manager::{Background, LogManager};
pub use partition::TopicPartition;
