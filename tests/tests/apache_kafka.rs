//! kfk against a real Apache Kafka 4.4 (single KRaft node from Maven
//! Central's jars): whatever kfk does against kfkd it does against Kafka.

use std::time::Duration;

use kfk_e2e::kafka_tools::ApacheKafka;
use kfk_e2e::{KfkHome as Home, Spawned, free_port, http, wait_until};

/// `kfk -b KAFKA args...`, checked.
fn kfk(home: &Home, kafka: &ApacheKafka, args: &[&str]) -> String {
    let bs = kafka.bootstrap();
    let mut all = vec!["-b", bs.as_str()];
    all.extend_from_slice(args);
    home.ok(&all)
}

fn kfk_stdin(home: &Home, kafka: &ApacheKafka, args: &[&str], input: &str) -> String {
    let bs = kafka.bootstrap();
    let mut all = vec!["-b", bs.as_str()];
    all.extend_from_slice(args);
    home.ok_stdin(&all, input)
}

fn kfk_json(home: &Home, kafka: &ApacheKafka, args: &[&str]) -> serde_json::Value {
    let bs = kafka.bootstrap();
    let mut all = vec!["-b", bs.as_str()];
    all.extend_from_slice(args);
    home.json(&all)
}

#[test]
fn kfk_manages_topics_produces_consumes_and_runs_groups_on_apache_kafka() {
    let kafka = ApacheKafka::start();
    let home = Home::new();

    // Topics: create, list, describe, alter, delete.
    kfk(&home, &kafka, &["topics", "create", "myorders", "-p", "3"]);
    let list = kfk(&home, &kafka, &["topics", "list"]);
    assert!(list.contains("myorders"), "{list}");
    let t = kfk_json(&home, &kafka, &["topics", "describe", "myorders"]);
    let parts = t["partitions"].as_array().expect("partitions");
    assert_eq!(parts.len(), 3, "{t}");
    assert!(parts.iter().all(|p| p["leader"] == 1), "{t}");
    kfk(
        &home,
        &kafka,
        &[
            "topics",
            "alter",
            "myorders",
            "--config",
            "retention.ms=86400000",
        ],
    );
    kfk(
        &home,
        &kafka,
        &["topics", "alter", "myorders", "--partitions", "4"],
    );
    let described = kfk(&home, &kafka, &["topics", "describe", "myorders"]);
    assert!(
        described.contains("PartitionCount: 4") && described.contains("retention.ms=86400000"),
        "{described}"
    );

    // Produce with keys, then read back; every offset form on one partition.
    kfk_stdin(
        &home,
        &kafka,
        &["produce", "myorders", "-K", ":"],
        "k1:one\nk2:two\nk3:three\n",
    );
    let read = kfk(
        &home,
        &kafka,
        &[
            "consume",
            "myorders",
            "--from-beginning",
            "-e",
            "-q",
            "-f",
            "%k=%s\n",
        ],
    );
    let mut got: Vec<&str> = read.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["k1=one", "k2=two", "k3=three"]);

    kfk(&home, &kafka, &["topics", "create", "offs", "-p", "1"]);
    kfk_stdin(&home, &kafka, &["produce", "offs"], "a\nb\nc\n");
    std::thread::sleep(Duration::from_millis(100));
    let middle = kfk_e2e::now_ms();
    std::thread::sleep(Duration::from_millis(100));
    kfk_stdin(&home, &kafka, &["produce", "offs"], "d\ne\n");
    let end = kfk_e2e::now_ms() + 1;
    let at = |spec: &str| {
        kfk(
            &home,
            &kafka,
            &["consume", "offs", "--offset", spec, "-e", "-q"],
        )
        .lines()
        .collect::<Vec<_>>()
        .join(" ")
    };
    assert_eq!(at("start"), "a b c d e");
    assert_eq!(at("end"), "");
    assert_eq!(at("1"), "b c d e");
    assert_eq!(at("-2"), "d e");
    assert_eq!(at("+1"), "b c d e");
    assert_eq!(at(&format!("@{middle}")), "d e");
    assert_eq!(at("1:3"), "b c");
    assert_eq!(at(&format!("@{middle}:{end}")), "d e");

    // A group: committed offsets, lag, reset, delete.
    let read = kfk(
        &home,
        &kafka,
        &[
            "consume",
            "offs",
            "-g",
            "readers",
            "--from-beginning",
            "-e",
            "-q",
        ],
    );
    assert_eq!(read.lines().count(), 5);
    let groups = kfk(&home, &kafka, &["groups", "list"]);
    assert!(groups.contains("readers"), "{groups}");
    let g = kfk_json(&home, &kafka, &["groups", "describe", "readers"]);
    assert_eq!(g["total_lag"], 0, "{g}");
    kfk_stdin(&home, &kafka, &["produce", "offs"], "f\ng\n");
    let g = kfk_json(&home, &kafka, &["groups", "describe", "readers"]);
    assert_eq!(g["total_lag"], 2, "{g}");
    kfk(
        &home,
        &kafka,
        &[
            "groups",
            "reset-offsets",
            "readers",
            "--topic",
            "offs",
            "--to-earliest",
            "--execute",
            "--yes",
        ],
    );
    let g = kfk_json(&home, &kafka, &["groups", "describe", "readers"]);
    assert_eq!(g["total_lag"], 7, "{g}");
    kfk(&home, &kafka, &["groups", "delete", "readers", "--yes"]);
    let groups = kfk(&home, &kafka, &["groups", "list"]);
    assert!(!groups.contains("readers"), "{groups}");

    // kfk's KIP-848 member against Kafka's own coordinator.
    let read = kfk(
        &home,
        &kafka,
        &[
            "consume",
            "offs",
            "-g",
            "modern",
            "--group-protocol",
            "consumer",
            "--from-beginning",
            "-n",
            "4",
            "-q",
        ],
    );
    assert_eq!(read.lines().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    let g = kfk_json(&home, &kafka, &["groups", "describe", "modern"]);
    assert_eq!(g["group_type"], "consumer", "{g}");
    assert_eq!(g["total_lag"], 3, "committed what it printed: {g}");
    let rest = kfk(
        &home,
        &kafka,
        &[
            "consume",
            "offs",
            "-g",
            "modern",
            "--group-protocol",
            "consumer",
            "-e",
            "-q",
        ],
    );
    assert_eq!(rest.lines().collect::<Vec<_>>(), ["e", "f", "g"]);

    kfk(&home, &kafka, &["topics", "delete", "myorders", "--yes"]);
    wait_until(Duration::from_secs(20), "myorders to be gone", || {
        !kfk(&home, &kafka, &["topics", "list"]).contains("myorders")
    });
}

#[test]
fn kfk_describes_browses_measures_and_proxies_apache_kafka() {
    let kafka = ApacheKafka::start();
    let home = Home::new();

    let cluster = kfk(&home, &kafka, &["describe", "cluster"]);
    assert!(
        cluster.contains("Cluster: a2ZrLXRlc3RzLWthZmthLQ"),
        "{cluster}"
    );
    let broker = kfk(&home, &kafka, &["describe", "broker", "1"]);
    assert!(
        broker.contains(&format!("PLAINTEXT://{}", kafka.bootstrap())),
        "{broker}"
    );

    // zk-shell browses Kafka's metadata as ZooKeeper showed it.
    let shell = kfk_stdin(
        &home,
        &kafka,
        &["zk-shell"],
        "ls /brokers/ids\nget /controller\nruok\n",
    );
    let lines: Vec<&str> = shell.lines().collect();
    assert_eq!(lines[0], "[1]", "{shell}");
    assert!(
        lines[1].starts_with("{\"version\":2,\"brokerid\":1"),
        "{shell}"
    );
    assert_eq!(lines[2], "imok", "{shell}");

    // perf creates its topic as Kafka's perf tool does, and reads it back.
    let produced = kfk(
        &home,
        &kafka,
        &[
            "perf",
            "produce",
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
        ],
    );
    assert!(produced.contains("20000 records sent"), "{produced}");
    let consumed = kfk(
        &home,
        &kafka,
        &["perf", "consume", "--topic", "perf", "--messages", "20000"],
    );
    assert!(consumed.contains(", 20000, "), "{consumed}");

    // A reassignment on one node: the plan keeps its replica, and completes.
    let plan = home.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"perf","partition":0,"replicas":[1]}]}"#,
    )
    .unwrap();
    let plan = plan.display().to_string();
    kfk(
        &home,
        &kafka,
        &["reassign", "execute", "--reassignment-json-file", &plan],
    );
    let verified = kfk(
        &home,
        &kafka,
        &["reassign", "verify", "--reassignment-json-file", &plan],
    );
    assert!(verified.contains("complete"), "{verified}");

    // The REST proxy in front of Kafka.
    let rest = free_port();
    let mut cmd = std::process::Command::new(kfk_e2e::bin("kfk"));
    home.env(&mut cmd);
    cmd.args(["-b", &kafka.bootstrap(), "rest-proxy", "--listen"])
        .arg(format!("127.0.0.1:{rest}"));
    let _proxy = Spawned::start(&mut cmd, &home.path().join("rest-proxy.log"));
    wait_until(Duration::from_secs(20), "the proxy to serve", || {
        std::net::TcpStream::connect(("127.0.0.1", rest)).is_ok()
    });
    let (status, body) = http(rest, "GET", "/topics", "application/json", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"perf\""), "{body}");
    let (status, body) = http(
        rest,
        "POST",
        "/topics/viarest",
        "application/vnd.kafka.json.v2+json",
        r#"{"records":[{"value":{"n":1}},{"value":{"n":2}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let read = kfk(
        &home,
        &kafka,
        &["consume", "viarest", "--from-beginning", "-e", "-q"],
    );
    assert_eq!(read.lines().collect::<Vec<_>>(), ["{\"n\":1}", "{\"n\":2}"]);
    assert!(
        kafka.log().contains("Kafka Server started"),
        "{}",
        kafka.log()
    );
}
