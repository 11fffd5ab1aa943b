//! Dedicated controllers (KRaft's `process.roles`, ZooKeeper's place in the
//! seeds' docker-compose) and a metadata quorum that is lost: changes fail
//! fast, say why, and never happen later.

use std::time::{Duration, Instant};

use kfk_e2e::KfkHome as Home;

/// The text `kfk` printed on stderr.
fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Topic names `kfk topics list` shows.
fn topics(home: &Home) -> Vec<String> {
    home.json(&["topics", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_seed_loses_two_brokers_and_keeps_its_metadata_with_dedicated_controllers() {
    let home = Home::new();
    let base = home.up_cluster_with_controllers(3, 3);
    let status = home.ok(&["cluster", "status"]);
    assert!(status.contains("controllers: 3 of 3 running"), "{status}");
    let view = home.json(&["cluster", "status"]);
    let controller = view["controller"].as_i64().unwrap();
    assert!(
        (101..=103).contains(&controller),
        "a dedicated controller leads the quorum: {view}"
    );
    let roles: Vec<(i64, String)> = view["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            (1, "broker".into()),
            (2, "broker".into()),
            (3, "broker".into()),
            (101, "controller".into()),
            (102, "controller".into()),
            (103, "controller".into()),
        ]
    );
    // Clients see brokers only: the controller they are told is a broker.
    let cluster = home.json(&["describe", "cluster"]);
    assert_eq!(cluster["brokers"].as_array().unwrap().len(), 3, "{cluster}");
    assert!((1..=3).contains(&cluster["controller"].as_i64().unwrap()));

    // Seed 000: stop two of the three brokers; the metadata stays writable.
    home.ok(&["cluster", "stop-broker", "2"]);
    home.ok(&["cluster", "stop-broker", "3"]);
    let b1 = format!("127.0.0.1:{base}");
    let started = Instant::now();
    home.ok(&[
        "-b",
        &b1,
        "topics",
        "create",
        "after-loss",
        "-p",
        "2",
        "-r",
        "1",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "create took {:?}",
        started.elapsed()
    );
    home.ok_stdin(&["-b", &b1, "produce", "after-loss"], "kept\n");
    let out = home.ok(&[
        "-b",
        &b1,
        "consume",
        "after-loss",
        "--from-beginning",
        "--max-messages",
        "1",
    ]);
    assert_eq!(out.trim(), "kept");

    // Losing the active controller moves the quorum to another controller.
    home.ok(&["cluster", "stop-broker", &controller.to_string()]);
    home.wait_json(
        &["cluster", "status"],
        Duration::from_secs(15),
        "a new active controller",
        |v| {
            v["controller"]
                .as_i64()
                .is_some_and(|c| c > 100 && c != controller)
        },
    );
    home.ok(&["-b", &b1, "topics", "create", "after-controller-loss"]);
    home.ok(&["cluster", "up"]);
    let status = home.ok(&["cluster", "status"]);
    assert!(status.contains("brokers: 3 of 3 running"), "{status}");
    assert!(status.contains("controllers: 3 of 3 running"), "{status}");
    let names = topics(&home);
    assert!(names.contains(&"after-loss".to_string()), "{names:?}");
    assert!(names.contains(&"after-controller-loss".to_string()));
}

/// Stops two of three voters, checks that a change fails at once saying how
/// many voters are reachable and that status says the quorum is lost, then
/// brings them back and checks the failed change never happened.
fn lose_the_quorum_and_come_back(home: &Home, voters: [i64; 2], bootstrap: &str) {
    for v in voters {
        home.ok(&["cluster", "stop-broker", &v.to_string()]);
    }
    let started = Instant::now();
    let out = home.kfk(&["-b", bootstrap, "topics", "create", "never-made"]);
    let elapsed = started.elapsed();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the metadata quorum has no leader (1 of 3 voters reachable)"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let status = home.ok(&["cluster", "status"]);
    assert!(
        status.contains(
            "controller: none: the metadata quorum has no leader (1 of 3 voters reachable)"
        ),
        "{status}"
    );
    assert!(!status.contains("(controller)"), "{status}");
    let view = home.json(&["cluster", "status"]);
    assert_eq!(view["controller"].as_i64(), Some(-1), "{view}");

    home.ok(&["cluster", "up"]);
    home.wait_json(
        &["cluster", "status"],
        Duration::from_secs(20),
        "the quorum back",
        |v| v["controller"].as_i64().is_some_and(|c| c > 0),
    );
    // Time for anything left queued to be committed, were it left queued.
    std::thread::sleep(Duration::from_secs(2));
    let names = topics(home);
    assert!(
        !names.contains(&"never-made".to_string()),
        "a create reported as failed happened later: {names:?}"
    );
    home.ok(&["topics", "create", "made-after"]);
    assert!(topics(home).contains(&"made-after".to_string()));
}

#[test]
fn losing_two_of_three_dedicated_controllers_fails_changes_fast_and_for_good() {
    let home = Home::new();
    let base = home.up_cluster_with_controllers(3, 3);
    home.ok(&["topics", "create", "before", "-p", "3", "-r", "3"]);
    let controller = home.json(&["cluster", "status"])["controller"]
        .as_i64()
        .unwrap();
    // Keep the leader, lose the other two: it still thinks it leads.
    let others: Vec<i64> = (101..=103).filter(|c| *c != controller).collect();
    lose_the_quorum_and_come_back(&home, [others[0], others[1]], &format!("127.0.0.1:{base}"));
    // Data written before is still served.
    home.ok_stdin(&["produce", "before"], "still\n");
    assert!(topics(&home).contains(&"before".to_string()));
}

#[test]
fn losing_two_of_three_combined_brokers_fails_changes_fast_and_for_good() {
    let home = Home::new();
    let base = home.up_cluster(3);
    let controller = home.json(&["cluster", "status"])["controller"]
        .as_i64()
        .unwrap();
    // The surviving broker is the quorum's leader: the case that used to
    // queue the change until the others came back.
    let others: Vec<i64> = (1..=3).filter(|b| *b != controller).collect();
    let survivor = format!("127.0.0.1:{}", base + controller as u16 - 1);
    lose_the_quorum_and_come_back(&home, [others[0], others[1]], &survivor);
}

#[test]
fn a_peer_down_is_logged_once_not_on_every_heartbeat() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["cluster", "stop-broker", "3"]);
    // Many heartbeat intervals (150 ms) pass.
    std::thread::sleep(Duration::from_secs(6));
    let log = home.ok(&["cluster", "logs", "1"]);
    let down = log
        .lines()
        .filter(|l| l.contains("metadata quorum peer unreachable") && l.contains("peer=3"))
        .count();
    assert!(
        (1..=2).contains(&down),
        "peer 3 being down logged {down} times:\n{log}"
    );
    assert!(
        !log.lines().any(|l| l.contains(" openraft::")),
        "openraft's narration is not at the default level:\n{log}"
    );
    home.ok(&["cluster", "start-broker", "3"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = home.ok(&["cluster", "logs", "1"]);
        if log.contains("metadata quorum peer reachable again peer=3") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "peer 3's return not logged:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_cluster_file_with_controllers_starts_the_seeds_layout_and_restarts_it() {
    let home = Home::new();
    let file = home.path().join("cluster.yaml");
    home.up_fresh(|| {
        let base = kfk_e2e::cluster_base_port_with_controllers(3, 3);
        let controllers: String = (0..3)
            .map(|j| format!("  - id: {}\n    port: {}\n", 11 + j, base + 200 + j))
            .collect();
        let brokers: String = (0..3)
            .map(|i| format!("  - id: {}\n    port: {}\n", i + 1, base + i))
            .collect();
        std::fs::write(
            &file,
            format!(
                "settings:\n  default.replication.factor: 3\ncontrollers:\n{controllers}brokers:\n{brokers}"
            ),
        )
        .unwrap();
        (vec!["-f".to_string(), file.display().to_string()], ())
    });
    let view = home.json(&["cluster", "status"]);
    assert!(
        (11..=13).contains(&view["controller"].as_i64().unwrap()),
        "{view}"
    );
    assert_eq!(view["brokers"].as_array().unwrap().len(), 6, "{view}");
    home.ok(&["topics", "create", "replicated"]);
    let topic = home.json(&["topics", "describe", "replicated"]);
    let layout = kfk_e2e::partition_layout(&topic);
    let replicas: Vec<i64> = layout[0].1.iter().map(|(b, _)| *b).collect();
    assert_eq!(replicas.len(), 3, "{topic}");
    // Controllers never host partitions.
    assert!(replicas.iter().all(|r| (1..=3).contains(r)), "{topic}");
    home.ok(&["cluster", "down"]);
    home.ok(&["cluster", "up"]);
    let status = home.ok(&["cluster", "status"]);
    assert!(status.contains("controllers: 3 of 3 running"), "{status}");
    assert!(topics(&home).contains(&"replicated".to_string()));
}
