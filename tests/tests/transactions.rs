//! Transactions as Kafka's clients use them, driven with confluent-kafka
//! (librdkafka): commits and aborts, read_committed consumers that see only
//! committed records in order and wait at an open transaction, a producer
//! fenced by a newer instance or by its timeout, and a
//! consume-transform-produce loop whose output holds each input exactly
//! once across SIGKILLs of the application and of the transaction
//! coordinator's broker.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, json_lines, python, run};

fn home() -> Home {
    Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "3000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "500")
        .with_env(
            "KFKD_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS",
            "500",
        )
}

fn script(args: &[&str]) -> serde_json::Value {
    let out = run(
        python("transactions.py").args(args),
        Duration::from_secs(180),
    );
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert!(
        !lines.is_empty(),
        "transactions.py {args:?} printed nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::Value::Array(lines)
}

fn values(v: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    serde_json::from_value(v.clone()).expect("partition -> values")
}

/// Values `prefix-i` for `i` in `ids`, as the per-partition lists show them.
fn flat(m: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = m.values().flatten().cloned().collect();
    all.sort();
    all
}

#[test]
fn read_committed_consumers_see_committed_records_in_order_and_wait_at_open_ones() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "ledger", "-p", "3", "-r", "3"]);
    let out = script(&["basic", &bootstrap, "ledger"]);
    let (open, done) = (&out[0], &out[1]);
    assert_eq!(open["step"], "open");

    // While the third transaction is open: the first's records only.
    let committed = values(&open["committed"]);
    assert_eq!(
        flat(&committed),
        (0..6).map(|i| format!("c1-{i}")).collect::<Vec<_>>(),
        "{open}"
    );
    // read_uncommitted sees all three, aborted and open ones too.
    assert_eq!(flat(&values(&open["uncommitted"])).len(), 18, "{open}");

    // Committed: the first and third, in the order written on each
    // partition; the aborted one never.
    let committed = values(&done["committed"]);
    for (p, vals) in &committed {
        let pos = |prefix: &str| vals.iter().position(|v| v.starts_with(prefix));
        assert!(
            vals.iter().all(|v| !v.starts_with("a-")),
            "aborted records on {p}: {vals:?}"
        );
        if let (Some(c), Some(o)) = (pos("c1-"), pos("open-")) {
            assert!(c < o, "partition {p} out of order: {vals:?}");
        }
    }
    let mut want: Vec<String> = (0..6)
        .flat_map(|i| [format!("c1-{i}"), format!("open-{i}")])
        .collect();
    want.sort();
    assert_eq!(flat(&committed), want, "{done}");

    // kfk sees the same split: its default reads everything, as Kafka's
    // console consumer does.
    let all = home.ok(&["consume", "ledger", "--from-beginning", "-e", "-q"]);
    assert_eq!(all.lines().count(), 18, "{all}");
}

#[test]
fn a_new_producer_fences_the_old_one_and_timeouts_abort() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "fenced", "-p", "1", "-r", "3"]);
    let out = script(&["fence", &bootstrap, "fenced"]);
    let r = &out[0];
    assert!(
        r["old"].as_str().unwrap().contains("FENCED")
            && r["old"].as_str().unwrap().contains("fatal=True"),
        "the zombie must be fenced for good: {r}"
    );
    assert_eq!(
        flat(&values(&r["committed"])),
        vec!["successor".to_string()],
        "{r}"
    );
    assert_eq!(flat(&values(&r["uncommitted"])).len(), 2, "{r}");

    // A transaction left open past transaction.timeout.ms (2 s) is aborted
    // by its coordinator: the committed record behind it becomes readable
    // and the slow producer is fenced.
    home.ok(&["topics", "create", "slow", "-p", "1", "-r", "3"]);
    let out = script(&["timeout", &bootstrap, "slow"]);
    let r = &out[0];
    assert_eq!(
        flat(&values(&r["committed"])),
        vec!["after".to_string()],
        "{r}"
    );
    assert!(r["slow"].as_str().unwrap().contains("FENCED"), "{r}");
}

/// Java's `String.hashCode`, to find an id's coordinator partition as Kafka does.
fn partition_for(id: &str, partitions: usize) -> usize {
    let h = id
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (if h == i32::MIN { 0 } else { h.abs() }) as usize % partitions
}

struct App {
    child: Child,
    log: std::path::PathBuf,
}

impl App {
    fn start(home: &Home, args: &[&str], n: usize) -> App {
        let log = home.path().join(format!("ctp-{n}.log"));
        let child = python("transactions.py")
            .args(args)
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::File::create(home.path().join(format!("ctp-{n}.err"))).unwrap(),
            ))
            .spawn()
            .unwrap();
        App { child, log }
    }

    /// Records the app reports done so far.
    fn done(&self) -> u64 {
        json_lines(&std::fs::read_to_string(&self.log).unwrap_or_default())
            .iter()
            .filter_map(|l| l["done"].as_u64())
            .max()
            .unwrap_or(0)
    }

    fn finished(&mut self) -> bool {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains("finished")
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[test]
fn consume_transform_produce_is_exactly_once_across_sigkills() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    for t in ["input", "output"] {
        home.ok(&[
            "topics",
            "create",
            t,
            "-p",
            "3",
            "-r",
            "3",
            "--config",
            "min.insync.replicas=2",
        ]);
    }
    const N: usize = 3000;
    let input: String = (0..N).map(|i| format!("rec-{i:05}\n")).collect();
    home.ok_stdin(&["produce", "input"], &input);
    let total = N.to_string();
    let args = [
        "ctp",
        &bootstrap,
        "input",
        "output",
        "ctp-group",
        "ctp-tx",
        &total,
        "20",
        "0.05",
    ];

    // The application is killed after its first commits and started again.
    let mut app = App::start(&home, &args, 1);
    let deadline = Instant::now() + Duration::from_secs(90);
    while app.done() < 600 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    app.kill9();
    let mut app = App::start(&home, &args, 2);

    // Then the broker coordinating its transactions is killed mid-stream.
    let state = home.json(&["topics", "describe", "__transaction_state"]);
    let partitions = state["partitions"].as_array().unwrap();
    let coordinator = partitions[partition_for("ctp-tx", partitions.len())]["leader"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while app.done() < 600 {
        assert!(Instant::now() < deadline, "no progress after the restart");
        std::thread::sleep(Duration::from_millis(50));
    }
    home.ok(&["cluster", "stop-broker", &coordinator.to_string(), "--kill"]);
    let deadline = Instant::now() + Duration::from_secs(150);
    while !app.finished() {
        assert!(
            Instant::now() < deadline,
            "the application did not finish after the coordinator's failover"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    home.ok(&["cluster", "start-broker", &coordinator.to_string()]);

    // Every input record's result exactly once, read as read_committed.
    let read = script(&["read", &bootstrap, "output", &N.to_string()]);
    let got = flat(&values(&read[0]["committed"]));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &got {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "results written twice: {twice:?}");
    let want: Vec<String> = (0..N).map(|i| format!("out:rec-{i:05}")).collect();
    let missing: Vec<_> = want
        .iter()
        .filter(|w| !counts.contains_key(w.as_str()))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "results missing: {missing:?}");
    assert_eq!(got.len(), N);
}
