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
    pub brokers: Vec<BrokerSpec>,
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
        "the order of `brokers` (the first 3, or 5, vote)",
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
        let mut ids = Vec::new();
        let mut ports = Vec::new();
        for b in &file.brokers {
            if b.id < 0 || ids.contains(&b.id) {
                return fail(
                    "id",
                    format!("broker id {} is negative or used twice", b.id),
                );
            }
            ids.push(b.id);
            for p in [Some(b.port), b.controller_port].into_iter().flatten() {
                if ports.contains(&p) {
                    return fail("port", format!("port {p} is used twice"));
                }
                ports.push(p);
            }
        }
        for settings in
            std::iter::once(&file.settings).chain(file.brokers.iter().map(|b| &b.settings))
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
        assert!(file.data_dir.is_none());
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
