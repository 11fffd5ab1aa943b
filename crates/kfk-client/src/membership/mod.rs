//! Membership in a consumer group, under either of Kafka's protocols: the
//! classic one (join, sync, a leader assigns) or KIP-848's consumer protocol
//! (heartbeats only; the coordinator assigns and the member gives partitions
//! back before they move). Both look the same to the reader: `join` gives
//! the partitions to read, `needs_rejoin` says they changed, commits carry
//! the member's generation or epoch.
//!
//! Fetching stays with [`crate::Consumer`]; this type only decides which
//! partitions the member reads and where it resumes.

mod classic;
mod consumer;

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::OffsetCommitResponse;

pub use classic::range_assign;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// Topic -> partitions.
pub type Assignment = BTreeMap<String, Vec<i32>>;

/// Kafka's `group.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup, a client-side range assignor.
    #[default]
    Classic,
    /// KIP-848: ConsumerGroupHeartbeat, the coordinator's assignor.
    Consumer,
}

/// One member of one group.
#[derive(Debug)]
pub struct GroupMembership {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Classic(classic::ClassicMember),
    Consumer(consumer::ConsumerMember),
}

impl GroupMembership {
    /// A classic-protocol member.
    pub fn new(client: Arc<Client>, group: &str, topics: &[String]) -> GroupMembership {
        GroupMembership::with_protocol(client, group, topics, GroupProtocol::Classic)
    }

    pub fn with_protocol(
        client: Arc<Client>,
        group: &str,
        topics: &[String],
        protocol: GroupProtocol,
    ) -> GroupMembership {
        let inner = match protocol {
            GroupProtocol::Classic => {
                Inner::Classic(classic::ClassicMember::new(client, group, topics))
            }
            GroupProtocol::Consumer => {
                Inner::Consumer(consumer::ConsumerMember::new(client, group, topics))
            }
        };
        GroupMembership { inner }
    }

    /// The partitions changed (or this member was dropped): commit what was
    /// read, then `join` again before reading further.
    pub fn needs_rejoin(&self) -> bool {
        match &self.inner {
            Inner::Classic(m) => m.needs_rejoin(),
            Inner::Consumer(m) => m.needs_rejoin(),
        }
    }

    /// Joins, or takes the partitions the group has for this member now.
    ///
    /// # Errors
    /// When no coordinator accepts the member after repeated attempts, or a
    /// fatal group error.
    pub async fn join(&mut self) -> Result<Assignment> {
        match &mut self.inner {
            Inner::Classic(m) => m.join().await,
            Inner::Consumer(m) => m.join().await,
        }
    }

    /// A handle that commits as this member, usable from another task
    /// (asynchronous commits).
    pub fn committer(&self) -> Committer {
        Committer {
            inner: match &self.inner {
                Inner::Classic(m) => CommitterInner::Classic(m.committer()),
                Inner::Consumer(m) => CommitterInner::Consumer(m.committer()),
            },
        }
    }

    /// Commits `offsets` (topic, partition, next offset to read).
    ///
    /// # Errors
    /// As [`Committer::commit`].
    pub async fn commit(&self, offsets: &[(String, i32, i64)]) -> Result<()> {
        self.committer().commit(offsets).await
    }

    /// Leaves the group so its partitions move to the others at once.
    ///
    /// # Errors
    /// When the coordinator cannot be told.
    pub async fn leave(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Classic(m) => m.leave().await,
            Inner::Consumer(m) => m.leave().await,
        }
    }
}

/// Commits offsets as one member.
#[derive(Debug, Clone)]
pub struct Committer {
    inner: CommitterInner,
}

#[derive(Debug, Clone)]
enum CommitterInner {
    Classic(classic::ClassicCommitter),
    Consumer(consumer::ConsumerCommitter),
}

impl Committer {
    /// Commits `offsets` (topic, partition, next offset to read).
    ///
    /// # Errors
    /// Coordinator errors; REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION
    /// (classic) and STALE_MEMBER_EPOCH or FENCED_MEMBER_EPOCH (consumer)
    /// when the group moved on and the partitions may be someone else's.
    pub async fn commit(&self, offsets: &[(String, i32, i64)]) -> Result<()> {
        match &self.inner {
            CommitterInner::Classic(c) => c.commit(offsets).await,
            CommitterInner::Consumer(c) => c.commit(offsets).await,
        }
    }
}

/// The first partition error of an OffsetCommit, if any.
fn check_commit(resp: &OffsetCommitResponse, group: &str) -> Result<()> {
    for t in &resp.topics {
        for p in &t.partitions {
            ClientError::check(
                p.error_code,
                None,
                format!("cannot commit offsets of group '{group}'"),
            )?;
        }
    }
    Ok(())
}
