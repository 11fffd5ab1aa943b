//! `kfk cluster up -f cluster.yaml`: the classic docker-compose setup (a
//! ZooKeeper and N Kafka containers with their ports, racks and
//! `KAFKA_*` settings) as one kfk file.
//!
//! ```yaml
//! data_dir: ./data            # optional; relative to this file
//! rest_proxy: 8082             # optional; a REST proxy process beside the brokers
//! settings:                   # every broker (server.properties keys)
//!   default.replication.factor: 3
//!   min.insync.replicas: 2
//! controllers:               # optional: dedicated controllers (1, 3 or 5)
//!   - id: 101
//!     port: 9292              # its metadata quorum listener
//! brokers:
//!   - id: 1
//!     port: 9092
//!     rack: rack-a
//!     settings:               # this broker only
//!       log.retention.ms: 86400000
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CliError, CliResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Where the brokers keep their data; default: kfk's data directory.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Port of the REST proxy, served by the first broker.
    #[serde(default)]
    pub rest_proxy: Option<u16>,
    /// kfkd settings for every broker, keyed as in server.properties.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_yaml::Value>,
    /// Dedicated controllers holding the metadata quorum (KRaft's
    /// `process.roles=controller`, ZooKeeper's place in docker-compose);
    /// none: the first brokers vote.
    #[serde(default)]
    pub controllers: Vec<ControllerSpec>,
    pub brokers: Vec<BrokerSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerSpec {
    pub id: i32,
    /// Port of its metadata quorum listener on 127.0.0.1.
    pub port: u16,
    /// kfkd settings for this controller only.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    pub id: i32,
    /// Client port on 127.0.0.1.
    pub port: u16,
    /// Port of the metadata quorum listener; default: port + 100.
    #[serde(default)]
    pub controller_port: Option<u16>,
    #[serde(default)]
    pub rack: Option<String>,
    /// kfkd settings for this broker only; they win over the shared ones.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_yaml::Value>,
}

/// Settings kfk derives from the file's structure; setting them by key would
/// be silently overridden, so they are refused.
const MANAGED: &[(&str, &str)] = &[
    ("node.id", "the broker's `id`"),
    ("log.dirs", "`data_dir`"),
    ("listeners", "the broker's `port`"),
    ("controller.listener", "the broker's `controller_port`"),
    (
        "controller.quorum.voters",
        "`controllers` (or the order of `brokers`: the first 3, or 5, vote)",
    ),
    (
        "process.roles",
        "whether a node is under `brokers` or `controllers`",
    ),
    ("broker.rack", "the broker's `rack`"),
];

/// The 1-based line of the first `key:` in `text`, for error messages.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

impl ClusterFile {
    /// Reads and checks a cluster file; errors name the file and line.
    ///
    /// # Errors
    /// Unreadable files, YAML errors, unknown keys, and inconsistent brokers.
    pub fn load(path: &Path) -> CliResult<ClusterFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
        let mut file: ClusterFile = serde_yaml::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            // serde_yaml appends the location to its message; say it once.
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m);
            CliError::usage(format!("{}{at}: {msg}", path.display()))
                .hint("see examples/cluster.yaml for the format")
        })?;
        let fail = |key: &str, why: String| {
            let at = line_of(&text, key)
                .map(|l| format!(" line {l}"))
                .unwrap_or_default();
            Err(CliError::usage(format!("{}{at}: {why}", path.display())))
        };
        if !(1..=9).contains(&file.brokers.len()) {
            return fail(
                "brokers",
                format!(
                    "a local cluster has 1 to 9 brokers, the file lists {}",
                    file.brokers.len()
                ),
            );
        }
        if ![0, 1, 3, 5].contains(&file.controllers.len()) {
            return fail(
                "controllers",
                format!(
                    "a metadata quorum has 1, 3 or 5 voters, the file lists {} controllers",
                    file.controllers.len()
                ),
            );
        }
        let mut ids = Vec::new();
        let mut ports = Vec::new();
        let nodes = file
            .brokers
            .iter()
            .map(|b| (b.id, vec![Some(b.port), b.controller_port]))
            .chain(file.controllers.iter().map(|c| (c.id, vec![Some(c.port)])));
        for (id, node_ports) in nodes {
            if id < 0 || ids.contains(&id) {
                return fail("id", format!("node id {id} is negative or used twice"));
            }
            ids.push(id);
            for p in node_ports.into_iter().flatten() {
                if ports.contains(&p) {
                    return fail("port", format!("port {p} is used twice"));
                }
                ports.push(p);
            }
        }
        for settings in std::iter::once(&file.settings)
            .chain(file.brokers.iter().map(|b| &b.settings))
            .chain(file.controllers.iter().map(|c| &c.settings))
        {
            for key in settings.keys() {
                if let Some((_, instead)) = MANAGED.iter().find(|(k, _)| k == key) {
                    return fail(
                        key,
                        format!("`{key}` is set by {instead} in a cluster file"),
                    );
                }
            }
        }
        if let Some(dir) = &file.data_dir
            && dir.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            file.data_dir = Some(base.join(dir));
        }
        Ok(file)
    }

    /// The settings of controller `c`: shared ones overlaid with its own.
    pub fn controller_settings(&self, c: &ControllerSpec) -> BTreeMap<String, serde_yaml::Value> {
        let mut all = self.settings.clone();
        all.extend(c.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    /// The settings of broker `b`: shared ones overlaid with its own.
    pub fn settings_for(&self, b: &BrokerSpec) -> BTreeMap<String, serde_yaml::Value> {
        let mut all = self.settings.clone();
        all.extend(b.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> CliResult<ClusterFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.yaml");
        std::fs::write(&path, text).unwrap();
        ClusterFile::load(&path)
    }

    #[test]
    fn the_shipped_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cluster.yaml");
        let file = ClusterFile::load(&path).unwrap();
        assert_eq!(file.brokers.len(), 3);
        assert_eq!(file.controllers.len(), 3, "the seeds' 3 + 3 layout");
        assert!(file.data_dir.is_none());
    }

    #[test]
    fn controllers_come_in_quorum_sizes_with_their_own_ids_and_ports() {
        let brokers = "brokers:\n  - id: 1\n    port: 9092\n";
        let err = load(&format!(
            "controllers:\n  - id: 101\n    port: 9292\n  - id: 102\n    port: 9293\n{brokers}"
        ))
        .unwrap_err();
        assert!(err.message.contains("1, 3 or 5 voters"), "{}", err.message);
        let err = load(&format!(
            "controllers:\n  - id: 1\n    port: 9292\n{brokers}"
        ))
        .unwrap_err();
        assert!(err.message.contains("used twice"), "{}", err.message);
        let err = load(&format!(
            "controllers:\n  - id: 101\n    port: 9092\n{brokers}"
        ))
        .unwrap_err();
        assert!(
            err.message.contains("port 9092 is used twice"),
            "{}",
            err.message
        );
        let err = load(&format!(
            "controllers:\n  - id: 101\n    port: 9292\n    settings:\n      process.roles: broker\n{brokers}"
        ))
        .unwrap_err();
        assert!(err.message.contains("process.roles"), "{}", err.message);
        let file = load(&format!(
            "controllers:\n  - id: 101\n    port: 9292\n{brokers}"
        ))
        .unwrap();
        assert_eq!(file.controllers[0].id, 101);
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let err = load("brokers:\n  - id: 1\n    prot: 9092\n").unwrap_err();
        let text = err.message;
        assert!(text.contains("prot") && text.contains("line 3"), "{text}");
    }

    #[test]
    fn managed_settings_and_duplicates_are_refused() {
        let err =
            load("settings:\n  node.id: 4\nbrokers:\n  - id: 1\n    port: 9092\n").unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        let err =
            load("brokers:\n  - id: 1\n    port: 9092\n  - id: 1\n    port: 9093\n").unwrap_err();
        assert!(err.message.contains("used twice"), "{}", err.message);
    }

    #[test]
    fn broker_settings_win_over_shared_ones() {
        let file = load(
            "data_dir: d\nsettings:\n  num.partitions: 3\n  min.insync.replicas: 2\nbrokers:\n  - id: 1\n    port: 9092\n    settings:\n      num.partitions: 6\n",
        )
        .unwrap();
        let s = file.settings_for(&file.brokers[0]);
        assert_eq!(s["num.partitions"], serde_yaml::Value::from(6));
        assert_eq!(s["min.insync.replicas"], serde_yaml::Value::from(2));
        assert!(file.data_dir.unwrap().ends_with("d"));
    }
}
