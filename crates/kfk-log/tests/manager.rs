//! The data directory: opening many partitions, creating, deleting, locking,
//! retention in the background and clean shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::batch;
use kfk_log::{LogConfig, LogError, LogManager, TopicPartition};

#[test]
fn logs_are_found_again_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
        for p in 0..8 {
            let log = mgr
                .get_or_create(&TopicPartition::new("my-topic", p), LogConfig::default())
                .unwrap();
            for _ in 0..=p {
                log.append(&mut batch(2, 10, 0), 0).unwrap();
            }
        }
        mgr.close().unwrap();
    }
    std::fs::write(dir.path().join("meta.properties"), "cluster.id=x\n").unwrap();
    std::fs::create_dir(dir.path().join("not a partition")).unwrap();
    let mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
    let logs = mgr.logs();
    assert_eq!(logs.len(), 8);
    for (tp, log) in logs {
        assert_eq!(tp.topic, "my-topic");
        assert_eq!(log.log_end_offset(), 2 * (i64::from(tp.partition) + 1));
    }
}

#[test]
fn a_data_dir_is_used_by_one_manager_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _first = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
    match LogManager::open(dir.path(), &LogConfig::default()) {
        Err(LogError::DataDirInUse { .. }) => {}
        other => panic!("expected DataDirInUse, got {other:?}"),
    }
}

#[test]
fn deleted_logs_are_gone_and_interrupted_deletions_finish() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TopicPartition::new("doomed", 0);
    {
        let mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
        let log = mgr.get_or_create(&tp, LogConfig::default()).unwrap();
        log.append(&mut batch(1, 10, 0), 0).unwrap();
        assert!(mgr.delete(&tp).unwrap());
        assert!(!mgr.delete(&tp).unwrap());
        assert!(mgr.get(&tp).is_none());
        assert!(!dir.path().join("doomed-0").exists());
    }
    // A crash between rename and removal leaves a -delete directory behind.
    std::fs::create_dir(dir.path().join("other-0.123-delete")).unwrap();
    let mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
    assert!(!dir.path().join("other-0.123-delete").exists());
    assert!(mgr.logs().is_empty());
    // Recreating a deleted partition starts from scratch.
    let log = mgr.get_or_create(&tp, LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn close_leaves_one_clean_marker_and_a_crash_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join(kfk_log::CLEAN_SHUTDOWN_FILE);
    {
        let mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
        for p in 0..3 {
            mgr.get_or_create(&TopicPartition::new("t", p), LogConfig::default())
                .unwrap();
        }
        mgr.close().unwrap();
    }
    assert!(marker.exists());
    // One marker for the directory, none per partition.
    for p in 0..3 {
        let dir = dir.path().join(format!("t-{p}"));
        assert!(!dir.join(kfk_log::CLEAN_SHUTDOWN_FILE).exists());
        assert!(!dir.join("00000000000000000000.index").exists());
    }
    {
        let _mgr = LogManager::open(dir.path(), &LogConfig::default()).unwrap();
        assert!(!marker.exists());
    }
    // Dropped without close (a crash): no marker.
    assert!(!marker.exists());
}

#[test]
fn background_task_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = Arc::new(LogManager::open(dir.path(), &LogConfig::default()).unwrap());
    let config = LogConfig {
        segment_bytes: 2048,
        retention_ms: 60_000,
        ..LogConfig::default()
    };
    let log = mgr
        .get_or_create(&TopicPartition::new("old", 0), config)
        .unwrap();
    // Records stamped in 1970: far past retention.
    for i in 0..30 {
        log.append(&mut batch(5, 50, i), 0).unwrap();
    }
    let background = mgr.start_background(Duration::from_millis(50));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.log_start_offset() < log.log_end_offset() {
        assert!(std::time::Instant::now() < deadline, "retention never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(background);
    assert_eq!(log.log_start_offset(), 150);
    assert_eq!(mgr.run_retention(kfk_log::now_ms()), 0);
}
