//! What DescribeQuorum reports (`kafka-metadata-quorum describe`, `kfk
//! cluster status`): the leader, its epoch and high watermark, and how far
//! each voter and observer has replicated the metadata log. Only the leader
//! knows the replicas' progress, so other nodes ask it over the controller
//! listener.

use serde::{Deserialize, Serialize};

use super::MetadataRaft;

/// One replica of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaProgress {
    pub id: i32,
    /// Offset after the last entry the leader knows it holds; -1 unknown.
    pub log_end_offset: i64,
}

/// The metadata quorum as its leader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumView {
    pub leader: i32,
    /// The Raft term, which KRaft calls the leader epoch.
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaProgress>,
    /// Brokers that follow the log without voting.
    pub observers: Vec<ReplicaProgress>,
    /// Controller address of every node, for DescribeQuorum v2's nodes.
    pub addresses: Vec<(i32, String)>,
}

/// This node's view when it leads a quorum that still has its majority;
/// `None` otherwise (the caller asks the leader, or reports no leader).
pub(crate) fn local(raft: &MetadataRaft) -> Option<QuorumView> {
    let metrics = raft.metrics();
    let m = metrics.borrow();
    if m.current_leader != Some(m.id) || super::client::leads_without_quorum(&m) {
        return None;
    }
    let membership = m.membership_config.membership();
    let progress = |id: u64| {
        let end = if id == m.id {
            m.last_log_index.map(|i| i as i64 + 1)
        } else {
            m.replication
                .as_ref()
                .and_then(|r| r.get(&id).copied().flatten())
                .map(|l| l.index as i64 + 1)
        };
        ReplicaProgress {
            id: id as i32,
            log_end_offset: end.unwrap_or(-1),
        }
    };
    let voters: Vec<u64> = membership.voter_ids().collect();
    Some(QuorumView {
        leader: m.id as i32,
        epoch: i32::try_from(m.current_term).unwrap_or(i32::MAX),
        high_watermark: m.last_applied.map_or(0, |l| l.index as i64 + 1),
        voters: voters.iter().map(|id| progress(*id)).collect(),
        observers: membership
            .learner_ids()
            .filter(|id| !voters.contains(id))
            .map(progress)
            .collect(),
        addresses: membership
            .nodes()
            .map(|(id, n)| (*id as i32, n.addr.clone()))
            .collect(),
    })
}

/// The quorum's view from wherever this node is: its own when it leads,
/// else the leader's, asked over the controller listener.
///
/// # Errors
/// No leader with a majority, or the leader did not answer.
pub(crate) async fn describe(raft: &super::Quorum) -> Result<QuorumView, String> {
    if let Some(view) = local(raft) {
        return Ok(view);
    }
    let leader_addr = {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        m.current_leader.and_then(|l| {
            (l != m.id)
                .then(|| m.membership_config.membership().get_node(&l))
                .flatten()
                .map(|n| n.addr.clone())
        })
    };
    if let Some(addr) = leader_addr {
        match super::network::describe(&raft.channel, &addr, super::client::QUORUM_RPC).await {
            Ok(view) => return Ok(view),
            // A leader this node last heard of may be gone or deposed.
            Err(e) => tracing::debug!(error = %e, "the quorum leader did not describe the quorum"),
        }
    }
    Err(format!(
        "the metadata quorum has no leader ({})",
        super::client::reachable_voters(raft).await
    ))
}
