//! The group coordinator's state on a broker: the groups of the offsets
//! partitions this broker leads, and the locks that order loading, writing and
//! snapshotting them. What it does with them is in the parent module, which
//! has the broker at hand; this file needs nothing of the broker, so the
//! broker can hold a coordinator without an import circle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kfk_group::state::Group;
use tokio::time::Instant;

/// Who sent a request: shown as a member's client id and host.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub client_id: String,
    pub host: String,
    /// The listener the client came in on: brokers are advertised to it
    /// at that listener's endpoints.
    pub listener: String,
    /// Who the client proved to be (`User:alice`, `User:CN=...`), or
    /// `User:ANONYMOUS`: what ACLs are checked against.
    pub principal: String,
    /// Whether the connection is plain TCP, so a fetch's records can go
    /// from the page cache to the socket without passing through the
    /// broker (`sendfile`), as Kafka does on plaintext listeners.
    pub plaintext: bool,
}

#[derive(Debug, Default)]
pub(super) struct Inner {
    /// Offsets partitions whose groups are in memory, with the leader epoch
    /// they were loaded in.
    pub(super) loaded: HashMap<i32, i32>,
    pub(super) groups: HashMap<String, Group>,
    /// Offsets committed in transactions not yet ended, by offsets
    /// partition and producer id: (group, topic, partition, offset).
    pub(super) pending_txn: HashMap<(i32, i64), Vec<PendingOffset>>,
}

/// An offset committed inside a transaction, waiting for its marker.
pub(super) type PendingOffset = (String, String, i32, kfk_group::schema::OffsetValue);

/// A committed offset as OffsetFetch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

impl Committed {
    /// What OffsetFetch answers for a partition without a commit.
    pub fn none() -> Committed {
        Committed {
            offset: -1,
            leader_epoch: -1,
            metadata: String::new(),
        }
    }
}

/// A group's description (DescribeGroups).
#[derive(Debug, Clone)]
pub struct Description {
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

#[derive(Debug, Default)]
pub struct GroupCoordinator {
    pub(super) inner: Mutex<Inner>,
    /// One partition load at a time.
    pub(super) loading: tokio::sync::Mutex<()>,
    /// Per offsets partition: held from an append until memory reflects it,
    /// so records reach the log in the order memory changed.
    pub(super) writers: Mutex<HashMap<i32, Arc<tokio::sync::Mutex<()>>>>,
    /// Set once `__consumer_offsets` is known to be compacted.
    pub(super) compacted: std::sync::atomic::AtomicBool,
    /// When expired offsets were last looked for.
    pub(super) last_expiry: Mutex<Option<Instant>>,
}
