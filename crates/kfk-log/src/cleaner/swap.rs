//! Replacing segments with their cleaned copy so that a crash at any point
//! leaves either the old segments or the new one, never both and never
//! neither (Kafka's `.cleaned` / `.swap` / `.deleted` protocol):
//!
//! 1. the copy is written as `<base>.{log,index,timeindex}.cleaned` and fsynced;
//! 2. renamed to `.swap`, the log file last: from the moment `<base>.log.swap`
//!    exists the copy is complete and is what the log holds;
//! 3. the old segments' files are renamed to `.deleted`;
//! 4. the copy is renamed to its final names, and the `.deleted` files removed.
//!
//! A cleaned copy always ends with the last batch of the segments it
//! replaces (emptied if need be), so the offsets a `.swap` file covers,
//! `[base, its next offset)`, say exactly which old segments it replaces.
//! Opening a log finishes whatever step a crash interrupted.

use std::path::{Path, PathBuf};

use tracing::{info, warn};

use crate::error::{IoContext, Result};
use crate::scan::{Scanner, Step};
use crate::segment::{delete_segment_files, segment_path};

pub(crate) const CLEANED: &str = "cleaned";
pub(crate) const SWAP: &str = "swap";
pub(crate) const DELETED: &str = "deleted";
/// A segment's files; the log file last, as every step renames it last.
pub(crate) const EXTENSIONS: [&str; 4] = ["index", "timeindex", "txnindex", "log"];

/// `<dir>/<base>.<ext>.<suffix>`.
pub(crate) fn suffixed(dir: &Path, base: i64, ext: &str, suffix: &str) -> PathBuf {
    let mut name = segment_path(dir, base, ext).into_os_string();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
thread_local! {
    /// Tests: how many more file operations [`install`] may do before it
    /// stops as if the process were killed there.
    pub(crate) static CRASH_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// One file operation of [`install`]; tests stop the sequence here.
fn step(path: &Path) -> Result<()> {
    #[cfg(test)]
    {
        let crash = CRASH_AFTER.with(|c| match c.get() {
            Some(0) => true,
            Some(n) => {
                c.set(Some(n - 1));
                false
            }
            None => false,
        });
        if crash {
            return Err(std::io::Error::other("simulated crash")).at(path);
        }
    }
    let _ = path;
    Ok(())
}

fn rename_if_present(from: &Path, to: &Path) -> Result<()> {
    step(from)?;
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.at(from),
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    step(path)?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.at(path),
    }
}

/// Steps 2 to 4: the cleaned copy at `base` takes the place of the segments
/// at `old_bases`.
pub(crate) fn install(dir: &Path, base: i64, old_bases: &[i64]) -> Result<()> {
    for ext in EXTENSIONS {
        rename_if_present(
            &suffixed(dir, base, ext, CLEANED),
            &suffixed(dir, base, ext, SWAP),
        )?;
    }
    crate::sync_dir(dir).at(dir)?;
    for &old in old_bases {
        for ext in EXTENSIONS {
            rename_if_present(
                &segment_path(dir, old, ext),
                &suffixed(dir, old, ext, DELETED),
            )?;
        }
    }
    crate::sync_dir(dir).at(dir)?;
    for ext in EXTENSIONS {
        rename_if_present(
            &suffixed(dir, base, ext, SWAP),
            &segment_path(dir, base, ext),
        )?;
    }
    crate::sync_dir(dir).at(dir)?;
    for &old in old_bases {
        for ext in EXTENSIONS {
            remove_if_present(&suffixed(dir, old, ext, DELETED))?;
        }
    }
    Ok(())
}

/// Removes a cleaned copy that will not be installed.
pub(crate) fn discard(dir: &Path, base: i64) {
    for ext in EXTENSIONS {
        let _ = remove_if_present(&suffixed(dir, base, ext, CLEANED));
    }
}

/// The offset after the last batch of a complete file, `None` when it holds none.
fn next_offset_of(path: &Path) -> Result<Option<i64>> {
    let file = std::fs::File::open(path).at(path)?;
    let size = file.metadata().at(path)?.len();
    let mut scanner = Scanner::new(&file, 0, size, crate::segment::HOP_CHUNK);
    let mut next = None;
    while let Step::Batch { item, .. } = scanner.next_summary().at(path)? {
        next = Some(item.next_offset());
    }
    Ok(next)
}

/// Finishes or undoes a replacement a crash interrupted; run before the
/// segments of `dir` are listed.
pub(crate) fn complete_interrupted(dir: &Path) -> Result<()> {
    let mut swaps = Vec::new();
    let mut leftovers = Vec::new();
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((stem, rest)) = name.split_once('.') else {
            continue;
        };
        let Ok(base) = stem.parse::<i64>() else {
            continue;
        };
        match rest {
            "log" => bases.push(base),
            "log.swap" => swaps.push(base),
            _ if rest.ends_with(".cleaned")
                || rest.ends_with(".deleted")
                || rest.ends_with(".swap") =>
            {
                leftovers.push(entry.path());
            }
            _ => {}
        }
    }
    if swaps.is_empty() && leftovers.is_empty() {
        return Ok(());
    }
    for base in swaps {
        let swap_log = suffixed(dir, base, "log", SWAP);
        let Some(next) = next_offset_of(&swap_log)? else {
            warn!(file = %swap_log.display(), "empty cleaned segment; discarding it");
            remove_if_present(&swap_log)?;
            continue;
        };
        for &old in bases.iter().filter(|&&b| b >= base && b < next) {
            delete_segment_files(dir, old)?;
        }
        // The copy's indexes, if they were written; rebuilt from the log otherwise.
        delete_segment_files(dir, base)?;
        for ext in EXTENSIONS {
            rename_if_present(
                &suffixed(dir, base, ext, SWAP),
                &segment_path(dir, base, ext),
            )?;
        }
        info!(log = %dir.display(), base_offset = base, next_offset = next,
            "finished installing a cleaned segment after a crash");
    }
    // Unfinished copies, replaced segments, index swaps without their log.
    for path in leftovers {
        if path.exists() {
            remove_if_present(&path)?;
        }
    }
    crate::sync_dir(dir).at(dir)
}
