//! Open segment files, bounded: a broker with 100,000 partition replicas
//! cannot keep 100,000 files open under a limit of a few thousand, and a
//! process out of file descriptors cannot even write its metadata vote.
//!
//! Each segment file is a [`CachedFile`] that opens on use and may be closed
//! again by the process-wide budget ([`set_open_file_budget`]): when opening
//! one more would pass it, the least recently used open file is closed
//! (CLOCK: a file used since the hand last passed gets a second chance).
//! Using an open file costs one uncontended lock. A reader holding a file
//! keeps it open past its eviction until it lets go, so the budget can be
//! exceeded by the reads in flight, never by idle partitions.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use kfk_sync::lock;

/// The process's open segment files.
#[derive(Debug)]
struct FileCache {
    budget: AtomicUsize,
    open: AtomicUsize,
    /// Open files, in the order the clock hand visits them.
    ring: Mutex<VecDeque<Weak<CachedFile>>>,
}

static CACHE: LazyLock<FileCache> = LazyLock::new(|| FileCache {
    budget: AtomicUsize::new(usize::MAX),
    open: AtomicUsize::new(0),
    ring: Mutex::new(VecDeque::new()),
});

/// Sets how many segment files may be open at once (at least one). The
/// broker derives it from its open-file limit; unset, there is no bound.
pub fn set_open_file_budget(files: usize) {
    CACHE.budget.store(files.max(1), Ordering::Relaxed);
}

/// Segment files open now.
pub fn open_files() -> usize {
    CACHE.open.load(Ordering::Relaxed)
}

impl FileCache {
    fn register(&self, file: &Arc<CachedFile>) {
        self.open.fetch_add(1, Ordering::Relaxed);
        lock(&self.ring).push_back(Arc::downgrade(file));
    }

    /// Closes least recently used files until one more fits the budget.
    fn make_room(&self) {
        let budget = self.budget.load(Ordering::Relaxed);
        if self.open.load(Ordering::Relaxed) < budget {
            return;
        }
        let mut ring = lock(&self.ring);
        // Two sweeps at most: the first clears second chances.
        let mut visits = ring.len() * 2 + 1;
        while self.open.load(Ordering::Relaxed) >= budget && visits > 0 {
            visits -= 1;
            let Some(weak) = ring.pop_front() else { break };
            // Dropped meanwhile: its drop already counted it out.
            let Some(file) = weak.upgrade() else { continue };
            if file.referenced.swap(false, Ordering::Relaxed) {
                ring.push_back(weak);
                continue;
            }
            // A file being opened or used right now is skipped, not waited on.
            match file.slot.try_lock() {
                Ok(mut slot) => {
                    if slot.take().is_some() {
                        self.open.fetch_sub(1, Ordering::Relaxed);
                    }
                }
                Err(_) => ring.push_back(weak),
            }
        }
    }
}

/// A segment's file, open while used and closable by the budget.
#[derive(Debug)]
pub struct CachedFile {
    path: PathBuf,
    slot: Mutex<Option<Arc<File>>>,
    referenced: AtomicBool,
}

impl CachedFile {
    /// Takes a file just opened (or created) into the cache.
    pub(crate) fn adopt(path: &Path, file: File) -> Arc<CachedFile> {
        CACHE.make_room();
        let cached = Arc::new(CachedFile {
            path: path.to_path_buf(),
            slot: Mutex::new(Some(Arc::new(file))),
            referenced: AtomicBool::new(true),
        });
        CACHE.register(&cached);
        cached
    }

    /// The open file, reopened when the budget closed it.
    ///
    /// # Errors
    /// The file cannot be opened again (it was deleted, or the disk failed).
    pub(crate) fn get(self: &Arc<Self>) -> io::Result<Arc<File>> {
        if let Some(f) = lock(&self.slot).as_ref() {
            self.referenced.store(true, Ordering::Relaxed);
            return Ok(Arc::clone(f));
        }
        CACHE.make_room();
        let opened = Arc::new(OpenOptions::new().read(true).write(true).open(&self.path)?);
        let mut slot = lock(&self.slot);
        if let Some(f) = slot.as_ref() {
            // Another user reopened it first; ours closes as it drops.
            return Ok(Arc::clone(f));
        }
        *slot = Some(Arc::clone(&opened));
        drop(slot);
        self.referenced.store(true, Ordering::Relaxed);
        CACHE.register(self);
        Ok(opened)
    }
}

impl Drop for CachedFile {
    fn drop(&mut self) {
        let open = self
            .slot
            .get_mut()
            .map_or_else(|e| e.into_inner().is_some(), |s| s.is_some());
        if open {
            CACHE.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
