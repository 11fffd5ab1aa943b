//! Many logs under a small open-file budget: files close and reopen on use,
//! and nothing read, written, truncated or reopened changes.

mod common;

use common::{batch, offsets};
use kfk_log::{Log, LogConfig, open_files, set_open_file_budget};

#[test]
fn thirty_logs_live_within_eight_open_files() {
    set_open_file_budget(8);
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<Log> = (0..30)
        .map(|i| Log::open(dir.path().join(format!("t-{i}")), LogConfig::default()).unwrap())
        .collect();
    assert!(open_files() <= 8, "{} open after opening", open_files());
    for round in 0..3 {
        for (i, log) in logs.iter().enumerate() {
            log.append(&mut batch(2, 10 + i, round), 0).unwrap();
            assert!(open_files() <= 8, "{} open while appending", open_files());
        }
    }
    for log in &logs {
        let read = log.read(0, 1 << 20).unwrap();
        assert_eq!(offsets(&read.records), (0..6).collect::<Vec<i64>>());
        assert!(open_files() <= 8, "{} open while reading", open_files());
    }
    // Truncation and flush work on a file the budget closed.
    logs[0].truncate_to(4).unwrap();
    assert_eq!(logs[0].log_end_offset(), 4);
    for log in &logs {
        log.close().unwrap();
    }
    drop(logs);
    assert_eq!(open_files(), 0);
    let again: Vec<Log> = (0..30)
        .map(|i| Log::open(dir.path().join(format!("t-{i}")), LogConfig::default()).unwrap())
        .collect();
    assert!(open_files() <= 8, "{} open after reopening", open_files());
    assert_eq!(again[0].log_end_offset(), 4);
    for log in &again[1..] {
        assert_eq!(log.log_end_offset(), 6);
        assert_eq!(
            offsets(&log.read(2, 1 << 20).unwrap().records),
            vec![2, 3, 4, 5]
        );
    }
}
