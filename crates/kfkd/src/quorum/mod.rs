//! The metadata quorum: a Raft group (openraft) whose replicated state machine
//! is the cluster's [`MetadataImage`](crate::metadata::MetadataImage).
//!
//! Every change to cluster metadata (topics, partitions, configs, producer id
//! blocks) is a [`MetadataCommand`] appended to the Raft log; each voter and
//! learner applies committed commands to its own image, so every broker can
//! answer Metadata from local state. The Raft leader is the active controller.
//!
//! Storage ([`log_store`], [`state_machine`]) is durable in the broker's data
//! directory; RPCs ([`network`]) travel over the controller listener as
//! length-prefixed JSON frames.

pub mod auth;
pub mod client;
pub mod log_store;
pub mod network;
pub mod prevote;
pub mod state_machine;
pub mod view;

use std::io::Cursor;

pub use crate::metadata::{CommandResult, MetadataCommand, MetadataRecord};

openraft::declare_raft_types!(
    /// Raft types of the metadata quorum.
    pub TypeConfig:
        D = MetadataRecord,
        R = CommandResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
);

/// A Raft node of the metadata quorum.
pub type MetadataRaft = openraft::Raft<TypeConfig>;

/// The metadata quorum as a broker uses it: its Raft node, and how it
/// reaches the other controllers (forwarded changes, heartbeats, joins).
#[derive(Clone)]
pub struct Quorum {
    raft: MetadataRaft,
    pub channel: network::Channel,
}

impl Quorum {
    pub fn new(raft: MetadataRaft, channel: network::Channel) -> Quorum {
        Quorum { raft, channel }
    }

    pub fn raft(&self) -> &MetadataRaft {
        &self.raft
    }
}

impl std::ops::Deref for Quorum {
    type Target = MetadataRaft;

    fn deref(&self) -> &MetadataRaft {
        &self.raft
    }
}

impl std::fmt::Debug for Quorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quorum").finish_non_exhaustive()
    }
}

/// Turns an I/O failure into openraft's storage error.
pub(crate) fn io_err(
    e: impl std::error::Error + 'static,
    make: fn(openraft::AnyError) -> openraft::StorageIOError<u64>,
) -> openraft::StorageError<u64> {
    make(openraft::AnyError::new(&e)).into()
}
