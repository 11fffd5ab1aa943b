//! Transactions with Apache Kafka's own Java client and Kafka Streams 4.4
//! (exactly_once_v2) against kfkd: a transactional producer's commits and
//! aborts as read_committed and read_uncommitted consumers see them, and a
//! word count that ends with the exact counts though its Streams instance
//! and a broker are killed with SIGKILL while it runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kfk_e2e::kafka_tools::java;
use kfk_e2e::{KfkHome as Home, Spawned, cluster_bootstrap, json_lines, run, wait_until};

fn home() -> Home {
    Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "3000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "500")
        .with_env(
            "KFKD_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS",
            "500",
        )
}

fn once(args: &[&str]) -> Vec<serde_json::Value> {
    let out = run(
        java().arg("kfk.e2e.Transactions").args(args),
        Duration::from_secs(180),
    );
    json_lines(&String::from_utf8_lossy(&out.stdout))
}

fn spawn(dir: &Path, name: &str, args: &[&str]) -> Spawned {
    let mut cmd = java();
    cmd.arg("kfk.e2e.Transactions").args(args);
    Spawned::start(&mut cmd, &dir.join(format!("{name}.log")))
}

#[test]
fn the_java_transactional_producer_commits_and_aborts() {
    let home = home();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "jtx", "-p", "3", "-r", "3"]);
    let lines = once(&["basic", &bs, "jtx"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let values = |line: &serde_json::Value| -> BTreeMap<String, Vec<String>> {
        serde_json::from_value(line["values"].clone()).unwrap()
    };
    let committed = values(&lines[0]);
    let uncommitted = values(&lines[1]);
    assert_eq!(lines[0]["isolation"], "read_committed");
    let mut all_committed: Vec<&String> = committed.values().flatten().collect();
    all_committed.sort();
    let mut want: Vec<String> = (0..5)
        .flat_map(|i| [format!("c1-{i}"), format!("c2-{i}")])
        .collect();
    want.sort();
    assert_eq!(all_committed, want.iter().collect::<Vec<_>>(), "{lines:?}");
    // Per partition, the first transaction's records before the second's.
    for vals in committed.values() {
        let last_c1 = vals.iter().rposition(|v| v.starts_with("c1-"));
        let first_c2 = vals.iter().position(|v| v.starts_with("c2-"));
        if let (Some(a), Some(b)) = (last_c1, first_c2) {
            assert!(a < b, "{vals:?}");
        }
    }
    assert_eq!(uncommitted.values().flatten().count(), 15, "{lines:?}");
}

/// Lines of words from a fixed pseudo-random sequence; `counts` gets each
/// word's occurrences.
fn lines(from: usize, n: usize, counts: &mut BTreeMap<String, i64>) -> String {
    const WORDS: [&str; 8] = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    let mut out = String::new();
    for i in from..from + n {
        let line: Vec<&str> = (0..5)
            .map(|j| WORDS[(i * 7 + j * 13 + i / 3) % WORDS.len()])
            .collect();
        for w in &line {
            *counts.entry((*w).to_string()).or_default() += 1;
        }
        out.push_str(&line.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn a_kafka_streams_word_count_is_exact_across_sigkills() {
    let home = home();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    for t in ["words", "counts"] {
        home.ok(&["topics", "create", t, "-p", "3", "-r", "3"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let args = ["wordcount", &bs, "words", "counts", "wc", state];
    let mut expected = BTreeMap::new();
    let running = |app: &Spawned| {
        json_lines(&app.output())
            .iter()
            .filter(|l| l["state"] == "RUNNING")
            .count()
    };

    let mut app = spawn(dir.path(), "wc-1", &args);
    wait_until(
        Duration::from_secs(60),
        "the first instance running",
        || running(&app) > 0,
    );
    home.ok_stdin(&["produce", "words"], &lines(0, 1500, &mut expected));
    // Killed mid-stream: its open transaction is fenced by the next
    // instance (the same state directory, so the same transactional id).
    std::thread::sleep(Duration::from_millis(1500));
    app.kill9();
    home.ok_stdin(&["produce", "words"], &lines(1500, 1500, &mut expected));
    let mut app = spawn(dir.path(), "wc-2", &args);
    wait_until(
        Duration::from_secs(60),
        "the second instance running",
        || running(&app) > 0,
    );
    // A broker dies while it works: the leader of a partition it reads.
    let leader = home.json(&["topics", "describe", "words"])["partitions"][1]["leader"]
        .as_i64()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    home.ok(&["cluster", "stop-broker", &leader.to_string(), "--kill"]);
    home.ok_stdin(&["produce", "words"], &lines(3000, 1500, &mut expected));

    let words = expected.len().to_string();
    let mut last = serde_json::Value::Null;
    let want = serde_json::to_value(&expected).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    while std::time::Instant::now() < deadline {
        let out = once(&["counts", &bs, "counts", &words]);
        last = out
            .first()
            .map_or(serde_json::Value::Null, |l| l["counts"].clone());
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(
        last,
        want,
        "the final count of every word, each input line counted once; app log:\n{}",
        app.output()
    );
    app.kill9();
    home.ok(&["cluster", "start-broker", &leader.to_string()]);
}
