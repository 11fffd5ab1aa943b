//! Per-log settings, named after Kafka's topic-level configs.
//!
//! The broker maps `log.*` broker defaults and per-topic overrides onto this one
//! struct; the log reads it on every operation so `AlterConfigs` takes effect
//! without reopening anything.

use kfk_wire::TimestampType;

/// Kafka's default `segment.bytes`: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
/// Kafka's default `segment.ms` (`log.roll.hours` = 168): 7 days.
pub const DEFAULT_SEGMENT_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's default `retention.ms`: 7 days.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's default `index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u64 = 4096;
/// Kafka's default `max.message.bytes` (the largest batch a topic accepts).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;
/// Kafka's default `delete.retention.ms`: tombstones stay a day after cleaning.
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Kafka's default `min.cleanable.dirty.ratio` (0.5), in permille.
pub const DEFAULT_MIN_CLEANABLE_DIRTY_PERMILLE: u32 = 500;

/// `cleanup.policy`: what happens to old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupPolicy {
    /// `delete`: retention by time and size removes whole old segments.
    pub delete: bool,
    /// `compact`: the cleaner keeps the latest record of each key.
    pub compact: bool,
}

impl CleanupPolicy {
    pub const DELETE: CleanupPolicy = CleanupPolicy {
        delete: true,
        compact: false,
    };

    /// Parses Kafka's list form: `delete`, `compact`, `compact,delete` (any
    /// order, spaces allowed); `None` for anything else or an empty list.
    pub fn parse(value: &str) -> Option<CleanupPolicy> {
        let mut policy = CleanupPolicy::default();
        for part in value.split(',') {
            match part.trim() {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                _ => return None,
            }
        }
        Some(policy)
    }
}

impl std::fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.compact, self.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        })
    }
}

/// Settings that govern one partition log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll the active segment before it would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll once the active segment's first batch is this old.
    pub segment_ms: i64,
    /// `index.interval.bytes`: bytes of batches between two offset index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms`: delete segments whose newest record is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest segments while the log is larger; -1 = no limit.
    pub retention_bytes: i64,
    /// `flush.messages`: fsync after this many records; `None` leaves it to the OS.
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync when the last flush is this old; `None` leaves it to the OS.
    pub flush_ms: Option<i64>,
    /// `max.message.bytes`: the largest batch accepted.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`: `LogAppendTime` stamps batches with the broker clock.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy`: retention applies with `delete`, the cleaner with `compact`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long a tombstone outlives the clean that
    /// first kept it, so consumers reading from the start still see deletions.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio` in permille: the share of the log not yet
    /// cleaned above which the cleaner takes it.
    pub min_cleanable_dirty_permille: u32,
    /// `min.compaction.lag.ms`: records younger than this stay uncompacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a record this old is compacted whatever the ratio.
    pub max_compaction_lag_ms: i64,
    /// `compression.type` other than `producer`: the codec a leader stores
    /// batches in, recompressing those that arrive in another.
    pub compression: Option<kfk_wire::TargetCodec>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: DEFAULT_SEGMENT_MS,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            retention_ms: DEFAULT_RETENTION_MS,
            retention_bytes: -1,
            flush_messages: None,
            flush_ms: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            timestamp_type: TimestampType::CreateTime,
            cleanup_policy: CleanupPolicy::DELETE,
            delete_retention_ms: DEFAULT_DELETE_RETENTION_MS,
            min_cleanable_dirty_permille: DEFAULT_MIN_CLEANABLE_DIRTY_PERMILLE,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            compression: None,
        }
    }
}
