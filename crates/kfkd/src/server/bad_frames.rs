//! How often bad frames are logged: the first from a peer at once, then at
//! most one line per [`WINDOW`] per peer address with how many were left
//! out, so a client sending garbage in a loop cannot flood the log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kfk_sync::lock;

/// One log line per peer address per window.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

/// Peers tracked at most; older ones are forgotten first.
const MAX_PEERS: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct BadFrameLog {
    peers: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl BadFrameLog {
    /// Whether to log a bad frame from `peer` now, and how many were left
    /// out since its last line.
    pub(crate) fn admit(&self, peer: IpAddr) -> Option<u64> {
        self.admit_at(peer, Instant::now())
    }

    fn admit_at(&self, peer: IpAddr, now: Instant) -> Option<u64> {
        let mut peers = lock(&self.peers);
        if peers.len() >= MAX_PEERS {
            peers.retain(|_, (at, _)| now.duration_since(*at) < WINDOW);
        }
        match peers.get_mut(&peer) {
            Some((at, suppressed)) if now.duration_since(*at) < WINDOW => {
                *suppressed += 1;
                None
            }
            Some((at, suppressed)) => {
                let left_out = *suppressed;
                *at = now;
                *suppressed = 0;
                Some(left_out)
            }
            None => {
                peers.insert(peer, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_peer_per_window_counting_the_rest() {
        let log = BadFrameLog::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        assert_eq!(log.admit_at(a, t0), Some(0));
        assert_eq!(log.admit_at(a, t0 + Duration::from_secs(1)), None);
        assert_eq!(log.admit_at(a, t0 + Duration::from_secs(2)), None);
        assert_eq!(log.admit_at(b, t0 + Duration::from_secs(2)), Some(0));
        assert_eq!(
            log.admit_at(a, t0 + WINDOW + Duration::from_secs(1)),
            Some(2)
        );
    }
}
