//! Kafka's checkpoint text format, shared by `leader-epoch-checkpoint`
//! (`epoch start_offset`) and `replication-offset-checkpoint`
//! (`topic partition offset`): a line with the format version, a line with
//! the entry count, then one entry a line, its fields separated by spaces.
//! Files written by Apache Kafka read here and the other way round.

use std::path::Path;

/// The only version of the format Kafka writes for these files.
pub const VERSION: u32 = 0;

/// Durably writes `entries` (each a line's fields) to `path` in the
/// checkpoint format.
///
/// # Errors
/// I/O errors; the old file is then unchanged.
pub fn write<I, L>(path: &Path, entries: I) -> std::io::Result<()>
where
    I: ExactSizeIterator<Item = L>,
    L: std::fmt::Display,
{
    let mut text = format!("{VERSION}\n{}\n", entries.len());
    for e in entries {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    crate::atomic_file::write_atomically(path, text.as_bytes())
}

/// The entries of a checkpoint, each as its fields; `None` when the version
/// is not [`VERSION`], the count line is wrong, or a line is missing. Lines
/// past the count are ignored, as Kafka does.
pub fn parse(text: &str) -> Option<Vec<Vec<&str>>> {
    let mut lines = text.lines();
    if lines.next()?.trim().parse::<u32>().ok()? != VERSION {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let entries: Vec<Vec<&str>> = lines
        .take(count)
        .map(|l| l.split_whitespace().collect())
        .collect();
    (entries.len() == count).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_parse_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replication-offset-checkpoint");
        write(&path, ["orders 0 42", "orders 1 7"].iter()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "0\n2\norders 0 42\norders 1 7\n");
        assert_eq!(
            parse(&text),
            Some(vec![vec!["orders", "0", "42"], vec!["orders", "1", "7"]])
        );
    }

    #[test]
    fn rejects_another_version_a_short_file_and_garbage() {
        assert_eq!(parse("1\n0\n"), None);
        assert_eq!(parse("0\n2\n3 10\n"), None);
        assert_eq!(parse("0\nmany\n"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("0\n0\n"), Some(vec![]));
    }
}
