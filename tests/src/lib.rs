//! The end-to-end harness: starts real `kfkd` processes on free loopback ports,
//! stops them with SIGTERM or SIGKILL, restarts them on the same data, and runs
//! third-party clients against them. Every wait is bounded.
//!
//! The binaries are taken from the workspace's `target/debug` (or
//! `KFK_BIN_DIR`); build them first with `cargo build --workspace --bins`.

pub mod kafka_tools;
pub mod pki;
pub mod tmux;
pub use tmux::Tmux;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Upper bound for a broker to start answering.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the project's binaries are.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KFK_BIN_DIR") {
        return dir.into();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("..").join("target"));
    target.join("debug")
}

/// Path of a project binary, with a clear failure when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// Path of a third-party tool, with the package that provides it.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.exists())
        })
        .unwrap_or_default();
    path.unwrap_or_else(|| panic!("{name} not found: install {package} (.ci/run does)"))
}

/// A port that was free a moment ago, below the kernel's ephemeral range.
/// Tests stop and restart brokers on the same ports; a port inside that
/// range can meanwhile become the source port of any outgoing connection on
/// the machine, and the restarted broker could not listen on it. Room is
/// left above it for the metrics port `kfk cluster up` puts 1000 higher.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let low = ephemeral_low();
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let p = 10_000 + (h.finish() % u64::from(low - 10_000 - 1_300)) as u16;
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// The first port of the kernel's ephemeral range (Linux: 32768 unless
/// configured otherwise).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .filter(|low| *low > 12_000)
        .unwrap_or(32_768)
}

/// Polls `check` every 50 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `kfkd` process.
#[derive(Debug)]
pub struct Kfkd {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    extra_args: Vec<String>,
    log_path: PathBuf,
    /// Length of the log when the current process was started.
    log_start: usize,
    /// A second listener beside the PLAINTEXT one (SASL_PLAINTEXT unless
    /// started with [`Kfkd::start_with_listener`]), on this port.
    pub sasl_port: Option<u16>,
    /// The second listener's security protocol.
    second: &'static str,
}

impl Kfkd {
    /// Starts a broker on a free port with a fresh data directory.
    pub fn start() -> Kfkd {
        Self::start_with(&[])
    }

    /// As [`Kfkd::start`], with extra flags (e.g. `--log-flush-interval-messages 1`).
    pub fn start_with(args: &[&str]) -> Kfkd {
        Self::launched(args, None, "")
    }

    /// As [`Kfkd::start_with`], also listening for SASL_PLAINTEXT clients
    /// on [`Kfkd::sasl_port`].
    pub fn start_with_sasl(args: &[&str]) -> Kfkd {
        Self::launched(args, Some(0), "SASL_PLAINTEXT")
    }

    /// As [`Kfkd::start_with`], also listening with `protocol` (SSL,
    /// SASL_SSL, SASL_PLAINTEXT) on [`Kfkd::secure_port`].
    pub fn start_with_listener(protocol: &'static str, args: &[&str]) -> Kfkd {
        Self::launched(args, Some(0), protocol)
    }

    /// The second listener's port.
    pub fn secure_port(&self) -> u16 {
        self.sasl_port.expect("started with a second listener")
    }

    fn launched(args: &[&str], sasl_port: Option<u16>, second: &'static str) -> Kfkd {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut k = Kfkd {
            child: None,
            port: 0,
            data_dir: dir.path().join("data"),
            log_path: dir.path().join("kfkd.log"),
            _dir: dir,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            log_start: 0,
            sasl_port,
            second,
        };
        k.launch();
        k
    }

    fn launch(&mut self) {
        for _attempt in 0..5 {
            self.port = free_port();
            if self.sasl_port.is_some() {
                self.sasl_port = Some(free_port());
            }
            let listen = match self.sasl_port {
                Some(q) => format!(
                    "PLAINTEXT://127.0.0.1:{},{}://127.0.0.1:{q}",
                    self.port, self.second
                ),
                None => format!("127.0.0.1:{}", self.port),
            };
            self.log_start = self.log().len();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)
                .expect("log file");
            let child = Command::new(bin("kfkd"))
                .env_clear()
                .env("RUST_LOG", "info")
                .arg("--data-dir")
                .arg(&self.data_dir)
                .arg("--listen")
                .arg(&listen)
                .args(&self.extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn kfkd");
            self.child = Some(child);
            if self.wait_ready() {
                return;
            }
            self.kill9();
        }
        panic!("kfkd did not start; log:\n{}", self.log());
    }

    /// True once the port accepts connections; false if the process exited.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            // Our process must be the one listening: another test's broker may
            // briefly hold the same port, so wait for this broker's own log line.
            let ours = self.log().lines().any(|l| {
                l.contains(kfk_wire::KFKD_READY) && l.contains(&format!("127.0.0.1:{}", self.port))
            });
            if ours && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the broker with SIGKILL: no flush, no clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker with SIGTERM and waits (bounded) for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(
                        status.success(),
                        "kfkd exited with {status}; log:\n{}",
                        self.log()
                    );
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("kfkd did not stop on SIGTERM; log:\n{}", self.log());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the broker again on the same data directory (on a new port).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Starts a killed broker again on the same data directory.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker still running");
        self.launch();
    }

    /// What the broker logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Kfkd {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!(
                "--- kfkd log ({}) ---\n{}",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// A process a test started by hand (a broker outside `kfk cluster`, a
/// client): killed when dropped, and its log shown when the test failed.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    log: PathBuf,
}

impl Spawned {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn start(cmd: &mut Command, log: &Path) -> Spawned {
        let file = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("log file")
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file())
            .stderr(file())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        Spawned {
            child,
            log: log.to_path_buf(),
        }
    }

    /// Waits (bounded) for the process to end by itself.
    pub fn wait_for(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not end within {timeout:?}; its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an operator stops a service, and waits (bounded) for the end.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_for(timeout)
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- log of a process the test started ({}) ---\n{}",
                self.log.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; returns the status and the body.
pub fn http(port: u16, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http_with(port, method, path, &[("Content-Type", content_type)], body);
    (status, body)
}

/// As [`http`], with any headers; returns the status, the response's
/// headers (as received) and its body.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    (status, head.to_string(), body.to_string())
}

/// The JSON objects a test client printed one per line (its log may hold
/// the client's own warnings between them).
pub fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The line of an admin test client's output about `call`.
pub fn call_line<'a>(lines: &'a [serde_json::Value], call: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["call"] == call)
        .unwrap_or_else(|| panic!("{call} in {lines:?}"))
}

/// Milliseconds since the epoch, as record timestamps count them.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The replica brokers of each partition of a `kfk topics describe -o json`.
pub fn replica_brokers(topic: &serde_json::Value) -> Vec<Vec<i64>> {
    topic["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            p["replicas"]
                .as_array()
                .expect("replicas")
                .iter()
                .map(|r| r["broker"].as_i64().expect("a broker id"))
                .collect()
        })
        .collect()
}

/// Runs a command with a deadline; panics with its output if it fails.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let output = run_unchecked(cmd, timeout);
    assert!(
        output.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a command with a deadline and returns its output whatever the status.
pub fn run_unchecked(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || read_all(stdout));
    let err_reader = std::thread::spawn(move || read_all(stderr));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {timeout:?}\nstderr:\n{}",
                String::from_utf8_lossy(&err_reader.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn read_all(r: impl std::io::Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut reader = BufReader::new(r);
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return out,
            Ok(_) => out.extend_from_slice(&line),
        }
    }
}

/// Path of a Python test client in `tests/python`.
pub fn python_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// A `python3` command running one of the test clients.
pub fn python(script: &str) -> Command {
    let mut cmd = Command::new(tool("python3", "python3"));
    cmd.arg(python_script(script));
    cmd
}

/// One of the Python test clients writes 20 records to `topic` and reads
/// them back, with `env` (e.g. `KFK_TEST_SASL`, `KFK_TEST_SSL_CA`) set for
/// both runs; fails the test unless all 20 were acknowledged and read.
pub fn python_round_trip(script: &str, bootstrap: &str, topic: &str, env: &[(&str, &str)]) {
    let run_phase = |phase: &str| {
        let mut cmd = python(script);
        cmd.envs(env.iter().copied())
            .args([bootstrap, phase, topic, "20"]);
        let out = run(&mut cmd, Duration::from_secs(60));
        json_lines(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(run_phase("produce").len(), 20, "{script} produce");
    let read = run_phase("consume");
    assert_eq!(
        read.iter().filter(|l| l.get("v").is_some()).count(),
        20,
        "{script} consume"
    );
}

/// A `node` command running one of the Node.js test clients in `tests/node`.
/// Their packages (pinned by its package-lock.json) are installed there with
/// `npm ci` the first time, so the README's test command needs no extra step.
pub fn node(script: &str) -> Command {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    INSTALLED.get_or_init(|| {
        if dir.join("node_modules").exists() {
            return;
        }
        let out = run_unchecked(
            Command::new(tool("npm", "npm")).current_dir(&dir).args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ]),
            Duration::from_secs(300),
        );
        assert!(
            out.status.success(),
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let mut cmd = Command::new(tool("node", "nodejs"));
    cmd.current_dir(&dir).arg(dir.join(script));
    cmd
}

/// A temporary `KFK_HOME` for running the real `kfk` binary, with its own
/// local-cluster port; stops whatever cluster it started when dropped.
#[derive(Debug)]
pub struct KfkHome {
    dir: tempfile::TempDir,
    /// Base port for `kfk cluster up` (also given to examples as
    /// KFK_BASE_PORT); [`KfkHome::up`] moves it when another process took it.
    port: std::cell::Cell<u16>,
    extra_env: Vec<(String, String)>,
}

impl Default for KfkHome {
    fn default() -> Self {
        Self::new()
    }
}

impl KfkHome {
    pub fn new() -> KfkHome {
        KfkHome {
            dir: tempfile::tempdir().expect("tempdir"),
            port: std::cell::Cell::new(free_port()),
            extra_env: Vec::new(),
        }
    }

    /// The local cluster's first broker port.
    pub fn port(&self) -> u16 {
        self.port.get()
    }

    /// Adds an environment variable for every command (kfk passes it on to
    /// the kfkd processes it starts).
    pub fn with_env(mut self, key: &str, value: &str) -> KfkHome {
        self.extra_env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A clean environment: this home, the project's binaries first on PATH.
    pub fn env(&self, cmd: &mut Command) {
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env_clear()
            .env("KFK_HOME", self.path())
            .env("PATH", path)
            .env("KFK_BASE_PORT", self.port().to_string())
            .env("HOME", self.path())
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)));
    }

    pub fn kfk(&self, args: &[&str]) -> Output {
        self.kfk_stdin(args, "")
    }

    /// Runs kfk with `stdin` as its standard input.
    pub fn kfk_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let input = self.path().join(format!("stdin-{}", free_port()));
        std::fs::write(&input, stdin).expect("stdin file");
        let mut cmd = Command::new(bin("kfk"));
        self.env(&mut cmd);
        cmd.args(args)
            .stdin(std::fs::File::open(&input).expect("stdin file"));
        run_unchecked(&mut cmd, Duration::from_secs(60))
    }

    /// Runs kfk and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, "")
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kfk_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kfk {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kfk and expects it to fail; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kfk(args);
        assert!(
            !out.status.success(),
            "kfk {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs kfk with `-o json` and parses what it prints.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kfk printed JSON")
    }

    /// `kfk cluster up` with one broker on a free port, which becomes this
    /// home's port; returns what `cluster up` printed.
    pub fn up(&self) -> String {
        self.up_fresh(|| {
            let port = free_port();
            self.port.set(port);
            (vec!["--base-port".to_string(), port.to_string()], ())
        })
        .1
    }

    /// `kfk cluster up --brokers N` on free ports; returns the base port
    /// (broker i listens on base + i - 1).
    pub fn up_cluster(&self, brokers: u16) -> u16 {
        self.up_fresh(|| {
            let base = cluster_base_port(brokers);
            (
                vec![
                    "--brokers".to_string(),
                    brokers.to_string(),
                    "--base-port".to_string(),
                    base.to_string(),
                ],
                base,
            )
        })
        .0
    }

    /// `kfk cluster up --brokers N --controllers M` on free ports; returns
    /// the base port.
    pub fn up_cluster_with_controllers(&self, brokers: u16, controllers: u16) -> u16 {
        self.up_fresh(|| {
            let base = cluster_base_port_with_controllers(brokers, controllers);
            self.port.set(base);
            (
                vec![
                    "--brokers".to_string(),
                    brokers.to_string(),
                    "--controllers".to_string(),
                    controllers.to_string(),
                    "--base-port".to_string(),
                    base.to_string(),
                ],
                base,
            )
        })
        .0
    }

    /// As [`KfkHome::up_cluster`], with the REST proxy on a free port;
    /// returns the base port and the proxy's port.
    pub fn up_cluster_with_rest_proxy(&self, brokers: u16) -> (u16, u16) {
        self.up_fresh(|| {
            let base = cluster_base_port(brokers);
            self.port.set(base);
            let rest = free_port();
            (
                vec![
                    "--brokers".to_string(),
                    brokers.to_string(),
                    "--base-port".to_string(),
                    base.to_string(),
                    "--rest-proxy".to_string(),
                    rest.to_string(),
                ],
                (base, rest),
            )
        })
        .0
    }

    /// Starts a new local cluster with `kfk cluster up ARGS`, where `pick`
    /// chooses the ports. A port found free can be taken by another process
    /// before kfk binds it; then the half-started cluster is purged and
    /// started again on other ports. Returns what `pick` chose and what
    /// `cluster up` printed.
    pub fn up_fresh<T>(&self, pick: impl Fn() -> (Vec<String>, T)) -> (T, String) {
        let mut last = String::new();
        for _attempt in 0..5 {
            let (args, picked) = pick();
            let mut all = vec!["cluster", "up"];
            all.extend(args.iter().map(String::as_str));
            let out = self.kfk(&all);
            if out.status.success() {
                return (picked, String::from_utf8_lossy(&out.stdout).into_owned());
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            if !last.contains("already in use") {
                break;
            }
            let _ = self.kfk(&["cluster", "down", "--purge", "--yes"]);
        }
        panic!("kfk cluster up failed:\n{last}");
    }

    /// Polls `kfk -o json ARGS` until `check` accepts it.
    pub fn wait_json(
        &self,
        args: &[&str],
        timeout: Duration,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let v = self.json(args);
            if check(&v) {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; last: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A base port whose `brokers` client ports, controller ports (base + 100
/// onwards) and metrics ports (each node's port + 1000), as `kfk cluster up`
/// assigns them, are free.
pub fn cluster_base_port(brokers: u16) -> u16 {
    cluster_base_port_with_controllers(brokers, 0)
}

/// As [`cluster_base_port`], also with the ports of `controllers` dedicated
/// controllers free (base + 200 onwards, metrics at base + 1200 onwards).
pub fn cluster_base_port_with_controllers(brokers: u16, controllers: u16) -> u16 {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    loop {
        let p = free_port();
        if p > u16::MAX - 1300 {
            continue;
        }
        if (0..brokers).all(|i| free(p + i) && free(p + 100 + i) && free(p + 1000 + i))
            && (0..controllers).all(|j| free(p + 200 + j) && free(p + 1200 + j))
        {
            return p;
        }
    }
}

impl Drop for KfkHome {
    fn drop(&mut self) {
        let _ = self.kfk(&["cluster", "down"]);
    }
}

/// The bootstrap list of a local cluster of `brokers` brokers from `base`.
pub fn cluster_bootstrap(base: u16, brokers: u16) -> String {
    (0..brokers)
        .map(|i| format!("127.0.0.1:{}", base + i))
        .collect::<Vec<_>>()
        .join(",")
}

/// `(leader, [(broker, in_sync)])` per partition of a `topics describe -o
/// json` (or the REST proxy's topic view, which has the same shape).
pub fn partition_layout(topic: &serde_json::Value) -> Vec<(i64, Vec<(i64, bool)>)> {
    topic["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            let replicas = p["replicas"]
                .as_array()
                .expect("replicas")
                .iter()
                .map(|r| {
                    (
                        r["broker"].as_i64().unwrap_or(-1),
                        r["in_sync"].as_bool().unwrap_or(false),
                    )
                })
                .collect();
            (p["leader"].as_i64().unwrap_or(-1), replicas)
        })
        .collect()
}

/// Every `.log` file of a partition directory (`topic-N`) under a broker's
/// data directory, concatenated in segment order.
pub fn log_bytes(data_dir: &Path, partition: &str) -> Vec<u8> {
    let dir = data_dir.join(partition);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    segments
        .iter()
        .flat_map(|p| std::fs::read(p).expect("segment"))
        .collect()
}

impl KfkHome {
    /// Data directories of the local cluster's brokers, in broker order.
    pub fn broker_data_dirs(&self) -> Vec<PathBuf> {
        self.json(&["cluster", "status"])["brokers"]
            .as_array()
            .expect("brokers")
            .iter()
            .map(|b| PathBuf::from(b["data_dir"].as_str().expect("data_dir")))
            .collect()
    }
}

/// What `tests/python/chaos_producer.py` saw acknowledged, from its output
/// file: (partition, offset) -> value. One offset acknowledged for two
/// records (two leaders taking writes in one epoch) fails the test.
pub fn acked_messages(path: &Path) -> std::collections::BTreeMap<(i64, i64), String> {
    let mut acked = std::collections::BTreeMap::new();
    for l in std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("ACK "))
    {
        let mut f = l.splitn(3, ' ');
        let p: i64 = f.next().unwrap().parse().unwrap();
        let o: i64 = f.next().unwrap().parse().unwrap();
        let v = f.next().unwrap().to_string();
        if let Some(before) = acked.insert((p, o), v.clone()) {
            assert_eq!(before, v, "offset {p}/{o} acknowledged for two records");
        }
    }
    acked
}

/// Reads all of `topic` (a chaos_producer.py topic, values `seq-N`) and
/// checks that every acknowledged message is stored exactly once at the
/// position it was acknowledged at, and that each partition keeps the
/// producer's order.
pub fn assert_acked_are_stored(
    home: &KfkHome,
    topic: &str,
    acked: &std::collections::BTreeMap<(i64, i64), String>,
) {
    let out = home.ok(&[
        "consume",
        topic,
        "--from-beginning",
        "-e",
        "--format",
        ACKED_FORMAT,
    ]);
    assert_acked_in(&out, acked);
}

/// The `kfk consume --format` that [`assert_acked_in`] reads.
pub const ACKED_FORMAT: &str = "%p %o %s\n";

/// [`assert_acked_are_stored`] on what a consume with [`ACKED_FORMAT`]
/// printed, for a topic read some other way (another host, another home).
pub fn assert_acked_in(out: &str, acked: &std::collections::BTreeMap<(i64, i64), String>) {
    use std::collections::HashMap;
    let mut stored: HashMap<(i64, i64), String> = HashMap::new();
    let mut count_by_value: HashMap<String, usize> = HashMap::new();
    let mut last_seq: HashMap<i64, i64> = HashMap::new();
    for line in out.lines() {
        let mut f = line.splitn(3, ' ');
        let p: i64 = f.next().unwrap().parse().unwrap();
        let o: i64 = f.next().unwrap().parse().unwrap();
        let v = f.next().unwrap().to_string();
        // Per partition, the producer's sequence numbers only grow.
        let seq: i64 = v.trim_start_matches("seq-").parse().unwrap();
        let prev = last_seq.insert(p, seq);
        assert!(
            prev.is_none_or(|prev| prev < seq),
            "partition {p} out of order at offset {o}: {prev:?} then {seq}"
        );
        *count_by_value.entry(v.clone()).or_default() += 1;
        stored.insert((p, o), v);
    }
    for ((p, o), v) in acked {
        assert_eq!(
            stored.get(&(*p, *o)),
            Some(v),
            "acknowledged {v} at {p}/{o} is missing"
        );
        assert_eq!(count_by_value[v], 1, "{v} is stored more than once");
    }
}

/// Checks that every broker of the local cluster holds the same bytes for
/// each of `topic`'s `partitions` (all replicas in sync and idle).
pub fn assert_replicas_identical(home: &KfkHome, topic: &str, partitions: i32) {
    let brokers = home.broker_data_dirs();
    for p in 0..partitions {
        let name = format!("{topic}-{p}");
        let first = log_bytes(&brokers[0], &name);
        assert!(!first.is_empty(), "{name} is empty");
        for other in &brokers[1..] {
            assert!(
                log_bytes(other, &name) == first,
                "replicas of {name} differ between {} and {}",
                brokers[0].display(),
                other.display()
            );
        }
    }
}

/// The franz-go test client (`tests/go`), built once per test binary into
/// `target/franz` with its modules cached under `target/go`.
pub fn franz() -> Command {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let path = BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("..").join("target"));
        let out = target.join("franz");
        run(
            Command::new(tool("go", "Go (https://go.dev/dl/)"))
                .current_dir(manifest.join("go"))
                .env("GOMODCACHE", target.join("go/mod"))
                .env("GOFLAGS", "-mod=readonly")
                .args(["build", "-o"])
                .arg(&out)
                .arg("."),
            Duration::from_secs(600),
        );
        out
    });
    Command::new(path)
}
