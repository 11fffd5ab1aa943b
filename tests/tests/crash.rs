//! SIGKILL during a produce stream: every message acknowledged after the broker
//! flushed (`log.flush.interval.messages=1`) is there after a restart.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kfk_e2e::{Kfkd, python, run, tool, wait_until};

#[test]
fn acknowledged_messages_survive_sigkill() {
    let mut kfkd = Kfkd::start_with(&[
        "--log-flush-interval-messages",
        "1",
        "--num-partitions",
        "2",
    ]);
    let mut producer = python("acked_producer.py")
        .args([&kfkd.bootstrap(), "crashy", "200000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("producer");
    let acks: Arc<Mutex<Vec<String>>> = Arc::default();
    let reader = {
        let acks = Arc::clone(&acks);
        let stdout = producer.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                acks.lock().unwrap().push(line);
            }
        })
    };
    wait_until(Duration::from_secs(60), "500 acknowledged messages", || {
        acks.lock().unwrap().len() >= 500
    });
    kfkd.kill9();
    // The producer gives up on its own once the broker is gone.
    let deadline = Instant::now() + Duration::from_secs(60);
    while producer.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "producer did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap();
    let acked: BTreeMap<(u32, u64), String> = acks
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == "ACK").then_some(())?;
            Some((
                (it.next()?.parse().ok()?, it.next()?.parse().ok()?),
                it.next()?.to_string(),
            ))
        })
        .collect();
    assert!(acked.len() >= 500);

    kfkd.start_again();
    let out = run(
        Command::new(tool("kcat", "the Debian package kcat")).args([
            "-b",
            &kfkd.bootstrap(),
            "-C",
            "-t",
            "crashy",
            "-e",
            "-q",
            "-f",
            "%p %o %s\n",
        ]),
        Duration::from_secs(60),
    );
    let stored: BTreeMap<(u32, u64), String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((
                (it.next()?.parse().ok()?, it.next()?.parse().ok()?),
                it.next()?.to_string(),
            ))
        })
        .collect();
    for (at, value) in &acked {
        assert_eq!(
            stored.get(at),
            Some(value),
            "acknowledged message at {at:?} lost"
        );
    }
}
