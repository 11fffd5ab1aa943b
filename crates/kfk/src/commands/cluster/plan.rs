//! What `kfk cluster up` plans before it starts anything: the brokers from
//! flags (and the shape a previous `up` saved) or from a cluster file, and
//! each broker's settings file.

use std::collections::BTreeMap;
use std::process::Command;

use crate::cli::ClusterUpArgs;
use crate::cluster_file::ClusterFile;
use crate::error::{CliError, CliResult};

/// One node to start: where it listens and what it is told.
pub(super) struct NodePlan {
    pub(super) id: i32,
    /// Whether it serves clients: false for a dedicated controller.
    pub(super) broker: bool,
    /// Client port (brokers); for a dedicated controller, its controller port.
    pub(super) port: u16,
    pub(super) controller_port: Option<u16>,
    pub(super) rack: Option<String>,
    pub(super) settings: BTreeMap<String, serde_yaml::Value>,
}

/// How a flag-started cluster was shaped, kept in its data directory so
/// that a plain `kfk cluster up` restarts the same cluster: starting fewer
/// brokers than its quorum has voters would leave it without a majority.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Shape {
    pub(super) brokers: u16,
    /// Dedicated controllers; 0 when the first brokers vote.
    #[serde(default)]
    pub(super) controllers: u16,
    pub(super) base_port: Option<u16>,
    /// The cluster file it was started from, so a plain `up` reads it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<std::path::PathBuf>,
    /// Started with `--secure`: restarts are secure too.
    #[serde(default)]
    pub(super) secure: bool,
}

pub(super) const SHAPE_FILE: &str = "kfk-cluster.json";

/// The shape of the cluster already in `data_dir`, if any: the saved file,
/// or (for clusters started before it existed) its broker directories.
pub(super) fn saved_shape(data_dir: &std::path::Path) -> Option<Shape> {
    if let Ok(bytes) = std::fs::read(data_dir.join(SHAPE_FILE))
        && let Ok(shape) = serde_json::from_slice(&bytes)
    {
        return Some(shape);
    }
    let brokers = std::fs::read_dir(data_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("broker-"))
                .is_some_and(|id| id.parse::<u16>().is_ok())
                && e.path().is_dir()
        })
        .count();
    (brokers > 0).then_some(Shape {
        brokers: brokers as u16,
        controllers: 0,
        base_port: None,
        file: None,
        secure: false,
    })
}

/// Id of dedicated controller `j` (1-based): apart from broker ids 1-9.
pub(super) const fn controller_id(j: u16) -> i32 {
    100 + j as i32
}

/// The nodes `--brokers N --controllers M --base-port P` describe: brokers
/// first, then dedicated controllers.
pub(super) fn plan_from_flags(
    args: &ClusterUpArgs,
    data_dir: &std::path::Path,
) -> CliResult<Vec<NodePlan>> {
    let saved = saved_shape(data_dir);
    let brokers = match (args.brokers, saved.as_ref()) {
        (Some(n), Some(s)) if n != s.brokers => {
            return Err(CliError::usage(format!(
                "the cluster in {} has {} broker(s), not {n}",
                data_dir.display(),
                s.brokers
            ))
            .hint(format!(
                "run `kfk cluster up` to restart it as it was, or `kfk cluster down --purge` first to start a new cluster of {n}"
            )));
        }
        (Some(n), _) => n,
        (None, Some(s)) => s.brokers,
        (None, None) => 1,
    };
    if !(1..=9).contains(&brokers) {
        return Err(
            CliError::usage(format!("--brokers {brokers} is out of range"))
                .hint("a local cluster has 1 to 9 brokers"),
        );
    }
    let controllers = match (args.controllers, saved.as_ref()) {
        (Some(n), Some(s)) if n != s.controllers => {
            return Err(CliError::usage(format!(
                "the cluster in {} has {} dedicated controller(s), not {n}",
                data_dir.display(),
                s.controllers
            ))
            .hint(
                "run `kfk cluster up` to restart it as it was, or `kfk cluster down --purge` first",
            ));
        }
        (Some(n), _) => n,
        (None, Some(s)) => s.controllers,
        (None, None) => 0,
    };
    if ![0, 1, 3, 5].contains(&controllers) {
        return Err(CliError::usage(format!(
            "--controllers {controllers}: a quorum has 1, 3 or 5 voters"
        ))
        .hint("3 survive the loss of one, 5 of two"));
    }
    let base_port = args
        .base_port
        .or(saved.and_then(|s| s.base_port))
        .unwrap_or(9092);
    if base_port == 0 {
        return Err(
            CliError::usage("--base-port 0 is not a port a broker can listen on")
                .hint("pick one, e.g. --base-port 9092"),
        );
    }
    let too_high = || CliError::usage("--base-port too high");
    let mut nodes = (1..=brokers)
        .map(|i| {
            Ok(NodePlan {
                id: i32::from(i),
                broker: true,
                port: base_port.checked_add(i - 1).ok_or_else(too_high)?,
                // Raft traffic 100 ports above the client port.
                controller_port: Some(base_port.checked_add(100 + i - 1).ok_or_else(too_high)?),
                rack: None,
                settings: BTreeMap::new(),
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    for j in 1..=controllers {
        let port = base_port.checked_add(200 + j - 1).ok_or_else(too_high)?;
        nodes.push(NodePlan {
            id: controller_id(j),
            broker: false,
            port,
            controller_port: Some(port),
            rack: None,
            settings: BTreeMap::new(),
        });
    }
    Ok(nodes)
}

/// The nodes a cluster file describes: brokers, then dedicated controllers.
pub(super) fn plan_from_file(file: &ClusterFile) -> CliResult<Vec<NodePlan>> {
    let controllers = file.controllers.iter().map(|c| NodePlan {
        id: c.id,
        broker: false,
        port: c.port,
        controller_port: Some(c.port),
        rack: None,
        settings: file.controller_settings(c),
    });
    let brokers = file.brokers.iter().map(|b| {
            Ok(NodePlan {
                id: b.id,
                broker: true,
                port: b.port,
                controller_port: Some(match b.controller_port {
                    Some(p) => p,
                    None => b.port.checked_add(100).ok_or_else(|| {
                        CliError::usage(format!(
                            "broker {}: port {} leaves no room for controller_port (port + 100); set it",
                            b.id, b.port
                        ))
                    })?,
                }),
                rack: b.rack.clone(),
                settings: file.settings_for(b),
            })
        });
    brokers
        .collect::<CliResult<Vec<_>>>()
        .map(|b| b.into_iter().chain(controllers).collect())
}

/// Writes a broker's settings as a kfkd config file and has kfkd check it, so
/// a wrong key fails here, naming its line in the cluster file.
pub(super) fn write_settings(
    kfkd: &std::path::Path,
    plan: &NodePlan,
    path: &std::path::Path,
    source: Option<(&std::path::Path, &str)>,
) -> CliResult {
    let yaml = serde_yaml::to_string(&plan.settings).map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(path, yaml)?;
    let out = Command::new(kfkd)
        .arg("--config")
        .arg(path)
        .arg("--check-config")
        .env("RUST_LOG", "off")
        .output()
        .map_err(|e| CliError::new(format!("cannot run {}: {e}", kfkd.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("kfkd: error: "))
        .unwrap_or(stderr.trim())
        .to_string();
    // Point at the offending key in the user's file when the message names one.
    let key = plan
        .settings
        .keys()
        .find(|k| reason.contains(&format!("`{k}`")) || reason.contains(k.as_str()))
        .cloned()
        .or_else(|| reason.split('`').nth(1).map(str::to_string));
    let at = match (source, &key) {
        (Some((file, text)), Some(k)) => match crate::cluster_file::line_of(text, k) {
            Some(line) => format!("{} line {line}: ", file.display()),
            None => format!("{}: ", file.display()),
        },
        (Some((file, _)), None) => format!("{}: ", file.display()),
        _ => String::new(),
    };
    // The reason's own position is in the generated file, not the user's.
    let reason = reason.rsplit_once(": ").map_or(reason.as_str(), |(_, r)| r);
    let reason = match reason.rfind(" at line ") {
        Some(i) if source.is_some() => &reason[..i],
        _ => reason,
    };
    let what = if plan.broker { "broker" } else { "controller" };
    Err(CliError::usage(format!("{at}{what} {}: {reason}", plan.id)))
}
