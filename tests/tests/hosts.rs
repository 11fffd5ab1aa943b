//! Clusters across hosts: each node on a "host" of its own, a network
//! namespace with its own address on a bridge (itself in a namespace, so the
//! machine's network is untouched), the client on a fourth. The network then
//! fails the ways real ones do: a host cut off (its switch port down), a host
//! that can send but not receive (the switch drops what it forwards to it),
//! a slow, lossy link (`tc netem`: 200 ms and 5 % loss). Under acks=all load
//! no acknowledged record may be lost, no offset acknowledged twice (what two
//! leaders of one epoch accepting writes would show), and the cluster heals
//! when the network does. Failure detection and leader moves are timed and
//! printed as `TIMING` lines (PERFORMANCE.md keeps them).
//!
//! Where the kernel or the user may not make namespaces (not root, no veth),
//! each test says so and is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kfk_e2e::{
    ACKED_FORMAT, assert_acked_in, bin, log_bytes, partition_layout, python_script, run_unchecked,
    tool,
};
use serde_json::Value;

const SUBNET: &str = "10.99.0";
const KAFKA_PORT: u16 = 9092;
const RAFT_PORT: u16 = 9093;
const BROKER_RAFT_PORT: u16 = 9094;
const BROKER_METRICS_PORT: u16 = 9095;
const CONTROLLER_METRICS_PORT: u16 = 9096;

fn ip_tool(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    ip_tool("ip", args)
}

fn tc(args: &[&str]) -> Result<(), String> {
    ip_tool("tc", args)
}

/// Hosts 1..=N (the nodes) and host 0 (the client) on one switch.
struct Network {
    tag: String,
    hosts: usize,
}

impl Network {
    /// The network, or why this machine cannot make it.
    fn new(hosts: usize) -> Result<Network, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let net = Network {
            tag: format!(
                "kfk{}x{}",
                std::process::id() % 100_000,
                SEQ.fetch_add(1, Ordering::Relaxed)
            ),
            hosts,
        };
        let sw = net.switch();
        ip(&["netns", "add", &sw])?;
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        for i in 0..=hosts {
            let ns = net.ns(i);
            let port = Network::port(i);
            ip(&["netns", "add", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", net.addr(i)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        }
        Ok(net)
    }

    fn ns(&self, host: usize) -> String {
        format!("{}h{host}", self.tag)
    }

    fn switch(&self) -> String {
        format!("{}sw", self.tag)
    }

    fn port(host: usize) -> String {
        format!("p{host}")
    }

    fn addr(&self, host: usize) -> String {
        if host == 0 {
            format!("{SUBNET}.100")
        } else {
            format!("{SUBNET}.{host}")
        }
    }

    /// `program` run on `host`.
    fn exec(&self, host: usize, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(host)]).arg(program);
        cmd
    }

    /// The host's switch port goes down: nothing in or out.
    fn cut(&self, host: usize) {
        ip(&[
            "-n",
            &self.switch(),
            "link",
            "set",
            &Network::port(host),
            "down",
        ])
        .unwrap();
    }

    /// The host sends, and the switch delivers nothing to it: its port
    /// neither learns addresses nor takes floods, so no frame has a way there.
    fn deafen(&self, host: usize) {
        self.port_flags(host, "off");
    }

    fn port_flags(&self, host: usize, on: &str) {
        let mut args = vec![
            "-n".to_string(),
            self.switch(),
            "link".into(),
            "set".into(),
            "dev".into(),
            Network::port(host),
            "type".into(),
            "bridge_slave".into(),
        ];
        for flag in ["learning", "flood", "mcast_flood", "bcast_flood"] {
            args.extend([flag.to_string(), on.to_string()]);
        }
        if on == "off" {
            args.push("fdb_flush".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&args).unwrap();
    }

    /// 200 ms and `loss` each way on the host's link with `tc netem`; where
    /// the kernel has no netem, a 2 Mbit/s token bucket makes the link slow
    /// instead, and the test says so.
    fn degrade(&self, host: usize, loss: &str) {
        for (ns, dev) in [
            (self.switch(), Network::port(host)),
            (self.ns(host), "eth0".to_string()),
        ] {
            let netem = tc(&[
                "-n", &ns, "qdisc", "add", "dev", &dev, "root", "netem", "delay", "200ms", "loss",
                loss,
            ]);
            if let Err(e) = netem {
                eprintln!("netem is not available ({e}): the bad link is a 2 Mbit/s token bucket");
                tc(&[
                    "-n", &ns, "qdisc", "add", "dev", &dev, "root", "tbf", "rate", "2mbit",
                    "burst", "32kbit", "latency", "400ms",
                ])
                .unwrap();
            }
        }
    }

    /// Undoes [`cut`](Self::cut), [`deafen`](Self::deafen) and
    /// [`degrade`](Self::degrade).
    fn mend(&self, host: usize) {
        let port = Network::port(host);
        let _ = tc(&["-n", &self.switch(), "qdisc", "del", "dev", &port, "root"]);
        let _ = tc(&["-n", &self.ns(host), "qdisc", "del", "dev", "eth0", "root"]);
        self.port_flags(host, "on");
        ip(&["-n", &self.switch(), "link", "set", &port, "up"]).unwrap();
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for i in 0..=self.hosts {
            let _ = ip(&["netns", "del", &self.ns(i)]);
        }
        let _ = ip(&["netns", "del", &self.switch()]);
    }
}

/// The network, or `None` after saying why the test is skipped.
fn network(hosts: usize) -> Option<Network> {
    match Network::new(hosts) {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("skipped: this machine cannot make network namespaces ({e})");
            None
        }
    }
}

/// A child that ended and is not yet reaped (a zombie, in /proc's words).
fn exited(child: &Child) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(true)
}

/// 128 random bits from the kernel, for the cluster's secret.
fn rand_u128() -> u128 {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    u128::from_le_bytes(b)
}

/// `(leader, [(broker, in_sync)])` per partition.
type Layout = Vec<(i64, Vec<(i64, bool)>)>;

/// One kfkd process on a host.
struct Node {
    id: i64,
    host: usize,
    data: PathBuf,
    child: Child,
}

/// kfkd processes across the network's hosts, and kfk on the client host.
struct Cluster<'a> {
    net: &'a Network,
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
    brokers: Vec<i64>,
}

impl<'a> Cluster<'a> {
    /// A broker on each host, each also a voter of the metadata quorum
    /// (`dedicated`: a controller 101.. beside each broker instead).
    fn start(net: &'a Network, dedicated: bool) -> Cluster<'a> {
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Cluster {
            net,
            dir,
            nodes: Vec::new(),
            brokers: (1..=net.hosts as i64).collect(),
        };
        // Controller ports beyond loopback must authenticate their peers.
        let secret = cluster.dir.path().join("cluster-secret");
        std::fs::write(
            &secret,
            format!("{:032x}{:032x}\n", rand_u128(), rand_u128()),
        )
        .unwrap();
        let voter_base = if dedicated { 100 } else { 0 };
        let voters = (1..=net.hosts)
            .map(|h| format!("{}@{}:{RAFT_PORT}", voter_base + h, net.addr(h)))
            .collect::<Vec<_>>()
            .join(",");
        for h in 1..=net.hosts {
            let addr = net.addr(h);
            let listen = format!("{addr}:{KAFKA_PORT}");
            let raft = format!("{addr}:{RAFT_PORT}");
            if dedicated {
                cluster.spawn(
                    100 + h as i64,
                    h,
                    &[
                        "--process-roles",
                        "controller",
                        "--controller-listen",
                        &raft,
                        "--metrics-listen",
                        &format!("{addr}:{CONTROLLER_METRICS_PORT}"),
                    ],
                    &voters,
                );
                let broker_raft = format!("{addr}:{BROKER_RAFT_PORT}");
                cluster.spawn(
                    h as i64,
                    h,
                    &[
                        "--process-roles",
                        "broker",
                        "--listen",
                        &listen,
                        "--controller-listen",
                        &broker_raft,
                        "--metrics-listen",
                        &format!("{addr}:{BROKER_METRICS_PORT}"),
                    ],
                    &voters,
                );
            } else {
                cluster.spawn(
                    h as i64,
                    h,
                    &["--listen", &listen, "--controller-listen", &raft],
                    &voters,
                );
            }
        }
        cluster.wait_for(Duration::from_secs(60), "every broker registered", |c| {
            c.json_maybe(&[], &["describe", "cluster"])
                .and_then(|v| v["brokers"].as_array().map(Vec::len))
                == Some(net.hosts)
        });
        cluster
    }

    fn spawn(&mut self, id: i64, host: usize, args: &[&str], voters: &str) {
        let data = self.dir.path().join(format!("node-{id}"));
        let log = std::fs::File::create(self.dir.path().join(format!("node-{id}.log"))).unwrap();
        let child = self
            .net
            .exec(host, &bin("kfkd"))
            .args(["--node-id", &id.to_string(), "--data-dir"])
            .arg(&data)
            .args(args)
            .args(["--voters", voters, "--cluster-secret-file"])
            .arg(self.dir.path().join("cluster-secret"))
            .env("KFKD_BROKER_SESSION_TIMEOUT_MS", "3000")
            .env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "500")
            .env("KFKD_REPLICA_LAG_TIME_MAX_MS", "5000")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes.push(Node {
            id,
            host,
            data,
            child,
        });
    }

    /// The brokers' addresses, but those on `except`'s hosts (which the
    /// client could wait on for a connect that never completes).
    fn bootstrap(&self, except: &[usize]) -> String {
        self.brokers
            .iter()
            .map(|b| *b as usize)
            .filter(|h| !except.contains(h))
            .map(|h| format!("{}:{KAFKA_PORT}", self.net.addr(h)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// kfk on the client host, against the brokers not on `except`.
    fn kfk(&self, except: &[usize], args: &[&str]) -> Output {
        let mut cmd = self.net.exec(0, &bin("kfk"));
        cmd.env("KFK_HOME", self.dir.path().join("kfk"))
            .env("NO_COLOR", "1")
            .args(["-b", &self.bootstrap(except)])
            .args(args)
            .stdin(Stdio::null());
        run_unchecked(&mut cmd, Duration::from_secs(60))
    }

    fn ok(&self, except: &[usize], args: &[&str]) -> String {
        let out = self.kfk(except, args);
        assert!(
            out.status.success(),
            "kfk {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json_maybe(&self, except: &[usize], args: &[&str]) -> Option<Value> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.kfk(except, &all);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Self) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while !check(self) {
            if let Some(n) = self.nodes.iter().find(|n| exited(&n.child)) {
                panic!(
                    "node {} exited while waiting for {what}\n{}",
                    n.id,
                    self.logs()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        start.elapsed()
    }

    /// `(leader, [(broker, in_sync)])` per partition, read from the hosts
    /// not on `except`.
    fn layout(&self, except: &[usize], topic: &str) -> Option<Layout> {
        self.json_maybe(except, &["topics", "describe", topic])
            .map(|v| partition_layout(&v))
    }

    /// Waits until the broker on `host` leads no partition any more (read
    /// from Metadata alone, as `kfk describe cluster` counts leaderships, so
    /// no request waits on the unreachable host); returns how long that took.
    fn wait_leaders_leave(&self, host: usize) -> Duration {
        self.wait_for(Duration::from_secs(60), "leaders to leave the host", |c| {
            c.json_maybe(&[host], &["describe", "cluster"])
                .is_some_and(|v| {
                    v["brokers"].as_array().is_some_and(|b| {
                        b.iter()
                            .filter(|b| b["id"] == host as i64)
                            .all(|b| b["leaderships"] == 0)
                    })
                })
        })
    }

    /// Waits until every replica of `topic` is in sync again, as every
    /// broker tells it (a host just back still holds the metadata from
    /// before its fault for a moment).
    fn wait_healed(&self, topic: &str) -> Duration {
        let hosts: Vec<usize> = (1..=self.net.hosts).collect();
        self.wait_for(Duration::from_secs(90), "every replica in sync", |c| {
            hosts.iter().all(|h| {
                let others: Vec<usize> = hosts.iter().copied().filter(|o| o != h).collect();
                c.layout(&others, topic).is_some_and(|l| {
                    l.iter()
                        .all(|(leader, r)| *leader >= 0 && r.iter().all(|(_, s)| *s))
                })
            })
        })
    }

    /// The active controller's node id, as `kfk top` finds it on the
    /// metrics of the nodes not on `except`.
    fn active_controller(&self, except: &[usize]) -> Option<i64> {
        let endpoints: Vec<String> = (1..=self.net.hosts)
            .filter(|h| !except.contains(h))
            .flat_map(|h| {
                [BROKER_METRICS_PORT, CONTROLLER_METRICS_PORT]
                    .map(|p| format!("{}:{p}", self.net.addr(h)))
            })
            .collect();
        let out = self.kfk(
            except,
            &[
                "top",
                "--metrics",
                &endpoints.join(","),
                "-n",
                "1",
                "--interval",
                "300ms",
                "-o",
                "json",
            ],
        );
        let view: Value = serde_json::from_slice(&out.stdout).ok()?;
        let id = view["controller"].as_str().and_then(|c| c.parse().ok());
        if id.is_none() {
            eprintln!(
                "no active controller among the nodes' metrics: {view}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        id
    }

    /// The host of the active controller, as the brokers report it.
    fn controller_host(&self) -> usize {
        let mut host = None;
        self.wait_for(Duration::from_secs(30), "a controller", |c| {
            host = c
                .json_maybe(&[], &["describe", "cluster"])
                .and_then(|v| v["controller"].as_i64())
                .and_then(|id| usize::try_from(id).ok())
                .filter(|h| (1..=c.net.hosts).contains(h));
            host.is_some()
        });
        host.unwrap()
    }

    /// The controller epoch (the quorum's term when the controller was
    /// elected), as ZooKeeper's `/controller_epoch` shows it.
    fn controller_epoch(&self, except: &[usize]) -> i64 {
        let mut epoch = None;
        self.wait_for(Duration::from_secs(30), "the controller epoch", |c| {
            let out = c.kfk(except, &["zk-shell", "get", "/controller_epoch"]);
            epoch = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
            epoch.is_some()
        });
        epoch.unwrap()
    }

    /// The host whose broker leads partition `p` of `topic`.
    fn leader_host(&self, topic: &str, p: usize) -> usize {
        let layout = self.layout(&[], topic).expect("topic layout");
        usize::try_from(layout[p].0).expect("a leader")
    }

    fn brokers_data(&self) -> Vec<&Path> {
        self.nodes
            .iter()
            .filter(|n| self.brokers.contains(&n.id))
            .map(|n| n.data.as_path())
            .collect()
    }

    /// No broker but `victims` was ever fenced, as the active controller's
    /// metadata log records it: a controller that lost its network may judge
    /// every other broker dead, and that verdict must not reach the
    /// controllers after it.
    fn assert_only_fenced(&self, victims: &[i64]) {
        let controller = self.controller_host();
        let witness = self
            .nodes
            .iter()
            .find(|n| n.host == controller)
            .expect("the controller's node");
        let log = std::fs::read_to_string(witness.data.join("__cluster_metadata/log.jsonl"))
            .unwrap_or_default();
        let fenced: Vec<i64> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|e| e.pointer("/payload/Normal/cmd/FenceBroker")?.as_i64())
            .collect();
        assert!(
            fenced.iter().all(|b| victims.contains(b)),
            "brokers fenced: {fenced:?}; only the broker on a failed host ({victims:?}) may be\n{}",
            self.logs()
        );
    }

    /// The tail of every node's log, for a failure's message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let text = std::fs::read_to_string(self.dir.path().join(format!("node-{}.log", n.id)))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out += &format!("--- node {} on host {}\n", n.id, n.host);
            out += &lines[lines.len().saturating_sub(15)..].join("\n");
            out.push('\n');
        }
        out
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
        if std::thread::panicking() {
            // The nodes' whole logs and data outlive a failure, for reading.
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()).keep();
            eprintln!(
                "the failed cluster's logs and data are kept in {}",
                kept.display()
            );
        }
    }
}

/// confluent-kafka producing "seq-N" with acks=all from the client host,
/// recording each acknowledgement.
struct Load {
    child: Child,
    acks: PathBuf,
    stop: PathBuf,
}

impl Load {
    fn start(cluster: &Cluster<'_>, topic: &str) -> Load {
        let acks = cluster.dir.path().join("acks.txt");
        let stop = cluster.dir.path().join("stop");
        let child = cluster
            .net
            .exec(0, &tool("python3", "python3"))
            .arg(python_script("chaos_producer.py"))
            .args([&cluster.bootstrap(&[]), topic])
            .arg(&stop)
            .stdout(std::fs::File::create(&acks).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Load { child, acks, stop }
    }

    fn acked(&self) -> usize {
        std::fs::read_to_string(&self.acks)
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// Waits for `n` more acknowledgements: the cluster takes writes.
    fn wait_progress(&self, cluster: &Cluster<'_>, n: usize, what: &str) -> Duration {
        let from = self.acked();
        cluster.wait_for(Duration::from_secs(60), what, |_| self.acked() >= from + n)
    }

    /// Stops producing, waits for the outstanding acknowledgements, and
    /// returns what was acknowledged, checking no offset was acknowledged
    /// for two different records.
    fn finish(mut self) -> BTreeMap<(i64, i64), String> {
        std::fs::write(&self.stop, b"").unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "the producer could not deliver everything"
        );
        kfk_e2e::acked_messages(&self.acks)
    }
}

/// Every acknowledged record is stored once where it was acknowledged, and
/// every broker holds the same bytes for each partition.
fn assert_nothing_lost(cluster: &Cluster<'_>, topic: &str, acked: &BTreeMap<(i64, i64), String>) {
    assert!(
        acked.len() > 500,
        "only {} records acknowledged",
        acked.len()
    );
    let out = cluster.ok(
        &[],
        &[
            "consume",
            topic,
            "--from-beginning",
            "-e",
            "--format",
            ACKED_FORMAT,
        ],
    );
    assert_acked_in(&out, acked);
    let data = cluster.brokers_data();
    cluster.wait_for(Duration::from_secs(30), "identical replicas", |_| {
        (0..3).all(|p| {
            let name = format!("{topic}-{p}");
            let first = log_bytes(data[0], &name);
            data[1..].iter().all(|d| log_bytes(d, &name) == first)
        })
    });
}

fn create_topic(cluster: &Cluster<'_>, topic: &str) {
    cluster.ok(
        &[],
        &[
            "topics",
            "create",
            topic,
            "-p",
            "3",
            "-r",
            "3",
            "-c",
            "min.insync.replicas=2",
        ],
    );
}

fn timing(what: &str, took: Duration) {
    eprintln!("TIMING {what}: {} ms", took.as_millis());
}

/// A 3-node cluster under acks=all load while the network fails in `steps`,
/// each `(what, how, whom)` applied to one host, then mended; nothing
/// acknowledged may be lost and no broker but the victims fenced.
fn three_hosts_through(steps: &[(&'static str, Fault, Target)]) {
    let Some(net) = network(3) else { return };
    let cluster = Cluster::start(&net, false);
    create_topic(&cluster, "chaos");
    let load = Load::start(&cluster, "chaos");
    load.wait_progress(&cluster, 300, "records acknowledged");
    let mut took: Vec<(String, Duration)> = Vec::new();
    let mut victims = Vec::new();
    for (p, (what, fault, target)) in steps.iter().enumerate() {
        let victim = match target {
            Target::Controller => cluster.controller_host(),
            Target::Bystander => {
                let controller = cluster.controller_host();
                (0..3)
                    .map(|q| cluster.leader_host("chaos", (p + q) % 3))
                    .find(|h| *h != controller)
                    .unwrap_or(controller % 3 + 1)
            }
            Target::PartitionLeader => cluster.leader_host("chaos", p % 3),
        };
        victims.push(victim as i64);
        match fault {
            Fault::Cut => net.cut(victim),
            Fault::Deaf => net.deafen(victim),
            Fault::SlowLink => net.degrade(victim, "5%"),
        }
        if *fault == Fault::SlowLink {
            // Slow, not wrong: writes go on over it.
            load.wait_progress(&cluster, 300, &format!("writes: {what}"));
            std::thread::sleep(Duration::from_secs(5));
        } else {
            // Its partitions move to the others and writes go on.
            took.push((
                format!("{what}: leaders moved"),
                cluster.wait_leaders_leave(victim),
            ));
            load.wait_progress(&cluster, 300, &format!("writes: {what}"));
        }
        let epoch = cluster.controller_epoch(&[victim]);
        net.mend(victim);
        took.push((format!("{what}: healed"), cluster.wait_healed("chaos")));
        // A host coming back calls no election: it asks before it campaigns
        // (pre-vote), and the quorum it rejoins has a live leader.
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(
            cluster.controller_epoch(&[]),
            epoch,
            "the controller changed when {what}'s host came back\n{}",
            cluster.logs()
        );
    }
    let acked = load.finish();
    assert_nothing_lost(&cluster, "chaos", &acked);
    cluster.assert_only_fenced(&victims);
    for (what, t) in took {
        timing(&what, t);
    }
}

/// How a step of [`three_hosts_through`] breaks a host's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Its switch port down.
    Cut,
    /// It sends, and receives nothing.
    Deaf,
    /// 200 ms and 5 % loss (or a 2 Mbit/s bucket without netem).
    SlowLink,
}

/// Which host a step of [`three_hosts_through`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The active controller's: it goes on believing it leads for a while.
    Controller,
    /// One leading partitions that is not the controller's.
    Bystander,
    /// The leader of chaos partition (step number mod 3).
    PartitionLeader,
}

#[test]
fn three_hosts_lose_nothing_acknowledged_through_a_cut_and_a_bad_link() {
    three_hosts_through(&[
        ("cut", Fault::Cut, Target::PartitionLeader),
        ("bad link", Fault::SlowLink, Target::PartitionLeader),
    ]);
}

/// A host that sends but hears nothing: a deaf controller goes on believing
/// it leads and hears no broker, so it judges them all dead; that verdict
/// must not reach the controller elected after it (it once did, fencing the
/// healthy brokers, and the next host lost left partitions with no in-sync
/// replica). A deaf bystander keeps calling elections nobody hears.
#[test]
fn three_hosts_lose_nothing_acknowledged_while_one_is_deaf() {
    three_hosts_through(&[
        ("deaf controller", Fault::Deaf, Target::Controller),
        ("deaf bystander", Fault::Deaf, Target::Bystander),
        ("cut", Fault::Cut, Target::PartitionLeader),
    ]);
}

#[test]
fn three_controllers_and_three_brokers_on_three_hosts_survive_losing_the_active_controllers_host() {
    let Some(net) = network(3) else { return };
    let cluster = Cluster::start(&net, true);
    create_topic(&cluster, "chaos");
    let load = Load::start(&cluster, "chaos");
    load.wait_progress(&cluster, 300, "records acknowledged");

    let mut controller = None;
    cluster.wait_for(Duration::from_secs(30), "an active controller", |c| {
        controller = c.active_controller(&[]);
        controller.is_some()
    });
    let controller = controller.unwrap();
    assert!((101..=103).contains(&controller), "{controller}");
    let victim = (controller - 100) as usize;
    let cut_at = Instant::now();
    net.cut(victim);
    // Another controller is elected and takes metadata changes.
    cluster.wait_for(Duration::from_secs(60), "a new active controller", |c| {
        c.active_controller(&[victim])
            .is_some_and(|id| id != controller && id > 100)
    });
    timing("controller host cut: new controller", cut_at.elapsed());
    cluster.wait_leaders_leave(victim);
    timing("controller host cut: leaders moved", cut_at.elapsed());
    cluster.wait_for(Duration::from_secs(60), "a topic created", |c| {
        c.kfk(
            &[victim],
            &["topics", "create", "during", "-p", "1", "-r", "2"],
        )
        .status
        .success()
    });
    timing(
        "controller host cut: first metadata change",
        cut_at.elapsed(),
    );

    load.wait_progress(
        &cluster,
        300,
        "writes while the controller's host is cut off",
    );
    net.mend(victim);
    timing("controller host cut: healed", cluster.wait_healed("chaos"));

    let acked = load.finish();
    assert_nothing_lost(&cluster, "chaos", &acked);
    let topics = cluster.ok(&[], &["topics", "list"]);
    assert!(topics.contains("during"), "{topics}");
}
