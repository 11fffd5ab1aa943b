use super::*;

const DELAY: Duration = Duration::ZERO;

fn args(member_id: &str, protocols: &[&str]) -> JoinArgs {
    JoinArgs {
        member_id: member_id.to_string(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from_static(b"meta")))
            .collect(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(30),
        require_known_member_id: true,
    }
}

fn member_id_required(g: &mut Group, now: Instant) -> String {
    match g.join(args("", &["range"]), now, DELAY) {
        JoinOutcome::Reply(Err((ResponseError::MemberIdRequired, id))) => id,
        _ => panic!("expected MEMBER_ID_REQUIRED"),
    }
}

fn waiting(o: JoinOutcome) -> oneshot::Receiver<JoinReply> {
    match o {
        JoinOutcome::Wait(rx) => rx,
        JoinOutcome::Reply(r) => panic!("expected to wait, got {r:?}"),
    }
}

#[tokio::test]
async fn two_members_join_sync_and_the_leader_assigns() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let a = member_id_required(&mut g, now);
    let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
    // Alone, a joins at once (generation 1).
    let ja = ra.try_recv().unwrap().unwrap();
    assert_eq!((ja.generation, ja.leader.as_str()), (1, a.as_str()));
    assert_eq!(ja.members.len(), 1);
    let out = g.sync(
        &a,
        None,
        1,
        vec![(a.clone(), Bytes::from_static(b"all"))],
        now,
    );
    let SyncOutcome::Persist { generation, .. } = out else {
        panic!()
    };
    g.complete_sync(generation, Ok(()));
    assert_eq!(g.state, GroupState::Stable);

    // b joins: a rebalance; a's heartbeat tells it to rejoin.
    let b = member_id_required(&mut g, now);
    let mut rb = waiting(g.join(args(&b, &["range", "roundrobin"]), now, DELAY));
    assert_eq!(
        g.heartbeat(&a, None, 1, now),
        Err(ResponseError::RebalanceInProgress)
    );
    assert!(rb.try_recv().is_err(), "waits for a");
    let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
    let ja = ra.try_recv().unwrap().unwrap();
    let jb = rb.try_recv().unwrap().unwrap();
    assert_eq!(ja.generation, 2);
    assert_eq!(ja.protocol.as_deref(), Some("range"));
    assert_eq!(ja.members.len(), 2, "the leader sees everyone");
    assert!(jb.members.is_empty());
    let SyncOutcome::Wait(mut sb) = g.sync(&b, None, 2, vec![], now) else {
        panic!()
    };
    let out = g.sync(
        &a,
        None,
        2,
        vec![
            (a.clone(), Bytes::from_static(b"p0")),
            (b.clone(), Bytes::from_static(b"p1")),
        ],
        now,
    );
    let SyncOutcome::Persist {
        generation, value, ..
    } = out
    else {
        panic!()
    };
    assert_eq!(value.members.len(), 2);
    g.complete_sync(generation, Ok(()));
    assert_eq!(sb.try_recv().unwrap().unwrap(), Bytes::from_static(b"p1"));
    assert_eq!(g.heartbeat(&b, None, 2, now), Ok(()));
    assert_eq!(
        g.heartbeat(&b, None, 1, now),
        Err(ResponseError::IllegalGeneration)
    );
}

#[tokio::test]
async fn silent_members_expire_and_the_rest_rebalance() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let a = member_id_required(&mut g, now);
    let _ = g.join(args(&a, &["range"]), now, DELAY);
    let SyncOutcome::Persist { generation, .. } = g.sync(&a, None, 1, vec![], now) else {
        panic!()
    };
    g.complete_sync(generation, Ok(()));
    assert!(!g.tick(now + Duration::from_secs(5), DELAY));
    assert!(g.tick(now + Duration::from_secs(11), DELAY));
    assert_eq!(g.state, GroupState::Empty);
    assert!(g.dirty);
    assert_eq!(g.generation, 2);
}

#[tokio::test]
async fn a_static_member_returns_without_a_rebalance() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let mut a_args = args("", &["range"]);
    a_args.instance_id = Some("i-1".into());
    let mut b_args = args("", &["range"]);
    b_args.instance_id = Some("i-2".into());
    let mut ra = waiting(g.join(a_args.clone(), now, DELAY));
    let a = ra.try_recv().unwrap().unwrap().member_id;
    let SyncOutcome::Persist { generation, .. } = g.sync(&a, None, 1, vec![], now) else {
        panic!()
    };
    g.complete_sync(generation, Ok(()));
    let mut rb = waiting(g.join(b_args.clone(), now, DELAY));
    let mut ra = waiting(g.join(args(&a, &["range"]), now, DELAY));
    let b = rb.try_recv().unwrap().unwrap().member_id;
    let _ = ra.try_recv().unwrap().unwrap();
    let SyncOutcome::Persist { generation, .. } = g.sync(
        &a,
        None,
        2,
        vec![(b.clone(), Bytes::from_static(b"p1"))],
        now,
    ) else {
        panic!()
    };
    g.complete_sync(generation, Ok(()));
    // b restarts (new process, same instance id): same generation, no rebalance.
    match g.join(b_args, now, DELAY) {
        JoinOutcome::Reply(Ok(j)) => {
            assert_eq!(j.generation, 2);
            assert_ne!(j.member_id, b);
            assert_eq!(g.state, GroupState::Stable);
            assert_eq!(
                g.heartbeat(&b, Some("i-2"), 2, now),
                Err(ResponseError::FencedInstanceId)
            );
        }
        _ => panic!("expected an immediate answer"),
    }
    // a, the leader, restarts too: it is told the leader is its old id,
    // so it syncs as a follower and gets its old assignment back.
    match g.join(a_args, now, DELAY) {
        JoinOutcome::Reply(Ok(j)) => {
            assert_eq!(j.generation, 2);
            assert_eq!(j.leader, a);
            assert_ne!(j.member_id, a);
            assert!(j.members.is_empty());
            assert_eq!(g.state, GroupState::Stable);
            assert_eq!(g.leader.as_deref(), Some(j.member_id.as_str()));
            assert!(matches!(
                g.sync(&j.member_id, Some("i-1"), 2, vec![], now),
                SyncOutcome::Reply(Ok(_))
            ));
        }
        _ => panic!("expected an immediate answer"),
    }
}

#[test]
fn only_an_empty_groups_old_offsets_expire() {
    let now = Instant::now();
    let mut g = Group::new("g");
    g.empty_since_ms = 1_000;
    for (p, ts) in [(0, 1_000), (1, 50_000)] {
        g.offsets.insert(
            ("t".into(), p),
            OffsetValue {
                offset: 1,
                leader_epoch: -1,
                metadata: None,
                commit_timestamp: ts,
            },
        );
    }
    assert_eq!(
        g.expired_offsets(20_000, 10_000),
        vec![("t".to_string(), 0)]
    );
    assert!(g.expired_offsets(5_000, 10_000).is_empty());
    let _ = g.join(args("", &["range"]), now, DELAY);
    let _ = g.join(args(&g.pending[0].clone(), &["range"]), now, DELAY);
    assert!(!g.members.is_empty());
    assert!(
        g.expired_offsets(100_000, 10_000).is_empty(),
        "members keep them"
    );
}

#[test]
fn commits_check_membership_like_kafka() {
    let now = Instant::now();
    let mut g = Group::new("g");
    assert_eq!(g.check_commit("", None, -1, now), Ok(()));
    assert_eq!(
        g.check_commit("nobody", None, 1, now),
        Err(ResponseError::UnknownMemberId)
    );
}
