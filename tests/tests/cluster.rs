//! A local multi-broker cluster: the metadata quorum spans the brokers, topics
//! spread over them, and the quorum survives losing its leader.

use std::process::Command;
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, bin, run_unchecked, tool};

/// A local cluster of three brokers and its base port.
fn three_brokers() -> (Home, u16) {
    // Short liveness timeouts so fencing shows within seconds.
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300");
    let base = home.up_cluster(3);
    (home, base)
}

/// The `kfk cluster status` entry of broker `id`.
fn broker_status(home: &Home, id: i64) -> serde_json::Value {
    home.json(&["cluster", "status"])["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"].as_i64() == Some(id))
        .unwrap()
        .clone()
}

#[test]
fn three_brokers_share_metadata_and_survive_losing_the_controller() {
    let (home, base) = three_brokers();
    let cluster = home.json(&["describe", "cluster"]);
    assert_eq!(cluster["brokers"].as_array().unwrap().len(), 3);

    home.ok(&[
        "topics",
        "create",
        "myorders",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
    ]);
    let topic = home.json(&["topics", "describe", "myorders"]);
    let mut leaders: Vec<i64> = topic["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["leader"].as_i64().unwrap())
        .collect();
    leaders.sort_unstable();
    assert_eq!(leaders, vec![1, 2, 3], "one partition led by each broker");

    let input: String = (0..30).map(|i| format!("key-{i}:value-{i}\n")).collect();
    home.ok_stdin(&["produce", "myorders", "-K", ":"], &input);
    let out = home.ok(&["consume", "myorders", "--from-beginning", "-e"]);
    assert_eq!(out.lines().count(), 30);

    // Every broker answers metadata with the same cluster id and brokers.
    let out = run_unchecked(
        Command::new(tool("kcat", "the Debian package kcat")).args([
            "-b",
            &format!("127.0.0.1:{}", base + 2),
            "-L",
        ]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 brokers:"), "{text}");

    let out = home.kfk(&["topics", "create", "rf4", "-p", "1", "-r", "4"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("replication factor 4"));

    // Kill the active controller: another broker takes over and admin works.
    let controller = cluster["controller"].as_i64().unwrap();
    let pid = broker_status(&home, controller)["pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let survivor = if controller == 1 { base + 1 } else { base };
    let b = format!("127.0.0.1:{survivor}");
    let started = Instant::now();
    home.ok(&["-b", &b, "topics", "create", "after-failover", "-p", "2"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = home.json(&["-b", &b, "describe", "cluster"]);
        if now["controller"]
            .as_i64()
            .is_some_and(|c| c != controller && c > 0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no new controller: {now}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        home.ok(&["-b", &b, "topics", "list"])
            .contains("after-failover")
    );
}

#[test]
fn a_stopped_broker_is_fenced_and_its_partitions_come_back_with_it() {
    let (home, base) = three_brokers();
    home.ok(&["topics", "create", "orders", "--partitions", "3"]);
    let controller = home.json(&["describe", "cluster"])["controller"]
        .as_i64()
        .unwrap();
    // Stop a broker that is not the controller.
    let victim = (1..=3).find(|b| *b != controller).unwrap();
    let entry = broker_status(&home, victim);
    let pid = entry["pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();

    let leaders = |home: &Home| -> Vec<i64> {
        home.json(&["topics", "describe", "orders"])["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["leader"].as_i64().unwrap())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !leaders(&home).contains(&-1) {
        assert!(
            Instant::now() < deadline,
            "partition of broker {victim} never went offline"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let offline: Vec<usize> = leaders(&home)
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == -1)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        offline.len(),
        1,
        "only the stopped broker's partition is offline"
    );
    let offline_topics = home.ok(&["topics", "list", "--offline", "-o", "json"]);
    assert!(offline_topics.contains("\"orders\""), "{offline_topics}");
    assert!(
        !home
            .ok(&["topics", "list", "--under-replicated"])
            .contains("orders")
    );
    assert_eq!(
        home.json(&["describe", "cluster"])["brokers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The other partitions still take writes.
    let online = (0..3).find(|p| !offline.contains(p)).unwrap();
    home.ok_stdin(
        &["produce", "orders", "-p", &online.to_string()],
        "still works\n",
    );

    // Start the broker again (as `kfk cluster up` did): the partition comes back.
    let voters: Vec<String> = (1..=3)
        .map(|i| format!("{i}@127.0.0.1:{}", base + 100 + i - 1))
        .collect();
    let port = entry["address"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let _broker = kfk_e2e::Spawned::start(
        Command::new(bin("kfkd"))
            .env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
            .env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
            .args(["--node-id", &victim.to_string(), "--data-dir"])
            .arg(entry["data_dir"].as_str().unwrap())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--controller-listen",
                &format!("127.0.0.1:{}", base + 100 + victim as u16 - 1),
            ])
            .args(["--voters", &voters.join(",")])
            // The secret `kfk cluster up` made for the cluster's nodes.
            .arg("--cluster-secret-file")
            .arg(
                std::path::Path::new(entry["data_dir"].as_str().unwrap())
                    .with_file_name("cluster.secret"),
            ),
        &home.path().join(format!("kfkd-{victim}.log")),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while leaders(&home).contains(&-1) {
        assert!(
            Instant::now() < deadline,
            "broker {victim} did not take its partition back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(leaders(&home)[offline[0]], victim);
    assert!(!home.ok(&["topics", "list", "--offline"]).contains("orders"));
}

#[test]
fn a_plain_up_restarts_the_cluster_as_it_was() {
    let (home, base) = three_brokers();
    home.ok(&["topics", "create", "kept", "-p", "3", "-r", "3"]);
    home.ok_stdin(&["produce", "kept", "--acks", "all"], "one\ntwo\n");
    home.ok(&["cluster", "down"]);
    // A different size would leave the quorum without its majority.
    let out = home.kfk(&["cluster", "up", "--brokers", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has 3 broker(s), not 1"), "{err}");
    // No flags: the same three brokers on the same ports, with their data.
    home.ok(&["cluster", "up"]);
    let status = home.json(&["cluster", "status"]);
    let brokers = status["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 3, "{status}");
    assert_eq!(
        brokers[2]["address"],
        format!("127.0.0.1:{}", base + 2),
        "{status}"
    );
    let out = home.ok(&["consume", "kept", "--from-beginning", "-e"]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn brokers_beyond_three_follow_the_quorum_as_learners() {
    let home = Home::new();
    let base = home.up_cluster(4);
    let cluster = home.json(&["describe", "cluster"]);
    assert_eq!(cluster["brokers"].as_array().unwrap().len(), 4, "{cluster}");
    // The learner forwards admin changes and sees every change.
    let learner = format!("127.0.0.1:{}", base + 3);
    home.ok(&[
        "-b", &learner, "topics", "create", "wide", "-p", "4", "-r", "3",
    ]);
    let topic = home.json(&["topics", "describe", "wide"]);
    let replicas_on_4 = topic["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["broker"] == 4)
        })
        .count();
    assert_eq!(replicas_on_4, 3, "RF 3 over 4 brokers: {topic}");
    home.ok_stdin(
        &["-b", &learner, "produce", "wide", "--acks", "all"],
        "a\nb\n",
    );
    let out = home.ok(&["consume", "wide", "--from-beginning", "-e"]);
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn a_cluster_file_sets_ports_racks_and_shared_settings() {
    let home = Home::new();
    let file = home.path().join("cluster.yaml");
    let brokers = |base: u16| -> String {
        (0..3)
            .map(|i| {
                format!(
                    "  - id: {}\n    port: {}\n    rack: rack-{i}\n",
                    i + 1,
                    base + i
                )
            })
            .collect()
    };
    let (base, _) = home.up_fresh(|| {
        let base = kfk_e2e::cluster_base_port(3);
        std::fs::write(
            &file,
            format!(
                "settings:\n  default.replication.factor: 3\n  num.partitions: 2\nbrokers:\n{}",
                brokers(base)
            ),
        )
        .unwrap();
        (vec!["-f".to_string(), file.display().to_string()], base)
    });
    let brokers = brokers(base);
    let cluster = home.json(&["describe", "cluster"]);
    let racks: Vec<&str> = cluster["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rack"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(racks, vec!["rack-0", "rack-1", "rack-2"], "{cluster}");
    home.ok(&["topics", "create", "defaults"]);
    let topic = home.json(&["topics", "describe", "defaults"]);
    let partitions = topic["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    assert!(
        partitions
            .iter()
            .all(|p| p["replicas"].as_array().unwrap().len() == 3),
        "{topic}"
    );
    home.ok(&["cluster", "down"]);
    // A plain `up` restarts the cluster the file described, on its ports.
    home.ok(&["cluster", "up"]);
    let again = home.json(&["describe", "cluster"]);
    assert_eq!(again["brokers"].as_array().unwrap().len(), 3, "{again}");
    assert_eq!(
        home.json(&["cluster", "status"])["brokers"][2]["address"],
        format!("127.0.0.1:{}", base + 2)
    );
    home.ok(&["cluster", "down"]);

    // A misspelt setting is refused before anything starts, naming its line.
    std::fs::write(
        &file,
        format!("settings:\n  num.partitions: 2\n  log.retension.ms: 5\nbrokers:\n{brokers}"),
    )
    .unwrap();
    let out = home.kfk(&["cluster", "up", "-f", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("log.retension.ms"),
        "{err}"
    );
    // So is a misspelt key of the file itself.
    std::fs::write(&file, format!("restproxy: 8082\nbrokers:\n{brokers}")).unwrap();
    let out = home.kfk(&["cluster", "up", "-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1") && err.contains("unknown field `restproxy`"),
        "{err}"
    );
}

/// `docker logs` for the local cluster: a broker's log, its last lines, and
/// following it as it grows; `status` says where the logs are.
#[test]
fn cluster_logs_prints_tails_and_follows_a_brokers_log() {
    let home = Home::new();
    home.up();
    let status = home.json(&["cluster", "status"]);
    let path = status["brokers"][0]["log"].as_str().unwrap().to_string();
    assert!(path.ends_with("broker-1.log"), "{status}");
    assert!(
        home.ok(&["cluster", "status"])
            .contains("kfk cluster logs N")
    );
    let whole = std::fs::read_to_string(&path).unwrap();
    assert_eq!(home.ok(&["cluster", "logs", "1"]), whole);
    let last2: Vec<&str> = whole
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(
        home.ok(&["cluster", "logs", "1", "-n", "2"])
            .lines()
            .collect::<Vec<_>>(),
        last2
    );
    let out = home.kfk(&["cluster", "logs", "7"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no node 7"));

    // -f prints what the broker logs next.
    let followed = home.path().join("followed.log");
    let mut cmd = Command::new(bin("kfk"));
    home.env(&mut cmd);
    cmd.args(["cluster", "logs", "1", "-f", "-n", "1"]);
    let _follow = kfk_e2e::Spawned::start(&mut cmd, &followed);
    // The last line comes first: then it is following.
    kfk_e2e::wait_until(Duration::from_secs(20), "the last line", || {
        std::fs::metadata(&followed).is_ok_and(|m| m.len() > 0)
    });
    home.ok(&["topics", "create", "watched"]);
    kfk_e2e::wait_until(
        Duration::from_secs(20),
        "the new lines to be followed",
        || {
            std::fs::read_to_string(&followed)
                .is_ok_and(|t| t.contains("created topic topic=watched"))
        },
    );
    let first = whole.lines().next().unwrap();
    assert!(!std::fs::read_to_string(&followed).unwrap().contains(first));
}

fn running(home: &Home) -> Vec<i64> {
    home.json(&["cluster", "status"])["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["running"] == true)
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

/// `cluster up` on a running cluster does what `docker compose up -d` does:
/// starts what is stopped (brokers, the REST proxy) and leaves the rest.
#[test]
fn up_on_a_running_cluster_starts_what_is_stopped() {
    let (home, _) = three_brokers();
    home.ok(&["cluster", "stop-broker", "2", "--kill"]);
    assert_eq!(running(&home), [1, 3]);
    let out = home.kfk(&["cluster", "up"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Started broker 2 again."));
    assert_eq!(running(&home), [1, 2, 3]);

    // --rest-proxy on a running cluster adds the proxy; a dead proxy comes back.
    let rest = kfk_e2e::free_port();
    home.ok(&["cluster", "up", "--rest-proxy", &rest.to_string()]);
    let url = home.json(&["cluster", "status"])["rest_proxy"].clone();
    assert_eq!(url, format!("http://127.0.0.1:{rest}"));
    let pid = std::fs::read_to_string(home.path().join("data/cluster.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&pid).unwrap();
    let pid = state["rest_proxy"]["pid"].as_u64().unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    kfk_e2e::wait_until(Duration::from_secs(10), "the proxy to die", || {
        home.json(&["cluster", "status"])["rest_proxy"].is_null()
    });
    let out = home.kfk(&["cluster", "up"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Started the REST proxy"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", rest)).is_ok());
    let out = home.kfk(&["cluster", "up"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
}

/// Two `cluster up` at once: one starts the cluster, the other waits for it
/// and finds it running; never two half-started clusters.
#[test]
fn two_ups_at_once_start_one_cluster() {
    let home = Home::new();
    let base = kfk_e2e::cluster_base_port(3);
    let up = || {
        let mut cmd = Command::new(bin("kfk"));
        home.env(&mut cmd);
        cmd.args([
            "cluster",
            "up",
            "--brokers",
            "3",
            "--base-port",
            &base.to_string(),
        ]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (up(), up());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let said: Vec<String> = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(
        said.iter()
            .filter(|s| s.contains("already running"))
            .count(),
        1,
        "{said:?}"
    );
    assert_eq!(running(&home), [1, 2, 3]);
    let out = home.kfk(&["cluster", "up", "--base-port", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A broker that stops answering (SIGSTOP: its sockets still accept) costs
/// `topics describe` a bounded wait, and the describe says which offsets it
/// could not get instead of hanging on the broker.
#[test]
fn describe_names_a_leader_that_does_not_answer() {
    let home = Home::new();
    let base = home.up_cluster(3);
    home.ok(&["topics", "create", "orders", "-p", "3", "-r", "3"]);
    let status = home.json(&["cluster", "status"]);
    let pid = status["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == 3)
        .and_then(|b| b["pid"].as_i64())
        .unwrap()
        .to_string();
    let stopped = Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    assert!(stopped.success());
    let out = home.kfk(&[
        "topics",
        "describe",
        "orders",
        "-b",
        &format!("127.0.0.1:{base}"),
    ]);
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("broker 3 did not answer for the offsets of partition(s) 2"),
        "{stderr}"
    );
    // The other partitions' offsets are there; broker 3's show -1.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert_eq!(rows[0][4], "0", "{stdout}");
    assert_eq!(rows[2][4], "-1", "{stdout}");
}
