//! `log.cleaner.io.max.bytes.per.second`: the cleaner's reads and writes
//! share one budget, so cleaning a big log does not starve producers and
//! consumers of the disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Sleeps its caller whenever the bytes since it started run ahead of the
/// rate, and tells it when to give up (the broker is stopping).
#[derive(Debug)]
pub struct Throttle {
    bytes_per_second: f64,
    started: Instant,
    bytes: f64,
    abort: Option<Arc<AtomicBool>>,
}

impl Throttle {
    /// `bytes_per_second` of `f64::INFINITY` (Kafka's default) never sleeps.
    pub fn new(bytes_per_second: f64) -> Throttle {
        Throttle {
            bytes_per_second,
            started: Instant::now(),
            bytes: 0.0,
            abort: None,
        }
    }

    /// The same, giving up once `abort` is set.
    pub fn with_abort(bytes_per_second: f64, abort: Arc<AtomicBool>) -> Throttle {
        Throttle {
            abort: Some(abort),
            ..Throttle::new(bytes_per_second)
        }
    }

    /// Whether the work should stop now.
    pub fn aborted(&self) -> bool {
        self.abort
            .as_ref()
            .is_some_and(|a| a.load(Ordering::Relaxed))
    }

    /// Counts `bytes` of I/O and sleeps until they fit the rate (or the
    /// work is aborted).
    pub fn spent(&mut self, bytes: u64) {
        if !self.bytes_per_second.is_finite() || self.bytes_per_second <= 0.0 {
            return;
        }
        self.bytes += bytes as f64;
        let due = Duration::from_secs_f64(self.bytes / self.bytes_per_second);
        // In slices, so a broker stopping is not kept waiting by a low rate.
        while !self.aborted() {
            let elapsed = self.started.elapsed();
            if due <= elapsed {
                break;
            }
            std::thread::sleep((due - elapsed).min(Duration::from_millis(100)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_holds_the_caller_back() {
        let mut t = Throttle::new(1_000_000.0);
        let start = Instant::now();
        t.spent(50_000);
        assert!(start.elapsed() >= Duration::from_millis(50));
        // A low rate does not keep an aborted clean waiting.
        let abort = Arc::new(AtomicBool::new(false));
        let mut slow = Throttle::with_abort(1.0, Arc::clone(&abort));
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            abort.store(true, Ordering::Relaxed);
        });
        let start = Instant::now();
        slow.spent(1_000_000);
        assert!(slow.aborted());
        assert!(start.elapsed() < Duration::from_secs(10));
        stopper.join().unwrap();
        let mut free = Throttle::new(f64::INFINITY);
        let start = Instant::now();
        free.spent(u64::MAX / 2);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
