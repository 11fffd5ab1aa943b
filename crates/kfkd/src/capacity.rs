//! How many partition replicas a broker can hold. Open files no longer bound
//! it (kfk-log closes the least recently used segments), but every replica
//! still costs memory (its log state, indexes as they are read, replication
//! state) and a directory of files, so a create of millions of partitions
//! would exhaust a broker long after the command returned. The broker
//! registers a bound, `max.broker.partitions` (KIP-578's name), and the
//! controller refuses up front what would exceed it.

/// Memory budgeted per partition replica when the bound is derived: an idle
/// replica measures about 6 KiB (see PERFORMANCE.md); the rest is room for
/// indexes and fetch state once it is used.
const BYTES_PER_REPLICA: u64 = 16 * 1024;

/// The bound this broker registers: `configured` when set (non-zero), else
/// one replica per [`BYTES_PER_REPLICA`] of the memory the process may use.
pub fn partition_capacity(configured: u64) -> Option<u64> {
    if configured > 0 {
        return Some(configured);
    }
    usable_memory().map(|bytes| bytes / BYTES_PER_REPLICA)
}

/// Physical memory, or the cgroup's limit where one is set and lower (a
/// container sees the host's memory in /proc/meminfo).
fn usable_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total(&m));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_bound_wins_and_zero_derives_one_from_memory() {
        assert_eq!(partition_capacity(50), Some(50));
        let derived = partition_capacity(0).expect("this machine has /proc/meminfo");
        assert!(derived > 1000, "{derived}");
    }

    #[test]
    fn mem_total_reads_kib() {
        let m = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(m), Some(24_576_000 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }
}
