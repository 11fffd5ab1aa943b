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

pub mod client;
pub mod log_store;
pub mod network;
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

/// Turns an I/O failure into openraft's storage error.
pub(crate) fn io_err(
    e: impl std::error::Error + 'static,
    make: fn(openraft::AnyError) -> openraft::StorageIOError<u64>,
) -> openraft::StorageError<u64> {
    make(openraft::AnyError::new(&e)).into()
}
