//! Where kfk keeps its config (profiles) and data (local clusters).
//!
//! `KFK_HOME=DIR` puts everything under DIR, which tests use for isolation;
//! otherwise the platform's config and data directories (`directories`).

use std::path::PathBuf;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone)]
pub struct Home {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Home {
    /// # Errors
    /// When no home directory can be determined.
    pub fn locate() -> CliResult<Home> {
        if let Some(dir) = std::env::var_os("KFK_HOME").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            return Ok(Home {
                config_dir: dir.join("config"),
                data_dir: dir.join("data"),
            });
        }
        let dirs = directories::ProjectDirs::from("dev", "kfk", "kfk").ok_or_else(|| {
            CliError::new("cannot find a home directory for kfk's files").hint("set KFK_HOME=DIR")
        })?;
        Ok(Home {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.yaml")
    }

    /// The state file of the local cluster started by `kfk cluster up`.
    pub fn cluster_state_file(&self) -> PathBuf {
        self.data_dir.join("cluster.json")
    }

    pub fn default_cluster_dir(&self) -> PathBuf {
        self.data_dir.join("cluster")
    }
}
