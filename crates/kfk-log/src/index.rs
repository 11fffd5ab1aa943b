//! Sparse index files beside each segment, in Apache Kafka's on-disk format.
//!
//! * `.index`: 8-byte entries `(relative offset: u32, file position: u32)`; the
//!   offset is the last offset of the batch that starts at the position.
//! * `.timeindex`: 12-byte entries `(timestamp: i64, relative offset: u32)`; the
//!   timestamp is the largest seen so far in the segment, the offset the one that
//!   carries it.
//!
//! Entries live in memory and are appended to the file lazily (on roll, flush and
//! close) rather than per append: Kafka gets the same effect with a memory map,
//! and a crash costs nothing because recovery rebuilds the index of every segment
//! it rescans.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

/// One fixed-size index entry, big-endian on disk.
pub(crate) trait IndexEntry: Copy + std::fmt::Debug {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(buf: &[u8]) -> Self;
    /// The relative offset the entry points at; entries are sorted by it.
    fn relative_offset(&self) -> u32;
}

/// `.index` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            relative_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }
}

/// `.timeindex` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }
}

/// An index file and its entries.
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    entries: Vec<E>,
    /// How many leading entries the file already holds.
    persisted: usize,
    /// The file holds entries beyond `persisted` that must be cut first.
    needs_cut: bool,
}

impl<E: IndexEntry> IndexFile<E> {
    /// A new, empty index; the file is written on the first `persist`.
    pub fn empty(path: PathBuf) -> Self {
        IndexFile {
            path,
            entries: Vec::new(),
            persisted: 0,
            needs_cut: true,
        }
    }

    /// Loads the file. `Ok(None)` when its length is not a whole number of
    /// entries, or it is missing and `absent_is_empty` is false: the caller
    /// rebuilds it from the log. An index has no file until its first entry,
    /// so a segment too small to have one (`absent_is_empty`) may have none.
    pub fn load(path: PathBuf, absent_is_empty: bool) -> io::Result<Option<Self>> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(absent_is_empty.then(|| IndexFile {
                    path,
                    entries: Vec::new(),
                    persisted: 0,
                    needs_cut: false,
                }));
            }
            Err(e) => return Err(e),
        };
        if bytes.len() % E::SIZE != 0 {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let persisted = entries.len();
        Ok(Some(IndexFile {
            path,
            entries,
            persisted,
            needs_cut: false,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn last(&self) -> Option<E> {
        self.entries.last().copied()
    }

    pub fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// Drops every entry at or after `len`.
    pub fn truncate(&mut self, len: usize) {
        if len < self.entries.len() {
            self.entries.truncate(len);
            if len < self.persisted {
                self.persisted = len;
                self.needs_cut = true;
            }
        }
    }

    /// Index of the last entry whose relative offset is `<= relative_offset`.
    pub fn floor_by_offset(&self, relative_offset: u32) -> Option<usize> {
        self.entries
            .partition_point(|e| e.relative_offset() <= relative_offset)
            .checked_sub(1)
    }

    /// Writes the entries the file does not have yet. An index without
    /// entries has no file: creating one costs an inode per segment, which is
    /// what bounds how fast 100,000 partitions start.
    pub fn persist(&mut self) -> io::Result<()> {
        if !self.needs_cut && self.persisted == self.entries.len() {
            return Ok(());
        }
        if self.entries.is_empty() {
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            self.persisted = 0;
            self.needs_cut = false;
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)?;
        if self.needs_cut {
            file.set_len((self.persisted * E::SIZE) as u64)?;
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        file.seek(io::SeekFrom::Start((self.persisted * E::SIZE) as u64))?;
        file.write_all(&buf)?;
        self.persisted = self.entries.len();
        self.needs_cut = false;
        Ok(())
    }

    /// Persists and fsyncs the file.
    pub fn sync(&mut self) -> io::Result<()> {
        self.persist()?;
        match File::open(&self.path) {
            Ok(f) => f.sync_all(),
            // Never written because it has no entries yet (a new segment's
            // index is created with its first one); rebuilt if ever missed.
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.entries.is_empty() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Replaces all entries (after a rebuild) and rewrites the file.
    pub fn replace(&mut self, entries: Vec<E>) -> io::Result<()> {
        self.entries = entries;
        self.persisted = 0;
        self.needs_cut = true;
        self.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = IndexFile::<OffsetEntry>::empty(path.clone());
        for i in 0..10u32 {
            idx.push(OffsetEntry {
                relative_offset: i * 10,
                position: i * 4096,
            });
        }
        idx.persist().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        let loaded = IndexFile::<OffsetEntry>::load(path.clone(), false)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.entries(), idx.entries());
        assert_eq!(loaded.floor_by_offset(0), Some(0));
        assert_eq!(loaded.floor_by_offset(25), Some(2));
        assert_eq!(loaded.floor_by_offset(1000), Some(9));
    }

    #[test]
    fn truncation_cuts_the_file_on_next_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut idx = IndexFile::<TimeEntry>::empty(path.clone());
        for i in 0..5u32 {
            idx.push(TimeEntry {
                timestamp: i64::from(i) * 100,
                relative_offset: i,
            });
        }
        idx.persist().unwrap();
        idx.truncate(2);
        idx.push(TimeEntry {
            timestamp: 999,
            relative_offset: 7,
        });
        idx.persist().unwrap();
        let loaded = IndexFile::<TimeEntry>::load(path, false).unwrap().unwrap();
        assert_eq!(loaded.entries().len(), 3);
        assert_eq!(loaded.last().unwrap().timestamp, 999);
    }

    #[test]
    fn partial_entries_mean_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        std::fs::write(&path, [0u8; 11]).unwrap();
        assert!(
            IndexFile::<OffsetEntry>::load(path.clone(), true)
                .unwrap()
                .is_none()
        );
        assert!(
            IndexFile::<OffsetEntry>::load(dir.path().join("missing"), false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_index_without_entries_has_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = IndexFile::<OffsetEntry>::empty(path.clone());
        idx.persist().unwrap();
        assert!(!path.exists());
        idx.push(OffsetEntry {
            relative_offset: 3,
            position: 5000,
        });
        idx.persist().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
        // Truncated to nothing: the file goes.
        idx.replace(Vec::new()).unwrap();
        assert!(!path.exists());
        let absent = IndexFile::<OffsetEntry>::load(path, true).unwrap().unwrap();
        assert!(absent.entries().is_empty());
    }
}
