//! How a broker gets a metadata change committed: locally when it leads the
//! quorum, else forwarded to the leader, waiting out elections; and how a
//! broker outside the voters joins as a learner.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tracing::info;

use super::{CommandResult, MetadataCommand, MetadataRaft};
use crate::error::ApiError;

/// How long a starting broker waits for its metadata quorum to be ready.
pub(crate) const QUORUM_READY: Duration = Duration::from_secs(30);
/// Patience for one forwarded metadata change.
pub(crate) const QUORUM_RPC: Duration = Duration::from_secs(10);

/// How long a change waits for the quorum to (re-)elect a leader before the
/// request fails with NOT_CONTROLLER.
const LEADER_PATIENCE: Duration = Duration::from_secs(5);

/// Commits a command through the quorum: locally when this broker leads it,
/// else by forwarding it to the leader; returns once this broker's own image
/// includes the change. While the quorum is between leaders (the controller
/// just stopped), waits up to [`LEADER_PATIENCE`] for the next one.
pub(crate) async fn commit(
    raft: &MetadataRaft,
    cmd: MetadataCommand,
) -> Result<CommandResult, ApiError> {
    let deadline = tokio::time::Instant::now() + LEADER_PATIENCE;
    loop {
        match commit_once(raft, cmd.clone()).await {
            Err(Attempt::NotApplied(e)) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = ?e, "no reachable quorum leader yet; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(Attempt::NotApplied(e) | Attempt::Failed(e)) => return Err(e),
            Ok(r) => return Ok(r),
        }
    }
}

/// A failed commit: whether it can safely be tried again.
pub(crate) enum Attempt {
    NotApplied(ApiError),
    Failed(ApiError),
}

pub(crate) async fn commit_once(
    raft: &MetadataRaft,
    cmd: MetadataCommand,
) -> Result<CommandResult, Attempt> {
    match raft.client_write(cmd.clone()).await {
        Ok(r) => Ok(r.data),
        Err(openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(f),
        )) => {
            let leader = f.leader_node.ok_or_else(|| {
                Attempt::NotApplied(ApiError::new(
                    ResponseError::NotController,
                    "the metadata quorum has no leader right now",
                ))
            })?;
            let (result, index) = super::network::forward(&leader.addr, cmd, QUORUM_RPC)
                .await
                .map_err(|r| {
                    let e = ApiError::new(ResponseError::NotController, r.message);
                    if r.not_applied {
                        Attempt::NotApplied(e)
                    } else {
                        Attempt::Failed(e)
                    }
                })?;
            raft.wait(Some(QUORUM_RPC))
                .applied_index_at_least(Some(index), "the change to reach this broker")
                .await
                .map_err(|e| {
                    Attempt::Failed(ApiError::new(ResponseError::RequestTimedOut, e.to_string()))
                })?;
            Ok(result)
        }
        Err(e) => Err(Attempt::Failed(ApiError::new(
            ResponseError::UnknownServerError,
            e.to_string(),
        ))),
    }
}

/// Commits a command from a broker that is still starting, retrying while a
/// leader is being elected.
pub(crate) async fn propose_with_retry(
    raft: &MetadataRaft,
    cmd: MetadataCommand,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        match commit(raft, cmd.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = ?e, "metadata change not committed yet; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!(
                "the metadata quorum did not commit a change: {}",
                e.message.unwrap_or_default()
            ),
        }
    }
}

/// Asks the voters, until the leader among them agrees, to add this broker
/// as a learner of the metadata quorum.
pub(crate) async fn join_as_learner(
    voters: &BTreeMap<u64, openraft::BasicNode>,
    node_id: u64,
    own_addr: &str,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        let mut last = String::new();
        for voter in voters.values() {
            match super::network::join(&voter.addr, node_id, own_addr, QUORUM_RPC).await {
                Ok(()) => {
                    info!(controller = %voter.addr, "joined the metadata quorum as a learner");
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!(
                "no voter of the metadata quorum accepted this broker as a learner: {last}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
