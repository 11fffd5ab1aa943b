//! The local cluster started by `kfk cluster up`: its state file and the
//! kfkd processes it names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalBroker {
    pub id: i32,
    pub pid: u32,
    pub port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// kfkd's arguments, so `kfk cluster start-broker` restarts it as it was.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment settings (`KFKD_*`) it was started with.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// Where it serves Prometheus metrics and health probes, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<u16>,
}

/// The REST proxy `kfk cluster up --rest-proxy` runs beside the brokers, as
/// a process of its own (`kfk rest-proxy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalRestProxy {
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    pub data_dir: PathBuf,
    pub brokers: Vec<LocalBroker>,
    /// Dedicated controllers (`port` is their quorum listener); empty when
    /// the first brokers vote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controllers: Vec<LocalBroker>,
    #[serde(default)]
    pub rest_proxy: Option<LocalRestProxy>,
    /// Set for a cluster started with `--secure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<SecureCluster>,
}

/// Where a secure local cluster keeps its CA, certificates and the admin's
/// password (owner-only files in `<data dir>/tls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecureCluster {
    pub dir: PathBuf,
}

impl SecureCluster {
    /// How far above its client port each broker's INTERNAL (SSL, client
    /// certificates) listener is: brokers replicate over it and kfk's
    /// cluster commands reach the brokers through it as the admin.
    pub const INTERNAL_OFFSET: u16 = 300;
    /// The SCRAM user kfk connects as.
    pub const ADMIN: &'static str = "admin";

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    pub fn broker_keystore(&self) -> PathBuf {
        self.dir.join("broker.pem")
    }

    pub fn admin_keystore(&self) -> PathBuf {
        self.dir.join("admin.pem")
    }

    pub fn admin_password(&self) -> PathBuf {
        self.dir.join("admin.password")
    }

    /// A client config reaching `ports`' brokers on their INTERNAL
    /// listeners with the admin's certificate (a super user).
    ///
    /// # Errors
    /// Certificate files that cannot be read.
    pub fn internal_config(
        &self,
        ports: impl IntoIterator<Item = u16>,
    ) -> CliResult<kfk_client::ClientConfig> {
        let mut config = kfk_client::ClientConfig::new(ports.into_iter().map(|p| {
            format!(
                "127.0.0.1:{}",
                p.saturating_add(SecureCluster::INTERNAL_OFFSET)
            )
        }));
        let admin = self.admin_keystore();
        let tls = kfk_tls::ClientTls::load(Some(&self.ca()), Some(&admin), None, true)
            .and_then(|t| t.config())
            .map_err(|e| CliError::new(e.to_string()))?;
        config.tls = Some(tls);
        Ok(config)
    }
}

impl ClusterState {
    /// # Errors
    /// A state file that cannot be read or parsed.
    pub fn load(path: &Path) -> CliResult<Option<ClusterState>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                CliError::new(format!("{} is damaged: {e}", path.display()))
                    .hint("stop stray kfkd processes and delete the file")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> CliResult {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| CliError::new(e.to_string()))?;
        std::fs::write(path, bytes)?;
        Ok(())
    }

    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A broker or dedicated controller by id.
    ///
    /// # Errors
    /// A usage error listing the ids there are.
    pub fn broker(&self, id: i32) -> CliResult<&LocalBroker> {
        self.nodes().find(|b| b.id == id).ok_or_else(|| {
            let ids = |nodes: &[LocalBroker]| {
                nodes
                    .iter()
                    .map(|b| b.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut hint = format!("its brokers are {}", ids(&self.brokers));
            if !self.controllers.is_empty() {
                hint.push_str(&format!(", its controllers {}", ids(&self.controllers)));
            }
            CliError::usage(format!("the local cluster has no node {id}")).hint(hint)
        })
    }

    /// Brokers, then dedicated controllers.
    pub fn nodes(&self) -> impl Iterator<Item = &LocalBroker> {
        self.brokers.iter().chain(&self.controllers)
    }

    /// Whether `id` is a dedicated controller.
    pub fn is_controller(&self, id: i32) -> bool {
        self.controllers.iter().any(|c| c.id == id)
    }

    /// The node `id`, to record a new pid.
    pub fn node_mut(&mut self, id: i32) -> Option<&mut LocalBroker> {
        self.brokers
            .iter_mut()
            .chain(&mut self.controllers)
            .find(|b| b.id == id)
    }

    /// Brokers whose process is still alive.
    pub fn running(&self) -> Vec<&LocalBroker> {
        self.brokers.iter().filter(|b| is_alive(b.pid)).collect()
    }
}

/// Whether process `pid` exists (and is not a zombie).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state is the field after the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}
