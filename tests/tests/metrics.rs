//! Metrics and health as operators scrape them: a local 3-broker cluster
//! started by `kfk cluster up` serves Prometheus pages under Kafka's JMX
//! exporter names, parsed here by the Prometheus project's own strict
//! OpenMetrics parser; the figures follow what the test did (records
//! produced, a group's lag, a broker killed and restarted).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use kfk_e2e::{KfkHome, Spawned, bin, free_port, http, python, run, wait_until};
use serde_json::Value;

/// One scraped sample.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Every sample of one node's `/metrics`, through `scrape.py`.
fn scrape(port: u16) -> Vec<Sample> {
    let out = run(
        python("scrape.py").arg(port.to_string()),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    let head = lines.next().expect("content type line");
    assert!(
        head["content_type"]
            .as_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{head}"
    );
    lines
        .map(|v| Sample {
            name: v["name"].as_str().unwrap().to_string(),
            labels: v["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            value: v["value"].as_f64().unwrap(),
        })
        .collect()
}

/// The sum of `name`'s samples whose labels include every pair of `labels`
/// (no pairs: every series), over several nodes' pages.
fn sum(pages: &[Vec<Sample>], name: &str, labels: &[(&str, &str)]) -> f64 {
    pages
        .iter()
        .flatten()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// The value of the series `name` with exactly `labels`, on one page.
fn value(page: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    page.iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The metrics port of each running node, from `kfk cluster status`.
fn metrics_ports(home: &KfkHome) -> BTreeMap<i64, u16> {
    let status = home.json(&["cluster", "status"]);
    status["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let url = b["metrics"].as_str().unwrap_or_else(|| panic!("{b}"));
            let port = url
                .strip_prefix("http://127.0.0.1:")
                .and_then(|r| r.strip_suffix("/metrics"))
                .unwrap_or_else(|| panic!("{url}"))
                .parse()
                .unwrap();
            (b["id"].as_i64().unwrap(), port)
        })
        .collect()
}

fn pages(ports: &BTreeMap<i64, u16>, ids: &[i64]) -> Vec<Vec<Sample>> {
    ids.iter().map(|id| scrape(ports[id])).collect()
}

/// Scrapes `ids` until `check` accepts their pages.
fn pages_until(
    ports: &BTreeMap<i64, u16>,
    ids: &[i64],
    what: &str,
    check: impl Fn(&[Vec<Sample>]) -> bool,
) -> Vec<Vec<Sample>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let p = pages(ports, ids);
        if check(&p) {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_local_cluster_serves_kafkas_metrics_and_they_follow_the_cluster() {
    let home = KfkHome::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_REPLICA_LAG_TIME_MAX_MS", "3000");
    let base = home.up_cluster(3);
    let ports = metrics_ports(&home);
    assert_eq!(
        ports.values().copied().collect::<Vec<_>>(),
        vec![base + 1000, base + 1001, base + 1002]
    );
    let status = home.ok(&["cluster", "status"]);
    assert!(
        status.contains(&format!("http://127.0.0.1:{}", base + 1000)) && status.contains("/readyz"),
        "{status}"
    );
    for port in ports.values() {
        assert_eq!(
            http(*port, "GET", "/healthz", "text/plain", ""),
            (200, "ok\n".into())
        );
        wait_until(Duration::from_secs(20), "readyz", || {
            http(*port, "GET", "/readyz", "text/plain", "").0 == 200
        });
    }

    home.ok(&["topics", "create", "orders", "-p", "3", "-r", "3"]);
    let p0: String = (0..10).map(|i| format!("first-{i}\n")).collect();
    let p1: String = (0..20).map(|i| format!("second-{i}\n")).collect();
    home.ok_stdin(&["produce", "orders", "-p", "0", "--acks", "all"], &p0);
    home.ok_stdin(&["produce", "orders", "-p", "1", "--acks", "all"], &p1);
    // A group part way through both partitions: lag 6 on 0, 5 on 1.
    for (p, at) in [("0", "4"), ("1", "15"), ("2", "0")] {
        home.ok(&[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            &format!("orders:{p}"),
            "--to-offset",
            at,
            "--execute",
            "--yes",
        ]);
    }

    let all = [1, 2, 3];
    let p = pages_until(&ports, &all, "every replica's log end offset", |p| {
        p.iter().all(|page| {
            value(
                page,
                "kafka_log_log_logendoffset",
                &[("topic", "orders"), ("partition", "0")],
            ) == Some(10.0)
                && value(
                    page,
                    "kafka_log_log_logendoffset",
                    &[("topic", "orders"), ("partition", "1")],
                ) == Some(20.0)
        })
    });
    // Records are counted once, by the leader that appended them.
    assert_eq!(
        sum(
            &p,
            "kafka_server_brokertopicmetrics_messagesin_total",
            &[("topic", "orders")]
        ),
        30.0
    );
    let bytes_in = sum(
        &p,
        "kafka_server_brokertopicmetrics_bytesin_total",
        &[("topic", "orders")],
    );
    assert!(bytes_in > 30.0 * 8.0, "bytes in: {bytes_in}");
    // Followers fetched every byte the leaders took in.
    let replicated = sum(
        &p,
        "kafka_server_brokertopicmetrics_replicationbytesin_total",
        &[("topic", "orders")],
    );
    assert!(
        replicated >= 2.0 * bytes_in,
        "replicated {replicated}, in {bytes_in}"
    );
    for page in &p {
        // The broker-wide total is the series without a topic label.
        let total = value(
            page,
            "kafka_server_brokertopicmetrics_messagesin_total",
            &[],
        )
        .unwrap();
        let orders = value(
            page,
            "kafka_server_brokertopicmetrics_messagesin_total",
            &[("topic", "orders")],
        )
        .unwrap_or(0.0);
        assert!(total >= orders, "total {total} < orders {orders}");
        assert!(value(page, "kafka_server_replicamanager_partitioncount", &[]).unwrap() >= 3.0);
        assert_eq!(
            value(
                page,
                "kafka_server_replicamanager_underreplicatedpartitions",
                &[]
            ),
            Some(0.0)
        );
        assert!(
            value(
                page,
                "kafka_network_requestmetrics_requests_total",
                &[("request", "FetchFollower")]
            )
            .unwrap_or(0.0)
                > 0.0
        );
        assert!(
            value(
                page,
                "kafka_server_socket_server_metrics_connection_count",
                &[("listener", "PLAINTEXT")]
            )
            .is_some()
        );
        assert!(value(page, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    }
    // Whichever brokers led the produce requests timed them.
    assert!(
        sum(
            &p,
            "kafka_network_requestmetrics_requests_total",
            &[("request", "Produce")]
        ) >= 2.0
    );
    assert!(
        sum(
            &p,
            "kafka_network_requestmetrics_totaltimems_count",
            &[("request", "Produce")]
        ) >= 2.0
    );
    // Exactly one active controller; the quorum agrees on its leader.
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_activecontrollercount",
            &[]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_activebrokercount",
            &[]
        ),
        3.0
    );
    let leaders: Vec<_> = p
        .iter()
        .map(|page| value(page, "kafka_server_raft_metrics_current_leader", &[]))
        .collect();
    assert!(
        leaders[0].is_some() && leaders.iter().all(|l| *l == leaders[0]),
        "{leaders:?}"
    );
    // Group lag as kafka-lag-exporter reports it, by the group's coordinator.
    let lag = |p: &[Vec<Sample>], part: &str| {
        sum(
            p,
            "kafka_consumergroup_group_lag",
            &[
                ("group", "billing"),
                ("topic", "orders"),
                ("partition", part),
            ],
        )
    };
    assert_eq!((lag(&p, "0"), lag(&p, "1"), lag(&p, "2")), (6.0, 5.0, 0.0));
    assert_eq!(
        sum(
            &p,
            "kafka_consumergroup_group_sum_lag",
            &[("group", "billing")]
        ),
        11.0
    );
    assert_eq!(
        sum(
            &p,
            "kafka_consumergroup_group_max_lag",
            &[("group", "billing")]
        ),
        6.0
    );
    assert_eq!(
        sum(
            &p,
            "kafka_consumergroup_group_offset",
            &[
                ("group", "billing"),
                ("topic", "orders"),
                ("partition", "1")
            ]
        ),
        15.0
    );

    // Every series the shipped dashboard and alerts chart is one kfkd serves.
    let served: std::collections::BTreeSet<&str> =
        p.iter().flatten().map(|s| s.name.as_str()).collect();
    for name in example_metric_names() {
        assert!(
            served.contains(name.as_str()),
            "examples/ use {name}, which no node serves"
        );
    }

    // A broker dies: the others see every orders partition under-replicated,
    // count the ISR shrinks, and the controller counts it fenced.
    home.ok(&["cluster", "stop-broker", "3", "--kill"]);
    let live = [1, 2];
    let p = pages_until(&ports, &live, "orders to be under-replicated", |p| {
        sum(
            p,
            "kafka_cluster_partition_underreplicated",
            &[("topic", "orders")],
        ) == 3.0
    });
    assert!(
        sum(
            &p,
            "kafka_server_replicamanager_underreplicatedpartitions",
            &[]
        ) >= 3.0
    );
    assert!(sum(&p, "kafka_server_replicamanager_isrshrinks_total", &[]) >= 3.0);
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_fencedbrokercount",
            &[]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_activebrokercount",
            &[]
        ),
        2.0
    );
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_offlinepartitionscount",
            &[]
        ),
        0.0
    );
    // Two of three in sync is above the default min.insync.replicas of 1.
    for page in &p {
        assert_eq!(
            value(
                page,
                "kafka_server_replicamanager_underminisrpartitioncount",
                &[]
            ),
            Some(0.0)
        );
    }

    // It comes back: the ISR grows again and nothing is under-replicated.
    home.ok(&["cluster", "start-broker", "3"]);
    wait_until(Duration::from_secs(30), "broker 3 ready", || {
        http(ports[&3], "GET", "/readyz", "text/plain", "").0 == 200
    });
    let p = pages_until(&ports, &all, "the ISR to heal", |p| {
        sum(
            p,
            "kafka_server_replicamanager_underreplicatedpartitions",
            &[],
        ) == 0.0
    });
    assert!(sum(&p, "kafka_server_replicamanager_isrexpands_total", &[]) >= 3.0);
    assert_eq!(
        sum(
            &p,
            "kafka_controller_kafkacontroller_fencedbrokercount",
            &[]
        ),
        0.0
    );
}

#[test]
fn readyz_says_why_a_node_without_a_quorum_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let (client, controller, metrics) = (free_port(), free_port(), free_port());
    // One of two voters: no quorum can form until the other starts.
    let absent = free_port();
    let mut node = Spawned::start(
        Command::new(bin("kfkd"))
            .env_clear()
            .env("RUST_LOG", "info")
            .args(["--node-id", "1", "--process-roles", "broker,controller"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{client}")])
            .args(["--controller-listen", &format!("127.0.0.1:{controller}")])
            .args([
                "--voters",
                &format!("1@127.0.0.1:{controller},2@127.0.0.1:{absent}"),
            ])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")]),
        &dir.path().join("kfkd.log"),
    );
    wait_until(Duration::from_secs(20), "the metrics listener", || {
        std::net::TcpStream::connect(("127.0.0.1", metrics)).is_ok()
    });
    assert_eq!(
        http(metrics, "GET", "/healthz", "text/plain", ""),
        (200, "ok\n".into())
    );
    let (status, body) = http(metrics, "GET", "/readyz", "text/plain", "");
    assert_eq!(
        (status, body.as_str()),
        (
            503,
            "not ready: starting: waiting for the metadata quorum to elect a leader and replay its log\n"
        ),
        "{}",
        node.output()
    );
    // Prometheus can still scrape it: the process's own figures.
    let page = scrape(metrics);
    assert!(value(&page, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    node.kill9();
}

/// The node of `kfk top -o json`'s view whose `node` is `id`.
fn top_node(view: &Value, id: &str) -> Value {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == id)
        .unwrap_or_else(|| panic!("node {id} in {view}"))
        .clone()
}

#[test]
fn kfk_top_shows_rates_lag_and_a_broker_that_is_down() {
    let home = KfkHome::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300")
        .with_env("KFKD_REPLICA_LAG_TIME_MAX_MS", "3000");
    home.up_cluster(3);
    home.ok(&["topics", "create", "clicks", "-p", "3", "-r", "3"]);
    home.ok(&["topics", "create", "quiet", "-p", "1", "-r", "1"]);
    let batch: String = (0..200).map(|i| format!("click-{i}\n")).collect();
    home.ok_stdin(&["produce", "clicks", "-p", "0"], &batch);
    // A group at the start of partition 0: lag 200 and more as clicks come.
    home.ok(&[
        "groups",
        "reset-offsets",
        "billing",
        "--topic",
        "clicks:0",
        "--to-offset",
        "0",
        "--execute",
        "--yes",
    ]);

    // Rates are measured over the interval while records keep coming.
    let mut top = Command::new(bin("kfk"));
    home.env(&mut top);
    let top = top
        .args(["top", "-n", "1", "--interval", "3s", "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut top = top;
    while top.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "kfk top did not end");
        home.ok_stdin(&["produce", "clicks", "-p", "0"], &batch);
    }
    let out = top.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["nodes"].as_array().unwrap().len(), 3, "{view}");
    assert!(view["controller"].is_string(), "{view}");
    for id in ["1", "2", "3"] {
        let n = top_node(&view, id);
        assert_eq!(n["status"], "running", "{n}");
        assert!(n["partitions"].as_u64().unwrap() >= 3, "{n}");
        assert_eq!(n["under_replicated"], 0, "{n}");
    }
    let leaders: u64 = (1..=3)
        .map(|id| {
            top_node(&view, &id.to_string())["leaders"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(
        leaders >= 4,
        "clicks' 3 and quiet's 1 partitions led: {view}"
    );
    let topics = view["topics"].as_array().unwrap();
    // The busiest first: clicks took records during the interval, quiet none.
    assert_eq!(topics[0]["topic"], "clicks", "{view}");
    assert!(
        topics[0]["messages_in_per_sec"].as_f64().unwrap() > 0.0,
        "{view}"
    );
    assert!(
        topics[0]["size_bytes"].as_u64().unwrap() > 200 * 7,
        "{view}"
    );
    let quiet = topics.iter().find(|t| t["topic"] == "quiet").unwrap();
    assert_eq!(quiet["messages_in_per_sec"].as_f64(), Some(0.0), "{view}");
    let billing = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "billing")
        .unwrap_or_else(|| panic!("billing in {view}"));
    assert!(billing["lag"].as_u64().unwrap() >= 400, "{billing}");

    // The table a person reads, in a pipe: one view, then exit.
    let text = home.ok(&["top", "--interval", "500ms"]);
    for want in ["NODE", "STATUS", "MSG/S IN", "clicks", "quiet", "billing"] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }

    // A broker is killed: top names it down and the others' URP.
    home.ok(&["cluster", "stop-broker", "3", "--kill"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let view = loop {
        let v = home.json(&["top", "-n", "1", "--interval", "500ms"]);
        let urp: u64 = ["1", "2"]
            .iter()
            .map(|id| top_node(&v, id)["under_replicated"].as_u64().unwrap_or(0))
            .sum();
        if urp >= 3 {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "no URP seen: {v}");
    };
    let down = top_node(&view, &format!("127.0.0.1:{}", metrics_port_of(&home, 3)));
    assert!(
        down["status"].as_str().unwrap().starts_with("down"),
        "{down}"
    );

    // Bad input is a usage error; nothing answering is an error that says so.
    let err = home.fails(&["top", "--metrics", "localhost"]);
    assert!(err.contains("bad metrics address"), "{err}");
    let err = home.fails(&["top", "--interval", "0s"]);
    assert!(err.contains("--interval"), "{err}");
    let nobody = free_port().to_string();
    let err = home.fails(&[
        "top",
        "--metrics",
        &format!("127.0.0.1:{nobody}"),
        "--interval",
        "200ms",
    ]);
    assert!(err.contains("no metrics endpoint answered"), "{err}");
}

/// Where broker `id` of the local cluster serves metrics, from `cluster status`.
fn metrics_port_of(home: &KfkHome, id: i64) -> u16 {
    metrics_ports(home)[&id]
}

/// The metric names the Grafana dashboard's and the alert rules' queries in
/// `examples/` read (PromQL functions and labels are not metric names: those
/// are the identifiers kfkd's names start with).
fn example_metric_names() -> Vec<String> {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(examples.join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 20, "{exprs:?}");
    let alerts: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(examples.join("kfkd-alerts.yml")).unwrap())
            .unwrap();
    for rule in alerts["groups"][0]["rules"].as_sequence().unwrap() {
        exprs.push(rule["expr"].as_str().unwrap().to_string());
    }
    let mut names: Vec<String> = exprs
        .iter()
        .flat_map(|e| {
            e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| {
                    ["kafka_", "kfkd_", "process_"]
                        .iter()
                        .any(|p| w.starts_with(p))
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    // The scrape config reads the nodes `kfk cluster up` starts by default.
    let scrape: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(examples.join("prometheus.yml")).unwrap())
            .unwrap();
    let targets: Vec<&str> = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["127.0.0.1:10092", "127.0.0.1:10093", "127.0.0.1:10094"]
    );
    names
}
