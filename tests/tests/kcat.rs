//! kcat (librdkafka) against a real kfkd process.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use kfk_e2e::{Kfkd, run, tool};

const T: Duration = Duration::from_secs(60);

fn kcat() -> Command {
    Command::new(tool("kcat", "the Debian package kcat"))
}

#[test]
fn kcat_lists_the_broker_and_topics() {
    let kfkd = Kfkd::start_with(&["--num-partitions", "2"]);
    let out = run(kcat().args(["-b", &kfkd.bootstrap(), "-L"]), T);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 brokers:"), "{text}");
    assert!(
        text.contains(&format!("broker 1 at {} (controller)", kfkd.bootstrap())),
        "{text}"
    );
    assert!(text.contains("0 topics:"), "{text}");

    // Producing to a new topic auto-creates it with num.partitions.
    let mut producer = kcat()
        .args(["-b", &kfkd.bootstrap(), "-P", "-t", "listed"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("kcat");
    writeln!(producer.stdin.take().expect("stdin"), "hello").expect("write");
    assert!(producer.wait().expect("wait").success());
    let out = run(kcat().args(["-b", &kfkd.bootstrap(), "-L"]), T);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 topics:"), "{text}");
    assert!(
        text.contains("topic \"listed\" with 2 partitions:"),
        "{text}"
    );
    assert!(
        text.contains("partition 0, leader 1, replicas: 1, isrs: 1"),
        "{text}"
    );
}

#[test]
fn kcat_round_trips_1000_keyed_messages_in_partition_order() {
    let kfkd = Kfkd::start_with(&["--num-partitions", "3"]);
    let b = kfkd.bootstrap();
    let input: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("key{}", i % 37), format!("value{i}")))
        .collect();
    let mut producer = kcat()
        .args(["-b", &b, "-P", "-t", "keyed", "-K:"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat");
    {
        let mut stdin = producer.stdin.take().expect("stdin");
        for (k, v) in &input {
            writeln!(stdin, "{k}:{v}").expect("write");
        }
    }
    let out = producer.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "kcat -P failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(
        kcat().args([
            "-b",
            &b,
            "-C",
            "-t",
            "keyed",
            "-e",
            "-q",
            "-f",
            "%p|%o|%k|%s\n",
        ]),
        T,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut by_partition: HashMap<u32, Vec<(u64, String, String)>> = HashMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.splitn(4, '|').collect();
        assert_eq!(parts.len(), 4, "unexpected line {line:?}");
        by_partition
            .entry(parts[0].parse().unwrap())
            .or_default()
            .push((
                parts[1].parse().unwrap(),
                parts[2].to_string(),
                parts[3].to_string(),
            ));
    }
    assert_eq!(by_partition.len(), 3, "keys spread over the 3 partitions");
    let mut consumed = 0;
    let mut key_partition: HashMap<String, u32> = HashMap::new();
    for (p, msgs) in &by_partition {
        // Offsets are dense from 0, and messages keep production order.
        for (i, (offset, key, value)) in msgs.iter().enumerate() {
            assert_eq!(*offset, i as u64);
            let prev = key_partition.insert(key.clone(), *p);
            assert!(prev.is_none_or(|q| q == *p), "key {key} in two partitions");
            let _ = value;
        }
        let produced: Vec<&(String, String)> = input
            .iter()
            .filter(|(k, _)| msgs.iter().any(|(_, mk, _)| mk == k))
            .collect();
        let got: Vec<(&String, &String)> = msgs.iter().map(|(_, k, v)| (k, v)).collect();
        let want: Vec<(&String, &String)> = produced.iter().map(|(k, v)| (k, v)).collect();
        assert_eq!(got, want, "partition {p} order");
        consumed += msgs.len();
    }
    assert_eq!(consumed, 1000);
}
