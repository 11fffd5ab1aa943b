//! Behaviour of one partition log: append, read, roll, reopen, truncate,
//! timestamps, retention and flushing.

mod common;

use common::{batch, batch_with, offsets};
use kfk_log::{Log, LogConfig, LogError};
use kfk_wire::{BatchHeader, Compression, TimestampType};

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 512,
        ..LogConfig::default()
    }
}

fn fill(log: &Log, batches: usize, records_per_batch: usize, ts: i64) {
    for i in 0..batches {
        let mut b = batch(records_per_batch, 50, ts + i as i64);
        log.append(&mut b, 0).unwrap();
    }
}

#[test]
fn append_assigns_consecutive_offsets_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let mut b1 = batch(3, 10, 1000);
    let mut b2 = batch(2, 10, 2000);
    let a1 = log.append(&mut b1, 5).unwrap();
    let a2 = log.append(&mut b2, 5).unwrap();
    assert_eq!((a1.base_offset, a1.last_offset, a1.record_count), (0, 2, 3));
    assert_eq!((a2.base_offset, a2.last_offset), (3, 4));
    assert_eq!(a1.log_append_time_ms, None);
    assert_eq!(log.log_end_offset(), 5);

    let read = log.read(0, 1 << 20).unwrap();
    assert_eq!(offsets(&read.records), vec![0, 1, 2, 3, 4]);
    assert_eq!((read.log_start_offset, read.log_end_offset), (0, 5));
    let first = BatchHeader::parse(&read.records).unwrap();
    first.validate().unwrap();
    assert_eq!(first.partition_leader_epoch(), 5);
    // The caller's buffer was rewritten in place, exactly as stored.
    assert_eq!(&read.records[..b1.len()], &b1[..]);
}

#[test]
fn a_request_with_several_batches_is_one_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let mut set = batch(2, 10, 0);
    set.extend(batch(3, 10, 0));
    let info = log.append(&mut set, 0).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count),
        (0, 4, 5)
    );
    assert_eq!(
        offsets(&log.read(0, 1 << 20).unwrap().records),
        vec![0, 1, 2, 3, 4]
    );
}

#[test]
fn reading_from_the_middle_of_a_batch_returns_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    fill(&log, 3, 10, 0);
    let read = log.read(15, 1 << 20).unwrap();
    assert_eq!(offsets(&read.records).first(), Some(&10));
    assert_eq!(offsets(&read.records).len(), 20);
}

#[test]
fn max_bytes_limits_to_whole_batches_but_returns_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let size = batch(10, 100, 0).len();
    for _ in 0..5 {
        log.append(&mut batch(10, 100, 0), 0).unwrap();
    }
    // Smaller than one batch: still one whole batch.
    let one = log.read(0, 10).unwrap();
    assert_eq!(one.records.len(), size);
    // Room for two and a half batches: two.
    let two = log.read(0, size * 5 / 2).unwrap();
    assert_eq!(offsets(&two.records), (0..20).collect::<Vec<_>>());
    // Zero bytes at the end of the log.
    assert!(
        log.read(log.log_end_offset(), 100)
            .unwrap()
            .records
            .is_empty()
    );
}

#[test]
fn read_below_stops_at_the_upper_bound() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    fill(&log, 4, 5, 0);
    let read = log.read_below(0, 1 << 20, 10).unwrap();
    assert_eq!(offsets(&read.records), (0..10).collect::<Vec<_>>());
    assert!(log.read_below(10, 1 << 20, 10).unwrap().records.is_empty());
    // A batch that straddles the bound is withheld.
    assert!(log.read_below(10, 1 << 20, 12).unwrap().records.is_empty());
}

#[test]
fn located_ranges_of_large_batches_end_at_whole_batches() {
    // Batches of a 16 KiB record each, as Kafka's producer sends them: the
    // index knows where nearly every one starts, and the range found through
    // it must match the batches read one by one.
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let size = batch(1, 16_384, 0).len();
    for i in 0..200 {
        log.append(&mut batch(1, 16_384, i), 0).unwrap();
    }
    let mib = 1 << 20;
    let fit = (mib / size) as i64;
    for (from, bound, last) in [
        (0, i64::MAX, fit - 1),
        (37, i64::MAX, 37 + fit - 1),
        // The high watermark in the middle of what would fit.
        (10, 41, 40),
        // Only the first batch is below the bound.
        (10, 11, 10),
        // Near the end of the log: everything left.
        (190, i64::MAX, 199),
    ] {
        let located = log.locate_below(from, mib, bound).unwrap();
        let range = located.range.expect("batches to send");
        assert_eq!(range.last_offset, last, "from {from} below {bound}");
        assert_eq!(range.len, (last - from + 1) as usize * size);
        let read = log.read_below(from, mib, bound).unwrap();
        assert_eq!(read.records.len(), range.len);
    }
    // Smaller than one batch: still that one batch.
    let one = log.locate_below(5, 10, i64::MAX).unwrap().range.unwrap();
    assert_eq!((one.len, one.last_offset), (size, 5));
    assert!(log.locate_below(50, mib, 50).unwrap().range.is_none());
}

#[test]
fn batch_headers_are_found_among_batches_of_every_size() {
    // Header walks read less after hopping over a big batch; small batches
    // after big ones, and big after small, must all still be found.
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let values = [
        20_000, 100, 100, 100, 9_000, 10, 50_000, 3_000, 3_000, 3_000, 8_100, 1,
    ];
    let mut stored = Vec::new();
    for round in 0..4 {
        for (i, &v) in values.iter().enumerate() {
            let mut b = batch(1 + i % 3, v, round * 100 + i as i64);
            log.append(&mut b, 0).unwrap();
            stored.push(b);
        }
    }
    let bases: Vec<i64> = stored
        .iter()
        .map(|b| BatchHeader::parse(b).unwrap().base_offset())
        .collect();
    let mut seen = Vec::new();
    log.scan_batches(0, |b| seen.push(b.base_offset)).unwrap();
    assert_eq!(seen, bases);
    let all: Vec<u8> = stored.concat();
    let end = log.log_end_offset();
    for max in [1, 10_000, 30_000, 1 << 20] {
        for from in 0..end {
            let read = log.read_below(from, max, end - 3).unwrap().records;
            let located = log.locate_below(from, max, end - 3).unwrap().range;
            assert_eq!(
                located.map_or(0, |r| r.len),
                read.len(),
                "from {from}, max {max}"
            );
        }
    }
    // Recovery walks whole batches the same way.
    drop(log);
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(&log.read(0, usize::MAX).unwrap().records[..], &all[..]);
}

#[test]
fn offsets_outside_the_log_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    fill(&log, 1, 3, 0);
    match log.read(4, 100) {
        Err(LogError::OffsetOutOfRange {
            offset: 4,
            log_start_offset: 0,
            log_end_offset: 3,
        }) => {}
        other => panic!("expected out of range, got {other:?}"),
    }
    assert!(matches!(
        log.read(-1, 100),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn bad_batches_are_rejected_and_leave_the_log_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        max_message_bytes: 2000,
        ..LogConfig::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    fill(&log, 1, 3, 0);
    let before = log.read(0, 1 << 20).unwrap();

    let mut corrupt = batch(3, 10, 0);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert!(matches!(
        log.append(&mut corrupt, 0),
        Err(LogError::CorruptBatch { .. })
    ));

    let mut torn = batch(3, 10, 0);
    torn.truncate(torn.len() - 3);
    assert!(matches!(
        log.append(&mut torn, 0),
        Err(LogError::CorruptBatch { .. })
    ));

    let mut bad_magic = batch(3, 10, 0);
    bad_magic[16] = 1;
    assert!(matches!(
        log.append(&mut bad_magic, 0),
        Err(LogError::InvalidBatch { .. })
    ));

    let mut too_large = batch(30, 100, 0);
    assert!(matches!(
        log.append(&mut too_large, 0),
        Err(LogError::BatchTooLarge { .. })
    ));

    // A good batch followed by a corrupt one: neither is written.
    let mut mixed = batch(2, 10, 0);
    mixed.extend(corrupt);
    assert!(matches!(
        log.append(&mut mixed, 0),
        Err(LogError::CorruptBatch { .. })
    ));

    assert!(matches!(
        log.append(&mut [], 0),
        Err(LogError::EmptyRecordSet)
    ));
    assert_eq!(log.read(0, 1 << 20).unwrap(), before);
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn segments_roll_by_size_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    fill(&log, 60, 5, 0);
    assert!(log.segment_count() > 3, "segments: {}", log.segment_count());
    // Rolled segments have their index files; the active one gets them with
    // its first index entry or at close.
    let bases = log.segment_base_offsets();
    for base in &bases[..bases.len() - 1] {
        let name = format!("{base:020}");
        for ext in ["log", "index", "timeindex"] {
            assert!(
                dir.path().join(format!("{name}.{ext}")).exists(),
                "{name}.{ext}"
            );
        }
    }
    let mut all = Vec::new();
    let mut next = 0;
    while next < log.log_end_offset() {
        let chunk = offsets(&log.read(next, 1000).unwrap().records);
        next = chunk.last().unwrap() + 1;
        all.extend(chunk);
    }
    assert_eq!(all, (0..300).collect::<Vec<_>>());
    // Every offset is readable directly, through the sparse index.
    for o in [0, 1, 77, 150, 151, 299] {
        let first = offsets(&log.read(o, 1).unwrap().records)[0];
        assert!(
            first <= o && o < first + 5,
            "offset {o} served from {first}"
        );
    }
}

#[test]
fn segments_roll_by_age_of_first_batch() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    log.append(&mut batch(1, 10, 10_000), 0).unwrap();
    log.append(&mut batch(1, 10, 10_500), 0).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(&mut batch(1, 10, 11_001), 0).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn clean_reopen_keeps_everything_and_skips_recovery() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small_segments()).unwrap();
        fill(&log, 40, 5, 0);
        log.close().unwrap();
    }
    assert!(dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE).exists());
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert!(!dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE).exists());
    assert_eq!(log.log_end_offset(), 200);
    assert_eq!(log.recovery_point(), 200);
    assert_eq!(offsets(&log.read(190, 1 << 20).unwrap().records).len(), 10);
    log.append(&mut batch(1, 10, 0), 0).unwrap();
    assert_eq!(log.log_end_offset(), 201);
}

#[test]
fn unclean_reopen_recovers_all_appended_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small_segments()).unwrap();
        fill(&log, 40, 5, 0);
        // Dropped without close: as after a crash.
    }
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_end_offset(), 200);
    let got: Vec<i64> = offsets(&log.read(0, 1 << 20).unwrap().records);
    assert_eq!(got.first(), Some(&0));
}

#[test]
fn damaged_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small_segments()).unwrap();
        fill(&log, 40, 5, 0);
        log.close().unwrap();
    }
    std::fs::write(dir.path().join(format!("{:020}.index", 0)), [1u8; 13]).unwrap();
    std::fs::remove_file(dir.path().join(format!("{:020}.timeindex", 0))).unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_end_offset(), 200);
    let first = offsets(&log.read(7, 1).unwrap().records)[0];
    assert_eq!(first, 5);
}

#[test]
fn truncate_to_cuts_at_batch_boundaries_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    fill(&log, 60, 5, 0);
    let segments = log.segment_count();
    // 152 is inside the batch 150..=154, which goes entirely.
    assert_eq!(log.truncate_to(152).unwrap(), 150);
    assert_eq!(log.log_end_offset(), 150);
    assert!(log.segment_count() < segments);
    assert!(log.recovery_point() <= 150);
    let info = log.append(&mut batch(2, 10, 0), 0).unwrap();
    assert_eq!(info.base_offset, 150);
    let tail = offsets(&log.read(145, 1 << 20).unwrap().records);
    assert_eq!(tail, (145..152).collect::<Vec<_>>());
    // Truncating past the end changes nothing.
    assert_eq!(log.truncate_to(1000).unwrap(), 152);
    // The truncation survives a crash.
    drop(log);
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_end_offset(), 152);
}

#[test]
fn truncate_fully_restarts_the_log_at_an_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    fill(&log, 20, 5, 0);
    log.truncate_fully_and_start_at(500).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 500));
    assert_eq!(
        log.append(&mut batch(1, 10, 0), 0).unwrap().base_offset,
        500
    );
    assert_eq!(log.segment_base_offsets(), vec![500]);
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    // Batch i holds records with timestamps 1000*i .. 1000*i + 4.
    for i in 0..60 {
        log.append(&mut batch(5, 50, 1000 * i), 0).unwrap();
    }
    assert!(log.segment_count() > 3);
    let hit = log.offset_for_timestamp(30_002).unwrap().unwrap();
    assert_eq!((hit.offset, hit.timestamp), (152, 30_002));
    let hit = log.offset_for_timestamp(30_005).unwrap().unwrap();
    assert_eq!((hit.offset, hit.timestamp), (155, 31_000));
    assert_eq!(log.offset_for_timestamp(0).unwrap().unwrap().offset, 0);
    assert_eq!(log.offset_for_timestamp(59_005).unwrap(), None);
}

#[test]
fn offset_for_timestamp_reads_compressed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    log.append(&mut batch_with(10, 50, 100, Compression::Lz4), 0)
        .unwrap();
    log.append(&mut batch_with(10, 50, 200, Compression::Zstd), 0)
        .unwrap();
    let hit = log.offset_for_timestamp(205).unwrap().unwrap();
    assert_eq!((hit.offset, hit.timestamp), (15, 205));
}

#[test]
fn log_append_time_stamps_batches_with_the_broker_clock() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    let info = log.append_at(&mut batch(3, 10, 5), 0, 777_000).unwrap();
    assert_eq!(info.log_append_time_ms, Some(777_000));
    let read = log.read(0, 1 << 20).unwrap();
    let h = BatchHeader::parse(&read.records).unwrap();
    h.validate().unwrap();
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(h.max_timestamp(), 777_000);
    assert_eq!(
        log.offset_for_timestamp(777_000).unwrap().unwrap().offset,
        0
    );
}

#[test]
fn retention_by_time_deletes_old_segments_and_advances_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: 10_000,
        ..small_segments()
    };
    let log = Log::open(dir.path(), config).unwrap();
    for i in 0..60 {
        log.append(&mut batch(5, 50, 1000 * i), 0).unwrap();
    }
    let segments = log.segment_count();
    // At now = 50_000 everything older than 40_000 goes.
    let deleted = log.delete_old_segments(50_000).unwrap();
    assert!(deleted > 0 && deleted < segments);
    let start = log.log_start_offset();
    assert_eq!(start, log.segment_base_offsets()[0]);
    assert!(start > 0);
    assert!(matches!(
        log.read(0, 100),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    let first = offsets(&log.read(start, 1).unwrap().records)[0];
    assert_eq!(first, start);
    // Every record younger than the cut is still there.
    assert!(log.offset_for_timestamp(40_001).unwrap().is_some());
    assert!(
        start <= 200,
        "a batch stamped 40_000 or later was deleted: start {start}"
    );

    // Far in the future: everything goes, the log stays usable at its end offset.
    log.delete_old_segments(10_000_000).unwrap();
    assert_eq!(log.log_start_offset(), 300);
    assert_eq!(log.log_end_offset(), 300);
    assert_eq!(
        log.append(&mut batch(1, 10, 0), 0).unwrap().base_offset,
        300
    );
}

#[test]
fn retention_by_size_keeps_the_log_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_bytes: 10_000,
        retention_ms: -1,
        ..small_segments()
    };
    let log = Log::open(dir.path(), config).unwrap();
    fill(&log, 100, 5, 0);
    assert!(log.size_bytes() > 20_000);
    assert!(log.delete_old_segments(i64::MAX).unwrap() > 0);
    let size = log.size_bytes();
    assert!(size <= 10_000 + 4096, "size after retention: {size}");
    assert!(size >= 10_000 - 4096, "deleted too much: {size}");
}

#[test]
fn retention_minus_one_keeps_forever() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: -1,
        ..small_segments()
    };
    let log = Log::open(dir.path(), config).unwrap();
    fill(&log, 40, 5, 0);
    assert_eq!(log.delete_old_segments(i64::MAX).unwrap(), 0);
    assert_eq!(log.log_start_offset(), 0);
}

#[test]
fn flush_messages_moves_the_recovery_point_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_messages: Some(1),
        ..LogConfig::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    assert_eq!(log.recovery_point(), 0);
    log.append(&mut batch(3, 10, 0), 0).unwrap();
    assert_eq!(log.recovery_point(), 3);
    log.append(&mut batch(2, 10, 0), 0).unwrap();
    assert_eq!(log.recovery_point(), 5);
    let stored: i64 = std::fs::read_to_string(dir.path().join("recovery-point"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(stored, 5);
}

#[test]
fn flush_ms_flushes_stale_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_ms: Some(1000),
        ..LogConfig::default()
    };
    let log = Log::open(dir.path(), config).unwrap();
    let t0 = kfk_log::now_ms();
    log.append_at(&mut batch(3, 10, 0), 0, t0).unwrap();
    log.flush_if_stale(t0 + 10).unwrap();
    assert_eq!(log.recovery_point(), 0);
    log.flush_if_stale(t0 + 2000).unwrap();
    assert_eq!(log.recovery_point(), 3);
}

#[test]
fn replicated_appends_keep_the_leaders_offsets() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let leader = Log::open(leader_dir.path(), LogConfig::default()).unwrap();
    let follower = Log::open(follower_dir.path(), LogConfig::default()).unwrap();
    fill(&leader, 5, 4, 0);
    let fetched = leader.read(0, 1 << 20).unwrap().records;
    let info = follower.append_replicated(&fetched).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 19));
    assert_eq!(follower.read(0, 1 << 20).unwrap().records, fetched);
    // The same batches again do not continue the log.
    assert!(matches!(
        follower.append_replicated(&fetched),
        Err(LogError::NonMonotonicOffset { .. })
    ));
    // A follower that starts late (leader retention) begins at the leader's start.
    let late_dir = tempfile::tempdir().unwrap();
    let late = Log::open(late_dir.path(), LogConfig::default()).unwrap();
    let tail = leader.read(12, 1 << 20).unwrap().records;
    late.truncate_fully_and_start_at(12).unwrap();
    late.append_replicated(&tail).unwrap();
    assert_eq!((late.log_start_offset(), late.log_end_offset()), (12, 20));
}

#[test]
fn reads_run_concurrently_with_appends() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(Log::open(dir.path(), small_segments()).unwrap());
    let writer = {
        let log = std::sync::Arc::clone(&log);
        std::thread::spawn(move || fill(&log, 400, 5, 0))
    };
    let mut next = 0;
    while next < 2000 {
        let read = log.read(next, 3000).unwrap();
        for o in offsets(&read.records) {
            if o >= next {
                assert_eq!(o, next, "offsets must be contiguous");
                next += 1;
            }
        }
    }
    writer.join().unwrap();
}

#[test]
fn leader_epochs_are_tracked_truncated_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.latest_epoch(), None);
    for (epoch, batches) in [(0, 3), (2, 2), (5, 4)] {
        for _ in 0..batches {
            log.append(&mut batch(5, 20, 0), epoch).unwrap();
        }
    }
    let starts: Vec<(i32, i64)> = log
        .epoch_entries()
        .iter()
        .map(|e| (e.epoch, e.start_offset))
        .collect();
    assert_eq!(starts, vec![(0, 0), (2, 15), (5, 25)]);
    assert_eq!(log.end_offset_for_epoch(5), (5, 45));
    assert_eq!(log.end_offset_for_epoch(2), (2, 25));
    assert_eq!(log.end_offset_for_epoch(3), (2, 25));
    assert_eq!(log.end_offset_for_epoch(-1), (-1, -1));

    // A follower truncating to the leader's epoch end offset forgets later epochs.
    log.truncate_to(25).unwrap();
    assert_eq!(log.latest_epoch(), Some(2));
    assert_eq!(log.end_offset_for_epoch(2), (2, 25));

    // The checkpoint survives a reopen, and is rebuilt from batch headers when lost.
    drop(log);
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.latest_epoch(), Some(2));
    drop(log);
    std::fs::remove_file(dir.path().join("leader-epoch-checkpoint")).unwrap();
    let log = Log::open(dir.path(), small_segments()).unwrap();
    let starts: Vec<(i32, i64)> = log
        .epoch_entries()
        .iter()
        .map(|e| (e.epoch, e.start_offset))
        .collect();
    assert_eq!(starts, vec![(0, 0), (2, 15)]);

    // Replicated batches keep the leader's epochs.
    let follower_dir = tempfile::tempdir().unwrap();
    let follower = Log::open(follower_dir.path(), LogConfig::default()).unwrap();
    let mut next = 0;
    while next < log.log_end_offset() {
        let chunk = log.read(next, 1 << 20).unwrap().records;
        follower.append_replicated(&chunk).unwrap();
        next = follower.log_end_offset();
    }
    assert_eq!(follower.epoch_entries(), log.epoch_entries());

    // Retention moves the first epoch's start with the log start.
    log.truncate_fully_and_start_at(100).unwrap();
    assert_eq!(log.latest_epoch(), None);
}

fn epoch_starts(log: &Log) -> Vec<(i32, i64)> {
    log.epoch_entries()
        .iter()
        .map(|e| (e.epoch, e.start_offset))
        .collect()
}

#[test]
fn epochs_begun_after_the_last_flush_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("leader-epoch-checkpoint");
    {
        let log = Log::open(dir.path(), LogConfig::default()).unwrap();
        for _ in 0..3 {
            log.append(&mut batch(5, 20, 0), 1).unwrap();
        }
        // Appends leave the file to the flush: no fsyncs per new epoch.
        assert!(!checkpoint.exists());
        log.flush().unwrap();
        let text = std::fs::read_to_string(&checkpoint).unwrap();
        assert_eq!(text, "0\n1\n1 0\n");
        // Epochs 4 and 7 begin in the middle of the unflushed tail.
        for epoch in [4, 4, 7] {
            log.append(&mut batch(5, 20, 0), epoch).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), text);
        assert_eq!(epoch_starts(&log), vec![(1, 0), (4, 15), (7, 25)]);
        // Dropped without close: as after a crash.
    }
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(epoch_starts(&log), vec![(1, 0), (4, 15), (7, 25)]);
    assert_eq!(log.end_offset_for_epoch(4), (4, 25));
    // A clean close writes what the crash had to rebuild.
    log.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&checkpoint).unwrap(),
        "0\n3\n1 0\n4 15\n7 25\n"
    );
}

#[test]
fn a_roll_writes_the_epochs_before_the_recovery_point_passes_them() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("leader-epoch-checkpoint");
    let log = Log::open(dir.path(), small_segments()).unwrap();
    for epoch in [2, 2, 3] {
        log.append(&mut batch(5, 20, 0), epoch).unwrap();
    }
    assert!(!checkpoint.exists());
    log.roll().unwrap();
    assert_eq!(
        std::fs::read_to_string(&checkpoint).unwrap(),
        "0\n2\n2 0\n3 10\n"
    );
}

#[test]
fn segments_wholly_below_a_new_start_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path().join("t-0"), small_segments()).unwrap();
    fill(&log, 40, 5, 1_000);
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3, "{bases:?}");
    // A start inside the third segment keeps it: only whole segments go.
    let inside = bases[2] + 1;
    assert_eq!(log.delete_segments_before(inside).unwrap(), 2);
    assert_eq!(log.log_start_offset(), bases[2]);
    assert!(
        log.read(bases[1], 1 << 20).is_err(),
        "deleted data is out of range"
    );
    // The active segment always stays.
    let end = log.log_end_offset();
    log.delete_segments_before(end + 100).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_end_offset(), end);
    drop(log);
    let reopened = Log::open(dir.path().join("t-0"), small_segments()).unwrap();
    assert_eq!(reopened.log_end_offset(), end);
}

#[test]
fn a_new_partition_is_two_files_and_closes_cleanly_before_its_first_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["00000000000000000000.log".to_string()]);
    // One small batch: below the index interval, so no index entry yet.
    log.append(&mut batch(1, 10, 5), 0).unwrap();
    log.close().unwrap();
    assert!(dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE).exists());
    drop(log);
    let again = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(again.log_end_offset(), 1);
}

#[test]
fn records_deleted_inside_a_segment_stay_unreadable_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small_segments()).unwrap();
        // 60 batches of 4 records over several 4 KiB segments.
        fill(&log, 60, 4, 1000);
        assert!(log.segment_count() > 2);
        let second_base = log.segment_base_offsets()[1];
        // Into the middle of the second segment.
        let target = second_base + 3;
        assert_eq!(log.advance_log_start(target).unwrap(), target);
        assert_eq!(log.log_start_offset(), target);
        assert_eq!(
            log.segment_base_offsets()[0],
            second_base,
            "the first segment went"
        );
        assert!(matches!(
            log.read(target - 1, 1 << 20),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        let read = log.read(target, 1 << 20).unwrap();
        assert_eq!(read.log_start_offset, target);
        // The batch holding the start comes whole, as Kafka serves it.
        assert!(offsets(&read.records)[0] <= target);
        // Never backwards; never past the end.
        assert_eq!(log.advance_log_start(1).unwrap(), target);
        log.close().unwrap();
    }
    let log = Log::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0] + 3);
    assert_eq!(log.advance_log_start(i64::MAX).unwrap(), 240);
    assert_eq!(log.log_start_offset(), 240);
    assert_eq!(log.log_end_offset(), 240);
    // The next record is readable from the new start.
    let mut b = common::batch(1, 10, 5000);
    log.append(&mut b, 0).unwrap();
    assert_eq!(offsets(&log.read(240, 1 << 20).unwrap().records), vec![240]);
}
