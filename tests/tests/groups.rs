//! Consumer groups with real clients: confluent-kafka and kafka-python group
//! consumers split partitions, hand them over when one leaves, resume at
//! their committed offsets, and keep them when the coordinator dies.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, python};

fn home() -> Home {
    Home::new()
        .with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "300")
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", "500")
        .with_env("KFKD_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS", "500")
}

/// A running `group_consumer.py` with its output file and stop file.
struct Consumer {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    stop: PathBuf,
}

impl Consumer {
    fn start(home: &Home, name: &str, args: [&str; 6]) -> Consumer {
        Consumer::start_with(home, name, args, &[])
    }

    /// With `GC_*` settings (assignment strategy, static instance id).
    fn start_with(home: &Home, name: &str, args: [&str; 6], env: &[(&str, &str)]) -> Consumer {
        let out = home.path().join(format!("{name}.out"));
        let err = home.path().join(format!("{name}.err"));
        let stop = home.path().join(format!("{name}.stop"));
        let child = python("group_consumer.py")
            .args(args)
            .envs(env.iter().copied())
            .arg(&stop)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Consumer {
            child,
            out,
            err,
            stop,
        }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The partitions of its latest "ASSIGNED" line.
    fn assigned(&self) -> BTreeSet<i32> {
        self.lines()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("ASSIGNED"))
            .map(|l| l.trim().split(',').filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Its rebalance callbacks ("ASSIGN 0,1", "REVOKE 0", "LOST 2"), in order.
    fn rebalances(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| {
                l.starts_with("ASSIGN ") || l.starts_with("REVOKE ") || l.starts_with("LOST ")
            })
            .collect()
    }

    /// Dies without a goodbye (SIGKILL): no LeaveGroup, no last commit.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The values it printed (and committed).
    fn values(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix("MSG "))
            .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").to_string())
            .collect()
    }

    /// Asks it to stop and checks it ended well (a consumer error fails).
    fn finish(mut self) -> Consumer {
        std::fs::write(&self.stop, b"").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "consumer did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "consumer failed ({status}):\n{}\n{}",
            self.lines().join("\n"),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        );
        self
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn produce(home: &Home, topic: &str, range: std::ops::Range<u32>) {
    let input: String = range.map(|i| format!("k{i}:v{i}\n")).collect();
    home.ok_stdin(&["produce", topic, "-K", ":"], &input);
}

fn split_hand_over_and_resume(client: &str, env: &[(&str, &str)]) {
    let home = home();
    home.up();
    let bootstrap = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "orders", "-p", "3"]);
    produce(&home, "orders", 0..30);
    let group = format!("g-{client}");
    let args = |max: &'static str, idle: &'static str| {
        [
            client,
            bootstrap.as_str(),
            "orders",
            group.as_str(),
            max,
            idle,
        ]
    };

    // Two members split the three partitions.
    let a = Consumer::start_with(&home, "a", args("1000", "120"), env);
    wait("a to get partitions", Duration::from_secs(30), || {
        a.assigned().len() == 3
    });
    let b = Consumer::start_with(&home, "b", args("1000", "120"), env);
    wait(
        "a and b to split the partitions",
        Duration::from_secs(30),
        || {
            let (pa, pb) = (a.assigned(), b.assigned());
            !pa.is_empty() && !pb.is_empty() && pa.is_disjoint(&pb) && pa.len() + pb.len() == 3
        },
    );

    // b leaves: a takes everything over and reads what b did not.
    let b = b.finish();
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.assigned().len() != 3 {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for a to take over; a printed:\n{}\n{}\nkfkd:\n{}",
            a.lines().join("\n"),
            std::fs::read_to_string(&a.err).unwrap_or_default(),
            String::from_utf8_lossy(&home.kfk(&["cluster", "logs", "1", "-n", "80"]).stdout)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    produce(&home, "orders", 30..60);
    wait(
        "all 60 messages to be read",
        Duration::from_secs(30),
        || a.values().len() + b.values().len() >= 60,
    );
    let a = a.finish();
    let mut all: Vec<String> = a.values();
    all.extend(b.values());
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 60, "each message read exactly once: {all:?}");
    assert_eq!(unique.len(), 60);

    // A new member starts exactly at the committed offsets.
    produce(&home, "orders", 60..70);
    let c = Consumer::start_with(&home, "c", args("1000", "6"), env);
    wait("c to read the rest", Duration::from_secs(40), || {
        c.values().len() >= 10
    });
    let c = c.finish();
    let mut got = c.values();
    got.sort();
    let mut want: Vec<String> = (60..70).map(|i| format!("v{i}")).collect();
    want.sort();
    assert_eq!(
        got, want,
        "only the messages produced after the last commit"
    );
}

#[test]
fn confluent_kafka_consumers_split_hand_over_and_resume() {
    split_hand_over_and_resume("confluent", &[]);
}

#[test]
fn kafka_python_consumers_split_hand_over_and_resume() {
    split_hand_over_and_resume("kafka-python", &[]);
}

/// KIP-429: the clients drive incremental rebalances through the classic
/// protocol; the coordinator only relays the leader's assignment.
#[test]
fn cooperative_sticky_consumers_split_hand_over_and_resume() {
    split_hand_over_and_resume("confluent", &[("GC_STRATEGY", "cooperative-sticky")]);
}

/// KIP-345: a static member that restarts within its session timeout gets its
/// partitions back without a rebalance (the other member never notices); one
/// that stays away is removed when its session times out.
#[test]
fn static_members_return_without_a_rebalance_and_expire_with_their_session() {
    let home = home();
    home.up();
    let bootstrap = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "shifts", "-p", "4"]);
    produce(&home, "shifts", 0..40);
    let args = [
        "confluent",
        bootstrap.as_str(),
        "shifts",
        "static",
        "1000",
        "120",
    ];
    let a = Consumer::start_with(&home, "a", args, &[("GC_INSTANCE", "a")]);
    wait("a to get partitions", Duration::from_secs(30), || {
        a.assigned().len() == 4
    });
    let b = Consumer::start_with(&home, "b", args, &[("GC_INSTANCE", "b")]);
    wait(
        "a and b to split the partitions",
        Duration::from_secs(30),
        || {
            let (pa, pb) = (a.assigned(), b.assigned());
            !pa.is_empty() && !pb.is_empty() && pa.is_disjoint(&pb) && pa.len() + pb.len() == 4
        },
    );
    wait(
        "the 40 messages to be read",
        Duration::from_secs(30),
        || a.values().len() + b.values().len() >= 40,
    );
    let (owned_by_a, owned_by_b) = (a.assigned(), b.assigned());
    let b_rebalances = b.rebalances();
    let mut read = a.values();
    a.kill();

    // a comes back as the same instance: same partitions, b undisturbed.
    let a2 = Consumer::start_with(&home, "a2", args, &[("GC_INSTANCE", "a")]);
    wait("a to be back", Duration::from_secs(30), || {
        a2.assigned() == owned_by_a
    });
    produce(&home, "shifts", 40..60);
    wait("the next 20 messages", Duration::from_secs(30), || {
        read.len() + a2.values().len() + b.values().len() >= 60
    });
    assert_eq!(b.rebalances(), b_rebalances, "b saw a rebalance");
    assert_eq!(b.assigned(), owned_by_b);
    read.extend(a2.values());
    a2.kill();

    // a stays away: after its 6 s session, b owns everything.
    wait(
        "a's session to expire and b to take over",
        Duration::from_secs(30),
        || b.assigned().len() == 4,
    );
    produce(&home, "shifts", 60..70);
    wait("the last 10 messages", Duration::from_secs(30), || {
        read.len() + b.values().len() >= 70
    });
    let b = b.finish();
    read.extend(b.values());
    let unique: BTreeSet<&String> = read.iter().collect();
    assert_eq!(read.len(), 70, "each message read exactly once: {read:?}");
    assert_eq!(unique.len(), 70);
}

/// Java's `String.hashCode`, to find a group's offsets partition as Kafka does.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

#[test]
fn committed_offsets_survive_killing_the_coordinator() {
    let home = home();
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "events", "-p", "3", "-r", "3"]);
    produce(&home, "events", 0..40);
    let group = "survivors";
    let first = Consumer::start(
        &home,
        "first",
        ["confluent", &bootstrap, "events", group, "15", "30"],
    );
    wait("15 messages", Duration::from_secs(40), || {
        first.values().len() >= 15
    });
    let first = first.finish();
    assert_eq!(first.values().len(), 15);

    // Kill the broker leading the group's offsets partition.
    let offsets = home.json(&["topics", "describe", "__consumer_offsets"]);
    let partitions = offsets["partitions"].as_array().unwrap();
    let h = java_hash(group);
    let p = if h == i32::MIN { 0 } else { h.abs() } as usize % partitions.len();
    let coordinator = partitions[p]["leader"].as_i64().unwrap();
    home.ok(&["cluster", "stop-broker", &coordinator.to_string(), "--kill"]);

    let second = Consumer::start(
        &home,
        "second",
        ["confluent", &bootstrap, "events", group, "1000", "8"],
    );
    wait("the other 25 messages", Duration::from_secs(60), || {
        second.values().len() >= 25
    });
    let second = second.finish();
    let mut all = first.values();
    all.extend(second.values());
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        all.len(),
        40,
        "nothing read twice after the failover: {all:?}"
    );
    assert_eq!(unique.len(), 40);
}

#[test]
fn groups_cli_shows_lag_and_resets_and_deletes_offsets() {
    let home = home();
    home.up();
    let bootstrap = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "lagging", "-p", "1"]);
    // Record i was written at 2024-01-01T00:00:00Z + i minutes.
    let dated: String = (0..30)
        .map(|i| {
            format!(
                "{{\"key\":\"k{i}\",\"value\":\"v{i}\",\"timestamp\":{}}}\n",
                1_704_067_200_000_i64 + i * 60_000
            )
        })
        .collect();
    home.ok_stdin(&["produce", "lagging", "--input", "jsonl"], &dated);
    let c = Consumer::start(
        &home,
        "c",
        ["confluent", &bootstrap, "lagging", "readers", "12", "30"],
    );
    wait("12 messages", Duration::from_secs(40), || {
        c.values().len() >= 12
    });
    let _ = c.finish();

    let listed = home.json(&["groups", "list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "readers" && g["state"] == "Empty"),
        "{listed}"
    );
    let lag = |home: &Home| home.json(&["groups", "describe", "readers"])["total_lag"].as_i64();
    assert_eq!(lag(&home), Some(18), "produced 30, consumed 12");

    // A dry run shows the plan and changes nothing.
    let plan = home.json(&[
        "groups",
        "reset-offsets",
        "readers",
        "--topic",
        "lagging",
        "--to-earliest",
    ]);
    assert!(
        plan.as_array()
            .unwrap()
            .iter()
            .all(|p| p["new_offset"] == 0),
        "{plan}"
    );
    assert_eq!(lag(&home), Some(18));
    // --execute asks first; off a terminal it needs --yes.
    let reset = [
        "groups",
        "reset-offsets",
        "readers",
        "--topic",
        "lagging",
        "--to-earliest",
        "--execute",
    ];
    let refused = home.kfk(&reset);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--yes"),
        "{refused:?}"
    );
    assert_eq!(lag(&home), Some(18), "a refused reset changes nothing");
    home.ok(&[&reset[..], &["--yes"]].concat());
    assert_eq!(lag(&home), Some(30));
    home.ok(&[
        "groups",
        "reset-offsets",
        "readers",
        "--all-topics",
        "--shift-by",
        "5",
        "--execute",
        "-y",
    ]);
    assert_eq!(lag(&home), Some(25), "from offset 0, 5 forward");
    let reset_to = |how: &[&str]| {
        let mut args = vec!["groups", "reset-offsets", "readers", "--topic", "lagging"];
        args.extend_from_slice(how);
        args.extend(["--execute", "--yes"]);
        home.ok(&args);
        lag(&home)
    };
    assert_eq!(reset_to(&["--to-offset", "10"]), Some(20));
    assert_eq!(reset_to(&["--to-latest"]), Some(0));
    assert_eq!(
        reset_to(&["--shift-by", "-100"]),
        Some(30),
        "clamped at the start"
    );
    assert_eq!(reset_to(&["--to-latest"]), Some(0));
    // --to-datetime: the first record at or after the time.
    assert_eq!(
        reset_to(&["--to-datetime", "2024-01-01T00:10:00Z"]),
        Some(20),
        "record 10 was written at 00:10"
    );
    assert_eq!(
        reset_to(&["--to-datetime", "2024-01-01T00:12:30Z"]),
        Some(17),
        "between records 12 and 13: from 13"
    );
    assert_eq!(
        reset_to(&["--to-datetime", "2000-01-01T00:00:00Z"]),
        Some(30),
        "before every record: the start"
    );
    assert_eq!(
        reset_to(&["--to-datetime", "2099-01-01T00:00:00Z"]),
        Some(0),
        "after every record: the end"
    );
    assert_eq!(reset_to(&["--to-offset", "5"]), Some(25));
    assert_eq!(
        reset_to(&["--to-datetime", "-1h"]),
        Some(0),
        "every record is older than an hour: the end"
    );

    // Deleting asks; without a terminal and without --yes nothing happens.
    assert!(!home.kfk(&["groups", "delete", "readers"]).status.success());
    home.ok(&["groups", "delete", "readers", "--yes"]);
    assert!(!home.ok(&["groups", "list"]).contains("readers"));
    assert!(
        !home
            .kfk(&["groups", "describe", "readers"])
            .status
            .success()
    );

    // Group configs (KIP-848), set before the group exists and kept.
    let session = |home: &Home| {
        let rows = home.json(&["groups", "configs", "planned"]);
        let row = rows
            .as_array()
            .and_then(|r| {
                r.iter()
                    .find(|c| c["name"] == "consumer.session.timeout.ms")
            })
            .cloned()
            .expect("consumer.session.timeout.ms");
        (row["value"].clone(), row["overridden"].clone())
    };
    assert_eq!(
        session(&home),
        (serde_json::json!("45000"), serde_json::json!(false))
    );
    let shown = home.ok(&[
        "groups",
        "configs",
        "planned",
        "--config",
        "consumer.session.timeout.ms=50000",
    ]);
    assert!(shown.contains("50000"), "{shown}");
    assert_eq!(
        session(&home),
        (serde_json::json!("50000"), serde_json::json!(true))
    );
    let refused = home.fails(&[
        "groups",
        "configs",
        "planned",
        "--config",
        "consumer.session.timeout.ms=1000",
    ]);
    assert!(
        refused.contains("must be greater than or equal to group.consumer.min.session.timeout.ms"),
        "{refused}"
    );
    home.ok(&[
        "groups",
        "configs",
        "planned",
        "--delete-config",
        "consumer.session.timeout.ms",
    ]);
    assert_eq!(
        session(&home),
        (serde_json::json!("45000"), serde_json::json!(false))
    );
}

/// Partitions each member of `group` owns, per `kfk groups describe`.
fn members(home: &Home, group: &str) -> Vec<BTreeSet<i64>> {
    // Until the first member joins, the group does not exist.
    let out = home.kfk(&["groups", "describe", group, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    m["assignment"]
                        .as_object()
                        .into_iter()
                        .flat_map(|a| a.values())
                        .flat_map(|ps| ps.as_array().unwrap().iter().map(|p| p.as_i64().unwrap()))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kfk_consume_group_members_split_commit_what_they_print_and_hand_over() {
    members_split_commit_what_they_print_and_hand_over("classic");
}

#[test]
fn kfk_consume_consumer_protocol_members_split_commit_what_they_print_and_hand_over() {
    members_split_commit_what_they_print_and_hand_over("consumer");
}

/// `kfk consume --group` members under `--group-protocol PROTOCOL`.
fn members_split_commit_what_they_print_and_hand_over(protocol: &str) {
    let home = home();
    home.up();
    home.ok(&["topics", "create", "work", "-p", "3"]);
    produce(&home, "work", 0..600);

    // --max-messages 400 commits those 400, not what was prefetched.
    let out = home.ok(&[
        "consume",
        "work",
        "--group",
        "batch",
        "--group-protocol",
        protocol,
        "--from-beginning",
        "-n",
        "400",
    ]);
    assert_eq!(out.lines().count(), 400);
    let committed: i64 = home.json(&["groups", "describe", "batch"])["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["current_offset"].as_i64())
        .sum();
    assert_eq!(committed, 400);
    // The next member resumes there, and --exit-at-end works with --group.
    let out = home.ok(&[
        "consume",
        "work",
        "--group",
        "batch",
        "--group-protocol",
        protocol,
        "--from-beginning",
        "-e",
    ]);
    assert_eq!(out.lines().count(), 200);
    let kind = home.json(&["groups", "describe", "batch"])["group_type"].clone();
    assert_eq!(
        kind, protocol,
        "the group has the protocol its members used"
    );

    // Two long-running members split the partitions; stopping one hands its
    // partitions to the other.
    let spawn = |name: &str| {
        let mut cmd = std::process::Command::new(kfk_e2e::bin("kfk"));
        home.env(&mut cmd);
        cmd.args([
            "consume",
            "work",
            "--group",
            "pair",
            "--group-protocol",
            protocol,
            "--from-beginning",
        ])
        .stdout(std::fs::File::create(home.path().join(name)).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    };
    let mut a = spawn("a.out");
    wait("a to own every partition", Duration::from_secs(30), || {
        members(&home, "pair").first().is_some_and(|m| m.len() == 3)
    });
    let mut b = spawn("b.out");
    wait(
        "a and b to split the partitions",
        Duration::from_secs(40),
        || {
            let m = members(&home, "pair");
            m.len() == 2
                && m.iter().all(|s| !s.is_empty())
                && m[0].is_disjoint(&m[1])
                && m[0].len() + m[1].len() == 3
        },
    );
    std::process::Command::new("kill")
        .args(["-INT", &b.id().to_string()])
        .status()
        .unwrap();
    assert!(b.wait().unwrap().success());
    wait("a to take everything over", Duration::from_secs(30), || {
        let m = members(&home, "pair");
        m.len() == 1 && m[0].len() == 3
    });
    wait(
        "all 600 messages read once",
        Duration::from_secs(30),
        || {
            let read = |f: &str| std::fs::read_to_string(home.path().join(f)).unwrap_or_default();
            read("a.out").lines().count() + read("b.out").lines().count() >= 600
        },
    );
    let _ = a.kill();
    let _ = a.wait();
    let read = |f: &str| std::fs::read_to_string(home.path().join(f)).unwrap_or_default();
    let all = read("a.out") + &read("b.out");
    let values: Vec<&str> = all.lines().collect();
    let unique: BTreeSet<&&str> = values.iter().collect();
    assert_eq!(values.len(), 600, "every message once");
    assert_eq!(unique.len(), 600);
}

#[test]
fn the_offsets_topic_is_compacted_and_survives_a_coordinator_failover() {
    let home = home()
        .with_env("KFKD_OFFSETS_TOPIC_SEGMENT_BYTES", "30000")
        .with_env("KFKD_LOG_CLEANER_BACKOFF_MS", "200");
    let base = home.up_cluster(3);
    let bootstrap = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "busy", "-p", "3", "-r", "3"]);
    produce(&home, "busy", 0..3000);
    let out = kfk_e2e::run(
        python("commit_loop.py").args([&bootstrap, "busy", "committers", "3", "600"]),
        Duration::from_secs(120),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("DONE"));

    let offsets = home.json(&["topics", "describe", "__consumer_offsets"]);
    let partitions = offsets["partitions"].as_array().unwrap();
    let h = java_hash("committers");
    let p = &partitions[if h == i32::MIN { 0 } else { h.abs() } as usize % partitions.len()];
    assert!(
        offsets["configs"]["cleanup.policy"] == "compact",
        "{}",
        offsets["configs"]
    );
    // 600 commits of 3 offsets fill several 30 kB segments; the cleaner
    // leaves the latest record of each key in the closed ones.
    let index = p["partition"].as_u64().unwrap() as usize;
    let leader = p["leader"].as_i64().unwrap() as usize;
    let stored = || {
        kfk_e2e::log_bytes(
            &home.broker_data_dirs()[leader - 1],
            &format!("__consumer_offsets-{index}"),
        )
        .len()
    };
    // 1,800 offset records were written, some 80 bytes each.
    let written = offsets["partitions"][index]["latest_offset"]
        .as_i64()
        .unwrap();
    assert!(written >= 1800, "{written} records");
    wait(
        "the offsets partition to be cleaned",
        Duration::from_secs(30),
        || {
            let offsets = home.json(&["topics", "describe", "__consumer_offsets"]);
            offsets["partitions"][index]["cleaning"]["last_clean_ms"].is_i64() && stored() < 32_000
        },
    );
    let committed = |home: &Home| -> Vec<i64> {
        home.json(&["groups", "describe", "committers"])["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["current_offset"].as_i64().unwrap_or(-1))
            .collect()
    };
    assert_eq!(committed(&home), vec![600, 600, 600]);

    // A new coordinator rebuilds the group from the trimmed partition.
    let coordinator = p["leader"].as_i64().unwrap();
    home.ok(&["cluster", "stop-broker", &coordinator.to_string(), "--kill"]);
    wait(
        "another coordinator with the same offsets",
        Duration::from_secs(30),
        || {
            let out = home.kfk(&["groups", "describe", "committers", "-o", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            v["coordinator"].as_i64().is_some_and(|c| c != coordinator)
                && v["partitions"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().all(|p| p["current_offset"] == 600))
        },
    );
}

/// `kfk groups describe` while a partition of the group's topic is offline:
/// the other rows are shown with their lag; that row says it is offline.
#[test]
fn describe_shows_a_group_whose_partition_is_offline() {
    let home = home();
    home.up_cluster(3);
    home.ok(&["topics", "create", "spread", "-p", "3", "-r", "1"]);
    let input: String = (0..30).map(|i| format!("k{i}:v{i}\n")).collect();
    home.ok_stdin(&["produce", "spread", "-K", ":"], &input);
    home.ok(&[
        "consume",
        "spread",
        "--group",
        "readers",
        "--from-beginning",
        "--max-messages",
        "30",
    ]);
    // Ten more, unread, so the lag of each online partition is known and > 0.
    let more: String = (30..60).map(|i| format!("k{i}:v{i}\n")).collect();
    home.ok_stdin(&["produce", "spread", "-K", ":"], &more);
    let before = home.json(&["groups", "describe", "readers"]);
    assert_eq!(before["total_lag"], 30, "{before}");

    // Stop the broker leading one partition that is not the coordinator's.
    let topic = home.json(&["topics", "describe", "spread"]);
    let coordinator = before["coordinator"].as_i64().unwrap();
    let (victim_partition, victim) = topic["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap(),
                p["leader"].as_i64().unwrap(),
            )
        })
        .find(|(_, leader)| *leader != coordinator)
        .unwrap();
    home.ok(&["cluster", "stop-broker", &victim.to_string()]);
    let view = home.wait_json(
        &["groups", "describe", "readers"],
        Duration::from_secs(20),
        "the partition to show as offline",
        |v| {
            v["partitions"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["offline"] == true))
        },
    );
    let rows = view["partitions"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{view}");
    for row in rows {
        let p = row["partition"].as_i64().unwrap();
        if p == victim_partition {
            assert_eq!(row["offline"], true, "{row}");
            assert!(row["lag"].is_null(), "{row}");
            assert!(row["current_offset"].as_i64().unwrap() > 0, "{row}");
        } else {
            assert_eq!(row["offline"], false, "{row}");
            assert!(row["lag"].as_i64().unwrap() > 0, "{row}");
        }
    }
    let lag_online: i64 = rows.iter().filter_map(|r| r["lag"].as_i64()).sum();
    assert_eq!(view["total_lag"].as_i64(), Some(lag_online));
    assert!(
        lag_online < 30,
        "the offline partition's lag is not counted"
    );
    let table = home.ok(&["groups", "describe", "readers"]);
    assert!(
        table.contains("offline partition(s), lag unknown"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| {
            l.split_whitespace().take(2).collect::<Vec<_>>()
                == ["spread", &victim_partition.to_string()]
        })
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("offline"), "{row}");
}
