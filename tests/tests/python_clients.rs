//! confluent-kafka and kafka-python against a real kfkd process: admin, produce
//! with acks=all and idempotence, restart, consume from the beginning, offsets.

use std::collections::BTreeSet;
use std::time::Duration;

use kfk_e2e::{Kfkd, python, run};

const T: Duration = Duration::from_secs(120);

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::to_string)
        .collect()
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\": ");
    let start = line
        .find(&key)
        .map(|i| i + key.len())
        .unwrap_or_else(|| panic!("{name} in {line}"));
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim_matches('"')
}

type Message = (String, String, String, String);

/// Partition, offset, key and value of a message line.
fn message(line: &str) -> Message {
    (
        field(line, "p").to_string(),
        field(line, "o").to_string(),
        field(line, "k").to_string(),
        field(line, "v").to_string(),
    )
}

fn round_trip(script: &str) {
    let mut kfkd = Kfkd::start();
    let count = 300;
    let produced = run(
        python(script).args([&kfkd.bootstrap(), "produce", "py-topic", &count.to_string()]),
        T,
    );
    let acked: BTreeSet<Message> = lines(&produced.stdout).iter().map(|l| message(l)).collect();
    assert_eq!(acked.len(), count, "every message acknowledged once");

    kfkd.restart();

    let consumed = run(
        python(script).args([&kfkd.bootstrap(), "consume", "py-topic", &count.to_string()]),
        T,
    );
    let out = lines(&consumed.stdout);
    let (messages, offsets): (Vec<&String>, Vec<&String>) =
        out.iter().partition(|l| l.contains("\"v\""));
    let got: BTreeSet<Message> = messages.iter().map(|l| message(l)).collect();
    assert_eq!(
        got, acked,
        "what was acknowledged is what is read after a restart"
    );
    assert_eq!(offsets.len(), 3);
    let mut total = 0;
    for l in offsets {
        assert_eq!(field(l, "low"), "0");
        assert_eq!(field(l, "at_time_0"), "0");
        total += field(l, "high").parse::<usize>().unwrap();
    }
    assert_eq!(total, count);
}

#[test]
fn confluent_kafka_produces_restarts_and_consumes() {
    round_trip("confluent_client.py");
}

#[test]
fn kafka_python_produces_restarts_and_consumes() {
    round_trip("kafka_python_client.py");
}
