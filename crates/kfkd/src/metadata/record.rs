//! What the metadata log holds: a command and when its leader appended it.
//!
//! The time travels in the log so that every replica, and every replay after
//! a restart, stamps the same change with the same time (what ZooKeeper's
//! `ctime`/`mtime` were, and what `kfk zk-shell stat` shows).

use serde::{Deserialize, Deserializer, Serialize};

use super::MetadataCommand;

/// One entry of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadataRecord {
    /// Milliseconds since the epoch when the quorum's leader appended it.
    pub at_ms: i64,
    pub cmd: MetadataCommand,
}

impl MetadataRecord {
    /// The record the leader appends for `cmd` now.
    pub fn now(cmd: MetadataCommand) -> MetadataRecord {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        MetadataRecord { at_ms, cmd }
    }
}

/// Logs written before records carried a time hold bare commands; they read
/// as records of time 0 (unknown).
impl<'de> Deserialize<'de> for MetadataRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Stamped { at_ms: i64, cmd: MetadataCommand },
            Bare(MetadataCommand),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Stamped { at_ms, cmd } => MetadataRecord { at_ms, cmd },
            Stored::Bare(cmd) => MetadataRecord { at_ms: 0, cmd },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_bare_commands_and_new_records_both_read() {
        let bare = r#"{"FenceBroker":3}"#;
        let r: MetadataRecord = serde_json::from_str(bare).unwrap();
        assert_eq!(r.cmd, MetadataCommand::FenceBroker(3));
        assert_eq!(r.at_ms, 0);
        let now = MetadataRecord::now(MetadataCommand::SetClusterId("c".into()));
        let text = serde_json::to_string(&now).unwrap();
        let back: MetadataRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, now);
        assert!(now.at_ms > 1_700_000_000_000);
    }
}
