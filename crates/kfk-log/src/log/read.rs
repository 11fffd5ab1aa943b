//! Reading a log: whole batches from an offset (below a bound, for consumers
//! that must not see past the high watermark), scanning batch headers, and
//! finding records by timestamp.

use bytes::Bytes;
use kfk_wire::{BatchHeader, BatchSummary, RecordStamp, first_record_at_or_after};

use std::fs::File;
use std::sync::Arc;

use crate::error::{IoContext, LogError, Result};
use crate::scan::{Scanner, Step};
use crate::segment::{HOP_CHUNK, Segment, SegmentSnapshot};

use super::{Log, ReadResult};

/// Whole batches as they lie in a segment file.
#[derive(Debug, Clone)]
pub struct FileRange {
    /// Held open until the batches are sent, even if the segment is
    /// deleted or its cached handle closed meanwhile.
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
    /// Last offset of the last batch in the range.
    pub last_offset: i64,
}

/// A segment, and the position and header of a batch in it.
type FirstBatch = (SegmentSnapshot, u64, BatchSummary);

/// What [`Log::locate_below`] found: batches to send, and the log's bounds.
#[derive(Debug)]
pub struct Located {
    /// `None` at the end of the log (or of what may be read).
    pub range: Option<FileRange>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

impl Log {
    /// Reads whole batches from the one that contains `offset`, up to `max_bytes`
    /// (but at least one batch).
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`] outside `[log_start, log_end]`; [`LogError::Io`].
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_below(offset, max_bytes, i64::MAX)
    }

    /// As [`Log::read`], but stops before the first batch that reaches
    /// `upper_bound` (exclusive): consumers read only below the high watermark.
    ///
    /// # Errors
    /// As [`Log::read`].
    pub fn read_below(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: i64,
    ) -> Result<ReadResult> {
        let (found, log_start_offset, log_end_offset) = self.first_batch(offset, upper_bound)?;
        let records = match found {
            Some((snapshot, position, first)) => {
                read_whole_batches(&snapshot, position, first, max_bytes, upper_bound)?
            }
            None => Bytes::new(),
        };
        Ok(ReadResult {
            records,
            log_start_offset,
            log_end_offset,
        })
    }

    /// As [`Log::read_below`], but says where the batches lie in their
    /// segment file instead of reading them: a plaintext connection sends
    /// them from the page cache to the socket without copying them through
    /// the broker (`sendfile`), as Kafka does. Only batch headers are read.
    ///
    /// # Errors
    /// As [`Log::read`].
    pub fn locate_below(&self, offset: i64, max_bytes: usize, upper_bound: i64) -> Result<Located> {
        let (found, log_start_offset, log_end_offset) = self.first_batch(offset, upper_bound)?;
        let range = match found {
            Some((snapshot, position, first)) if first.last_offset < upper_bound => {
                let want = max_bytes.max(first.size) as u64;
                let limit = position.saturating_add(want).min(snapshot.end);
                let resume = {
                    let st = self.lock();
                    let i = st.segment_index(snapshot.base_offset);
                    st.segments
                        .get(i)
                        .filter(|seg| seg.base_offset == snapshot.base_offset)
                        .and_then(|seg| seg.indexed_resume(position, limit, upper_bound))
                };
                // Batches from `position` to `resume` all fit; the walk goes
                // on from there, or starts over should the file have changed
                // under it.
                let mut walked = None;
                if let Some(at) = resume {
                    walked = walk_headers(&snapshot, position, at, want, upper_bound)?;
                }
                if walked.is_none() {
                    walked = walk_headers(&snapshot, position, position, want, upper_bound)?;
                }
                walked.map(|(len, last_offset)| FileRange {
                    file: Arc::clone(&snapshot.file),
                    position,
                    len: len as usize,
                    last_offset,
                })
            }
            _ => None,
        };
        Ok(Located {
            range,
            log_start_offset,
            log_end_offset,
        })
    }

    /// The segment and position of the first batch holding `offset` or a
    /// later one, below `upper_bound`; with the log's start and end offsets.
    fn first_batch(&self, offset: i64, upper_bound: i64) -> Result<(Option<FirstBatch>, i64, i64)> {
        let mut target = offset;
        loop {
            let (snapshot, next_base, log_start_offset, log_end_offset) = {
                let st = self.lock();
                st.check_range(offset)?;
                let end = st.next_offset();
                let start = st.log_start_offset();
                if target >= end.min(upper_bound) {
                    return Ok((None, start, end));
                }
                let i = st.segment_index(target);
                let next_base = st.segments.get(i + 1).map(|s| s.base_offset);
                (
                    st.segments[i].snapshot_for_offset(target)?,
                    next_base,
                    start,
                    end,
                )
            };
            match snapshot.find_batch(target)? {
                Some((position, first)) => {
                    return Ok((
                        Some((snapshot, position, first)),
                        log_start_offset,
                        log_end_offset,
                    ));
                }
                None => match next_base {
                    Some(base) => target = target.max(base),
                    None => return Ok((None, log_start_offset, log_end_offset)),
                },
            }
        }
    }

    /// Calls `f` with the header of every batch from the segment holding `from`
    /// to the end of the log, in order, without reading records. Brokers rebuild
    /// per-producer state from this on start.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn scan_batches(&self, from: i64, mut f: impl FnMut(&BatchSummary)) -> Result<()> {
        let snapshots: Vec<SegmentSnapshot> = {
            let st = self.lock();
            let first = st.segment_index(from.max(st.log_start_offset()));
            st.segments[first..]
                .iter()
                .map(|s| s.snapshot_for_offset(s.base_offset))
                .collect::<Result<_>>()?
        };
        for snapshot in snapshots {
            snapshot.for_each_batch(&mut f)?;
        }
        Ok(())
    }

    /// Base offset of the active segment.
    pub fn active_segment_base_offset(&self) -> i64 {
        let mut st = self.lock();
        st.active().base_offset
    }

    /// The first record whose timestamp is `>= timestamp` (ListOffsets by time).
    /// `None` when every record is older.
    ///
    /// # Errors
    /// [`LogError::Io`], or [`LogError::CorruptBatch`] when the stored records do
    /// not parse.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<RecordStamp>> {
        let snapshot = {
            let st = self.lock();
            match st.segments.iter().find(|s| s.max_timestamp >= timestamp) {
                Some(seg) => seg.snapshot_for_timestamp(timestamp)?,
                None => return Ok(None),
            }
        };
        first_record_in(&snapshot, timestamp)
    }

    /// The first record carrying the largest timestamp in the log (ListOffsets
    /// with MAX_TIMESTAMP, KIP-734). `None` for an empty log.
    ///
    /// # Errors
    /// As [`Log::offset_for_timestamp`].
    pub fn max_timestamp_record(&self) -> Result<Option<RecordStamp>> {
        let (snapshot, timestamp) = {
            let st = self.lock();
            let mut best: Option<&Segment> = None;
            for seg in &st.segments {
                if seg.max_timestamp >= 0
                    && best.is_none_or(|b| seg.max_timestamp > b.max_timestamp)
                {
                    best = Some(seg);
                }
            }
            match best {
                Some(seg) => (
                    seg.snapshot_for_timestamp(seg.max_timestamp)?,
                    seg.max_timestamp,
                ),
                None => return Ok(None),
            }
        };
        first_record_in(&snapshot, timestamp)
    }
}

/// The first record at or after `timestamp` in the segment behind `snapshot`.
pub(super) fn first_record_in(
    snapshot: &SegmentSnapshot,
    timestamp: i64,
) -> Result<Option<RecordStamp>> {
    let Some((position, summary)) = snapshot.find_batch_by_time(timestamp)? else {
        return Ok(None);
    };
    let bytes = snapshot.read(position, summary.size)?;
    let corrupt = |source| LogError::CorruptBatch {
        position: position as usize,
        source,
    };
    let header = BatchHeader::parse(&bytes).map_err(corrupt)?;
    first_record_at_or_after(&header, timestamp).map_err(corrupt)
}

/// Walks batch headers from `at` (a batch start at or after `position`) for
/// the range that starts at `position`: whole batches up to `want` bytes
/// (the first always), below `upper_bound`. The range's length and last
/// offset; `None` when no batch at `at` joins it.
fn walk_headers(
    snapshot: &SegmentSnapshot,
    position: u64,
    at: u64,
    want: u64,
    upper_bound: i64,
) -> Result<Option<(u64, i64)>> {
    let mut scanner = Scanner::new(&snapshot.file, at, snapshot.end, HOP_CHUNK);
    let mut len = at - position;
    let mut last_offset = None;
    while let Step::Batch { item, .. } = scanner.next_summary().at(&snapshot.path)? {
        let size = item.size as u64;
        // The first batch always goes, whatever its size (KIP-74).
        if len > 0 && (len + size > want || item.last_offset >= upper_bound) {
            break;
        }
        len += size;
        last_offset = Some(item.last_offset);
    }
    Ok(last_offset.map(|last| (len, last)))
}

/// Reads from `position` as many whole batches as fit in `max_bytes` (at least
/// the first) that end below `upper_bound`.
pub(super) fn read_whole_batches(
    snapshot: &SegmentSnapshot,
    position: u64,
    first: BatchSummary,
    max_bytes: usize,
    upper_bound: i64,
) -> Result<Bytes> {
    if first.last_offset >= upper_bound {
        return Ok(Bytes::new());
    }
    let available = snapshot.end.saturating_sub(position) as usize;
    let want = max_bytes.max(first.size).min(available);
    let mut buf = snapshot.read(position, want)?;
    let mut keep = 0;
    while let Ok(s) = BatchSummary::peek(&buf[keep..]) {
        if keep + s.size > buf.len() || s.last_offset >= upper_bound {
            break;
        }
        keep += s.size;
    }
    buf.truncate(keep);
    Ok(buf.freeze())
}
