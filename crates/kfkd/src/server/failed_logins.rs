//! Slowing password guessing per source: each failed authentication is
//! answered after `connection.failed.authentication.delay.ms`, doubled for
//! every recent failure from the same address (up to 64 times, 30 s at
//! most), so one guessing client slows itself down while others, and the
//! same address once it stops failing for a minute, are not held up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(60);
/// The most doublings of the base delay.
const MAX_DOUBLINGS: u32 = 6;
/// The longest any answer waits.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// Addresses remembered before old ones are dropped.
const MAX_SOURCES: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct FailedLogins {
    by_source: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl FailedLogins {
    /// Counts a failure from `source`; how long its answer waits.
    pub(crate) fn delay(&self, source: IpAddr, base: Duration) -> Duration {
        let now = Instant::now();
        let mut map = kfk_sync::lock(&self.by_source);
        if map.len() >= MAX_SOURCES {
            map.retain(|_, (_, last)| now.duration_since(*last) < MEMORY);
        }
        let entry = map.entry(source).or_insert((0, now));
        if now.duration_since(entry.1) >= MEMORY {
            entry.0 = 0;
        }
        let doublings = entry.0.min(MAX_DOUBLINGS);
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        (base * 2u32.pow(doublings)).min(MAX_DELAY.max(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_from_one_source_wait_longer_others_do_not() {
        let f = FailedLogins::default();
        let base = Duration::from_millis(100);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let waits: Vec<u128> = (0..9).map(|_| f.delay(a, base).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 6400, 6400, 6400]);
        assert_eq!(f.delay(b, base), base);
        assert_eq!(f.delay(a, Duration::from_secs(10)), MAX_DELAY);
    }
}
