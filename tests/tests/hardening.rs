//! Commands and files that must never brick a broker: long topic names,
//! partitions the metadata no longer has, damaged metadata files, internal
//! topics, addresses clients cannot reach.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Kfkd, bin, free_port, python, run, run_unchecked};

/// Names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_topic_with_a_249_character_name_is_created_used_and_deleted() {
    let mut kfkd = Kfkd::start();
    let b = kfkd.bootstrap();
    let home = Home::new();
    let name: String = "t".repeat(240) + &"x".repeat(9);
    assert_eq!(name.len(), 249);
    home.ok(&["-b", &b, "topics", "create", &name, "-p", "2"]);
    home.ok_stdin(&["-b", &b, "produce", &name], "kept\n");
    home.ok(&["-b", &b, "topics", "delete", &name, "--yes"]);
    assert!(
        !entries(&kfkd.data_dir).iter().any(|e| e.starts_with("ttt")),
        "{:?}",
        entries(&kfkd.data_dir)
    );
    // The broker still starts, and the name can be used again.
    kfkd.restart();
    let b = kfkd.bootstrap();
    home.ok(&["-b", &b, "topics", "create", &name]);
    home.ok_stdin(&["-b", &b, "produce", &name], "again\n");
    let out = home.ok(&["-b", &b, "consume", &name, "--from-beginning", "-e", "-q"]);
    assert_eq!(out, "again\n");
}

#[test]
fn a_partition_the_metadata_does_not_have_is_set_aside_not_fatal() {
    let mut kfkd = Kfkd::start();
    let home = Home::new();
    home.ok(&["-b", &kfkd.bootstrap(), "topics", "create", "real"]);
    home.ok_stdin(&["-b", &kfkd.bootstrap(), "produce", "real"], "r\n");
    kfkd.stop();
    // A partition directory nobody created through the cluster, holding
    // data (a copy of a real one).
    let ghost = kfkd.data_dir.join("ghost-0");
    std::fs::create_dir(&ghost).unwrap();
    for e in std::fs::read_dir(kfkd.data_dir.join("real-0")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), ghost.join(e.file_name())).unwrap();
    }
    kfkd.start_again();
    let names = entries(&kfkd.data_dir);
    let aside: Vec<&String> = names.iter().filter(|n| n.starts_with("ghost-0.")).collect();
    assert_eq!(aside.len(), 1, "{names:?}");
    assert!(aside[0].ends_with("-stray"), "{names:?}");
    assert!(!names.contains(&"ghost-0".to_string()));
    // Its data is kept.
    assert!(
        std::fs::read_dir(kfkd.data_dir.join(aside[0]))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".log"))
    );
    assert!(kfkd.log().contains("its log was set aside"));
    let topics = home.ok(&["-b", &kfkd.bootstrap(), "topics", "list"]);
    assert!(
        topics.contains("real") && !topics.contains("ghost"),
        "{topics}"
    );
    // A later start leaves it alone, with a reminder.
    kfkd.restart();
    assert!(entries(&kfkd.data_dir).contains(aside[0]));
}

/// kfkd's error when it refuses to start: its last `kfkd: error:` line.
fn start_error(data_dir: &Path) -> String {
    let out = run_unchecked(
        Command::new(bin("kfkd"))
            .env_clear()
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", free_port())),
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "kfkd started");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .find(|l| l.starts_with("kfkd: error:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn damaged_metadata_files_are_named_with_what_to_do() {
    let mut kfkd = Kfkd::start();
    let home = Home::new();
    for t in ["a", "b", "c"] {
        home.ok(&["-b", &kfkd.bootstrap(), "topics", "create", t]);
    }
    kfkd.stop();
    let quorum = kfkd.data_dir.join("__cluster_metadata");
    let vote = quorum.join("vote.json");
    let saved_vote = std::fs::read(&vote).unwrap();
    std::fs::write(&vote, b"").unwrap();
    let err = start_error(&kfkd.data_dir);
    assert!(err.contains("vote.json is empty"), "{err}");
    assert!(err.contains("move") && err.contains("aside"), "{err}");
    std::fs::write(&vote, b"{\"term\":").unwrap();
    let err = start_error(&kfkd.data_dir);
    assert!(err.contains("vote.json is not what kfkd wrote"), "{err}");
    std::fs::write(&vote, saved_vote).unwrap();

    // A damaged line before the end: later entries cannot be trusted.
    let log = quorum.join("log.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 3);
    let kept = lines[2].to_string();
    lines[2] = "{garbage";
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let err = start_error(&kfkd.data_dir);
    assert!(err.contains("log.jsonl is damaged at line 3"), "{err}");
    lines[2] = &kept;
    // A torn last line (a crash mid-write) is dropped, as before.
    std::fs::write(&log, lines.join("\n") + "\n{\"log_id\":").unwrap();
    kfkd.start_again();
    let topics = home.ok(&["-b", &kfkd.bootstrap(), "topics", "list"]);
    assert!(topics.contains('c'), "{topics}");
}

#[test]
fn a_voter_whose_metadata_was_moved_aside_copies_it_back_and_keeps_its_data() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["topics", "create", "spread", "-p", "3", "-r", "3"]);
    let input: String = (0..30).map(|i| format!("m{i}\n")).collect();
    home.ok_stdin(&["produce", "spread", "--acks", "all"], &input);
    home.ok(&["cluster", "stop-broker", "2"]);
    let dir = home.broker_data_dirs()[1].clone();
    let quorum = dir.join("__cluster_metadata");
    std::fs::rename(&quorum, dir.join("__cluster_metadata.damaged")).unwrap();
    home.ok(&["cluster", "start-broker", "2"]);
    // Its partitions are still there and it is back in every ISR.
    for p in 0..3 {
        assert!(dir.join(format!("spread-{p}")).exists());
    }
    home.wait_json(
        &["topics", "describe", "spread"],
        Duration::from_secs(30),
        "broker 2 back in sync",
        |t| {
            kfk_e2e::partition_layout(t)
                .iter()
                .all(|(_, replicas)| replicas.iter().all(|(_, in_sync)| *in_sync))
        },
    );
    // It serves the data it kept: stop the others, read from it alone.
    home.ok(&["cluster", "stop-broker", "1"]);
    home.ok(&["cluster", "stop-broker", "3"]);
    home.ok(&["cluster", "start-broker", "1"]);
    let out = home.ok(&["consume", "spread", "--from-beginning", "-e", "-q"]);
    assert_eq!(out.lines().count(), 30, "{out}");
}

#[test]
fn internal_topics_cannot_be_deleted_or_resized_from_any_client() {
    let home = Home::new();
    let base = home.up_cluster(1);
    // A group makes the offsets topic exist.
    home.ok(&["topics", "create", "t"]);
    home.ok_stdin(&["produce", "t"], "x\n");
    home.ok(&[
        "consume",
        "t",
        "--group",
        "g",
        "--from-beginning",
        "-n",
        "1",
    ]);
    let out = home.kfk(&["topics", "delete", "__consumer_offsets", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Topic __consumer_offsets is a kafka internal topic and is not allowed to be marked for deletion"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        python("internal_topics.py").arg(format!("127.0.0.1:{base}")),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // librdkafka asks DeleteTopics at a version without an error message.
    assert!(
        text.contains("delete: Broker: Invalid request")
            || text.contains("internal topic and cannot be deleted"),
        "{text}"
    );
    assert!(
        text.contains("grow: ") && !text.contains("grow: ok"),
        "{text}"
    );
    let out = home.kfk(&[
        "topics",
        "alter",
        "__consumer_offsets",
        "--partitions",
        "60",
    ]);
    assert!(!out.status.success());
    // Still there, offsets intact.
    let described = home.json(&["groups", "describe", "g"]);
    assert_eq!(
        described["partitions"][0]["current_offset"], 1,
        "{described}"
    );
}

#[test]
fn an_address_clients_cannot_reach_is_refused_and_a_bare_port_is_advertised_by_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = run_unchecked(
        Command::new(bin("kfkd"))
            .env_clear()
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(format!("0.0.0.0:{port}")),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-routable meta-address") && err.contains("--advertised-listener"),
        "{err}"
    );
    // `:PORT` binds every interface and advertises this host's name.
    let log = dir.path().join("kfkd.log");
    let _kfkd = kfk_e2e::Spawned::start(
        Command::new(bin("kfkd"))
            .env_clear()
            .env("RUST_LOG", "info")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen")
            .arg(format!(":{port}")),
        &log,
    );
    kfk_e2e::wait_until(Duration::from_secs(20), "kfkd to start", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains(kfk_wire::KFKD_READY))
    });
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let home = Home::new();
    let broker = home.json(&[
        "-b",
        &format!("127.0.0.1:{port}"),
        "describe",
        "broker",
        "1",
    ]);
    assert_eq!(broker["host"], host.trim(), "{broker}");
}

/// A memory figure of process `pid` from /proc (`VmRSS`, `VmHWM`), in bytes.
fn proc_memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    proc_memory(pid, "VmRSS")
}

/// A request frame: length, api key, version, correlation id, a null client
/// id (plus the header's tagged fields when `flexible`), then `body`.
fn frame(api: i16, version: i16, flexible: bool, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&api.to_be_bytes());
    f.extend_from_slice(&version.to_be_bytes());
    f.extend_from_slice(&7i32.to_be_bytes());
    f.extend_from_slice(&(-1i16).to_be_bytes());
    if flexible {
        f.push(0);
    }
    f.extend_from_slice(body);
    let mut out = (f.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&f);
    out
}

/// Whether the broker closes the connection after `bytes` (its answer to a
/// malformed request).
fn closed_after(addr: &str, bytes: &[u8]) -> bool {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn frames_claiming_billions_of_elements_are_errors_not_memory() {
    let kfkd = Kfkd::start();
    let home = Home::new();
    home.ok(&["-b", &kfkd.bootstrap(), "topics", "create", "t"]);
    let before = rss(kfkd.pid());
    // A 4-byte array count of 2^31-1 and a compact (varint) one of 2^32-1,
    // in requests of a few bytes.
    let claims = [
        frame(3, 0, false, &i32::MAX.to_be_bytes()),
        frame(3, 12, true, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        frame(32, 4, true, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        frame(
            0,
            9,
            true,
            &[
                0x00, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0xff, 0xff, 0xff, 0xff, 0x0f,
            ],
        ),
        frame(19, 7, true, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for _round in 0..4 {
        for c in &claims {
            assert!(closed_after(&kfkd.bootstrap(), c), "{c:?} was answered");
        }
    }
    let after = rss(kfkd.pid());
    assert!(
        after < before + 64 * 1024 * 1024,
        "RSS grew from {before} to {after} bytes"
    );
    // Still serving.
    home.ok_stdin(&["-b", &kfkd.bootstrap(), "produce", "t"], "alive\n");
    // Twenty bad frames in a burst from one address: one line, not twenty.
    let warned = kfkd
        .log()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("closing connection"))
        .count();
    assert_eq!(warned, 1, "{}", kfkd.log());
}

#[test]
fn a_corrupt_batch_is_named_and_can_be_skipped_without_losing_what_follows() {
    let mut kfkd = Kfkd::start_with(&["--log-segment-bytes", "150"]);
    let home = Home::new();
    let b = kfkd.bootstrap();
    home.ok(&["-b", &b, "topics", "create", "dmg"]);
    for v in ["one", "two", "three", "four"] {
        home.ok_stdin(&["-b", &b, "produce", "dmg"], &format!("{v}\n"));
    }
    kfkd.stop();
    // Garbage over the records of the batch at offset 1, after a clean
    // shutdown (its segment is not the active one).
    let seg = kfkd.data_dir.join("dmg-0").join("00000000000000000000.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    assert!(bytes.len() > 64, "{}", bytes.len());
    let at = bytes.len() - 4;
    bytes[at..].copy_from_slice(b"XXXX");
    std::fs::write(&seg, bytes).unwrap();
    kfkd.start_again();
    let b = kfkd.bootstrap();
    let out = home.kfk(&["-b", &b, "consume", "dmg", "--from-beginning", "-e", "-q"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "one\n",
        "what came before is printed"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt record batch at offset 1 in dmg-0 (data on the broker is damaged"),
        "{err}"
    );
    assert!(err.contains("--skip-corrupt"), "{err}");
    let out = home.kfk(&[
        "-b",
        &b,
        "consume",
        "dmg",
        "--from-beginning",
        "-e",
        "-q",
        "--skip-corrupt",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\nthree\nfour\n");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("skipped a corrupt record batch at offset 1 in dmg-0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Peak resident memory of process `pid` so far, in bytes.
fn peak_rss(pid: u32) -> u64 {
    proc_memory(pid, "VmHWM")
}

#[test]
fn many_large_requests_at_once_stay_within_the_request_memory_bound() {
    // One 100 MiB request fits in the bound at a time; eight arrive at once.
    let kfkd = Kfkd::start_with(&["--queued-max-request-bytes", "110000000"]);
    let addr = kfkd.bootstrap();
    let size: usize = 100 * 1024 * 1024 - 16;
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut s = std::net::TcpStream::connect(&addr).unwrap();
                // A Produce v3 header, then a body that is not a request.
                let mut head = (size as i32).to_be_bytes().to_vec();
                head.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 9, 0xff, 0xff]);
                let _ = s.write_all(&head);
                let chunk = vec![0xabu8; 1024 * 1024];
                let mut left = size - 10;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = std::io::Read::read(&mut s, &mut [0u8; 8]);
            })
        })
        .collect();
    for t in senders {
        t.join().unwrap();
    }
    let peak = peak_rss(kfkd.pid());
    assert!(
        peak < 260 * 1024 * 1024,
        "peak RSS {} MiB for 8 concurrent 100 MiB requests",
        peak / 1024 / 1024
    );
    let home = Home::new();
    home.ok(&["-b", &addr, "topics", "create", "after"]);
}

#[test]
fn more_partitions_than_open_files_live_within_the_limit() {
    // Soft limit 256, hard 1024: kfkd raises the soft one, then keeps at most
    // 1024 - 256 (connections) - 128 (its own files) = 640 segment files open,
    // closing the least recently used: 2,000 partitions still work.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("kfkd.log");
    let data = dir.path().join("data");
    let script = format!(
        "ulimit -Sn 256 && ulimit -Hn 1024 && exec {} --data-dir {} --listen 127.0.0.1:{port} --max-broker-partitions 2500",
        bin("kfkd").display(),
        data.display()
    );
    let start = || {
        let s = kfk_e2e::Spawned::start(
            Command::new("bash")
                .args(["-c", &script])
                .env("RUST_LOG", "info"),
            &log,
        );
        let before = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(kfk_wire::KFKD_READY)
            .count();
        kfk_e2e::wait_until(Duration::from_secs(30), "kfkd to start", || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.matches(kfk_wire::KFKD_READY).count() > before)
        });
        s
    };
    let fds = || -> usize {
        let pid = String::from_utf8(
            Command::new("pgrep")
                .args(["-f", &format!("data-dir {}", data.display())])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let pid = pid.lines().next().unwrap().trim().to_string();
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let kfkd = start();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("raised the open-file limit to the hard limit from=256 to=1024"),
        "{text}"
    );
    assert!(text.contains("segment_files=640"), "{text}");
    let home = Home::new();
    let b = format!("127.0.0.1:{port}");
    home.ok(&["-b", &b, "topics", "create", "wide", "-p", "2000"]);
    assert!(fds() <= 1024, "{} fds", fds());
    let input: String = (0..4000).map(|i| format!("k{i}:v{i}\n")).collect();
    home.ok_stdin(&["-b", &b, "produce", "wide", "-K", ":"], &input);
    assert!(fds() <= 1024, "{} fds", fds());
    let out = home.ok(&["-b", &b, "consume", "wide", "--from-beginning", "-e", "-q"]);
    assert_eq!(out.lines().count(), 4000);
    assert!(fds() <= 1024, "{} fds", fds());
    // What the broker cannot hold is refused up front, whatever asks for it,
    // and nothing of it is created.
    let err = home.fails(&["-b", &b, "topics", "create", "more", "-p", "600"]);
    assert!(
        err.contains("broker 1 can hold 2500 partition replicas (max.broker.partitions) and holds 2000; this would add 600"),
        "{err}"
    );
    let err = home.fails(&["-b", &b, "topics", "alter", "wide", "--partitions", "2501"]);
    assert!(err.contains("this would add 501"), "{err}");
    let listed = home.ok(&["-b", &b, "topics", "list"]);
    assert!(!listed.contains("more"), "{listed}");
    // A restart opens every partition again, within the limit.
    drop(kfkd);
    let _kfkd = start();
    let out = home.ok(&["-b", &b, "consume", "wide", "--from-beginning", "-e", "-q"]);
    assert_eq!(out.lines().count(), 4000);
    assert!(fds() <= 1024, "{} fds", fds());
}

#[test]
fn an_admin_command_slower_than_its_timeout_reports_its_own_outcome() {
    // Creating, growing and deleting 15,000 partitions takes a debug broker
    // seconds; with a one-second request timeout the broker answers "timed
    // out" while the change goes on, and kfk's retry must recognise its own
    // change rather than report "already exists" or "does not exist".
    let home = Home::new();
    home.up();
    let created = home.kfk(&[
        "--request-timeout",
        "1s",
        "topics",
        "create",
        "big",
        "-p",
        "15000",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let count = |described: &serde_json::Value| {
        described
            .as_array()
            .map(|a| a[0]["partitions"].as_array().map_or(0, Vec::len))
            .or_else(|| described["partitions"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    assert_eq!(count(&home.json(&["topics", "describe", "big"])), 15000);
    // A second create of the same name is someone else's: refused.
    let again = home.fails(&["topics", "create", "big", "-p", "3"]);
    assert!(again.contains("already exists"), "{again}");
    // Growing it by thousands of partitions is the same: kfk reports its
    // own change, not "already has 20000 partitions".
    let grown = home.kfk(&[
        "--request-timeout",
        "1s",
        "topics",
        "alter",
        "big",
        "--partitions",
        "20000",
    ]);
    assert!(
        grown.status.success(),
        "{}",
        String::from_utf8_lossy(&grown.stderr)
    );
    assert_eq!(count(&home.json(&["topics", "describe", "big"])), 20000);
    let deleted = home.kfk(&[
        "--request-timeout",
        "1s",
        "topics",
        "delete",
        "big",
        "--yes",
    ]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let listed = home.ok(&["topics", "list"]);
    assert!(!listed.contains("big"), "{listed}");
}
