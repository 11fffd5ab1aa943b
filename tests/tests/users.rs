//! SCRAM users (KIP-554): `kfk users` and Kafka's own kafka-configs create,
//! list and delete them; the metadata log keeps salts and derived keys,
//! never a password.

use kfk_e2e::KfkHome as Home;
use kfk_e2e::kafka_tools::KafkaTools;

fn users(home: &Home) -> serde_json::Value {
    home.json(&["users", "list"])
}

#[test]
fn users_are_created_listed_changed_and_deleted_without_storing_passwords() {
    let home = Home::new();
    home.up();
    home.ok_stdin(&["users", "create", "alice"], "correct horse battery\n");
    home.ok_stdin(
        &[
            "users",
            "create",
            "alice",
            "--mechanism",
            "SCRAM-SHA-512",
            "--iterations",
            "8192",
        ],
        "staple\n",
    );
    let listed = users(&home);
    assert_eq!(
        listed,
        serde_json::json!([{"user": "alice", "credentials": [
            {"mechanism": "SCRAM-SHA-256", "iterations": 4096},
            {"mechanism": "SCRAM-SHA-512", "iterations": 8192}
        ]}]),
    );
    // Creating twice, changing a user that is not there, an empty password
    // and too few iterations are refused with a reason.
    let again = home.fails(&["users", "create", "alice"]);
    assert!(
        again.contains("already has a SCRAM-SHA-256 credential"),
        "{again}"
    );
    let nobody = home.fails(&["users", "passwd", "bob"]);
    assert!(
        nobody.contains("has no SCRAM-SHA-256 credential"),
        "{nobody}"
    );
    let empty = String::from_utf8_lossy(&home.kfk_stdin(&["users", "create", "bob"], "\n").stderr)
        .into_owned();
    assert!(empty.contains("the password is empty"), "{empty}");
    let out = home.kfk_stdin(&["users", "create", "bob", "--iterations", "100"], "pw\n");
    assert!(!out.status.success());
    let weak = String::from_utf8_lossy(&out.stderr);
    assert!(weak.contains("Too few iterations"), "{weak}");
    home.ok_stdin(&["users", "passwd", "alice"], "a new one\n");

    // ZooKeeper's /config/users, as zk-shell browses it.
    assert_eq!(
        home.ok(&["zk-shell", "ls", "/config/users"]).trim(),
        "[alice]"
    );
    let node = home.ok(&["zk-shell", "get", "/config/users/alice"]);
    assert!(
        node.contains("iterations=4096") && node.contains("iterations=8192"),
        "{node}"
    );

    // The metadata log holds salts and keys; no password.
    let log = home
        .broker_data_dirs()
        .into_iter()
        .map(|d| {
            std::fs::read_to_string(d.join("__cluster_metadata/log.jsonl")).unwrap_or_default()
        })
        .collect::<String>();
    assert!(log.contains("stored_key"), "no credential in the log");
    for secret in ["correct horse battery", "staple", "a new one"] {
        assert!(!log.contains(secret), "a password is in the metadata log");
    }

    home.ok(&[
        "users",
        "delete",
        "alice",
        "--mechanism",
        "SCRAM-SHA-512",
        "--yes",
    ]);
    assert_eq!(
        users(&home)[0]["credentials"],
        serde_json::json!([{"mechanism": "SCRAM-SHA-256", "iterations": 4096}])
    );
    home.ok(&["users", "delete", "alice", "--yes"]);
    assert_eq!(users(&home), serde_json::json!([]));
    assert_eq!(home.ok(&["zk-shell", "ls", "/config/users"]).trim(), "[]");
}

#[test]
fn kafka_configs_manages_scram_users_on_kfkd() {
    let home = Home::new();
    home.up();
    let bs = format!("127.0.0.1:{}", home.port());
    let mut kafka = KafkaTools::start();
    let alter = kafka.ok(
        "kafka-configs",
        &[
            "--bootstrap-server",
            &bs,
            "--alter",
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=carol-secret]",
            "--entity-type",
            "users",
            "--entity-name",
            "carol",
        ],
    );
    assert!(
        alter.contains("Completed updating config for user carol."),
        "{alter}"
    );
    let described = kafka.ok(
        "kafka-configs",
        &[
            "--bootstrap-server",
            &bs,
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "carol",
        ],
    );
    assert!(
        described.contains(
            "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-256=iterations=8192"
        ),
        "{described}"
    );
    assert_eq!(
        users(&home),
        serde_json::json!([{"user": "carol", "credentials": [{"mechanism": "SCRAM-SHA-256", "iterations": 8192}]}])
    );
    let deleted = kafka.ok(
        "kafka-configs",
        &[
            "--bootstrap-server",
            &bs,
            "--alter",
            "--delete-config",
            "SCRAM-SHA-256",
            "--entity-type",
            "users",
            "--entity-name",
            "carol",
        ],
    );
    assert!(
        deleted.contains("Completed updating config for user carol."),
        "{deleted}"
    );
    assert_eq!(users(&home), serde_json::json!([]));
}
