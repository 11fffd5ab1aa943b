//! The metadata quorum: three Raft nodes in one process, talking over loopback
//! TCP (authenticated with a cluster secret, every frame sealed), with
//! durable logs in temporary directories.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kfkd::metadata::{MetadataImage, PartitionMeta, TopicMeta};
use kfkd::quorum::auth::Secret;
use kfkd::quorum::log_store::LogStore;
use kfkd::quorum::network::{Channel, serve};
use kfkd::quorum::prevote::{LeaderContact, gate_elections};
use kfkd::quorum::state_machine::StateMachine;
use kfkd::quorum::{CommandResult, MetadataCommand, MetadataRaft, MetadataRecord};
use openraft::{BasicNode, Config};

const WAIT: Duration = Duration::from_secs(10);

struct Node {
    raft: MetadataRaft,
    sm: StateMachine,
    server: tokio::task::JoinHandle<()>,
    gate: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn stop(self) {
        self.gate.abort();
        self.raft.shutdown().await.unwrap();
        self.server.abort();
        let _ = self.server.await;
    }
}

async fn start(id: u64, dir: &Path, listener: tokio::net::TcpListener) -> Node {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 300,
        election_timeout_max: 600,
        ..Config::default()
    }
    .validate()
    .unwrap();
    let sm = StateMachine::open(&dir.join("raft")).unwrap();
    let log = LogStore::open(&dir.join("raft")).unwrap();
    let channel = Channel::new(Some(Secret::from_bytes(b"a secret of the test quorum")));
    let raft = MetadataRaft::new(id, Arc::new(config), channel.network(), log, sm.clone())
        .await
        .unwrap();
    let contact = Arc::new(LeaderContact::default());
    let abstain = Arc::new(AtomicBool::new(false));
    let server = tokio::spawn(serve(
        listener,
        raft.clone(),
        channel.clone(),
        Default::default(),
        Arc::clone(&abstain),
        Arc::clone(&contact),
    ));
    let gate = tokio::spawn(gate_elections(raft.clone(), channel, contact, abstain));
    Node {
        raft,
        sm,
        server,
        gate,
    }
}

fn topic(partitions: usize) -> TopicMeta {
    TopicMeta {
        id: uuid::Uuid::new_v4(),
        partitions: (0..partitions)
            .map(|_| PartitionMeta {
                replicas: vec![1],
                isr: vec![1],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                adding_replicas: Vec::new(),
                removing_replicas: Vec::new(),
            })
            .collect(),
        configs: BTreeMap::new(),
    }
}

async fn leader_of(node: &Node) -> u64 {
    let m = node
        .raft
        .wait(Some(WAIT))
        .metrics(|m| m.current_leader.is_some(), "a leader")
        .await
        .unwrap();
    m.current_leader.unwrap()
}

async fn wait_for(sm: &StateMachine, what: &str, check: impl Fn(&MetadataImage) -> bool) {
    let mut rx = sm.subscribe();
    tokio::time::timeout(WAIT, async {
        loop {
            if check(&rx.borrow_and_update()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_agree_survive_a_leader_loss_and_restart() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3u64 {
        // Restarted nodes bind their port again: keep it out of the
        // ephemeral range, where an outgoing connection could take it.
        let l = tokio::net::TcpListener::bind(("127.0.0.1", kfk_e2e::free_port()))
            .await
            .unwrap();
        members.insert(id, BasicNode::new(l.local_addr().unwrap().to_string()));
        listeners.push(l);
    }
    let mut nodes: BTreeMap<u64, Node> = BTreeMap::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let id = i as u64 + 1;
        nodes.insert(id, start(id, dirs[i].path(), l).await);
    }
    nodes[&1].raft.initialize(members.clone()).await.unwrap();

    let leader = leader_of(&nodes[&1]).await;
    let res = nodes[&leader]
        .raft
        .client_write(MetadataRecord::now(MetadataCommand::CreateTopic {
            name: "orders".into(),
            topic: topic(3),
        }))
        .await
        .unwrap();
    assert_eq!(res.data, CommandResult::Done);
    for n in nodes.values() {
        wait_for(&n.sm, "orders on every node", |i| {
            i.topics.contains_key("orders")
        })
        .await;
    }
    let again = nodes[&leader]
        .raft
        .client_write(MetadataRecord::now(MetadataCommand::CreateTopic {
            name: "orders".into(),
            topic: topic(1),
        }))
        .await
        .unwrap();
    assert_eq!(again.data, CommandResult::TopicExists);

    // Lose the leader: the other two elect a new one and keep accepting changes.
    nodes.remove(&leader).unwrap().stop().await;
    let survivor = *nodes.keys().next().unwrap();
    let new_leader = {
        let m = nodes[&survivor]
            .raft
            .wait(Some(WAIT))
            .metrics(
                |m| m.current_leader.is_some_and(|l| l != leader),
                "a new leader",
            )
            .await
            .unwrap();
        m.current_leader.unwrap()
    };
    let ids = nodes[&new_leader]
        .raft
        .client_write(MetadataRecord::now(MetadataCommand::AllocateProducerIds {
            count: 1000,
            broker: 1,
        }))
        .await
        .unwrap();
    assert_eq!(ids.data, CommandResult::ProducerIds { first: 0 });
    for n in nodes.values() {
        wait_for(&n.sm, "producer ids allocated", |i| {
            i.next_producer_id == 1000
        })
        .await;
    }

    // The old leader restarts from its data directory and catches up.
    let dir = dirs[(leader - 1) as usize].path();
    let addr = members[&leader].addr.clone();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let back = start(leader, dir, listener).await;
    wait_for(&back.sm, "the restarted node to catch up", |i| {
        i.topics.contains_key("orders") && i.next_producer_id == 1000
    })
    .await;
    let voters: BTreeSet<u64> = back
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .collect();
    assert_eq!(voters, BTreeSet::from([1, 2, 3]));
    back.stop().await;
    for (_, n) in nodes {
        n.stop().await;
    }
}

/// Relays connections from `front` to `back` until aborted; aborting drops
/// every relayed connection too.
async fn relay(front: tokio::net::TcpListener, back: std::net::SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = front.accept().await {
        connections.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(back).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// A voter that hears nothing (everything sent to it passes a relay that is
/// then cut, while its own requests still reach the others and their
/// answers come back) asks before it campaigns: the others still hear the
/// leader and say no, so it never raises the term, and the leader leads on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_that_cannot_hear_its_leader_does_not_depose_it() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = Vec::new();
    let mut members = BTreeMap::new();
    let mut relays = BTreeMap::new();
    for id in 1..=3u64 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        members.insert(id, BasicNode::new(front.local_addr().unwrap().to_string()));
        relays.insert(id, tokio::spawn(relay(front, l.local_addr().unwrap())));
        listeners.push(l);
    }
    let mut nodes: BTreeMap<u64, Node> = BTreeMap::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let id = i as u64 + 1;
        nodes.insert(id, start(id, dirs[i].path(), l).await);
    }
    nodes[&1].raft.initialize(members).await.unwrap();
    let leader = leader_of(&nodes[&1]).await;
    let term = nodes[&leader].raft.metrics().borrow().current_term;
    for n in nodes.values() {
        assert_eq!(leader_of(n).await, leader);
    }
    let deaf = (1..=3).find(|id| *id != leader).unwrap();
    relays[&deaf].abort();

    // Several election timeouts (300-600 ms here) pass.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (id, n) in &nodes {
        let m = n.raft.metrics().borrow().clone();
        assert_eq!(
            m.current_term, term,
            "node {id} moved to term {}",
            m.current_term
        );
        if *id != deaf {
            assert_eq!(m.current_leader, Some(leader), "node {id}");
        }
    }
    let ids = nodes[&leader]
        .raft
        .client_write(MetadataRecord::now(MetadataCommand::AllocateProducerIds {
            count: 10,
            broker: 1,
        }))
        .await
        .unwrap();
    assert_eq!(ids.data, CommandResult::ProducerIds { first: 0 });
    for (_, n) in nodes {
        n.stop().await;
    }
    for (_, r) in relays {
        r.abort();
    }
}

/// openraft's own conformance suite for log stores and state machines.
struct Builder;

impl
    openraft::testing::StoreBuilder<
        kfkd::quorum::TypeConfig,
        LogStore,
        StateMachine,
        tempfile::TempDir,
    > for Builder
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), openraft::StorageError<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let log = LogStore::open(&dir.path().join("raft")).unwrap();
        let sm = StateMachine::open(&dir.path().join("raft")).unwrap();
        Ok((dir, log, sm))
    }
}

#[test]
fn storage_passes_the_openraft_suite() {
    openraft::testing::Suite::test_all(Builder).unwrap();
}

#[tokio::test]
async fn a_single_node_keeps_its_state_across_restarts_and_torn_writes() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", kfk_e2e::free_port()))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let node = start(1, dir.path(), listener).await;
    node.raft
        .initialize(BTreeMap::from([(1, BasicNode::new(addr.clone()))]))
        .await
        .unwrap();
    leader_of(&node).await;
    for name in ["a", "b"] {
        node.raft
            .client_write(MetadataRecord::now(MetadataCommand::CreateTopic {
                name: name.into(),
                topic: topic(1),
            }))
            .await
            .unwrap();
    }
    node.raft.shutdown().await.unwrap();
    node.server.abort();
    let _ = node.server.await;
    // A crash in the middle of appending leaves half a line behind.
    let log = dir.path().join("raft").join("log.jsonl");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"log_id\":{\"leader_id\"");
    std::fs::write(&log, bytes).unwrap();

    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let node = start(1, dir.path(), listener).await;
    wait_for(&node.sm, "both topics after the restart", |i| {
        i.topics.contains_key("a") && i.topics.contains_key("b")
    })
    .await;
    leader_of(&node).await;
    node.raft
        .client_write(MetadataRecord::now(MetadataCommand::DeleteTopic {
            name: "a".into(),
        }))
        .await
        .unwrap();
    assert!(!node.sm.image().topics.contains_key("a"));
    node.raft.shutdown().await.unwrap();
}
