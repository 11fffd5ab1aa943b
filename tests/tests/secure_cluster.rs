//! `kfk cluster up --secure`: a CA and certificates, SASL_SSL listeners with
//! SCRAM, brokers replicating over an SSL listener that requires their
//! certificates, and an authorizer; kfk goes on working through the profile
//! it writes, other clients need the CA, a SCRAM user and ACLs.

use std::process::Command;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, cluster_base_port, run_unchecked, tool, wait_until};

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
    let (base, printed) = home.up_fresh(|| {
        let base = cluster_base_port(3);
        (
            [
                "--brokers",
                "3",
                "--base-port",
                &base.to_string(),
                "--secure",
            ]
            .map(String::from)
            .to_vec(),
            base,
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
