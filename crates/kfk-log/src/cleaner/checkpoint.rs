//! How far a log has been cleaned, and when each part was (Kafka's
//! `cleaner-offset-checkpoint`, kept here per partition in its directory so
//! it moves and goes with the partition).
//!
//! The history of recent cleans is what lets tombstones go at the right
//! time: a tombstone may be removed once the first clean that kept it is
//! `delete.retention.ms` old, so a consumer reading the log from its start
//! within that time still sees the deletion. One line per clean,
//! `<finished ms> <first dirty offset after it>`, oldest first.

use std::io;
use std::path::Path;

const FILE_NAME: &str = "cleaner-offset-checkpoint";
/// Cleans remembered at most; thinning keeps the later of two neighbours,
/// which only delays a tombstone's removal.
const MAX_ENTRIES: usize = 64;

/// One finished clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    finished_ms: i64,
    first_dirty_offset: i64,
}

/// A log's cleaning progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanHistory {
    entries: Vec<Entry>,
}

impl CleanHistory {
    /// Records below this offset have been through a clean.
    pub fn first_dirty_offset(&self) -> i64 {
        self.entries.last().map_or(0, |e| e.first_dirty_offset)
    }

    /// When the last clean finished, if one did.
    pub fn last_clean_ms(&self) -> Option<i64> {
        self.entries.last().map(|e| e.finished_ms)
    }

    /// Offsets below this were cleaned at least `delete_retention_ms` ago:
    /// their tombstones may go.
    pub fn tombstones_expire_below(&self, now_ms: i64, delete_retention_ms: i64) -> i64 {
        self.entries
            .iter()
            .filter(|e| now_ms.saturating_sub(e.finished_ms) >= delete_retention_ms)
            .map(|e| e.first_dirty_offset)
            .max()
            .unwrap_or(0)
    }

    /// Notes a clean that finished at `now_ms` having covered the log below
    /// `first_dirty_offset`, forgetting what `delete_retention_ms` no longer needs.
    pub fn record(&mut self, now_ms: i64, first_dirty_offset: i64, delete_retention_ms: i64) {
        self.entries.push(Entry {
            finished_ms: now_ms,
            first_dirty_offset,
        });
        // Of the cleans old enough to free tombstones, only the newest matters.
        let old = self
            .entries
            .iter()
            .rposition(|e| now_ms.saturating_sub(e.finished_ms) >= delete_retention_ms);
        if let Some(i) = old {
            self.entries.drain(..i);
        }
        while self.entries.len() > MAX_ENTRIES {
            // Keep the first and the last; drop every other one between.
            let mut i = 1;
            while i + 1 < self.entries.len() {
                self.entries.remove(i);
                i += 1;
            }
        }
    }

    /// The log was cut back to `offset`: nothing from there on is clean.
    /// True when that changed anything.
    pub fn truncate(&mut self, offset: i64) -> bool {
        let mut changed = false;
        for e in &mut self.entries {
            if e.first_dirty_offset > offset {
                e.first_dirty_offset = offset;
                changed = true;
            }
        }
        changed
    }

    /// The stored history; empty (never cleaned) when there is none or it
    /// does not parse: a lost checkpoint only costs a clean of the whole log
    /// and tombstones kept one more `delete.retention.ms`.
    pub fn load(dir: &Path) -> CleanHistory {
        let Ok(text) = std::fs::read_to_string(dir.join(FILE_NAME)) else {
            return CleanHistory::default();
        };
        let mut entries = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut fields = line.split_whitespace().map(str::parse::<i64>);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(Ok(finished_ms)), Some(Ok(first_dirty_offset)), None)
                    if first_dirty_offset >= 0 =>
                {
                    entries.push(Entry {
                        finished_ms,
                        first_dirty_offset,
                    });
                }
                _ => return CleanHistory::default(),
            }
        }
        CleanHistory { entries }
    }

    /// Writes the history durably.
    pub fn store(&self, dir: &Path) -> io::Result<()> {
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.finished_ms, e.first_dirty_offset));
        }
        crate::write_atomically(&dir.join(FILE_NAME), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_forgives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CleanHistory::load(dir.path()), CleanHistory::default());
        let mut h = CleanHistory::default();
        h.record(1_000, 50, 10_000);
        h.record(2_000, 80, 10_000);
        h.store(dir.path()).unwrap();
        assert_eq!(CleanHistory::load(dir.path()), h);
        assert_eq!(h.first_dirty_offset(), 80);
        assert_eq!(h.last_clean_ms(), Some(2_000));
        std::fs::write(dir.path().join(FILE_NAME), "x y").unwrap();
        assert_eq!(CleanHistory::load(dir.path()), CleanHistory::default());
    }

    #[test]
    fn tombstones_expire_once_their_first_clean_is_old_enough() {
        let mut h = CleanHistory::default();
        h.record(1_000, 100, 5_000);
        h.record(4_000, 300, 5_000);
        assert_eq!(h.tombstones_expire_below(5_999, 5_000), 0);
        assert_eq!(h.tombstones_expire_below(6_000, 5_000), 100);
        assert_eq!(h.tombstones_expire_below(9_000, 5_000), 300);
        // Old cleans collapse into the newest old one.
        h.record(20_000, 400, 5_000);
        assert_eq!(h.entries.len(), 2);
        assert_eq!(h.tombstones_expire_below(20_000, 5_000), 300);
        assert!(h.truncate(350));
        assert_eq!(h.first_dirty_offset(), 350);
    }

    #[test]
    fn the_history_stays_bounded() {
        let mut h = CleanHistory::default();
        for i in 0..1_000 {
            h.record(i, i * 10, i64::MAX);
        }
        assert!(h.entries.len() <= MAX_ENTRIES);
        assert_eq!(h.first_dirty_offset(), 9_990);
        assert_eq!(h.entries[0].first_dirty_offset, 0);
    }
}
