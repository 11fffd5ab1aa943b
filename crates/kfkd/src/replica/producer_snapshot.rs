//! Producer state snapshots: the idempotence and transaction state of a
//! partition as it was at a segment's first offset, written when the
//! segment begins (`<20-digit offset>.kfk-producers` in the log's
//! directory). A broker starting up takes the latest one and reads only the
//! batches after it, instead of the whole log — and still knows of a
//! transaction that opened segments ago (Kafka keeps `.snapshot` files for
//! the same reason; these are kfk's own JSON, named apart so Kafka's tools
//! never mistake them for theirs).

use std::path::{Path, PathBuf};

use tracing::warn;

use crate::replica::producer_state::ProducerStates;

const EXTENSION: &str = "kfk-producers";
/// Snapshots kept: the newest few (a truncation may need an older one).
const KEPT: usize = 3;

fn path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}.{EXTENSION}"))
}

/// The snapshots in `dir`, by offset, oldest first.
fn list(dir: &Path) -> Vec<i64> {
    let mut offsets: Vec<i64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(&format!(".{EXTENSION}"))?;
            (stem.len() == 20).then(|| stem.parse().ok()).flatten()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Writes the state at `offset` and drops all but the newest [`KEPT`].
/// A failure is logged, not returned: without the file a restart reads
/// more of the log, nothing else.
pub fn write(dir: &Path, offset: i64, states: &ProducerStates) {
    let written = serde_json::to_vec(states)
        .map_err(std::io::Error::other)
        .and_then(|bytes| kfk_log::write_atomically(&path(dir, offset), &bytes));
    if let Err(e) = written {
        warn!(dir = %dir.display(), offset, error = %e, "cannot write a producer state snapshot");
        return;
    }
    let all = list(dir);
    for old in &all[..all.len().saturating_sub(KEPT)] {
        let _ = std::fs::remove_file(path(dir, *old));
    }
}

/// The newest readable snapshot at an offset in `[from, to]`.
pub fn latest(dir: &Path, from: i64, to: i64) -> Option<(i64, ProducerStates)> {
    list(dir)
        .into_iter()
        .rev()
        .filter(|o| (from..=to).contains(o))
        .find_map(|o| {
            let bytes = std::fs::read(path(dir, o)).ok()?;
            match serde_json::from_slice(&bytes) {
                Ok(states) => Some((o, states)),
                Err(e) => {
                    warn!(dir = %dir.display(), offset = o, error = %e, "unreadable producer state snapshot; reading the log instead");
                    None
                }
            }
        })
}

/// Removes the snapshots past `offset` (the log was cut there), or all of
/// them with `None`.
pub fn remove_after(dir: &Path, offset: Option<i64>) {
    for o in list(dir) {
        if offset.is_none_or(|cut| o > cut) {
            let _ = std::fs::remove_file(path(dir, o));
        }
    }
}
