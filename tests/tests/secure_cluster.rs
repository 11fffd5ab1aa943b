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
