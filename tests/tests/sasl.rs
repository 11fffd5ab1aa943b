//! A SASL_PLAINTEXT listener beside the PLAINTEXT one: clients authenticate
//! with SCRAM-SHA-256/512 or PLAIN against the users of the metadata log
//! (kcat, i.e. librdkafka), a wrong password or none is refused, and each
//! listener advertises its own endpoints.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Kfkd, run_unchecked, tool};

const T: Duration = Duration::from_secs(60);

fn kcat(sasl_port: u16, mechanism: &str, user: &str, password: &str) -> Command {
    let mut cmd = Command::new(tool("kcat", "the Debian package kcat"));
    cmd.args(["-b", &format!("127.0.0.1:{sasl_port}")])
        .args(["-X", "security.protocol=SASL_PLAINTEXT"])
        .args(["-X", &format!("sasl.mechanisms={mechanism}")])
        .args(["-X", &format!("sasl.username={user}")])
        .args(["-X", &format!("sasl.password={password}")]);
    cmd
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn scram_and_plain_clients_authenticate_and_strangers_do_not() {
    let kfkd = Kfkd::start_with_sasl(&[
        "--sasl-enabled-mechanisms",
        "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
        "--connection-failed-authentication-delay-ms",
        "50",
    ]);
    let sasl = kfkd.sasl_port.unwrap();
    let home = Home::new();
    let plain = kfkd.bootstrap();
    home.ok_stdin(
        &["-b", &plain, "users", "create", "alice"],
        "alice-secret\n",
    );
    home.ok_stdin(
        &[
            "-b",
            &plain,
            "users",
            "create",
            "alice",
            "--mechanism",
            "SCRAM-SHA-512",
        ],
        "alice-secret\n",
    );
    home.ok(&["-b", &plain, "topics", "create", "guarded", "-p", "1"]);

    // Metadata over the SASL listener names the SASL endpoint.
    let listed = run_unchecked(
        kcat(sasl, "SCRAM-SHA-256", "alice", "alice-secret").arg("-L"),
        T,
    );
    let listing = text(&listed);
    assert!(listed.status.success(), "{listing}");
    assert!(
        listing.contains(&format!("broker 1 at 127.0.0.1:{sasl}")),
        "{listing}"
    );

    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] {
        let mut producer = kcat(sasl, mechanism, "alice", "alice-secret")
            .args(["-P", "-t", "guarded"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kcat");
        writeln!(producer.stdin.take().unwrap(), "by {mechanism}").unwrap();
        let out = producer.wait_with_output().unwrap();
        assert!(out.status.success(), "{mechanism}: {}", text(&out));
    }
    let read = run_unchecked(
        kcat(sasl, "SCRAM-SHA-512", "alice", "alice-secret")
            .args(["-C", "-t", "guarded", "-e", "-q"]),
        T,
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "by SCRAM-SHA-256\nby SCRAM-SHA-512\nby PLAIN\n",
        "{}",
        text(&read)
    );

    // A wrong password, an unknown user: refused, saying why.
    for (user, password) in [("alice", "guess"), ("mallory", "alice-secret")] {
        let out = run_unchecked(
            kcat(sasl, "SCRAM-SHA-256", user, password)
                .arg("-L")
                .args(["-m", "5"]),
            T,
        );
        let said = text(&out);
        assert!(!out.status.success(), "{user}: {said}");
        assert!(said.contains("Authentication failed"), "{user}: {said}");
    }
    // A client that does not authenticate gets nothing from the SASL port.
    let out = run_unchecked(
        Command::new(tool("kcat", "the Debian package kcat")).args([
            "-b",
            &format!("127.0.0.1:{sasl}"),
            "-L",
            "-m",
            "5",
        ]),
        T,
    );
    assert!(!out.status.success(), "{}", text(&out));
    let log = kfkd.log();
    assert!(log.contains("failed authentication"), "{log}");
    // Each failure from this one address waited longer than the last.
    let delays: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("failed authentication"))
        .filter_map(|l| {
            l.split("delay_ms=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(delays.len() >= 2 && delays[0] == 50, "{delays:?}");
    assert!(
        delays.windows(2).all(|w| w[1] >= w[0]) && delays[delays.len() - 1] > 50,
        "{delays:?}"
    );
    assert!(log.contains("request before SASL authentication"), "{log}");
    // The PLAINTEXT listener still serves, advertising itself.
    let out = run_unchecked(
        Command::new(tool("kcat", "the Debian package kcat")).args(["-b", &plain, "-L"]),
        T,
    );
    assert!(
        text(&out).contains(&format!("broker 1 at {plain}")),
        "{}",
        text(&out)
    );

    // kfk itself, as a SASL client: SCRAM and PLAIN, the password from the
    // environment or a file, never an argument.
    let sasl_addr = format!("127.0.0.1:{sasl}");
    for (mechanism, home) in [
        (
            "SCRAM-SHA-512",
            Home::new().with_env("KFK_SASL_PASSWORD", "alice-secret"),
        ),
        (
            "PLAIN",
            Home::new().with_env("KFK_SASL_PASSWORD", "alice-secret"),
        ),
    ] {
        let flags = [
            "-b",
            &sasl_addr,
            "--sasl-mechanism",
            mechanism,
            "--sasl-username",
            "alice",
        ];
        let mut args = flags.to_vec();
        args.extend(["consume", "guarded", "--from-beginning", "-e", "-q"]);
        assert_eq!(home.ok(&args).lines().count(), 3, "{mechanism}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "alice-secret\n").unwrap();
    let flags = [
        "-b",
        &sasl_addr,
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        "alice",
        "--sasl-password-file",
        file.to_str().unwrap(),
    ];
    let mut produce = flags.to_vec();
    produce.extend(["produce", "guarded"]);
    home.ok_stdin(&produce, "by kfk\n");
    let mut list = flags.to_vec();
    list.extend(["topics", "list"]);
    assert!(home.ok(&list).contains("guarded"));
    // The same from a profile, which names the password's file, not the
    // password.
    let profiled = Home::new();
    for (key, value) in [
        ("bootstrap", sasl_addr.as_str()),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        ("sasl.username", "alice"),
        ("sasl.password.file", file.to_str().unwrap()),
    ] {
        profiled.ok(&["config", "set", key, value]);
    }
    assert!(profiled.ok(&["topics", "list"]).contains("guarded"));
    let config = std::fs::read_to_string(profiled.path().join("config.yaml")).unwrap_or_default()
        + &profiled.ok(&["config", "list", "-o", "json"]);
    assert!(!config.contains("alice-secret"), "{config}");
    let gss = profiled.fails(&["config", "set", "sasl.mechanism", "GSSAPI"]);
    assert!(gss.contains("not a SASL mechanism kfk speaks"), "{gss}");
    let wrong = Home::new().with_env("KFK_SASL_PASSWORD", "guess");
    let refused = wrong.fails(&[
        "-b",
        &sasl_addr,
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        "alice",
        "topics",
        "list",
    ]);
    assert!(refused.contains("Authentication failed"), "{refused}");
}

/// confluent-kafka and kafka-python with SCRAM on the SASL listener: each
/// creates a topic, produces with acks=all and reads everything back.
#[test]
fn python_clients_authenticate_with_scram() {
    let kfkd = Kfkd::start_with_sasl(&[]);
    let sasl = format!("127.0.0.1:{}", kfkd.sasl_port.unwrap());
    let home = Home::new();
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        home.ok_stdin(
            &[
                "-b",
                &kfkd.bootstrap(),
                "users",
                "create",
                "bob",
                "--mechanism",
                mechanism,
            ],
            "bob-secret\n",
        );
    }
    for (script, mechanism) in [
        ("confluent_client.py", "SCRAM-SHA-256"),
        ("kafka_python_client.py", "SCRAM-SHA-512"),
    ] {
        let credentials = format!("{mechanism}:bob:bob-secret");
        kfk_e2e::python_round_trip(
            script,
            &sasl,
            &format!("sasl-{}", &script[..5]),
            &[("KFK_TEST_SASL", &credentials)],
        );
    }
}

/// Kafka's Java client with SCRAM on the SASL listener: an idempotent
/// acks=all producer and a group consumer that reads everything once.
#[test]
fn the_java_client_authenticates_with_scram() {
    let kfkd = Kfkd::start_with_sasl(&["--group-initial-rebalance-delay-ms", "0"]);
    let sasl = format!("127.0.0.1:{}", kfkd.sasl_port.unwrap());
    let home = Home::new();
    home.ok_stdin(
        &[
            "-b",
            &kfkd.bootstrap(),
            "users",
            "create",
            "carol",
            "--mechanism",
            "SCRAM-SHA-512",
        ],
        "carol-secret\n",
    );
    home.ok(&[
        "-b",
        &kfkd.bootstrap(),
        "topics",
        "create",
        "java-sasl",
        "-p",
        "2",
    ]);
    let java = |args: &[&str]| {
        let mut cmd = kfk_e2e::kafka_tools::java();
        cmd.env("KFK_TEST_SASL", "SCRAM-SHA-512:carol:carol-secret")
            .arg("kfk.e2e.Clients")
            .args(args);
        run_unchecked(&mut cmd, Duration::from_secs(120))
    };
    let produced = java(&["produce", &sasl, "java-sasl", "200", "1000"]);
    assert!(produced.status.success(), "{}", text(&produced));
    let acked = kfk_e2e::json_lines(&String::from_utf8_lossy(&produced.stdout));
    assert_eq!(acked.len(), 200, "{}", text(&produced));
    let consumed = java(&[
        "consume",
        &sasl,
        "java-sasl",
        "readers",
        "range",
        "-",
        "3000",
    ]);
    assert!(consumed.status.success(), "{}", text(&consumed));
    let read = kfk_e2e::json_lines(&String::from_utf8_lossy(&consumed.stdout))
        .into_iter()
        .filter(|l| l.get("v").is_some())
        .count();
    assert_eq!(read, 200);
}

/// KIP-368: with `connections.max.reauth.ms`, a SASL session ends; clients
/// that renew it (Kafka's Java client) go on over the same connection, kfk
/// connects anew before its session ends, and a connection that lets it
/// lapse is closed at its next request (librdkafka 2.0 then reconnects).
#[test]
fn sasl_sessions_expire_and_clients_renew_them() {
    let kfkd = Kfkd::start_with_sasl(&[
        "--connections-max-reauth-ms",
        "1500",
        "--group-initial-rebalance-delay-ms",
        "0",
    ]);
    let sasl = format!("127.0.0.1:{}", kfkd.sasl_port.unwrap());
    let home = Home::new();
    for m in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        home.ok_stdin(
            &[
                "-b",
                &kfkd.bootstrap(),
                "users",
                "create",
                "eve",
                "--mechanism",
                m,
            ],
            "eve-secret\n",
        );
    }
    home.ok(&[
        "-b",
        &kfkd.bootstrap(),
        "topics",
        "create",
        "renewed",
        "-p",
        "1",
    ]);
    // The Java client: 120 records over four seconds, sessions of 1.5 s.
    let mut java = kfk_e2e::kafka_tools::java();
    java.env("KFK_TEST_SASL", "SCRAM-SHA-512:eve:eve-secret")
        .args(["kfk.e2e.Clients", "produce", &sasl, "renewed", "120", "30"]);
    let produced = run_unchecked(&mut java, Duration::from_secs(120));
    assert!(produced.status.success(), "{}", text(&produced));
    assert_eq!(
        kfk_e2e::json_lines(&String::from_utf8_lossy(&produced.stdout)).len(),
        120
    );
    assert!(kfkd.log().contains("re-authenticated"), "{}", kfkd.log());
    // kfk, writing for longer than a session, one line at a time.
    let kfk_home = Home::new().with_env("KFK_SASL_PASSWORD", "eve-secret");
    let mut cmd = Command::new(kfk_e2e::bin("kfk"));
    kfk_home.env(&mut cmd);
    let mut writer = cmd
        .args([
            "-b",
            &sasl,
            "--sasl-mechanism",
            "SCRAM-SHA-256",
            "--sasl-username",
            "eve",
        ])
        .args(["produce", "renewed"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kfk");
    let mut input = writer.stdin.take().unwrap();
    for i in 0..8 {
        writeln!(input, "late {i}").unwrap();
        input.flush().unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(input);
    let out = writer.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // librdkafka 2.0 does not renew: it is closed and reconnects, and
    // still reads everything.
    let read = run_unchecked(
        kcat(
            kfkd.sasl_port.unwrap(),
            "SCRAM-SHA-256",
            "eve",
            "eve-secret",
        )
        .args(["-C", "-t", "renewed", "-e", "-q"]),
        T,
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).lines().count(),
        128,
        "{}",
        text(&read)
    );
    let read = kfk_home.ok(&[
        "-b",
        &sasl,
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        "eve",
        "consume",
        "renewed",
        "--from-beginning",
        "--max-messages",
        "128",
    ]);
    assert!(read.ends_with("late 7\n"), "{read}");
}
