//! `kfk zk-shell` one-shots: the ZooKeeper view of a 3-broker cluster.

use kfk_e2e::KfkHome as Home;
use serde_json::Value;

fn get(home: &Home, path: &str) -> Value {
    serde_json::from_str(&home.ok(&["zk-shell", "get", path])).unwrap()
}

#[test]
fn the_metadata_reads_like_zookeeper_and_topic_configs_can_be_set() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["topics", "create", "myorders", "-p", "3", "-r", "2"]);

    assert_eq!(
        home.ok(&["zk-shell", "ls", "/brokers/ids"]).trim(),
        "[1, 2, 3]"
    );
    let ls: Value =
        serde_json::from_str(&home.ok(&["-o", "json", "zk-shell", "ls", "/brokers/topics"]))
            .unwrap();
    assert!(ls.as_array().unwrap().contains(&Value::from("myorders")));
    // The output flag may also follow the shell command, as users type it.
    let trailing: Value =
        serde_json::from_str(&home.ok(&["zk-shell", "ls", "/brokers/ids", "-o", "json"])).unwrap();
    assert_eq!(trailing, serde_json::json!(["1", "2", "3"]));
    let controller = home.json(&["describe", "cluster"])["controller"].clone();
    assert_eq!(get(&home, "/controller")["brokerid"], controller);
    let cluster_id = home.json(&["describe", "cluster"])["cluster_id"].clone();
    assert_eq!(get(&home, "/cluster/id")["id"], cluster_id);
    let port = home.json(&["describe", "broker", "2"])["port"].clone();
    assert_eq!(get(&home, "/brokers/ids/2")["port"], port);

    let topic = home.json(&["topics", "describe", "myorders"]);
    let assignment = get(&home, "/brokers/topics/myorders");
    for p in topic["partitions"].as_array().unwrap() {
        let n = p["partition"].as_i64().unwrap().to_string();
        let replicas: Vec<Value> = p["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["broker"].clone())
            .collect();
        assert_eq!(assignment["partitions"][&n], Value::from(replicas));
        let state = get(
            &home,
            &format!("/brokers/topics/myorders/partitions/{n}/state"),
        );
        assert_eq!(state["leader"], p["leader"]);
        assert_eq!(state["isr"].as_array().unwrap().len(), 2);
    }
    assert_eq!(home.ok(&["zk-shell", "ruok"]).trim(), "imok");
    // Dynamic broker configs, and groups with their committed offsets.
    assert_eq!(
        get(&home, "/config/brokers/1")["config"],
        serde_json::json!({})
    );
    home.ok_stdin(&["produce", "myorders", "-p", "1"], "a\nb\n");
    home.ok(&[
        "consume",
        "myorders",
        "--group",
        "readers",
        "--from-beginning",
        "-e",
    ]);
    assert!(
        home.ok(&["zk-shell", "ls", "/consumers"])
            .contains("readers")
    );
    let group = get(&home, "/consumers/readers");
    assert_eq!(group["offsets"]["myorders"]["1"], 2, "{group}");
    assert_eq!(group["state"], "Empty");
    // find: a glob over every path, or a word anywhere in a path.
    let find = |pattern: &str| -> Vec<String> {
        home.ok(&["zk-shell", "find", pattern])
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        find("/brokers/topics/myorders/partitions/*/state"),
        [
            "/brokers/topics/myorders/partitions/0/state",
            "/brokers/topics/myorders/partitions/1/state",
            "/brokers/topics/myorders/partitions/2/state",
        ]
    );
    assert_eq!(find("readers"), ["/consumers/readers"]);
    assert_eq!(
        find("/brokers/ids/*"),
        ["/brokers/ids/1", "/brokers/ids/2", "/brokers/ids/3"]
    );
    assert!(find("no-such-node").is_empty());
    assert!(
        !home
            .kfk(&["zk-shell", "get", "/brokers/ids/9"])
            .status
            .success()
    );

    // set replaces the overrides; it asks first, and refuses without a terminal.
    let set = [
        "zk-shell",
        "set",
        "/config/topics/myorders",
        r#"{"config":{"retention.ms":"86400000"}}"#,
    ];
    assert!(!home.kfk(&set).status.success());
    assert_eq!(
        get(&home, "/config/topics/myorders")["config"],
        serde_json::json!({})
    );
    let mut with_yes = set.to_vec();
    with_yes.push("--yes");
    home.ok(&with_yes);
    assert_eq!(
        get(&home, "/config/topics/myorders")["config"]["retention.ms"],
        "86400000"
    );
}

#[test]
fn commands_can_be_piped_in_and_ruok_fails_without_a_quorum() {
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300");
    home.up_cluster(3);
    // zookeeper-shell's `<<< "ls /brokers/ids"`: no prompt, one answer a line.
    let out = home.kfk_stdin(
        &["zk-shell"],
        "ls /\nls /brokers/ids\n# a comment\ncd /cluster\nls\nls /admin\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[admin, brokers, cluster, config, consumers, controller, controller_epoch, feature, isr_change_notification, latest_producer_id_block, log_dir_event_notification, zookeeper]\n[1, 2, 3]\n[id]\n[]\n"
    );
    // A failed command is reported and sets the exit status.
    let out = home.kfk_stdin(&["zk-shell"], "get /nope\nls /brokers/ids\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[1, 2, 3]\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Node does not exist: /nope"));

    // Two of three voters gone: no controller can act, and ruok says so.
    home.ok(&["cluster", "stop-broker", "2", "--kill"]);
    home.ok(&["cluster", "stop-broker", "3", "--kill"]);
    kfk_e2e::wait_until(std::time::Duration::from_secs(20), "ruok to fail", || {
        !home.kfk(&["zk-shell", "ruok"]).status.success()
    });
    home.ok(&["cluster", "start-broker", "2"]);
    kfk_e2e::wait_until(
        std::time::Duration::from_secs(20),
        "ruok to answer imok again",
        || home.kfk(&["zk-shell", "ruok"]).status.success(),
    );
}

#[test]
fn the_interactive_shell_completes_paths_moves_around_and_keeps_history() {
    let home = Home::new();
    home.up();
    home.ok(&["topics", "create", "myorders", "-p", "2"]);
    let t = kfk_e2e::Tmux::shell(&home);
    let wait = std::time::Duration::from_secs(20);
    t.run("kfk zk-shell");
    t.wait_for(" /] ", wait);

    // Tab completes paths from the tree.
    t.text("ls /brokers/top");
    t.keys(&["Tab"]);
    t.wait_for("ls /brokers/topics", wait);
    t.keys(&["Enter"]);
    t.wait_for("[myorders]", wait);

    t.line("cd /brokers/topics/myorders/partitions");
    t.wait_for(" /brokers/topics/myorders/partitions] ", wait);
    t.line("ls");
    t.wait_for("[0, 1]", wait);
    t.line("get 1/state");
    t.wait_for("\"leader_epoch\"", wait);
    t.line("cd ../../..");
    t.line("pwd");
    t.wait_for("\n/brokers\n", wait);
    t.line("get /nowhere");
    t.wait_for("Node does not exist: /nowhere", wait);

    // set asks before changing anything.
    t.line(r#"set /config/topics/myorders {"retention.ms":"3600000"}"#);
    t.wait_for("Change the configs of topic myorders", wait);
    t.text("y");
    t.wait_for("updated /config/topics/myorders", wait);
    assert_eq!(
        get(&home, "/config/topics/myorders")["config"]["retention.ms"],
        "3600000"
    );
    t.line("quit");
    t.wait_for("[exit 0]", wait);

    // The history survives the shell.
    let history = std::fs::read_to_string(home.path().join("data/zk-shell-history")).unwrap();
    assert!(history.contains("cd ../../.."), "{history}");
}

/// A `stat` field by name (`cZxid = 0x1a` -> "0x1a").
fn stat_field(stat: &str, name: &str) -> String {
    stat.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{stat}"))
        .to_string()
}

fn zxid(stat: &str, name: &str) -> u64 {
    let v = stat_field(stat, name);
    u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{name} = {v}"))
}

/// What zookeeper-shell prints, as scripts read it: `get /controller` is one
/// compact line, the nodes Kafka kept exist, `stat` has ZooKeeper's fields
/// from the metadata log, and a server may come first.
#[test]
fn zookeeper_shell_fidelity() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let started = kfk_e2e::now_ms();
    home.ok(&["topics", "create", "orders", "-p", "2", "-r", "2"]);

    // One line, Kafka's key order, the election time in ms as a string.
    let out = home.ok(&["zk-shell", "get", "/controller"]);
    let last = out.lines().last().unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(last.starts_with("{\"version\":2,\"brokerid\":"), "{last}");
    let v: Value = serde_json::from_str(last).unwrap();
    let controller = home.json(&["cluster", "status"])["controller"]
        .as_i64()
        .unwrap();
    assert_eq!(v["brokerid"].as_i64(), Some(controller));
    let elected: i64 = v["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        elected <= kfk_e2e::now_ms() && elected > started - 120_000,
        "{elected}"
    );
    assert!(
        home.ok(&["zk-shell", "get", "/controller_epoch"])
            .trim()
            .parse::<u64>()
            .unwrap()
            >= 1
    );

    assert_eq!(
        home.ok(&["zk-shell", "ls", "/"]).trim(),
        "[admin, brokers, cluster, config, consumers, controller, controller_epoch, feature, isr_change_notification, latest_producer_id_block, log_dir_event_notification, zookeeper]"
    );
    assert_eq!(
        home.ok(&["zk-shell", "ls", "/brokers"]).trim(),
        "[ids, seqid, topics]"
    );
    assert_eq!(
        home.ok(&["zk-shell", "ls", "/zookeeper"]).trim(),
        "[config, quota]"
    );
    assert_eq!(
        home.ok(&["zk-shell", "get", "/brokers/seqid"]).trim(),
        "null"
    );
    assert_eq!(
        home.ok(&["zk-shell", "ls", "/isr_change_notification"])
            .trim(),
        "[]"
    );
    let ensemble = home.ok(&["zk-shell", "get", "/zookeeper/config"]);
    assert!(
        ensemble.contains(&format!("server.1=127.0.0.1:{}:participant", base + 100)),
        "{ensemble}"
    );
    let feature: Value = serde_json::from_str(&home.ok(&["zk-shell", "get", "/feature"])).unwrap();
    assert_eq!(feature["version"], 2);

    // stat: ZooKeeper's fields, zxids as metadata log offsets.
    let stat = home.ok(&["zk-shell", "stat", "/brokers/topics/orders"]);
    let fields: Vec<&str> = stat
        .lines()
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "cZxid",
            "ctime",
            "mZxid",
            "mtime",
            "pZxid",
            "cversion",
            "dataVersion",
            "aclVersion",
            "ephemeralOwner",
            "dataLength",
            "numChildren"
        ]
    );
    let created = zxid(&stat, "cZxid");
    assert_eq!(zxid(&stat, "mZxid"), created);
    assert_eq!(stat_field(&stat, "dataVersion"), "0");
    let ctime = stat_field(&stat, "ctime");
    assert!(
        ctime.contains(" UTC ") && ctime.len() == "Wed Dec 02 17:11:34 UTC 2026".len(),
        "{ctime}"
    );
    let data = home.ok(&["zk-shell", "get", "/brokers/topics/orders"]);
    assert_eq!(
        stat_field(&stat, "dataLength"),
        data.trim_end().len().to_string()
    );
    home.ok(&["topics", "alter", "orders", "--partitions", "3"]);
    let after = home.ok(&["zk-shell", "stat", "/brokers/topics/orders"]);
    assert_eq!(zxid(&after, "cZxid"), created);
    assert!(zxid(&after, "mZxid") > created, "{after}");
    assert_eq!(stat_field(&after, "dataVersion"), "1");
    let topics = home.ok(&["zk-shell", "stat", "/brokers/topics"]);
    assert_eq!(zxid(&topics, "pZxid"), created, "the last child created");
    // A broker's node is ephemeral: a restart makes a new one, owned by the
    // new broker epoch.
    let before = home.ok(&["zk-shell", "stat", "/brokers/ids/2"]);
    home.ok(&["cluster", "stop-broker", "2"]);
    home.ok(&["cluster", "start-broker", "2"]);
    let again = home.ok(&["zk-shell", "stat", "/brokers/ids/2"]);
    assert!(
        zxid(&again, "cZxid") > zxid(&before, "cZxid"),
        "{before}\n{again}"
    );
    assert_ne!(
        stat_field(&again, "ephemeralOwner"),
        stat_field(&before, "ephemeralOwner")
    );
    // The root is ZooKeeper's: created before everything.
    let root = home.ok(&["zk-shell", "stat", "/"]);
    assert_eq!(stat_field(&root, "cZxid"), "0x0");

    // An idempotent producer's ids come from a block the log records.
    let out = std::process::Command::new(kfk_e2e::tool("kcat", "the Debian package kcat"))
        .args([
            "-b",
            &format!("127.0.0.1:{base}"),
            "-P",
            "-t",
            "orders",
            "-X",
            "enable.idempotence=true",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"once\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let block: Value =
        serde_json::from_str(&home.ok(&["zk-shell", "get", "/latest_producer_id_block"])).unwrap();
    assert_eq!(block["version"], 1);
    assert_eq!(block["block_start"], "0");
    assert_eq!(block["block_end"], "999");
    assert!(
        (1..=3).contains(&block["broker"].as_i64().unwrap()),
        "{block}"
    );

    // zookeeper-shell's form: the server first.
    let out = home.kfk(&[
        "zk-shell",
        &format!("127.0.0.1:{}", base + 1),
        "get",
        "/controller",
    ]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("Connecting to 127.0.0.1:{}", base + 1))
    );
    let line: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(line["brokerid"].as_i64(), Some(controller));
}
