//! The security model from every client applications use: confluent-kafka
//! and kafka-python (librdkafka and pure Python), KafkaJS and Kafka's Java
//! client connect over SASL_SSL with SCRAM, produce and consume what their
//! ACLs allow, are refused with the authorization error where an ACL is
//! missing, are refused with an authentication error on a wrong password,
//! and get nowhere in plaintext on the secured listener.

use std::process::Command;
use std::time::Duration;

use kfk_e2e::pki::Pki;
use kfk_e2e::{KfkHome as Home, Kfkd, json_lines, run_unchecked};

const T: Duration = Duration::from_secs(90);

/// What a probe reported: Ok, or the error text.
fn probe(mut cmd: Command) -> Result<(), String> {
    let out = run_unchecked(&mut cmd, T);
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    match lines.last() {
        Some(l) if l["ok"] == true => Ok(()),
        Some(l) => Err(l["error"].as_str().unwrap_or_default().to_string()),
        None => Err(format!(
            "no answer: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The probe command of `client` for `action` on `topic` in `group`.
fn command(client: &str, addr: &str, action: &str, topic: &str, group: &str) -> Command {
    match client {
        "kafkajs" => {
            let mut c = kfk_e2e::node("kafkajs_probe.js");
            c.args([addr, action, topic, group]);
            c
        }
        "java" => {
            let mut c = kfk_e2e::kafka_tools::java();
            c.args(["kfk.e2e.Clients", "probe", addr, action, topic, group]);
            c
        }
        lib => {
            let mut c = kfk_e2e::python("security_probe.py");
            c.args([lib, addr, action, topic, group]);
            c
        }
    }
}

#[test]
fn every_client_is_authenticated_authorised_and_refused_as_kafka_would() {
    let pki = Pki::new();
    let mut args = pki.broker_args();
    args.extend(
        [
            "--authorizer-class-name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "--super-users",
            "User:ANONYMOUS",
            "--group-initial-rebalance-delay-ms",
            "0",
            "--connection-failed-authentication-delay-ms",
            "20",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let kfkd = Kfkd::start_with_listener("SASL_SSL", &args);
    let admin = Home::new();
    let plain = kfkd.bootstrap();
    let secure = format!("localhost:{}", kfkd.secure_port());
    for m in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        admin.ok_stdin(
            &["-b", &plain, "users", "create", "ann", "--mechanism", m],
            "ann-secret\n",
        );
    }
    for t in ["open", "closed"] {
        admin.ok(&["-b", &plain, "topics", "create", t, "-p", "1"]);
    }
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:ann",
        "--producer",
        "--consumer",
        "--topic",
        "open",
        "--group",
        "g-",
        "--resource-pattern-type",
        "prefixed",
    ]);
    // The group may be read and the topic seen, but not read or written:
    // the refusal is the topic's.
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:ann",
        "--operation",
        "Read",
        "--group",
        "blocked-",
        "--resource-pattern-type",
        "prefixed",
    ]);
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:ann",
        "--operation",
        "Describe",
        "--topic",
        "closed",
    ]);
    admin.ok_stdin(&["-b", &plain, "produce", "closed"], "unread\n");
    let ca = pki.ca();
    let clients = [
        ("confluent", "SCRAM-SHA-256"),
        ("kafka-python", "SCRAM-SHA-512"),
        ("kafkajs", "SCRAM-SHA-256"),
        ("java", "SCRAM-SHA-512"),
    ];
    // One client at a time: four runtimes at once on a small machine make
    // the probes' own timeouts the thing under test.
    {
        for (client, mechanism) in clients {
            let (secure, ca, plain_port) = (&secure, &ca, kfkd.secure_port());
            {
                let group = format!("g-{client}");
                let run = |action: &str, topic: &str, group: &str, password: Option<&str>| {
                    let mut c = command(client, secure, action, topic, group);
                    match password {
                        Some(pw) => {
                            c.env("KFK_TEST_SASL", format!("{mechanism}:ann:{pw}"))
                                .env("KFK_TEST_SSL_CA", ca);
                        }
                        None => {
                            // Plaintext, no SASL, to the SASL_SSL port: it
                            // never gets anywhere, so it need not try long.
                            c = command(
                                client,
                                &format!("127.0.0.1:{plain_port}"),
                                action,
                                topic,
                                group,
                            );
                            c.env("KFK_TEST_PATIENCE_S", "4");
                        }
                    }
                    probe(c)
                };
                assert_eq!(
                    run("produce", "open", &group, Some("ann-secret")),
                    Ok(()),
                    "{client} produce"
                );
                assert_eq!(
                    run("consume", "open", &group, Some("ann-secret")),
                    Ok(()),
                    "{client} consume"
                );
                let denied = run("produce", "closed", &group, Some("ann-secret")).unwrap_err();
                let d = denied.to_lowercase().replace(['_', ' '], "");
                assert!(d.contains("topicauthorization"), "{client}: {denied}");
                let denied = run(
                    "consume",
                    "closed",
                    &format!("blocked-{client}"),
                    Some("ann-secret"),
                )
                .unwrap_err();
                let d = denied.to_lowercase().replace(['_', ' '], "");
                assert!(d.contains("authorization"), "{client}: {denied}");
                let wrong = run("produce", "open", &group, Some("guess")).unwrap_err();
                // (A refused client retries until its patience runs out.)
                assert!(
                    wrong.to_lowercase().contains("authentication"),
                    "{client}: {wrong}"
                );
                assert!(
                    run("produce", "open", &group, None).is_err(),
                    "{client} plaintext"
                );
            }
        }
    }
    let log = kfkd.log();
    assert!(log.contains("failed authentication"), "{log}");
    assert!(log.contains("authorization denied"), "{log}");
}
