//! Kafka Connect's distributed worker (Apache Kafka's own, from Maven
//! Central) on kfkd: it creates its config, offset and status topics
//! compacted, runs a FileStream source and sink through a kfkd topic, and a
//! restarted worker resumes from the offsets and configs it stored there,
//! read back from logs the cleaner has compacted.

use std::path::Path;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Spawned, free_port, http, http_with, kafka_tools, wait_until};

/// A GET of Connect's REST API: (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http_with(port, "GET", path, &[], "");
    (status, body)
}

fn worker_config(dir: &Path, bootstrap: &str, rest_port: u16) -> std::path::PathBuf {
    let path = dir.join("worker.properties");
    let text = format!(
        "bootstrap.servers={bootstrap}\n\
         group.id=kfk-connect\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         config.storage.topic=connect-configs\n\
         offset.storage.topic=connect-offsets\n\
         status.storage.topic=connect-status\n\
         config.storage.replication.factor=1\n\
         offset.storage.replication.factor=1\n\
         status.storage.replication.factor=1\n\
         offset.storage.partitions=1\n\
         offset.flush.interval.ms=500\n\
         listeners=http://127.0.0.1:{rest_port}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn start_worker(config: &Path, log: &Path) -> Spawned {
    let mut cmd = kafka_tools::java();
    cmd.arg("org.apache.kafka.connect.cli.ConnectDistributed")
        .arg(config);
    Spawned::start(&mut cmd, log)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn append(path: &Path, from: usize, to: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(f, "line {i:03}").unwrap();
    }
}

fn expected(to: usize) -> Vec<String> {
    (0..to).map(|i| format!("line {i:03}")).collect()
}

#[test]
fn a_connect_worker_runs_file_connectors_and_resumes_after_a_restart() {
    let home = Home::new().with_env("KFKD_LOG_CLEANER_BACKOFF_MS", "200");
    home.up();
    let bootstrap = format!("127.0.0.1:{}", home.port());
    let rest = free_port();
    let config = worker_config(home.path(), &bootstrap, rest);
    let log = home.path().join("connect.log");
    let mut worker = start_worker(&config, &log);
    wait_until(Duration::from_secs(120), "Connect's REST API", || {
        std::net::TcpStream::connect(("127.0.0.1", rest)).is_ok()
            && get(rest, "/connectors").0 == 200
    });

    // Its topics were made compacted, as Connect requires. Tiny segments
    // for two of them, so what the worker stores is cleaned while it runs.
    for topic in ["connect-configs", "connect-offsets", "connect-status"] {
        let t = home.json(&["topics", "describe", topic]);
        assert_eq!(t["configs"]["cleanup.policy"], "compact", "{topic}: {t}");
    }
    for (topic, bytes) in [("connect-configs", "600"), ("connect-offsets", "150")] {
        home.ok(&[
            "topics",
            "alter",
            topic,
            "-c",
            &format!("segment.bytes={bytes}"),
        ]);
    }

    let input = home.path().join("in.txt");
    let output = home.path().join("out.txt");
    append(&input, 0, 50);
    let source = format!(
        r#"{{"name":"file-source","config":{{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","tasks.max":"1","file":"{}","topic":"lines"}}}}"#,
        input.display()
    );
    let sink = format!(
        r#"{{"name":"file-sink","config":{{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","tasks.max":"1","file":"{}","topics":"lines"}}}}"#,
        output.display()
    );
    for body in [&source, &sink] {
        let (status, answer) = http(rest, "POST", "/connectors", "application/json", body);
        assert_eq!(status, 201, "{answer}\n{}", worker.output());
    }
    wait_until(
        Duration::from_secs(60),
        "the sink to write 50 lines",
        || lines(&output) == expected(50),
    );
    // More lines, a few offset commits apart, so the source stores offsets
    // in several segments.
    for chunk in 0..5 {
        append(&input, 50 + chunk * 10, 60 + chunk * 10);
        std::thread::sleep(Duration::from_millis(700));
    }
    wait_until(
        Duration::from_secs(60),
        "the sink to write 100 lines",
        || lines(&output) == expected(100),
    );
    // Both topics cleaned before the restart reads them back.
    for topic in ["connect-configs", "connect-offsets"] {
        home.ok(&["topics", "compact", topic]);
        let t = home.json(&["topics", "describe", topic]);
        let p = &t["partitions"][0]["cleaning"];
        assert!(
            p["last_clean_ms"].is_i64() && p["first_dirty_offset"].as_i64() > Some(0),
            "{topic}: {t}"
        );
    }

    // A worker restart: the connectors come back from connect-configs, the
    // source resumes from connect-offsets, the sink from its group.
    assert!(worker.terminate(Duration::from_secs(60)).code().is_some());
    append(&input, 100, 130);
    let mut worker = start_worker(&config, &log);
    wait_until(
        Duration::from_secs(120),
        "the sink to write 130 lines",
        || lines(&output).len() >= 130,
    );
    // Each line once: nothing read again from the start.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(&output), expected(130), "{}", worker.output());
    let (_, status) = get(rest, "/connectors/file-source/status");
    assert!(status.contains("RUNNING"), "{status}");
    worker.terminate(Duration::from_secs(60));
}
