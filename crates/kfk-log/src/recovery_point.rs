//! The recovery point: the offset below which a log is known to be on disk.
//!
//! After a crash only segments at or past the recovery point are rescanned, so a
//! restart costs time proportional to unflushed data rather than to the log's
//! size (Kafka's `recovery-point-offset-checkpoint`, kept per partition here).
//! It advances when data is fsynced: on `flush()` and, in the background, when a
//! segment is rolled.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{IoContext, Result};

const FILE_NAME: &str = "recovery-point";

#[derive(Debug)]
struct State {
    value: i64,
    /// Set once the log is closed or deleted: late background flushes must not
    /// write into a directory that may now belong to someone else.
    closed: bool,
    /// Bumped by every truncation: a background flush of a segment that a
    /// truncation since removed must not move the point past the new end.
    generation: u64,
}

/// Shared between a log and the threads that fsync its rolled segments.
#[derive(Debug)]
pub(crate) struct RecoveryPoint {
    path: PathBuf,
    state: Mutex<State>,
}

impl RecoveryPoint {
    /// Reads the stored value; a missing or unreadable file means 0 (rescan all).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join(FILE_NAME);
        let value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|v| *v >= 0)
            .unwrap_or(0);
        RecoveryPoint {
            path,
            state: Mutex::new(State {
                value,
                closed: false,
                generation: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        kfk_sync::lock(&self.state)
    }

    pub fn get(&self) -> i64 {
        self.lock().value
    }

    /// The truncation generation, taken when a background flush starts.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Moves the point up to `to`, but only if everything below `synced_from` was
    /// already synced (the point is at least there) and no truncation happened
    /// since `generation` was read. Background flushes of consecutive rolls may
    /// finish out of order, or after a truncation; this keeps the point honest.
    pub fn advance(&self, generation: u64, synced_from: i64, to: i64) -> Result<()> {
        let mut st = self.lock();
        if st.closed || st.generation != generation || st.value < synced_from || to <= st.value {
            return Ok(());
        }
        st.value = to;
        self.write(to)
    }

    /// Lowers the point (after truncation) or resets it (after a full truncation).
    pub fn set(&self, to: i64) -> Result<()> {
        let mut st = self.lock();
        st.generation += 1;
        if st.closed || st.value == to {
            return Ok(());
        }
        st.value = to;
        self.write(to)
    }

    /// After a truncation to `end`: pending background flushes no longer
    /// count, and the point comes down to `end` if it was above.
    pub fn truncated(&self, end: i64) -> Result<()> {
        let mut st = self.lock();
        st.generation += 1;
        if st.closed || st.value <= end {
            return Ok(());
        }
        st.value = end;
        self.write(end)
    }

    /// Stops all further writes.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    fn write(&self, value: i64) -> Result<()> {
        crate::write_atomically(&self.path, format!("{value}\n").as_bytes()).at(&self.path)
    }
}
