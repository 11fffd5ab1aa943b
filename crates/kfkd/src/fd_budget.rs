//! Open files: running out of file descriptors is how a broker bricks (the
//! metadata quorum can no longer write its vote). At start the soft limit is
//! raised to the hard one, as Kafka's scripts advise; what the limit leaves
//! after connections and the broker's own files is the budget of open
//! segment files (kfk-log closes the least recently used beyond it), so the
//! number of partitions is not bounded by the limit.

use tracing::{info, warn};

/// Descriptors kept for everything that is not a partition: the metadata
/// quorum's files, checkpoints being replaced, listeners, logs.
const OWN_FILES: u64 = 128;

/// Raises the soft open-file limit to the hard one; returns the limit now
/// in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "cannot read the open-file limit");
            return None;
        }
    };
    if soft < hard {
        match rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard) {
            Ok(()) => {
                info!(
                    from = soft,
                    to = hard,
                    "raised the open-file limit to the hard limit"
                );
                return Some(hard);
            }
            Err(e) => warn!(error = %e, soft, hard, "cannot raise the open-file limit"),
        }
    }
    Some(soft)
}

/// Segment files a broker with `limit` open files may keep open, leaving
/// room for `max_connections` clients (at most a quarter of the limit) and
/// its own files.
pub fn segment_file_budget(limit: u64, max_connections: u64) -> u64 {
    let connections = max_connections.min(limit / 4);
    limit.saturating_sub(connections + OWN_FILES).max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_connections_and_own_files() {
        assert_eq!(segment_file_budget(4096, 10_000), 4096 - 1024 - 128);
        assert_eq!(
            segment_file_budget(1_048_576, 10_000),
            1_048_576 - 10_000 - 128
        );
        assert_eq!(segment_file_budget(100, 10_000), 16);
    }
}
