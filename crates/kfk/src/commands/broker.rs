//! `kfk broker drain ID`: a broker's leaderships moved to other in-sync
//! replicas before maintenance, with only Kafka's standard admin APIs, so
//! the same command drains an Apache Kafka broker.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{BrokerDrainArgs, OutputFormat};
use crate::commands::reassign::{self, Plan, PlanPartition};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// What a drain did, for `-o json`.
#[derive(Debug, Serialize)]
struct Drained {
    broker: i32,
    /// `topic-partition` → its new leader.
    moved: Vec<(String, i32)>,
    /// Partitions with no other in-sync replica: still led by the broker.
    stuck: Vec<String>,
    /// The assignment before the drain, to give leadership back.
    rollback: Option<String>,
}

/// The replica order that makes another in-sync replica preferred: of the
/// other in-sync replicas the one leading least (`leads`) first, then the
/// others in their order, then the rest, then `broker`. `None` when no
/// other replica is in sync.
fn demoted(
    broker: i32,
    replicas: &[i32],
    isr: &[i32],
    offline: &[i32],
    leads: &BTreeMap<i32, usize>,
) -> Option<Vec<i32>> {
    let mut in_sync: Vec<i32> = replicas
        .iter()
        .copied()
        .filter(|r| *r != broker && isr.contains(r) && !offline.contains(r))
        .collect();
    let least = in_sync
        .iter()
        .enumerate()
        .min_by_key(|(i, r)| (leads.get(r).copied().unwrap_or(0), *i))
        .map(|(i, _)| i)?;
    let first = in_sync.remove(least);
    in_sync.insert(0, first);
    let mut order = in_sync.clone();
    order.extend(
        replicas
            .iter()
            .copied()
            .filter(|r| *r != broker && !in_sync.contains(r)),
    );
    order.push(broker);
    Some(order)
}

pub async fn drain(ctx: &Ctx, args: &BrokerDrainArgs) -> CliResult {
    let id = args.id;
    let client = ctx.client().await?;
    let meta = client.refresh(None).await?;
    if !meta.brokers.contains_key(&id) {
        let known: Vec<String> = meta.brokers.keys().map(i32::to_string).collect();
        return Err(CliError::usage(format!(
            "broker {id} is not in the cluster (brokers: {})",
            known.join(", ")
        )));
    }
    // Leaderships per broker, so the moved ones spread over the others.
    let mut leads: BTreeMap<i32, usize> = BTreeMap::new();
    for p in meta.topics.values().flat_map(|t| t.partitions.iter()) {
        *leads.entry(p.leader).or_default() += 1;
    }
    let (mut demote, mut rollback, mut stuck) = (Vec::new(), Vec::new(), Vec::new());
    for (topic, info) in &meta.topics {
        for p in info.partitions.iter().filter(|p| p.leader == id) {
            match demoted(id, &p.replicas, &p.isr, &p.offline, &leads) {
                None => stuck.push(format!("{topic}-{}", p.partition)),
                Some(order) => {
                    *leads.entry(order[0]).or_default() += 1;
                    let part = |replicas: Vec<i32>| PlanPartition {
                        topic: topic.clone(),
                        partition: p.partition,
                        replicas,
                        log_dirs: None,
                    };
                    rollback.push(part(p.replicas.clone()));
                    demote.push(part(order));
                }
            }
        }
    }
    let mut report = Drained {
        broker: id,
        moved: Vec::new(),
        stuck,
        rollback: None,
    };
    if !demote.is_empty() {
        let dir = ctx.home.data_dir.join("reassignments");
        std::fs::create_dir_all(&dir)?;
        let saved = dir.join(format!("undrain-{id}-{}.json", crate::offsets::now_ms()));
        let rollback = Plan {
            version: 1,
            partitions: rollback,
        };
        std::fs::write(&saved, serde_json::to_string(&rollback).unwrap_or_default())?;
        report.rollback = Some(saved.display().to_string());
        output::status(&format!(
            "Broker {id} leads {} partition(s); moving them (the previous assignment is saved to {})",
            demote.len(),
            saved.display()
        ));
        let plan = Plan {
            version: 1,
            partitions: demote,
        };
        reassign::start_and_wait(&client, &plan, true).await?;
        report.moved = elect_away(&client, id, &plan, args.timeout).await?;
    }
    let json = ctx.format() != OutputFormat::Table;
    if json {
        output::structured(ctx.format(), &report)?;
    } else if report.moved.is_empty() && report.stuck.is_empty() {
        output::println_safe(&format!("Broker {id} leads no partitions."));
    } else if !report.moved.is_empty() {
        output::println_safe(&format!(
            "Broker {id} no longer leads {} partition(s): {}",
            report.moved.len(),
            report
                .moved
                .iter()
                .map(|(p, l)| format!("{p} -> {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if let Some(file) = &report.rollback {
            output::println_safe(&format!(
                "To give the leaderships back once it returns:\n  kfk reassign execute -f {file} && kfk reassign elect-leaders --all"
            ));
        }
    }
    if report.stuck.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{} partition(s) have no other in-sync replica and are still led by broker {id}: {}",
            report.stuck.len(),
            report.stuck.join(", ")
        ))
        .hint("wait until their replicas are back in sync (`kfk topics list --under-replicated`), or give them more replicas with `kfk reassign`"))
    }
}

/// Preferred elections for the demoted partitions, then waits until the
/// metadata shows each led by another broker; returns `(topic-partition,
/// new leader)`.
async fn elect_away(
    client: &kfk_client::Client,
    id: i32,
    plan: &Plan,
    timeout: Duration,
) -> CliResult<Vec<(String, i32)>> {
    let parts: Vec<(String, i32)> = plan
        .partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition))
        .collect();
    let deadline = Instant::now() + timeout;
    loop {
        // An election can be refused while the reordered assignment
        // propagates; asking again is harmless.
        let _ = client.elect_leaders(false, Some(&parts)).await;
        let meta = client.refresh(None).await?;
        let leaders: Vec<(String, i32)> = parts
            .iter()
            .map(|(t, p)| (format!("{t}-{p}"), meta.leader_of(t, *p)))
            .collect();
        let left: Vec<&str> = leaders
            .iter()
            .filter(|(_, l)| *l == id || *l < 0)
            .map(|(p, _)| p.as_str())
            .collect();
        if left.is_empty() {
            return Ok(leaders);
        }
        if Instant::now() >= deadline {
            return Err(CliError::new(format!(
                "after {}, broker {id} still leads (or no one leads) {}",
                humantime::format_duration(timeout),
                left.join(", ")
            ))
            .hint("run the drain again, or see `kfk topics describe` for their ISR"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drained_broker_goes_last_behind_the_in_sync_replicas() {
        let none = BTreeMap::new();
        let d = |b, r: &[i32], isr: &[i32], off: &[i32]| demoted(b, r, isr, off, &none);
        assert_eq!(d(1, &[1, 2, 3], &[1, 2, 3], &[]), Some(vec![2, 3, 1]));
        // Out-of-sync and offline replicas are not preferred.
        assert_eq!(d(1, &[1, 2, 3], &[1, 3], &[]), Some(vec![3, 2, 1]));
        assert_eq!(d(2, &[3, 2, 1], &[1, 2, 3], &[3]), Some(vec![1, 3, 2]));
        // Alone in sync: nothing to hand over.
        assert_eq!(d(1, &[1, 2], &[1], &[]), None);
        assert_eq!(d(1, &[1], &[1], &[]), None);
    }

    #[test]
    fn leadership_goes_to_the_replica_leading_least() {
        let leads = BTreeMap::from([(2, 5), (3, 1)]);
        assert_eq!(
            demoted(1, &[1, 2, 3], &[1, 2, 3], &[], &leads),
            Some(vec![3, 2, 1])
        );
        let leads = BTreeMap::from([(2, 1), (3, 1)]);
        assert_eq!(
            demoted(1, &[1, 2, 3], &[1, 2, 3], &[], &leads),
            Some(vec![2, 3, 1])
        );
    }
}
