use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::ResponseError;
use tokio::time::Instant;
use uuid::Uuid;

use super::assignor::{Spec, assign};
use super::*;

struct Topics(BTreeMap<String, (Uuid, i32)>);

impl Catalog for Topics {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.get(name).copied()
    }
    fn matching(&self, re: &regex::Regex) -> Vec<String> {
        self.0.keys().filter(|n| re.is_match(n)).cloned().collect()
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn topics(list: &[(&str, u128, i32)]) -> Topics {
    Topics(
        list.iter()
            .map(|(n, i, p)| ((*n).to_string(), (id(*i), *p)))
            .collect(),
    )
}

fn settings() -> Settings {
    Settings {
        session_timeout: Duration::from_secs(45),
        heartbeat_interval: Duration::from_secs(5),
        max_size: 100,
    }
}

fn join(member: &str, names: &[&str]) -> Heartbeat {
    Heartbeat {
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(names.iter().map(|s| (*s).to_string()).collect()),
        owned: Some(Assignment::new()),
        ..Heartbeat::default()
    }
}

fn beat(member: &str, epoch: i32, owned: &Assignment) -> Heartbeat {
    Heartbeat {
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        ..Heartbeat::default()
    }
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

fn spec<'a>(m: &'a str, ts: &[u128]) -> Spec<'a> {
    Spec {
        member_id: m,
        instance_id: None,
        topics: ts.iter().map(|t| id(*t)).collect(),
    }
}

#[test]
fn uniform_balances_and_moves_only_what_it_must() {
    let t = BTreeMap::from([(id(1), 7), (id(2), 5)]);
    let a = assign(
        "uniform",
        &[spec("a", &[1, 2]), spec("b", &[1, 2])],
        &t,
        &BTreeMap::new(),
    );
    let sizes: Vec<usize> = a.values().map(count).collect();
    assert_eq!(sizes, vec![6, 6]);
    // A third member takes four, and a and b keep the rest of what they had.
    let b = assign(
        "uniform",
        &[spec("a", &[1, 2]), spec("b", &[1, 2]), spec("c", &[1, 2])],
        &t,
        &a,
    );
    assert_eq!(b.values().map(count).collect::<Vec<_>>(), vec![4, 4, 4]);
    for m in ["a", "b"] {
        for (topic, ps) in &b[m] {
            assert!(ps.is_subset(&a[m][topic]), "{m} lost a partition it kept");
        }
    }
    // Every partition is assigned exactly once.
    let mut all: Vec<(Uuid, i32)> = b
        .values()
        .flat_map(|x| {
            x.iter()
                .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
        })
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12);
}

#[test]
fn uniform_respects_what_each_member_subscribes_to() {
    let t = BTreeMap::from([(id(1), 4), (id(2), 4)]);
    let a = assign(
        "uniform",
        &[spec("a", &[1]), spec("b", &[1, 2])],
        &t,
        &BTreeMap::new(),
    );
    assert!(!a["a"].contains_key(&id(2)));
    assert_eq!(a["b"][&id(2)].len(), 4);
    assert_eq!(count(&a["a"]) + count(&a["b"]), 8);
    assert_eq!(count(&a["a"]), 4, "a takes all of topic 1 to balance");
}

#[test]
fn range_co_partitions_in_instance_order() {
    let t = BTreeMap::from([(id(1), 3), (id(2), 3)]);
    let mut m0 = spec("zz", &[1, 2]);
    m0.instance_id = Some("i0");
    let mut m1 = spec("aa", &[1, 2]);
    m1.instance_id = Some("i1");
    let a = assign("range", &[m0, m1], &t, &BTreeMap::new());
    let set = |v: &[i32]| v.iter().copied().collect::<BTreeSet<i32>>();
    assert_eq!(a["zz"][&id(1)], set(&[0, 1]));
    assert_eq!(a["zz"][&id(2)], set(&[0, 1]));
    assert_eq!(a["aa"][&id(1)], set(&[2]));
    assert_eq!(a["aa"][&id(2)], set(&[2]));
}

#[test]
fn a_second_member_gets_partitions_only_after_the_first_revokes_them() {
    let cat = topics(&[("orders", 1, 4)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let r = g.heartbeat(join("a", &["orders"]), &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, 1);
    let a_owns = r.assignment.unwrap();
    assert_eq!(count(&a_owns), 4);
    assert_eq!(g.state(), "Stable");

    let r = g.heartbeat(join("b", &["orders"]), &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, 2);
    assert_eq!(count(&r.assignment.unwrap()), 0, "a still holds them");
    assert_eq!(g.state(), "Reconciling");

    // a is told to give up two and stays in epoch 1 until it does.
    let r = g.heartbeat(beat("a", 1, &a_owns), &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, 1);
    let kept = r.assignment.unwrap();
    assert_eq!(count(&kept), 2);
    assert_eq!(g.members["a"].state, MemberState::UnrevokedPartitions);
    // Still reporting them: nothing moves.
    let r = g.heartbeat(beat("a", 1, &a_owns), &cat, now, &s).unwrap();
    assert_eq!((r.member_epoch, r.assignment), (1, None));
    let r = g.heartbeat(beat("a", 1, &kept), &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, 2);

    let r = g
        .heartbeat(beat("b", 2, &Assignment::new()), &cat, now, &s)
        .unwrap();
    let b_owns = r.assignment.unwrap();
    assert_eq!(count(&b_owns), 2);
    assert!(b_owns[&id(1)].is_disjoint(&kept[&id(1)]));
    assert_eq!(g.state(), "Stable");
}

#[test]
fn epochs_fence_members_that_fell_behind_or_ran_ahead() {
    let cat = topics(&[("t", 1, 2)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let owns = g
        .heartbeat(join("a", &["t"]), &cat, now, &s)
        .unwrap()
        .assignment
        .unwrap();
    let e = g.heartbeat(beat("a", 5, &owns), &cat, now, &s).unwrap_err();
    assert_eq!(e.0, ResponseError::FencedMemberEpoch);
    // The previous epoch is accepted when its partitions are a subset: the
    // answer with the new epoch may have been lost.
    g.heartbeat(join("b", &["t"]), &cat, now, &s).unwrap();
    let r = g.heartbeat(beat("a", 1, &owns), &cat, now, &s).unwrap();
    let kept = r.assignment.unwrap();
    let r = g.heartbeat(beat("a", 1, &kept), &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, 2);
    assert!(g.heartbeat(beat("a", 1, &kept), &cat, now, &s).is_ok());
    let e = g.heartbeat(beat("a", 1, &owns), &cat, now, &s).unwrap_err();
    assert_eq!(e.0, ResponseError::FencedMemberEpoch);
    let e = g
        .heartbeat(beat("nobody", 1, &owns), &cat, now, &s)
        .unwrap_err();
    assert_eq!(e.0, ResponseError::UnknownMemberId);
}

#[test]
fn leaving_and_silent_members_give_their_partitions_to_the_others() {
    let cat = topics(&[("t", 1, 4)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    g.heartbeat(join("a", &["t"]), &cat, now, &s).unwrap();
    g.heartbeat(join("b", &["t"]), &cat, now, &s).unwrap();
    let r = g
        .heartbeat(beat("b", 2, &Assignment::new()), &cat, now, &s)
        .unwrap();
    assert_eq!(r.member_epoch, 2);
    let mut leave = beat("a", LEAVE_EPOCH, &Assignment::new());
    leave.owned = None;
    let r = g.heartbeat(leave, &cat, now, &s).unwrap();
    assert_eq!(r.member_epoch, LEAVE_EPOCH);
    let r = g
        .heartbeat(beat("b", 2, &Assignment::new()), &cat, now, &s)
        .unwrap();
    assert_eq!(count(&r.assignment.unwrap()), 4);
    // b stops heartbeating: its session ends.
    assert!(g.tick(now + Duration::from_secs(10), &s).is_empty());
    assert_eq!(
        g.tick(now + Duration::from_secs(46), &s),
        vec!["b".to_string()]
    );
    assert_eq!(g.state(), "Empty");
}

#[test]
fn a_member_that_never_revokes_is_fenced_after_its_rebalance_timeout() {
    let cat = topics(&[("t", 1, 2)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let owns = g
        .heartbeat(join("a", &["t"]), &cat, now, &s)
        .unwrap()
        .assignment
        .unwrap();
    g.heartbeat(join("b", &["t"]), &cat, now, &s).unwrap();
    g.heartbeat(beat("a", 1, &owns), &cat, now, &s).unwrap();
    let later = now + Duration::from_secs(31);
    g.heartbeat(beat("b", 2, &Assignment::new()), &cat, later, &s)
        .unwrap();
    g.heartbeat(beat("a", 1, &owns), &cat, later, &s).unwrap();
    assert_eq!(g.tick(later, &s), vec!["a".to_string()]);
}

#[test]
fn a_static_member_comes_back_to_its_own_partitions() {
    let cat = topics(&[("t", 1, 4)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let mut ja = join("a1", &["t"]);
    ja.instance_id = Some("ia".into());
    g.heartbeat(ja, &cat, now, &s).unwrap();
    let mut jb = join("b1", &["t"]);
    jb.instance_id = Some("ib".into());
    g.heartbeat(jb, &cat, now, &s).unwrap();
    let owns = g.members["a1"].assigned.clone();
    let r = g.heartbeat(beat("a1", 1, &owns), &cat, now, &s).unwrap();
    let kept = r.assignment.unwrap();
    g.heartbeat(beat("a1", 1, &kept), &cat, now, &s).unwrap();
    // a leaves for a moment: its partitions wait for it.
    let mut bye = beat("a1", STATIC_LEAVE_EPOCH, &kept);
    bye.instance_id = Some("ia".into());
    g.heartbeat(bye, &cat, now, &s).unwrap();
    let epoch = g.group_epoch;
    // Another process cannot take the instance id while a1 holds it...
    let mut back = join("a2", &["t"]);
    back.instance_id = Some("ia".into());
    let r = g.heartbeat(back.clone(), &cat, now, &s).unwrap();
    assert_eq!(
        r.assignment.unwrap(),
        kept,
        "the same partitions, no rebalance"
    );
    assert_eq!(g.group_epoch, epoch);
    assert!(!g.members.contains_key("a1"));
    let mut thief = join("a3", &["t"]);
    thief.instance_id = Some("ia".into());
    let e = g.heartbeat(thief, &cat, now, &s).unwrap_err();
    assert_eq!(e.0, ResponseError::UnreleasedInstanceId);
}

#[test]
fn topics_created_or_grown_later_are_assigned() {
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let r = g
        .heartbeat(join("a", &["later"]), &topics(&[]), now, &s)
        .unwrap();
    assert_eq!(r.assignment, Some(Assignment::new()));
    let cat = topics(&[("later", 7, 2)]);
    let r = g
        .heartbeat(beat("a", 1, &Assignment::new()), &cat, now, &s)
        .unwrap();
    assert_eq!((r.member_epoch, count(&r.assignment.unwrap())), (2, 2));
    let cat = topics(&[("later", 7, 3)]);
    let owns = g.members["a"].assigned.clone();
    let r = g.heartbeat(beat("a", 2, &owns), &cat, now, &s).unwrap();
    assert_eq!(count(&r.assignment.unwrap()), 3);
}

#[test]
fn a_regex_subscription_follows_matching_topics() {
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let mut hb = join("a", &[]);
    hb.subscribed_topic_names = None;
    hb.subscribed_topic_regex = Some("orders-.*".into());
    let cat = topics(&[
        ("orders-eu", 1, 1),
        ("orders-us", 2, 1),
        ("xorders-eu", 3, 1),
    ]);
    let r = g.heartbeat(hb, &cat, now, &s).unwrap();
    let a = r.assignment.unwrap();
    assert_eq!(a.keys().copied().collect::<Vec<_>>(), vec![id(1), id(2)]);
}

#[test]
fn malformed_heartbeats_get_kafkas_errors() {
    let cat = topics(&[("t", 1, 1)]);
    let s = settings();
    let now = Instant::now();
    let mut g = ConsumerGroup::default();
    let mut hb = join("a", &["t"]);
    hb.rebalance_timeout_ms = -1;
    assert_eq!(
        g.heartbeat(hb, &cat, now, &s).unwrap_err().0,
        ResponseError::InvalidRequest
    );
    let mut hb = join("a", &["t"]);
    hb.server_assignor = Some("sticky".into());
    let e = g.heartbeat(hb, &cat, now, &s).unwrap_err();
    assert_eq!(e.0, ResponseError::UnsupportedAssignor);
    assert!(e.1.contains("uniform, range"), "{}", e.1);
    let mut hb = join("a", &[]);
    hb.subscribed_topic_regex = Some("(".into());
    let e = g.heartbeat(hb, &cat, now, &s).unwrap_err();
    assert_eq!(e.0, ResponseError::InvalidRegularExpression);
    let mut hb = join("a", &["t"]);
    hb.member_epoch = -3;
    assert_eq!(
        g.heartbeat(hb, &cat, now, &s).unwrap_err().0,
        ResponseError::InvalidRequest
    );
}

#[test]
fn commits_need_the_current_member_epoch() {
    let cat = topics(&[("t", 1, 1)]);
    let s = settings();
    let mut g = ConsumerGroup::default();
    g.heartbeat(join("a", &["t"]), &cat, Instant::now(), &s)
        .unwrap();
    assert_eq!(g.check_commit("a", 1, 9), Ok(()));
    assert_eq!(
        g.check_commit("a", 0, 9),
        Err(ResponseError::StaleMemberEpoch)
    );
    assert_eq!(
        g.check_commit("a", 1, 8),
        Err(ResponseError::UnsupportedVersion)
    );
    assert_eq!(
        g.check_commit("x", 1, 9),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        g.check_commit("", -1, 9),
        Err(ResponseError::UnknownMemberId)
    );
}
