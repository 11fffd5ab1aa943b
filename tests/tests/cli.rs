//! The real `kfk` binary against real `kfkd` processes under a temporary
//! KFK_HOME: the quick start word for word, tables and JSON, the Java
//! partitioner, bad input, an absent broker, and the examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome, free_port, run_unchecked};

const T: Duration = Duration::from_secs(60);

type Home = KfkHome;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_quick_start_word_for_word() {
    let home = Home::new();
    let up = home.up();
    assert!(
        up.contains(&format!("bootstrap: 127.0.0.1:{}", home.port())),
        "{up}"
    );
    home.ok(&[
        "topics",
        "create",
        "myorders",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
    ]);
    home.ok_stdin(&["produce"], "msg\n");
    let got = home.ok(&["consume", "--from-beginning", "--max-messages", "1"]);
    assert_eq!(got, "msg\n");
}

#[test]
fn topics_print_tables_and_json() {
    let home = Home::new();
    home.up();
    home.ok(&[
        "topics",
        "create",
        "orders",
        "-p",
        "3",
        "-c",
        "retention.ms=3600000",
    ]);
    home.ok(&["topics", "create", "audit", "-p", "1"]);
    let table = home.ok(&["topics", "list"]);
    let lines: Vec<&str> = table.lines().map(str::trim).collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TOPIC", "PARTITIONS", "REPLICATION"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["audit", "1", "1"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["orders", "3", "1"]
    );
    let json: serde_json::Value =
        serde_json::from_str(&home.ok(&["topics", "list", "-o", "json"])).unwrap();
    assert_eq!(json[1]["name"], "orders");
    assert_eq!(json[1]["partitions"], 3);
    assert_eq!(home.ok(&["topics", "list", "ord"]).lines().count(), 2);

    home.ok_stdin(&["produce", "orders", "-p", "1"], "a\nb\n");
    let d: serde_json::Value =
        serde_json::from_str(&home.ok(&["topics", "describe", "orders", "-o", "json"])).unwrap();
    assert_eq!(d["name"], "orders");
    assert_eq!(d["partitions"].as_array().unwrap().len(), 3);
    assert_eq!(d["partitions"][1]["partition"], 1);
    assert_eq!(d["partitions"][1]["leader"], 1);
    assert_eq!(
        d["partitions"][1]["replicas"][0],
        serde_json::json!({"broker": 1, "leader": true, "in_sync": true})
    );
    assert_eq!(d["partitions"][1]["latest_offset"], 2);
    assert_eq!(d["configs"]["retention.ms"], "3600000");
    let text = home.ok(&["topics", "describe", "orders"]);
    assert!(text.contains("PartitionCount: 3"), "{text}");
    assert!(text.contains("Configs: retention.ms=3600000"), "{text}");

    home.ok(&[
        "topics",
        "alter",
        "orders",
        "--partitions",
        "4",
        "--delete-config",
        "retention.ms",
    ]);
    let d: serde_json::Value =
        serde_json::from_str(&home.ok(&["topics", "describe", "orders", "-o", "json"])).unwrap();
    assert_eq!(d["partitions"].as_array().unwrap().len(), 4);
    assert!(d["configs"].as_object().unwrap().is_empty());

    let yaml = home.ok(&["describe", "cluster", "-o", "yaml"]);
    assert!(yaml.contains("controller: 1"), "{yaml}");
    let c: serde_json::Value =
        serde_json::from_str(&home.ok(&["describe", "cluster", "-o", "json"])).unwrap();
    assert_eq!(c["brokers"][0]["port"], i64::from(home.port()));
    assert_eq!(c["partitions"], 5);

    home.ok(&["topics", "delete", "audit", "--yes"]);
    let out = home.kfk(&["topics", "delete", "audit"]);
    assert!(
        !out.status.success(),
        "deleting without --yes off a terminal must refuse"
    );
    home.ok(&["topics", "delete", "audit", "--if-exists", "--yes"]);
    assert!(!home.ok(&["topics", "list"]).contains("audit"));
}

#[test]
fn keys_land_where_the_java_partitioner_puts_them() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "keyed", "--partitions", "3"]);
    // murmur2 values from Kafka's UtilsTest, partition = toPositive(h) % 3.
    let known = [
        ("21", -973_932_308i32),
        ("foobar", -790_332_482),
        ("abc", 479_470_107),
    ];
    let input: String = known.iter().map(|(k, _)| format!("{k}:v-{k}\n")).collect();
    home.ok_stdin(&["produce", "keyed", "-K", ":"], &input);
    let out = home.ok(&[
        "consume",
        "keyed",
        "--from-beginning",
        "-e",
        "-f",
        "%k %p\\n",
    ]);
    for (key, hash) in known {
        let want = (hash & 0x7fff_ffff) % 3;
        assert!(
            out.lines().any(|l| l == format!("{key} {want}")),
            "{key} not on {want}: {out}"
        );
    }
}

#[test]
fn jsonl_dumps_replay_losslessly() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "src", "--partitions", "2"]);
    home.ok(&["topics", "create", "dst", "--partitions", "2"]);
    let records = concat!(
        r#"{"partition":0,"key":null,"value":"plain"}"#,
        "\n",
        r#"{"partition":1,"key":"","value":{"base64":"/wAB"},"headers":[{"key":"h","value":"x"}]}"#,
        "\n",
        r#"{"partition":1,"key":"k","value":null}"#,
        "\n",
    );
    home.ok_stdin(&["produce", "src", "--input", "jsonl"], records);
    let dump = home.ok(&["consume", "src", "--from-beginning", "-e", "-o", "jsonl"]);
    assert_eq!(dump.lines().count(), 3);
    home.ok_stdin(
        &["produce", "dst", "--input", "jsonl"],
        &dump.replace("\"topic\":\"src\"", "\"topic\":\"dst\""),
    );
    let again = home.ok(&["consume", "dst", "--from-beginning", "-e", "-o", "jsonl"]);
    let strip = |s: &str| -> Vec<serde_json::Value> {
        let mut v: Vec<serde_json::Value> = s
            .lines()
            .map(|l| {
                let mut j: serde_json::Value = serde_json::from_str(l).unwrap();
                j.as_object_mut().unwrap().remove("topic");
                j
            })
            .collect();
        v.sort_by_key(|j| j.to_string());
        v
    };
    assert_eq!(strip(&dump), strip(&again));
    assert!(dump.contains(r#""value":{"base64":"/wAB"}"#), "{dump}");
    assert!(
        dump.contains(r#""key":null"#) && dump.contains(r#""key":"""#),
        "{dump}"
    );
}

/// `kfk produce --input jsonl` lines for `(value, timestamp ms)` pairs.
fn dated(records: &[(String, i64)]) -> String {
    records
        .iter()
        .map(|(v, t)| format!("{{\"value\":\"{v}\",\"timestamp\":{t}}}\n"))
        .collect()
}

/// `ms` as RFC 3339 (UTC, whole seconds), as a user would type it.
fn rfc3339(ms: i64) -> String {
    let out = kfk_e2e::run(
        Command::new("date").args([
            "-u",
            "-d",
            &format!("@{}", ms / 1000),
            "+%Y-%m-%dT%H:%M:%SZ",
        ]),
        T,
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn offsets_and_ranges() {
    let home = Home::new().with_env("KFKD_LOG_RETENTION_CHECK_INTERVAL_MS", "200");
    home.up();
    // A segment for each of the two batches below, and a day of retention.
    home.ok(&[
        "topics",
        "create",
        "seq",
        "-p",
        "1",
        "-c",
        "segment.bytes=200",
        "-c",
        "retention.ms=86400000",
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        / 1000
        * 1000;
    // Offsets 0-4: three days old, so retention deletes their segment and
    // the log starts at 5.
    let old: Vec<(String, i64)> = (0..5)
        .map(|i| (format!("old{i}"), now - 3 * 86_400_000 + i))
        .collect();
    home.ok_stdin(&["produce", "seq", "--input", "jsonl"], &dated(&old));
    // Offsets 5-14: m0-m4 twenty minutes ago, m5-m9 two minutes ago, a
    // second apart.
    let ts = |i: i64| {
        if i < 5 {
            now - 20 * 60_000 + i * 1000
        } else {
            now - 2 * 60_000 + (i - 5) * 1000
        }
    };
    let recent: Vec<(String, i64)> = (0..10).map(|i| (format!("m{i}"), ts(i))).collect();
    home.ok_stdin(&["produce", "seq", "--input", "jsonl"], &dated(&recent));
    home.wait_json(
        &["topics", "describe", "seq"],
        Duration::from_secs(30),
        "retention to delete the old segment",
        |t| t["partitions"][0]["earliest_offset"] == 5,
    );

    let read = |spec: &str| home.ok(&["consume", "seq", "--offset", spec, "-e"]);
    let values = |r: std::ops::Range<i64>| -> String { r.map(|i| format!("m{i}\n")).collect() };
    assert_eq!(read("start"), values(0..10));
    assert_eq!(
        home.ok(&["consume", "seq", "--from-beginning", "-e"]),
        values(0..10)
    );
    assert_eq!(read("7"), values(2..10), "offset 7 is m2");
    assert_eq!(read("+2"), values(2..10), "2 after the log start (5)");
    assert_eq!(read("-3"), values(7..10));
    assert_eq!(read("end"), "");
    assert_eq!(read("6:8"), values(1..3));
    assert_eq!(read("@-5m"), values(5..10), "written in the last 5 minutes");
    assert_eq!(read("@-30m"), values(0..10));
    assert_eq!(
        read(&format!("@{}", ts(3))),
        values(3..10),
        "at a record's own time"
    );
    assert_eq!(
        read(&format!("@{}", ts(3) - 500)),
        values(3..10),
        "between two records: from the later"
    );
    assert_eq!(
        read(&format!("@{}:{}", ts(1), ts(3))),
        values(1..3),
        "from T1 up to but not including T2"
    );
    assert_eq!(
        read(&format!("@{}:{}", rfc3339(ts(4)), rfc3339(ts(7)))),
        values(4..7),
        "RFC 3339 times"
    );
    assert_eq!(
        read(&format!("@{}", now + 3_600_000)),
        "",
        "after every record"
    );
    let out = home.ok(&[
        "consume",
        "seq",
        "--from-beginning",
        "--max-messages",
        "2",
        "--property",
        "print.offset=true",
    ]);
    assert_eq!(out, "Offset:5\tm0\nOffset:6\tm1\n");
}

#[test]
fn data_survives_cluster_down_and_up() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "keep"]);
    home.ok_stdin(&["produce", "keep"], "still here\n");
    home.ok(&["cluster", "down"]);
    let status = home.kfk(&["cluster", "status"]);
    assert!(!status.status.success());
    home.up();
    assert_eq!(
        home.ok(&["consume", "keep", "--from-beginning", "-n", "1"]),
        "still here\n"
    );
    home.ok(&["cluster", "down", "--purge", "--yes"]);
    assert!(!home.path().join("data").join("cluster").exists());
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "one"]);
    home.ok(&["topics", "create", "two"]);

    let out = home.kfk(&["consume", "nope", "-e"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: topic 'nope' does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: see `kfk topics list`"));

    let out = home.kfk_stdin(&["produce"], "x\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the cluster has 2: one, two"),
        "{}",
        stderr(&out)
    );
    home.ok(&["config", "set", "topic", "two"]);
    home.ok_stdin(&["produce"], "x\n");
    assert_eq!(home.ok(&["consume", "--from-beginning", "-n", "1"]), "x\n");

    let out = home.kfk(&["topics", "create", "one"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    home.ok(&["topics", "create", "one", "--if-not-exists"]);

    // '.' and '_' collide in metric names: Kafka refuses the second, and
    // only a pair differing in nothing else.
    home.ok(&["topics", "create", "web.clicks"]);
    let out = home.kfk(&["topics", "create", "web_clicks"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("collides with existing topic 'web.clicks'"),
        "{}",
        stderr(&out)
    );
    home.ok(&["topics", "create", "web_click"]);
    home.ok(&["topics", "create", "web-clicks"]);

    let out = home.kfk(&["topics", "create", "bad name"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad name"), "{}", stderr(&out));

    let out = home.kfk(&["consume", "two", "--offset", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid offset"), "{}", stderr(&out));

    let out = home.kfk(&["topics", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    let out = home.kfk_stdin(&["produce", "two", "-K", ":"], "no separator here\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 1 has no key separator"),
        "{}",
        stderr(&out)
    );

    let out = home.kfk(&["consume", "two", "-p", "7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no partition 7"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn an_absent_broker_fails_within_seconds() {
    let home = Home::new();
    let started = Instant::now();
    let out = home.kfk(&[
        "-b",
        &format!("127.0.0.1:{}", free_port()),
        "topics",
        "list",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach any broker"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("kfk cluster up"));
    // Nothing configured at all.
    let out = home.kfk(&["topics", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no cluster to talk to"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_examples_run() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples");
    for script in ["quickstart.sh", "keys-and-partitions.sh", "retention.sh"] {
        let home = Home::new();
        let mut cmd = Command::new("bash");
        home.env(&mut cmd);
        cmd.arg(examples.join(script));
        let out = run_unchecked(&mut cmd, T);
        assert!(
            out.status.success(),
            "{script} failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        match script {
            "quickstart.sh" => assert!(printed.contains("This is the second message")),
            "keys-and-partitions.sh" => {
                // Kafka's partitioner (murmur2) puts alice and bob on
                // partition 0 and carol on 2; each key's orders in order.
                let mut want = String::new();
                for (key, partition, first, step) in
                    [("alice", 0, 0, 2), ("bob", 0, 1, 2), ("carol", 2, 0, 1)]
                {
                    for i in 0..6 {
                        want += &format!(
                            "{partition}\t{}\t{key}\torder-{}\n",
                            first + i * step,
                            i + 1
                        );
                    }
                }
                want += "every key stayed on one partition\n";
                assert!(printed.ends_with(&want), "{printed}");
            }
            "retention.sh" => {
                let configs: Vec<&str> = printed
                    .lines()
                    .filter(|l| l.starts_with("Configs:"))
                    .collect();
                assert_eq!(
                    configs,
                    [
                        "Configs: retention.ms=86400000",
                        "Configs: retention.ms=3600000"
                    ],
                    "{printed}"
                );
                let json = &printed[printed.find("\n{").expect("JSON describe")..];
                let json = &json[..json.find("\n}").expect("end of the JSON") + 2];
                let topic: serde_json::Value = serde_json::from_str(json).unwrap();
                assert_eq!(
                    topic["configs"],
                    serde_json::json!({"retention.ms": "3600000", "retention.bytes": "1073741824"})
                );
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fresh = tempfile::tempdir().unwrap();
    let home = Home::new();
    for (shell, file) in [("bash", "kfk.bash"), ("zsh", "_kfk"), ("fish", "kfk.fish")] {
        let generated = home.ok(&["completion", shell]);
        let committed =
            std::fs::read_to_string(repo.join("completions").join(file)).unwrap_or_default();
        assert!(
            generated == committed,
            "completions/{file} is stale: run scripts/generate-docs.sh"
        );
    }
    home.ok(&["man", fresh.path().to_str().unwrap()]);
    kfk_e2e::run(
        Command::new(kfk_e2e::bin("kfkd"))
            .arg("--man-page")
            .arg(fresh.path()),
        std::time::Duration::from_secs(20),
    );
    let list = |dir: PathBuf| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "1" || e == "8"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(
        list(fresh.path().to_path_buf()) == list(repo.join("man")),
        "man/ is stale: run scripts/generate-docs.sh"
    );
}

#[test]
fn status_broker_and_profiles_print_tables_and_json() {
    let home = Home::new();
    home.up();
    let status: serde_json::Value =
        serde_json::from_str(&home.ok(&["cluster", "status", "-o", "json"])).unwrap();
    assert_eq!(status["bootstrap"], format!("127.0.0.1:{}", home.port()));
    assert_eq!(status["brokers"][0]["running"], true);
    let table = home.ok(&["cluster", "status"]);
    assert!(table.contains("running"), "{table}");

    let broker: serde_json::Value =
        serde_json::from_str(&home.ok(&["describe", "broker", "1", "-o", "json"])).unwrap();
    assert_eq!(broker["id"], 1);
    assert_eq!(broker["controller"], true);
    assert_eq!(broker["configs"]["num.partitions"], "1");
    let out = home.kfk(&["describe", "broker", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broker 9 is not in the cluster"));

    home.ok(&["config", "use", "staging"]);
    home.ok(&["config", "set", "bootstrap", "127.0.0.1:1"]);
    home.ok(&["config", "set", "topic", "t", "--profile", "local"]);
    let profiles: serde_json::Value =
        serde_json::from_str(&home.ok(&["config", "list", "-o", "json"])).unwrap();
    assert_eq!(profiles["current"], "staging");
    assert_eq!(profiles["profiles"]["staging"]["bootstrap"], "127.0.0.1:1");
    assert_eq!(profiles["profiles"]["local"]["topic"], "t");
    let table = home.ok(&["config", "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("staging") && l.contains('*')),
        "{table}"
    );
    // The profile now points at a dead address: that wins over the local cluster.
    let out = home.kfk(&["topics", "list"]);
    assert_eq!(out.status.code(), Some(1));
    // -b wins over the profile.
    home.ok(&[
        "-b",
        &format!("127.0.0.1:{}", home.port()),
        "topics",
        "list",
    ]);
    let out = home.kfk(&["config", "set", "colour", "blue"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The seeds' commands as a Kafka user types them: `--topic`,
/// `--bootstrap-server`, describe without a topic, the console consumer's
/// closing line, and kafka-reassign-partitions' flags answered with kfk's verb.
#[test]
fn kafka_spellings_are_understood() {
    let home = Home::new();
    home.up();
    let bootstrap = format!("127.0.0.1:{}", home.port());
    home.ok(&[
        "topics",
        "create",
        "--topic",
        "first_topic",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
    ]);
    home.ok(&["topics", "create", "--topic", "second_topic"]);
    home.ok_stdin(&["produce", "--topic", "first_topic", "-p", "0"], "a\nb\n");
    // A client.properties' key names kfk's bootstrap setting.
    let set = home.ok(&[
        "config",
        "set",
        "bootstrap.servers",
        &bootstrap,
        "--profile",
        "kafka",
    ]);
    assert!(set.is_empty());
    let listed = home.json(&["config", "list"]);
    assert_eq!(
        listed["profiles"]["kafka"]["bootstrap"],
        bootstrap.as_str(),
        "{listed}"
    );
    let out = home.kfk(&[
        "consume",
        "--topic",
        "first_topic",
        "--from-beginning",
        "--max-messages",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n");
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l == "Processed a total of 2 messages"),
        "{}",
        stderr(&out)
    );
    let quiet = home.kfk(&["consume", "first_topic", "--from-beginning", "-e", "-q"]);
    assert!(!stderr(&quiet).contains("Processed"), "{}", stderr(&quiet));
    // --bootstrap-server before or after the command.
    for args in [
        vec!["--bootstrap-server", bootstrap.as_str(), "topics", "list"],
        vec!["topics", "list", "--bootstrap-server", bootstrap.as_str()],
    ] {
        let listed = home.ok(&args);
        assert!(
            listed.contains("first_topic") && listed.contains("second_topic"),
            "{listed}"
        );
    }
    // describe without a topic: every topic, as kafka-topics --describe.
    let all = home.ok(&["topics", "describe"]);
    assert!(
        all.contains("Topic: first_topic") && all.contains("Topic: second_topic"),
        "{all}"
    );
    assert!(!all.contains("__consumer_offsets"), "{all}");
    // kafka-topics --list --exclude-internal: what kfk lists anyway.
    let listed = home.ok(&["topics", "list", "--exclude-internal"]);
    assert!(
        listed.contains("first_topic") && !listed.contains("__consumer_offsets"),
        "{listed}"
    );
    let json = home.json(&["topics", "describe"]);
    assert_eq!(json.as_array().map(Vec::len), Some(2), "{json}");
    home.ok(&[
        "topics",
        "alter",
        "--topic",
        "first_topic",
        "--partitions",
        "4",
    ]);
    let one = home.ok(&["topics", "describe", "--topic", "first_topic"]);
    assert!(one.contains("PartitionCount: 4"), "{one}");
    assert!(!one.contains("second_topic"), "{one}");
    // kafka-reassign-partitions.sh's flags: the kfk command to run instead.
    let out = home.kfk(&[
        "reassign",
        "--reassignment-json-file",
        "plan.json",
        "--execute",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("kfk reassign execute -f plan.json"),
        "{}",
        stderr(&out)
    );
    let out = home.kfk(&[
        "reassign",
        "--reassignment-json-file",
        "plan.json",
        "--verify",
    ]);
    assert!(
        stderr(&out).contains("kfk reassign verify -f plan.json"),
        "{}",
        stderr(&out)
    );
    home.ok(&[
        "topics",
        "delete",
        "--topic",
        "first_topic",
        "--topic",
        "second_topic",
        "--yes",
    ]);
    assert!(
        home.json(&["topics", "list"])
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

/// The console producer's habit: writing to a topic that does not exist yet
/// creates it when the broker auto-creates topics, and says so; a broker
/// that does not gets a clear refusal that names the command to run.
#[test]
fn produce_creates_a_new_topic_when_the_broker_auto_creates() {
    let home = Home::new();
    home.up();
    let out = home.kfk_stdin(&["produce", "first_topic"], "a\nb\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Created topic first_topic (auto-created by the broker)."),
        "{}",
        stderr(&out)
    );
    let read = home.ok(&["consume", "first_topic", "--from-beginning", "-e"]);
    let mut got: Vec<&str> = read.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["a", "b"]);
    // The second write finds it: no second "Created".
    let again = home.kfk_stdin(&["produce", "first_topic"], "c\n");
    assert!(!stderr(&again).contains("Created"), "{}", stderr(&again));

    let strict = Home::new().with_env("KFKD_AUTO_CREATE_TOPICS_ENABLE", "false");
    strict.up();
    let out = strict.kfk_stdin(&["produce", "first_topic"], "a\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("auto.create.topics.enable=false")
            && stderr(&out).contains("kfk topics create first_topic"),
        "{}",
        stderr(&out)
    );
    assert!(
        strict
            .json(&["topics", "list"])
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

/// `--timeout-ms` as kafka-console-consumer has it: the consumer exits once
/// no message has come for that long, counted from the last message, not
/// from its start; with a group too, once it has joined.
#[test]
fn consume_timeout_ms_counts_from_the_last_message() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "ticks", "-p", "1"]);
    home.ok_stdin(&["produce", "ticks", "-q"], "t0\n");
    let log = home.path().join("consumer.log");
    let mut cmd = Command::new(kfk_e2e::bin("kfk"));
    home.env(&mut cmd);
    cmd.args([
        "consume",
        "ticks",
        "--from-beginning",
        "--timeout-ms",
        "2500",
    ]);
    let started = Instant::now();
    let mut consumer = kfk_e2e::Spawned::start(&mut cmd, &log);
    // A message every 1.5 s: a limit counted from the start (2.5 s) would
    // miss the last two.
    for t in ["t1", "t2", "t3"] {
        std::thread::sleep(Duration::from_millis(1500));
        home.ok_stdin(&["produce", "ticks", "-q"], &format!("{t}\n"));
    }
    let status = consumer.wait_for(Duration::from_secs(30));
    let took = started.elapsed();
    assert!(status.success(), "{}", consumer.output());
    let out = consumer.output();
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('t')).collect();
    assert_eq!(lines, ["t0", "t1", "t2", "t3"], "{out}");
    assert!(out.contains("Processed a total of 4 messages"), "{out}");
    assert!(took >= Duration::from_millis(4500 + 2500), "{took:?}");

    // Nothing new for a group that has read it all: it gives up, having read none.
    let first = home.kfk(&[
        "consume",
        "ticks",
        "-g",
        "g1",
        "--from-beginning",
        "--timeout-ms",
        "1000",
    ]);
    assert!(first.status.success());
    assert_eq!(String::from_utf8_lossy(&first.stdout).lines().count(), 4);
    let again = home.kfk(&["consume", "ticks", "-g", "g1", "--timeout-ms", "1000"]);
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout), "");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Processed a total of 0 messages"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// The groups commands take the group as kafka-consumer-groups spells it
/// (`--group G`) as well as by position; naming it both ways is refused.
#[test]
fn groups_commands_take_group_as_kafkas_tool_spells_it() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "jobs", "-p", "1"]);
    home.ok_stdin(&["produce", "jobs", "-q"], "a\nb\nc\n");
    home.ok(&[
        "consume",
        "jobs",
        "--group",
        "workers",
        "--from-beginning",
        "-n",
        "3",
        "-q",
    ]);
    let by_flag = home.ok(&["groups", "describe", "--group", "workers"]);
    assert_eq!(by_flag, home.ok(&["groups", "describe", "workers"]));
    assert!(
        by_flag
            .lines()
            .any(|l| l.split_whitespace().take(4).eq(["jobs", "0", "3", "3"])),
        "{by_flag}"
    );
    let both = home.fails(&["groups", "describe", "workers", "--group", "other"]);
    assert!(both.contains("cannot be used with"), "{both}");
    home.ok(&[
        "groups",
        "reset-offsets",
        "--group",
        "workers",
        "--topic",
        "jobs",
        "--to-offset",
        "1",
        "--execute",
        "--yes",
    ]);
    let moved = home.ok(&["groups", "describe", "--group", "workers"]);
    assert!(
        moved
            .lines()
            .any(|l| l.split_whitespace().take(4).eq(["jobs", "0", "1", "3"])),
        "{moved}"
    );
    home.ok(&["groups", "delete", "--group", "workers", "--yes"]);
    assert!(!home.ok(&["groups", "list"]).contains("workers"));
}
