//! The cleaner threads (`log.cleaner.threads`): each takes the dirtiest
//! compacted log whose dirty ratio is at least `min.cleanable.dirty.ratio`
//! (or whose oldest dirty record passed `max.compaction.lag.ms`), cleans
//! it, and looks again; with nothing to do it waits `log.cleaner.backoff.ms`.
//! An operator may ask for a topic's logs to be cleaned now.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{error, info};

use super::{OffsetMap, Throttle};
use crate::log::{CleanStats, Log, now_ms};
use crate::manager::LogManager;
use crate::partition::TopicPartition;

/// The cleaner's broker-wide settings.
#[derive(Debug, Clone)]
pub struct CleanerConfig {
    /// `log.cleaner.threads`.
    pub threads: usize,
    /// `log.cleaner.dedupe.buffer.size`, shared by the threads.
    pub dedupe_buffer_bytes: usize,
    /// `log.cleaner.io.max.bytes.per.second`, shared by the threads.
    pub io_max_bytes_per_second: f64,
    /// `log.cleaner.backoff.ms`.
    pub backoff: Duration,
}

/// The highest offset a partition's cleaner may rely on (its high
/// watermark), `None` for a partition not served now.
pub type CleanLimit = Arc<dyn Fn(&TopicPartition) -> Option<i64> + Send + Sync>;

/// What an operator's request for a clean got.
pub type CleanOutcome = Result<Option<CleanStats>, String>;

struct Request {
    tp: TopicPartition,
    done: mpsc::Sender<CleanOutcome>,
}

#[derive(Default)]
struct Queue {
    requests: VecDeque<Request>,
    stopping: bool,
    /// Logs whose last clean failed: skipped until an operator asks again
    /// (Kafka's uncleanable partitions).
    failed: HashSet<TopicPartition>,
    last: HashMap<TopicPartition, CleanStats>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Set when stopping: a clean under way gives up.
    abort: Arc<AtomicBool>,
}

/// Handle on the cleaner threads; dropping it stops them.
pub struct Cleaner {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Cleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleaner")
            .field("threads", &self.handles.len())
            .finish()
    }
}

impl Cleaner {
    /// Cleans `tp` as soon as a thread is free, whatever its dirty ratio;
    /// the receiver gets the outcome.
    pub fn request(&self, tp: TopicPartition) -> mpsc::Receiver<CleanOutcome> {
        let (done, outcome) = mpsc::channel();
        let mut q = kfk_sync::lock(&self.shared.queue);
        q.failed.remove(&tp);
        q.requests.push_back(Request { tp, done });
        drop(q);
        self.shared.wake.notify_one();
        outcome
    }

    /// What the last clean of `tp` by this process did.
    pub fn last_clean(&self, tp: &TopicPartition) -> Option<CleanStats> {
        kfk_sync::lock(&self.shared.queue).last.get(tp).copied()
    }

    /// Whether `tp`'s last clean failed (it is skipped until asked for).
    pub fn is_uncleanable(&self, tp: &TopicPartition) -> bool {
        kfk_sync::lock(&self.shared.queue).failed.contains(tp)
    }
}

impl Drop for Cleaner {
    fn drop(&mut self) {
        kfk_sync::lock(&self.shared.queue).stopping = true;
        self.shared.abort.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        let me = std::thread::current().id();
        for h in self.handles.drain(..) {
            // A cleaner thread may hold the last reference to what owns
            // this handle; it must not wait for itself.
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}

impl LogManager {
    /// Starts `config.threads` cleaner threads over this manager's logs.
    pub fn start_cleaner(self: &Arc<Self>, config: &CleanerConfig, limit: CleanLimit) -> Cleaner {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            abort: Arc::new(AtomicBool::new(false)),
        });
        let threads = config.threads.max(1);
        let handles = (0..threads)
            .filter_map(|i| {
                let worker = Worker {
                    manager: Arc::clone(self),
                    shared: Arc::clone(&shared),
                    limit: Arc::clone(&limit),
                    map: OffsetMap::with_buffer(config.dedupe_buffer_bytes / threads),
                    rate: config.io_max_bytes_per_second / threads as f64,
                    backoff: config.backoff,
                    resting: HashMap::new(),
                };
                std::thread::Builder::new()
                    .name(format!("kfk-log-cleaner-{i}"))
                    .spawn(move || worker.run())
                    .map_err(|e| error!(error = %e, "could not start a log cleaner thread"))
                    .ok()
            })
            .collect();
        Cleaner { shared, handles }
    }
}

struct Worker {
    manager: Arc<LogManager>,
    shared: Arc<Shared>,
    limit: CleanLimit,
    map: OffsetMap,
    rate: f64,
    backoff: Duration,
    /// Logs whose last clean found nothing to do, and since when: left for
    /// a backoff so a log that cannot progress is not retried in a loop.
    resting: HashMap<TopicPartition, Instant>,
}

enum Job {
    Requested(Request),
    Dirtiest(TopicPartition, Arc<Log>),
}

impl Worker {
    fn run(mut self) {
        loop {
            let Some(job) = self.next_job() else { return };
            match job {
                Job::Requested(req) => {
                    let outcome = match self.manager.get(&req.tp) {
                        Some(log) => self.clean(&req.tp, &log).map_err(|e| e.to_string()),
                        None => Err(format!("no log for {} on this broker", req.tp)),
                    };
                    let _ = req.done.send(outcome);
                }
                Job::Dirtiest(tp, log) => {
                    if let Ok(None) = self.clean(&tp, &log) {
                        self.resting.insert(tp, Instant::now());
                    }
                }
            }
        }
    }

    /// Waits for an operator's request or the dirtiest log; `None` to stop.
    fn next_job(&mut self) -> Option<Job> {
        let backoff = self.backoff;
        self.resting.retain(|_, since| since.elapsed() < backoff);
        let mut q = kfk_sync::lock(&self.shared.queue);
        loop {
            if q.stopping {
                return None;
            }
            if let Some(req) = q.requests.pop_front() {
                return Some(Job::Requested(req));
            }
            let failed = q.failed.clone();
            drop(q);
            if let Some((tp, log)) = self.dirtiest(&failed) {
                return Some(Job::Dirtiest(tp, log));
            }
            q = kfk_sync::lock(&self.shared.queue);
            if q.stopping || !q.requests.is_empty() {
                continue;
            }
            q = match self.shared.wake.wait_timeout(q, self.backoff) {
                Ok((q, _)) => q,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// The compacted log most in need of a clean, if any needs one.
    fn dirtiest(&self, failed: &HashSet<TopicPartition>) -> Option<(TopicPartition, Arc<Log>)> {
        let now = now_ms();
        let mut best: Option<(f64, TopicPartition, Arc<Log>)> = None;
        for (tp, log) in self.manager.logs() {
            let config = log.config();
            if !config.cleanup_policy.compact
                || failed.contains(&tp)
                || self.resting.contains_key(&tp)
                || log.is_cleaning()
            {
                continue;
            }
            let Some(limit) = (self.limit)(&tp) else {
                continue;
            };
            let d = log.dirtiness(now, limit);
            if d.dirty_bytes == 0 {
                continue;
            }
            let ratio = d.ratio();
            let due = d.overdue || ratio * 1000.0 >= f64::from(config.min_cleanable_dirty_permille);
            // Overdue logs go first, then by dirtiness.
            let rank = if d.overdue { 2.0 + ratio } else { ratio };
            if due && best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                best = Some((rank, tp, log));
            }
        }
        best.map(|(_, tp, log)| (tp, log))
    }

    fn clean(&mut self, tp: &TopicPartition, log: &Log) -> crate::Result<Option<CleanStats>> {
        let limit = (self.limit)(tp).unwrap_or(i64::MIN);
        let mut throttle = Throttle::with_abort(self.rate, Arc::clone(&self.shared.abort));
        let outcome = log.clean(&mut self.map, &mut throttle, now_ms(), limit);
        let mut q = kfk_sync::lock(&self.shared.queue);
        match &outcome {
            Ok(Some(stats)) => {
                q.last.insert(tp.clone(), *stats);
            }
            Ok(None) => {}
            Err(e) => {
                error!(partition = %tp, error = %e, "cleaning failed; the log is skipped until a clean is asked for");
                q.failed.insert(tp.clone());
            }
        }
        if let Ok(Some(stats)) = &outcome {
            info!(partition = %tp, bytes_read = stats.bytes_read, bytes_written = stats.bytes_written,
                "log cleaned");
        }
        outcome
    }
}
