//! Aborted transactions in a log: each recorded in the `.txnindex` of the
//! segment holding its ABORT marker, reported to read_committed fetches of
//! a range it overlaps, and kept through reopening, truncation and cleaning.

use bytes::Bytes;
use kfk_log::cleaner::{OffsetMap, Throttle};
use kfk_log::txn_index::AbortedTxn;
use kfk_log::{CleanupPolicy, Log, LogConfig, now_ms};
use kfk_wire::control::{ControlType, encode_marker};
use kfk_wire::{BatchOptions, NewRecord, encode_batch};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

/// Appends `n` transactional records of `producer_id`; returns the first offset.
fn txn_records(log: &Log, producer_id: i64, seq: i32, n: usize) -> i64 {
    let records: Vec<NewRecord> = (0..n)
        .map(|i| NewRecord {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(vec![b'x'; 100])),
            timestamp: now_ms(),
            headers: Vec::new(),
        })
        .collect();
    let options = BatchOptions {
        producer_id,
        producer_epoch: 0,
        base_sequence: seq,
        transactional: true,
        ..BatchOptions::default()
    };
    let mut b = encode_batch(&records, &options).unwrap();
    log.append(&mut b, 0).unwrap().base_offset
}

/// Writes `producer_id`'s marker; an abort is recorded in the index.
fn end(log: &Log, producer_id: i64, first: i64, commit: bool) -> i64 {
    let kind = if commit {
        ControlType::Commit
    } else {
        ControlType::Abort
    };
    let mut b = encode_marker(kind, producer_id, 0, 0, now_ms()).unwrap();
    let at = log.append(&mut b, 0).unwrap().base_offset;
    if !commit {
        log.append_aborted_txn(AbortedTxn {
            producer_id,
            first_offset: first,
            last_offset: at,
            last_stable_offset: at + 1,
        })
        .unwrap();
    }
    at
}

#[test]
fn aborted_transactions_are_indexed_where_their_marker_is() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path().join("t-0"), config()).unwrap();
    // Producer 1 aborts across a segment roll; producer 2 commits inside it.
    let a = txn_records(&log, 1, 0, 5);
    let b = txn_records(&log, 2, 0, 5);
    for i in 0..10 {
        txn_records(&log, 1, 5 + i * 5, 5);
    }
    let commit_at = end(&log, 2, b, true);
    let abort_at = end(&log, 1, a, false);
    assert!(log.segment_count() > 2, "the transaction spans segments");
    let c = txn_records(&log, 3, 0, 2);
    let abort2 = end(&log, 3, c, false);

    let whole = log.aborted_transactions(0, log.log_end_offset());
    assert_eq!(
        whole
            .iter()
            .map(|t| (t.producer_id, t.first_offset, t.last_offset))
            .collect::<Vec<_>>(),
        vec![(1, a, abort_at), (3, c, abort2)]
    );
    // A fetch of the committed transaction's range overlaps producer 1's abort only.
    let mid = log.aborted_transactions(b, commit_at + 1);
    assert_eq!(mid.len(), 1);
    assert_eq!(mid[0].producer_id, 1);
    // Past the first abort's marker, only the second.
    assert_eq!(
        log.aborted_transactions(abort_at + 1, log.log_end_offset())
            .iter()
            .map(|t| t.producer_id)
            .collect::<Vec<_>>(),
        vec![3]
    );
    // Before either began: nothing.
    assert!(log.aborted_transactions(0, a).is_empty());

    // Reopened, the index is read back from its files.
    log.close().unwrap();
    drop(log);
    let log = Log::open(dir.path().join("t-0"), config()).unwrap();
    assert_eq!(log.aborted_transactions(0, log.log_end_offset()), whole);
    // A truncation below a marker forgets its transaction.
    log.truncate_to(abort2).unwrap();
    assert_eq!(
        log.aborted_transactions(0, log.log_end_offset()),
        whole[..1].to_vec()
    );
    log.truncate_to(abort_at).unwrap();
    assert!(log.aborted_transactions(0, log.log_end_offset()).is_empty());
}

#[test]
fn cleaning_keeps_the_index_of_the_segments_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let compacted = LogConfig {
        cleanup_policy: CleanupPolicy {
            compact: true,
            delete: false,
        },
        ..config()
    };
    let log = Log::open(dir.path().join("t-0"), compacted).unwrap();
    let mut aborted = Vec::new();
    for p in 0..20 {
        let first = txn_records(&log, p, 0, 3);
        let at = end(&log, p, first, p % 2 == 0);
        if p % 2 == 1 {
            aborted.push((p, first, at));
        }
    }
    log.roll().unwrap();
    let before = log.segment_count();
    let mut map = OffsetMap::with_buffer(1 << 20);
    let stats = log
        .clean(
            &mut map,
            &mut Throttle::new(f64::INFINITY),
            now_ms(),
            i64::MAX,
        )
        .unwrap()
        .expect("a clean");
    assert!(stats.segments_after < before, "segments were merged");
    let listed = |log: &Log| {
        log.aborted_transactions(0, log.log_end_offset())
            .iter()
            .map(|t| (t.producer_id, t.first_offset, t.last_offset))
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(&log), aborted);
    log.close().unwrap();
    drop(log);
    let log = Log::open(dir.path().join("t-0"), config()).unwrap();
    assert_eq!(listed(&log), aborted);
    let debris: Vec<_> = std::fs::read_dir(dir.path().join("t-0"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
}

#[test]
fn a_transaction_aborted_inside_an_older_open_one_does_not_hide_it() {
    // A opens at 1 and stays open while B (from 3) is aborted at 6, so B's
    // entry records A's start as the last stable offset; A aborts at 8.
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path().join("t-0"), config()).unwrap();
    for _ in 0..10 {
        txn_records(&log, 9, 0, 1);
    }
    let b = AbortedTxn {
        producer_id: 2,
        first_offset: 3,
        last_offset: 6,
        last_stable_offset: 1,
    };
    let a = AbortedTxn {
        producer_id: 1,
        first_offset: 1,
        last_offset: 8,
        last_stable_offset: 9,
    };
    log.append_aborted_txn(b).unwrap();
    log.append_aborted_txn(a).unwrap();
    // A fetch of [0, 2) overlaps A only: B's entry, which began past the
    // range, must not end the search before A's.
    assert_eq!(log.aborted_transactions(0, 2), vec![a]);
    assert_eq!(log.aborted_transactions(0, 5), vec![b, a]);
    assert_eq!(log.aborted_transactions(7, 10), vec![a]);
}

/// Appends one transactional record `key=value` of `producer_id`.
fn txn_put(log: &Log, producer_id: i64, seq: i32, key: &str, value: &str) -> i64 {
    let options = BatchOptions {
        producer_id,
        producer_epoch: 0,
        base_sequence: seq,
        transactional: true,
        ..BatchOptions::default()
    };
    let r = NewRecord {
        key: Some(Bytes::from(key.to_string())),
        value: Some(Bytes::from(value.to_string())),
        timestamp: now_ms(),
        headers: Vec::new(),
    };
    let mut b = encode_batch(&[r], &options).unwrap();
    log.append(&mut b, 0).unwrap().base_offset
}

/// Every (key, value) left in the log, in offset order.
fn values(log: &Log) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let read = log.read(offset, 1 << 20).unwrap();
        if read.records.is_empty() {
            break;
        }
        let mut pos = 0;
        while pos < read.records.len() {
            let batch = read.records.slice(pos..);
            let h = kfk_wire::BatchHeader::parse(&batch).unwrap();
            let size = h.size();
            offset = offset.max(h.last_offset() + 1);
            if !h.is_control() {
                kfk_wire::for_each_record(&batch.slice(..size), |r| {
                    out.push((
                        String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into(),
                        String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into(),
                    ))
                })
                .unwrap();
            }
            pos += size;
        }
    }
    out
}

#[test]
fn an_aborted_write_never_replaces_a_committed_value() {
    let dir = tempfile::tempdir().unwrap();
    let compacted = LogConfig {
        cleanup_policy: CleanupPolicy {
            compact: true,
            delete: false,
        },
        ..config()
    };
    let log = Log::open(dir.path().join("t-0"), compacted).unwrap();
    // Committed: k=v1 (transaction of producer 1), then producer 2 writes
    // k=v2 and aborts; producer 3 commits j=w.
    txn_put(&log, 1, 0, "k", "v1");
    end(&log, 1, 0, true);
    let first = txn_put(&log, 2, 0, "k", "v2-aborted");
    end(&log, 2, first, false);
    txn_put(&log, 3, 0, "j", "w1");
    txn_put(&log, 3, 1, "j", "w2");
    end(&log, 3, 0, true);
    log.roll().unwrap();
    let mut map = OffsetMap::with_buffer(1 << 20);
    log.clean(
        &mut map,
        &mut Throttle::new(f64::INFINITY),
        now_ms(),
        i64::MAX,
    )
    .unwrap()
    .expect("a clean");
    assert_eq!(
        values(&log),
        vec![("k".into(), "v1".into()), ("j".into(), "w2".into())],
        "the aborted value is gone and the committed one it would have superseded stays"
    );
}
