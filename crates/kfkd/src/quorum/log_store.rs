//! The Raft log and vote, durable in `<data dir>/raft/`.
//!
//! Metadata changes are rare and small, so the log is one file of JSON lines
//! appended and fsynced before Raft is told the entries are persistent; the
//! vote and the purge point are small files replaced atomically. A line cut
//! short by a crash is dropped on load (it was never acknowledged).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::{TypeConfig, io_err};

type NodeId = u64;

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    log: BTreeMap<u64, Entry<TypeConfig>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    file: File,
}

/// The durable Raft log; clones share it (openraft reads through a clone).
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

/// What to do about a damaged file of the metadata quorum: with other
/// voters up, this node can copy the log back from them.
pub fn rejoin_advice(dir: &Path) -> String {
    format!(
        "if the other voters of the metadata quorum are up, stop this node, move {dir} aside (e.g. `mv {dir} {dir}.damaged`) and start it again: it copies the metadata log back from them; a node alone has no copy to take, so restore {dir} from a backup",
        dir = dir.display()
    )
}

/// Reads one of the quorum's small JSON files; a damaged one (empty, cut
/// short, not JSON) is an error naming the file, what is wrong and what to do.
fn read_json<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            let what = if bytes.iter().all(u8::is_ascii_whitespace) {
                "is empty".to_string()
            } else {
                format!("is not what kfkd wrote ({e})")
            };
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} {what}; {}",
                    path.display(),
                    rejoin_advice(path.parent().unwrap_or(path))
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    kfk_log::write_atomically(
        path,
        &serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )
}

impl Inner {
    fn log_path(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// Rewrites the log file from memory (after truncate or purge).
    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut text = Vec::new();
        for e in self.log.values() {
            serde_json::to_writer(&mut text, e).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        kfk_log::write_atomically(&self.log_path(), &text)?;
        self.file = OpenOptions::new().append(true).open(self.log_path())?;
        Ok(())
    }
}

impl LogStore {
    /// Opens (or creates) the log in `dir`.
    ///
    /// # Errors
    /// Unreadable files.
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let log_path = dir.join("log.jsonl");
        let mut log = BTreeMap::new();
        let mut torn = false;
        if let Ok(f) = File::open(&log_path) {
            let lines: Vec<Vec<u8>> = BufReader::new(f)
                .split(b'\n')
                .collect::<std::io::Result<_>>()?;
            for (n, line) in lines.iter().enumerate() {
                match serde_json::from_slice::<Entry<TypeConfig>>(line) {
                    Ok(e) => {
                        log.insert(e.log_id.index, e);
                    }
                    // The last line, cut short by a crash: never acknowledged.
                    Err(_) if n + 1 == lines.len() => torn = true,
                    Err(e) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "{} is damaged at line {} of {} ({e}): entries after it cannot be trusted, so kfkd will not guess; {}",
                                log_path.display(),
                                n + 1,
                                lines.len(),
                                rejoin_advice(dir)
                            ),
                        ));
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut inner = Inner {
            dir: dir.to_path_buf(),
            log,
            vote: read_json(&dir.join("vote.json"))?,
            committed: read_json(&dir.join("committed.json"))?,
            last_purged: read_json(&dir.join("purged.json"))?,
            file,
        };
        if torn {
            tracing::warn!(dir = %dir.display(), "dropping a torn entry at the end of the raft log");
            inner.rewrite()?;
        }
        Ok(LogStore {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let inner = self.inner.lock().await;
        Ok(inner.log.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.inner.lock().await;
        let last = inner.log.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last.or(inner.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock().await;
        write_json(&inner.dir.join("vote.json"), vote)
            .map_err(|e| io_err(e, StorageIOError::write_vote))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.inner.lock().await.vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock().await;
        write_json(&inner.dir.join("committed.json"), &committed)
            .map_err(|e| io_err(e, StorageIOError::write))?;
        inner.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.inner.lock().await.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.inner.lock().await;
        let mut buf = Vec::new();
        let mut added = Vec::new();
        for e in entries {
            serde_json::to_writer(&mut buf, &e)
                .map_err(|e| io_err(e, StorageIOError::write_logs))?;
            buf.push(b'\n');
            added.push(e);
        }
        let written = inner
            .file
            .write_all(&buf)
            .and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            let msg = e.to_string();
            callback.log_io_completed(Err(e));
            return Err(io_err(
                std::io::Error::other(msg),
                StorageIOError::write_logs,
            ));
        }
        for e in added {
            inner.log.insert(e.log_id.index, e);
        }
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock().await;
        let _removed = inner.log.split_off(&log_id.index);
        inner
            .rewrite()
            .map_err(|e| io_err(e, StorageIOError::write_logs))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock().await;
        write_json(&inner.dir.join("purged.json"), &log_id)
            .map_err(|e| io_err(e, StorageIOError::write))?;
        inner.last_purged = Some(log_id);
        let keep = inner.log.split_off(&(log_id.index + 1));
        inner.log = keep;
        inner
            .rewrite()
            .map_err(|e| io_err(e, StorageIOError::write_logs))
    }
}
