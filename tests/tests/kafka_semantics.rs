//! Kafka's answers where they are easy to get subtly wrong (topic-level
//! compression, list configs, authorized operations, offsets for partitions
//! that do not exist, keyless records on compacted topics, group configs,
//! static members whose session ran out), asked by Apache Kafka's own Java
//! clients of one kfkd and of one Apache Kafka 4.4: the two must answer
//! alike, line for line. Key answers are also asserted on their own, so the
//! comparison cannot pass by both being empty.

use std::time::Duration;

use kfk_e2e::kafka_tools::{ApacheKafka, java};
use kfk_e2e::{Kfkd, json_lines, log_bytes, run};
use kfk_wire::{BatchHeader, Compression};

/// What `kfk.e2e.Semantics` printed against `bootstrap`.
fn semantics(bootstrap: &str) -> Vec<serde_json::Value> {
    let out = run(
        java().args(["kfk.e2e.Semantics", bootstrap]),
        Duration::from_secs(240),
    );
    json_lines(&String::from_utf8_lossy(&out.stdout))
}

fn probe<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["probe"] == name)
        .unwrap_or_else(|| panic!("no probe {name} in {lines:#?}"))
}

/// The codec of each batch in a partition's log.
fn stored_codecs(kfkd: &Kfkd, partition: &str) -> Vec<Compression> {
    let bytes = log_bytes(&kfkd.data_dir, partition);
    let mut codecs = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let batch = BatchHeader::parse(rest).expect("a whole batch");
        batch.validate().expect("a valid batch");
        codecs.push(batch.compression().expect("a known codec"));
        rest = &rest[batch.size()..];
    }
    codecs
}

#[test]
fn kfkd_answers_as_apache_kafka_does() {
    let kfkd = Kfkd::start_with(&[
        "--num-partitions",
        "4",
        "--group-consumer-min-session-timeout-ms",
        "6000",
        "--group-consumer-min-heartbeat-interval-ms",
        "1000",
    ]);
    let bootstrap = kfkd.bootstrap();
    let ours = std::thread::spawn(move || semantics(&bootstrap));
    let kafka = ApacheKafka::start();
    let theirs = semantics(&kafka.bootstrap());
    let ours = ours.join().expect("the kfkd run");

    // Kafka's answers, as its own broker gave them when this was written.
    assert_eq!(probe(&ours, "compression.create")["result"], "ok");
    assert_eq!(probe(&ours, "compression.set-zstd")["result"], "ok");
    assert_eq!(
        probe(&ours, "compression.set-brotli")["result"],
        "InvalidConfigurationException"
    );
    assert_eq!(
        probe(&ours, "compression.read")["records"],
        serde_json::json!([
            "0:k0:v0", "1:k1:v1", "2:k2:v2", "3:k3:v3", "4:k4:v4", "5:k5:v5"
        ])
    );
    assert_eq!(
        probe(&ours, "list.subtract")["value"],
        "compact@DYNAMIC_TOPIC_CONFIG"
    );
    assert_eq!(
        probe(&ours, "offsets.missing-topic")["result"],
        "UnknownTopicOrPartitionException"
    );
    assert_eq!(
        probe(&ours, "offsets.stored")["offsets"],
        serde_json::json!(["sem-list-0=2"])
    );
    assert!(
        probe(&ours, "ops.topic")["operations"]
            .as_array()
            .is_some_and(|ops| ops.len() == 8),
        "{ours:#?}"
    );
    assert!(
        probe(&ours, "keyless.batch")["sends"][1]
            .as_str()
            .is_some_and(|s| s.starts_with("InvalidRecordException") && s.contains("without key")),
        "{ours:#?}"
    );
    assert_eq!(
        probe(&ours, "group-config.set")["session"],
        "6000@DYNAMIC_GROUP_CONFIG"
    );
    for protocol in ["classic", "consumer"] {
        assert_eq!(
            probe(&ours, &format!("static.{protocol}.delete-at-once"))["result"],
            "GroupNotEmptyException"
        );
        assert_eq!(
            probe(&ours, &format!("static.{protocol}.delete-after-session"))["result"],
            "ok"
        );
    }

    // Then every answer as Apache Kafka's.
    let show = |lines: &[serde_json::Value]| {
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let differing: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("kfkd:  {a}\nkafka: {b}"))
        .collect();
    assert!(
        differing.is_empty() && ours.len() == theirs.len(),
        "kfkd answered differently from Apache Kafka:\n{}\n\nall of kfkd's:\n{}\n\nall of Kafka's:\n{}",
        differing.join("\n"),
        show(&ours),
        show(&theirs)
    );

    // kfkd stored each batch in the codec the topic asked for at the time,
    // whatever the producer sent.
    assert_eq!(
        stored_codecs(&kfkd, "sem-compressed-0"),
        vec![Compression::Zstd, Compression::Lz4, Compression::None]
    );
}
