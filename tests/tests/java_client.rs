//! Apache Kafka's Java client (4.4, the reference implementation) against
//! kfkd: an idempotent acks=all producer through a leader's death, and
//! classic-protocol consumer groups of three members (range,
//! cooperative-sticky, static membership).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use kfk_e2e::kafka_tools::java;
use kfk_e2e::{KfkHome as Home, Spawned, cluster_bootstrap, json_lines, wait_until};

/// The JSON lines a client printed (its log also holds the client's own
/// warnings).
fn client(dir: &Path, name: &str, args: &[&str]) -> Spawned {
    let mut cmd = java();
    cmd.arg("kfk.e2e.Clients").args(args);
    Spawned::start(&mut cmd, &dir.join(format!("{name}.log")))
}

#[test]
fn an_idempotent_java_producer_loses_and_duplicates_nothing_when_a_leader_dies() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "chaos", "-p", "3", "-r", "3"]);
    let dir = tempfile::tempdir().unwrap();
    // 12,000 records over about 6 s.
    let mut producer = client(
        dir.path(),
        "producer",
        &["produce", &bs, "chaos", "12000", "2000"],
    );
    wait_until(
        Duration::from_secs(30),
        "the first acknowledgements",
        || json_lines(&producer.output()).len() > 2000,
    );
    let leader = home.json(&["topics", "describe", "chaos"])["partitions"][0]["leader"]
        .as_i64()
        .expect("a leader");
    home.ok(&["cluster", "stop-broker", &leader.to_string(), "--kill"]);
    let status = producer.wait_for(Duration::from_secs(150));
    assert!(
        status.success(),
        "the producer failed:\n{}",
        producer.output()
    );
    let lines = json_lines(&producer.output());
    let acked: BTreeMap<(i64, i64), String> = lines
        .iter()
        .map(|l| {
            assert!(l.get("error").is_none(), "{l}");
            (
                (l["p"].as_i64().unwrap(), l["o"].as_i64().unwrap()),
                l["v"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(acked.len(), 12000);
    kfk_e2e::assert_acked_are_stored(&home, "chaos", &acked);
}

/// A group member's latest full assignment (its `all` list), if any.
fn assignment(out: &str) -> Option<BTreeSet<String>> {
    json_lines(out)
        .iter()
        .rev()
        .find_map(|l| l.get("all"))
        .map(|a| {
            a.as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect()
        })
}

/// Waits until the members share `partitions` partitions of `topic`, each
/// holding the same number; returns each member's partitions.
fn balanced(members: &[Spawned], topic: &str, partitions: usize) -> Vec<BTreeSet<String>> {
    let mut now = Vec::new();
    wait_until(Duration::from_secs(60), "a balanced assignment", || {
        now = members
            .iter()
            .map(|m| assignment(&m.output()).unwrap_or_default())
            .collect();
        let all: BTreeSet<&String> = now.iter().flatten().collect();
        all.len() == partitions
            && now.iter().map(BTreeSet::len).sum::<usize>() == partitions
            && now.iter().all(|a| a.len() == partitions / members.len())
    });
    for a in &now {
        assert!(
            a.iter().all(|p| p.starts_with(&format!("{topic}-"))),
            "{a:?}"
        );
    }
    now
}

/// Produces 100 records to each partition with kfk, waits for the members
/// to finish, and checks each record was read once, by its partition's owner.
fn read_once_by_owners(
    home: &Home,
    topic: &str,
    partitions: usize,
    members: &mut [Spawned],
    owned: &[BTreeSet<String>],
) {
    for p in 0..partitions {
        let lines: String = (0..100).map(|i| format!("{p}-{i}\n")).collect();
        home.ok_stdin(&["produce", topic, "-p", &p.to_string()], &lines);
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (m, mine) in members.iter_mut().zip(owned) {
        let status = m.wait_for(Duration::from_secs(90));
        assert!(status.success(), "{}", m.output());
        for l in json_lines(&m.output()) {
            let (Some(p), Some(v)) = (l.get("p"), l.get("v")) else {
                continue;
            };
            assert!(
                mine.contains(&format!("{topic}-{p}")),
                "{l} read by a member owning {mine:?}"
            );
            *seen.entry(v.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), partitions * 100);
    assert!(
        seen.values().all(|n| *n == 1),
        "read more than once: {seen:?}"
    );
}

fn group_of_three(assignor: &str) {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let topic = format!("g-{}", assignor.replace(':', "-"));
    home.ok(&["topics", "create", &topic, "-p", "6"]);
    let dir = tempfile::tempdir().unwrap();
    let group = format!("readers-{}", assignor.replace(':', "-"));
    let mut members: Vec<Spawned> = (0..3)
        .map(|i| {
            client(
                dir.path(),
                &format!("member{i}"),
                &["consume", &bs, &topic, &group, assignor, "-", "5000"],
            )
        })
        .collect();
    let owned = balanced(&members, &topic, 6);
    read_once_by_owners(&home, &topic, 6, &mut members, &owned);
    let described = home.json(&["groups", "describe", &group]);
    assert_eq!(described["total_lag"], 0, "{described}");
}

#[test]
fn a_java_range_group_of_three_shares_the_partitions() {
    group_of_three("range");
}

#[test]
fn a_java_cooperative_sticky_group_of_three_shares_the_partitions() {
    group_of_three("cooperative-sticky");
}

#[test]
fn a_java_consumer_protocol_group_of_three_shares_the_partitions_uniformly() {
    group_of_three("consumer:uniform");
}

#[test]
fn a_java_consumer_protocol_group_of_three_shares_the_partitions_by_range() {
    group_of_three("consumer:range");
}

#[test]
fn a_static_java_member_that_restarts_gets_its_partitions_back_without_a_rebalance() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "statics", "-p", "6"]);
    let dir = tempfile::tempdir().unwrap();
    let member = |i: usize, run: usize| {
        client(
            dir.path(),
            &format!("member{i}-{run}"),
            &[
                "consume",
                &bs,
                "statics",
                "static-readers",
                "range",
                &format!("reader-{i}"),
                "5000",
            ],
        )
    };
    let mut members: Vec<Spawned> = (0..3).map(|i| member(i, 0)).collect();
    let owned = balanced(&members, "statics", 6);
    let settled: Vec<usize> = members
        .iter()
        .map(|m| json_lines(&m.output()).len())
        .collect();
    members[1].kill9();
    members[1] = member(1, 1);
    wait_until(
        Duration::from_secs(30),
        "the restarted member's assignment",
        || assignment(&members[1].output()).is_some(),
    );
    assert_eq!(assignment(&members[1].output()).unwrap(), owned[1]);
    // The others were not disturbed: no assignment or revocation since.
    std::thread::sleep(Duration::from_secs(2));
    for i in [0, 2] {
        let out = members[i].output();
        let since = &json_lines(&out)[settled[i]..];
        assert!(since.is_empty(), "member {i} saw a rebalance: {since:?}");
    }
    read_once_by_owners(&home, "statics", 6, &mut members, &owned);
}

#[test]
fn the_java_admin_client_describes_lists_alters_and_deletes_records() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    home.ok(&["topics", "create", "adm", "-p", "2"]);
    home.ok_stdin(&["produce", "adm", "-p", "0"], "a\nb\nc\n");
    std::thread::sleep(Duration::from_millis(100));
    let middle = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    std::thread::sleep(Duration::from_millis(100));
    home.ok_stdin(&["produce", "adm", "-p", "0"], "d\ne\n");
    home.ok(&[
        "consume",
        "adm",
        "-g",
        "classic-readers",
        "--from-beginning",
        "-e",
        "-q",
    ]);

    let out = kfk_e2e::run(
        java().args(["kfk.e2e.Clients", "admin", &bs, "adm", &middle]),
        Duration::from_secs(60),
    );
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    let call = |name: &str| kfk_e2e::call_line(&lines, name);
    let cluster = home.json(&["describe", "cluster"]);
    assert_eq!(
        call("describeCluster")["clusterId"],
        cluster["cluster_id"],
        "{cluster}"
    );
    assert_eq!(call("describeCluster")["nodes"], serde_json::json!([1]));
    let parts = call("describeTopics")["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert!(
        parts
            .iter()
            .all(|p| p["leader"] == 1 && p["replicas"] == serde_json::json!([1]))
    );
    let offsets = call("listOffsets");
    assert_eq!(
        (offsets["earliest"].as_i64(), offsets["latest"].as_i64()),
        (Some(0), Some(5))
    );
    assert_eq!(offsets["at_time"], 3, "the first record after the middle");
    let altered = call("incrementalAlterConfigs");
    assert_eq!(altered["retention.ms"], "123456789");
    assert_eq!(altered["source"], "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(
        call("listGroups")["classic"],
        serde_json::json!(["classic-readers:Classic"])
    );
    let deleted = call("deleteRecords");
    assert_eq!(deleted["low_watermark"], 2, "{deleted}");
    assert_eq!(deleted["earliest"], 2, "{deleted}");
    // kfk sees the same: the first two records are gone.
    let rest = home.ok(&["consume", "adm", "-p", "0", "--from-beginning", "-e", "-q"]);
    assert_eq!(rest, "c\nd\ne\n");
}

/// What `kfk groups describe` says of each member: (id, epoch, assignment).
fn member_epochs(group: &serde_json::Value) -> BTreeSet<(String, i64, String)> {
    group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member_id"].as_str().unwrap().to_string(),
                m["member_epoch"].as_i64().unwrap(),
                m["assignment"].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_java_consumer_protocol_group_outlives_its_coordinator_without_a_rebalance() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let bs = cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "moving", "-p", "6", "-r", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let mut members: Vec<Spawned> = (0..3)
        .map(|i| {
            client(
                dir.path(),
                &format!("member{i}"),
                &[
                    "consume",
                    &bs,
                    "moving",
                    "movers",
                    "consumer:uniform",
                    "-",
                    "8000",
                ],
            )
        })
        .collect();
    let owned = balanced(&members, "moving", 6);
    let before = home.wait_json(
        &["groups", "describe", "movers"],
        Duration::from_secs(30),
        "a stable group",
        |g| g["state"] == "Stable",
    );
    assert_eq!(before["group_type"], "consumer", "{before}");
    assert_eq!(before["protocol"], "uniform", "{before}");
    let settled: Vec<usize> = members
        .iter()
        .map(|m| json_lines(&m.output()).len())
        .collect();
    let old = before["coordinator"].as_i64().unwrap();
    home.ok(&["cluster", "stop-broker", &old.to_string(), "--kill"]);
    // Another broker loads the group from __consumer_offsets: same members,
    // same epochs, same assignment.
    let after = home.wait_json(
        &["groups", "describe", "movers"],
        Duration::from_secs(60),
        "a new coordinator",
        |g| g["coordinator"].as_i64() != Some(old),
    );
    assert_eq!(member_epochs(&after), member_epochs(&before), "{after}");
    assert_eq!(after["group_epoch"], before["group_epoch"]);
    read_once_by_owners(&home, "moving", 6, &mut members, &owned);
    for (i, m) in members.iter().enumerate() {
        let out = m.output();
        let since: Vec<_> = json_lines(&out)[settled[i]..]
            .iter()
            .filter(|l| l.get("all").is_some())
            .cloned()
            .collect();
        // Closing revokes what a member holds; nothing else may move.
        assert!(
            since
                .iter()
                .all(|l| l.get("revoked").is_some() && l["all"] == serde_json::json!([])),
            "member {i} saw a rebalance: {since:?}"
        );
    }
}
