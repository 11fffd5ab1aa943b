//! Compaction of one log: the latest record of each key stays at its
//! offset, tombstones go once kept `delete.retention.ms`, producers keep
//! their last batch, and the result survives reopening.

use std::collections::BTreeMap;

use bytes::Bytes;
use kfk_log::cleaner::{OffsetMap, Throttle};
use kfk_log::{CleanupPolicy, Log, LogConfig, now_ms};
use kfk_wire::{BatchHeader, BatchOptions, Compression, NewRecord, encode_batch, for_each_record};

fn compacted() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        cleanup_policy: CleanupPolicy {
            compact: true,
            delete: false,
        },
        ..LogConfig::default()
    }
}

/// One batch of `(key, value)` records; `None` values are tombstones.
fn keyed(records: &[(&str, Option<&str>)], producer_id: i64, codec: Compression) -> Vec<u8> {
    let ts = now_ms();
    let records: Vec<NewRecord> = records
        .iter()
        .map(|(k, v)| NewRecord {
            key: Some(Bytes::from(k.to_string())),
            value: v.map(|v| Bytes::from(v.to_string())),
            timestamp: ts,
            headers: Vec::new(),
        })
        .collect();
    let options = BatchOptions {
        compression: codec,
        producer_id,
        producer_epoch: if producer_id >= 0 { 0 } else { -1 },
        base_sequence: if producer_id >= 0 { 0 } else { -1 },
        transactional: false,
    };
    encode_batch(&records, &options).unwrap().to_vec()
}

/// Every record from the log start: (offset, key, value).
fn read_all(log: &Log) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let chunk = log.read(offset, 1 << 20).unwrap().records;
        assert!(!chunk.is_empty(), "nothing read at {offset} below {end}");
        let mut pos = 0;
        while pos < chunk.len() {
            let h = BatchHeader::parse(&chunk[pos..]).unwrap();
            let batch = chunk.slice(pos..pos + h.size());
            for_each_record(&batch, |r| {
                if r.offset >= offset {
                    let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
                    out.push((r.offset, text(r.key.unwrap()), r.value.map(text)));
                }
            })
            .unwrap();
            offset = h.last_offset() + 1;
            pos += h.size();
        }
    }
    out
}

fn clean(log: &Log) -> Option<kfk_log::CleanStats> {
    let mut map = OffsetMap::with_buffer(1 << 20);
    log.clean(
        &mut map,
        &mut Throttle::new(f64::INFINITY),
        now_ms(),
        i64::MAX,
    )
    .unwrap()
}

/// 40 keys updated 25 times each (1,000 records in batches of 10), then
/// keys 0..10 deleted; the log rolled so all of it is cleanable.
fn updates(log: &Log, codec: Compression) -> BTreeMap<String, (i64, Option<String>)> {
    let mut latest = BTreeMap::new();
    let mut next = 0i64;
    for round in 0..25 {
        for chunk in 0..4 {
            let pairs: Vec<(String, String)> = (0..10)
                .map(|i| (format!("key-{}", chunk * 10 + i), format!("v{round}")))
                .collect();
            let refs: Vec<(&str, Option<&str>)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect();
            log.append(&mut keyed(&refs, -1, codec), 0).unwrap();
            for (k, v) in pairs {
                latest.insert(k, (next, Some(v)));
                next += 1;
            }
        }
    }
    let deleted: Vec<String> = (0..10).map(|i| format!("key-{i}")).collect();
    let refs: Vec<(&str, Option<&str>)> = deleted.iter().map(|k| (k.as_str(), None)).collect();
    log.append(&mut keyed(&refs, -1, codec), 0).unwrap();
    for k in deleted {
        latest.insert(k, (next, None));
        next += 1;
    }
    log.roll().unwrap();
    latest
}

fn as_rows(latest: &BTreeMap<String, (i64, Option<String>)>) -> Vec<(i64, String, Option<String>)> {
    let mut rows: Vec<_> = latest
        .iter()
        .map(|(k, (o, v))| (*o, k.clone(), v.clone()))
        .collect();
    rows.sort();
    rows
}

#[test]
fn the_latest_record_of_each_key_stays_at_its_offset() {
    for codec in [Compression::None, Compression::Zstd, Compression::Gzip] {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), compacted()).unwrap();
        let latest = updates(&log, codec);
        let segments_before = log.segment_count();
        assert!(segments_before > 3, "{codec:?}: {segments_before} segments");
        let end = log.log_end_offset();
        let d = log.dirtiness(now_ms(), i64::MAX);
        assert!(d.ratio() > 0.99, "{codec:?}: never cleaned: {d:?}");

        let stats = clean(&log).expect("a clean");
        assert_eq!(stats.records_read, 1_010);
        assert_eq!(
            stats.records_kept, 40,
            "{codec:?}: 30 values and 10 tombstones"
        );
        assert!(stats.bytes_written < stats.bytes_read / 5, "{stats:?}");
        // Grouped by their size before cleaning, as Kafka does.
        assert_eq!(log.segment_count(), segments_before);
        // Offsets and the end are as they were; tombstones stay for now.
        assert_eq!(log.log_end_offset(), end);
        assert_eq!(read_all(&log), as_rows(&latest), "{codec:?}");
        let d = log.dirtiness(now_ms(), i64::MAX);
        assert_eq!((d.dirty_bytes, d.first_dirty_offset), (0, end));
        assert!(d.last_clean_ms.is_some());

        // Reopened, the log holds the same.
        drop(log);
        let log = Log::open(dir.path(), compacted()).unwrap();
        assert_eq!(
            read_all(&log),
            as_rows(&latest),
            "{codec:?} after reopening"
        );
        assert_eq!(clean(&log), None, "nothing dirty");

        // The next clean merges the small cleaned segments.
        log.append(&mut keyed(&[("key-20", Some("new"))], -1, codec), 0)
            .unwrap();
        log.roll().unwrap();
        let mut latest = latest;
        latest.insert("key-20".into(), (end, Some("new".into())));
        clean(&log).unwrap();
        assert_eq!(log.segment_count(), 2, "{codec:?}: one cleaned, the active");
        assert_eq!(read_all(&log), as_rows(&latest), "{codec:?} merged");
    }
}

#[test]
fn tombstones_go_once_kept_for_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: 300,
        ..compacted()
    };
    let log = Log::open(dir.path(), config).unwrap();
    let latest = updates(&log, Compression::None);
    clean(&log).unwrap();
    // A later clean within delete.retention.ms keeps them.
    log.append(
        &mut keyed(&[("key-39", Some("late"))], -1, Compression::None),
        0,
    )
    .unwrap();
    log.roll().unwrap();
    clean(&log).unwrap();
    let tombstones = read_all(&log).iter().filter(|r| r.2.is_none()).count();
    assert_eq!(tombstones, 10);

    std::thread::sleep(std::time::Duration::from_millis(400));
    log.append(
        &mut keyed(&[("key-38", Some("later"))], -1, Compression::None),
        0,
    )
    .unwrap();
    log.roll().unwrap();
    clean(&log).unwrap();
    let rows = read_all(&log);
    assert!(rows.iter().all(|r| r.2.is_some()), "{rows:?}");
    let keys: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(keys.len(), 30);
    assert!(!keys.contains(&"key-3"));
    assert_eq!(
        rows.iter().find(|r| r.1 == "key-39").map(|r| r.2.clone()),
        Some(Some("late".to_string()))
    );
    assert_eq!(latest.len(), 40);
}

#[test]
fn a_producers_last_batch_and_the_log_end_survive_as_empty_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), compacted()).unwrap();
    log.append(
        &mut keyed(&[("a", Some("1")), ("b", Some("1"))], 7, Compression::None),
        0,
    )
    .unwrap();
    log.append(
        &mut keyed(&[("a", Some("2")), ("b", Some("2"))], -1, Compression::None),
        0,
    )
    .unwrap();
    log.append(&mut keyed(&[("c", Some("1"))], -1, Compression::None), 0)
        .unwrap();
    log.append(&mut keyed(&[("c", Some("2"))], -1, Compression::None), 0)
        .unwrap();
    log.roll().unwrap();
    clean(&log).unwrap();
    let mut batches = Vec::new();
    log.scan_batches(0, |b| {
        batches.push((b.base_offset, b.last_offset, b.record_count, b.producer_id))
    })
    .unwrap();
    assert_eq!(
        batches,
        vec![
            (0, 1, 0, 7),  // producer 7's only batch, emptied
            (2, 3, 2, -1), // a=2, b=2
            (5, 5, 1, -1), // c=2; c=1 at offset 4 went entirely
        ]
    );
    // A read from inside the hole lands on the next batch.
    let read = log.read(4, 1 << 20).unwrap();
    assert_eq!(BatchHeader::parse(&read.records).unwrap().base_offset(), 5);
}

#[test]
fn a_follower_copies_a_cleaned_log_with_its_holes() {
    let leader_dir = tempfile::tempdir().unwrap();
    let leader = Log::open(leader_dir.path(), compacted()).unwrap();
    let latest = updates(&leader, Compression::Lz4);
    clean(&leader).unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let follower = Log::open(follower_dir.path(), compacted()).unwrap();
    let mut offset = 0;
    while offset < leader.log_end_offset() {
        let chunk = leader.read(offset, 300).unwrap().records;
        let info = follower.append_replicated(&chunk).unwrap();
        offset = info.last_offset + 1;
    }
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());
    assert_eq!(read_all(&follower), as_rows(&latest));
    drop(follower);
    let follower = Log::open(follower_dir.path(), compacted()).unwrap();
    assert_eq!(read_all(&follower), as_rows(&latest));
}

#[test]
fn the_high_watermark_bounds_what_a_clean_relies_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), compacted()).unwrap();
    log.append(&mut keyed(&[("a", Some("1"))], -1, Compression::None), 0)
        .unwrap();
    log.append(&mut keyed(&[("a", Some("2"))], -1, Compression::None), 0)
        .unwrap();
    log.roll().unwrap();
    let mut map = OffsetMap::with_buffer(1 << 20);
    let mut free = Throttle::new(f64::INFINITY);
    // Offset 1 is above the high watermark: it may still be truncated, so
    // "a=1" must stay.
    log.clean(&mut map, &mut free, now_ms(), 1).unwrap();
    assert_eq!(read_all(&log).len(), 2);
    log.clean(&mut map, &mut free, now_ms(), 2).unwrap();
    assert_eq!(read_all(&log), vec![(1, "a".into(), Some("2".into()))]);
}

#[test]
fn a_small_dedupe_buffer_cleans_in_several_passes() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), compacted()).unwrap();
    let latest = updates(&log, Compression::None);
    let end = log.log_end_offset();
    // Room for 25 keys: each clean maps only part of the dirty records.
    let mut map = OffsetMap::with_buffer(25 * kfk_log::cleaner::BYTES_PER_ENTRY);
    let mut free = Throttle::new(f64::INFINITY);
    let mut passes = 0;
    while let Some(stats) = log.clean(&mut map, &mut free, now_ms(), i64::MAX).unwrap() {
        passes += 1;
        assert!(stats.end_offset > stats.first_dirty_offset);
        assert!(passes < 100);
    }
    assert!(passes > 10, "{passes} passes");
    assert_eq!(log.dirtiness(now_ms(), i64::MAX).first_dirty_offset, end);
    assert_eq!(read_all(&log), as_rows(&latest));
}

#[test]
fn compaction_lags_hold_young_records_and_flag_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_compaction_lag_ms: 60_000,
        max_compaction_lag_ms: 120_000,
        ..compacted()
    };
    let log = Log::open(dir.path(), config).unwrap();
    let latest = updates(&log, Compression::None);
    let now = now_ms();
    // Everything was written just now: younger than min.compaction.lag.ms.
    let d = log.dirtiness(now, i64::MAX);
    assert_eq!((d.cleanable_end, d.dirty_bytes), (0, 0), "{d:?}");
    assert!(!d.overdue);
    assert_eq!(clean(&log), None);
    // A minute on, all of it may be cleaned; two minutes on, it must be.
    let d = log.dirtiness(now + 61_000, i64::MAX);
    assert!(d.dirty_bytes > 0 && !d.overdue, "{d:?}");
    let d = log.dirtiness(now + 121_000, i64::MAX);
    assert!(d.overdue, "{d:?}");
    let mut map = OffsetMap::with_buffer(1 << 20);
    log.clean(
        &mut map,
        &mut Throttle::new(f64::INFINITY),
        now + 61_000,
        i64::MAX,
    )
    .unwrap()
    .unwrap();
    assert_eq!(read_all(&log), as_rows(&latest));
}
