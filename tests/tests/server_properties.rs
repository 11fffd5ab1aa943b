//! `kfkd --config server.properties`: an operator's Kafka file starts a broker.

use std::process::Command;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Spawned, bin, free_port, run_unchecked, wait_until};

/// A server.properties in the shape Apache Kafka 4 ships (KRaft, combined
/// roles), with the settings the seeds change.
fn kafka_style_file(port: u16, controller_port: u16, data: &std::path::Path) -> String {
    format!(
        "############################# Server Basics #############################\n\
         process.roles=broker,controller\n\
         broker.id=1\n\
         controller.quorum.bootstrap.servers=localhost:{controller_port}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         inter.broker.listener.name=PLAINTEXT\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         controller.listener.names=CONTROLLER\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
         num.network.threads=3\n\
         socket.request.max.bytes=104857600\n\
         log.dirs={}\n\
         num.partitions=3\n\
         offsets.topic.replication.factor=1\n\
         log.retention.hours=168\n\
         log.segment.bytes=1073741824\n\
         auto.create.topics.enable=false\n",
        data.display()
    )
}

#[test]
fn kafkas_server_properties_starts_a_broker_with_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (port, cport) = (free_port(), free_port());
    let file = dir.path().join("server.properties");
    std::fs::write(
        &file,
        kafka_style_file(port, cport, &dir.path().join("data")),
    )
    .unwrap();
    let log = dir.path().join("kfkd.log");
    let _kfkd = Spawned::start(
        Command::new(bin("kfkd"))
            .env_clear()
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(&file),
        &log,
    );
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(Duration::from_secs(20), "kfkd to start", || {
        read_log().contains(kfk_wire::KFKD_READY)
    });
    let text = read_log();
    // Keys kfkd has no use for are named with their line, not fatal.
    assert!(
        text.contains("line 10: `num.network.threads` is not a kfkd setting; ignored"),
        "{text}"
    );
    assert!(
        text.contains("line 4: `controller.quorum.bootstrap.servers`"),
        "{text}"
    );
    assert!(
        !text.contains("socket.request.max.bytes` is not"),
        "a kfkd setting: {text}"
    );

    let home = Home::new();
    let b = format!("127.0.0.1:{port}");
    home.ok(&["-b", &b, "topics", "create", "from-properties"]);
    let topic = home.json(&["-b", &b, "topics", "describe", "from-properties"]);
    assert_eq!(
        topic["partitions"].as_array().unwrap().len(),
        3,
        "num.partitions=3: {topic}"
    );
    let broker = home.json(&["-b", &b, "describe", "broker", "1"]);
    assert_eq!(
        broker["configs"]["log.retention.ms"], "604800000",
        "log.retention.hours=168: {broker}"
    );
    assert_eq!(broker["configs"]["node.id"], "1", "broker.id=1: {broker}");
    // auto.create.topics.enable=false is honoured.
    let out = home.kfk_stdin(&["-b", &b, "produce", "not-there"], "x\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_catches_what_would_fail_at_start_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        let file = dir.path().join("server.properties");
        std::fs::write(&file, text).unwrap();
        let out = run_unchecked(
            Command::new(bin("kfkd"))
                .env_clear()
                .arg("--config")
                .arg(&file)
                .arg("--check-config"),
            Duration::from_secs(20),
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check("broker.id=1\nlisteners=PLAINTEXT://\n");
    assert!(!ok);
    assert!(
        err.contains("line 2") && err.contains("no host:port"),
        "{err}"
    );
    let (ok, err) = check("listeners=SASL_SSL://:9093\n");
    assert!(!ok);
    assert!(err.contains("SASL_SSL"), "{err}");
    let (ok, err) = check("num.partitions=three\n");
    assert!(!ok);
    assert!(
        err.contains("line 1") && err.contains("num.partitions"),
        "{err}"
    );
    let (ok, err) = check("process.roles=zookeeper\n");
    assert!(!ok);
    assert!(err.contains("process.roles"), "{err}");
    let (ok, err) = check("# fine\nzookeeper.connect=zk:2181\nlisteners=PLAINTEXT://:9092\n");
    assert!(ok, "{err}");
    assert!(
        err.contains("warning:") && err.contains("line 2: `zookeeper.connect`"),
        "{err}"
    );
    // The YAML form is checked the same way: PLAINTEXT:// alone has no port.
    let yaml = dir.path().join("kfkd.yaml");
    std::fs::write(&yaml, "listeners: \"PLAINTEXT://\"\n").unwrap();
    let out = run_unchecked(
        Command::new(bin("kfkd"))
            .env_clear()
            .arg("--config")
            .arg(&yaml)
            .arg("--check-config"),
        Duration::from_secs(20),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listeners"));
}

#[test]
fn kfkd_help_shows_every_default() {
    let out = run_unchecked(
        Command::new(bin("kfkd")).arg("--help"),
        Duration::from_secs(20),
    );
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, default) in [
        ("--num-partitions", "[default: 1]"),
        ("--log-retention-ms", "[default: 604800000]"),
        ("--process-roles", "[default: broker,controller]"),
        ("--listen", "[default: 127.0.0.1:9092]"),
    ] {
        let at = help
            .find(&format!("{flag} <"))
            .unwrap_or_else(|| panic!("{flag}: {help}"));
        let entry = &help[at..];
        let end = entry[2..].find("\n      --").map_or(entry.len(), |e| e + 2);
        assert!(entry[..end].contains(default), "{flag}: {}", &entry[..end]);
    }
    let flags = help.matches("\n      --").count();
    let defaults = help.matches("[default:").count();
    // Every setting (all flags but --config, --check-config) has one.
    assert!(
        defaults + 2 >= flags,
        "{defaults} defaults for {flags} flags"
    );
}

/// The multi-host files `docs/deploy.md` walks through, with this machine's
/// certificates, secret and directories in place of /etc and /var: kfkd
/// knows every key and accepts them, and the systemd unit runs them by name.
#[test]
fn the_deploy_examples_are_valid_kfkd_configs() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let dir = tempfile::tempdir().unwrap();
    let pki = kfk_e2e::pki::Pki::new();
    let (keystore, _, _) = pki.issue("kafka-1.example.com", &["kafka-1.example.com"]);
    let secret = dir.path().join("cluster-secret");
    std::fs::write(&secret, "7f".repeat(32)).unwrap();
    let unit = std::fs::read_to_string(examples.join("systemd/kfkd@.service")).unwrap();
    for role in ["controller", "broker"] {
        let text = std::fs::read_to_string(examples.join(format!("deploy/{role}.properties")))
            .unwrap()
            .replace("/etc/kfkd/tls/kafka-1.pem", &keystore.display().to_string())
            .replace("/etc/kfkd/tls/ca.pem", &pki.ca())
            .replace("/etc/kfkd/cluster-secret", &secret.display().to_string())
            .replace(
                "/var/lib/kfkd",
                &dir.path().join("data").display().to_string(),
            );
        let file = dir.path().join(format!("{role}.properties"));
        std::fs::write(&file, text).unwrap();
        let out = run_unchecked(
            Command::new(bin("kfkd"))
                .arg("--config")
                .arg(&file)
                .arg("--check-config"),
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{role}: {stderr}");
        assert!(!stderr.contains("warning"), "{role}: {stderr}");
        assert!(
            unit.contains("--config /etc/kfkd/%i.properties"),
            "the unit runs /etc/kfkd/<instance>.properties"
        );
    }
    // A mistyped role is caught before start, where the unit's ExecStartPre runs it.
    let broken = dir.path().join("broken.properties");
    std::fs::write(
        &broken,
        std::fs::read_to_string(dir.path().join("controller.properties"))
            .unwrap()
            .replace("process.roles=controller", "process.roles=controler"),
    )
    .unwrap();
    let out = run_unchecked(
        Command::new(bin("kfkd"))
            .arg("--config")
            .arg(&broken)
            .arg("--check-config"),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("process.roles"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
