//! Client quotas: `kfk quotas` sets, lists and removes them (by user, client
//! id, and their defaults), and a client over its byte rate is slowed down
//! by the broker's throttling (throttle_time_ms and a muted connection),
//! producing and consuming, while others are not.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, Kfkd, run_unchecked, tool};

const T: Duration = Duration::from_secs(90);

fn kcat(addr: &str, client_id: &str) -> Command {
    let mut cmd = Command::new(tool("kcat", "the Debian package kcat"));
    cmd.args(["-b", addr, "-X", &format!("client.id={client_id}")]);
    cmd
}

/// Produces `count` records of 1000 bytes in small requests; how long it took.
fn produce(addr: &str, client_id: &str, topic: &str, count: usize) -> Duration {
    let started = Instant::now();
    let mut p = kcat(addr, client_id)
        .args(["-P", "-t", topic, "-p", "0"])
        .args(["-X", "linger.ms=0", "-X", "batch.size=4000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat");
    let line = "x".repeat(999) + "\n";
    let mut input = p.stdin.take().unwrap();
    for _ in 0..count {
        std::io::Write::write_all(&mut input, line.as_bytes()).unwrap();
    }
    drop(input);
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

#[test]
fn quotas_are_set_listed_removed_and_slow_down_only_their_clients() {
    let kfkd = Kfkd::start();
    let addr = kfkd.bootstrap();
    let home = Home::new();
    let b = ["-b", addr.as_str()];
    let kfk = |args: &[&str]| home.ok(&[&b[..], args].concat());
    kfk(&["topics", "create", "metered", "-p", "1"]);
    kfk(&[
        "quotas",
        "set",
        "--client-id",
        "slow",
        "producer_byte_rate=20000",
    ]);
    kfk(&[
        "quotas",
        "set",
        "--client-id",
        "slow",
        "consumer_byte_rate=20000",
    ]);
    kfk(&[
        "quotas",
        "set",
        "--user",
        "alice",
        "--default-client-id",
        "request_percentage=50",
    ]);
    // Kafka's precedence puts a default user's quota above a client id's:
    // this one is for another client id.
    kfk(&[
        "quotas",
        "set",
        "--default-user",
        "--client-id",
        "fast",
        "producer_byte_rate=1e9",
    ]);
    let listed = home.json(&[&b[..], &["quotas", "list"]].concat());
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let slow = home.json(&[&b[..], &["quotas", "list", "--client-id", "slow"]].concat());
    assert_eq!(slow[0]["quotas"]["producer_byte_rate"], 20000.0, "{slow}");
    assert_eq!(slow[0]["quotas"]["consumer_byte_rate"], 20000.0, "{slow}");
    let table = kfk(&["quotas", "list", "--user", "alice"]);
    assert!(
        table.contains("<default>") && table.contains("request_percentage=50"),
        "{table}"
    );
    let said = home.fails(&[&b[..], &["quotas", "set", "--user", "bob", "connections=3"]].concat());
    assert!(said.contains("not a quota"), "{said}");

    // 300 kB at 20 kB/s: the allowance of the first ten seconds is spent
    // after 200 kB, and the rest waits out its throttle.
    let throttled = produce(&addr, "slow", "metered", 300);
    assert!(throttled >= Duration::from_secs(3), "{throttled:?}");
    let started = Instant::now();
    let out = run_unchecked(
        kcat(&addr, "slow")
            .args(["-C", "-t", "metered", "-e", "-q"])
            .args(["-X", "fetch.max.bytes=8000", "-X", "message.max.bytes=4000"]),
        T,
    );
    let reading = started.elapsed();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        300,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(reading >= Duration::from_secs(3), "{reading:?}");

    // Removed, the client goes at full speed again; others never waited.
    kfk(&["quotas", "delete", "--client-id", "slow"]);
    let listed = home.json(&[&b[..], &["quotas", "list"]].concat());
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    kfk(&[
        "quotas",
        "delete",
        "--user",
        "alice",
        "--default-client-id",
        "request_percentage",
    ]);
    assert!(kfk(&["zk-shell", "ls", "/config/users"]).contains("<default>"));
}
