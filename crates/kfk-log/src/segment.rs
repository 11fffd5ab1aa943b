//! One segment: a `.log` file of batches stored verbatim plus its two indexes.
//!
//! A segment is mutated only under its log's lock. Readers take a
//! [`SegmentSnapshot`] under the lock and then read the file without it: bytes
//! below the snapshot's size never change while the segment is alive (appends
//! only add after them), and an unlinked file stays readable through the `Arc`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kfk_wire::BatchSummary;
use tracing::warn;

use crate::error::{IoContext, Result};
use crate::fd_cache::CachedFile;
use crate::index::{IndexFile, OffsetEntry, TimeEntry};
use crate::scan::{Scanner, Step};
use crate::txn_index::TxnIndex;

/// Read size for header hops: one index interval plus change.
pub(crate) const HOP_CHUNK: usize = 8 * 1024;
/// Read size for recovery scans.
const RECOVERY_CHUNK: usize = 1 << 20;

/// `<dir>/<20-digit base offset>.<ext>`, as Kafka names segment files.
pub(crate) fn segment_path(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// A read-only handle on a segment's bytes, taken under the log lock.
#[derive(Debug, Clone)]
pub(crate) struct SegmentSnapshot {
    /// Names the segment, to find its index again under the log lock.
    pub base_offset: i64,
    pub file: Arc<File>,
    pub path: PathBuf,
    /// Where a scan for the wanted offset may start (from the index).
    pub start: u64,
    /// Size of the segment when the snapshot was taken.
    pub end: u64,
}

impl SegmentSnapshot {
    /// First batch whose last offset is `>= offset`, scanning headers from `start`.
    pub fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchSummary)>> {
        self.find(|s| s.last_offset >= offset)
    }

    /// First batch whose max timestamp is `>= timestamp`.
    pub fn find_batch_by_time(&self, timestamp: i64) -> Result<Option<(u64, BatchSummary)>> {
        self.find(|s| s.max_timestamp >= timestamp)
    }

    fn find(&self, wanted: impl Fn(&BatchSummary) -> bool) -> Result<Option<(u64, BatchSummary)>> {
        let mut scanner = Scanner::new(&self.file, self.start, self.end, HOP_CHUNK);
        loop {
            match scanner.next_summary().at(&self.path)? {
                Step::Batch { position, item } if wanted(&item) => {
                    return Ok(Some((position, item)));
                }
                Step::Batch { .. } => {}
                // The tail may have been truncated under us; nothing more to find.
                Step::Bad { .. } | Step::End => return Ok(None),
            }
        }
    }

    /// Calls `f` for each batch header from `start` to `end`.
    pub fn for_each_batch(&self, f: &mut impl FnMut(&BatchSummary)) -> Result<()> {
        let mut scanner = Scanner::new(&self.file, self.start, self.end, HOP_CHUNK);
        loop {
            match scanner.next_summary().at(&self.path)? {
                Step::Batch { item, .. } => f(&item),
                Step::Bad { .. } | Step::End => return Ok(()),
            }
        }
    }

    /// Reads `len` bytes at `pos` (fewer if the file was truncated meanwhile).
    pub fn read(&self, pos: u64, len: usize) -> Result<bytes::BytesMut> {
        let mut buf = bytes::BytesMut::zeroed(len);
        let got = crate::scan::read_at_most(&self.file, &mut buf, pos).at(&self.path)?;
        buf.truncate(got);
        Ok(buf)
    }
}

/// What recovery did to a segment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Bytes cut from the end of the file.
    pub truncated_bytes: u64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: i64,
    pub log_path: PathBuf,
    /// Opened on use, closed again by the open-file budget.
    pub file: Arc<CachedFile>,
    pub size: u64,
    pub offset_index: IndexFile<OffsetEntry>,
    pub time_index: IndexFile<TimeEntry>,
    bytes_since_index: u64,
    /// Largest batch max timestamp in the segment, -1 when empty.
    pub max_timestamp: i64,
    /// Last offset of the batch that carries `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// Max timestamp of the first batch: `segment.ms` counts from it, as in Kafka.
    pub first_batch_timestamp: Option<i64>,
    /// Offset after the last batch (`base_offset` when empty).
    pub next_offset: i64,
    /// Whether batches may leave holes between them (the log was cleaned,
    /// or copies a cleaned one); otherwise recovery takes a batch that does
    /// not start where the last one ended as damage.
    holes: bool,
    /// The transactions aborted in this segment (its `.txnindex`), which
    /// read_committed fetches report; the file exists once one is.
    pub txn_index: TxnIndex,
}

fn open_log_file(path: &Path, create: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
        .at(path)
}

impl Segment {
    /// Lets batches leave holes from now on.
    pub fn allow_holes(&mut self) {
        self.holes = true;
    }

    /// Creates an empty segment starting at `base_offset`, replacing any leftover
    /// files of that name (they can only be remains of an interrupted roll).
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let log_path = segment_path(dir, base_offset, "log");
        let file = open_log_file(&log_path, true)?;
        file.set_len(0).at(&log_path)?;
        // The empty indexes are written with the first entries (or at
        // close): a new partition costs two files, not four, which is what
        // creating thousands of partitions at once is bound by. Missing
        // index files are rebuilt from the log at the next start.
        Ok(Segment::with_file(dir, base_offset, log_path, file, 0))
    }

    /// An empty segment written as `<base>.<ext>.cleaned` beside the log:
    /// the cleaner's copy, installed by [`crate::cleaner::swap`].
    pub fn create_cleaned(dir: &Path, base_offset: i64) -> Result<Segment> {
        use crate::cleaner::swap::{CLEANED, suffixed};
        let log_path = suffixed(dir, base_offset, "log", CLEANED);
        let file = open_log_file(&log_path, true)?;
        file.set_len(0).at(&log_path)?;
        let mut seg = Segment::with_file(dir, base_offset, log_path, file, 0);
        seg.holes = true;
        seg.offset_index = IndexFile::empty(suffixed(dir, base_offset, "index", CLEANED));
        seg.time_index = IndexFile::empty(suffixed(dir, base_offset, "timeindex", CLEANED));
        seg.txn_index = TxnIndex::empty(suffixed(dir, base_offset, "txnindex", CLEANED));
        Ok(seg)
    }

    fn with_file(dir: &Path, base_offset: i64, log_path: PathBuf, file: File, size: u64) -> Self {
        Segment {
            base_offset,
            file: CachedFile::adopt(&log_path, file),
            log_path,
            size,
            offset_index: IndexFile::empty(segment_path(dir, base_offset, "index")),
            time_index: IndexFile::empty(segment_path(dir, base_offset, "timeindex")),
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            first_batch_timestamp: None,
            next_offset: base_offset,
            holes: false,
            txn_index: TxnIndex::empty(segment_path(dir, base_offset, "txnindex")),
        }
    }

    /// Opens an existing segment. With `recover`, every batch is checked and the
    /// indexes rebuilt; otherwise the indexes are trusted if they are consistent
    /// and only the tail after the last index entry is read — whole, CRC
    /// included, with `verify_tail` (the active segment, at every start: its
    /// tail is where damage since the last start would be), and the segment
    /// is recovered if a batch there is damaged.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        recover: bool,
        verify_tail: bool,
        index_interval: u64,
        holes: bool,
    ) -> Result<(Segment, Recovered)> {
        let log_path = segment_path(dir, base_offset, "log");
        let file = open_log_file(&log_path, false)?;
        let size = file.metadata().at(&log_path)?.len();
        let mut seg = Segment::with_file(dir, base_offset, log_path, file, size);
        seg.holes = holes;
        seg.txn_index = TxnIndex::load(segment_path(dir, base_offset, "txnindex"))
            .at(&segment_path(dir, base_offset, "txnindex"))?;
        if !recover {
            // The first index entry is made for a batch starting past the
            // interval, so a segment no bigger than it has no index files.
            let absent_is_empty = size <= index_interval;
            let offset_index =
                IndexFile::load(seg.offset_index.path().to_path_buf(), absent_is_empty)
                    .at(seg.offset_index.path())?;
            let time_index = IndexFile::load(seg.time_index.path().to_path_buf(), absent_is_empty)
                .at(seg.time_index.path())?;
            if let (Some(oi), Some(ti)) = (offset_index, time_index) {
                seg.offset_index = oi;
                seg.time_index = ti;
                if seg.indexes_consistent() && seg.restore_tail(verify_tail)? {
                    return Ok((seg, Recovered::default()));
                }
                warn!(segment = %seg.log_path.display(), "index inconsistent with log, or a damaged tail; recovering");
            }
        }
        let recovered = seg.recover(index_interval)?;
        Ok((seg, recovered))
    }

    fn indexes_consistent(&self) -> bool {
        let oi = self.offset_index.entries();
        let ti = self.time_index.entries();
        oi.windows(2)
            .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position)
            && oi.last().is_none_or(|e| u64::from(e.position) < self.size)
            && ti.windows(2).all(|w| {
                w[0].timestamp <= w[1].timestamp && w[0].relative_offset <= w[1].relative_offset
            })
    }

    /// Learns `next_offset`, the max timestamp and the first batch timestamp from
    /// the indexes plus a header scan after the last offset index entry. False when
    /// the tail does not parse (the caller then recovers the segment).
    fn restore_tail(&mut self, verify: bool) -> Result<bool> {
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        self.first_batch_timestamp = None;
        if let Some(t) = self.time_index.last() {
            self.max_timestamp = t.timestamp;
            self.offset_of_max_timestamp = self.base_offset + i64::from(t.relative_offset);
        }
        if self.size == 0 {
            self.bytes_since_index = 0;
            return Ok(true);
        }
        let file = self.file.get().at(&self.log_path)?;
        let mut first = Scanner::new(&file, 0, self.size, kfk_wire::HEADER_LEN);
        match first.next_summary().at(&self.log_path)? {
            Step::Batch { item, .. } => self.first_batch_timestamp = Some(item.max_timestamp),
            _ => return Ok(false),
        }
        let start = self
            .offset_index
            .last()
            .map_or(0, |e| u64::from(e.position));
        if verify {
            let mut checked = Scanner::new(&file, start, self.size, HOP_CHUNK);
            loop {
                match checked.next_valid_batch().at(&self.log_path)? {
                    Step::Batch { .. } => {}
                    Step::Bad { position, error } => {
                        warn!(segment = %self.log_path.display(), position, %error,
                            "damaged batch at the end of the active segment");
                        return Ok(false);
                    }
                    Step::End => break,
                }
            }
        }
        let mut scanner = Scanner::new(&file, start, self.size, HOP_CHUNK);
        loop {
            match scanner.next_summary().at(&self.log_path)? {
                Step::Batch { item, .. } => {
                    if item.max_timestamp > self.max_timestamp {
                        self.max_timestamp = item.max_timestamp;
                        self.offset_of_max_timestamp = item.last_offset;
                    }
                    self.next_offset = item.next_offset();
                }
                Step::Bad { .. } => return Ok(false),
                Step::End => break,
            }
        }
        self.bytes_since_index = self.size - start;
        Ok(true)
    }

    /// Checks every batch, truncates at the first torn or corrupt one, and
    /// rebuilds both indexes.
    fn recover(&mut self, interval: u64) -> Result<Recovered> {
        self.offset_index.truncate(0);
        self.time_index.truncate(0);
        self.bytes_since_index = 0;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        self.first_batch_timestamp = None;
        self.next_offset = self.base_offset;
        let file = self.file.get().at(&self.log_path)?;
        let mut scanner = Scanner::new(&file, 0, self.size, RECOVERY_CHUNK);
        let valid_end = loop {
            let (position, summary) = match scanner.next_valid_batch().at(&self.log_path)? {
                Step::Batch { position, item } => (position, item.summary()),
                Step::Bad { position, error } => {
                    warn!(segment = %self.log_path.display(), position, %error, "corrupt or torn batch");
                    break position;
                }
                Step::End => break scanner.position(),
            };
            if !self.continues_with(&summary) {
                warn!(segment = %self.log_path.display(), position,
                    base_offset = summary.base_offset, expected = self.next_offset,
                    "batch breaks offset order");
                break position;
            }
            self.note_batch(&summary, position, interval);
        };
        let truncated_bytes = self.size - valid_end;
        if truncated_bytes > 0 {
            warn!(segment = %self.log_path.display(), truncated_bytes, valid_bytes = valid_end,
                "truncated segment to its last valid batch");
            file.set_len(valid_end).at(&self.log_path)?;
            self.size = valid_end;
        }
        let oi = self.offset_index.entries().to_vec();
        let ti = self.time_index.entries().to_vec();
        self.offset_index.replace(oi).at(self.offset_index.path())?;
        self.time_index.replace(ti).at(self.time_index.path())?;
        Ok(Recovered { truncated_bytes })
    }

    /// A batch may follow in this segment only if it starts at
    /// `next_offset` (or after it, in a log with holes) and its offsets fit
    /// the index's 32-bit relative offsets. A damaged base offset, which no
    /// CRC covers, is caught here.
    pub fn continues_with(&self, s: &BatchSummary) -> bool {
        let starts_right = if self.holes {
            s.base_offset >= self.next_offset
        } else {
            s.base_offset == self.next_offset
        };
        starts_right && s.last_offset >= s.base_offset && self.can_hold_offset(s.last_offset)
    }

    /// Whether a batch ending at `last_offset` can still be indexed in this segment.
    pub fn can_hold_offset(&self, last_offset: i64) -> bool {
        last_offset - self.base_offset <= i64::from(i32::MAX)
    }

    fn relative(&self, offset: i64) -> u32 {
        (offset - self.base_offset) as u32
    }

    /// Updates the in-memory state and indexes for a batch stored at `position`.
    /// Shared by append and recovery so both build identical indexes.
    pub fn note_batch(&mut self, s: &BatchSummary, position: u64, index_interval: u64) {
        if s.max_timestamp > self.max_timestamp {
            self.max_timestamp = s.max_timestamp;
            self.offset_of_max_timestamp = s.last_offset;
        }
        if self.bytes_since_index > index_interval {
            self.offset_index.push(OffsetEntry {
                relative_offset: self.relative(s.last_offset),
                position: position as u32,
            });
            self.maybe_append_time_entry();
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += s.size as u64;
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(s.max_timestamp);
        }
        self.next_offset = s.next_offset();
    }

    fn maybe_append_time_entry(&mut self) {
        if self.max_timestamp < 0 {
            return;
        }
        if self
            .time_index
            .last()
            .is_none_or(|t| self.max_timestamp > t.timestamp)
        {
            self.time_index.push(TimeEntry {
                timestamp: self.max_timestamp,
                relative_offset: self.relative(self.offset_of_max_timestamp),
            });
        }
    }

    /// Writes `bytes` (whole, already validated batches) at the end of the file. On
    /// failure the file is cut back so the log is left as it was.
    pub fn append(
        &mut self,
        bytes: &[u8],
        batches: &[(usize, BatchSummary)],
        index_interval: u64,
    ) -> Result<()> {
        let file = self.file.get().at(&self.log_path)?;
        if let Err(e) = file.write_all_at(bytes, self.size) {
            // Best effort: a full disk may also refuse the cut, but then the bytes
            // past `size` are never read, and recovery removes them.
            let _ = file.set_len(self.size);
            return Err(e).at(&self.log_path);
        }
        let start = self.size;
        for (pos, summary) in batches {
            self.note_batch(summary, start + *pos as u64, index_interval);
        }
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Called when the segment stops being the active one: records its final
    /// max timestamp in the time index (retention reads it from there) and writes
    /// the indexes.
    pub fn seal(&mut self) -> Result<()> {
        self.maybe_append_time_entry();
        self.persist_indexes()
    }

    pub fn persist_indexes(&mut self) -> Result<()> {
        self.offset_index.persist().at(self.offset_index.path())?;
        self.time_index.persist().at(self.time_index.path())
    }

    /// A snapshot from which a reader looks for `offset`.
    pub fn snapshot_for_offset(&self, offset: i64) -> Result<SegmentSnapshot> {
        let start = if offset <= self.base_offset {
            0
        } else {
            let rel = (offset - self.base_offset).min(i64::from(u32::MAX)) as u32;
            self.offset_index
                .floor_by_offset(rel)
                .map_or(0, |i| u64::from(self.offset_index.entries()[i].position))
        };
        self.snapshot_from(start)
    }

    /// Where a walk over batch headers from `from` toward `limit` may resume
    /// without reading the headers in between: the start of an indexed
    /// batch that, like every batch before it, ends by `limit` and lies below
    /// `upper_bound`. Walking 16 KiB batches header by header costs a read
    /// per batch of a fetch; the index knows where most of them start.
    ///
    /// The batch at an entry ends where the next batch starts, which only
    /// the next entry says; so the answer is the entry before the last one
    /// that starts by `limit` below `upper_bound`. `None` when no entry
    /// lies beyond `from`.
    pub fn indexed_resume(&self, from: u64, limit: u64, upper_bound: i64) -> Option<u64> {
        let entries = self.offset_index.entries();
        let fitting = entries.partition_point(|e| {
            u64::from(e.position) <= limit
                && self.base_offset + i64::from(e.relative_offset) < upper_bound
        });
        let resume = u64::from(entries[fitting.checked_sub(2)?].position);
        (resume > from).then_some(resume)
    }

    /// A snapshot from which a reader looks for the first batch with a max
    /// timestamp `>= timestamp`: the last time index entry below it bounds where
    /// that batch can start.
    pub fn snapshot_for_timestamp(&self, timestamp: i64) -> Result<SegmentSnapshot> {
        let entries = self.time_index.entries();
        let below = entries.partition_point(|t| t.timestamp < timestamp);
        let start = match below.checked_sub(1) {
            None => 0,
            Some(i) => {
                let rel = entries[i].relative_offset;
                self.offset_index
                    .floor_by_offset(rel)
                    .map_or(0, |i| u64::from(self.offset_index.entries()[i].position))
            }
        };
        self.snapshot_from(start)
    }

    fn snapshot_from(&self, start: u64) -> Result<SegmentSnapshot> {
        Ok(SegmentSnapshot {
            base_offset: self.base_offset,
            file: self.file.get().at(&self.log_path)?,
            path: self.log_path.clone(),
            start,
            end: self.size,
        })
    }

    /// Cuts the segment before the first batch whose last offset is `>= offset`.
    pub fn truncate_to(&mut self, offset: i64, index_interval: u64) -> Result<()> {
        let cut = match self.snapshot_for_offset(offset)?.find_batch(offset)? {
            Some((pos, _)) => pos,
            None => return Ok(()),
        };
        self.file
            .get()
            .at(&self.log_path)?
            .set_len(cut)
            .at(&self.log_path)?;
        self.size = cut;
        let keep = self
            .offset_index
            .entries()
            .partition_point(|e| u64::from(e.position) < cut);
        self.offset_index.truncate(keep);
        let rel = self.relative(offset.max(self.base_offset));
        let keep = self
            .time_index
            .entries()
            .partition_point(|t| t.relative_offset < rel);
        self.time_index.truncate(keep);
        if !self.restore_tail(false)? {
            // Cannot happen for bytes we validated; recover rather than guess.
            self.recover(index_interval)?;
        }
        let txn_path = self.txn_index.path().to_path_buf();
        self.txn_index.truncate_to(offset).at(&txn_path)?;
        self.persist_indexes()
    }

    /// Forces the log file and indexes to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .get()
            .at(&self.log_path)?
            .sync_data()
            .at(&self.log_path)?;
        self.offset_index.sync().at(self.offset_index.path())?;
        self.time_index.sync().at(self.time_index.path())
    }

    /// Removes the segment's files. Readers holding a snapshot keep reading the
    /// unlinked file until they drop it.
    pub fn delete_files(&self) -> Result<()> {
        let dir = self.log_path.parent().unwrap_or(Path::new("."));
        delete_segment_files(dir, self.base_offset)
    }
}

/// Removes the files of the segment at `base_offset`, whichever exist.
pub(crate) fn delete_segment_files(dir: &Path, base_offset: i64) -> Result<()> {
    for ext in ["log", "index", "timeindex", "txnindex"] {
        let path = segment_path(dir, base_offset, ext);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(&path),
        }
    }
    Ok(())
}
