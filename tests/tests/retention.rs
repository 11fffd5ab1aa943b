//! Size-based retention as operators set it: the broker's
//! `log.retention.bytes` for every topic, a topic's `retention.bytes`
//! override either way, and the background task that deletes the oldest
//! segments.

use std::time::Duration;

use kfk_e2e::KfkHome as Home;

/// Twenty batches of ten ~100-byte records, one `kfk produce` each, so
/// that with 2,000-byte segments each batch ends up in a segment of its own.
fn fill(home: &Home, topic: &str) {
    for b in 0..20 {
        let input: String = (0..10)
            .map(|r| format!("b{b:02}-r{r}-{}\n", "x".repeat(90)))
            .collect();
        home.ok_stdin(&["produce", topic, "-p", "0"], &input);
    }
}

fn earliest(home: &Home, topic: &str) -> i64 {
    home.json(&["topics", "describe", topic])["partitions"][0]["earliest_offset"]
        .as_i64()
        .unwrap()
}

/// Bytes of the partition's segment files on the broker.
fn stored_bytes(home: &Home, topic: &str) -> usize {
    kfk_e2e::log_bytes(&home.broker_data_dirs()[0], &format!("{topic}-0")).len()
}

#[test]
fn retention_bytes_deletes_the_oldest_segments_in_the_background() {
    let home = Home::new()
        .with_env("KFKD_LOG_RETENTION_BYTES", "5000")
        .with_env("KFKD_LOG_SEGMENT_BYTES", "2000")
        .with_env("KFKD_LOG_RETENTION_CHECK_INTERVAL_MS", "200");
    home.up();
    home.ok(&["topics", "create", "capped", "-p", "1"]);
    home.ok(&[
        "topics",
        "create",
        "tighter",
        "-p",
        "1",
        "-c",
        "retention.bytes=2500",
    ]);
    home.ok(&[
        "topics",
        "create",
        "unbounded",
        "-p",
        "1",
        "-c",
        "retention.bytes=-1",
    ]);
    for topic in ["capped", "tighter", "unbounded"] {
        fill(&home, topic);
    }
    let batch = stored_bytes(&home, "unbounded") / 20;

    for (topic, limit) in [("capped", 5000), ("tighter", 2500)] {
        // As in Kafka, the background task deletes whole segments, oldest
        // first, while the partition would still hold at least the limit
        // without them.
        kfk_e2e::wait_until(
            Duration::from_secs(30),
            &format!("retention to shrink {topic}"),
            || stored_bytes(&home, topic) < limit + batch,
        );
        let left = stored_bytes(&home, topic);
        assert!(
            left >= limit,
            "{topic}: deleted too much, {left} bytes left"
        );
        let start = earliest(&home, topic);
        assert_eq!(start % 10, 0, "{topic}: a whole batch at a time");
        // What is left is the newest records, from the new log start on.
        let out = home.ok(&[
            "consume",
            topic,
            "--from-beginning",
            "-e",
            "--format",
            "%o %s\n",
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len() as i64, 200 - start, "{topic}: {out}");
        let first_batch = start / 10;
        assert!(
            lines[0].starts_with(&format!("{start} b{first_batch:02}-r0-")),
            "{topic}: {}",
            lines[0]
        );
        assert!(lines.last().unwrap().starts_with("199 b19-r9-"), "{topic}");
    }
    assert!(earliest(&home, "tighter") > earliest(&home, "capped"));
    // retention.bytes=-1 overrides the broker's limit.
    assert_eq!(earliest(&home, "unbounded"), 0);
    assert_eq!(
        home.ok(&["consume", "unbounded", "--from-beginning", "-e"])
            .lines()
            .count(),
        200
    );
}

#[test]
fn delete_records_moves_the_log_start_for_good() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "dr", "-p", "2"]);
    home.ok_stdin(&["produce", "dr", "-p", "0"], "a\nb\nc\nd\ne\n");
    home.ok_stdin(&["produce", "dr", "-p", "1"], "x\ny\nz\n");
    let read = |p: &str| home.ok(&["consume", "dr", "-p", p, "--from-beginning", "-e", "-q"]);

    let out = home.ok(&[
        "topics",
        "delete-records",
        "dr",
        "-p",
        "0",
        "--before",
        "3",
        "--yes",
    ]);
    assert_eq!(
        out,
        "Records delete operation completed:\npartition: dr-0\tlow_watermark: 3\n"
    );
    assert_eq!(read("0"), "d\ne\n");
    assert_eq!(read("1"), "x\ny\nz\n", "the other partition is untouched");

    // Past the end is refused with the reason; nothing moves.
    let err = home.fails(&[
        "topics",
        "delete-records",
        "dr",
        "-p",
        "0",
        "--before",
        "99",
        "--yes",
    ]);
    assert!(err.contains("OffsetOutOfRange"), "{err}");
    let err = home.fails(&["topics", "delete-records", "dr", "--before", "-3", "--yes"]);
    assert!(err.contains("--before takes an offset or `end`"), "{err}");

    // Everything, on every partition, as JSON.
    let all = home.json(&["topics", "delete-records", "dr", "--before", "end", "--yes"]);
    assert_eq!(
        all,
        serde_json::json!([
            {"partition": 0, "low_watermark": 5},
            {"partition": 1, "low_watermark": 3}
        ])
    );
    assert_eq!(read("0"), "");
    home.ok_stdin(&["produce", "dr", "-p", "0"], "f\n");
    // Deleted records stay deleted across a restart.
    home.ok(&["cluster", "down"]);
    home.ok(&["cluster", "up"]);
    assert_eq!(read("0"), "f\n");
    let described = home.json(&["topics", "describe", "dr"]);
    assert_eq!(
        described["partitions"][0]["earliest_offset"], 5,
        "{described}"
    );
}

#[test]
fn truncate_deletes_records_older_than_a_time() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "tt", "-p", "2"]);
    home.ok_stdin(&["produce", "tt", "-p", "0"], "old1\nold2\nold3\n");
    home.ok_stdin(&["produce", "tt", "-p", "1"], "x\ny\n");
    std::thread::sleep(Duration::from_millis(1200));
    let middle = kfk_e2e::now_ms() - 500;
    home.ok_stdin(&["produce", "tt", "-p", "0"], "new1\nnew2\n");
    let read = |p: &str| home.ok(&["consume", "tt", "-p", p, "--from-beginning", "-e", "-q"]);

    // TOPIC:PARTITION, a time in milliseconds: the records before it go.
    let out = home.ok(&[
        "topics",
        "truncate",
        "tt:0",
        "--before-time",
        &middle.to_string(),
        "--yes",
    ]);
    assert_eq!(
        out,
        "Records delete operation completed:\npartition: tt-0\tlow_watermark: 3\n"
    );
    assert_eq!(read("0"), "new1\nnew2\n");
    assert_eq!(read("1"), "x\ny\n", "the other partition is untouched");

    // A time after every record of a partition deletes all of it; RFC 3339
    // and durations ago are read as `kfk consume` reads them.
    let all = home.json(&["topics", "truncate", "tt", "--before-time", "-0s", "--yes"]);
    assert_eq!(
        all,
        serde_json::json!([
            {"partition": 0, "low_watermark": 5},
            {"partition": 1, "low_watermark": 2}
        ])
    );
    let err = home.fails(&[
        "topics",
        "truncate",
        "tt",
        "--before-time",
        "yesterday",
        "--yes",
    ]);
    assert!(err.contains("--before-time takes"), "{err}");
    let err = home.fails(&[
        "topics", "truncate", "tt:1", "-p", "0", "--before", "1", "--yes",
    ]);
    assert!(err.contains("disagree"), "{err}");
    let err = home.fails(&["topics", "truncate", "tt", "--yes"]);
    assert!(err.contains("--before"), "{err}");
}
