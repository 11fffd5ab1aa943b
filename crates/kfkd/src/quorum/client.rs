//! How a broker gets a metadata change committed: locally when it leads the
//! quorum, else forwarded to the leader, waiting out elections; and how a
//! broker outside the voters joins as a learner.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tracing::info;

use super::{CommandResult, MetadataCommand, MetadataRaft, MetadataRecord, Quorum};
use crate::error::ApiError;

/// How long a starting broker waits for its metadata quorum to be ready.
pub(crate) const QUORUM_READY: Duration = Duration::from_secs(30);
/// Patience for one forwarded metadata change.
pub(crate) const QUORUM_RPC: Duration = Duration::from_secs(10);

/// How long a change waits for the quorum to (re-)elect a leader before the
/// request fails with NOT_CONTROLLER.
const LEADER_PATIENCE: Duration = Duration::from_secs(5);

/// How long a quorum leader may go without a majority's acknowledgement
/// before it stops counting as the active controller and refuses changes
/// (KRaft's `controller.quorum.fetch.timeout.ms` default).
const QUORUM_LOST_AFTER: Duration = Duration::from_secs(2);

/// How long a probe of a voter's controller address may take.
const PROBE_PATIENCE: Duration = Duration::from_millis(300);

/// Whether this node leads a quorum of several voters but has not heard from
/// a majority of them lately: it could append a change but not commit it,
/// and a change left in its log would be applied whenever the voters came
/// back, long after its requester was told it failed.
pub(crate) fn leads_without_quorum(m: &openraft::RaftMetrics<u64, openraft::BasicNode>) -> bool {
    let voters = m.membership_config.membership().voter_ids().count();
    m.current_leader == Some(m.id)
        && voters > 1
        && m.millis_since_quorum_ack
            .is_none_or(|ms| ms > QUORUM_LOST_AFTER.as_millis() as u64)
}

/// How long a leader waits for a majority to confirm it still leads before
/// it appends a change.
const CONFIRM_PATIENCE: Duration = Duration::from_secs(1);

/// The refusal of a leader without a majority, or `None` when it may append.
///
/// Checked before every append on the leader: a change appended by a leader
/// that has just lost its majority would sit in its log, be reported as
/// failed, and be applied whenever the voters came back. So the leader first
/// has a majority confirm it still leads (one heartbeat round trip), which
/// leaves only the instant between that and the append.
pub(crate) async fn refuse_without_quorum(raft: &MetadataRaft) -> Option<String> {
    let (id, leads, several) = {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        if leads_without_quorum(&m) {
            return Some(format!(
                "the metadata quorum has lost its majority: its leader, node {}, has not heard from most voters for {} s",
                m.id,
                QUORUM_LOST_AFTER.as_secs()
            ));
        }
        let voters = m.membership_config.membership().voter_ids().count();
        (m.id, m.current_leader == Some(m.id), voters > 1)
    };
    if !leads || !several {
        return None;
    }
    match tokio::time::timeout(CONFIRM_PATIENCE, raft.get_read_log_id()).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!(
            "node {id} could not confirm with a majority of voters that it leads: {e}"
        )),
        Err(_) => Some(format!(
            "node {id} could not confirm with a majority of voters that it leads within {} s",
            CONFIRM_PATIENCE.as_secs()
        )),
    }
}

/// "K of N voters reachable", probing each voter's controller address from
/// here (a refused or silent connection counts as unreachable).
pub(crate) async fn reachable_voters(raft: &MetadataRaft) -> String {
    let addrs: Vec<String> = {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| n.addr.clone()))
            .collect()
    };
    let mut probes = tokio::task::JoinSet::new();
    for addr in addrs.clone() {
        probes.spawn(async move {
            matches!(
                tokio::time::timeout(PROBE_PATIENCE, tokio::net::TcpStream::connect(addr)).await,
                Ok(Ok(_))
            )
        });
    }
    let up = probes.join_all().await.into_iter().filter(|up| *up).count();
    format!("{up} of {} voters reachable", addrs.len())
}

/// Commits a command through the quorum: locally when this broker leads it,
/// else by forwarding it to the leader; returns once this broker's own image
/// includes the change. While the quorum is between leaders (the controller
/// just stopped), waits up to [`LEADER_PATIENCE`] for the next one.
pub(crate) async fn commit(raft: &Quorum, cmd: MetadataCommand) -> Result<CommandResult, ApiError> {
    let deadline = tokio::time::Instant::now() + LEADER_PATIENCE;
    loop {
        match commit_once(raft, cmd.clone()).await {
            Err(Attempt::NotApplied(e)) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = ?e, "no reachable quorum leader yet; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(Attempt::NotApplied(e)) => {
                // Nothing was appended anywhere: say so, and how many voters
                // this broker can reach.
                tracing::debug!(reason = ?e.message, "metadata change refused");
                return Err(ApiError::new(
                    ResponseError::NotController,
                    format!(
                        "the metadata quorum has no leader ({}); nothing was changed",
                        reachable_voters(raft).await
                    ),
                ));
            }
            Err(Attempt::Failed(e)) => return Err(e),
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
    raft: &Quorum,
    cmd: MetadataCommand,
) -> Result<CommandResult, Attempt> {
    // The leader checks again whatever reaches it; checked here too so a
    // bad change fails before it travels.
    if let Err(why) = cmd.validate() {
        return Err(Attempt::Failed(ApiError::new(
            ResponseError::InvalidRequest,
            format!("invalid metadata change: {why}"),
        )));
    }
    if let Some(why) = refuse_without_quorum(raft).await {
        return Err(Attempt::NotApplied(ApiError::new(
            ResponseError::NotController,
            why,
        )));
    }
    let written = write_here(
        raft,
        cmd.clone(),
        "change; its leader lost its majority meanwhile",
    )
    .await
    .map_err(Attempt::Failed)?;
    match written {
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
            let (result, index) =
                super::network::forward(&raft.channel, &leader.addr, cmd, QUORUM_RPC)
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

/// What openraft answers a write on this node.
type Written = Result<
    openraft::raft::ClientWriteResponse<super::TypeConfig>,
    openraft::error::RaftError<u64, openraft::error::ClientWriteError<u64, openraft::BasicNode>>,
>;

/// Appends `cmd` on this node and waits for its commit: a leader that loses
/// its majority after appending never answers, so the wait is bounded as a
/// forwarded change's is; `what` names the change in the timeout's message.
async fn write_here(
    raft: &MetadataRaft,
    cmd: MetadataCommand,
    what: &str,
) -> Result<Written, ApiError> {
    tokio::time::timeout(QUORUM_RPC, raft.client_write(MetadataRecord::now(cmd)))
        .await
        .map_err(|_| {
            ApiError::new(
                ResponseError::RequestTimedOut,
                format!(
                    "the metadata quorum did not confirm the {what} within {} s",
                    QUORUM_RPC.as_secs()
                ),
            )
        })
}

/// The Raft term in which this node is the active controller: it leads the
/// quorum and a majority has acknowledged it lately. `None` otherwise.
pub(crate) fn controlling_term(raft: &MetadataRaft) -> Option<u64> {
    let metrics = raft.metrics();
    let m = metrics.borrow();
    (m.current_leader == Some(m.id) && !leads_without_quorum(&m)).then_some(m.current_term)
}

/// Commits a decision the active controller made in `term` (a broker fenced
/// for silence, a preferred leader restored), only while this node still
/// controls in that term; never forwarded.
///
/// A controller cut off from the others still believes it leads for a while
/// and judges by what it can no longer hear: forwarded to the controller
/// elected meanwhile, its verdict that every other broker went silent would
/// fence healthy brokers. A verdict is only as good as the term it was
/// reached in.
pub(crate) async fn commit_as_controller(
    raft: &Quorum,
    term: u64,
    cmd: MetadataCommand,
) -> Result<CommandResult, ApiError> {
    let deposed = || {
        ApiError::new(
            ResponseError::NotController,
            format!("this node no longer controls the cluster in term {term}; decision dropped"),
        )
    };
    if controlling_term(raft) != Some(term) {
        return Err(deposed());
    }
    if let Some(why) = refuse_without_quorum(raft).await {
        return Err(ApiError::new(ResponseError::NotController, why));
    }
    let written = write_here(raft, cmd, "decision").await?;
    match written {
        Ok(r) => Ok(r.data),
        Err(openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(_),
        )) => Err(deposed()),
        Err(e) => Err(ApiError::new(
            ResponseError::UnknownServerError,
            e.to_string(),
        )),
    }
}

/// Commits a command from a broker that is still starting, retrying while a
/// leader is being elected.
pub(crate) async fn propose_with_retry(raft: &Quorum, cmd: MetadataCommand) -> anyhow::Result<()> {
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

/// Waits until this node has applied everything the quorum's leader had
/// when asked (its high watermark): a node rebuilding its metadata from the
/// leader must not judge its partitions by half an image.
pub(crate) async fn catch_up_with_leader(raft: &Quorum) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        match super::view::describe(raft).await {
            Ok(view) if view.high_watermark > 0 => {
                let last = (view.high_watermark - 1) as u64;
                raft.wait(Some(QUORUM_READY))
                    .applied_index_at_least(Some(last), "the metadata log copied from the leader")
                    .await?;
                return Ok(());
            }
            _ if tokio::time::Instant::now() > deadline => {
                anyhow::bail!(
                    "no leader of the metadata quorum answered to copy the metadata log from"
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Asks the voters, until the leader among them agrees, to add this broker
/// as a learner of the metadata quorum.
pub(crate) async fn join_as_learner(
    channel: &super::network::Channel,
    voters: &BTreeMap<u64, openraft::BasicNode>,
    node_id: u64,
    own_addr: &str,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + QUORUM_READY;
    loop {
        let mut last = String::new();
        for voter in voters.values() {
            match super::network::join(channel, &voter.addr, node_id, own_addr, QUORUM_RPC).await {
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
