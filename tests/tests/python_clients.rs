//! confluent-kafka and kafka-python against a real kfkd process: admin, produce
//! with acks=all and idempotence, restart, consume from the beginning, offsets.

use std::collections::BTreeSet;
use std::time::Duration;

use kfk_e2e::{KfkHome, Kfkd, python, run};

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

/// The timestamp the clients give message `i` of `count` (see the scripts):
/// a second apart from T0, except message `count / 3`, an hour after the last.
fn stamp(i: i64, count: i64) -> i64 {
    const T0: i64 = 1_700_000_000_000;
    if i == count / 3 {
        T0 + (count + 3600) * 1000
    } else {
        T0 + i * 1000
    }
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
    // (partition, offset, timestamp) of each message, from its key's index.
    let placed: Vec<(i64, i64, i64)> = lines(&produced.stdout)
        .iter()
        .map(|l| {
            let i: i64 = field(l, "k").trim_start_matches("key-").parse().unwrap();
            let t = stamp(i, count as i64);
            assert_eq!(field(l, "t"), t.to_string(), "the acked timestamp: {l}");
            (
                field(l, "p").parse().unwrap(),
                field(l, "o").parse().unwrap(),
                t,
            )
        })
        .collect();

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
    let mid = stamp(count as i64 / 2, count as i64);
    let mut total = 0;
    for l in offsets {
        let p: i64 = field(l, "partition").parse().unwrap();
        let mine: Vec<&(i64, i64, i64)> = placed.iter().filter(|m| m.0 == p).collect();
        assert_eq!(field(l, "low"), "0");
        // ListOffsets by time: the first offset stamped at or after it.
        let at_mid = mine
            .iter()
            .filter(|m| m.2 >= mid)
            .map(|m| m.1)
            .min()
            .unwrap_or(-1);
        assert_eq!(field(l, "at_mid"), at_mid.to_string(), "partition {p}: {l}");
        // ListOffsets -3: the record with the largest timestamp.
        let top = mine.iter().max_by_key(|m| m.2).unwrap();
        assert_eq!(
            field(l, "max_offset"),
            top.1.to_string(),
            "partition {p}: {l}"
        );
        assert_eq!(
            field(l, "max_timestamp"),
            top.2.to_string(),
            "partition {p}: {l}"
        );
        total += field(l, "high").parse::<usize>().unwrap();
    }
    assert_eq!(total, count);
    // The maximum sits mid-log in one partition, so "max timestamp" and
    // "latest" differ there.
    let top = placed.iter().max_by_key(|m| m.2).unwrap();
    let last_in_its_partition = placed.iter().filter(|m| m.0 == top.0).map(|m| m.1).max();
    assert!(Some(top.1) < last_in_its_partition);
}

#[test]
fn confluent_kafka_produces_restarts_and_consumes() {
    round_trip("confluent_client.py");
}

#[test]
fn kafka_python_produces_restarts_and_consumes() {
    round_trip("kafka_python_client.py");
}

/// One CreateTopics request naming many topics: each gets its own answer
/// (created, already there, colliding with one before it in the same
/// request), and the created ones are all there with their partitions.
#[test]
fn one_create_topics_request_answers_each_topic() {
    let kfkd = Kfkd::start();
    let b = kfkd.bootstrap();
    let before = run(python("create_topics.py").args([&b, "there"]), T);
    assert_eq!(String::from_utf8_lossy(&before.stdout).trim(), "there: ok");

    let mut args = vec![
        b.clone(),
        "web.clicks:2".into(),
        "web_clicks".into(),
        "there".into(),
    ];
    args.extend((0..150).map(|i| format!("many-{i:03}:3")));
    let out = run(python("create_topics.py").args(&args), T);
    let text = String::from_utf8_lossy(&out.stdout);
    let answers: std::collections::BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(answers.len(), 153, "{text}");
    assert_eq!(answers["web.clicks"], "ok", "{text}");
    assert!(
        answers["web_clicks"].contains("collides with existing topic 'web.clicks'"),
        "{text}"
    );
    assert!(answers["there"].contains("already exists"), "{text}");
    assert!(
        (0..150).all(|i| answers[format!("many-{i:03}").as_str()] == "ok"),
        "{text}"
    );

    let home = KfkHome::new();
    let listed = home.ok(&["-b", &b, "topics", "list", "-o", "json"]);
    assert!(
        listed.contains("\"many-149\"") && listed.contains("\"web.clicks\""),
        "{listed}"
    );
    assert!(!listed.contains("\"web_clicks\""), "{listed}");
    let described = home.ok(&["-b", &b, "topics", "describe", "many-077", "-o", "json"]);
    let described: serde_json::Value = serde_json::from_str(&described).unwrap();
    let partitions = described["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 3, "{described}");
    assert!(partitions.iter().all(|p| p["leader"] == 1), "{described}");
}
