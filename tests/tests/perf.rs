//! `kfk perf`: the output shapes of Kafka's perf tools, so scripts that parse
//! kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh read kfk's
//! too. (Speed itself is measured by benchmarks, never asserted here.)

use kfk_e2e::KfkHome;

fn words(line: &str) -> Vec<&str> {
    line.split([' ', ',', '(', ')'])
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn perf_produce_consume_and_e2e_print_kafkas_lines() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "bench", "--partitions", "3"]);

    let out = home.ok(&[
        "perf",
        "produce",
        "--topic",
        "bench",
        "--num-records",
        "200000",
        "--record-size",
        "100",
        "--throughput",
        "-1",
        "--acks",
        "all",
    ]);
    let last = out.lines().last().unwrap();
    // 200000 records sent, 51234.5 records/sec (4.89 MB/sec), 1.23 ms avg latency,
    // 4.56 ms max latency, 1 ms 50th, 3 ms 95th, 4 ms 99th, 4 ms 99.9th.
    let w = words(last);
    // As fast as it goes: batches grow while their partition has one in
    // flight, and none of them may exceed what the broker accepts.
    assert_eq!(&w[..3], ["200000", "records", "sent"], "{last}");
    assert_eq!(w[4], "records/sec", "{last}");
    assert_eq!(w[6], "MB/sec", "{last}");
    for (i, label) in [(8, "avg"), (12, "max")] {
        assert_eq!(w[i + 1], label, "{last}");
        assert!(w[i - 1].parse::<f64>().is_ok(), "{last}");
    }
    for p in ["50th.", "95th.", "99th.", "99.9th."] {
        let at = w
            .iter()
            .position(|x| *x == p.trim_end_matches('.') || *x == p)
            .unwrap_or_else(|| panic!("{p} in {last}"));
        assert_eq!(w[at - 1], "ms");
        assert!(w[at - 2].parse::<u64>().is_ok(), "{last}");
    }
    assert!(last.ends_with("99.9th."), "{last}");

    let json = home.json(&[
        "perf",
        "produce",
        "--topic",
        "bench",
        "--num-records",
        "1000",
        "--throughput",
        "2000",
    ]);
    assert_eq!(json["records"], 1000);
    assert_eq!(json["failed"], 0);
    assert!(
        json["records_per_sec"].as_f64().is_some_and(|r| r > 0.0),
        "{json}"
    );
    for k in [
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "p999_ms",
        "avg_latency_ms",
        "max_latency_ms",
    ] {
        assert!(json[k].as_f64().is_some(), "{k}: {json}");
    }

    let out = home.ok(&[
        "perf",
        "consume",
        "--topic",
        "bench",
        "--messages",
        "201000",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    );
    let cols: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!(cols.len(), 10, "{}", lines[1]);
    assert_eq!(cols[4], "201000", "every record produced: {}", lines[1]);
    assert_eq!(
        cols[0].len(),
        "2026-11-23 16:50:01:123".len(),
        "{}",
        cols[0]
    );

    // A fetch size smaller than any batch still moves: each fetch brings
    // at least one whole batch per partition, as Kafka's do (KIP-74).
    let small = home.json(&[
        "perf",
        "consume",
        "--topic",
        "bench",
        "--messages",
        "201000",
        "--fetch-size",
        "1",
    ]);
    assert_eq!(small["messages"], 201000, "{small}");

    // With a group, the offsets are committed: a second run finds nothing new.
    let first = home.json(&[
        "perf",
        "consume",
        "--topic",
        "bench",
        "--messages",
        "201000",
        "--group",
        "perf-g",
    ]);
    assert_eq!(first["messages"], 201000);
    let lag = home.json(&["groups", "describe", "perf-g"]);
    assert_eq!(lag["total_lag"], 0, "{lag}");

    let out = home.ok(&[
        "perf",
        "e2e",
        "--topic",
        "bench",
        "--num-records",
        "200",
        "--throughput",
        "400",
    ]);
    let w = words(out.trim());
    assert_eq!(&w[..2], ["200", "records"], "{out}");
    assert!(
        out.contains("ms avg end-to-end latency") && out.contains("ms 99th"),
        "{out}"
    );
}

#[test]
fn perf_rejects_nonsense() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "t"]);
    for args in [
        &["perf", "produce", "--topic", "t", "--num-records", "0"][..],
        &[
            "perf",
            "produce",
            "--topic",
            "t",
            "--num-records",
            "5",
            "--throughput",
            "0",
        ],
        &[
            "perf",
            "e2e",
            "--topic",
            "t",
            "--num-records",
            "5",
            "--record-size",
            "4",
        ],
        &[
            "perf",
            "consume",
            "--topic",
            "t",
            "--messages",
            "5",
            "--fetch-size",
            "0",
        ],
    ] {
        let out = home.kfk(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    // A topic that does not exist is created by a broker that auto-creates
    // (kfkd's default, as Kafka's), as kafka-producer-perf-test relies on.
    let out = home.kfk(&[
        "perf",
        "produce",
        "--topic",
        "missing",
        "--num-records",
        "5",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Created topic missing (auto-created by the broker)."),
        "{out:?}"
    );
    assert!(home.ok(&["topics", "list"]).contains("missing"));
    // A broker that does not auto-create: the reason, and nothing created.
    let strict = KfkHome::new().with_env("KFKD_AUTO_CREATE_TOPICS_ENABLE", "false");
    strict.up();
    let err = strict.fails(&["perf", "produce", "--topic", "absent", "--num-records", "5"]);
    assert!(err.contains("auto.create.topics.enable=false"), "{err}");
    assert!(!strict.ok(&["topics", "list"]).contains("absent"));
}

#[test]
fn perf_produce_spreads_the_records_over_independent_producers() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "many", "--partitions", "1"]);
    let json = home.json(&[
        "perf",
        "produce",
        "--topic",
        "many",
        "--num-records",
        "1000",
        "--producers",
        "4",
        "--acks",
        "all",
    ]);
    assert_eq!(json["records"], 1000, "{json}");
    assert_eq!(json["failed"], 0, "{json}");
    // Each producer is its own client: the partition saw four producer ids.
    let producers = home.json(&[
        "transactions",
        "describe-producers",
        "--topic",
        "many",
        "--partition",
        "0",
    ]);
    let ids: std::collections::BTreeSet<String> = producers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["producer_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 4, "{producers}");
    // Taking turns: 250 records each (sequences 0..=249).
    for p in producers.as_array().unwrap() {
        assert_eq!(p["last_sequence"], 249, "{producers}");
    }
    let end = home.json(&["topics", "describe", "many"]);
    assert_eq!(end["partitions"][0]["latest_offset"], 1000, "{end}");
    // A count the broker could not hold is refused before connecting.
    let out = home.kfk(&[
        "perf",
        "produce",
        "--topic",
        "many",
        "--num-records",
        "5",
        "--producers",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
