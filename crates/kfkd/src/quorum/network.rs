//! Raft RPCs between controllers: length-prefixed JSON frames over TCP on the
//! controller listener, one persistent connection per peer; with a cluster
//! secret, each connection is authenticated and each frame sealed
//! ([`super::auth`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, LogId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

use super::auth::{Secret, Session};
use super::prevote::{LeaderContact, would_vote};
use super::{CommandResult, MetadataCommand, MetadataRaft, TypeConfig};
use kfk_sync::lock;

type NodeId = u64;

/// Largest RPC frame accepted (snapshots of large clusters included).
const MAX_FRAME: usize = 64 * 1024 * 1024;
/// How long a new connection has to authenticate.
const HANDSHAKE: Duration = Duration::from_secs(5);
/// How long a refused connection is held before it is closed.
const REFUSAL_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize, Deserialize)]
enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A metadata change from a broker that is not the leader.
    Propose(MetadataCommand),
    /// A broker saying it is alive, to the controller.
    Heartbeat(i32),
    /// A broker that is not a voter asks to follow the metadata log as a
    /// learner, reachable at this controller address.
    Join {
        id: NodeId,
        addr: String,
    },
    /// DescribeQuorum, which only the leader can answer.
    Describe,
    /// Would you vote for me, whose log ends here? ([`super::prevote`])
    PreVote {
        last_log: Option<LogId<NodeId>>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// The command's result and the log index it was committed at.
    Propose(Result<(CommandResult, u64), Refusal>),
    Heartbeat,
    Join(Result<(), String>),
    Describe(Result<super::view::QuorumView, String>),
    PreVote(bool),
}

async fn write_frame<T: Serialize>(
    stream: &mut TcpStream,
    session: Option<&mut Session>,
    value: &T,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len() + 32);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    if let Some(s) = session {
        frame.extend_from_slice(&s.seal(&body));
    }
    stream.write_all(&frame).await
}

async fn read_frame<T: DeserializeOwned>(
    stream: &mut TcpStream,
    session: Option<&mut Session>,
) -> std::io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("raft frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    if let Some(s) = session {
        let mut tag = [0u8; 32];
        stream.read_exact(&mut tag).await?;
        s.open(&body, &tag)?;
    }
    serde_json::from_slice(&body).map_err(std::io::Error::other)
}

/// How this node reaches the other controllers: with the cluster secret,
/// or plain (loopback only).
#[derive(Debug, Clone, Default)]
pub struct Channel {
    secret: Option<Secret>,
}

impl Channel {
    pub fn new(secret: Option<Secret>) -> Channel {
        Channel { secret }
    }

    /// The Raft network of a node that talks over this channel.
    pub fn network(&self) -> Network {
        Network {
            channel: self.clone(),
            ..Network::default()
        }
    }

    /// A connection to `addr` for `target`, not yet opened, whose caller
    /// reports its failures itself.
    pub(crate) fn quiet_peer(&self, target: NodeId, addr: &str) -> Peer {
        self.peer(target, addr, None)
    }

    /// A connection to `addr` for `target`, not yet opened.
    fn peer(&self, target: NodeId, addr: &str, health: Option<Arc<PeerHealth>>) -> Peer {
        Peer {
            target,
            addr: addr.to_string(),
            stream: None,
            health,
            secret: self.secret.clone(),
        }
    }
}

/// Creates a client per peer from the addresses in the membership.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Overrides of peer addresses (tests); otherwise `BasicNode::addr`.
    pub addrs: Arc<HashMap<NodeId, String>>,
    pub channel: Channel,
    /// Which peers are down, shared by every client of a peer.
    health: Arc<PeerHealth>,
}

/// How often, at most, a peer that stays unreachable is logged again.
const PEER_DOWN_LOG_EVERY: Duration = Duration::from_secs(60);

/// Peers' reachability as this node's RPCs find it, so an operator reads
/// "peer down" once (and then once a minute) and "back" once, instead of
/// every failed heartbeat.
#[derive(Debug, Default)]
struct PeerHealth {
    /// Peer -> when its being down was last logged.
    down: std::sync::Mutex<HashMap<NodeId, tokio::time::Instant>>,
}

impl PeerHealth {
    fn failed(&self, peer: NodeId, addr: &str, e: &std::io::Error) {
        let mut down = lock(&self.down);
        let now = tokio::time::Instant::now();
        let due = down
            .get(&peer)
            .is_none_or(|t| now.duration_since(*t) >= PEER_DOWN_LOG_EVERY);
        if due {
            warn!(peer, %addr, error = %e, "metadata quorum peer unreachable");
            down.insert(peer, now);
        }
    }

    fn succeeded(&self, peer: NodeId, addr: &str) {
        if lock(&self.down).remove(&peer).is_some() {
            tracing::info!(peer, %addr, "metadata quorum peer reachable again");
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        let addr = self.addrs.get(&target).unwrap_or(&node.addr);
        self.channel
            .peer(target, addr, Some(Arc::clone(&self.health)))
    }
}

/// The connection to one peer, reopened after any failure.
#[derive(Debug)]
pub struct Peer {
    target: NodeId,
    addr: String,
    /// The open connection, with its session when it is authenticated.
    stream: Option<(TcpStream, Option<Session>)>,
    /// Where a Raft peer's failures are logged; `None` for one-off calls,
    /// whose callers report their own errors.
    health: Option<Arc<PeerHealth>>,
    secret: Option<Secret>,
}

impl Peer {
    async fn call(&mut self, req: Request, ttl: Duration) -> Result<Reply, std::io::Error> {
        let result = tokio::time::timeout(ttl, async {
            if self.stream.is_none() {
                let mut s = TcpStream::connect(&self.addr).await?;
                let _ = s.set_nodelay(true);
                let session = match &self.secret {
                    Some(secret) => Some(super::auth::dial(&mut s, secret).await?),
                    None => None,
                };
                self.stream = Some((s, session));
            }
            let (stream, session) = self
                .stream
                .as_mut()
                .ok_or_else(|| std::io::Error::other("no stream"))?;
            write_frame(stream, session.as_mut(), &req).await?;
            read_frame(stream, session.as_mut()).await
        })
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "raft rpc timed out",
            ))
        });
        match (&result, &self.health) {
            (Err(e), Some(h)) => h.failed(self.target, &self.addr, e),
            (Ok(_), Some(h)) => h.succeeded(self.target, &self.addr),
            _ => {}
        }
        if result.is_err() {
            self.stream = None;
        }
        result
    }
}

impl Peer {
    /// Whether the peer would vote for this node, whose log ends at `last`;
    /// no answer in `ttl` counts as no.
    pub(crate) async fn pre_vote(&mut self, last: Option<LogId<NodeId>>, ttl: Duration) -> bool {
        matches!(
            self.call(Request::PreVote { last_log: last }, ttl).await,
            Ok(Reply::PreVote(true))
        )
    }
}

fn transport_error<E: std::error::Error>(e: std::io::Error) -> RPCError<NodeId, BasicNode, E> {
    if e.kind() == std::io::ErrorKind::InvalidData {
        RPCError::Network(NetworkError::new(&e))
    } else {
        RPCError::Unreachable(Unreachable::new(&e))
    }
}

fn unexpected<E: std::error::Error>() -> RPCError<NodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&std::io::Error::other(
        "mismatched raft reply",
    )))
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self
            .call(Request::AppendEntries(rpc), option.hard_ttl())
            .await
            .map_err(transport_error)?
        {
            Reply::AppendEntries(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self
            .call(Request::InstallSnapshot(rpc), option.hard_ttl())
            .await
            .map_err(transport_error)?
        {
            Reply::InstallSnapshot(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self
            .call(Request::Vote(rpc), option.hard_ttl())
            .await
            .map_err(transport_error)?
        {
            Reply::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(unexpected()),
        }
    }
}

/// Why a forwarded change was not committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refusal {
    /// Certainly not applied (the peer is unreachable or no longer leads), so
    /// sending it again cannot apply it twice.
    pub not_applied: bool,
    pub message: String,
}

/// Sends a metadata change to the leader's controller address; returns its
/// result and the log index it was committed at.
///
/// # Errors
/// A transport failure or the leader's refusal.
pub async fn forward(
    channel: &Channel,
    addr: &str,
    cmd: MetadataCommand,
    ttl: Duration,
) -> Result<(CommandResult, u64), Refusal> {
    let not_applied = |e: std::io::Error| Refusal {
        not_applied: true,
        message: format!("controller at {addr}: {e}"),
    };
    // Connected (and authenticated) before the change is sent: a failure
    // up to here certainly applied nothing.
    let mut peer = channel.peer(0, addr, None);
    let opened = tokio::time::timeout(ttl, async {
        let mut s = TcpStream::connect(addr).await?;
        let _ = s.set_nodelay(true);
        let session = match &peer.secret {
            Some(secret) => Some(super::auth::dial(&mut s, secret).await?),
            None => None,
        };
        Ok::<_, std::io::Error>((s, session))
    })
    .await
    .map_err(|_| not_applied(std::io::ErrorKind::TimedOut.into()))?
    .map_err(not_applied)?;
    peer.stream = Some(opened);
    match peer.call(Request::Propose(cmd), ttl).await {
        Ok(Reply::Propose(r)) => r,
        Ok(_) => Err(Refusal {
            not_applied: false,
            message: "mismatched reply".into(),
        }),
        Err(e) => Err(Refusal {
            not_applied: false,
            message: format!("controller at {addr}: {e}"),
        }),
    }
}

/// Tells the controller at `addr` that broker `id` is alive.
///
/// # Errors
/// A transport failure, as text.
pub async fn heartbeat(
    channel: &Channel,
    addr: &str,
    id: i32,
    ttl: Duration,
) -> Result<(), String> {
    let mut peer = channel.peer(0, addr, None);
    match peer.call(Request::Heartbeat(id), ttl).await {
        Ok(Reply::Heartbeat) => Ok(()),
        Ok(_) => Err("mismatched reply".into()),
        Err(e) => Err(format!("controller at {addr}: {e}")),
    }
}

/// Asks the controller at `addr` to add broker `id` as a learner of the
/// metadata quorum (only the quorum's leader can).
///
/// # Errors
/// A transport failure or a refusal (e.g. not the leader), as text.
pub async fn join(
    channel: &Channel,
    addr: &str,
    id: NodeId,
    own_addr: &str,
    ttl: Duration,
) -> Result<(), String> {
    let mut peer = channel.peer(0, addr, None);
    let req = Request::Join {
        id,
        addr: own_addr.to_string(),
    };
    match peer.call(req, ttl).await {
        Ok(Reply::Join(r)) => r,
        Ok(_) => Err("mismatched reply".into()),
        Err(e) => Err(format!("controller at {addr}: {e}")),
    }
}

/// Asks the quorum leader at `addr` for its [`QuorumView`](super::view::QuorumView).
///
/// # Errors
/// A transport failure or the peer's refusal (no longer leader), as text.
pub async fn describe(
    channel: &Channel,
    addr: &str,
    ttl: Duration,
) -> Result<super::view::QuorumView, String> {
    let mut peer = channel.peer(0, addr, None);
    match peer.call(Request::Describe, ttl).await {
        Ok(Reply::Describe(r)) => r,
        Ok(_) => Err("mismatched reply".into()),
        Err(e) => Err(format!("controller at {addr}: {e}")),
    }
}

/// When the controller last heard from each broker.
#[derive(Debug, Default)]
pub struct Liveness {
    seen: std::sync::Mutex<HashMap<i32, tokio::time::Instant>>,
}

impl Liveness {
    pub fn saw(&self, id: i32) {
        lock(&self.seen).insert(id, tokio::time::Instant::now());
    }

    /// When `id` was last heard from, if ever.
    pub fn last_seen(&self, id: i32) -> Option<tokio::time::Instant> {
        lock(&self.seen).get(&id).copied()
    }

    /// Starts every known broker's clock afresh (a new controller gives all
    /// brokers a full session before judging them).
    pub fn reset(&self, ids: &[i32]) {
        let now = tokio::time::Instant::now();
        let mut seen = lock(&self.seen);
        for id in ids {
            seen.insert(*id, now);
        }
    }
}

/// A change sent by another node: validated again here, whoever sent it (the
/// rules of the API that makes the command), then appended if this node
/// leads a quorum.
async fn propose(
    raft: &MetadataRaft,
    cmd: MetadataCommand,
    peer: std::net::SocketAddr,
) -> Result<(CommandResult, u64), Refusal> {
    if let Err(why) = cmd.validate() {
        warn!(%peer, reason = %why, "refused an invalid metadata change");
        return Err(Refusal {
            not_applied: false,
            message: format!("invalid metadata change: {why}"),
        });
    }
    if let Some(why) = super::client::refuse_without_quorum(raft).await {
        return Err(Refusal {
            not_applied: true,
            message: why,
        });
    }
    raft.client_write(super::MetadataRecord::now(cmd))
        .await
        .map(|r| (r.data, r.log_id.index))
        .map_err(|e| Refusal {
            not_applied: matches!(
                e,
                RaftError::APIError(openraft::error::ClientWriteError::ForwardToLeader(_))
            ),
            message: e.to_string(),
        })
}

/// Serves Raft RPCs from peers on `listener` until the task is dropped.
/// While `abstain` is set (a voter copying back a metadata log it lost),
/// vote requests are refused: a voter with no log would grant its vote to
/// any candidate, even one missing committed entries. Each message accepted
/// from the leader is noted in `contact`, so pre-votes are refused while the
/// leader is alive.
pub async fn serve(
    listener: TcpListener,
    raft: MetadataRaft,
    channel: Channel,
    liveness: Arc<Liveness>,
    abstain: Arc<std::sync::atomic::AtomicBool>,
    contact: Arc<LeaderContact>,
) {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "controller accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let raft = raft.clone();
        let liveness = Arc::clone(&liveness);
        let abstain = Arc::clone(&abstain);
        let contact = Arc::clone(&contact);
        let secret = channel.secret.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let mut session = match &secret {
                Some(secret) => {
                    match tokio::time::timeout(HANDSHAKE, super::auth::accept(&mut stream, secret))
                        .await
                    {
                        Ok(Ok(s)) => Some(s),
                        Ok(Err(e)) => {
                            warn!(%peer, error = %e, "controller connection refused");
                            // Each refusal costs the caller a moment.
                            tokio::time::sleep(REFUSAL_DELAY).await;
                            return;
                        }
                        Err(_) => {
                            debug!(%peer, "controller connection did not authenticate in time");
                            return;
                        }
                    }
                }
                None => None,
            };
            loop {
                let req: Request = match read_frame(&mut stream, session.as_mut()).await {
                    Ok(r) => r,
                    Err(e) => {
                        debug!(%peer, error = %e, "raft peer connection closed");
                        return;
                    }
                };
                let reply = match req {
                    Request::AppendEntries(r) => {
                        let reply = raft.append_entries(r).await;
                        if reply
                            .as_ref()
                            .is_ok_and(|r| !matches!(r, AppendEntriesResponse::HigherVote(_)))
                        {
                            contact.heard();
                        }
                        Reply::AppendEntries(reply)
                    }
                    Request::Vote(r) if abstain.load(std::sync::atomic::Ordering::Relaxed) => {
                        Reply::Vote(Ok(openraft::raft::VoteResponse {
                            vote: r.vote,
                            vote_granted: false,
                            last_log_id: None,
                        }))
                    }
                    Request::Vote(r) => Reply::Vote(raft.vote(r).await),
                    Request::InstallSnapshot(r) => {
                        let vote = r.vote;
                        let reply = raft.install_snapshot(r).await;
                        // Refused by a higher vote, the answer carries that vote.
                        if reply.as_ref().is_ok_and(|r| r.vote == vote) {
                            contact.heard();
                        }
                        Reply::InstallSnapshot(reply)
                    }
                    Request::PreVote { last_log } => Reply::PreVote(
                        !abstain.load(std::sync::atomic::Ordering::Relaxed)
                            && would_vote(&raft, &contact, last_log),
                    ),
                    Request::Heartbeat(id) => {
                        liveness.saw(id);
                        Reply::Heartbeat
                    }
                    Request::Join { id, addr } => Reply::Join(
                        raft.add_learner(id, BasicNode::new(addr), false)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                    ),
                    Request::Describe => Reply::Describe(
                        super::view::local(&raft)
                            .ok_or_else(|| "not the metadata quorum's leader".to_string()),
                    ),
                    Request::Propose(cmd) => Reply::Propose(propose(&raft, cmd, peer).await),
                };
                if write_frame(&mut stream, session.as_mut(), &reply)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}
