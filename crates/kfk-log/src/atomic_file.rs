//! Replacing a small file (a checkpoint, `meta.properties`, the quorum's
//! vote) so that a crash leaves either the old or the new contents, never a
//! torn mix and never neither.
//!
//! The new contents go to a temporary file beside the old one, which is
//! fsynced and renamed over it; then the directory is fsynced, because on
//! Linux the rename lives in the directory's page cache until then and a
//! power cut could otherwise bring the old file back after the caller was
//! told the write was durable.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Durably replaces `path` with `contents`.
///
/// # Errors
/// Any I/O error of the write, the fsyncs or the rename; `path` then still
/// holds its old contents (a stray `<name>.tmp` beside it is harmless and is
/// overwritten by the next write).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Fsyncs a directory so the entries created, renamed or removed in it are
/// durable.
///
/// # Errors
/// I/O errors opening or syncing it.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(dir)?.sync_all()
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_contents_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.properties");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["meta.properties"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vote.json");
        write_atomically(&path, b"old").unwrap();
        // The temporary file's name is taken by a directory: the write fails
        // before the rename.
        std::fs::create_dir(dir.path().join("vote.json.tmp")).unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
