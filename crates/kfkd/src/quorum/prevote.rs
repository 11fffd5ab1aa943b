//! Pre-vote: a voter campaigns only once a majority would vote for it.
//!
//! A voter cut off from the others (link down, or deaf: it sends and hears
//! nothing) never hears its leader, so Raft has it call election after
//! election, each in a higher term that nobody answers. When the network
//! heals, that term reaches the leader and deposes it: the quorum goes
//! without a leader for seconds although nothing was wrong with it. KRaft
//! prevents this with pre-vote (KIP-996), and so does this module, beside
//! openraft, which has no pre-vote of its own: before an election the voter
//! asks the others whether they would vote for it (they have not heard a
//! leader lately and its log is as complete as theirs), and openraft's
//! election timer is switched on only while a majority says yes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::LogId;
use tokio::time::Instant;

use super::MetadataRaft;
use super::network::{Channel, Peer};
use kfk_sync::lock;

/// How long after its leader's last message a voter still counts that
/// leader as alive and refuses pre-votes (openraft's shortest election
/// timeout: a follower that heard its leader more recently would not elect).
pub const LEADER_FRESH: Duration = Duration::from_millis(600);
/// How often a voter that hears no leader asks again.
const ASK_EVERY: Duration = Duration::from_millis(150);
/// How long a peer has to answer a pre-vote.
const ASK_PATIENCE: Duration = Duration::from_millis(300);

/// When this voter last accepted a message from its leader.
#[derive(Debug, Default)]
pub struct LeaderContact {
    last: std::sync::Mutex<Option<Instant>>,
}

impl LeaderContact {
    pub fn heard(&self) {
        *lock(&self.last) = Some(Instant::now());
    }

    /// Whether the leader was heard within [`LEADER_FRESH`].
    pub fn fresh(&self) -> bool {
        lock(&self.last).is_some_and(|t| t.elapsed() < LEADER_FRESH)
    }
}

/// Whether this voter would vote for a candidate whose log ends at
/// `candidate_last`: it has no live leader (it leads without a majority, or
/// it has not heard its leader lately) and the candidate's log is at least
/// as complete as its own (Raft's vote rule).
pub fn would_vote(
    raft: &MetadataRaft,
    contact: &LeaderContact,
    candidate_last: Option<LogId<u64>>,
) -> bool {
    {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        if m.current_leader == Some(m.id) {
            if !super::client::leads_without_quorum(&m) {
                return false;
            }
        } else if m.current_leader.is_some() && contact.fresh() {
            return false;
        }
    }
    let own_last = raft.data_metrics().borrow().last_log;
    candidate_last >= own_last
}

/// Keeps openraft's elections on only while a majority of voters would vote
/// for this one, asking them every [`ASK_EVERY`] while no leader is heard.
/// `abstain` (a voter copying back a lost log) keeps elections off.
pub async fn gate_elections(
    raft: MetadataRaft,
    channel: Channel,
    contact: Arc<LeaderContact>,
    abstain: Arc<AtomicBool>,
) {
    let mut peers: HashMap<u64, Peer> = HashMap::new();
    let mut allowed = true;
    loop {
        tokio::time::sleep(ASK_EVERY).await;
        if abstain.load(Ordering::Relaxed) {
            // Whoever set it switched elections off and switches them back on.
            allowed = false;
            continue;
        }
        let (me, leads, voters) = {
            let metrics = raft.metrics();
            let m = metrics.borrow();
            let membership = m.membership_config.membership();
            let voters: BTreeMap<u64, String> = membership
                .voter_ids()
                .filter_map(|id| membership.get_node(&id).map(|n| (id, n.addr.clone())))
                .collect();
            (m.id, m.current_leader == Some(m.id), voters)
        };
        if leads || !voters.contains_key(&me) || voters.len() < 2 {
            // Nothing to gate: a leader does not elect, a learner never
            // does, and a lone voter elects itself.
            continue;
        }
        let allow = if contact.fresh() {
            // Its leader is alive: no election, and nothing to ask.
            false
        } else {
            let last = raft.data_metrics().borrow().last_log;
            let yes = ask(&channel, &mut peers, &voters, me, last).await;
            // Its own vote plus the others'.
            (1 + yes) * 2 > voters.len()
        };
        if allow != allowed {
            tracing::debug!(allow, "elections switched by pre-vote");
            raft.runtime_config().elect(allow);
            allowed = allow;
        }
    }
}

/// How many of the other voters would vote for this one, asking all at once.
async fn ask(
    channel: &Channel,
    peers: &mut HashMap<u64, Peer>,
    voters: &BTreeMap<u64, String>,
    me: u64,
    last: Option<LogId<u64>>,
) -> usize {
    peers.retain(|id, _| voters.contains_key(id));
    for (id, addr) in voters {
        if *id != me {
            peers
                .entry(*id)
                .or_insert_with(|| channel.quiet_peer(*id, addr));
        }
    }
    let mut asking = tokio::task::JoinSet::new();
    for (id, mut peer) in peers.drain() {
        asking.spawn(async move {
            let yes = peer.pre_vote(last, ASK_PATIENCE).await;
            (id, peer, yes)
        });
    }
    let mut yes = 0;
    while let Some(done) = asking.join_next().await {
        if let Ok((id, peer, granted)) = done {
            yes += usize::from(granted);
            peers.insert(id, peer);
        }
    }
    yes
}
