//! The replicated state machine: applies committed [`MetadataCommand`]s to the
//! metadata image and publishes every new image on a watch channel, which is
//! how the rest of the broker learns about changes.
//!
//! Snapshots are the image as JSON, kept in `<data dir>/raft/snapshot.json`;
//! after a restart openraft replays the committed log entries that follow it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};

use super::{TypeConfig, io_err};
use crate::metadata::CommandResult;
use crate::metadata::MetadataImage;

type NodeId = u64;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    image: MetadataImage,
    snapshot: Option<StoredSnapshot>,
    snapshots_built: u64,
}

/// The metadata state machine; clones share it.
#[derive(Debug, Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
    published: Arc<watch::Sender<Arc<MetadataImage>>>,
}

impl StateMachine {
    /// Opens the state machine from its last snapshot in `dir`.
    ///
    /// # Errors
    /// An unreadable snapshot.
    pub fn open(dir: &Path) -> std::io::Result<StateMachine> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("snapshot.json");
        let snapshot: Option<StoredSnapshot> = match std::fs::read(&path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} is damaged ({e}); {}",
                        path.display(),
                        super::log_store::rejoin_advice(dir)
                    ),
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (image, last_applied, membership) = match &snapshot {
            Some(s) => (
                serde_json::from_slice(&s.data).map_err(std::io::Error::other)?,
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (MetadataImage::default(), None, StoredMembership::default()),
        };
        let (published, _) = watch::channel(Arc::new(image.clone()));
        Ok(StateMachine {
            inner: Arc::new(Mutex::new(Inner {
                path,
                last_applied,
                membership,
                image,
                snapshot,
                snapshots_built: 0,
            })),
            published: Arc::new(published),
        })
    }

    /// Receives every image the state machine reaches.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.published.subscribe()
    }

    /// The current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.published.borrow())
    }
}

fn persist(path: &Path, snap: &StoredSnapshot) -> std::io::Result<()> {
    kfk_log::write_atomically(
        path,
        &serde_json::to_vec(snap).map_err(std::io::Error::other)?,
    )
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut inner = self.inner.lock().await;
        let data = serde_json::to_vec(&inner.image)
            .map_err(|e| io_err(e, StorageIOError::read_state_machine))?;
        inner.snapshots_built += 1;
        let snapshot_id = match inner.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, inner.snapshots_built),
            None => format!("none-{}", inner.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: inner.last_applied,
            last_membership: inner.membership.clone(),
            snapshot_id,
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        persist(&inner.path, &stored)
            .map_err(|e| io_err(e, StorageIOError::write_state_machine))?;
        inner.snapshot = Some(stored);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let inner = self.inner.lock().await;
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut inner = self.inner.lock().await;
        let mut results = Vec::new();
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            results.push(match entry.payload {
                EntryPayload::Blank => CommandResult::Done,
                EntryPayload::Normal(record) => {
                    inner.image.apply_record(&record, entry.log_id.index)
                }
                EntryPayload::Membership(m) => {
                    inner.membership = StoredMembership::new(Some(entry.log_id), m);
                    CommandResult::Done
                }
            });
        }
        self.published.send_replace(Arc::new(inner.image.clone()));
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let image: MetadataImage = serde_json::from_slice(&data)
            .map_err(|e| io_err(e, StorageIOError::read_state_machine))?;
        let mut inner = self.inner.lock().await;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        persist(&inner.path, &stored)
            .map_err(|e| io_err(e, StorageIOError::write_state_machine))?;
        inner.last_applied = meta.last_log_id;
        inner.membership = meta.last_membership.clone();
        inner.image = image;
        inner.snapshot = Some(stored);
        self.published.send_replace(Arc::new(inner.image.clone()));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let inner = self.inner.lock().await;
        Ok(inner.snapshot.as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone())),
        }))
    }
}
