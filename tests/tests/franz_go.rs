//! franz-go (`kgo`, `kadm`), a Go client written from the protocol, against
//! kfkd: acks=all produce, a committing group of two, and admin calls.

use std::collections::BTreeSet;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Spawned, franz, json_lines, run, wait_until};

#[test]
fn franz_go_produces_consumes_in_a_group_and_administers() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    let base = home.up_cluster(3);
    let bs = kfk_e2e::cluster_bootstrap(base, 3);
    home.ok(&["topics", "create", "fz", "-p", "4", "-r", "3"]);

    let out = run(
        franz().args(["produce", &bs, "fz", "1000"]),
        Duration::from_secs(90),
    );
    let acked = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(acked.len(), 1000);
    // Every acknowledged record is stored where it was acknowledged.
    let stored = home.ok(&[
        "consume",
        "fz",
        "--from-beginning",
        "-e",
        "-q",
        "-f",
        "%p %o %s\n",
    ]);
    let stored: BTreeSet<String> = stored.lines().map(str::to_string).collect();
    for a in &acked {
        let line = format!("{} {} {}", a["p"], a["o"], a["v"].as_str().unwrap());
        assert!(stored.contains(&line), "{line} acknowledged but not stored");
    }

    // Two members share the four partitions and read each record once.
    let dir = tempfile::tempdir().unwrap();
    let member = |i: usize| {
        Spawned::start(
            franz().args(["group", &bs, "fz", "fz-readers", "5000"]),
            &dir.path().join(format!("member{i}.log")),
        )
    };
    let mut members = [member(0), member(1)];
    let mut seen: Vec<String> = Vec::new();
    wait_until(
        Duration::from_secs(60),
        "the two members to read 1000",
        || {
            seen = members
                .iter()
                .flat_map(|m| json_lines(&m.output()))
                .map(|l| l["v"].as_str().unwrap().to_string())
                .collect();
            seen.len() >= 1000
        },
    );
    for m in &mut members {
        let status = m.wait_for(Duration::from_secs(30));
        assert!(status.success(), "{}", m.output());
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        (seen.len(), distinct.len()),
        (1000, 1000),
        "each record once"
    );
    let g = home.json(&["groups", "describe", "fz-readers"]);
    assert_eq!(g["total_lag"], 0, "{g}");

    let out = run(
        franz().args(["admin", &bs, "fz-admin"]),
        Duration::from_secs(90),
    );
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    let call = |name: &str| kfk_e2e::call_line(&lines, name);
    assert_eq!(call("Metadata")["brokers"], serde_json::json!([1, 2, 3]));
    assert_eq!(call("Metadata")["partitions"], 3);
    assert_eq!(call("DescribeTopicConfigs")["retention.ms"], "3600000");
    assert_eq!(call("AlterTopicConfigs")["retention.ms"], "7200000");
    assert_eq!(call("ListEndOffsets")["total"], 0);
    let groups = call("ListGroups")["groups"].to_string();
    assert!(groups.contains("fz-readers"), "{groups}");
    call("DeleteTopics");
    assert!(!home.ok(&["topics", "list"]).contains("fz-admin"));
}

/// franz-go's `pkg/kgo` tests from the module cache against `seeds`, with
/// the replication factor the seeds' cluster can give.
fn kgo_tests(
    seeds: &str,
    go_args: &[&str],
    which: &[&str],
    timeout: Duration,
) -> std::process::Output {
    franz(); // builds tests/go, which downloads franz-go into target/go
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let modcache = manifest.join("../target/go/mod");
    let module = modcache.join("github.com/twmb/franz-go@v1.22.3");
    let brokers = seeds.split(',').count().min(3);
    kfk_e2e::run_unchecked(
        std::process::Command::new(kfk_e2e::tool("go", "Go (https://go.dev/dl/)"))
            .current_dir(&module)
            .env("GOMODCACHE", &modcache)
            .env("GOFLAGS", "-mod=readonly")
            .env("KGO_SEEDS", seeds)
            .env("KGO_TEST_RF", brokers.to_string())
            .args(["test", "./pkg/kgo", "-v"])
            .args(go_args)
            .args(which),
        timeout,
    )
}

/// franz-go's own test suite, run from the module cache against a 3-broker
/// cluster (franz-go's default replication factor), its transactional ETL
/// (TestTxnEtl: chained group transact sessions through rebalances, each
/// record once) included, except Test848RegexBrokerResolves, which runs on
/// one broker below. Its KIP-848 group tests run too, as kfkd advertises
/// ConsumerGroupHeartbeat v1. What franz-go skips by itself is checked
/// against the reasons below.
#[test]
fn franz_gos_own_test_suite_passes_against_kfkd() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    let base = home.up_cluster(3);
    let bs = kfk_e2e::cluster_bootstrap(base, 3);
    let out = kgo_tests(
        &bs,
        &["-count=1", "-timeout", "600s"],
        &["-skip", "^Test848RegexBrokerResolves$"],
        Duration::from_secs(720),
    );
    let log = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.trim_start().starts_with("--- FAIL"))
        .collect();
    assert!(
        out.status.success() && failed.is_empty(),
        "failed: {failed:?}\n{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Skipped by franz-go itself, each for a reason kfkd knows of.
    let allowed = [
        ("Share", "share groups (KIP-932): not in kfkd"),
        ("SCRAM", "SASL/SCRAM: needs KGO_TEST_SCRAM (issue 18)"),
        (
            "OAuth",
            "SASL/OAUTHBEARER: needs KGO_TEST_OAUTH_SEEDS (issue 18)",
        ),
    ];
    for skipped in log
        .lines()
        .filter(|l| l.trim_start().starts_with("--- SKIP"))
    {
        assert!(
            allowed.iter().any(|(name, _)| skipped.contains(name)),
            "{skipped}: skipped for a reason not listed ({allowed:?})"
        );
    }
    let passed = log.matches("--- PASS: ").count();
    assert!(passed > 500, "only {passed} passed:\n{log}");
}

/// franz-go's Test848RegexBrokerResolves on one broker (replication factor
/// 1), as against a single Kafka node: the broker resolves the member's
/// regex, `__consumer_offsets` included. The test stops reading once it has
/// seen two topics with records and counts `__consumer_offsets` among them,
/// so across three brokers whichever leader answers first decides whether it
/// saw the two it wants; with one broker every partition comes in one fetch.
#[test]
fn franz_gos_broker_side_regex_test_passes_on_one_broker() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    let out = kgo_tests(
        &format!("127.0.0.1:{}", home.port()),
        &["-count=3", "-timeout", "120s"],
        &["-run", "^Test848RegexBrokerResolves$"],
        Duration::from_secs(180),
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        log.matches("--- PASS: Test848RegexBrokerResolves").count(),
        3,
        "{log}"
    );
}
