//! Measuring a client's rate and how long to throttle it, as Kafka's
//! ClientQuotaManager does: samples of `quota.window.size.seconds` (1 s),
//! `quota.window.num` (11) of them; the rate is what the samples hold over
//! the time they span (at least ten windows, so a new client's first burst
//! is not a spike), and a client over its quota waits
//! `(rate - quota) / quota * span`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::entity::{ClientQuotas, QuotaKey};

const WINDOW: Duration = Duration::from_secs(1);
const SAMPLES: usize = 11;

/// One client's samples of one quota.
#[derive(Debug)]
struct Sensor {
    /// (window start, amount) oldest first.
    samples: Vec<(Instant, f64)>,
}

impl Sensor {
    fn new() -> Sensor {
        Sensor {
            samples: Vec::with_capacity(SAMPLES),
        }
    }

    fn record(&mut self, now: Instant, amount: f64) {
        match self.samples.last_mut() {
            Some((start, total)) if now.duration_since(*start) < WINDOW => *total += amount,
            _ => {
                if self.samples.len() == SAMPLES {
                    self.samples.remove(0);
                }
                self.samples.push((now, amount));
            }
        }
        // Samples older than the whole window count no more.
        let horizon = WINDOW * SAMPLES as u32;
        self.samples
            .retain(|(start, _)| now.duration_since(*start) < horizon);
    }

    /// (rate per second, the span it is measured over).
    fn rate(&self, now: Instant) -> (f64, Duration) {
        let total: f64 = self.samples.iter().map(|(_, a)| a).sum();
        let oldest = self.samples.first().map_or(now, |(s, _)| *s);
        let span = now
            .duration_since(oldest)
            .max(WINDOW * (SAMPLES as u32 - 1));
        (total / span.as_secs_f64(), span)
    }
}

/// The throttle for a rate over its bound.
fn throttle(rate: f64, bound: f64, span: Duration) -> Duration {
    if bound <= 0.0 {
        // A quota of zero lets nothing through: the longest wait.
        return WINDOW * SAMPLES as u32;
    }
    if rate <= bound {
        return Duration::ZERO;
    }
    let wait = (rate - bound) / bound * span.as_secs_f64();
    Duration::from_secs_f64(wait.min((WINDOW * SAMPLES as u32).as_secs_f64()))
}

/// The broker's sensors, by quota key and the clients they are shared by.
#[derive(Debug, Default)]
pub struct QuotaManager {
    sensors: Mutex<HashMap<(&'static str, QuotaKey), Sensor>>,
}

impl QuotaManager {
    /// Records `amount` of `key` for `user` on `client_id` and returns how
    /// long it must wait (zero when no quota applies or it is within it).
    /// `amount` is bytes for the byte rates and milliseconds of handling
    /// for `request_percentage` (whose bound is percent of one thread).
    pub fn record(
        &self,
        quotas: &ClientQuotas,
        key: &'static str,
        user: &str,
        client_id: &str,
        amount: f64,
    ) -> Duration {
        let Some((bound, shared)) = quotas.resolve(key, user, client_id) else {
            return Duration::ZERO;
        };
        let bound = if key == super::REQUEST_PERCENTAGE {
            // Percent of one thread: milliseconds per second.
            bound * 10.0
        } else {
            bound
        };
        let now = Instant::now();
        let mut sensors = kfk_sync::lock(&self.sensors);
        let sensor = sensors.entry((key, shared)).or_insert_with(Sensor::new);
        sensor.record(now, amount);
        let (rate, span) = sensor.rate(now);
        throttle(rate, bound, span)
    }

    /// How long `key` would have to wait now without recording anything.
    pub fn pending(
        &self,
        quotas: &ClientQuotas,
        key: &'static str,
        user: &str,
        client_id: &str,
    ) -> Duration {
        self.record(quotas, key, user, client_id, 0.0)
    }
}

#[cfg(test)]
pub(super) fn throttle_for(rate: f64, bound: f64, span: Duration) -> Duration {
    throttle(rate, bound, span)
}
