//! Compaction: rewriting a log's closed segments to keep only the latest
//! record of each key (Kafka's log cleaner, for `cleanup.policy=compact`).
//!
//! A clean reads the dirty part of the log (from the first offset the last
//! clean did not cover to the first segment it may not touch) into a map
//! of key -> latest offset, then copies every closed segment from the log
//! start, keeping a record only if no later one has its key. Offsets are
//! kept, so the copy has holes; segments are merged while the result fits
//! `segment.bytes`. Each merged copy replaces its originals through
//! [`crate::cleaner::swap`], one group at a time, so readers and appends go
//! on meanwhile and a crash leaves the old or the new data, never a mix.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kfk_wire::retain::{RecordView, Retained, emptied, for_each_key, retain_records};
use kfk_wire::{BatchError, BatchSummary};
use tracing::{info, warn};

use crate::cleaner::{OffsetMap, Throttle, swap};
use crate::config::LogConfig;
use crate::error::{IoContext, LogError, Result};
use crate::scan::{Scanner, Step};
use crate::segment::{Segment, SegmentSnapshot};

use super::{Log, LogState};

/// Read size for the cleaner's scans.
const READ_CHUNK: usize = 1 << 20;
/// Bytes of kept batches gathered before one write.
const WRITE_CHUNK: usize = 1 << 20;

/// How much of a log is waiting for the cleaner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dirtiness {
    /// Records from here on have not been through a clean.
    pub first_dirty_offset: i64,
    /// The cleaner stops before this offset (the active segment, or records
    /// younger than `min.compaction.lag.ms`).
    pub cleanable_end: i64,
    /// Bytes of closed segments wholly below the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes of segments from the first dirty offset to the cleanable end.
    pub dirty_bytes: u64,
    /// A dirty record is older than `max.compaction.lag.ms`.
    pub overdue: bool,
    /// When the last clean finished.
    pub last_clean_ms: Option<i64>,
}

impl Dirtiness {
    /// Kafka's cleanable ratio: dirty bytes over all bytes the cleaner sees.
    pub fn ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}

/// What one clean did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanStats {
    pub first_dirty_offset: i64,
    /// The first offset not covered: the next clean's first dirty offset.
    pub end_offset: i64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    pub segments_before: usize,
    pub segments_after: usize,
    pub elapsed: Duration,
}

/// A closed segment as the clean found it.
struct Planned {
    base_offset: i64,
    next_offset: i64,
    size: u64,
    snapshot: SegmentSnapshot,
}

/// Clears the log's cleaning flag however the clean ends.
struct Cleaning<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Cleaning<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn dirtiness_locked(st: &LogState, config: &LogConfig, now_ms: i64, limit: i64) -> Dirtiness {
    let first_dirty = st.history.first_dirty_offset().max(st.log_start_offset());
    let closed = &st.segments[..st.segments.len() - 1];
    let mut cleanable_end = st.segments[st.segments.len() - 1].base_offset.min(limit);
    let young_after = now_ms.saturating_sub(config.min_compaction_lag_ms);
    if config.min_compaction_lag_ms > 0
        && let Some(young) = closed
            .iter()
            .find(|s| s.next_offset > first_dirty && s.max_timestamp > young_after)
    {
        cleanable_end = young.base_offset;
    }
    let mut d = Dirtiness {
        first_dirty_offset: first_dirty,
        cleanable_end,
        clean_bytes: 0,
        dirty_bytes: 0,
        overdue: false,
        last_clean_ms: st.history.last_clean_ms(),
    };
    if first_dirty >= cleanable_end {
        d.clean_bytes = closed.iter().map(|s| s.size).sum();
        return d;
    }
    let overdue_before = now_ms.saturating_sub(config.max_compaction_lag_ms);
    let mut first = true;
    for s in closed {
        if s.next_offset <= first_dirty {
            d.clean_bytes += s.size;
        } else if s.base_offset < cleanable_end {
            d.dirty_bytes += s.size;
            if first {
                first = false;
                d.overdue = config.max_compaction_lag_ms < i64::MAX
                    && s.first_batch_timestamp.is_some_and(|t| t <= overdue_before);
            }
        }
    }
    d
}

fn corrupt(snapshot: &SegmentSnapshot, position: u64, source: BatchError) -> LogError {
    LogError::CorruptSegment {
        path: snapshot.path.clone(),
        position,
        source,
    }
}

impl Log {
    /// How much of the log the cleaner would take now, below `limit`.
    pub fn dirtiness(&self, now_ms: i64, limit: i64) -> Dirtiness {
        let config = self.config();
        let st = self.lock();
        dirtiness_locked(&st, &config, now_ms, limit)
    }

    /// Compacts the log's closed segments below `limit` (whatever its
    /// `cleanup.policy`: the caller decides). The limit is the partition's
    /// high watermark: a record above it may yet be truncated away, so it
    /// must not be what makes an older record of its key go. `None` when there was nothing to clean, another
    /// clean of this log is running, or the log changed under this one
    /// (retention or a truncation took segments it was copying).
    ///
    /// # Errors
    /// [`LogError::Io`], or [`LogError::CorruptSegment`] for a damaged batch
    /// in a closed segment; the log is unchanged in either case, apart from
    /// groups already installed.
    pub fn clean(
        &self,
        map: &mut OffsetMap,
        throttle: &mut Throttle,
        now_ms: i64,
        limit: i64,
    ) -> Result<Option<CleanStats>> {
        if self.cleaning.swap(true, Ordering::AcqRel) {
            return Ok(None);
        }
        let _cleaning = Cleaning(&self.cleaning);
        let started = Instant::now();
        let config = self.config();
        let (plan, first_dirty, cleanable_end, expire_below, truncations, aborted) = {
            let st = self.lock();
            let d = dirtiness_locked(&st, &config, now_ms, limit);
            if d.first_dirty_offset >= d.cleanable_end {
                return Ok(None);
            }
            let plan = st.segments[..st.segments.len() - 1]
                .iter()
                .take_while(|s| s.base_offset < d.cleanable_end)
                .map(|s| {
                    Ok(Planned {
                        base_offset: s.base_offset,
                        next_offset: s.next_offset,
                        size: s.size,
                        snapshot: s.snapshot_for_offset(s.base_offset)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let expire_below = st
                .history
                .tombstones_expire_below(now_ms, config.delete_retention_ms);
            let aborted = AbortedRanges::new(
                st.segments
                    .iter()
                    .flat_map(|s| s.txn_index.entries().iter().copied()),
            );
            (
                plan,
                d.first_dirty_offset,
                d.cleanable_end,
                expire_below,
                st.truncations,
                aborted,
            )
        };
        if plan.is_empty() {
            return Ok(None);
        }
        let mut stats = CleanStats {
            first_dirty_offset: first_dirty,
            end_offset: cleanable_end,
            bytes_read: 0,
            bytes_written: 0,
            records_read: 0,
            records_kept: 0,
            segments_before: plan.len(),
            segments_after: 0,
            elapsed: Duration::ZERO,
        };
        // An idempotent producer's last batch stays (emptied if need be),
        // so its sequence numbers are known after a restart.
        let mut producers_last: HashMap<i64, i64> = HashMap::new();
        self.scan_batches(plan[0].base_offset, |b| {
            if b.producer_id >= 0 {
                producers_last.insert(b.producer_id, b.last_offset);
            }
        })?;
        let Some(upper) = build_map(&plan, first_dirty, cleanable_end, &aborted, map, throttle)?
        else {
            return Ok(None);
        };
        stats.end_offset = upper;

        let groups = group_segments(&plan, upper, config.segment_bytes);
        let keep = Keep {
            map,
            upper,
            expire_below,
            producers_last: &producers_last,
            aborted: &aborted,
            truncations,
        };
        for group in groups {
            if !self.copy_group(group, &config, &keep, throttle, &mut stats)? {
                return Ok(None);
            }
            stats.segments_after += 1;
        }
        let mut st = self.lock();
        st.history.record(
            now_ms.max(super::now_ms()),
            upper,
            config.delete_retention_ms,
        );
        if let Err(e) = st.history.store(&self.dir) {
            warn!(log = %self.dir.display(), error = %e, "could not write the cleaner checkpoint; the next clean redoes this one");
        }
        drop(st);
        stats.elapsed = started.elapsed();
        info!(log = %self.dir.display(), first_dirty_offset = first_dirty, end_offset = upper,
            bytes_read = stats.bytes_read, bytes_written = stats.bytes_written,
            records_kept = stats.records_kept, records_read = stats.records_read,
            segments_before = stats.segments_before, segments_after = stats.segments_after,
            elapsed_ms = stats.elapsed.as_millis() as u64, "cleaned log");
        Ok(Some(stats))
    }

    /// Copies one group of segments, keeping what `keep` says, and installs
    /// the copy in their place. False when the log changed meanwhile.
    fn copy_group(
        &self,
        group: &[Planned],
        config: &LogConfig,
        keep: &Keep<'_>,
        throttle: &mut Throttle,
        stats: &mut CleanStats,
    ) -> Result<bool> {
        let base = group[0].base_offset;
        let mut out = Segment::create_cleaned(&self.dir, base)?;
        let copied = copy_batches(
            group,
            &mut out,
            config.index_interval_bytes,
            keep,
            throttle,
            stats,
        )
        .and_then(|whole| {
            out.seal()?;
            out.sync()?;
            Ok(whole)
        });
        match copied {
            Ok(true) => {}
            Ok(false) => {
                swap::discard(&self.dir, base);
                return Ok(false);
            }
            Err(e) => {
                swap::discard(&self.dir, base);
                return Err(e);
            }
        }
        drop(out);
        let mut st = self.lock();
        let at = st.segments.iter().position(|s| s.base_offset == base);
        let unchanged = st.truncations == keep.truncations
            && at.is_some_and(|i| {
                // The group's segments are all still there, closed and as they were.
                i + group.len() < st.segments.len()
                    && group
                        .iter()
                        .zip(&st.segments[i..])
                        .all(|(g, s)| g.base_offset == s.base_offset && g.size == s.size)
            });
        let Some(i) = at.filter(|_| unchanged) else {
            drop(st);
            swap::discard(&self.dir, base);
            info!(log = %self.dir.display(), "log changed during the clean; giving it up");
            return Ok(false);
        };
        let old: Vec<i64> = group.iter().map(|g| g.base_offset).collect();
        // The copy keeps every record of an aborted transaction, so it
        // keeps their index entries too.
        let aborted: Vec<_> = st.segments[i..i + group.len()]
            .iter()
            .flat_map(|s| s.txn_index.entries().iter().copied())
            .collect();
        if !aborted.is_empty() {
            let path = swap::suffixed(&self.dir, base, "txnindex", swap::CLEANED);
            if let Err(e) = crate::txn_index::TxnIndex::create(path.clone(), aborted) {
                drop(st);
                swap::discard(&self.dir, base);
                return Err(e).at(&path);
            }
        }
        self.note_holes(&mut st)?;
        swap::install(&self.dir, base, &old)?;
        let (segment, _) = Segment::open(
            &self.dir,
            base,
            false,
            false,
            config.index_interval_bytes,
            true,
        )?;
        st.segments.splice(i..i + group.len(), [segment]);
        Ok(true)
    }
}

/// Reads the dirty records into `map`; returns the first offset it could
/// not take (the cleanable end, unless the map filled up first), `None`
/// when the clean was aborted.
fn build_map(
    plan: &[Planned],
    first_dirty: i64,
    cleanable_end: i64,
    aborted: &AbortedRanges,
    map: &mut OffsetMap,
    throttle: &mut Throttle,
) -> Result<Option<i64>> {
    map.clear();
    for seg in plan.iter().filter(|s| s.next_offset > first_dirty) {
        let snap = &seg.snapshot;
        let stop = each_batch(seg, |position, batch| {
            // An aborted transaction's records never supersede a value.
            if batch.last_offset() < first_dirty
                || batch.is_control()
                || aborted.holds(
                    batch.producer_id(),
                    batch.base_offset(),
                    batch.is_transactional(),
                )
            {
                return Ok(None);
            }
            if batch.base_offset() >= cleanable_end {
                return Ok(Some(Some(cleanable_end)));
            }
            let count = usize::try_from(batch.record_count()).unwrap_or(0);
            if !map.is_empty() && !map.has_room_for(count) {
                return Ok(Some(Some(batch.base_offset())));
            }
            if throttle.aborted() {
                return Ok(Some(None));
            }
            for_each_key(batch.bytes(), |r| {
                if r.offset >= first_dirty
                    && let Some(key) = r.key
                {
                    map.put(key, r.offset);
                }
            })
            .map_err(|e| corrupt(snap, position, e))?;
            throttle.spent(batch.size() as u64);
            Ok(None)
        })?;
        if let Some(upper) = stop {
            return Ok(upper);
        }
    }
    Ok(Some(cleanable_end))
}

/// Calls `f` with each whole, checked batch of `seg` and its position,
/// until `f` answers `Some`: what it answered, `None` at the segment's end.
fn each_batch<T>(
    seg: &Planned,
    mut f: impl FnMut(u64, &kfk_wire::BatchHeader<'_>) -> Result<Option<T>>,
) -> Result<Option<T>> {
    let snap = &seg.snapshot;
    let mut scanner = Scanner::new(&snap.file, 0, seg.size, READ_CHUNK);
    loop {
        match scanner.next_valid_batch().at(&snap.path)? {
            Step::Batch { position, item } => {
                if let Some(done) = f(position, &item)? {
                    return Ok(Some(done));
                }
            }
            Step::Bad { position, error } => return Err(corrupt(snap, position, error)),
            Step::End => return Ok(None),
        }
    }
}

/// Consecutive segments below `upper`, merged while a group fits
/// `segment.bytes` and its offsets fit one index.
fn group_segments(plan: &[Planned], upper: i64, segment_bytes: u64) -> Vec<&[Planned]> {
    let cleanable = plan.partition_point(|s| s.base_offset < upper);
    let plan = &plan[..cleanable];
    let mut groups = Vec::new();
    let mut start = 0;
    let mut size = 0u64;
    for (i, s) in plan.iter().enumerate() {
        let span = s.next_offset - 1 - plan[start].base_offset;
        if i > start && (size + s.size > segment_bytes || span > i64::from(i32::MAX)) {
            groups.push(&plan[start..i]);
            start = i;
            size = 0;
        }
        size += s.size;
    }
    if start < plan.len() {
        groups.push(&plan[start..]);
    }
    groups
}

/// What a clean keeps.
struct Keep<'a> {
    map: &'a OffsetMap,
    /// Records from here on were not read into the map: all stay.
    upper: i64,
    /// Tombstones below this have been kept `delete.retention.ms`.
    expire_below: i64,
    /// Each producer's last batch, which stays (emptied if need be).
    producers_last: &'a HashMap<i64, i64>,
    /// Transactions aborted in the log: their records go.
    aborted: &'a AbortedRanges,
    /// The log's truncation count when the clean began.
    truncations: u64,
}

impl Keep<'_> {
    fn record(&self, r: &RecordView<'_>) -> bool {
        if r.offset >= self.upper {
            return true;
        }
        let Some(key) = r.key else {
            // Kafka's cleaner drops records without a key: they cannot be compacted.
            return false;
        };
        let latest = self.map.latest(key).is_none_or(|l| r.offset >= l);
        latest && !(r.tombstone && r.offset < self.expire_below)
    }
}

/// Writes the kept batches of `group` into `out`; false when aborted.
fn copy_batches(
    group: &[Planned],
    out: &mut Segment,
    index_interval: u64,
    keep: &Keep<'_>,
    throttle: &mut Throttle,
    stats: &mut CleanStats,
) -> Result<bool> {
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut pending: Vec<(usize, BatchSummary)> = Vec::new();
    let last = group.len() - 1;
    for (gi, seg) in group.iter().enumerate() {
        let snap = &seg.snapshot;
        let aborted = each_batch(seg, |position, batch| {
            if throttle.aborted() {
                return Ok(Some(()));
            }
            stats.bytes_read += batch.size() as u64;
            stats.records_read += u64::from(batch.record_count().max(0) as u32);
            let retained = if batch.is_control() {
                Retained::All
            } else if keep.aborted.holds(
                batch.producer_id(),
                batch.base_offset(),
                batch.is_transactional(),
            ) {
                Retained::Nothing
            } else {
                retain_records(batch.bytes(), |r| keep.record(r))
                    .map_err(|e| corrupt(snap, position, e))?
            };
            // The group's last batch stays so the copy covers the same offsets.
            let must_stay = (gi == last && batch.last_offset() == seg.next_offset - 1)
                || (batch.producer_id() >= 0
                    && keep.producers_last.get(&batch.producer_id()) == Some(&batch.last_offset()));
            let rewritten;
            let bytes: &[u8] = match retained {
                Retained::All => batch.bytes(),
                Retained::Some(b) => {
                    rewritten = b;
                    &rewritten
                }
                Retained::Nothing if must_stay => {
                    rewritten = emptied(batch.bytes()).map_err(|e| corrupt(snap, position, e))?;
                    &rewritten
                }
                Retained::Nothing => return Ok(None),
            };
            let summary = BatchSummary::peek(bytes).map_err(|e| corrupt(snap, position, e))?;
            stats.records_kept += u64::from(summary.record_count.max(0) as u32);
            pending.push((buf.len(), summary));
            buf.extend_from_slice(bytes);
            throttle.spent(batch.size() as u64);
            if buf.len() >= WRITE_CHUNK {
                flush_chunk(out, &mut buf, &mut pending, index_interval, throttle, stats)?;
            }
            Ok(None)
        })?;
        if aborted.is_some() {
            return Ok(false);
        }
    }
    flush_chunk(out, &mut buf, &mut pending, index_interval, throttle, stats)?;
    Ok(true)
}

fn flush_chunk(
    out: &mut Segment,
    buf: &mut Vec<u8>,
    pending: &mut Vec<(usize, BatchSummary)>,
    index_interval: u64,
    throttle: &mut Throttle,
    stats: &mut CleanStats,
) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    out.append(buf, pending, index_interval)?;
    stats.bytes_written += buf.len() as u64;
    throttle.spent(buf.len() as u64);
    buf.clear();
    pending.clear();
    Ok(())
}

/// The offset ranges of aborted transactions, per producer, from the
/// log's `.txnindex` entries: records there were never committed, so the
/// cleaner neither lets them supersede a committed value nor keeps them
/// (Kafka's cleaner drops them too).
struct AbortedRanges(HashMap<i64, Vec<(i64, i64)>>);

impl AbortedRanges {
    fn new(entries: impl Iterator<Item = crate::txn_index::AbortedTxn>) -> AbortedRanges {
        let mut by_producer: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for e in entries {
            by_producer
                .entry(e.producer_id)
                .or_default()
                .push((e.first_offset, e.last_offset));
        }
        AbortedRanges(by_producer)
    }

    /// Whether a batch of `producer_id` at `offset` belongs to an aborted
    /// transaction (only transactional batches can).
    fn holds(&self, producer_id: i64, offset: i64, transactional: bool) -> bool {
        transactional
            && self.0.get(&producer_id).is_some_and(|ranges| {
                ranges
                    .iter()
                    .any(|(first, last)| (*first..=*last).contains(&offset))
            })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kfk_wire::{BatchHeader, BatchOptions, NewRecord, encode_batch, for_each_record};

    use crate::cleaner::swap::CRASH_AFTER;
    use crate::cleaner::{OffsetMap, Throttle};
    use crate::config::{CleanupPolicy, LogConfig};
    use crate::log::{Log, now_ms};

    fn config() -> LogConfig {
        LogConfig {
            segment_bytes: 2048,
            index_interval_bytes: 256,
            cleanup_policy: CleanupPolicy {
                compact: true,
                delete: false,
            },
            ..LogConfig::default()
        }
    }

    fn contents(log: &Log) -> Vec<(i64, Bytes, Option<Bytes>)> {
        let mut out = Vec::new();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let chunk = log.read(offset, 1 << 20).unwrap().records;
            let mut pos = 0;
            while pos < chunk.len() {
                let h = BatchHeader::parse(&chunk[pos..]).unwrap();
                for_each_record(&chunk.slice(pos..pos + h.size()), |r| {
                    out.push((r.offset, r.key.unwrap(), r.value));
                })
                .unwrap();
                offset = h.last_offset() + 1;
                pos += h.size();
            }
        }
        out
    }

    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    /// A crash after each file operation of installing a clean: the log
    /// reopens with every group either old or cleaned, never half of one.
    #[test]
    fn a_crash_at_any_step_of_a_clean_changes_no_key_and_leaves_no_debris() {
        let fixture = tempfile::tempdir().unwrap();
        {
            let log = Log::open(fixture.path(), config()).unwrap();
            for i in 0..300 {
                let records: Vec<NewRecord> = (0..3)
                    .map(|j| NewRecord {
                        key: Some(Bytes::from(format!("k{}", (i * 3 + j) % 20))),
                        value: Some(Bytes::from(format!("v{i}-{j}"))),
                        timestamp: now_ms(),
                        headers: Vec::new(),
                    })
                    .collect();
                let mut b = encode_batch(&records, &BatchOptions::default()).unwrap();
                log.append(&mut b, 0).unwrap();
            }
            log.roll().unwrap();
            log.close().unwrap();
        }
        let before = contents(&Log::open(fixture.path(), config()).unwrap());
        let after = {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(fixture.path(), dir.path());
            let log = Log::open(dir.path(), config()).unwrap();
            let mut map = OffsetMap::with_buffer(1 << 20);
            log.clean(
                &mut map,
                &mut Throttle::new(f64::INFINITY),
                now_ms(),
                i64::MAX,
            )
            .unwrap()
            .unwrap();
            contents(&log)
        };
        assert_eq!(before.len(), 900);
        assert_eq!(after.len(), 20);
        let latest = |rows: &[(i64, Bytes, Option<Bytes>)]| {
            let mut m = std::collections::BTreeMap::new();
            for (o, k, v) in rows {
                m.insert(k.clone(), (*o, v.clone()));
            }
            m
        };
        let mut states = std::collections::BTreeSet::new();
        for crash_at in 0.. {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(fixture.path(), dir.path());
            let log = Log::open(dir.path(), config()).unwrap();
            let mut map = OffsetMap::with_buffer(1 << 20);
            CRASH_AFTER.with(|c| c.set(Some(crash_at)));
            let outcome = log.clean(
                &mut map,
                &mut Throttle::new(f64::INFINITY),
                now_ms(),
                i64::MAX,
            );
            CRASH_AFTER.with(|c| c.set(None));
            drop(log);
            let now = contents(&Log::open(dir.path(), config()).unwrap());
            // Groups are installed one by one: each record left is one of
            // the old ones, every record a full clean keeps is there, and
            // each key reads as it did.
            let mut old = before.iter();
            for r in &now {
                assert!(
                    old.any(|b| b == r),
                    "step {crash_at}: record {} is not an old one",
                    r.0
                );
            }
            let mut rest = now.iter();
            for r in &after {
                assert!(rest.any(|n| n == r), "step {crash_at}: lost {}", r.0);
            }
            assert!(
                latest(&now) == latest(&before),
                "step {crash_at}: keys read differently"
            );
            states.insert(now.len());
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted")
                })
                .collect();
            assert!(leftovers.is_empty(), "step {crash_at}: {leftovers:?}");
            if outcome.is_ok() {
                break;
            }
        }
        // Old, new, and partly cleaned logs in between were all seen.
        assert!(states.contains(&before.len()) && states.contains(&after.len()));
        assert!(states.len() > 2, "{states:?}");
    }
}
