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

    /// The end of what the app printed, for a failure's message.
    fn tail(&self) -> String {
        let err = self.log.with_extension("err");
        let mut out = String::new();
        for f in [&self.log, &err] {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out += &format!("--- {} (last 20 lines)\n", f.display());
            out += &lines[lines.len().saturating_sub(20)..].join("\n");
            out.push('\n');
        }
        out
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
        assert!(Instant::now() < deadline, "no progress\n{}", app.tail());
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
        assert!(
            Instant::now() < deadline,
            "no progress after the restart\n{}",
            app.tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    home.ok(&["cluster", "stop-broker", &coordinator.to_string(), "--kill"]);
    let deadline = Instant::now() + Duration::from_secs(150);
    while !app.finished() {
        assert!(
            Instant::now() < deadline,
            "the application did not finish after the coordinator's failover\n{}",
            app.tail()
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

/// One request to `addr` and its response, over a fresh connection.
fn exchange<R: kafka_protocol::protocol::Request>(
    addr: &str,
    req: &R,
    version: i16,
) -> R::Response {
    use kafka_protocol::messages::{ApiKey, ResponseHeader};
    use kafka_protocol::protocol::Decodable;
    use std::io::{Read, Write};
    let api = ApiKey::try_from(R::KEY).unwrap();
    let frame = kfk_wire::frame::encode_request(api, version, 1, Some("e2e"), req).unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&frame).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    let mut body = bytes::Bytes::from(body);
    ResponseHeader::decode(&mut body, api.response_header_version(version)).unwrap();
    R::Response::decode(&mut body, version).unwrap()
}

/// Writes a transactional batch the way a client that skipped
/// AddPartitionsToTxn would (what KIP-890's verification refuses): the
/// partition gets a transaction no coordinator will end. Returns the
/// producer id and the produce error code.
fn ghost_batch(addr: &str, topic: &str) -> (i64, i16) {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{
        InitProducerIdRequest, ProduceRequest, ProducerId, TopicName, TransactionalId,
    };
    let init = exchange(
        addr,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(-1)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
        4,
    );
    let pid = init.producer_id.0;
    assert_eq!(init.error_code, 0, "InitProducerId: {init:?}");
    let records: Vec<kfk_wire::NewRecord> = (0..2)
        .map(|i| {
            kfk_wire::NewRecord::new(
                None::<bytes::Bytes>,
                format!("ghost-{i}"),
                kfk_e2e::now_ms(),
            )
        })
        .collect();
    let batch = kfk_wire::encode_batch(
        &records,
        &kfk_wire::BatchOptions {
            producer_id: pid,
            producer_epoch: init.producer_epoch,
            base_sequence: 0,
            transactional: true,
            ..kfk_wire::BatchOptions::default()
        },
    )
    .unwrap();
    let resp = exchange(
        addr,
        &ProduceRequest::default()
            .with_transactional_id(Some(TransactionalId("ghost".to_string().into())))
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(topic.to_string().into()))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch.freeze())),
                    ]),
            ]),
        9,
    );
    (pid, resp.responses[0].partition_responses[0].error_code)
}

#[test]
fn kfk_writes_transactions_and_brokers_refuse_partitions_never_added() {
    // kfk produce --transactional-id: every --txn-size lines a transaction;
    // a bad line aborts the transaction it is in, the earlier ones stay.
    let home = home();
    home.up();
    let addr = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "batches", "-p", "1"]);
    let input: String = (0..7)
        .map(|i| format!("{{\"value\":\"line-{i}\"}}\n"))
        .chain(["not json\n".to_string()])
        .collect();
    let out = home.kfk_stdin(
        &[
            "produce",
            "batches",
            "--input",
            "jsonl",
            "--transactional-id",
            "loader",
            "--txn-size",
            "3",
        ],
        &input,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 8"), "{err}");
    let committed = home.ok(&[
        "consume",
        "batches",
        "--isolation",
        "read_committed",
        "--from-beginning",
        "-e",
        "-q",
    ]);
    assert_eq!(
        committed.lines().collect::<Vec<_>>(),
        (0..6).map(|i| format!("line-{i}")).collect::<Vec<_>>(),
        "two whole transactions of 3, not the third"
    );
    let all = home.ok(&["consume", "batches", "--from-beginning", "-e", "-q"]);
    assert_eq!(all.lines().count(), 7, "{all}");
    let listed = home.json(&["transactions", "list"]);
    let loader = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["transactional_id"] == "loader")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(loader["state"], "CompleteAbort", "{listed}");
    let d = home.json(&["transactions", "describe", "loader"]);
    assert_eq!(d["producer_id"], loader["producer_id"]);

    // With the brokers' verification on, a batch no coordinator added is
    // refused.
    home.ok(&["topics", "create", "ghosted", "-p", "1"]);
    let (_, code) = ghost_batch(&addr, "ghosted");
    // INVALID_PRODUCER_ID_MAPPING: its coordinator has no such id.
    assert_eq!(code, 49);
    assert!(
        home.json(&[
            "transactions",
            "describe-producers",
            "--topic",
            "ghosted",
            "--partition",
            "0"
        ])
        .as_array()
        .unwrap()
        .is_empty()
    );
}

#[test]
fn a_hanging_transaction_is_found_and_aborted() {
    // Without verification (Kafka before 3.6 had none), such a batch opens
    // a transaction that holds read_committed readers back for good.
    let home = home().with_env("KFKD_TRANSACTION_PARTITION_VERIFICATION_ENABLE", "false");
    home.up();
    let addr = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "stuck", "-p", "1"]);
    home.ok_stdin(&["produce", "stuck"], "before\n");
    let (pid, code) = ghost_batch(&addr, "stuck");
    assert_eq!(code, 0);
    home.ok_stdin(&["produce", "stuck"], "after-1\nafter-2\n");
    let read_committed = || {
        home.ok(&[
            "consume",
            "stuck",
            "--isolation",
            "read_committed",
            "--from-beginning",
            "-e",
            "-q",
        ])
    };
    let producers = home.json(&[
        "transactions",
        "describe-producers",
        "--topic",
        "stuck",
        "--partition",
        "0",
    ]);
    assert_eq!(
        read_committed().trim(),
        "before",
        "held at the open transaction: {producers}"
    );
    let open = producers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["producer_id"] == pid)
        .unwrap_or_else(|| panic!("{producers}"));
    assert_eq!(open["current_txn_start_offset"], 1, "{producers}");
    // describe shows where read_committed readers stop.
    let d = home.json(&["topics", "describe", "stuck"]);
    assert_eq!(d["partitions"][0]["last_stable_offset"], 1, "{d}");
    assert_eq!(d["partitions"][0]["latest_offset"], 5, "{d}");
    let table = home.ok(&["topics", "describe", "stuck"]);
    assert!(table.contains("STABLE"), "{table}");
    // find-hanging: open longer than the timeout given, unknown to coordinators.
    let hanging = home.json(&[
        "transactions",
        "find-hanging",
        "--topic",
        "stuck",
        "--max-transaction-timeout",
        "0s",
    ]);
    let found = hanging.as_array().unwrap();
    assert_eq!(found.len(), 1, "{hanging}");
    assert_eq!(found[0]["producer_id"], pid);
    assert_eq!(found[0]["start_offset"], 1);
    // Not hanging yet under the default 15 minutes.
    let recent = home.json(&["transactions", "find-hanging", "--topic", "stuck"]);
    assert!(recent.as_array().unwrap().is_empty(), "{recent}");

    home.ok(&[
        "transactions",
        "abort",
        "--topic",
        "stuck",
        "--partition",
        "0",
        "--start-offset",
        "1",
    ]);
    assert_eq!(
        read_committed().lines().collect::<Vec<_>>(),
        vec!["before", "after-1", "after-2"],
        "the aborted records are skipped, the later ones readable"
    );
    let hanging = home.json(&[
        "transactions",
        "find-hanging",
        "--topic",
        "stuck",
        "--max-transaction-timeout",
        "0s",
    ]);
    assert!(hanging.as_array().unwrap().is_empty(), "{hanging}");
    let d = home.json(&["topics", "describe", "stuck"]);
    assert_eq!(d["partitions"][0]["last_stable_offset"], 6, "{d}");
    assert!(!home.ok(&["topics", "describe", "stuck"]).contains("STABLE"));
}
