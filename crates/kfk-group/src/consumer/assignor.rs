//! The server-side assignors of KIP-848: the coordinator, not a group leader,
//! decides who reads which partition. `uniform` (the default) spreads
//! partitions evenly and moves as few as it can when members come and go;
//! `range` gives each member the same contiguous range of every topic it
//! subscribes to, so co-partitioned topics land together.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use uuid::Uuid;

use super::Assignment;

/// The assignors the coordinator offers, the default first (Kafka's
/// `group.consumer.assignors`).
pub const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// A member as an assignor sees it.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    /// Ids of the topics it subscribes to that exist.
    pub topics: BTreeSet<Uuid>,
}

/// Runs the named assignor (`uniform` for any other name). `topics` gives
/// each subscribed topic's partition count; `current` is the target the
/// group had, which `uniform` keeps where it can.
pub fn assign(
    name: &str,
    members: &[Spec<'_>],
    topics: &BTreeMap<Uuid, i32>,
    current: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    match name {
        "range" => range(members, topics),
        _ => uniform(members, topics, current),
    }
}

/// Each member's partition count within one of every other member that
/// could take its partitions, keeping current owners where balance allows.
fn uniform(
    members: &[Spec<'_>],
    topics: &BTreeMap<Uuid, i32>,
    current: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    let mut owned: Vec<Vec<(Uuid, i32)>> = vec![Vec::new(); members.len()];
    let mut taken: HashSet<(Uuid, i32)> = HashSet::new();
    // What each member already had stays, as far as it is still valid.
    for (i, m) in members.iter().enumerate() {
        let Some(had) = current.get(m.member_id) else {
            continue;
        };
        for (t, ps) in had {
            let Some(&n) = topics.get(t) else { continue };
            if !m.topics.contains(t) {
                continue;
            }
            for &p in ps {
                if p < n && taken.insert((*t, p)) {
                    owned[i].push((*t, p));
                }
            }
        }
    }
    // Partitions nobody has go to the least loaded member that wants them.
    for (t, &n) in topics {
        for p in 0..n {
            if taken.contains(&(*t, p)) {
                continue;
            }
            let best = members
                .iter()
                .enumerate()
                .filter(|(_, m)| m.topics.contains(t))
                .min_by_key(|(i, _)| owned[*i].len())
                .map(|(i, _)| i);
            if let Some(i) = best {
                owned[i].push((*t, p));
                taken.insert((*t, p));
            }
        }
    }
    // Then partitions move from the most to the least loaded member that
    // can take them until no such move narrows the gap.
    loop {
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(owned[i].len()));
        let mut moved = false;
        'search: for &heavy in &order {
            for &light in order.iter().rev() {
                if owned[light].len() + 1 >= owned[heavy].len() {
                    break;
                }
                let wanted = &members[light].topics;
                if let Some(k) = owned[heavy].iter().rposition(|(t, _)| wanted.contains(t)) {
                    let tp = owned[heavy].remove(k);
                    owned[light].push(tp);
                    moved = true;
                    break 'search;
                }
            }
        }
        if !moved {
            break;
        }
    }
    members
        .iter()
        .zip(owned)
        .map(|(m, tps)| (m.member_id.to_string(), to_assignment(tps)))
        .collect()
}

/// Per topic, its subscribers in a stable order (instance id, else member
/// id) each take a contiguous range; the first `n % members` take one more.
fn range(members: &[Spec<'_>], topics: &BTreeMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    let mut sorted: Vec<&Spec<'_>> = members.iter().collect();
    sorted.sort_by_key(|m| (m.instance_id.unwrap_or(m.member_id), m.member_id));
    let mut out: BTreeMap<String, Vec<(Uuid, i32)>> = members
        .iter()
        .map(|m| (m.member_id.to_string(), Vec::new()))
        .collect();
    for (t, &n) in topics {
        let subs: Vec<&&Spec<'_>> = sorted.iter().filter(|m| m.topics.contains(t)).collect();
        if subs.is_empty() {
            continue;
        }
        let count = i32::try_from(subs.len()).unwrap_or(i32::MAX);
        let (quota, extra) = (n / count, n % count);
        let mut next = 0;
        for (i, m) in subs.iter().enumerate() {
            let len = quota + i32::from(i32::try_from(i).unwrap_or(i32::MAX) < extra);
            if let Some(v) = out.get_mut(m.member_id) {
                v.extend((next..next + len).map(|p| (*t, p)));
            }
            next += len;
        }
    }
    out.into_iter()
        .map(|(id, tps)| (id, to_assignment(tps)))
        .collect()
}

fn to_assignment(tps: Vec<(Uuid, i32)>) -> Assignment {
    let mut a = Assignment::new();
    for (t, p) in tps {
        a.entry(t).or_default().insert(p);
    }
    a
}
