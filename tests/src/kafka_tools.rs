//! Apache Kafka's own command-line tools, run by one JVM per test through the
//! tool driver in `tests/java` (a JVM start per command would cost seconds):
//! `kafka-topics`, the console producer and consumer, `kafka-consumer-groups`
//! and the rest, exactly as their bin/ scripts run them.
//!
//! The jars come from Maven Central into `target/java` (test.sh fetches them;
//! this module does too when they are missing).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::{run, tool};

/// What one tool run printed, and how it ended.
#[derive(Debug, Clone)]
pub struct ToolRun {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ToolRun {
    /// Standard output, after checking the tool succeeded.
    pub fn ok(self) -> String {
        assert_eq!(self.status, 0, "the tool failed:\n{self}");
        self.stdout
    }
}

impl std::fmt::Display for ToolRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// The workspace's `target/java`, where Maven puts the driver and the jars.
fn java_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("..").join("target"))
        .join("java")
}

/// Builds the driver and copies Kafka's jars once per test binary, unless
/// they are already there.
fn prepared() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    static BUILDING: Mutex<()> = Mutex::new(());
    READY.get_or_init(|| {
        let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = java_dir();
        if !dir.join("classes/kfk/e2e/ToolDriver.class").exists() || !dir.join("lib").exists() {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            run(
                Command::new(tool("mvn", "maven"))
                    .arg("-q")
                    .arg("-B")
                    .arg("-f")
                    .arg(manifest.join("java/pom.xml"))
                    .arg(format!(
                        "-Dmaven.repo.local={}",
                        dir.parent().unwrap_or(&dir).join("m2").display()
                    ))
                    .arg("package"),
                Duration::from_secs(600),
            );
        }
        dir
    })
}

/// The classpath of Kafka's tools, clients and broker.
pub fn classpath() -> String {
    let dir = prepared();
    format!(
        "{}:{}",
        dir.join("classes").display(),
        dir.join("lib/*").display()
    )
}

/// A `java` command on Kafka's classpath.
pub fn java() -> Command {
    let mut cmd = Command::new(tool("java", "openjdk-17-jre-headless"));
    cmd.arg("-cp").arg(classpath());
    cmd
}

/// One JVM running Kafka's tools on request.
#[derive(Debug)]
pub struct KafkaTools {
    child: Child,
    requests: ChildStdin,
    answers: Receiver<ToolRun>,
}

/// How long one tool run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

impl KafkaTools {
    pub fn start() -> KafkaTools {
        let mut child = java()
            .args(["-Xmx512m", "-XX:TieredStopAtLevel=1", "kfk.e2e.ToolDriver"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Kafka tool driver");
        let requests = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut head = String::new();
                if r.read_line(&mut head).unwrap_or(0) == 0 {
                    return;
                }
                let parts: Vec<usize> = head
                    .split_whitespace()
                    .map(|n| n.parse::<i64>().unwrap_or(-1) as usize)
                    .collect();
                let [status, out_len, err_len] = parts[..] else {
                    panic!("tool driver said {head:?}");
                };
                let mut out = vec![0; out_len];
                let mut err = vec![0; err_len];
                if r.read_exact(&mut out).is_err() || r.read_exact(&mut err).is_err() {
                    return;
                }
                let done = ToolRun {
                    status: status as i32,
                    stdout: String::from_utf8_lossy(&out).into_owned(),
                    stderr: String::from_utf8_lossy(&err).into_owned(),
                };
                if tx.send(done).is_err() {
                    return;
                }
            }
        });
        KafkaTools {
            child,
            requests,
            answers,
        }
    }

    /// Runs `tool` (a bin/ script's name, e.g. `kafka-topics`) with `args`.
    pub fn run(&mut self, tool: &str, args: &[&str]) -> ToolRun {
        self.run_with_input(tool, args, b"")
    }

    /// Runs `tool` with `input` as its standard input.
    pub fn run_with_input(&mut self, tool: &str, args: &[&str], input: &[u8]) -> ToolRun {
        let mut req = format!("{tool}\n{}\n", args.len());
        for a in args {
            assert!(!a.contains('\n'), "an argument with a newline: {a:?}");
            req.push_str(a);
            req.push('\n');
        }
        req.push_str(&format!("{}\n", input.len()));
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(input);
        self.requests
            .write_all(&bytes)
            .and_then(|()| self.requests.flush())
            .expect("send to the tool driver");
        match self.answers.recv_timeout(TOOL_TIMEOUT) {
            Ok(done) => done,
            Err(e) => {
                let _ = self.child.kill();
                panic!("{tool} {args:?} did not finish within {TOOL_TIMEOUT:?} ({e})");
            }
        }
    }

    /// Runs `tool` and returns its standard output, checking it succeeded.
    pub fn ok(&mut self, tool: &str, args: &[&str]) -> String {
        let done = self.run(tool, args);
        assert_eq!(done.status, 0, "{tool} {args:?} failed:\n{done}");
        done.stdout
    }
}

impl Drop for KafkaTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A single-node Apache Kafka 4.4 in KRaft mode (broker and controller in
/// one JVM), from the same jars, on free loopback ports: what kfk is tested
/// against to show it works with a real Kafka. Stopped when dropped.
#[derive(Debug)]
pub struct ApacheKafka {
    process: crate::Spawned,
    port: u16,
    dir: tempfile::TempDir,
}

impl ApacheKafka {
    pub fn start() -> ApacheKafka {
        let dir = tempfile::tempdir().expect("a directory for Kafka");
        let port = crate::free_port();
        let controller = crate::free_port();
        let config = dir.path().join("server.properties");
        std::fs::write(
            &config,
            format!(
                "process.roles=broker,controller\n\
                 node.id=1\n\
                 controller.quorum.voters=1@127.0.0.1:{controller}\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
                 advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
                 controller.listener.names=CONTROLLER\n\
                 listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
                 log.dirs={}\n\
                 offsets.topic.replication.factor=1\n\
                 transaction.state.log.replication.factor=1\n\
                 transaction.state.log.min.isr=1\n\
                 share.coordinator.state.topic.replication.factor=1\n\
                 share.coordinator.state.topic.min.isr=1\n\
                 group.initial.rebalance.delay.ms=0\n\
                 group.consumer.min.session.timeout.ms=6000\n\
                 group.consumer.min.heartbeat.interval.ms=1000\n",
                dir.path().join("data").display()
            ),
        )
        .expect("write server.properties");
        run(
            java()
                .arg("kafka.tools.StorageTool")
                .args(["format", "-t", "a2ZrLXRlc3RzLWthZmthLQ", "-c"])
                .arg(&config),
            Duration::from_secs(60),
        );
        let mut cmd = java();
        cmd.args(["-Xmx512m", "-Dkfk.e2e.log.level=INFO", "kafka.Kafka"])
            .arg(&config);
        let process = crate::Spawned::start(&mut cmd, &dir.path().join("kafka.log"));
        let kafka = ApacheKafka { process, port, dir };
        let bootstrap = kafka.bootstrap();
        crate::wait_until(Duration::from_secs(90), "Apache Kafka to serve", || {
            Command::new(crate::bin("kfk"))
                .args(["-b", &bootstrap, "topics", "list"])
                .env("KFK_HOME", kafka.dir.path())
                .output()
                .is_ok_and(|o| o.status.success())
        });
        kafka
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the broker logged.
    pub fn log(&self) -> String {
        self.process.output()
    }
}
