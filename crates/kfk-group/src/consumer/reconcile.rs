//! Moving one member from what it owns towards its target assignment without
//! two members ever reading the same partition (KIP-848's reconciliation):
//! partitions it must give up are revoked first and the member stays in its
//! epoch until it reports them gone; partitions another member still holds
//! are handed over only once released; everything else is given at once
//! together with the target's epoch.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Assignment, Member, MemberState};

/// Whether `owned` (as the member reported it; `None`: not reported) still
/// holds any of `revoking`.
fn holds_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else { return true };
    owned.iter().any(|(t, ps)| {
        revoking
            .get(t)
            .is_some_and(|r| ps.iter().any(|p| r.contains(p)))
    })
}

/// The member's next state given the target (`target_epoch`, `target`),
/// the partitions other members still hold (`held_elsewhere`) and what the
/// member reported owning in this heartbeat.
pub fn reconcile(
    member: &mut Member,
    target_epoch: i32,
    target: &Assignment,
    held_elsewhere: &HashSet<(Uuid, i32)>,
    owned: Option<&Assignment>,
) {
    match member.state {
        MemberState::Stable => {
            if member.epoch != target_epoch {
                next(
                    member,
                    member.epoch,
                    target_epoch,
                    target,
                    held_elsewhere,
                    owned,
                );
            }
        }
        MemberState::UnrevokedPartitions => {
            if !holds_any(owned, &member.pending_revocation) {
                next(
                    member,
                    member.epoch + 1,
                    target_epoch,
                    target,
                    held_elsewhere,
                    owned,
                );
            }
        }
        MemberState::UnreleasedPartitions => {
            next(
                member,
                member.epoch,
                target_epoch,
                target,
                held_elsewhere,
                owned,
            );
        }
    }
}

fn next(
    member: &mut Member,
    epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    held_elsewhere: &HashSet<(Uuid, i32)>,
    owned: Option<&Assignment>,
) {
    let mut assigned = Assignment::new();
    let mut revoking = Assignment::new();
    let mut adding = Assignment::new();
    let mut unreleased = false;
    let topics: std::collections::BTreeSet<Uuid> = target
        .keys()
        .chain(member.assigned.keys())
        .copied()
        .collect();
    for t in topics {
        let want = target.get(&t);
        let has = member.assigned.get(&t);
        for &p in has.into_iter().flatten() {
            if want.is_some_and(|w| w.contains(&p)) {
                assigned.entry(t).or_default().insert(p);
            } else {
                revoking.entry(t).or_default().insert(p);
            }
        }
        for &p in want.into_iter().flatten() {
            if has.is_some_and(|h| h.contains(&p)) {
                continue;
            }
            if held_elsewhere.contains(&(t, p)) {
                unreleased = true;
            } else {
                adding.entry(t).or_default().insert(p);
            }
        }
    }
    if !revoking.is_empty() && holds_any(owned, &revoking) {
        member.state = MemberState::UnrevokedPartitions;
        member.set_epoch(epoch);
        member.assigned = assigned;
        member.pending_revocation = revoking;
        return;
    }
    for (t, ps) in adding {
        assigned.entry(t).or_default().extend(ps);
    }
    member.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    member.set_epoch(target_epoch);
    member.assigned = assigned;
    member.pending_revocation = Assignment::new();
}
