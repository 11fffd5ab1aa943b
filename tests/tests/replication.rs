//! Replication across a local 3-broker cluster: the walkthrough operators
//! follow (raise replication, stop a broker, start it again), failover under
//! acks=all with SIGKILLs, and real clients while a broker is down.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, partition_layout as layout, python, run, run_unchecked, tool};
use serde_json::Value;

/// Short timeouts so fencing and ISR changes show within seconds.
fn home() -> Home {
    Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_REPLICA_LAG_TIME_MAX_MS", "3000")
}

fn describe_until(home: &Home, topic: &str, what: &str, want: &[(i64, Vec<(i64, bool)>)]) {
    home.wait_json(
        &["topics", "describe", topic],
        Duration::from_secs(20),
        what,
        |v| layout(v) == want,
    );
}

#[test]
fn the_walkthrough_raise_replication_stop_a_broker_and_heal() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = format!("127.0.0.1:{base}");
    home.ok(&["topics", "create", "myorders", "-p", "3", "-r", "1"]);

    // The reassignment JSON of the walkthrough, through the real admin API
    // (kafka-python's AlterPartitionReassignments).
    let out = run(
        python("reassign.py").args([&bootstrap, "myorders", "0=1,2", "1=1,2", "2=2"]),
        Duration::from_secs(60),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DONE"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    describe_until(
        &home,
        "myorders",
        "the reassignment to show",
        &[
            (1, vec![(1, true), (2, true)]),
            (2, vec![(1, true), (2, true)]),
            (2, vec![(2, true)]),
        ],
    );
    for (p, msg) in [(0, "Hello"), (1, "again"), (2, "before")] {
        home.ok_stdin(
            &["produce", "myorders", "-p", &p.to_string(), "--acks", "all"],
            &format!("{msg}\n"),
        );
    }

    home.ok(&["cluster", "stop-broker", "2"]);
    describe_until(
        &home,
        "myorders",
        "broker 2 to leave every ISR",
        &[
            (1, vec![(1, true), (2, false)]),
            (1, vec![(1, true), (2, false)]),
            (-1, vec![(2, true)]),
        ],
    );
    let status = home.json(&["cluster", "status"]);
    assert_eq!(status["under_replicated_partitions"], 2, "{status}");
    assert_eq!(status["offline_partitions"], 1, "{status}");
    assert!(
        home.ok(&["topics", "list", "--offline"])
            .contains("myorders")
    );
    // Partitions with a live in-sync replica keep taking acks=all writes.
    home.ok_stdin(
        &["produce", "myorders", "-p", "0", "--acks", "all"],
        "from\n",
    );
    home.ok_stdin(
        &["produce", "myorders", "-p", "1", "--acks", "all"],
        "Wxk\n",
    );
    // The offline partition refuses writes, saying why (once the delivery
    // timeout has waited for a leader in vain).
    let refused = home.kfk_stdin(
        &["produce", "myorders", "-p", "2", "--delivery-timeout", "3s"],
        "lost\n",
    );
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("myorders-2 has no leader"), "{why}");
    // Reading to the end gives what the live partitions hold and names the
    // offline one (exit 1).
    let partial = home.kfk(&["consume", "myorders", "--from-beginning", "-e"]);
    assert_eq!(partial.status.code(), Some(1));
    let mut got: Vec<String> = String::from_utf8_lossy(&partial.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec!["Hello", "Wxk", "again", "from"]);
    let why = String::from_utf8_lossy(&partial.stderr);
    assert!(why.contains("except myorders-2: offline"), "{why}");

    home.ok(&["cluster", "start-broker", "2"]);
    describe_until(
        &home,
        "myorders",
        "the cluster to heal",
        &[
            (1, vec![(1, true), (2, true)]),
            (1, vec![(1, true), (2, true)]),
            (2, vec![(2, true)]),
        ],
    );
    let status = home.json(&["cluster", "status"]);
    assert_eq!(status["under_replicated_partitions"], 0, "{status}");
    assert_eq!(status["offline_partitions"], 0, "{status}");

    let out = home.ok(&["consume", "myorders", "--from-beginning", "-e"]);
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    assert_eq!(got, vec!["Hello", "Wxk", "again", "before", "from"]);

    // The whole cluster restarts with its data.
    home.ok(&["cluster", "down"]);
    home.ok(&[
        "cluster",
        "up",
        "--brokers",
        "3",
        "--base-port",
        &base.to_string(),
    ]);
    let out = home.ok(&["consume", "myorders", "--from-beginning", "-e"]);
    assert_eq!(out.lines().count(), 5, "{out}");
}

#[test]
fn acks_all_survives_brokers_killed_at_random() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&[
        "topics",
        "create",
        "chaos",
        "-p",
        "3",
        "-r",
        "3",
        "-c",
        "min.insync.replicas=2",
    ]);
    let acks_file = home.path().join("acks.txt");
    let stop_file = home.path().join("stop");
    let mut producer = python("chaos_producer.py")
        .args([&bootstrap, "chaos"])
        .arg(&stop_file)
        .stdout(std::fs::File::create(&acks_file).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Ten rounds: SIGKILL a broker (never the last two of the quorum at once),
    // let the cluster notice, start it again, wait for it to serve.
    let mut seed: u64 = std::process::id().into();
    for _ in 0..10 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let victim = (seed >> 33) % 3 + 1;
        home.ok(&["cluster", "stop-broker", &victim.to_string(), "--kill"]);
        std::thread::sleep(Duration::from_millis(2000));
        home.ok(&["cluster", "start-broker", &victim.to_string()]);
        std::thread::sleep(Duration::from_millis(1500));
    }
    std::fs::write(&stop_file, b"").unwrap();
    let status = producer.wait().unwrap();
    assert!(status.success(), "producer failed");

    // Wait for every replica to be back in sync.
    home.wait_json(
        &["cluster", "status"],
        Duration::from_secs(30),
        "all partitions in sync",
        |v| v["under_replicated_partitions"] == 0 && v["offline_partitions"] == 0,
    );

    let acked = kfk_e2e::acked_messages(&acks_file);
    assert!(acked.len() > 200, "too few acknowledged: {}", acked.len());
    eprintln!("{} messages acknowledged during the kills", acked.len());
    kfk_e2e::assert_acked_are_stored(&home, "chaos", &acked);
    kfk_e2e::assert_replicas_identical(&home, "chaos", 3);
}

#[test]
fn real_clients_produce_and_consume_while_a_broker_is_down() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "events", "-p", "3", "-r", "3"]);
    home.ok(&["cluster", "stop-broker", "3"]);
    home.wait_json(
        &["cluster", "status"],
        Duration::from_secs(20),
        "broker 3 to leave the ISRs",
        |v| v["under_replicated_partitions"] == 3,
    );

    // kcat produces with acks=all and reads back.
    let kcat = tool("kcat", "the Debian package kcat");
    let input: String = (0..20).map(|i| format!("kcat-{i}\n")).collect();
    let path = home.path().join("kcat-input");
    std::fs::write(&path, input).unwrap();
    let out = run_unchecked(
        Command::new(&kcat)
            .args([
                "-b", &bootstrap, "-t", "events", "-P", "-X", "acks=all", "-l",
            ])
            .arg(&path),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // confluent-kafka creates a topic, produces with acks=all and consumes.
    let out = run(
        python("confluent_client.py").args([&bootstrap, "produce", "cflt", "30"]),
        Duration::from_secs(90),
    );
    let json_lines = |out: &[u8]| -> Vec<Value> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // (partition, offset, key, value) of each message.
    let message = |m: &Value| {
        (
            m["p"].as_i64().unwrap(),
            m["o"].as_i64().unwrap(),
            m["k"].as_str().unwrap().to_string(),
            m["v"].as_str().unwrap().to_string(),
        )
    };
    let acked: BTreeSet<_> = json_lines(&out.stdout).iter().map(message).collect();
    let want: BTreeSet<String> = (0..30).map(|i| format!("value-{i}")).collect();
    assert_eq!(
        acked.iter().map(|m| m.3.clone()).collect::<BTreeSet<_>>(),
        want,
        "every message acknowledged"
    );
    let out = run(
        python("confluent_client.py").args([&bootstrap, "consume", "cflt", "30"]),
        Duration::from_secs(90),
    );
    let consumed: Vec<_> = json_lines(&out.stdout)
        .iter()
        .filter(|m| m.get("v").is_some())
        .map(message)
        .collect();
    assert_eq!(
        consumed.iter().cloned().collect::<BTreeSet<_>>(),
        acked,
        "read back where each was acknowledged"
    );
    assert_eq!(consumed.len(), 30, "nothing read twice");
    assert_in_order(
        consumed
            .iter()
            .map(|(p, o, _, v)| (*p, *o, v.trim_start_matches("value-").parse().unwrap())),
    );

    let out = run(
        Command::new(&kcat).args([
            "-b",
            &bootstrap,
            "-t",
            "events",
            "-C",
            "-e",
            "-q",
            "-f",
            "%p %o %s\n",
        ]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let kcat: Vec<(i64, i64, i64)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].trim_start_matches("kcat-").parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kcat.iter().map(|m| m.2).collect::<BTreeSet<i64>>(),
        (0..20).collect(),
        "{text}"
    );
    assert_eq!(kcat.len(), 20, "{text}");
    assert_in_order(kcat.into_iter());
}

/// Messages `(partition, offset, sequence)` as a consumer printed them: in
/// each partition, offsets and the producer's sequence numbers both grow.
fn assert_in_order(messages: impl Iterator<Item = (i64, i64, i64)>) {
    let mut last: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (p, o, seq) in messages {
        if let Some((prev_o, prev_seq)) = last.insert(p, (o, seq)) {
            assert!(
                prev_o < o && prev_seq < seq,
                "partition {p}: offset {prev_o} holds {prev_seq}, then offset {o} holds {seq}"
            );
        }
    }
}

/// Leader and in-sync replicas of partition 0 of `topic`.
fn leader_and_isr(home: &Home, topic: &str) -> (i64, Vec<i64>) {
    let t = home.json(&["topics", "describe", topic]);
    let (leader, replicas) = layout(&t).remove(0);
    let isr = replicas
        .iter()
        .filter(|(_, s)| *s)
        .map(|(b, _)| *b)
        .collect();
    (leader, isr)
}

fn wait_leader_and_isr(home: &Home, topic: &str, want: (i64, Vec<i64>)) {
    home.wait_json(
        &["topics", "describe", topic],
        Duration::from_secs(20),
        &format!("{topic} to have leader and ISR {want:?}"),
        |_| leader_and_isr(home, topic) == want,
    );
}

#[test]
fn acks_all_needs_min_insync_replicas_and_offline_partitions_refuse_writes() {
    let home = home();
    home.up_cluster(3);
    home.ok(&[
        "topics",
        "create",
        "strict",
        "--replica-assignment",
        "1:2",
        "-c",
        "min.insync.replicas=2",
    ]);
    home.ok(&["topics", "create", "single", "--replica-assignment", "2"]);
    home.ok(&["cluster", "stop-broker", "2"]);
    wait_leader_and_isr(&home, "strict", (1, vec![1]));

    let out = home.kfk_stdin(
        &[
            "produce",
            "strict",
            "--acks",
            "all",
            "--delivery-timeout",
            "3s",
        ],
        "refused\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NotEnoughReplicas"), "{err}");
    // acks=1 does not ask for the ISR.
    home.ok_stdin(&["produce", "strict", "--acks", "1"], "accepted\n");

    // No unclean election: the partition whose only replica is down is offline.
    wait_leader_and_isr(&home, "single", (-1, vec![2]));
    let out = home.kfk_stdin(
        &["produce", "single", "--delivery-timeout", "3s"],
        "nowhere\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LeaderNotAvailable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    home.ok(&["cluster", "start-broker", "2"]);
    wait_leader_and_isr(&home, "strict", (1, vec![1, 2]));
    wait_leader_and_isr(&home, "single", (2, vec![2]));
    home.ok_stdin(&["produce", "strict", "--acks", "all"], "again\n");
    let out = home.ok(&["consume", "strict", "--from-beginning", "-e"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["accepted", "again"]);
}

#[test]
fn unclean_election_trades_unreplicated_records_for_availability() {
    let home = home();
    // Brokers 1-3 vote; 4 is a learner, so stopping 3 and 4 keeps the quorum.
    home.up_cluster(4);
    for (topic, unclean) in [("clean", "false"), ("dirty", "true")] {
        home.ok(&[
            "topics",
            "create",
            topic,
            "--replica-assignment",
            "4:3",
            "-c",
            &format!("unclean.leader.election.enable={unclean}"),
        ]);
        home.ok_stdin(&["produce", topic, "--acks", "all"], "first\n");
    }
    home.ok(&["cluster", "stop-broker", "3"]);
    for topic in ["clean", "dirty"] {
        wait_leader_and_isr(&home, topic, (4, vec![4]));
        home.ok_stdin(&["produce", topic, "--acks", "1"], "second\n");
    }
    home.ok(&["cluster", "stop-broker", "4"]);
    wait_leader_and_isr(&home, "clean", (-1, vec![4]));
    wait_leader_and_isr(&home, "dirty", (-1, vec![4]));

    // Broker 3 is out of sync: only the topic that allows it elects it.
    home.ok(&["cluster", "start-broker", "3"]);
    wait_leader_and_isr(&home, "dirty", (3, vec![3]));
    assert_eq!(leader_and_isr(&home, "clean"), (-1, vec![4]));
    let out = home.ok(&["consume", "dirty", "--from-beginning", "-e"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["first"]);

    // Broker 4 returns: the clean topic has everything; on the dirty one it
    // follows the new leader and drops what that leader never had.
    home.ok(&["cluster", "start-broker", "4"]);
    wait_leader_and_isr(&home, "clean", (4, vec![4, 3]));
    wait_leader_and_isr(&home, "dirty", (3, vec![4, 3]));
    let out = home.ok(&["consume", "clean", "--from-beginning", "-e"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["first", "second"]);
    let out = home.ok(&["consume", "dirty", "--from-beginning", "-e"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["first"]);
}

#[test]
fn a_graceful_stop_moves_leadership_before_the_broker_exits() {
    // A session timeout far longer than the test: only the controlled
    // shutdown can move leadership this soon.
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "120000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS", "1");
    home.up_cluster(3);
    home.ok(&["topics", "create", "moving", "-p", "3", "-r", "3"]);
    let leaders = |t: &Value| layout(t).iter().map(|(l, _)| *l).collect::<Vec<_>>();
    let preferred = leaders(&home.json(&["topics", "describe", "moving"]));
    home.ok(&["cluster", "stop-broker", "1"]);
    home.wait_json(
        &["topics", "describe", "moving"],
        Duration::from_secs(20),
        "broker 1 to lead nothing and leave every ISR",
        |t| {
            layout(t)
                .iter()
                .all(|(leader, replicas)| *leader != 1 && replicas.contains(&(1, false)))
        },
    );
    home.ok_stdin(&["produce", "moving", "--acks", "all"], "still\nworks\n");

    // Back in sync, broker 1 gets its leaderships back (auto leader rebalance).
    home.ok(&["cluster", "start-broker", "1"]);
    home.wait_json(
        &["topics", "describe", "moving"],
        Duration::from_secs(20),
        "the preferred leaders to lead again",
        |t| leaders(t) == preferred,
    );
}

/// Sends `signal` (e.g. `-STOP`, `-CONT`) to broker `id`'s process.
fn signal_broker(home: &Home, id: i64, signal: &str) {
    let pid = home.json(&["cluster", "status"])["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()["pid"]
        .as_u64()
        .unwrap();
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn a_stalled_follower_leaves_the_isr_after_the_lag_time_and_rejoins() {
    // A session timeout far longer than the lag time: the follower is never
    // fenced, so only the leader's ISR tracking can take it out.
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "120000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_REPLICA_LAG_TIME_MAX_MS", "1500");
    home.up_cluster(3);
    home.ok(&["topics", "create", "lagging", "--replica-assignment", "1:3"]);
    home.ok_stdin(&["produce", "lagging", "--acks", "all"], "before\n");
    signal_broker(&home, 3, "-STOP");
    // Writes keep coming; the frozen follower falls behind and is dropped.
    home.ok_stdin(&["produce", "lagging", "--acks", "1"], "during\n");
    wait_leader_and_isr(&home, "lagging", (1, vec![1]));
    home.ok_stdin(&["produce", "lagging", "--acks", "all"], "acked by one\n");
    signal_broker(&home, 3, "-CONT");
    wait_leader_and_isr(&home, "lagging", (1, vec![1, 3]));
    let out = home.ok(&["consume", "lagging", "--from-beginning", "-e"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["before", "during", "acked by one"]
    );
}

#[test]
fn acks_all_answers_request_timed_out_when_the_isr_does_not_ack_in_time() {
    // The follower is frozen but neither fenced nor dropped from the ISR
    // during the test, so the leader waits for it until the request's own
    // timeout runs out.
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "120000")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_REPLICA_LAG_TIME_MAX_MS", "60000");
    let base = home.up_cluster(3);
    let bootstrap = format!("127.0.0.1:{base}");
    home.ok(&["topics", "create", "slow", "--replica-assignment", "1:3"]);
    home.ok_stdin(&["produce", "slow", "--acks", "all"], "before\n");
    signal_broker(&home, 3, "-STOP");
    let started = std::time::Instant::now();
    let out = run(
        python("one_shot_producer.py").args([&bootstrap, "slow", "waited", "1000"]),
        Duration::from_secs(60),
    );
    let waited = started.elapsed();
    signal_broker(&home, 3, "-CONT");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ERR REQUEST_TIMED_OUT"
    );
    assert!(
        waited < Duration::from_secs(30),
        "answered after {waited:?}"
    );
    // As in Kafka, a timed-out acks=all write was appended by the leader: it
    // becomes readable once the follower catches up.
    wait_leader_and_isr(&home, "slow", (1, vec![1, 3]));
    home.wait_json(
        &["topics", "describe", "slow"],
        Duration::from_secs(20),
        "both records below the high watermark",
        |t| t["partitions"][0]["latest_offset"] == 2,
    );
    let out = home.ok(&["consume", "slow", "--from-beginning", "-e"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["before", "waited"]);
}
