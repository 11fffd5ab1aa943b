//! `kfk produce` delivers what it was given: through a leader's SIGKILL,
//! whatever bytes a line holds, and when records fail for good it says which
//! and keeps them for a replay.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, bin};

#[test]
fn lines_are_bytes_not_utf8() {
    let home = Home::new();
    home.up_cluster(1);
    home.ok(&["topics", "create", "raw"]);
    let mut input = b"first\n".to_vec();
    input.extend_from_slice(b"\xff\xfe not utf-8 \xc3\n");
    input.extend_from_slice(b"k\xff:v\xfe\n");
    input.extend_from_slice(b"last\n");
    let path = home.path().join("input.bin");
    std::fs::write(&path, &input).unwrap();
    home.ok(&["produce", "raw", "-f", path.to_str().unwrap()]);
    let out = home.ok(&[
        "consume",
        "raw",
        "--from-beginning",
        "-e",
        "-q",
        "-o",
        "jsonl",
    ]);
    let values: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["value"].clone())
        .collect();
    assert_eq!(values.len(), 4, "{out}");
    assert_eq!(values[0], "first");
    // "\xff\xfe not utf-8 \xc3", base64-encoded as kfk writes non-UTF-8 bytes.
    assert_eq!(values[1]["base64"], "//4gbm90IHV0Zi04IMM=");
    assert_eq!(values[3], "last");
    // Keys too, split at the separator byte-wise.
    home.ok(&["topics", "create", "keyed"]);
    let keyed = home.path().join("keyed.bin");
    std::fs::write(&keyed, b"k\xff:v\xfe\n").unwrap();
    home.ok(&["produce", "keyed", "-K", ":", "-f", keyed.to_str().unwrap()]);
    let out = home.ok(&[
        "consume",
        "keyed",
        "--from-beginning",
        "-e",
        "-q",
        "-o",
        "jsonl",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["key"]["base64"], "a/8=");
    assert_eq!(r["value"]["base64"], "dv4=");
}

#[test]
fn a_leader_killed_mid_stream_loses_and_duplicates_nothing() {
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "3000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "500");
    home.up_cluster(3);
    home.ok(&[
        "topics",
        "create",
        "acked",
        "-p",
        "3",
        "-r",
        "3",
        "--config",
        "min.insync.replicas=2",
    ]);
    const N: usize = 100_000;
    let input: String = (0..N).map(|i| format!("record-{i:06}\n")).collect();
    let path = home.path().join("input.txt");
    std::fs::write(&path, input).unwrap();
    let mut cmd = Command::new(bin("kfk"));
    home.env(&mut cmd);
    let err_path = home.path().join("produce.err");
    let mut producer = cmd
        .args([
            "produce",
            "acked",
            "--acks",
            "all",
            "-f",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    // Once records flow, SIGKILL the leader of partition 0.
    let written = |home: &Home| -> i64 {
        home.json(&["topics", "describe", "acked"])["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["latest_offset"].as_i64().unwrap_or(0))
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while written(&home) < 10_000 {
        assert!(Instant::now() < deadline, "records never flowed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let leader = home.json(&["topics", "describe", "acked"])["partitions"][0]["leader"]
        .as_i64()
        .unwrap();
    assert!(
        producer.try_wait().unwrap().is_none(),
        "the producer finished before the leader was killed"
    );
    home.ok(&["cluster", "stop-broker", &leader.to_string(), "--kill"]);
    let killed_at = written(&home);
    assert!(
        killed_at < N as i64,
        "everything was written before the kill"
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = producer.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "produce did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err_path).unwrap()
    );
    let out = home.ok(&["consume", "acked", "--from-beginning", "-e", "-q"]);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in out.lines() {
        *seen.entry(line).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "duplicated: {twice:?}");
    assert_eq!(seen.len(), N, "{} of {N} records read back", seen.len());
}

#[test]
fn records_that_fail_for_good_are_named_and_saved_for_replay() {
    let home = Home::new();
    home.up_cluster(1);
    // acks=all cannot succeed: one replica, two required.
    home.ok(&[
        "topics",
        "create",
        "strict",
        "--config",
        "min.insync.replicas=2",
    ]);
    let saved = home.path().join("failed.jsonl");
    let started = Instant::now();
    let out = home.kfk_stdin(
        &[
            "produce",
            "strict",
            "--delivery-timeout",
            "2s",
            "--save-failed",
            saved.to_str().unwrap(),
        ],
        "one\ntwo\nthree\n",
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 of 3 message(s) failed (input line(s) 1, 2, 3)"),
        "{err}"
    );
    assert!(err.contains("--input jsonl -f"), "{err}");
    let lines = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    // Fixed, the saved records are sent again as they were.
    home.ok(&[
        "topics",
        "alter",
        "strict",
        "--config",
        "min.insync.replicas=1",
    ]);
    home.ok(&[
        "produce",
        "strict",
        "--input",
        "jsonl",
        "-f",
        saved.to_str().unwrap(),
    ]);
    let out = home.ok(&["consume", "strict", "--from-beginning", "-e", "-q"]);
    assert_eq!(out, "one\ntwo\nthree\n");
}
