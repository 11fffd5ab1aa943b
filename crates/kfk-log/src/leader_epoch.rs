//! The leader epoch cache: at which offset each leader epoch began.
//!
//! Replication needs it to answer OffsetForLeaderEpoch (KIP-101): a broker that
//! comes back as a follower asks the leader where its last epoch ended on the
//! leader and truncates whatever it has past that point, so diverging records
//! written by a deposed leader never survive. Kept in the partition directory
//! as Kafka's `leader-epoch-checkpoint` file:
//!
//! ```text
//! 0            format version
//! 2            number of entries
//! 0 0          epoch start-offset
//! 3 1200
//! ```

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

const FILE_NAME: &str = "leader-epoch-checkpoint";
/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_OFFSET: i64 = -1;

/// One epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

#[derive(Debug)]
pub(crate) struct LeaderEpochCache {
    path: PathBuf,
    /// Sorted by epoch and by start offset, both strictly increasing.
    entries: Vec<EpochEntry>,
    /// Entries assigned since the file was last written. Appends only mark
    /// them: writing the checkpoint (two fsyncs) on the first batch of each
    /// new epoch put 10,000 fsyncs in the produce path of a new topic with
    /// 10,000 partitions. The file is written when the log flushes or rolls,
    /// before the recovery point moves past them; a crash before that is
    /// repaired at open from the batches past the recovery point.
    unwritten: bool,
}

fn parse(text: &str) -> Option<Vec<EpochEntry>> {
    let entries = crate::checkpoint_file::parse(text)?
        .into_iter()
        .map(|fields| match fields[..] {
            [epoch, start] => Some(EpochEntry {
                epoch: epoch.parse().ok()?,
                start_offset: start.parse().ok()?,
            }),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let ordered = entries
        .windows(2)
        .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset <= w[1].start_offset);
    ordered.then_some(entries)
}

impl LeaderEpochCache {
    /// Loads the checkpoint; `None` when it is missing or unreadable (the caller
    /// rebuilds it from the batches' headers).
    pub fn load(dir: &Path) -> Option<LeaderEpochCache> {
        let path = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).ok()?;
        Some(LeaderEpochCache {
            entries: parse(&text)?,
            path,
            unwritten: false,
        })
    }

    pub fn empty(dir: &Path) -> LeaderEpochCache {
        LeaderEpochCache {
            path: dir.join(FILE_NAME),
            entries: Vec::new(),
            unwritten: false,
        }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `offset`, if it is newer than every known
    /// epoch. Returns whether the cache changed (and must be written).
    pub fn assign(&mut self, epoch: i32, offset: i64) -> bool {
        if epoch < 0 || self.latest_epoch().is_some_and(|l| epoch <= l) {
            return false;
        }
        // An epoch that starts below an earlier one's start means the log was
        // truncated under it: the earlier entries are void from there on.
        self.entries.retain(|e| e.start_offset < offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset: offset,
        });
        true
    }

    /// Kafka's `endOffsetFor`: the largest epoch not above `requested` and the
    /// offset where it ended (the next epoch's start, or `log_end_offset` for
    /// the current one).
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        if requested == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_OFFSET);
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let higher = self.entries.iter().find(|e| e.epoch > requested);
        let floor = self.entries.iter().rev().find(|e| e.epoch <= requested);
        match (floor, higher) {
            (_, None) => (UNDEFINED_EPOCH, UNDEFINED_OFFSET),
            // Older than anything known: the data is gone; replicate from the
            // first epoch we know.
            (None, Some(h)) => (requested, h.start_offset),
            (Some(f), Some(h)) => (f.epoch, h.start_offset),
        }
    }

    /// Forgets epochs that start at or after `end_offset` (log truncated there).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        self.entries.len() != before
    }

    /// The log now starts at `start_offset`: epochs entirely before it go, and
    /// the one that covers it starts there.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let covering = self
            .entries
            .iter()
            .rposition(|e| e.start_offset <= start_offset);
        match covering {
            Some(i) if i > 0 || self.entries[0].start_offset < start_offset => {
                self.entries.drain(..i);
                self.entries[0].start_offset = start_offset;
                true
            }
            _ => false,
        }
    }

    pub fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        changed
    }

    /// Writes the checkpoint durably (a crash leaves the old or the new one).
    pub fn write(&mut self) -> Result<()> {
        let lines = self
            .entries
            .iter()
            .map(|e| format!("{} {}", e.epoch, e.start_offset));
        crate::checkpoint_file::write(&self.path, lines).at(&self.path)?;
        self.unwritten = false;
        Ok(())
    }

    /// The entries differ from the file's (epochs appended or found after a
    /// crash); written by the next [`Self::write_if_unwritten`].
    pub fn mark_unwritten(&mut self) {
        self.unwritten = true;
    }

    /// Writes the checkpoint if it was marked unwritten since the last write.
    pub fn write_if_unwritten(&mut self) -> Result<()> {
        if self.unwritten {
            self.write()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::empty(Path::new("/nonexistent"));
        for &(e, o) in entries {
            assert!(c.assign(e, o));
        }
        c
    }

    #[test]
    fn end_offsets_follow_kafkas_rules() {
        let c = cache(&[(1, 0), (3, 100), (5, 250)]);
        assert_eq!(c.end_offset_for(5, 300), (5, 300));
        assert_eq!(c.end_offset_for(3, 300), (3, 250));
        assert_eq!(c.end_offset_for(4, 300), (3, 250));
        assert_eq!(c.end_offset_for(2, 300), (1, 100));
        assert_eq!(c.end_offset_for(0, 300), (0, 0));
        assert_eq!(
            c.end_offset_for(9, 300),
            (UNDEFINED_EPOCH, UNDEFINED_OFFSET)
        );
        assert_eq!(
            c.end_offset_for(UNDEFINED_EPOCH, 300),
            (UNDEFINED_EPOCH, UNDEFINED_OFFSET)
        );
    }

    #[test]
    fn only_newer_epochs_are_assigned() {
        let mut c = cache(&[(2, 10)]);
        assert!(!c.assign(2, 50));
        assert!(!c.assign(1, 60));
        assert!(c.assign(4, 60));
        assert_eq!(c.latest_epoch(), Some(4));
    }

    #[test]
    fn truncation_from_either_end() {
        let mut c = cache(&[(1, 0), (3, 100), (5, 250)]);
        assert!(c.truncate_from_end(250));
        assert_eq!(c.latest_epoch(), Some(3));
        assert!(!c.truncate_from_end(400));
        assert!(c.truncate_from_start(150));
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 3,
                start_offset: 150
            }]
        );
        assert!(!c.truncate_from_start(150));
    }

    #[test]
    fn the_checkpoint_round_trips_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::empty(dir.path());
        c.assign(0, 0);
        c.assign(2, 17);
        c.write().unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text, "0\n2\n0 0\n2 17\n");
        assert_eq!(
            LeaderEpochCache::load(dir.path()).unwrap().entries(),
            c.entries()
        );
        for bad in ["1\n0\n", "0\n2\n0 0\n", "0\n2\n3 0\n2 5\n", "0\nx\n"] {
            std::fs::write(dir.path().join(FILE_NAME), bad).unwrap();
            assert!(LeaderEpochCache::load(dir.path()).is_none(), "{bad:?}");
        }
    }
}
