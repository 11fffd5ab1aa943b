//! `kfk reassign`: Kafka's reassignment JSON end to end, and leader elections.

use std::time::Duration;

use kfk_e2e::KfkHome as Home;
use serde_json::Value;

fn leaders(home: &Home, topic: &str) -> Vec<i64> {
    home.json(&["topics", "describe", topic])["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["leader"].as_i64().unwrap())
        .collect()
}

fn replicas(t: &Value) -> Vec<Vec<i64>> {
    kfk_e2e::replica_brokers(t)
}

#[test]
fn plans_execute_verify_and_leaders_are_elected_on_request() {
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300");
    home.up_cluster(3);
    home.ok(&["topics", "create", "myorders", "-p", "3", "-r", "1"]);
    home.ok_stdin(&["produce", "myorders", "-p", "0"], "kept\n");

    // generate proposes a balanced plan in Kafka's format.
    let generated = home.json(&[
        "reassign",
        "generate",
        "--topics",
        "myorders",
        "--brokers",
        "1,2",
    ]);
    assert_eq!(
        generated["proposed"]["partitions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The same from kafka-reassign-partitions' --topics-to-move-json-file.
    let to_move = home.path().join("topics-to-move.json");
    std::fs::write(&to_move, r#"{"version":1,"topics":[{"topic":"myorders"}]}"#).unwrap();
    let from_file = home.json(&[
        "reassign",
        "generate",
        "--topics-to-move-json-file",
        to_move.to_str().unwrap(),
        "--brokers",
        "1,2",
    ]);
    assert_eq!(from_file, generated);

    let plan = home.path().join("increase-replication.json");
    std::fs::write(
        &plan,
        r#"{"version":1,
"partitions":[
{"topic":"myorders","partition":0,"replicas":[1,2]},
{"topic":"myorders","partition":1,"replicas":[1,2]},
{"topic":"myorders","partition":2,"replicas":[2],"log_dirs":["any"]}
]
}"#,
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let executed = home.kfk(&["reassign", "execute", "-f", plan]);
    assert!(executed.status.success(), "{executed:?}");
    assert!(String::from_utf8_lossy(&executed.stderr).contains("log_dirs are ignored"));
    let out = String::from_utf8_lossy(&executed.stdout);
    assert!(
        out.contains("Save this to use as the --reassignment-json-file option during rollback")
    );
    let verified = home.ok(&["reassign", "verify", "-f", plan]);
    assert_eq!(verified.matches("is completed").count(), 3, "{verified}");
    let topic = home.json(&["topics", "describe", "myorders"]);
    assert_eq!(replicas(&topic), vec![vec![1, 2], vec![1, 2], vec![2]]);
    assert!(home.ok(&["reassign", "list"]).is_empty());
    let rollbacks = std::fs::read_dir(home.path().join("data/reassignments"))
        .unwrap()
        .count();
    assert_eq!(rollbacks, 1);

    // Partition 1 kept its leader (2) through the move; a preferred election
    // hands it to its first replica.
    assert_eq!(leaders(&home, "myorders")[1], 2);
    let out = home.ok(&["reassign", "elect-leaders", "--topic", "myorders"]);
    assert!(
        out.contains(
            "Successfully completed leader election (PREFERRED) for partitions myorders-1"
        ),
        "{out}"
    );
    assert!(out.contains("Valid replica already elected"), "{out}");
    assert_eq!(leaders(&home, "myorders"), vec![1, 1, 2]);

    // The data moved with the partition.
    let out = home.ok(&["consume", "myorders", "-p", "0", "--from-beginning", "-e"]);
    assert_eq!(out.trim(), "kept");

    // An unclean election brings an offline partition back on a stale replica.
    home.ok(&["topics", "create", "fragile", "--replica-assignment", "3:2"]);
    home.ok(&["cluster", "stop-broker", "2"]);
    home.ok(&["cluster", "stop-broker", "3"]);
    home.ok(&["cluster", "start-broker", "2"]);
    home.wait_json(
        &["topics", "describe", "fragile"],
        Duration::from_secs(20),
        "fragile offline",
        |t| t["partitions"][0]["leader"] == -1,
    );
    assert!(
        !home
            .kfk(&["reassign", "elect-leaders", "--topic", "fragile"])
            .status
            .success()
    );
    home.ok(&[
        "reassign",
        "elect-leaders",
        "--topic",
        "fragile",
        "--type",
        "unclean",
    ]);
    assert_eq!(leaders(&home, "fragile"), vec![2]);
    home.ok(&["cluster", "start-broker", "3"]);
}

#[test]
fn raising_the_replication_factor_copies_everything_while_producers_write() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "chaos", "-p", "3", "-r", "1"]);
    let stop = home.path().join("stop");
    let acks = home.path().join("acks");
    let mut producer = kfk_e2e::python("chaos_producer.py")
        .args([&bootstrap, "chaos"])
        .arg(&stop)
        .stdout(std::fs::File::create(&acks).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let acked = || kfk_e2e::acked_messages(&acks).len();
    kfk_e2e::wait_until(Duration::from_secs(30), "200 acknowledged writes", || {
        acked() >= 200
    });
    home.ok(&["topics", "alter", "chaos", "--replication-factor", "3"]);
    let in_sync = |t: &serde_json::Value| {
        t["partitions"].as_array().unwrap().iter().all(|p| {
            let r = p["replicas"].as_array().unwrap();
            r.len() == 3 && r.iter().all(|r| r["in_sync"] == true)
        })
    };
    home.wait_json(
        &["topics", "describe", "chaos"],
        Duration::from_secs(30),
        "three in-sync replicas everywhere, under load",
        in_sync,
    );
    // Writes go on after the new replicas joined.
    let joined = acked();
    kfk_e2e::wait_until(
        Duration::from_secs(30),
        "200 more acknowledged writes",
        || acked() >= joined + 200,
    );
    std::fs::write(&stop, b"").unwrap();
    assert!(producer.wait().unwrap().success());
    let topic = home.wait_json(
        &["topics", "describe", "chaos"],
        Duration::from_secs(30),
        "three in-sync replicas everywhere",
        in_sync,
    );
    assert_eq!(replicas(&topic).len(), 3);
    let acked = kfk_e2e::acked_messages(&acks);
    kfk_e2e::assert_acked_are_stored(&home, "chaos", &acked);
    kfk_e2e::assert_replicas_identical(&home, "chaos", 3);
}

#[test]
fn a_throttled_move_copies_slowly_and_verify_removes_the_throttle() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["topics", "create", "big", "--replica-assignment", "1"]);
    // Twelve batches of 50 kB: a fetch returns whole batches, so none may
    // be larger than the throttle's second's worth.
    let line = "x".repeat(1000);
    let input: String = (0..50).map(|_| format!("{line}\n")).collect();
    for _ in 0..12 {
        home.ok_stdin(&["produce", "big"], &input);
    }
    let size = kfk_e2e::log_bytes(&home.broker_data_dirs()[0], "big-0").len() as f64;
    // At 100 kB/s, with at most a second banked and one fetch (a second's
    // worth) in flight, copying `size` bytes takes at least this long.
    let fastest = Duration::from_secs_f64(size / 100_000.0 - 2.0);
    assert!(fastest >= Duration::from_secs(3), "{size} bytes");
    let plan = home.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"big","partition":0,"replicas":[1,2]}]}"#,
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    // 600 kB at 100 kB/s: six seconds of copying.
    let started = std::time::Instant::now();
    home.ok(&[
        "reassign",
        "execute",
        "-f",
        plan,
        "--throttle",
        "100000",
        "--no-wait",
    ]);
    assert!(
        home.ok(&["reassign", "list"]).contains("big"),
        "still copying"
    );
    // zookeeper-shell's view of a move in flight.
    let flight: serde_json::Value =
        serde_json::from_str(&home.ok(&["zk-shell", "get", "/admin/reassign_partitions"])).unwrap();
    assert_eq!(
        flight["partitions"],
        serde_json::json!([{"topic": "big", "partition": 0, "replicas": [1, 2]}])
    );
    let rate = |home: &Home| {
        home.json(&["describe", "broker", "2"])["configs"]["follower.replication.throttled.rate"]
            .clone()
    };
    assert_eq!(rate(&home), "100000");
    assert!(
        !home
            .kfk(&["reassign", "verify", "-f", plan])
            .status
            .success()
    );
    home.wait_json(
        &["reassign", "list"],
        Duration::from_secs(60),
        "the move to finish",
        |v| v.as_array().is_some_and(Vec::is_empty),
    );
    let took = started.elapsed();
    assert!(
        took >= fastest,
        "{size} bytes copied in {took:?}: faster than 100 kB/s allows ({fastest:?})"
    );
    let out = home.kfk(&["reassign", "verify", "-f", plan]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Throttle was removed"));
    assert_eq!(rate(&home), "9223372036854775807");
    let topic = home.json(&["topics", "describe", "big"]);
    assert_eq!(replicas(&topic), vec![vec![1, 2]]);

    // A move cancelled half way: the partition keeps its replicas, the new
    // one is dropped, and the throttle goes with it.
    let third = home.path().join("third.json");
    std::fs::write(
        &third,
        r#"{"version":1,"partitions":[{"topic":"big","partition":0,"replicas":[1,2,3]}]}"#,
    )
    .unwrap();
    let third = third.to_str().unwrap();
    home.ok(&[
        "reassign",
        "execute",
        "-f",
        third,
        "--throttle",
        "20000",
        "--no-wait",
    ]);
    assert!(home.ok(&["reassign", "list"]).contains("big"));
    let out = home.kfk(&["reassign", "cancel", "-f", third]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Cancelled the reassignment of big-0")
            && said.contains("Throttle was removed"),
        "{said}"
    );
    assert!(home.ok(&["reassign", "list"]).is_empty());
    assert_eq!(rate(&home), "9223372036854775807");
    home.wait_json(
        &["topics", "describe", "big"],
        Duration::from_secs(20),
        "big-0 to be back on 1 and 2, both in sync",
        |t| kfk_e2e::partition_layout(t)[0].1 == vec![(1, true), (2, true)],
    );
}

/// `kfk broker drain ID` before maintenance: every leadership of the broker
/// moves to another in-sync replica (spread over them), the broker stays in
/// every ISR, the cluster keeps serving, a partition with nowhere to go is
/// named, and the saved assignment gives the leaderships back.
#[test]
fn broker_drain_moves_leaderships_away_and_the_saved_plan_gives_them_back() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["topics", "create", "orders", "-p", "6", "-r", "3"]);
    let layout =
        |topic: &str| kfk_e2e::partition_layout(&home.json(&["topics", "describe", topic]));
    let before = layout("orders");
    assert_eq!(
        before.iter().filter(|(l, _)| *l == 1).count(),
        2,
        "{before:?}"
    );

    let out = home.ok(&["broker", "drain", "1"]);
    assert!(
        out.contains("Broker 1 no longer leads 2 partition(s)"),
        "{out}"
    );
    let file = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("kfk reassign execute -f "))
        .and_then(|l| l.split(" && ").next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    let after = layout("orders");
    for (leader, replicas) in &after {
        assert_ne!(*leader, 1, "{after:?}");
        assert!(
            replicas.contains(&(1, true)),
            "broker 1 left an ISR: {after:?}"
        );
    }
    // The two leaderships went to different brokers.
    let moved: Vec<i64> = before
        .iter()
        .zip(&after)
        .filter(|((l, _), _)| *l == 1)
        .map(|(_, (l, _))| *l)
        .collect();
    assert!(moved.contains(&2) && moved.contains(&3), "{moved:?}");
    // Still serving, and draining again finds nothing to do.
    let lines: String = (0..30).map(|i| format!("after-drain-{i}\n")).collect();
    home.ok_stdin(&["produce", "orders", "--acks", "all"], &lines);
    let read = home.ok(&["consume", "orders", "--from-beginning", "-e"]);
    assert_eq!(read.lines().count(), 30, "{read}");
    assert_eq!(
        home.ok(&["broker", "drain", "1"]).trim(),
        "Broker 1 leads no partitions."
    );

    // A partition whose only replica is the broker: named, exit 1.
    home.ok(&["topics", "create", "solo", "-p", "1", "-r", "1"]);
    let solo_leader = layout("solo")[0].0;
    let err = home.fails(&["broker", "drain", &solo_leader.to_string()]);
    assert!(
        err.contains("still led by broker") && err.contains("solo-0"),
        "{err}"
    );
    let err = home.fails(&["broker", "drain", "9"]);
    assert!(err.contains("broker 9 is not in the cluster"), "{err}");

    // The saved plan and a preferred election give broker 1 its leaderships back.
    home.ok(&["reassign", "execute", "-f", &file]);
    home.ok(&["reassign", "elect-leaders", "--all"]);
    let restored = layout("orders");
    for ((l0, _), (l1, _)) in before.iter().zip(&restored) {
        if *l0 == 1 {
            assert_eq!(*l1, 1, "{restored:?}");
        }
    }
}
