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

fn round_trip(script: &str) {
    let mut kfkd = Kfkd::start();
    let count = 300;
    let produced = run(
        python(script).args([&kfkd.bootstrap(), "produce", "py-topic", &count.to_string()]),
        T,
    );
    let acked: BTreeSet<(String, String, String, String)> = lines(&produced.stdout)
        .iter()
        .map(|l| {
            (
                field(l, "p").to_string(),
                field(l, "o").to_string(),
                field(l, "k").to_string(),
                field(l, "v").to_string(),
            )
        })
        .collect();
    assert_eq!(acked.len(), count, "every message acknowledged once");

    kfkd.restart();

    let consumed = run(
        python(script).args([&kfkd.bootstrap(), "consume", "py-topic", &count.to_string()]),
        T,
    );
    let out = lines(&consumed.stdout);
    let (messages, offsets): (Vec<&String>, Vec<&String>) =
        out.iter().partition(|l| l.contains("\"v\""));
    let got: BTreeSet<(String, String, String, String)> = messages
        .iter()
        .map(|l| {
            (
                field(l, "p").to_string(),
                field(l, "o").to_string(),
                field(l, "k").to_string(),
                field(l, "v").to_string(),
            )
        })
        .collect();
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
