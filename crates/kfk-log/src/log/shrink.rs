//! Shortening a log from either end: a follower truncating to its leader's
//! history, starting over at a new offset, and deleting whole segments from
//! the start (a leader's log start, retention by time and size).

use tracing::info;

use crate::error::{IoContext, Result};
use crate::segment::Segment;

use super::{Log, modified_ms};

impl Log {
    /// Removes every batch from the one containing `offset` on (a follower
    /// truncating to its leader's epoch end offset). Batches are atomic, so the
    /// new log end offset may be below `offset`; it is returned.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn truncate_to(&self, offset: i64) -> Result<i64> {
        let mut st = self.lock();
        if offset >= st.next_offset() {
            return Ok(st.next_offset());
        }
        if offset <= st.log_start_offset() {
            drop(st);
            self.truncate_fully_and_start_at(offset)?;
            return Ok(offset);
        }
        let interval = self.config().index_interval_bytes;
        st.truncations += 1;
        while st.segments.len() > 1 && st.active().base_offset >= offset {
            if let Some(seg) = st.segments.pop() {
                seg.delete_files()?;
            }
        }
        st.active().truncate_to(offset, interval)?;
        let end = st.next_offset();
        if st.epochs.truncate_from_end(end) {
            st.epochs.write()?;
        }
        if st.history.truncate(end) {
            st.history.store(&self.dir).at(&self.dir)?;
        }
        self.recovery_point.truncated(end)?;
        info!(log = %self.dir.display(), requested = offset, log_end_offset = end, "truncated log");
        Ok(end)
    }

    /// Deletes all data and restarts the log empty at `offset` (a follower whose
    /// leader no longer has what it holds).
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<()> {
        let mut st = self.lock();
        st.truncations += 1;
        for seg in st.segments.drain(..) {
            seg.delete_files()?;
        }
        if st.history.truncate(offset) {
            st.history.store(&self.dir).at(&self.dir)?;
        }
        st.segments.push(Segment::create(&self.dir, offset)?);
        st.start = offset;
        crate::log_start::store(&self.dir, offset, offset).at(&self.dir)?;
        if st.epochs.clear() {
            st.epochs.write()?;
        }
        self.recovery_point.set(offset)?;
        info!(log = %self.dir.display(), offset, "truncated log fully");
        Ok(())
    }

    /// Deletes the oldest segments that lie entirely below `offset` (a
    /// compacted prefix, or what the leader already deleted). The log start
    /// moves to the first segment kept; the active segment always stays.
    /// Returns how many segments were deleted.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn delete_segments_before(&self, offset: i64) -> Result<usize> {
        let mut st = self.lock();
        let count = st
            .segments
            .windows(2)
            .take_while(|w| w[1].base_offset <= offset)
            .count();
        if count == 0 {
            return Ok(0);
        }
        let deleted: Vec<Segment> = st.segments.drain(..count).collect();
        for seg in &deleted {
            seg.delete_files()?;
        }
        let start = st.log_start_offset();
        if st.epochs.truncate_from_start(start) {
            st.epochs.write()?;
        }
        info!(log = %self.dir.display(), segments = count, log_start_offset = start,
            "deleted segments below a new log start");
        Ok(count)
    }

    /// Moves the log start to `offset` (at most the log end): the records
    /// below it are gone for every reader, and the segments wholly below it
    /// are deleted. Kafka's DeleteRecords on a leader; a follower does the
    /// same with its leader's log start. Returns the log start after it.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn advance_log_start(&self, offset: i64) -> Result<i64> {
        let mut st = self.lock();
        let target = offset.min(st.next_offset());
        if target <= st.log_start_offset() {
            return Ok(st.log_start_offset());
        }
        st.start = target;
        let count = st
            .segments
            .windows(2)
            .take_while(|w| w[1].base_offset <= target)
            .count();
        let deleted: Vec<Segment> = st.segments.drain(..count).collect();
        // The start is on disk before the data under it goes.
        crate::log_start::store(&self.dir, target, st.segments[0].base_offset).at(&self.dir)?;
        for seg in &deleted {
            seg.delete_files()?;
        }
        if st.epochs.truncate_from_start(target) {
            st.epochs.write()?;
        }
        info!(log = %self.dir.display(), log_start_offset = target, segments_deleted = count,
            "records deleted below a new log start");
        Ok(target)
    }

    /// Applies retention: deletes the oldest segments whose newest record is
    /// older than `retention.ms`, then while the log exceeds `retention.bytes`.
    /// Returns how many segments were deleted.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn delete_old_segments(&self, now_ms: i64) -> Result<usize> {
        let config = self.config();
        if !config.cleanup_policy.delete {
            return Ok(0);
        }
        let mut st = self.lock();
        let mut count = 0;
        if config.retention_ms >= 0 {
            for seg in &st.segments {
                let newest = if seg.max_timestamp >= 0 {
                    seg.max_timestamp
                } else {
                    modified_ms(&seg.log_path)
                };
                if seg.size == 0 || now_ms - newest <= config.retention_ms {
                    break;
                }
                count += 1;
            }
        }
        if config.retention_bytes >= 0 {
            let total: u64 = st.segments.iter().map(|s| s.size).sum();
            let mut excess = total as i64 - config.retention_bytes;
            for seg in &st.segments[..count] {
                excess -= seg.size as i64;
            }
            let closed = st.segments.len() - 1;
            for seg in st.segments.iter().take(closed).skip(count) {
                if excess - (seg.size as i64) < 0 {
                    break;
                }
                excess -= seg.size as i64;
                count += 1;
            }
        }
        if count == 0 {
            return Ok(0);
        }
        if count == st.segments.len() {
            self.roll_locked(&mut st)?;
        }
        let deleted: Vec<Segment> = st.segments.drain(..count).collect();
        for seg in &deleted {
            seg.delete_files()?;
        }
        let start = st.log_start_offset();
        if st.epochs.truncate_from_start(start) {
            st.epochs.write()?;
        }
        info!(log = %self.dir.display(), segments = count, log_start_offset = st.log_start_offset(),
            "deleted segments by retention");
        Ok(count)
    }
}
