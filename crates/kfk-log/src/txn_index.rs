//! A segment's aborted-transactions index (Kafka's `.txnindex`): one entry
//! per transaction aborted in the segment, so a read_committed fetch can
//! tell its consumer which producers' records in the range it reads to
//! drop, without the broker scanning for abort markers.
//!
//! Entries are Kafka's 34 bytes: version (0), producer id, the
//! transaction's first and last offsets (the last is its abort marker's),
//! and the last stable offset when the abort was written. They are
//! appended in marker order, so their last offsets only grow.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes of one entry on disk.
pub const ENTRY_SIZE: usize = 34;

/// A transaction that was aborted, as a read_committed fetch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// The transaction's first offset in this partition.
    pub first_offset: i64,
    /// The offset of its ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset once the marker was written.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.first_offset.to_be_bytes());
        out.extend_from_slice(&self.last_offset.to_be_bytes());
        out.extend_from_slice(&self.last_stable_offset.to_be_bytes());
    }

    /// `None` for an entry of a version this broker does not write.
    fn decode(b: &[u8]) -> Option<AbortedTxn> {
        let i64_at = |at: usize| Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?));
        if b.get(..2)? != [0, 0] {
            return None;
        }
        Some(AbortedTxn {
            producer_id: i64_at(2)?,
            first_offset: i64_at(10)?,
            last_offset: i64_at(18)?,
            last_stable_offset: i64_at(26)?,
        })
    }
}

/// The index of one segment, held in memory and appended to its file.
#[derive(Debug)]
pub struct TxnIndex {
    path: PathBuf,
    entries: Vec<AbortedTxn>,
}

impl TxnIndex {
    /// An index with no entries; its file is made with the first one.
    pub fn empty(path: PathBuf) -> TxnIndex {
        TxnIndex {
            path,
            entries: Vec::new(),
        }
    }

    /// Reads the file, keeping the entries before the first torn, unknown
    /// or out-of-order one (a crash mid-append leaves at most a partial
    /// last entry); a missing file is an empty index.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn load(path: PathBuf) -> io::Result<TxnIndex> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut entries: Vec<AbortedTxn> = Vec::with_capacity(bytes.len() / ENTRY_SIZE);
        for chunk in bytes.chunks_exact(ENTRY_SIZE) {
            match AbortedTxn::decode(chunk) {
                Some(e) if entries.last().is_none_or(|l| l.last_offset < e.last_offset) => {
                    entries.push(e)
                }
                _ => break,
            }
        }
        let index = TxnIndex { path, entries };
        if bytes.len() != index.entries.len() * ENTRY_SIZE {
            index.rewrite()?;
        }
        Ok(index)
    }

    /// An index at `path` holding `entries` (in marker order), written
    /// whole: the cleaner's copy of the segments it replaces.
    ///
    /// # Errors
    /// The file could not be written.
    pub fn create(path: PathBuf, entries: Vec<AbortedTxn>) -> io::Result<TxnIndex> {
        let index = TxnIndex { path, entries };
        index.rewrite()?;
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// Records an aborted transaction (its marker after every one before).
    ///
    /// # Errors
    /// An entry out of order ([`io::ErrorKind::InvalidInput`]), or the write failed.
    pub fn append(&mut self, txn: AbortedTxn) -> io::Result<()> {
        if self
            .entries
            .last()
            .is_some_and(|l| l.last_offset >= txn.last_offset)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "aborted transaction ending at {} is not after the last one",
                    txn.last_offset
                ),
            ));
        }
        let mut buf = Vec::with_capacity(ENTRY_SIZE);
        txn.encode(&mut buf);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?
            .write_all(&buf)?;
        self.entries.push(txn);
        Ok(())
    }

    /// The aborted transactions a fetch of `[fetch_offset, upper_bound)`
    /// must report: those that end at or after the fetch offset and began
    /// before the bound.
    pub fn aborted_in(&self, fetch_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        let from = self
            .entries
            .partition_point(|e| e.last_offset < fetch_offset);
        self.entries[from..]
            .iter()
            .filter(|e| e.first_offset < upper_bound)
            .copied()
            .collect()
    }

    /// Forgets the transactions whose marker is at or after `offset` (the
    /// log was cut there).
    ///
    /// # Errors
    /// The file could not be rewritten.
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let keep = self.entries.partition_point(|e| e.last_offset < offset);
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            self.rewrite()?;
        }
        Ok(())
    }

    /// Writes the entries in memory over the file (removing it when empty).
    fn rewrite(&self) -> io::Result<()> {
        if self.entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let mut buf = Vec::with_capacity(self.entries.len() * ENTRY_SIZE);
        for e in &self.entries {
            e.encode(&mut buf);
        }
        crate::write_atomically(&self.path, &buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: last + 1,
        }
    }

    #[test]
    fn entries_round_trip_in_kafkas_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut idx = TxnIndex::empty(path.clone());
        assert!(!path.exists(), "no file without an entry");
        idx.append(txn(7, 10, 20)).unwrap();
        idx.append(txn(8, 15, 30)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 2 * ENTRY_SIZE);
        // version 0, then the producer id, big-endian.
        assert_eq!(&bytes[..10], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
        let loaded = TxnIndex::load(path).unwrap();
        assert_eq!(loaded.entries(), idx.entries());
        assert!(idx.append(txn(9, 1, 25)).is_err(), "markers come in order");
    }

    #[test]
    fn a_fetch_learns_the_aborts_overlapping_its_range() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = TxnIndex::empty(dir.path().join("0.txnindex"));
        idx.append(txn(1, 0, 5)).unwrap();
        idx.append(txn(2, 3, 12)).unwrap();
        idx.append(txn(3, 20, 25)).unwrap();
        let pids = |v: Vec<AbortedTxn>| v.iter().map(|t| t.producer_id).collect::<Vec<_>>();
        assert_eq!(pids(idx.aborted_in(0, 100)), vec![1, 2, 3]);
        assert_eq!(
            pids(idx.aborted_in(6, 20)),
            vec![2],
            "ended before, begins at the bound"
        );
        assert_eq!(pids(idx.aborted_in(12, 21)), vec![2, 3]);
        assert_eq!(pids(idx.aborted_in(26, 100)), Vec::<i64>::new());
    }

    #[test]
    fn truncation_and_a_torn_tail_leave_the_entries_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.txnindex");
        let mut idx = TxnIndex::empty(path.clone());
        for (i, pid) in (1..=4).enumerate() {
            let i = i as i64 * 10;
            idx.append(txn(pid, i, i + 5)).unwrap();
        }
        idx.truncate_to(25).unwrap();
        assert_eq!(idx.entries().len(), 2);
        assert_eq!(TxnIndex::load(path.clone()).unwrap().entries().len(), 2);
        // Half an entry, as a crash mid-append leaves it.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0u8; ENTRY_SIZE / 2]);
        std::fs::write(&path, &bytes).unwrap();
        let loaded = TxnIndex::load(path.clone()).unwrap();
        assert_eq!(loaded.entries().len(), 2);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            2 * ENTRY_SIZE as u64
        );
        idx.truncate_to(0).unwrap();
        assert!(!path.exists());
    }
}
