//! The authorizer: ACLs made with `kfk acls` in kafka-acls' words decide what
//! each SASL principal may do, refused requests answer Kafka's
//! *_AUTHORIZATION_FAILED codes to kfk and kcat, Metadata hides what a
//! principal may not describe, DENY wins, deleting an ACL takes its grant
//! away, and zk-shell shows them where ZooKeeper kept them.

use std::process::{Command, Stdio};
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Kfkd, run_unchecked, tool, wait_until};

const T: Duration = Duration::from_secs(60);

const AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// A broker with an authorizer; the test's PLAINTEXT listener (loopback)
/// is the admin's, its principal a super user.
fn secured() -> Kfkd {
    Kfkd::start_with_sasl(&[
        "--authorizer-class-name",
        AUTHORIZER,
        "--super-users",
        "User:ANONYMOUS",
        "--group-initial-rebalance-delay-ms",
        "0",
    ])
}

/// kfk as `user` on the SASL listener.
fn as_user(kfkd: &Kfkd, user: &str) -> (Home, String) {
    let home = Home::new().with_env("KFK_SASL_PASSWORD", &format!("{user}-secret"));
    (home, format!("127.0.0.1:{}", kfkd.sasl_port.unwrap()))
}

fn sasl<'a>(addr: &'a str, user: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "-b",
        addr,
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        user,
    ];
    v.extend_from_slice(rest);
    v
}

#[test]
fn acls_decide_what_each_principal_may_do() {
    let kfkd = secured();
    let admin = Home::new();
    let plain = kfkd.bootstrap();
    for user in ["alice", "bob"] {
        admin.ok_stdin(
            &["-b", &plain, "users", "create", user],
            &format!("{user}-secret\n"),
        );
    }
    for t in ["orders", "payments-eu", "secret"] {
        admin.ok(&["-b", &plain, "topics", "create", t, "-p", "1"]);
    }
    let (alice, addr) = as_user(&kfkd, "alice");
    let (bob, _) = as_user(&kfkd, "bob");

    // Nothing granted: alice sees no topics and may not write.
    let listed = alice.ok(&sasl(&addr, "alice", &["topics", "list"]));
    assert!(!listed.contains("orders"), "{listed}");
    let said = alice.kfk_stdin(&sasl(&addr, "alice", &["produce", "orders"]), "no\n");
    assert!(!said.status.success());
    assert!(
        String::from_utf8_lossy(&said.stderr).contains("TopicAuthorizationFailed"),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );

    // The admin grants, in kafka-acls' words.
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:alice",
        "--producer",
        "--topic",
        "orders",
    ]);
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
        "--topic",
        "payments",
        "--resource-pattern-type",
        "prefixed",
    ]);
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--allow-principal",
        "User:bob",
        "--consumer",
        "--topic",
        "orders",
        "--group",
        "readers",
    ]);
    let all = admin.json(&["-b", &plain, "acls", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 3 + 1 + 3, "{all}");
    let bobs = admin.json(&["-b", &plain, "acls", "list", "--principal", "User:bob"]);
    assert_eq!(bobs.as_array().unwrap().len(), 3, "{bobs}");
    let table = admin.ok(&["-b", &plain, "acls", "list", "--topic", "payments"]);
    assert!(
        table.contains("User:alice") && table.contains("PREFIXED"),
        "{table}"
    );

    // Alice writes to orders and sees what she may describe, not the rest.
    wait_until(T, "alice's ACLs", || {
        alice
            .kfk_stdin(&sasl(&addr, "alice", &["produce", "orders"]), "first\n")
            .status
            .success()
    });
    let listed = alice.ok(&sasl(&addr, "alice", &["topics", "list"]));
    assert!(
        listed.contains("orders") && listed.contains("payments-eu"),
        "{listed}"
    );
    assert!(!listed.contains("secret"), "{listed}");

    // Bob reads in his group, not in another.
    let read = bob.ok(&sasl(
        &addr,
        "bob",
        &[
            "consume",
            "orders",
            "--group",
            "readers",
            "--from-beginning",
            "--max-messages",
            "1",
        ],
    ));
    assert!(read.contains("first"), "{read}");
    let said = bob.fails(&sasl(
        &addr,
        "bob",
        &[
            "consume",
            "orders",
            "--group",
            "others",
            "--from-beginning",
            "--max-messages",
            "1",
        ],
    ));
    assert!(said.contains("GroupAuthorizationFailed"), "{said}");

    // kcat (librdkafka) as bob may not write: Kafka's error reaches it.
    let mut p = Command::new(tool("kcat", "the Debian package kcat"))
        .args([
            "-b",
            &addr,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanisms=SCRAM-SHA-256",
        ])
        .args([
            "-X",
            "sasl.username=bob",
            "-X",
            "sasl.password=bob-secret",
            "-P",
            "-t",
            "orders",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat");
    std::io::Write::write_all(&mut p.stdin.take().unwrap(), b"from bob\n").unwrap();
    let out = p.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() || said.contains("authorization"),
        "{said}"
    );
    assert!(said.contains("Topic authorization failed"), "{said}");
    // ... and reads as his ACLs allow.
    let out = run_unchecked(
        Command::new(tool("kcat", "the Debian package kcat"))
            .args([
                "-b",
                &addr,
                "-X",
                "security.protocol=SASL_PLAINTEXT",
                "-X",
                "sasl.mechanisms=SCRAM-SHA-256",
            ])
            .args([
                "-X",
                "sasl.username=bob",
                "-X",
                "sasl.password=bob-secret",
                "-C",
                "-t",
                "orders",
                "-e",
                "-q",
            ]),
        T,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\n");

    // A DENY wins over the ALLOW; deleting it gives the grant back.
    admin.ok(&[
        "-b",
        &plain,
        "acls",
        "create",
        "--deny-principal",
        "User:alice",
        "--operation",
        "Write",
        "--topic",
        "orders",
    ]);
    wait_until(T, "the DENY", || {
        !alice
            .kfk_stdin(&sasl(&addr, "alice", &["produce", "orders"]), "denied\n")
            .status
            .success()
    });
    let gone = admin.json(&[
        "-b",
        &plain,
        "acls",
        "delete",
        "--topic",
        "orders",
        "--deny-principal",
        "User:alice",
        "--yes",
    ]);
    assert_eq!(gone.as_array().unwrap().len(), 1, "{gone}");
    assert_eq!(gone[0]["permission"], "Deny", "{gone}");
    wait_until(T, "the DENY gone", || {
        alice
            .kfk_stdin(&sasl(&addr, "alice", &["produce", "orders"]), "again\n")
            .status
            .success()
    });

    // Admin-only APIs: alice may not create topics or manage ACLs.
    let said = alice.fails(&sasl(&addr, "alice", &["topics", "create", "mine"]));
    assert!(said.contains("TopicAuthorizationFailed"), "{said}");
    let said = alice.fails(&sasl(&addr, "alice", &["acls", "list"]));
    assert!(said.contains("ClusterAuthorizationFailed"), "{said}");

    // Where ZooKeeper kept them.
    let ls = admin.ok(&["-b", &plain, "zk-shell", "ls", "/kafka-acl/Topic"]);
    assert!(ls.contains("orders"), "{ls}");
    let node = admin.ok(&[
        "-b",
        &plain,
        "zk-shell",
        "get",
        "/kafka-acl-extended/prefixed/Topic/payments",
    ]);
    assert!(
        node.contains("\"principal\":\"User:alice\"") && node.contains("Read"),
        "{node}"
    );
    assert!(kfkd.log().contains("authorization denied"));
}

#[test]
fn acls_need_an_authorizer() {
    let kfkd = Kfkd::start();
    let home = Home::new();
    let said = home.fails(&["-b", &kfkd.bootstrap(), "acls", "list"]);
    assert!(said.contains("authorizer.class.name"), "{said}");
    let said = home.fails(&[
        "-b",
        &kfkd.bootstrap(),
        "acls",
        "create",
        "--allow-principal",
        "alice",
        "--operation",
        "Read",
        "--topic",
        "t",
    ]);
    assert!(said.contains("TYPE:NAME"), "{said}");
}
