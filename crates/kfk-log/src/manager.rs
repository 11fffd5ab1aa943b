//! The data directory: every partition log of a broker, opened together,
//! created and deleted on demand, and kept within retention by a background task.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::config::LogConfig;
use crate::error::{IoContext, LogError, Result};
use crate::log::{CLEAN_SHUTDOWN_FILE, Log, now_ms};
use crate::partition::TopicPartition;

const LOCK_FILE: &str = ".lock";
/// Suffix of a partition directory renamed for deletion.
const DELETE_SUFFIX: &str = "-delete";
/// Suffix of a partition directory the metadata no longer has, set aside at
/// start rather than deleted (Kafka's stray replicas).
const STRAY_SUFFIX: &str = "-stray";
/// Longest file name most file systems take.
const MAX_NAME: usize = 255;

/// `<topic>-<partition>.<unique><suffix>` for a directory set aside, the
/// topic cut short so the name fits in [`MAX_NAME`] bytes as Kafka does: a
/// 249-character topic (legal in Kafka) must still be deletable.
fn aside_name(tp: &TopicPartition, suffix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tail = format!("-{}.{nanos:x}{n:x}{suffix}", tp.partition);
    let mut keep = tp.topic.len().min(MAX_NAME.saturating_sub(tail.len()));
    while !tp.topic.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{tail}", &tp.topic[..keep])
}

/// Owns a data directory of partition logs (`<topic>-<partition>/`).
#[derive(Debug)]
pub struct LogManager {
    data_dir: PathBuf,
    logs: RwLock<HashMap<TopicPartition, Arc<Log>>>,
    /// Held for the manager's lifetime so two brokers never share a directory.
    _lock: File,
}

impl LogManager {
    /// Locks `data_dir`, finishes interrupted deletions and opens every partition
    /// log in parallel with `default_config` (the broker applies per-topic
    /// settings afterwards with [`Log::set_config`]).
    ///
    /// # Errors
    /// [`LogError::DataDirInUse`] when another process holds the directory,
    /// [`LogError::Io`] when a log cannot be opened.
    pub fn open(data_dir: impl Into<PathBuf>, default_config: &LogConfig) -> Result<LogManager> {
        let data_dir = data_dir.into();
        std::fs::create_dir_all(&data_dir).at(&data_dir)?;
        let lock_path = data_dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).at(&lock_path)?;
        if lock.try_lock().is_err() {
            return Err(LogError::DataDirInUse { path: data_dir });
        }
        // Gone (durably) before any log can be written: a crash from here on
        // means recovery at the next start.
        let marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
        let closed_cleanly = marker.exists();
        if closed_cleanly {
            std::fs::remove_file(&marker).at(&marker)?;
            crate::sync_dir(&data_dir).at(&data_dir)?;
        }
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(&data_dir).at(&data_dir)? {
            let entry = entry.at(&data_dir)?;
            let path = entry.path();
            if !entry.file_type().at(&path)?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(DELETE_SUFFIX) {
                info!(dir = %path.display(), "finishing interrupted partition deletion");
                std::fs::remove_dir_all(&path).at(&path)?;
                continue;
            }
            if name.ends_with(STRAY_SUFFIX) {
                warn!(dir = %path.display(), "a partition set aside earlier is still here; delete it once it is not needed");
                continue;
            }
            match TopicPartition::from_dir_name(&name) {
                Some(tp) => dirs.push((tp, path)),
                // `__`-prefixed directories belong to the broker (its metadata quorum).
                None if name.starts_with("__") => {}
                None => warn!(dir = %path.display(), "ignoring directory that is not a partition"),
            }
        }
        let logs = open_parallel(dirs, default_config, closed_cleanly)?;
        info!(data_dir = %data_dir.display(), partitions = logs.len(), closed_cleanly, "opened logs");
        Ok(LogManager {
            data_dir,
            logs: RwLock::new(logs),
            _lock: lock,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.read_logs().get(tp).cloned()
    }

    /// Every log, in topic-partition order.
    pub fn logs(&self) -> Vec<(TopicPartition, Arc<Log>)> {
        let mut all: Vec<_> = self
            .read_logs()
            .iter()
            .map(|(tp, log)| (tp.clone(), Arc::clone(log)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The log of `tp`, created with `config` if it does not exist yet.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn get_or_create(&self, tp: &TopicPartition, config: LogConfig) -> Result<Arc<Log>> {
        if let Some(log) = self.get(tp) {
            return Ok(log);
        }
        let mut logs = kfk_sync::write(&self.logs);
        if let Some(log) = logs.get(tp) {
            return Ok(Arc::clone(log));
        }
        let log = Arc::new(Log::open(self.data_dir.join(tp.dir_name()), config)?);
        info!(partition = %tp, "created log");
        logs.insert(tp.clone(), Arc::clone(&log));
        Ok(log)
    }

    /// Deletes the log of `tp`: renamed first, so a crash midway finishes the job
    /// on the next open instead of resurrecting half a partition.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn delete(&self, tp: &TopicPartition) -> Result<bool> {
        let removed = kfk_sync::write(&self.logs).remove(tp);
        let Some(log) = removed else {
            return Ok(false);
        };
        let doomed = self.data_dir.join(aside_name(tp, DELETE_SUFFIX));
        std::fs::rename(log.dir(), &doomed).at(log.dir())?;
        std::fs::remove_dir_all(&doomed).at(&doomed)?;
        info!(partition = %tp, "deleted log");
        Ok(true)
    }

    /// Moves the log of `tp` aside (`...-stray`) without deleting it: for a
    /// partition the metadata does not have when the broker starts, whose
    /// data an operator may still want. Returns where it went.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn set_aside(&self, tp: &TopicPartition) -> Result<Option<PathBuf>> {
        let removed = kfk_sync::write(&self.logs).remove(tp);
        let Some(log) = removed else {
            return Ok(None);
        };
        log.flush()?;
        let aside = self.data_dir.join(aside_name(tp, STRAY_SUFFIX));
        std::fs::rename(log.dir(), &aside).at(log.dir())?;
        Ok(Some(aside))
    }

    /// Applies retention to every log; returns the number of segments deleted.
    /// A failing log is reported and skipped so the others still get cleaned.
    pub fn run_retention(&self, now_ms: i64) -> usize {
        let mut deleted = 0;
        for (tp, log) in self.logs() {
            match log.delete_old_segments(now_ms) {
                Ok(n) => deleted += n,
                Err(e) => error!(partition = %tp, error = %e, "retention failed"),
            }
        }
        deleted
    }

    /// Flushes the logs whose `flush.ms` has elapsed.
    pub fn flush_stale(&self, now_ms: i64) {
        for (tp, log) in self.logs() {
            if let Err(e) = log.flush_if_stale(now_ms) {
                error!(partition = %tp, error = %e, "scheduled flush failed");
            }
        }
    }

    /// Starts the background thread that applies retention every
    /// `retention_check_interval` (Kafka's `log.retention.check.interval.ms`) and
    /// `flush.ms` every second. It stops when the handle is dropped.
    pub fn start_background(self: &Arc<Self>, retention_check_interval: Duration) -> Background {
        let (stop, stopped) = mpsc::channel::<()>();
        let manager = Arc::clone(self);
        let tick = Duration::from_secs(1).min(retention_check_interval);
        let handle = std::thread::Builder::new()
            .name("kfk-log-background".into())
            .spawn(move || {
                let mut since_retention = Duration::ZERO;
                loop {
                    match stopped.recv_timeout(tick) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    manager.flush_stale(now_ms());
                    since_retention += tick;
                    if since_retention >= retention_check_interval {
                        since_retention = Duration::ZERO;
                        manager.run_retention(now_ms());
                    }
                }
            })
            .ok();
        if handle.is_none() {
            error!("could not start the log background thread; retention will not run");
        }
        Background {
            stop: Some(stop),
            handle,
        }
    }

    /// Flushes and closes every log, then leaves one clean-shutdown marker
    /// for the directory (none if any log failed: all are recovered then).
    ///
    /// # Errors
    /// The first failure; the other logs are still closed.
    pub fn close(&self) -> Result<()> {
        let logs = self.logs();
        let mut first_error = None;
        for (tp, log) in logs {
            if let Err(e) = log.close_unmarked() {
                error!(partition = %tp, error = %e, "close failed; every log will be recovered on next start");
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let marker = self.data_dir.join(CLEAN_SHUTDOWN_FILE);
        std::fs::File::create(&marker).at(&marker)?;
        Ok(())
    }

    fn read_logs(&self) -> std::sync::RwLockReadGuard<'_, HashMap<TopicPartition, Arc<Log>>> {
        kfk_sync::read(&self.logs)
    }
}

/// Opens the logs with one worker per core: recovery is CPU-bound (CRC) and
/// I/O-bound in turns, and a broker with many partitions should start fast.
fn open_parallel(
    dirs: Vec<(TopicPartition, PathBuf)>,
    config: &LogConfig,
    closed_cleanly: bool,
) -> Result<HashMap<TopicPartition, Arc<Log>>> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(dirs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Vec<(TopicPartition, Result<Log>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut opened = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((tp, dir)) = dirs.get(i) else { break };
                        opened.push((
                            tp.clone(),
                            Log::open_after(dir, config.clone(), closed_cleanly),
                        ));
                    }
                    opened
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut logs = HashMap::with_capacity(dirs.len());
    for (tp, log) in results.into_iter().flatten() {
        logs.insert(tp, Arc::new(log?));
    }
    Ok(logs)
}

/// Handle on the background thread; dropping it stops the thread.
#[derive(Debug)]
pub struct Background {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
