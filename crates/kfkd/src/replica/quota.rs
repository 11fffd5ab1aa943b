//! The replication quota of throttled replicas
//! (`follower.replication.throttled.rate`): a token bucket shared by a
//! broker's replica fetchers, so a reassignment's copying cannot starve
//! producers and in-sync followers of disk and network.

use tokio::time::Instant;

/// A token bucket for throttled replication bytes
/// (`follower.replication.throttled.rate`), shared by this broker's fetchers.
#[derive(Debug, Default)]
pub struct Quota {
    tokens: f64,
    last: Option<Instant>,
}

impl Quota {
    /// Refills at `rate` bytes/s (at most a second's worth banked) and says
    /// whether throttled partitions may be fetched now.
    pub(crate) fn allows(&mut self, rate: i64) -> bool {
        self.allows_at(rate, Instant::now())
    }

    fn allows_at(&mut self, rate: i64, now: Instant) -> bool {
        let elapsed = self
            .last
            .map_or(1.0, |l| now.duration_since(l).as_secs_f64());
        self.last = Some(now);
        let rate = rate as f64;
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.tokens > 0.0
    }

    /// Spends what a fetch brought in (possibly going into debt).
    pub(crate) fn consume(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const RATE: i64 = 100_000;

    #[test]
    fn the_quota_banks_at_most_a_second_and_debt_waits_to_be_repaid() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut q = Quota::default();
        // A fresh quota holds one second's worth.
        assert!(q.allows_at(RATE, at(0)));
        q.consume(250_000);
        // 150 kB of debt: 1.5 s to repay at 100 kB/s.
        assert!(!q.allows_at(RATE, at(1000)));
        assert!(!q.allows_at(RATE, at(1490)));
        assert!(q.allows_at(RATE, at(1510)));
        // Ten idle seconds bank only one second.
        q.consume(1_000);
        assert!(q.allows_at(RATE, at(11_510)));
        q.consume(100_000);
        assert!(!q.allows_at(RATE, at(11_510)), "the bank was one second");
    }

    /// A follower fetching as fast as the quota lets it, each fetch bringing
    /// at most one second's worth (the fetcher's partition_max_bytes), copies
    /// no more than the rate over time, plus the bank and one fetch.
    #[test]
    fn throttled_fetches_stay_at_the_rate() {
        let t0 = Instant::now();
        let mut q = Quota::default();
        let mut copied: i64 = 0;
        for step in 0..=1000u64 {
            // Every 10 ms for 10 s.
            if q.allows_at(RATE, t0 + Duration::from_millis(step * 10)) {
                q.consume(RATE as usize);
                copied += RATE;
            }
        }
        assert!(copied <= 10 * RATE + 2 * RATE, "copied {copied} in 10 s");
        assert!(copied >= 9 * RATE, "copied only {copied} in 10 s");
    }
}
