//! `kfk cluster up --secure`: a CA and certificates, SASL_SSL listeners with
//! SCRAM, brokers replicating over an SSL listener that requires their
//! certificates, and an authorizer; kfk goes on working through the profile
//! it writes, other clients need the CA, a SCRAM user and ACLs.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use kfk_e2e::{
    KfkHome as Home, cluster_base_port, free_port, http_with, run_unchecked, tool, wait_until,
};

const T: Duration = Duration::from_secs(60);

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn kcat(addr: &str, ca: &str, user: &str, password: &str) -> Command {
    let mut cmd = Command::new(tool("kcat", "the Debian package kcat"));
    cmd.args(["-b", addr, "-X", "security.protocol=SASL_SSL"])
        .args(["-X", &format!("ssl.ca.location={ca}")])
        .args(["-X", "sasl.mechanisms=SCRAM-SHA-512"])
        .args(["-X", &format!("sasl.username={user}")])
        .args(["-X", &format!("sasl.password={password}")]);
    cmd
}

#[test]
fn a_secure_local_cluster_lets_in_only_who_it_should() {
    let home = Home::new();
    let ((base, rest), printed) = home.up_fresh(|| {
        let base = cluster_base_port(3);
        let rest = free_port();
        (
            [
                "--brokers",
                "3",
                "--base-port",
                &base.to_string(),
                "--secure",
                "--rest-proxy",
                &rest.to_string(),
            ]
            .map(String::from)
            .to_vec(),
            (base, rest),
        )
    });
    assert!(printed.contains("3 of 3 running"), "{printed}");
    let addr = format!("127.0.0.1:{base}");
    // kfk uses the profile it was given.
    home.ok(&["topics", "create", "vault", "-p", "2", "-r", "3"]);
    home.ok_stdin(&["produce", "vault", "--partition", "0"], "gold\n");
    let described = home.wait_json(&["topics", "describe", "vault"], T, "full ISRs", |t| {
        kfk_e2e::partition_layout(t)
            .iter()
            .all(|(_, replicas)| replicas.iter().filter(|(_, in_sync)| *in_sync).count() == 3)
    });
    assert_eq!(kfk_e2e::partition_layout(&described).len(), 2);
    let profiles = home.ok(&["config", "list"]);
    assert!(
        profiles.contains("local-secure") && profiles.contains("admin"),
        "{profiles}"
    );

    // The files it made: the CA for everyone, the admin's password for the admin.
    let tls = home.path().join("data/cluster/tls");
    let ca = tls.join("ca.pem").display().to_string();
    let admin_password = std::fs::read_to_string(tls.join("admin.password")).unwrap();
    let admin_password = admin_password.trim();
    let read = run_unchecked(
        kcat(&addr, &ca, "admin", admin_password).args(["-C", "-t", "vault", "-e", "-q"]),
        T,
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "gold\n",
        "{}",
        text(&read)
    );

    // Strangers: no TLS, a wrong password.
    let plain = run_unchecked(
        Command::new(tool("kcat", "the Debian package kcat")).args(["-b", &addr, "-L", "-m", "5"]),
        T,
    );
    assert!(!plain.status.success(), "{}", text(&plain));
    let wrong = run_unchecked(
        kcat(&addr, &ca, "admin", "guess").args(["-L", "-m", "5"]),
        T,
    );
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("Authentication failed"),
        "{}",
        text(&wrong)
    );

    // A user without ACLs may not read; with --consumer ACLs it may.
    home.ok_stdin(
        &["users", "create", "carol", "--mechanism", "SCRAM-SHA-512"],
        "carol-secret\n",
    );
    let denied = run_unchecked(
        kcat(&addr, &ca, "carol", "carol-secret")
            .args(["-C", "-t", "vault", "-e", "-q", "-G", "carols", "vault"]),
        Duration::from_secs(30),
    );
    assert!(
        text(&denied).contains("authorization failed"),
        "{}",
        text(&denied)
    );
    home.ok(&[
        "acls",
        "create",
        "--allow-principal",
        "User:carol",
        "--consumer",
        "--topic",
        "vault",
        "--group",
        "carols",
    ]);
    wait_until(T, "carol reads", || {
        let out = run_unchecked(
            kcat(&addr, &ca, "carol", "carol-secret").args(["-C", "-t", "vault", "-e", "-q"]),
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout) == "gold\n"
    });

    // The REST proxy asks for HTTP Basic credentials and reaches the
    // cluster as that user: carol may read, not write; a stranger is 401.
    let basic = |user: &str, pw: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    };
    let (status, head, body) = http_with(rest, "GET", "/topics", &[], "");
    assert_eq!(status, 401, "{body}");
    assert!(
        head.to_lowercase().contains("www-authenticate: basic"),
        "{head}"
    );
    let admin_auth = basic("admin", admin_password);
    let (status, _, body) = http_with(
        rest,
        "GET",
        "/topics",
        &[("Authorization", &admin_auth)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("vault"), "{body}");
    let (status, _, body) = http_with(
        rest,
        "GET",
        "/topics",
        &[("Authorization", &basic("admin", "guess"))],
        "",
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("40101"), "{body}");
    let carol = basic("carol", "carol-secret");
    let (status, _, body) = http_with(
        rest,
        "POST",
        "/topics/vault",
        &[
            ("Authorization", &carol),
            ("Content-Type", "application/vnd.kafka.json.v2+json"),
        ],
        r#"{"records":[{"value":"from carol"}]}"#,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("40301"), "{body}");
    let (status, _, body) = http_with(
        rest,
        "POST",
        "/topics/vault",
        &[
            ("Authorization", &admin_auth),
            ("Content-Type", "application/vnd.kafka.json.v2+json"),
        ],
        r#"{"records":[{"value":"from the admin"}]}"#,
    );
    assert_eq!(status, 200, "{body}");

    // A plain `cluster up` restarts it as it was: secure, data kept.
    home.ok(&["cluster", "down"]);
    home.ok(&["cluster", "up"]);
    let again = home.ok(&[
        "consume",
        "vault",
        "--from-beginning",
        "--max-messages",
        "1",
    ]);
    assert_eq!(again, "gold\n");
    // Purged, the profile goes with the files it named.
    home.ok(&["cluster", "down", "--purge", "--yes"]);
    assert!(!home.ok(&["config", "list"]).contains("local-secure"));
}

/// The client.properties an operator passes to Kafka's tools
/// (`--command-config`, `--producer.config`, `--consumer.config`) and kcat's
/// `-X` pairs take kfk into a SASL_SSL cluster with no profile at all; flags
/// win over them, and what kfk cannot honour is refused, not skipped.
#[test]
fn kafkas_client_properties_take_kfk_into_a_secure_cluster() {
    let owner = Home::new();
    let (base, _) = owner.up_fresh(|| {
        let base = cluster_base_port(1);
        (
            ["--base-port", &base.to_string(), "--secure"]
                .map(String::from)
                .to_vec(),
            base,
        )
    });
    let tls = owner.path().join("data/cluster/tls");
    let ca = tls.join("ca.pem").display().to_string();
    let password = std::fs::read_to_string(tls.join("admin.password")).unwrap();
    let password = password.trim();
    let addr = format!("127.0.0.1:{base}");

    // Another home: no profile, no local cluster; only the file names one.
    let stranger = Home::new();
    assert!(
        stranger
            .fails(&["topics", "list"])
            .contains("no cluster to talk to")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.properties");
    let java = |password: &str| {
        format!(
            "# as kafka-topics.sh --command-config takes it\n\
             bootstrap.servers={addr}\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    \
             username=\"admin\" password=\"{password}\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={ca}\n\
             acks=all\n\
             linger.ms=5\n\
             group.id=auditors\n\
             auto.offset.reset=earliest\n"
        )
    };
    std::fs::write(&file, java(password)).unwrap();
    let file = file.display().to_string();
    let created = stranger.kfk(&[
        "--command-config",
        &file,
        "topics",
        "create",
        "ledger",
        "-p",
        "1",
    ]);
    assert!(created.status.success(), "{}", text(&created));
    // A key kfk has no use for is named with its line, as Kafka's clients warn.
    assert!(
        text(&created).contains("line 10: kfk does not use `linger.ms`"),
        "{}",
        text(&created)
    );
    stranger.ok_stdin(
        &["produce", "ledger", "--producer.config", &file, "-q"],
        "debit\ncredit\n",
    );
    // group.id and auto.offset.reset come from the file: the group reads
    // from the beginning and commits where it stopped.
    let read = stranger.ok(&[
        "consume",
        "ledger",
        "--consumer.config",
        &file,
        "--max-messages",
        "2",
        "-q",
    ]);
    assert_eq!(read, "debit\ncredit\n");
    let group = stranger.ok(&["groups", "describe", "auditors", "--command-config", &file]);
    assert!(
        group
            .lines()
            .any(|l| l.split_whitespace().take(4).eq(["ledger", "0", "2", "2"])),
        "{group}"
    );

    // The same file takes Apache Kafka's own kafka-topics.sh in.
    let mut kafka = kfk_e2e::kafka_tools::KafkaTools::start();
    let by_kafka = kafka.ok(
        "kafka-topics",
        &[
            "--bootstrap-server",
            &addr,
            "--command-config",
            &file,
            "--list",
        ],
    );
    assert!(by_kafka.lines().any(|l| l == "ledger"), "{by_kafka}");

    // kcat's spellings as -X pairs.
    let listed = stranger.ok(&[
        "topics",
        "list",
        "-X",
        &format!("bootstrap.servers={addr}"),
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=admin",
        "-X",
        &format!("sasl.password={password}"),
        "-X",
        &format!("ssl.ca.location={ca}"),
    ]);
    assert!(listed.contains("ledger"), "{listed}");

    // A flag wins over the file: -b names a port nothing listens on.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let err = stranger.fails(&["-b", &nowhere, "--command-config", &file, "topics", "list"]);
    assert!(err.contains(&nowhere), "{err}");

    // A wrong password in the file is the broker's refusal, with a hint.
    let wrong = dir.path().join("wrong.properties");
    std::fs::write(&wrong, java("guess")).unwrap();
    let err = stranger.fails(&[
        "topics",
        "list",
        "--command-config",
        wrong.to_str().unwrap(),
    ]);
    assert!(
        err.contains("Authentication failed") && err.contains("sasl.jaas.config"),
        "{err}"
    );

    // A JKS trust store is refused, not a silent plaintext connection.
    let jks = dir.path().join("truststore.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
    let out = stranger.kfk(&[
        "topics",
        "list",
        "--command-config",
        &file,
        "-X",
        "ssl.truststore.type=JKS",
        "-X",
        &format!("ssl.truststore.location={}", jks.display()),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("kfk reads PEM files") && text(&out).contains("keytool"),
        "{}",
        text(&out)
    );
    owner.ok(&["cluster", "down", "--purge", "--yes"]);
}
