//! Crash recovery: a segment cut at every byte of its last batch, or with a bit
//! flipped anywhere in it, reopens with exactly the intact prefix.

mod common;

use std::path::Path;

use common::{batch, offsets};
use kfk_log::{Log, LogConfig};

const BATCHES: usize = 4;
const PER_BATCH: usize = 3;

/// Writes a few batches, closes uncleanly, and returns the log file bytes and the
/// position where the last batch starts.
fn write_log(dir: &Path) -> (Vec<u8>, usize) {
    let log = Log::open(dir, LogConfig::default()).unwrap();
    let mut last_start = 0;
    for i in 0..BATCHES {
        last_start = log.size_bytes() as usize;
        log.append(&mut batch(PER_BATCH, 20, i as i64), 0).unwrap();
    }
    log.flush().unwrap();
    drop(log);
    let bytes = std::fs::read(segment_file(dir)).unwrap();
    (bytes, last_start)
}

fn segment_file(dir: &Path) -> std::path::PathBuf {
    dir.join(format!("{:020}.log", 0))
}

/// Reopens `dir` (no clean marker) and checks that exactly the first
/// `BATCHES - 1` batches remain and the log accepts appends again.
fn assert_prefix_survives(dir: &Path, intact: &[u8], what: &str) {
    // Recovery starts from scratch, as after a crash before any flush point.
    let _ = std::fs::remove_file(dir.join("recovery-point"));
    let log = Log::open(dir, LogConfig::default()).unwrap();
    let expected_end = ((BATCHES - 1) * PER_BATCH) as i64;
    assert_eq!(log.log_end_offset(), expected_end, "{what}");
    let read = log.read(0, 1 << 20).unwrap();
    assert_eq!(&read.records[..], intact, "{what}");
    assert_eq!(
        offsets(&read.records),
        (0..expected_end).collect::<Vec<_>>(),
        "{what}"
    );
    let info = log.append(&mut batch(1, 5, 0), 0).unwrap();
    assert_eq!(info.base_offset, expected_end, "{what}");
}

#[test]
fn every_cut_inside_the_last_batch_truncates_to_the_intact_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start) = write_log(dir.path());
    let intact = bytes[..last_start].to_vec();
    for cut in last_start..bytes.len() {
        let case = tempfile::tempdir().unwrap();
        std::fs::write(segment_file(case.path()), &bytes[..cut]).unwrap();
        assert_prefix_survives(case.path(), &intact, &format!("cut at byte {cut}"));
    }
}

#[test]
fn every_bit_flip_inside_the_last_batch_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start) = write_log(dir.path());
    let intact = bytes[..last_start].to_vec();
    // Bytes 12..16 hold the partition leader epoch, which no checksum covers and
    // nothing in storage depends on; every other byte is guarded.
    for pos in (last_start..bytes.len()).filter(|p| !(12..16).contains(&(p - last_start))) {
        for bit in 0..8 {
            let case = tempfile::tempdir().unwrap();
            let mut damaged = bytes.clone();
            damaged[pos] ^= 1 << bit;
            std::fs::write(segment_file(case.path()), &damaged).unwrap();
            assert_prefix_survives(
                case.path(),
                &intact,
                &format!("bit {bit} of byte {pos} flipped"),
            );
        }
    }
}

#[test]
fn garbage_after_the_last_batch_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = write_log(dir.path());
    let len = bytes.len();
    bytes.extend_from_slice(&[0xAB; 100]);
    std::fs::write(segment_file(dir.path()), &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("recovery-point"));
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), (BATCHES * PER_BATCH) as i64);
    assert_eq!(log.size_bytes() as usize, len);
}

#[test]
fn a_clean_marker_does_not_hide_a_torn_tail() {
    // Even when the marker claims a clean shutdown, a tail that does not parse
    // makes the segment recover instead of serving garbage.
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start) = write_log(dir.path());
    std::fs::write(segment_file(dir.path()), &bytes[..bytes.len() - 7]).unwrap();
    std::fs::write(dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE), b"").unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.size_bytes() as usize, last_start);
}

#[test]
fn a_clean_marker_does_not_hide_a_damaged_last_batch_that_parses() {
    // Garbage over the last batch's records after a clean close: the header
    // still parses, only its CRC tells. The active segment's tail is checked
    // whole at every start, so it is cut instead of served.
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, last_start) = write_log(dir.path());
    let n = bytes.len();
    bytes[n - 5..].copy_from_slice(b"XXXXX");
    std::fs::write(segment_file(dir.path()), &bytes).unwrap();
    std::fs::write(dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE), b"").unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.size_bytes() as usize, last_start);
    assert_eq!(log.log_end_offset(), ((BATCHES - 1) * PER_BATCH) as i64);
}

#[test]
fn segments_after_a_damaged_one_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 600,
        ..LogConfig::default()
    };
    {
        let log = Log::open(dir.path(), config.clone()).unwrap();
        for i in 0..12 {
            log.append(&mut batch(2, 40, i), 0).unwrap();
        }
        assert!(log.segment_count() >= 3);
    }
    let first = segment_file(dir.path());
    let mut bytes = std::fs::read(&first).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(&first, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("recovery-point"));
    let log = Log::open(dir.path(), config).unwrap();
    assert_eq!(log.segment_count(), 1);
    let end = log.log_end_offset();
    assert_eq!(
        offsets(&log.read(0, 1 << 20).unwrap().records),
        (0..end).collect::<Vec<_>>()
    );
}
