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

/// `kfk consume --format` prints what `kcat -C -f` prints for the same
/// format string, byte for byte: every token, and escapes kcat reads its
/// own way (`\x` without digits, `\NNN` numbers, a backslash before `%`).
#[test]
fn kfk_format_strings_print_what_kcat_prints() {
    let kfkd = Kfkd::start_with(&["--num-partitions", "1"]);
    let b = kfkd.bootstrap();
    let home = kfk_e2e::KfkHome::new();
    // A keyed record with headers, a record without a key, and one whose
    // value is empty.
    home.ok_stdin(
        &[
            "-b", &b, "produce", "fmt", "-K", ":", "-H", "app=kfk", "-H", "empty=",
        ],
        "k1:first value\n",
    );
    home.ok_stdin(&["-b", &b, "produce", "fmt"], "no key here\n");
    let formats = [
        "%t|%p|%o|%k|%s|%K|%S|%h\\n",
        "%R%s",
        "[%T] 100%% \\x41\\x4a\\xgz \\x4142 \\xab \\65\\0101\\0x43\\q\\\\ a\\%t\\n",
        "x\\09y%s\\n",
        "\\t%k\\r\\n",
    ];
    for f in formats {
        let theirs = run(
            kcat().args(["-b", &b, "-C", "-t", "fmt", "-e", "-q", "-f", f]),
            T,
        )
        .stdout;
        let ours = home.kfk(&[
            "-b",
            &b,
            "consume",
            "fmt",
            "--from-beginning",
            "-e",
            "-q",
            "--format",
            f,
        ]);
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert_eq!(
            ours.stdout,
            theirs,
            "format {f:?}\nkfk:  {:?}\nkcat: {:?}",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs)
        );
        assert!(!theirs.is_empty());
    }
    // Both refuse an unknown token.
    let out = home.kfk(&["-b", &b, "consume", "fmt", "-e", "--format", "%q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format token %q"));
}
