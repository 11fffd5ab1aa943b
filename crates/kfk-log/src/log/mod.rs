//! One partition's log: an ordered list of segments, the last one active.
//!
//! Appends validate batch headers and CRCs, assign offsets by rewriting each
//! batch's base offset in place and write the request's bytes with one positional
//! write. Reads find their starting batch through the sparse index and return the
//! stored bytes as they are. Both are safe to run concurrently: the lock is held
//! for bookkeeping and the write, never while a reader copies bytes out.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kfk_wire::{BatchError, BatchHeader, BatchHeaderMut, BatchSummary, TimestampType};
use tracing::{debug, info, warn};

use crate::cleaner::CleanHistory;
use crate::config::LogConfig;
use crate::error::{IoContext, LogError, Result};
use crate::leader_epoch::{EpochEntry, LeaderEpochCache};
use crate::recovery_point::RecoveryPoint;
use crate::segment::{Segment, delete_segment_files};

/// Written on clean close, removed on open: its absence means "recover".
pub const CLEAN_SHUTDOWN_FILE: &str = ".kfk_clean_shutdown";
/// Present once the log may have holes between batches (it was cleaned, or
/// copies a cleaned leader): recovery then accepts a batch that starts past
/// where the previous one ended.
const HOLES_FILE: &str = "offset-holes";

/// Milliseconds since the Unix epoch, the unit of every Kafka timestamp.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The outcome of an append, as the produce response needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// The broker time stamped on the batches, when the log uses LogAppendTime
    /// (the produce response's `log_append_time_ms`, -1 there when `None`).
    pub log_append_time_ms: Option<i64>,
    /// Largest timestamp among the appended batches.
    pub max_timestamp: i64,
    /// Number of records appended.
    pub record_count: i64,
    /// Bytes appended.
    pub size_bytes: usize,
    /// The log start offset after the append.
    pub log_start_offset: i64,
}

/// Bytes served by a read, plus the offsets a fetch response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole batches, verbatim; empty at the end of the log.
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

#[derive(Debug)]
struct LogState {
    /// Sorted by base offset, never empty; the last one is active.
    segments: Vec<Segment>,
    /// The first offset readers may see when records were deleted up to it
    /// in the middle of a segment (DeleteRecords, or following a leader that
    /// did); below the first segment's base it means nothing.
    start: i64,
    epochs: LeaderEpochCache,
    /// What the cleaner has done to this log.
    history: CleanHistory,
    /// Whether [`HOLES_FILE`] is there.
    holes: bool,
    /// Counts truncations from the end: a clean that saw another count
    /// gives up rather than install a copy made against records now gone.
    truncations: u64,
    unflushed_messages: u64,
    last_flush_ms: i64,
}

impl LogState {
    fn active(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }
    fn next_offset(&self) -> i64 {
        self.segments[self.segments.len() - 1].next_offset
    }
    fn log_start_offset(&self) -> i64 {
        self.start.max(self.segments[0].base_offset)
    }
    /// Index of the segment that holds `offset` (the last with base <= offset).
    fn segment_index(&self, offset: i64) -> usize {
        self.segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1)
    }
    fn check_range(&self, offset: i64) -> Result<()> {
        if offset < self.log_start_offset() || offset > self.next_offset() {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset(),
                log_end_offset: self.next_offset(),
            });
        }
        Ok(())
    }
}

/// A durable, segmented, append-only log of Kafka v2 record batches.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: RwLock<LogConfig>,
    state: Mutex<LogState>,
    recovery_point: Arc<RecoveryPoint>,
    /// Set while a clean of this log runs: one at a time.
    cleaning: AtomicBool,
}

/// Splits and checks a produce payload (or, `replicated`, a leader's log
/// as a follower copies it, where cleaned batches have holes): every batch
/// must be whole, valid and within `max.message.bytes`.
fn validate_record_set(
    records: &[u8],
    config: &LogConfig,
    replicated: bool,
) -> Result<Vec<(usize, BatchSummary)>> {
    if records.is_empty() {
        return Err(LogError::EmptyRecordSet);
    }
    if records.len() as u64 > config.segment_bytes {
        return Err(LogError::BatchTooLarge {
            size: records.len(),
            limit: config.segment_bytes as usize,
        });
    }
    let mut batches = Vec::with_capacity(1);
    let mut pos = 0;
    while pos < records.len() {
        let classify = |source: BatchError| {
            if source.is_corrupt() {
                LogError::CorruptBatch {
                    position: pos,
                    source,
                }
            } else {
                LogError::InvalidBatch {
                    position: pos,
                    source,
                }
            }
        };
        let header = BatchHeader::parse(&records[pos..]).map_err(classify)?;
        if replicated {
            header.validate_stored()
        } else {
            header.validate()
        }
        .map_err(classify)?;
        if header.size() > config.max_message_bytes {
            return Err(LogError::BatchTooLarge {
                size: header.size(),
                limit: config.max_message_bytes,
            });
        }
        batches.push((pos, header.summary()));
        pos += header.size();
    }
    Ok(batches)
}

fn list_segment_bases(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".log")
            && stem.len() == 20
            && let Ok(base) = stem.parse::<i64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

impl Log {
    /// Opens (or creates) the log in `dir`. Without the clean-shutdown marker,
    /// every segment past the recovery point is checked batch by batch and cut at
    /// the first torn or corrupt batch.
    ///
    /// # Errors
    /// [`LogError::Io`] when the directory or a segment cannot be read.
    pub fn open(dir: impl Into<PathBuf>, config: LogConfig) -> Result<Log> {
        Log::open_after(dir, config, false)
    }

    /// [`Log::open`] knowing whether the whole data directory was closed
    /// cleanly (its manager's marker), so each log needs no marker of its own.
    pub(crate) fn open_after(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        closed_cleanly: bool,
    ) -> Result<Log> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).at(&dir)?;
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let own_marker = marker.exists();
        if own_marker {
            std::fs::remove_file(&marker).at(&marker)?;
        }
        let clean = closed_cleanly || own_marker;
        crate::cleaner::swap::complete_interrupted(&dir)?;
        let recovery_point = RecoveryPoint::load(&dir);
        let rp = recovery_point.get();
        let bases = list_segment_bases(&dir)?;
        let holes = dir.join(HOLES_FILE).exists();
        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let next_base = bases.get(i + 1).copied();
            let recover = !clean && next_base.is_none_or(|nb| nb > rp);
            // The active segment's tail is checked at every start, clean or not.
            let active = next_base.is_none();
            let (segment, recovered) = Segment::open(
                &dir,
                base,
                recover,
                active,
                config.index_interval_bytes,
                holes,
            )?;
            segments.push(segment);
            if recovered.truncated_bytes > 0 && next_base.is_some() {
                // Data after a hole cannot be trusted to follow on: drop it.
                for &later in &bases[i + 1..] {
                    warn!(log = %dir.display(), base_offset = later, "deleting segment after a truncated one");
                    delete_segment_files(&dir, later)?;
                }
                break;
            }
        }
        if segments.is_empty() {
            segments.push(Segment::create(&dir, 0)?);
        }
        let cached_epochs = LeaderEpochCache::load(&dir);
        let rebuild_epochs = cached_epochs.is_none();
        // Recovery may have cut the log below a stored start.
        let end = segments.last().map_or(0, |s| s.next_offset);
        let start = crate::log_start::load(&dir).min(end);
        let log = Log {
            config: RwLock::new(config),
            state: Mutex::new(LogState {
                start,
                epochs: cached_epochs.unwrap_or_else(|| LeaderEpochCache::empty(&dir)),
                history: CleanHistory::load(&dir),
                holes,
                truncations: 0,
                segments,
                unflushed_messages: 0,
                last_flush_ms: now_ms(),
            }),
            recovery_point: Arc::new(recovery_point),
            cleaning: AtomicBool::new(false),
            dir,
        };
        log.reconcile_epochs(rebuild_epochs, (!clean).then_some(rp))?;
        debug!(log = %log.dir.display(), clean, log_start_offset = log.log_start_offset(),
            log_end_offset = log.log_end_offset(), "opened log");
        Ok(log)
    }

    /// Makes the leader epoch cache agree with the log: rebuilt from the batch
    /// headers when its file is missing, trimmed to the log's offsets otherwise
    /// (recovery may have cut the tail, retention the head). After a crash
    /// (`recovered_from` is the recovery point) the file is only trusted below
    /// the recovery point: epochs begun past it were never written, and are
    /// read from the batches there.
    fn reconcile_epochs(&self, rebuild: bool, recovered_from: Option<i64>) -> Result<()> {
        let rescan_from = if rebuild {
            Some(self.log_start_offset())
        } else {
            recovered_from
        };
        if let Some(from) = rescan_from {
            // What the file vouches for below `from` (nothing to rebuild).
            let empty = LeaderEpochCache::empty(&self.dir);
            let mut epochs = std::mem::replace(&mut self.lock().epochs, empty);
            let mut changed = epochs.truncate_from_end(from);
            self.scan_batches(from, |b| {
                changed |= epochs.assign(b.partition_leader_epoch, b.base_offset);
            })?;
            if changed {
                // Written at the next flush, like epochs appended.
                epochs.mark_unwritten();
            }
            self.lock().epochs = epochs;
        }
        let mut st = self.lock();
        let (start, end) = (st.log_start_offset(), st.next_offset());
        let trimmed = st.epochs.truncate_from_end(end) | st.epochs.truncate_from_start(start);
        // A new, empty log has no epochs to record: its checkpoint is
        // written at the first flush or roll after its first batch.
        let nothing_to_record = rebuild && st.epochs.entries().is_empty() && end == start;
        if (rebuild || trimmed) && !nothing_to_record {
            st.epochs.write()?;
        }
        Ok(())
    }

    /// Records the epochs of appended batches in memory; the checkpoint file
    /// follows at the next flush or roll (see `LeaderEpochCache::unwritten`).
    fn note_epochs(st: &mut LogState, batches: &[(usize, BatchSummary)]) {
        for (_, b) in batches {
            if st.epochs.assign(b.partition_leader_epoch, b.base_offset) {
                st.epochs.mark_unwritten();
            }
        }
    }

    /// The latest leader epoch that wrote to this log.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock().epochs.latest_epoch()
    }

    /// Where `epoch` ended in this log, as OffsetForLeaderEpoch answers:
    /// `(largest epoch <= epoch, its end offset)`, or `(-1, -1)` when unknown.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let st = self.lock();
        st.epochs.end_offset_for(epoch, st.next_offset())
    }

    /// The leader epoch history, oldest first.
    pub fn epoch_entries(&self) -> Vec<EpochEntry> {
        self.lock().epochs.entries().to_vec()
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        kfk_sync::lock(&self.state)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> LogConfig {
        kfk_sync::read(&self.config).clone()
    }

    /// Whether a clean of this log is running.
    pub fn is_cleaning(&self) -> bool {
        self.cleaning.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Applies new topic settings (AlterConfigs); they govern the next operation.
    pub fn set_config(&self, config: LogConfig) {
        *kfk_sync::write(&self.config) = config;
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.lock().log_start_offset()
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().next_offset()
    }

    /// Bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.lock().segments.iter().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.lock().segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.lock().segments.iter().map(|s| s.base_offset).collect()
    }

    /// Offset below which the log is known to be on disk.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point.get()
    }

    /// Appends a producer's record set as the partition leader, at the current time.
    ///
    /// # Errors
    /// See [`Log::append_at`].
    pub fn append(&self, records: &mut [u8], leader_epoch: i32) -> Result<AppendInfo> {
        self.append_at(records, leader_epoch, now_ms())
    }

    /// Appends a producer's record set (one or more v2 batches) as the partition
    /// leader: offsets are assigned by rewriting each batch's base offset and the
    /// partition leader epoch in `records`, which is then written verbatim.
    ///
    /// # Errors
    /// [`LogError::CorruptBatch`], [`LogError::InvalidBatch`],
    /// [`LogError::BatchTooLarge`], [`LogError::EmptyRecordSet`] or
    /// [`LogError::Io`]; in every case the log is unchanged.
    pub fn append_at(
        &self,
        records: &mut [u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo> {
        let config = self.config();
        let mut batches = validate_record_set(records, &config, false)?;
        let record_count: i64 = batches.iter().map(|(_, s)| i64::from(s.record_count)).sum();
        let log_append = config.timestamp_type == TimestampType::LogAppendTime;
        let incoming_max_ts = if log_append {
            now_ms
        } else {
            batches
                .iter()
                .map(|(_, s)| s.max_timestamp)
                .max()
                .unwrap_or(-1)
        };

        let mut st = self.lock();
        self.maybe_roll(
            &mut st,
            &config,
            records.len(),
            record_count,
            incoming_max_ts,
        )?;
        let base_offset = st.next_offset();
        let mut next = base_offset;
        for (pos, summary) in &mut batches {
            let size = summary.size;
            let mut header = match BatchHeaderMut::parse(&mut records[*pos..*pos + size]) {
                Ok(h) => h,
                Err(source) => {
                    return Err(LogError::InvalidBatch {
                        position: *pos,
                        source,
                    });
                }
            };
            header.set_base_offset(next);
            header.set_partition_leader_epoch(leader_epoch);
            if log_append {
                header.set_log_append_time(now_ms);
            }
            *summary = header.view().summary();
            next = summary.next_offset();
        }
        st.active()
            .append(records, &batches, config.index_interval_bytes)?;
        Self::note_epochs(&mut st, &batches);
        st.unflushed_messages += record_count as u64;
        let info = AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time_ms: log_append.then_some(now_ms),
            max_timestamp: incoming_max_ts,
            record_count,
            size_bytes: records.len(),
            log_start_offset: st.log_start_offset(),
        };
        self.flush_if_due(&mut st, &config, now_ms)?;
        Ok(info)
    }

    /// Appends batches fetched from the partition leader, keeping their offsets
    /// and epochs (the follower side of replication).
    ///
    /// # Errors
    /// As [`Log::append_at`], plus [`LogError::NonMonotonicOffset`] when the
    /// batches do not start at or after the log end offset.
    pub fn append_replicated(&self, records: &[u8]) -> Result<AppendInfo> {
        let config = self.config();
        let batches = validate_record_set(records, &config, true)?;
        let record_count: i64 = batches.iter().map(|(_, s)| i64::from(s.record_count)).sum();
        let first = batches[0].1;
        let last = batches[batches.len() - 1].1;
        let max_ts = batches
            .iter()
            .map(|(_, s)| s.max_timestamp)
            .max()
            .unwrap_or(-1);
        let mut st = self.lock();
        if first.base_offset < st.next_offset() {
            return Err(LogError::NonMonotonicOffset {
                base_offset: first.base_offset,
                log_end_offset: st.next_offset(),
            });
        }
        // Offsets only go up; the cleaner may have left holes between batches.
        let mut expected = first.base_offset;
        for (_, s) in &batches {
            if s.base_offset < expected || s.last_offset < s.base_offset {
                return Err(LogError::NonMonotonicOffset {
                    base_offset: s.base_offset,
                    log_end_offset: expected,
                });
            }
            expected = s.next_offset();
        }
        if first.base_offset > st.next_offset() && st.active().size == 0 {
            // An empty log following a leader whose log starts later.
            self.start_segment_at(&mut st, first.base_offset)?;
        }
        let mut expected = st.next_offset();
        let gap = batches.iter().any(|(_, s)| {
            let gap = s.base_offset > expected;
            expected = s.next_offset();
            gap
        });
        if gap {
            self.note_holes(&mut st)?;
        }
        let offsets = last.last_offset - st.next_offset() + 1;
        self.maybe_roll(&mut st, &config, records.len(), offsets, max_ts)?;
        st.active()
            .append(records, &batches, config.index_interval_bytes)?;
        Self::note_epochs(&mut st, &batches);
        st.unflushed_messages += record_count as u64;
        let info = AppendInfo {
            base_offset: first.base_offset,
            last_offset: last.last_offset,
            log_append_time_ms: None,
            max_timestamp: max_ts,
            record_count,
            size_bytes: records.len(),
            log_start_offset: st.log_start_offset(),
        };
        self.flush_if_due(&mut st, &config, now_ms())?;
        Ok(info)
    }

    /// Records, durably and before any batch leaves one, that this log may
    /// have holes.
    fn note_holes(&self, st: &mut LogState) -> Result<()> {
        if !st.holes {
            let path = self.dir.join(HOLES_FILE);
            crate::write_atomically(&path, b"").at(&path)?;
            st.holes = true;
            for seg in &mut st.segments {
                seg.allow_holes();
            }
        }
        Ok(())
    }

    /// Rolls the active segment if the incoming `bytes` would overflow
    /// `segment.bytes`, its first batch is older than `segment.ms` relative to the
    /// incoming timestamp, or the offsets would overflow the index.
    fn maybe_roll(
        &self,
        st: &mut LogState,
        config: &LogConfig,
        bytes: usize,
        offsets: i64,
        incoming_max_ts: i64,
    ) -> Result<()> {
        let active = st.active();
        if active.size == 0 {
            return Ok(());
        }
        let full = active.size + bytes as u64 > config.segment_bytes;
        let old = active
            .first_batch_timestamp
            .is_some_and(|first| incoming_max_ts - first > config.segment_ms);
        let offsets_overflow = !active.can_hold_offset(active.next_offset + offsets - 1);
        if full || old || offsets_overflow {
            self.roll_locked(st)?;
        }
        Ok(())
    }

    fn roll_locked(&self, st: &mut LogState) -> Result<()> {
        let new_base = st.next_offset();
        if st.active().size == 0 {
            return Ok(());
        }
        self.start_segment_at(st, new_base)
    }

    /// Seals the active segment (or drops it when empty) and starts a new one at
    /// `new_base`, which must not be below the log end offset.
    fn start_segment_at(&self, st: &mut LogState, new_base: i64) -> Result<()> {
        let active = st.active();
        if active.size == 0 {
            if active.base_offset != new_base {
                let dir = self.dir.clone();
                if let Some(old) = st.segments.pop() {
                    old.delete_files()?;
                }
                let mut segment = Segment::create(&dir, new_base)?;
                if st.holes {
                    segment.allow_holes();
                }
                st.segments.push(segment);
            }
            return Ok(());
        }
        active.seal()?;
        let old_base = active.base_offset;
        let old_file = active.file.get().at(&active.log_path)?;
        let index_paths = [
            active.offset_index.path().to_path_buf(),
            active.time_index.path().to_path_buf(),
        ];
        // The recovery point is about to pass every epoch begun so far.
        st.epochs.write_if_unwritten()?;
        let mut segment = Segment::create(&self.dir, new_base)?;
        if st.holes {
            segment.allow_holes();
        }
        st.segments.push(segment);
        info!(log = %self.dir.display(), base_offset = new_base, "rolled new segment");
        // fsync the sealed segment off the append path, then move the recovery point.
        let rp = Arc::clone(&self.recovery_point);
        let generation = rp.generation();
        let spawned = std::thread::Builder::new()
            .name("kfk-log-roll-flush".into())
            .spawn(move || {
                let synced = old_file.sync_data().is_ok()
                    && index_paths
                        .iter()
                        .all(|p| std::fs::File::open(p).and_then(|f| f.sync_all()).is_ok());
                if synced && let Err(e) = rp.advance(generation, old_base, new_base) {
                    warn!(error = %e, "could not write recovery point");
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "could not start the roll flush thread; recovery will rescan");
        }
        Ok(())
    }

    /// Rolls a new active segment now (no-op when the active one is empty).
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn roll(&self) -> Result<()> {
        let mut st = self.lock();
        self.roll_locked(&mut st)
    }

    fn flush_if_due(&self, st: &mut LogState, config: &LogConfig, now_ms: i64) -> Result<()> {
        let by_count = config
            .flush_messages
            .is_some_and(|n| st.unflushed_messages >= n);
        let by_time = config
            .flush_ms
            .is_some_and(|ms| st.unflushed_messages > 0 && now_ms - st.last_flush_ms >= ms);
        if by_count || by_time {
            self.flush_locked(st, now_ms)?;
        }
        Ok(())
    }

    /// Flushes if `flush.ms` has elapsed; the log manager calls this periodically.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn flush_if_stale(&self, now_ms: i64) -> Result<()> {
        let config = self.config();
        let mut st = self.lock();
        if config.flush_messages.is_none() && config.flush_ms.is_none() {
            return Ok(());
        }
        self.flush_if_due(&mut st, &config, now_ms)
    }

    fn flush_locked(&self, st: &mut LogState, now_ms: i64) -> Result<()> {
        let rp = self.recovery_point.get();
        // Only segments holding records past the recovery point: an empty
        // log (thousands of them right after a big create) costs no fsync.
        for seg in &mut st.segments {
            if seg.next_offset > rp.max(seg.base_offset) {
                seg.sync()?;
            }
        }
        st.epochs.write_if_unwritten()?;
        st.unflushed_messages = 0;
        st.last_flush_ms = now_ms;
        self.recovery_point
            .advance(self.recovery_point.generation(), 0, st.next_offset())
    }

    /// Forces everything appended so far to disk and moves the recovery point to
    /// the log end offset.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn flush(&self) -> Result<()> {
        let mut st = self.lock();
        self.flush_locked(&mut st, now_ms())
    }

    /// Flushes everything and writes the clean-shutdown marker so the next open
    /// skips recovery. The log must not be used afterwards.
    ///
    /// # Errors
    /// [`LogError::Io`]; without the marker the next open recovers.
    pub fn close(&self) -> Result<()> {
        self.close_unmarked()?;
        // No fsync: the data it vouches for is already on disk, and a marker
        // lost in a crash only means the next open recovers.
        let marker = self.dir.join(CLEAN_SHUTDOWN_FILE);
        std::fs::File::create(&marker).at(&marker)?;
        Ok(())
    }

    /// Flushes everything, leaving the clean-shutdown marker to the caller:
    /// the log manager writes one for its whole directory, since a file per
    /// partition is 100,000 file creations for a broker that has as many.
    pub(crate) fn close_unmarked(&self) -> Result<()> {
        let mut st = self.lock();
        self.flush_locked(&mut st, now_ms())?;
        self.recovery_point.close();
        Ok(())
    }

    /// Deletes the log's directory and everything in it.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn delete(&self) -> Result<()> {
        let _st = self.lock();
        self.recovery_point.close();
        std::fs::remove_dir_all(&self.dir).at(&self.dir)
    }
}

impl Drop for Log {
    /// A dropped log may be reopened in this process: its roll-flush threads must
    /// not write the recovery point after that.
    fn drop(&mut self) {
        self.recovery_point.close();
    }
}

fn modified_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

mod clean;
mod read;
mod shrink;
mod txn;

pub use clean::{CleanStats, Dirtiness};
pub use read::{FileRange, Located};
