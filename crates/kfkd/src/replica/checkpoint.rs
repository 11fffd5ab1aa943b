//! `replication-offset-checkpoint`: the high watermark of every hosted
//! partition, in Kafka's text format, so a restarted broker does not show
//! consumers less (or more) than was committed before it stopped.
//!
//! Format (version 0): a line with the version, a line with the entry count,
//! then `topic partition offset` per line.

use std::collections::HashMap;
use std::path::Path;

use kfk_log::TopicPartition;

pub const FILE: &str = "replication-offset-checkpoint";

/// Reads the checkpoint; a missing or unreadable file yields no entries (the
/// high watermarks are then relearned from the ISR).
pub fn load(data_dir: &Path) -> HashMap<TopicPartition, i64> {
    let Ok(text) = std::fs::read_to_string(data_dir.join(FILE)) else {
        return HashMap::new();
    };
    parse(&text).unwrap_or_else(|| {
        tracing::warn!(
            file = FILE,
            "ignoring a malformed high-watermark checkpoint"
        );
        HashMap::new()
    })
}

fn parse(text: &str) -> Option<HashMap<TopicPartition, i64>> {
    kfk_log::checkpoint_file::parse(text)?
        .into_iter()
        .map(|fields| match fields[..] {
            [topic, partition, offset] => Some((
                TopicPartition::new(topic, partition.parse().ok()?),
                offset.parse().ok()?,
            )),
            _ => None,
        })
        .collect()
}

/// Writes the checkpoint durably (a crash leaves the old or the new one).
///
/// # Errors
/// I/O errors.
pub fn save(data_dir: &Path, entries: &[(TopicPartition, i64)]) -> std::io::Result<()> {
    let lines = entries
        .iter()
        .map(|(tp, hw)| format!("{} {} {hw}", tp.topic, tp.partition));
    kfk_log::checkpoint_file::write(&data_dir.join(FILE), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let entries = vec![
            (TopicPartition::new("orders", 0), 42),
            (TopicPartition::new("orders", 1), 0),
        ];
        save(dir.path(), &entries).unwrap();
        let loaded = load(dir.path());
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[&TopicPartition::new("orders", 0)], 42);
        assert_eq!(parse("0\n2\norders 0 42\n"), None, "count mismatch");
        assert_eq!(parse("1\n0\n"), None, "unknown version");
        assert!(load(&dir.path().join("missing")).is_empty());
    }
}
