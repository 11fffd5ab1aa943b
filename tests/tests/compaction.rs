//! Compacted topics as Kafka's users rely on them: the latest value of each
//! key stays, deleted keys go after `delete.retention.ms`, consumers reading
//! meanwhile see a consistent history, replicas compact on their own and
//! agree, and a broker killed while cleaning comes back whole.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, Kfkd, bin, run_unchecked, wait_until};

/// Lines `key-K:rR` for every round and key: keys updated `rounds` times.
fn updates(keys: usize, rounds: std::ops::Range<usize>) -> String {
    let mut input = String::new();
    for r in rounds {
        for k in 0..keys {
            input.push_str(&format!("key-{k}:r{r}\n"));
        }
    }
    input
}

/// JSON lines deleting keys `key-0` .. `key-{n-1}`.
fn tombstones(n: usize) -> String {
    (0..n)
        .map(|k| format!("{{\"key\":\"key-{k}\",\"value\":null}}\n"))
        .collect()
}

/// One record as `kfk consume -o jsonl` prints it: (offset, key, value).
type Row = (i64, String, Option<String>);

fn rows(out: &str) -> Vec<Row> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["offset"].as_i64().expect("offset"),
                v["key"].as_str().expect("key").to_string(),
                v["value"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Per key, rounds never go back in `rows` (a reader sees each key's
/// history in order, however much of it the cleaner removed).
fn assert_consistent(rows: &[Row], what: &str) {
    let mut last: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (offset, key, value) in rows {
        let round = value.as_deref().map_or(i64::MAX, |v| {
            v.trim_start_matches('r').parse().unwrap_or(-1)
        });
        if let Some((prev_offset, prev)) = last.get(key.as_str()) {
            assert!(
                offset > prev_offset && round >= *prev,
                "{what}: {key} went from r{prev} at {prev_offset} to {value:?} at {offset}"
            );
        }
        last.insert(key, (*offset, round));
    }
}

/// The latest value of each key in `rows`.
fn latest(rows: &[Row]) -> BTreeMap<String, Option<String>> {
    rows.iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect()
}

fn expected(keys: usize, last_round: usize, deleted: usize) -> BTreeMap<String, Option<String>> {
    (0..keys)
        .map(|k| {
            let v = (k >= deleted).then(|| format!("r{last_round}"));
            (format!("key-{k}"), v)
        })
        .collect()
}

fn cleaning(home: &Home, topic: &str) -> serde_json::Value {
    home.json(&["topics", "describe", topic])["partitions"][0]["cleaning"].clone()
}

#[test]
fn a_compacted_topic_keeps_each_keys_latest_value_and_forgets_deleted_keys() {
    let home = Home::new()
        .with_env("KFKD_LOG_CLEANER_BACKOFF_MS", "200")
        // Slow enough that readers overlap the clean.
        .with_env("KFKD_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND", "1000000");
    home.up();
    home.ok(&[
        "topics",
        "create",
        "table",
        "-p",
        "1",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "segment.bytes=600000",
        "-c",
        "segment.ms=500",
        "-c",
        "delete.retention.ms=3000",
        // Nothing is cleaned while the updates are written, then all at once.
        "-c",
        "min.compaction.lag.ms=4000",
        "-c",
        "min.cleanable.dirty.ratio=0.01",
    ]);
    // A record without a key has no place in a compacted topic.
    let refused = home.kfk_stdin(&["produce", "table"], "no key here\n");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("without key"), "{err}");

    // 100,000 updates over 1,000 keys, then 100 keys deleted.
    home.ok_stdin(&["produce", "table", "-K", ":"], &updates(1000, 0..100));
    home.ok_stdin(&["produce", "table", "--input", "jsonl"], &tombstones(100));
    // A later record rolls the segment holding the tombstones.
    std::thread::sleep(Duration::from_millis(600));
    home.ok_stdin(&["produce", "table", "-K", ":"], "marker:r0\n");

    // Readers from offset 0 while the cleaner works: each sees every key's
    // history in order and ends with its latest value.
    let mut reads = 0;
    let mut during = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = cleaning(&home, "table");
        let done = state["last_clean_ms"].is_i64() && state["dirty_ratio"].as_f64() == Some(0.0);
        let all = rows(&home.ok(&["consume", "table", "--from-beginning", "-e", "-o", "jsonl"]));
        reads += 1;
        // Caught in the middle: some groups of segments cleaned, others not.
        if state["cleaning"].as_bool() == Some(true) || (all.len() > 1001 && all.len() < 100_101) {
            during += 1;
        }
        assert_consistent(&all, &format!("read {reads}"));
        let mut want = expected(1000, 99, 100);
        want.insert("marker".into(), Some("r0".into()));
        assert_eq!(latest(&all), want, "read {reads}");
        if done {
            // One record per key: the latest; deleted keys as tombstones.
            assert_eq!(all.len(), 1001, "after the clean");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cleaner did not clean: {state}"
        );
    }
    assert!(
        reads > 1 && during > 0,
        "{reads} reads, {during} while cleaning"
    );

    // Once the tombstones have been kept delete.retention.ms, the next
    // clean removes them.
    std::thread::sleep(Duration::from_millis(3200));
    home.ok_stdin(&["produce", "table", "-K", ":"], "marker:r1\n");
    std::thread::sleep(Duration::from_millis(600));
    home.ok_stdin(&["produce", "table", "-K", ":"], "marker:r2\n");
    let out = home.ok(&["topics", "compact", "table"]);
    assert!(
        out.contains("PARTITION") && out.contains("LAST-CLEAN"),
        "{out}"
    );
    let all = rows(&home.ok(&["consume", "table", "--from-beginning", "-e", "-o", "jsonl"]));
    assert!(all.iter().all(|r| r.2.is_some()), "tombstones left");
    // The active segment is never cleaned, nor records younger than
    // min.compaction.lag.ms: the markers written last may still be there.
    let keyed = all.iter().filter(|r| r.1 != "marker").count();
    assert_eq!(keyed, 900, "one record per live key");
    let mut want: BTreeMap<String, Option<String>> = expected(1000, 99, 100)
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .collect();
    want.insert("marker".into(), Some("r2".into()));
    assert_eq!(latest(&all), want);
    // The offsets are the ones the records were written at.
    assert_eq!(all[0].0, 100 * 1000 - 1000 + 100);
    // librdkafka reads the cleaned log, holes and emptied batches, the same.
    let kcat = kfk_e2e::run(
        Command::new(kfk_e2e::tool("kcat", "the Debian package kcat")).args([
            "-b",
            &format!("127.0.0.1:{}", home.port()),
            "-C",
            "-t",
            "table",
            "-e",
            "-q",
            "-f",
            "%o %k %s\n",
        ]),
        Duration::from_secs(60),
    );
    let by_kcat: Vec<Row> = String::from_utf8_lossy(&kcat.stdout)
        .lines()
        .map(|l| {
            let mut it = l.splitn(3, ' ');
            let offset = it.next().unwrap().parse().unwrap();
            let key = it.next().unwrap().to_string();
            (offset, key, it.next().map(str::to_string))
        })
        .collect();
    assert_eq!(by_kcat, all, "kcat and kfk read the same records");
    let described = home.ok(&["topics", "describe", "table"]);
    assert!(
        described.contains("DIRTY") && described.contains("LAST-CLEAN"),
        "{described}"
    );
}

/// Key -> latest value in a partition's segment files.
fn stored(data_dir: &Path, partition: &str) -> (usize, BTreeMap<String, Option<String>>) {
    let bytes = bytes::Bytes::from(kfk_e2e::log_bytes(data_dir, partition));
    let mut count = 0;
    let mut map = BTreeMap::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let h = kfk_wire::BatchHeader::parse(&bytes[pos..]).expect("a batch");
        kfk_wire::for_each_record(&bytes.slice(pos..pos + h.size()), |r| {
            count += 1;
            let text = |b: bytes::Bytes| String::from_utf8_lossy(&b).into_owned();
            map.insert(r.key.map(text).unwrap_or_default(), r.value.map(text));
        })
        .expect("records");
        pos += h.size();
    }
    (count, map)
}

#[test]
fn replicas_compact_on_their_own_and_agree_on_every_key() {
    let home = Home::new().with_env("KFKD_LOG_CLEANER_BACKOFF_MS", "200");
    home.up_cluster(3);
    home.ok(&[
        "topics",
        "create",
        "shared",
        "-p",
        "1",
        "-r",
        "3",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "segment.ms=500",
    ]);
    // Four segments of updates (a later write rolls one older than segment.ms).
    for rounds in [0..25, 25..50, 50..75, 75..100] {
        home.ok_stdin(&["produce", "shared", "-K", ":"], &updates(200, rounds));
        std::thread::sleep(Duration::from_millis(600));
    }
    home.ok_stdin(&["produce", "shared", "--input", "jsonl"], &tombstones(20));
    std::thread::sleep(Duration::from_millis(600));
    home.ok_stdin(&["produce", "shared", "-K", ":"], "marker:r0\n");
    let mut want = expected(200, 99, 20);
    want.insert("marker".into(), Some("r0".into()));
    let dirs = home.broker_data_dirs();
    // Each broker cleans its own replica below its own high watermark.
    wait_until(Duration::from_secs(60), "every replica cleaned", || {
        home.ok(&["topics", "compact", "shared"]);
        dirs.iter().all(|d| stored(d, "shared-0").0 == want.len())
    });
    for d in &dirs {
        let (_, map) = stored(d, "shared-0");
        assert_eq!(map, want, "{}", d.display());
    }
}

/// `kfk` against one broker by address.
fn kfk(kfkd: &Kfkd, home: &Path, args: &[&str], stdin: &str) -> Output {
    let input = home.join(format!("stdin-{}", kfk_e2e::free_port()));
    std::fs::write(&input, stdin).unwrap();
    let mut cmd = Command::new(bin("kfk"));
    cmd.env_clear()
        .env("HOME", home)
        .env("KFK_HOME", home)
        .arg("--bootstrap-server")
        .arg(kfkd.bootstrap())
        .args(args)
        .stdin(std::fs::File::open(&input).unwrap());
    run_unchecked(&mut cmd, Duration::from_secs(90))
}

fn kfk_ok(kfkd: &Kfkd, home: &Path, args: &[&str], stdin: &str) -> String {
    let out = kfk(kfkd, home, args, stdin);
    assert!(
        out.status.success(),
        "kfk {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        kfkd.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_broker_killed_while_cleaning_comes_back_with_every_key() {
    let home = tempfile::tempdir().unwrap();
    let mut kfkd = Kfkd::start_with(&[
        "--log-cleaner-backoff-ms",
        "100",
        "--log-cleaner-min-cleanable-ratio",
        "0.01",
        // Slow: a clean takes a second or more, so kills land inside it.
        "--log-cleaner-io-max-bytes-per-second",
        "400000",
    ]);
    kfk_ok(
        &kfkd,
        home.path(),
        &[
            "topics",
            "create",
            "kv",
            "-p",
            "1",
            "-c",
            "cleanup.policy=compact",
            "-c",
            "segment.ms=300",
            // Cleans start once a round's records are all written.
            "-c",
            "min.compaction.lag.ms=1000",
        ],
        "",
    );
    let mut rng = 0x9e37_79b9_u64;
    let mut mid_clean = 0;
    for round in 0..6 {
        let first = round * 20;
        kfk_ok(
            &kfkd,
            home.path(),
            &["produce", "kv", "-K", ":"],
            &updates(500, first..first + 20),
        );
        std::thread::sleep(Duration::from_millis(350));
        kfk_ok(
            &kfkd,
            home.path(),
            &["produce", "kv", "-K", ":"],
            "marker:r0\n",
        );
        // Somewhere in the clean that follows.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let out = kfk(
                &kfkd,
                home.path(),
                &["topics", "describe", "kv", "-o", "json"],
                "",
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if v["partitions"][0]["cleaning"]["cleaning"].as_bool() == Some(true) {
                mid_clean += 1;
                break;
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 700));
        kfkd.kill9();
        kfkd.start_again();
        let all = rows(&kfk_ok(
            &kfkd,
            home.path(),
            &["consume", "kv", "--from-beginning", "-e", "-o", "jsonl"],
            "",
        ));
        assert_consistent(&all, &format!("round {round}"));
        let mut want = expected(500, first + 19, 0);
        want.insert("marker".into(), Some("r0".into()));
        assert_eq!(latest(&all), want, "round {round}:\n{}", kfkd.log());
        // Stopped, a broker leaves no half-made copies behind (a clean under
        // way is given up and its copy removed).
        kfkd.stop();
        let debris: Vec<String> = std::fs::read_dir(kfkd.data_dir.join("kv-0"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        assert!(debris.is_empty(), "round {round}: {debris:?}");
        kfkd.start_again();
    }
    assert!(mid_clean >= 4, "only {mid_clean} kills during a clean");
    assert!(
        kfkd.log().contains("cleaned log"),
        "no clean ever finished:\n{}",
        kfkd.log()
    );
}

/// A `__consumer_offsets` that is not compacted (made by an older kfk, or
/// changed by hand) is compacted again by the next coordinator to start,
/// and the committed offsets read the same.
#[test]
fn an_uncompacted_offsets_topic_is_converted() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "orders", "-p", "1"]);
    home.ok_stdin(&["produce", "orders"], "a\nb\nc\n");
    home.ok(&[
        "consume",
        "orders",
        "--group",
        "billing",
        "--from-beginning",
        "--max-messages",
        "3",
    ]);
    let policy = |home: &Home| {
        home.json(&["topics", "describe", "__consumer_offsets"])["configs"]["cleanup.policy"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(policy(&home).as_deref(), Some("compact"));
    home.ok(&[
        "topics",
        "alter",
        "__consumer_offsets",
        "-c",
        "cleanup.policy=delete",
    ]);
    assert_eq!(policy(&home).as_deref(), Some("delete"));
    home.ok(&["cluster", "down"]);
    home.ok(&["cluster", "up"]);
    wait_until(
        Duration::from_secs(30),
        "the offsets topic compacted again",
        || policy(&home).as_deref() == Some("compact"),
    );
    let group = home.json(&["groups", "describe", "billing"]);
    assert_eq!(group["partitions"][0]["current_offset"], 3, "{group}");
}
