//! Apache Kafka's own command-line tools (4.4, from Maven Central) against
//! kfkd, typed as the seeds type them; each test reads the tools' output as
//! a user would.

use kfk_e2e::kafka_tools::KafkaTools;
use kfk_e2e::{KfkHome as Home, cluster_bootstrap, wait_until};
use std::time::Duration;

/// `kafka-topics --create --topic TOPIC ARGS...`, checked.
fn create_topic(kafka: &mut KafkaTools, bs: &str, topic: &str, args: &[&str]) -> String {
    let mut all = vec!["--bootstrap-server", bs, "--create", "--topic", topic];
    all.extend_from_slice(args);
    kafka.ok("kafka-topics", &all)
}

/// The lines of `out` that mention `needle`.
fn lines_with<'a>(out: &'a str, needle: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn kafka_topics_creates_lists_describes_alters_and_deletes() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    let mut kafka = KafkaTools::start();
    let topics = |kafka: &mut KafkaTools, args: &[&str]| {
        let mut all = vec!["--bootstrap-server", bs.as_str()];
        all.extend_from_slice(args);
        kafka.run("kafka-topics", &all)
    };

    let out = topics(
        &mut kafka,
        &[
            "--create",
            "--topic",
            "myorders",
            "--partitions",
            "3",
            "--replication-factor",
            "2",
        ],
    )
    .ok();
    assert_eq!(out.trim(), "Created topic myorders.");
    // A second create fails and says why; with --if-not-exists it is quiet.
    let again = topics(&mut kafka, &["--create", "--topic", "myorders"]);
    assert_eq!(again.status, 1, "{again}");
    assert!(
        again.stdout.contains("Topic 'myorders' already exists."),
        "{again}"
    );
    let quiet = topics(
        &mut kafka,
        &["--create", "--if-not-exists", "--topic", "myorders"],
    )
    .ok();
    assert_eq!(quiet, "");
    topics(&mut kafka, &["--create", "--topic", "other"]).ok();

    let list = topics(&mut kafka, &["--list"]).ok();
    let names: Vec<&str> = list.lines().collect();
    assert!(
        names.contains(&"myorders") && names.contains(&"other"),
        "{list}"
    );

    // Describe: what kfk's own describe says, in Kafka's layout.
    let described = topics(&mut kafka, &["--describe", "--topic", "myorders"]).ok();
    assert!(
        described.contains("Topic: myorders\tTopicId: ")
            && described.contains("PartitionCount: 3\tReplicationFactor: 2"),
        "{described}"
    );
    let ours = home.json(&["topics", "describe", "myorders"]);
    for p in ours["partitions"].as_array().expect("partitions") {
        let replicas: Vec<String> = p["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["broker"].to_string())
            .collect();
        let line = format!(
            "Partition: {}\tLeader: {}\tReplicas: {}\tIsr: ",
            p["partition"],
            p["leader"],
            replicas.join(",")
        );
        assert!(described.contains(&line), "{line} in\n{described}");
    }

    // A topic wider than one DescribeTopicPartitions page (2,000) comes whole.
    topics(
        &mut kafka,
        &[
            "--create",
            "--topic",
            "wide",
            "--partitions",
            "2500",
            "--replication-factor",
            "1",
        ],
    )
    .ok();
    let wide = topics(&mut kafka, &["--describe", "--topic", "wide"]).ok();
    assert_eq!(lines_with(&wide, "\tPartition: ").len(), 2500);
    assert!(wide.contains("\tPartition: 2499\t"), "the last page");
    topics(&mut kafka, &["--delete", "--topic", "wide"]).ok();

    // Alter the partition count.
    topics(
        &mut kafka,
        &["--alter", "--topic", "myorders", "--partitions", "4"],
    )
    .ok();
    let described = topics(&mut kafka, &["--describe", "--topic", "myorders"]).ok();
    assert!(described.contains("PartitionCount: 4"), "{described}");
    let shrink = topics(
        &mut kafka,
        &["--alter", "--topic", "myorders", "--partitions", "2"],
    );
    assert_ne!(shrink.status, 0, "{shrink}");

    // Nothing under-replicated until a broker stops; then its partitions are.
    let none = topics(&mut kafka, &["--describe", "--under-replicated-partitions"]).ok();
    assert_eq!(none.trim(), "", "{none}");
    home.ok(&["cluster", "stop-broker", "3"]);
    let mut under = String::new();
    wait_until(
        Duration::from_secs(30),
        "partitions on broker 3 to be under-replicated",
        || {
            under = topics(&mut kafka, &["--describe", "--under-replicated-partitions"]).ok();
            !under.trim().is_empty()
        },
    );
    for line in under.lines() {
        assert!(line.contains("Replicas: ") && line.contains('3'), "{under}");
        let isr = line.split("Isr: ").nth(1).unwrap_or_default();
        assert!(!isr.split([',', '\t']).any(|b| b == "3"), "{under}");
    }
    // myorders has 4 partitions at RF 2 over 3 brokers: some live on 3.
    assert!(!lines_with(&under, "myorders").is_empty(), "{under}");

    let deleted = topics(&mut kafka, &["--delete", "--topic", "other"]);
    assert_eq!(deleted.status, 0, "{deleted}");
    wait_until(Duration::from_secs(10), "other to be gone", || {
        let list = topics(&mut kafka, &["--list"]).ok();
        !list.lines().any(|l| l == "other")
    });
}

/// The `GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG` columns of
/// `kafka-consumer-groups --describe`, per partition.
fn group_offsets(described: &str, topic: &str) -> Vec<(i32, String, String, String)> {
    let mut rows: Vec<(i32, String, String, String)> = described
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.len() >= 6 && cols[1] == topic)
        .map(|cols| {
            (
                cols[2].parse().expect("partition"),
                cols[3].to_string(),
                cols[4].to_string(),
                cols[5].to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn console_producer_consumer_and_consumer_groups() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let bs = bs.as_str();
    let mut kafka = KafkaTools::start();
    create_topic(&mut kafka, bs, "orders", &["--partitions", "1"]);

    // Keys as the seeds send them: parse.key with a separator.
    let sent = kafka.run_with_input(
        "kafka-console-producer",
        &[
            "--bootstrap-server",
            bs,
            "--topic",
            "orders",
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ],
        b"k1:first order\nk2:second order\nk3:third order\n",
    );
    assert_eq!(sent.status, 0, "{sent}");
    let ours = home.ok(&[
        "consume",
        "orders",
        "--from-beginning",
        "-e",
        "-q",
        "-f",
        "%k=%s\n",
    ]);
    assert_eq!(ours, "k1=first order\nk2=second order\nk3=third order\n");

    // --max-messages stops after two, in order, with the keys printed.
    let read = kafka.run(
        "kafka-console-consumer",
        &[
            "--bootstrap-server",
            bs,
            "--topic",
            "orders",
            "--from-beginning",
            "--max-messages",
            "2",
            "--formatter-property",
            "print.key=true",
            "--group",
            "readers",
            "--timeout-ms",
            "30000",
        ],
    );
    assert_eq!(read.status, 0, "{read}");
    assert_eq!(read.stdout, "k1\tfirst order\nk2\tsecond order\n", "{read}");
    assert!(
        read.stderr.contains("Processed a total of 2 messages"),
        "{read}"
    );

    let list = kafka.ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bs, "--list"],
    );
    assert!(list.lines().any(|l| l.trim() == "readers"), "{list}");
    // The console consumer commits what it printed when it stops: 2 of 3.
    let describe = ["--bootstrap-server", bs, "--describe", "--group", "readers"];
    let described = kafka.ok("kafka-consumer-groups", &describe);
    assert!(
        described.contains("CURRENT-OFFSET") && described.contains("LOG-END-OFFSET"),
        "{described}"
    );
    let rows = group_offsets(&described, "orders");
    assert_eq!(rows.len(), 1, "{described}");
    let (_, current, end, lag) = &rows[0];
    assert_eq!(end, "3", "{described}");
    assert_eq!(
        current.parse::<i64>().unwrap() + lag.parse::<i64>().unwrap(),
        3,
        "{described}"
    );

    // Reset to the earliest offset: everything is lag again.
    let reset = kafka.ok(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bs,
            "--reset-offsets",
            "--group",
            "readers",
            "--topic",
            "orders",
            "--to-earliest",
            "--execute",
        ],
    );
    assert!(reset.contains("NEW-OFFSET"), "{reset}");
    let rows = group_offsets(&kafka.ok("kafka-consumer-groups", &describe), "orders");
    assert_eq!(rows[0].1, "0");
    assert_eq!(rows[0].3, "3");
    let ours = home.json(&["groups", "describe", "readers"]);
    assert_eq!(ours["total_lag"], 3, "{ours}");

    let deleted = kafka.ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bs, "--delete", "--group", "readers"],
    );
    assert!(
        deleted.contains("Deletion of requested consumer groups ('readers') was successful."),
        "{deleted}"
    );
    let list = kafka.ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bs, "--list"],
    );
    assert!(!list.lines().any(|l| l.trim() == "readers"), "{list}");
}

/// KIP-848 groups as Kafka's tools see them: the console consumer with
/// `group.protocol=consumer`, and kafka-consumer-groups listing by type and
/// describing a live member's epoch and assignment.
#[test]
fn console_consumer_and_consumer_groups_with_the_consumer_group_protocol() {
    let home = Home::new()
        .with_env("KFKD_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", "500")
        .with_env("KFKD_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS", "500");
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let bs = bs.as_str();
    let mut kafka = KafkaTools::start();
    create_topic(&mut kafka, bs, "shipments", &["--partitions", "2"]);
    for p in ["0", "1"] {
        home.ok_stdin(&["produce", "shipments", "-p", p], &format!("a{p}\nb{p}\n"));
    }
    let read = kafka.run(
        "kafka-console-consumer",
        &[
            "--bootstrap-server",
            bs,
            "--topic",
            "shipments",
            "--from-beginning",
            "--max-messages",
            "4",
            "--group",
            "shippers",
            "--command-property",
            "group.protocol=consumer",
            "--timeout-ms",
            "30000",
        ],
    );
    assert_eq!(read.status, 0, "{read}");
    let mut values: Vec<&str> = read.stdout.lines().collect();
    values.sort_unstable();
    assert_eq!(values, ["a0", "a1", "b0", "b1"], "{read}");

    let listed = kafka.ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bs, "--list", "--type"],
    );
    let row = lines_with(&listed, "shippers");
    assert_eq!(row.len(), 1, "{listed}");
    assert!(row[0].contains("Consumer"), "{listed}");
    let classic = kafka.ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bs, "--list", "--type", "classic"],
    );
    assert!(!classic.contains("shippers"), "{classic}");
    let state = kafka.ok(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bs,
            "--describe",
            "--group",
            "shippers",
            "--state",
        ],
    );
    let row = lines_with(&state, "shippers");
    assert!(
        row.iter()
            .any(|l| l.contains("uniform") && l.contains("Empty")),
        "{state}"
    );

    // A live member of kfk's own, with the same protocol.
    let mut cmd = std::process::Command::new(kfk_e2e::bin("kfk"));
    home.env(&mut cmd);
    cmd.args([
        "consume",
        "shipments",
        "-g",
        "shippers",
        "--group-protocol",
        "consumer",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut member = kfk_e2e::Spawned::start(&mut cmd, &dir.path().join("member.log"));
    let args = [
        "--bootstrap-server",
        bs,
        "--describe",
        "--group",
        "shippers",
        "--members",
        "--verbose",
    ];
    let mut members = String::new();
    wait_until(Duration::from_secs(30), "a stable member", || {
        members = kafka.ok("kafka-consumer-groups", &args);
        lines_with(&members, "shippers")
            .iter()
            .any(|l| l.contains("shipments:0,1"))
    });
    assert!(
        members.contains("CURRENT-EPOCH") && members.contains("TARGET-ASSIGNMENT"),
        "{members}"
    );
    let offsets = kafka.ok(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bs,
            "--describe",
            "--group",
            "shippers",
        ],
    );
    let rows = group_offsets(&offsets, "shipments");
    assert_eq!(
        rows,
        [
            (0, "2".into(), "2".into(), "0".into()),
            (1, "2".into(), "2".into(), "0".into())
        ],
        "{offsets}"
    );
    member.kill9();
}

/// `kfk topics describe`'s replicas of each partition of `topic`.
fn replicas(home: &Home, topic: &str) -> Vec<Vec<i64>> {
    kfk_e2e::replica_brokers(&home.json(&["topics", "describe", topic]))
}

#[test]
fn kafka_reassign_partitions_generates_executes_verifies_and_cancels() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    let bs = bs.as_str();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let mut kafka = KafkaTools::start();
    create_topic(
        &mut kafka,
        bs,
        "myorders",
        &["--replica-assignment", "1,2,3"],
    );
    assert_eq!(replicas(&home, "myorders"), [vec![1], vec![2], vec![3]]);

    // --generate shows the current assignment and proposes one over the list.
    let to_move = file(
        "topics.json",
        r#"{"version":1,"topics":[{"topic":"myorders"}]}"#,
    );
    let generated = kafka.ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bs,
            "--topics-to-move-json-file",
            &to_move,
            "--broker-list",
            "1,2",
            "--generate",
        ],
    );
    let json_after = |heading: &str| -> serde_json::Value {
        let at = generated
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} in {generated}"));
        let line = generated[at..].lines().nth(1).expect("the JSON line");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let current = json_after("Current partition replica assignment");
    let proposed = json_after("Proposed partition reassignment configuration");
    let by_partition = |v: &serde_json::Value| -> Vec<(i64, Vec<i64>)> {
        let mut all: Vec<(i64, Vec<i64>)> = v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let rs = p["replicas"].as_array().unwrap();
                (
                    p["partition"].as_i64().unwrap(),
                    rs.iter().map(|r| r.as_i64().unwrap()).collect(),
                )
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(
        by_partition(&current),
        [(0, vec![1]), (1, vec![2]), (2, vec![3])]
    );
    let proposed = by_partition(&proposed);
    assert_eq!(proposed.len(), 3);
    assert!(
        proposed
            .iter()
            .all(|(_, rs)| rs.iter().all(|b| *b == 1 || *b == 2)),
        "{generated}"
    );

    // The seed's file, executed and verified.
    let seed = file(
        "increase_replication.json",
        r#"{"version":1,
"partitions":[
{"topic":"myorders","partition":0,"replicas":[1,2]},
{"topic":"myorders","partition":1,"replicas":[1,2]},
{"topic":"myorders","partition":2,"replicas":[2]}
]
}"#,
    );
    let executed = kafka.ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bs,
            "--reassignment-json-file",
            &seed,
            "--execute",
        ],
    );
    assert!(
        executed.contains(
            "Successfully started partition reassignments for myorders-0,myorders-1,myorders-2"
        ),
        "{executed}"
    );
    let verify = [
        "--bootstrap-server",
        bs,
        "--reassignment-json-file",
        seed.as_str(),
        "--verify",
    ];
    let mut verified = String::new();
    wait_until(
        Duration::from_secs(30),
        "the reassignment to complete",
        || {
            verified = kafka.ok("kafka-reassign-partitions", &verify);
            verified.matches("is completed").count() == 3
        },
    );
    for p in 0..3 {
        assert!(
            verified.contains(&format!(
                "Reassignment of partition myorders-{p} is completed."
            )),
            "{verified}"
        );
    }
    assert_eq!(
        replicas(&home, "myorders"),
        [vec![1, 2], vec![1, 2], vec![2]]
    );

    // A move held back by a 1 byte/s throttle stays in flight until cancelled.
    let lines: String = (0..2000)
        .map(|i| format!("record {i:05} padding padding\n"))
        .collect();
    home.ok_stdin(&["produce", "myorders", "-p", "2"], &lines);
    let slow = file(
        "slow.json",
        r#"{"version":1,"partitions":[{"topic":"myorders","partition":2,"replicas":[2,3]}]}"#,
    );
    let executed = kafka.ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bs,
            "--reassignment-json-file",
            &slow,
            "--execute",
            "--throttle",
            "1",
        ],
    );
    assert!(
        executed.contains("The inter-broker throttle limit was set to 1 B/s"),
        "{executed}"
    );
    let in_flight = kafka.ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bs,
            "--reassignment-json-file",
            &slow,
            "--verify",
        ],
    );
    assert!(
        in_flight.contains("Reassignment of partition myorders-2 is still in progress."),
        "{in_flight}"
    );
    let cancelled = kafka.ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bs,
            "--reassignment-json-file",
            &slow,
            "--cancel",
        ],
    );
    assert!(
        cancelled.contains("Successfully cancelled partition reassignment for: myorders-2"),
        "{cancelled}"
    );
    assert_eq!(replicas(&home, "myorders")[2], vec![2]);
    let out = home.ok(&[
        "consume",
        "myorders",
        "-p",
        "2",
        "--from-beginning",
        "-e",
        "-q",
    ]);
    assert_eq!(out.lines().count(), 2000);
}

#[test]
fn kafka_leader_election_restores_preferred_leaders() {
    let home = Home::new().with_env("KFKD_AUTO_LEADER_REBALANCE_ENABLE", "false");
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    let bs = bs.as_str();
    let mut kafka = KafkaTools::start();
    create_topic(
        &mut kafka,
        bs,
        "led",
        &["--replica-assignment", "1:2,2:3,3:1"],
    );
    let leaders = |home: &Home| -> Vec<i64> {
        home.json(&["topics", "describe", "led"])["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["leader"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(leaders(&home), [1, 2, 3]);
    home.ok(&["cluster", "stop-broker", "1"]);
    home.ok(&["cluster", "start-broker", "1"]);
    wait_until(Duration::from_secs(30), "broker 1 back in sync", || {
        home.json(&["topics", "describe", "led"])["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| {
                p["replicas"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().all(|r| r["in_sync"] == true))
            })
    });
    assert_eq!(leaders(&home)[0], 2, "partition 0 failed over to 2");
    let elected = kafka.ok(
        "kafka-leader-election",
        &[
            "--bootstrap-server",
            bs,
            "--election-type",
            "preferred",
            "--all-topic-partitions",
        ],
    );
    assert!(
        elected.contains("Successfully completed leader election (PREFERRED) for partitions led-0"),
        "{elected}"
    );
    assert_eq!(leaders(&home), [1, 2, 3]);
    // Nothing left to elect: Kafka says so.
    let again = kafka.run(
        "kafka-leader-election",
        &[
            "--bootstrap-server",
            bs,
            "--election-type",
            "preferred",
            "--topic",
            "led",
            "--partition",
            "0",
        ],
    );
    assert!(
        again
            .stdout
            .contains("Valid replica already elected for partitions led-0"),
        "{again}"
    );
}

#[test]
fn kafka_configs_get_offsets_log_dirs_and_metadata_quorum() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    let bs = bs.as_str();
    let mut kafka = KafkaTools::start();
    create_topic(&mut kafka, bs, "cfg", &["--replica-assignment", "1:2,2:3"]);
    let configs = |kafka: &mut KafkaTools, args: &[&str]| {
        let mut all = vec!["--bootstrap-server", bs];
        all.extend_from_slice(args);
        kafka.ok("kafka-configs", &all)
    };
    // A change is committed when the tool says so; the broker a describe
    // lands on may apply it a moment later (as in Kafka).
    let settled = |kafka: &mut KafkaTools, args: &[&str], shows: &dyn Fn(&str) -> bool| {
        let mut described = String::new();
        wait_until(
            Duration::from_secs(10),
            "the change to be described",
            || {
                described = configs(kafka, args);
                shows(&described)
            },
        );
        described
    };

    // Topic configs: added, shown with their source, seen by kfk, deleted.
    let topic = ["--entity-type", "topics", "--entity-name", "cfg"];
    let out = configs(
        &mut kafka,
        &[
            &topic[..],
            &[
                "--alter",
                "--add-config",
                "retention.ms=86400000,max.message.bytes=65536",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.trim(), "Completed updating config for topic cfg.");
    let describe_topic = [&topic[..], &["--describe"]].concat();
    let described = settled(&mut kafka, &describe_topic, &|d| d.contains("retention.ms"));
    assert!(
        described.starts_with("Dynamic configs for topic cfg are:"),
        "{described}"
    );
    assert!(
        described.contains(
            "retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}"
        ),
        "{described}"
    );
    assert!(described.contains("max.message.bytes=65536"), "{described}");
    let ours = home.ok(&["topics", "describe", "cfg"]);
    assert!(
        ours.contains("retention.ms") && ours.contains("86400000"),
        "{ours}"
    );
    configs(
        &mut kafka,
        &[&topic[..], &["--alter", "--delete-config", "retention.ms"]].concat(),
    );
    let described = settled(&mut kafka, &describe_topic, &|d| {
        !d.contains("retention.ms")
    });
    assert!(described.contains("max.message.bytes=65536"), "{described}");
    // A list value in kafka-configs' brackets: the topic becomes compacted
    // and deleted by retention both, and kfk shows its cleaning state.
    configs(
        &mut kafka,
        &[
            &topic[..],
            &["--alter", "--add-config", "cleanup.policy=[compact,delete]"],
        ]
        .concat(),
    );
    let described = settled(&mut kafka, &describe_topic, &|d| {
        d.contains("cleanup.policy=compact,delete")
    });
    assert!(
        described.contains("synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete"),
        "{described}"
    );
    let ours = home.ok(&["topics", "describe", "cfg"]);
    assert!(
        ours.contains("DIRTY") && ours.contains("LAST-CLEAN"),
        "{ours}"
    );
    configs(
        &mut kafka,
        &[
            &topic[..],
            &["--alter", "--delete-config", "cleanup.policy"],
        ]
        .concat(),
    );
    settled(&mut kafka, &describe_topic, &|d| {
        !d.contains("cleanup.policy")
    });
    // Every broker applies it (keyless records follow): metadata reaches
    // the others a moment after the one described.
    std::thread::sleep(Duration::from_millis(500));

    // Broker configs: one broker, then the cluster-wide default.
    let out = configs(
        &mut kafka,
        &[
            "--entity-type",
            "brokers",
            "--entity-name",
            "2",
            "--alter",
            "--add-config",
            "follower.replication.throttled.rate=1048576",
        ],
    );
    assert_eq!(out.trim(), "Completed updating config for broker 2.");
    let described = settled(
        &mut kafka,
        &[
            "--entity-type",
            "brokers",
            "--entity-name",
            "2",
            "--describe",
        ],
        &|d| d.contains("follower.replication.throttled.rate"),
    );
    assert!(
        described.contains("follower.replication.throttled.rate=1048576 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:follower.replication.throttled.rate=1048576}"),
        "{described}"
    );
    let out = configs(
        &mut kafka,
        &[
            "--entity-type",
            "brokers",
            "--entity-default",
            "--alter",
            "--add-config",
            "leader.replication.throttled.rate=2097152",
        ],
    );
    assert_eq!(
        out.trim(),
        "Completed updating default config for brokers in the cluster."
    );
    let described = settled(
        &mut kafka,
        &["--entity-type", "brokers", "--entity-default", "--describe"],
        &|d| d.contains("leader.replication.throttled.rate"),
    );
    assert!(
        described.contains("leader.replication.throttled.rate=2097152"),
        "{described}"
    );
    // A static setting cannot change while running, and Kafka's tool says why.
    let refused = kafka.run(
        "kafka-configs",
        &[
            "--bootstrap-server",
            bs,
            "--entity-type",
            "brokers",
            "--entity-name",
            "1",
            "--alter",
            "--add-config",
            "num.io.threads=4",
        ],
    );
    assert_ne!(refused.status, 0, "{refused}");
    assert!(
        refused.stdout.contains("num.io.threads") || refused.stderr.contains("num.io.threads"),
        "{refused}"
    );

    // Offsets: the end, the start, and the first at or after a time in the middle.
    home.ok_stdin(&["produce", "cfg", "-p", "0"], "a\nb\nc\n");
    std::thread::sleep(Duration::from_millis(50));
    let middle = kfk_e2e::now_ms();
    std::thread::sleep(Duration::from_millis(50));
    home.ok_stdin(&["produce", "cfg", "-p", "0"], "d\ne\n");
    home.ok_stdin(&["produce", "cfg", "-p", "1"], "x\n");
    let offsets = |kafka: &mut KafkaTools, time: &str| {
        kafka.ok(
            "kafka-get-offsets",
            &["--bootstrap-server", bs, "--topic", "cfg", "--time", time],
        )
    };
    assert_eq!(offsets(&mut kafka, "-1"), "cfg:0:5\ncfg:1:1\n");
    assert_eq!(offsets(&mut kafka, "-2"), "cfg:0:0\ncfg:1:0\n");
    let at_middle = offsets(&mut kafka, &middle.to_string());
    assert!(at_middle.lines().any(|l| l == "cfg:0:3"), "{at_middle}");

    // Delete records below offset 2 of cfg-0 (replicas 1 and 2): the low
    // watermark moves on both, so it holds when the leader stops.
    let plan = std::env::temp_dir().join(format!("delete-{}.json", std::process::id()));
    std::fs::write(
        &plan,
        r#"{"partitions":[{"topic":"cfg","partition":0,"offset":2}],"version":1}"#,
    )
    .unwrap();
    let deleted = kafka.ok(
        "kafka-delete-records",
        &[
            "--bootstrap-server",
            bs,
            "--offset-json-file",
            &plan.display().to_string(),
        ],
    );
    std::fs::remove_file(&plan).ok();
    assert!(
        deleted.contains("partition: cfg-0\tlow_watermark: 2"),
        "{deleted}"
    );
    assert_eq!(offsets(&mut kafka, "-2"), "cfg:0:2\ncfg:1:0\n");
    let rest = home.ok(&["consume", "cfg", "-p", "0", "--from-beginning", "-e", "-q"]);
    assert_eq!(rest, "c\nd\ne\n");
    home.ok(&["cluster", "stop-broker", "1", "--kill"]);
    wait_until(Duration::from_secs(30), "broker 2 to lead cfg-0", || {
        home.json(&["topics", "describe", "cfg"])["partitions"][0]["leader"] == 2
    });
    assert_eq!(offsets(&mut kafka, "-2"), "cfg:0:2\ncfg:1:0\n");
    let rest = home.ok(&["consume", "cfg", "-p", "0", "--from-beginning", "-e", "-q"]);
    assert_eq!(rest, "c\nd\ne\n");
    home.ok(&["cluster", "start-broker", "1"]);

    // Log dirs: each broker reports its directory and the replicas in it.
    let dirs = kafka.ok(
        "kafka-log-dirs",
        &[
            "--bootstrap-server",
            bs,
            "--describe",
            "--topic-list",
            "cfg",
        ],
    );
    let json = dirs.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {dirs}"));
    let mut held: Vec<(i64, String, i64)> = Vec::new();
    for b in v["brokers"].as_array().unwrap() {
        for d in b["logDirs"].as_array().unwrap() {
            let dir = d["logDir"].as_str().unwrap();
            assert!(
                dir.ends_with(&format!("broker-{}", b["broker"])),
                "{dir} for broker {}",
                b["broker"]
            );
            for p in d["partitions"].as_array().unwrap() {
                held.push((
                    b["broker"].as_i64().unwrap(),
                    p["partition"].as_str().unwrap().to_string(),
                    p["size"].as_i64().unwrap(),
                ));
            }
        }
    }
    held.sort();
    let names: Vec<(i64, &str)> = held.iter().map(|(b, p, _)| (*b, p.as_str())).collect();
    assert_eq!(
        names,
        [(1, "cfg-0"), (2, "cfg-0"), (2, "cfg-1"), (3, "cfg-1")],
        "{dirs}"
    );
    assert!(held.iter().all(|(_, _, size)| *size > 0), "{dirs}");

    // The metadata quorum: its leader is kfk's controller, three voters.
    let status = kafka.ok(
        "kafka-metadata-quorum",
        &["--bootstrap-server", bs, "describe", "--status"],
    );
    let field = |name: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim_start_matches(':').trim().to_string())
            .unwrap_or_else(|| panic!("{name} in {status}"))
    };
    let controller = home.json(&["cluster", "status"])["controller"].clone();
    assert_eq!(field("LeaderId"), controller.to_string(), "{status}");
    let voters = field("CurrentVoters");
    for id in 1..=3 {
        assert!(voters.contains(&format!("\"id\": {id}")), "{voters}");
    }
    let replication = kafka.ok(
        "kafka-metadata-quorum",
        &["--bootstrap-server", bs, "describe", "--replication"],
    );
    let rows: Vec<&str> = replication.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{replication}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("Leader")).count(),
        1,
        "{replication}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains("Follower")).count(),
        2,
        "{replication}"
    );
}

#[test]
fn kafka_producer_and_consumer_perf_tests() {
    let home = Home::new();
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let bs = bs.as_str();
    let mut kafka = KafkaTools::start();
    create_topic(&mut kafka, bs, "perf", &["--partitions", "3"]);
    let produced = kafka.ok(
        "kafka-producer-perf-test",
        &[
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            &format!("bootstrap.servers={bs}"),
            "acks=all",
        ],
    );
    let last = produced.lines().last().unwrap_or_default();
    assert!(last.starts_with("20000 records sent, "), "{produced}");
    assert!(last.contains("99.9th"), "{produced}");
    let consumed = kafka.ok(
        "kafka-consumer-perf-test",
        &[
            "--bootstrap-server",
            bs,
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--timeout",
            "30000",
        ],
    );
    let mut lines = consumed.lines().filter(|l| l.contains(", "));
    let header: Vec<&str> = lines.next().unwrap_or_default().split(", ").collect();
    let values: Vec<&str> = lines.next().unwrap_or_default().split(", ").collect();
    let column = |name: &str| -> &str {
        let i = header
            .iter()
            .position(|h| h.trim() == name)
            .unwrap_or_else(|| panic!("{name} in {consumed}"));
        values[i].trim()
    };
    assert_eq!(column("data.consumed.in.nMsg"), "20000", "{consumed}");
    let mb: f64 = column("data.consumed.in.MB").parse().unwrap();
    assert!(
        (mb - 20000.0 * 100.0 / 1048576.0).abs() < 0.01,
        "{consumed}"
    );
    // kfk reads the same 20,000 records.
    let count = home
        .ok(&["consume", "perf", "--from-beginning", "-e", "-q"])
        .lines()
        .count();
    assert_eq!(count, 20000);
}

/// kafka-acls and kafka-configs' quotas and SCRAM users against a broker
/// with an authorizer: what Kafka's tools write, kfk reads, and the other
/// way round.
#[test]
fn kafka_acls_and_kafka_configs_quotas_and_users() {
    let kfkd = kfk_e2e::Kfkd::start_with(&[
        "--authorizer-class-name",
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "--super-users",
        "User:ANONYMOUS",
    ]);
    let bs = kfkd.bootstrap();
    let home = Home::new();
    let mut kafka = KafkaTools::start();
    let acls = |kafka: &mut KafkaTools, args: &[&str]| {
        let mut all = vec!["--bootstrap-server", bs.as_str()];
        all.extend_from_slice(args);
        kafka.ok("kafka-acls", &all)
    };
    acls(
        &mut kafka,
        &[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--operation",
            "Describe",
            "--topic",
            "orders",
        ],
    );
    acls(
        &mut kafka,
        &[
            "--add",
            "--deny-principal",
            "User:bob",
            "--operation",
            "Write",
            "--topic",
            "pay",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    let listed = acls(&mut kafka, &["--list", "--topic", "orders"]);
    assert!(
        listed.contains("ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)"),
        "{listed}"
    );
    assert!(
        listed.contains("(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"),
        "{listed}"
    );
    let ours = home.json(&["-b", &bs, "acls", "list"]);
    assert_eq!(ours.as_array().unwrap().len(), 3, "{ours}");
    // kfk's ACL, read by kafka-acls.
    home.ok(&[
        "-b",
        &bs,
        "acls",
        "create",
        "--allow-principal",
        "User:carol",
        "--operation",
        "Alter",
        "--cluster",
    ]);
    let listed = acls(&mut kafka, &["--list", "--cluster"]);
    assert!(
        listed.contains("(principal=User:carol, host=*, operation=ALTER, permissionType=ALLOW)"),
        "{listed}"
    );
    acls(
        &mut kafka,
        &[
            "--remove",
            "--force",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "orders",
        ],
    );
    let ours = home.json(&["-b", &bs, "acls", "list", "--topic", "orders"]);
    assert_eq!(ours.as_array().unwrap().len(), 1, "{ours}");
    assert_eq!(ours[0]["operation"], "Describe", "{ours}");

    // Quotas and SCRAM users as kafka-configs sets them.
    let configs = |kafka: &mut KafkaTools, args: &[&str]| {
        let mut all = vec!["--bootstrap-server", bs.as_str()];
        all.extend_from_slice(args);
        kafka.ok("kafka-configs", &all)
    };
    configs(
        &mut kafka,
        &[
            "--alter",
            "--add-config",
            "producer_byte_rate=1048576,consumer_byte_rate=2097152",
            "--entity-type",
            "users",
            "--entity-name",
            "alice",
        ],
    );
    configs(
        &mut kafka,
        &[
            "--alter",
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=alice-secret]",
            "--entity-type",
            "users",
            "--entity-name",
            "alice",
        ],
    );
    configs(
        &mut kafka,
        &[
            "--alter",
            "--add-config",
            "request_percentage=25",
            "--entity-type",
            "clients",
            "--entity-default",
        ],
    );
    let described = configs(
        &mut kafka,
        &[
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "alice",
        ],
    );
    assert!(
        described.contains("producer_byte_rate=1048576.0"),
        "{described}"
    );
    assert!(
        described.contains("SCRAM-SHA-256=iterations=8192"),
        "{described}"
    );
    let ours = home.json(&["-b", &bs, "quotas", "list"]);
    assert_eq!(ours.as_array().unwrap().len(), 2, "{ours}");
    let users = home.ok(&["-b", &bs, "users", "list"]);
    assert!(users.contains("alice"), "{users}");
    home.ok(&[
        "-b",
        &bs,
        "quotas",
        "set",
        "--user",
        "bob",
        "consumer_byte_rate=1000",
    ]);
    let described = configs(
        &mut kafka,
        &[
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "bob",
        ],
    );
    assert!(
        described.contains("consumer_byte_rate=1000.0"),
        "{described}"
    );
}

/// `kfk consume --formatter-property ...` prints what kafka-console-consumer
/// prints for the same records and properties, byte for byte: headers (and
/// `NO_HEADERS`), null keys and values, timestamps, partitions and offsets,
/// and the separators Kafka's formatter lets one change (headers.key.separator
/// is the console producer's: the consumer prints `key:value` regardless).
#[test]
fn console_consumer_formatter_properties_print_as_kafkas_do() {
    let home = Home::new();
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let bs = bs.as_str();
    home.ok(&["topics", "create", "printed", "-p", "1"]);
    home.ok_stdin(
        &["produce", "printed", "--input", "jsonl", "-q"],
        concat!(
            r#"{"key":"k1","value":"plain","headers":[]}"#,
            "\n",
            r#"{"key":null,"value":"no key","headers":[{"key":"trace","value":"t-1"},{"key":"empty","value":null}]}"#,
            "\n",
            r#"{"key":"gone","value":null,"headers":[{"key":"op","value":"delete"}]}"#,
            "\n",
        ),
    );
    let mut kafka = KafkaTools::start();
    let sets: [&[&str]; 3] = [
        &[
            "print.timestamp=true",
            "print.partition=true",
            "print.offset=true",
            "print.headers=true",
            "print.key=true",
        ],
        &[
            "print.key=true",
            "print.value=false",
            "print.headers=true",
            "key.separator= | ",
            "headers.separator=;",
            "null.literal=<nil>",
        ],
        &[
            "print.offset=true",
            "print.headers=true",
            "headers.key.separator=->",
            "line.separator=;",
        ],
    ];
    for props in sets {
        let mut java = vec![
            "--bootstrap-server",
            bs,
            "--topic",
            "printed",
            "--from-beginning",
            "--max-messages",
            "3",
            "--timeout-ms",
            "30000",
        ];
        let mut ours = vec!["consume", "printed", "--from-beginning", "-n", "3", "-q"];
        for p in props {
            java.extend(["--formatter-property", p]);
            ours.extend(["--formatter-property", p]);
        }
        let theirs = kafka.run("kafka-console-consumer", &java);
        assert_eq!(theirs.status, 0, "{theirs}");
        assert_eq!(home.ok(&ours), theirs.stdout, "with {props:?}");
    }
}

/// `kfk produce --reader-property ...` reads lines as kafka-console-producer
/// does: the same input with keys, headers and null markers makes the same
/// records through either producer, and a line Kafka's reader refuses, kfk
/// refuses too.
#[test]
fn console_producer_reader_properties_read_lines_as_kafkas_do() {
    let home = Home::new();
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let bs = bs.as_str();
    home.ok(&["topics", "create", "by-kafka", "-p", "1"]);
    home.ok(&["topics", "create", "by-kfk", "-p", "1"]);
    let props = [
        "parse.key=true",
        "key.separator=:",
        "parse.headers=true",
        "headers.delimiter=|",
        "headers.separator=;",
        "null.marker=<null>",
    ];
    let input = "trace:t-1;op:<null>|k1:v:with:colons\na:1|<null>:no key\nop:delete|gone:<null>\n";
    let mut kafka = KafkaTools::start();
    let mut java = vec!["--bootstrap-server", bs, "--topic", "by-kafka"];
    // With the console producer's other spellings too.
    let mut ours = vec![
        "produce",
        "by-kfk",
        "-q",
        "--request-required-acks",
        "-1",
        "--compression-codec",
        "gzip",
    ];
    for p in props {
        java.extend(["--reader-property", p]);
        ours.extend(["--reader-property", p]);
    }
    let sent = kafka.run_with_input("kafka-console-producer", &java, input.as_bytes());
    assert_eq!(sent.status, 0, "{sent}");
    home.ok_stdin(&ours, input);
    let records = |topic: &str| -> Vec<serde_json::Value> {
        home.ok(&[
            "consume",
            topic,
            "--from-beginning",
            "-n",
            "3",
            "-o",
            "jsonl",
            "-q",
        ])
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::json!([r["key"], r["value"], r["headers"]])
        })
        .collect()
    };
    let theirs = records("by-kafka");
    assert_eq!(
        theirs[0],
        serde_json::json!(["k1", "v:with:colons", [{"key": "trace", "value": "t-1"}, {"key": "op", "value": null}]])
    );
    assert_eq!(records("by-kfk"), theirs);

    // No headers delimiter, or nothing before it: both refuse the line.
    let refused = kafka.run_with_input("kafka-console-producer", &java, b"k:v\n");
    assert_ne!(refused.status, 0, "{refused}");
    let refused = kafka.run_with_input("kafka-console-producer", &java, b"|k:v\n");
    assert_ne!(refused.status, 0, "{refused}");
    assert!(!home.kfk_stdin(&ours, "|k:v\n").status.success());
    let err = home.kfk_stdin(&ours, "k:v\n");
    assert!(!err.status.success());
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("no headers delimiter"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
}
