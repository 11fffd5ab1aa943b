//! The log start offset when it lies inside a segment: records deleted up
//! to it (Kafka's DeleteRecords, `log-start-offset-checkpoint`) stay in
//! their segment until the whole segment is below it, but no reader sees
//! them again, after a restart too.
//!
//! Kept per partition in a file that exists only while it says something
//! the segments do not: a partition that never had records deleted has
//! none (one more file per partition would slow a broker holding 100,000).

use std::io;
use std::path::Path;

const FILE_NAME: &str = "log-start-offset";

/// The stored start, 0 when there is none (the first segment's base then
/// decides).
pub(crate) fn load(dir: &Path) -> i64 {
    std::fs::read_to_string(dir.join(FILE_NAME))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .unwrap_or(0)
}

/// Records `start` durably if it is past `first_base`, and removes the file
/// once the segments alone say as much.
pub(crate) fn store(dir: &Path, start: i64, first_base: i64) -> io::Result<()> {
    let path = dir.join(FILE_NAME);
    if start > first_base {
        crate::write_atomically(&path, format!("{start}\n").as_bytes())
    } else {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
