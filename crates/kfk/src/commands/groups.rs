//! `kfk groups list|describe|reset-offsets|delete|configs`: what
//! `kafka-consumer-groups.sh` (and kafka-configs for groups) does, against
//! kfkd or any Kafka cluster.

use std::collections::{BTreeMap, BTreeSet};

use kfk_client::{Client, OffsetQuery};
use serde::Serialize;

use crate::cli::{
    GroupConfigsArgs, GroupDescribeArgs, GroupsDeleteArgs, OutputFormat, ResetOffsetsArgs,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

pub async fn list(ctx: &Ctx) -> CliResult {
    let client = ctx.client().await?;
    let groups = client.list_groups().await?;
    #[derive(Serialize)]
    struct Row {
        group: String,
        state: String,
        /// classic, or consumer (KIP-848).
        group_type: String,
        protocol_type: String,
        coordinator: i32,
    }
    let rows: Vec<Row> = groups
        .into_iter()
        .map(|g| Row {
            group: g.group,
            state: g.state,
            group_type: g.group_type,
            protocol_type: g.protocol_type,
            coordinator: g.coordinator,
        })
        .collect();
    output::emit(ctx.format(), &rows, || {
        output::table(
            &["GROUP", "STATE", "TYPE", "PROTOCOL", "COORDINATOR"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.group.clone(),
                        r.state.clone(),
                        r.group_type.clone(),
                        r.protocol_type.clone(),
                        r.coordinator.to_string(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

/// One partition of a group: its committed offset, end offset and lag.
#[derive(Debug, Serialize)]
struct PartitionLag {
    topic: String,
    partition: i32,
    /// None when the group committed nothing for the partition.
    current_offset: Option<i64>,
    /// -1 when the partition's end cannot be asked (see `offline`).
    log_end_offset: i64,
    /// The partition has no leader (or its leader did not answer), so its
    /// end offset and lag are unknown for now.
    offline: bool,
    lag: Option<i64>,
    member_id: Option<String>,
    host: Option<String>,
    client_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct MemberView {
    member_id: String,
    instance_id: Option<String>,
    client_id: String,
    host: String,
    assignment: BTreeMap<String, Vec<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_epoch: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_assignment: Option<BTreeMap<String, Vec<i32>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscribed_topics: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribed_regex: Option<String>,
}

#[derive(Debug, Serialize)]
struct GroupView {
    group: String,
    state: String,
    group_type: String,
    /// The assignor (classic: the members' protocol; consumer: the
    /// coordinator's server-side assignor).
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_epoch: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment_epoch: Option<i32>,
    coordinator: i32,
    members: Vec<MemberView>,
    partitions: Vec<PartitionLag>,
    total_lag: i64,
}

/// End offsets of every partition of `topics` that can be asked: a
/// partition with no leader (offline) or whose leader does not answer is
/// left out, so the rest of the group can still be shown.
async fn end_offsets(
    client: &Client,
    topics: &BTreeSet<String>,
) -> CliResult<BTreeMap<(String, i32), i64>> {
    let mut out = BTreeMap::new();
    for t in topics {
        let Ok(info) = client.topic(t).await else {
            continue;
        };
        let online: Vec<i32> = info
            .partitions
            .iter()
            .filter(|p| p.leader >= 0)
            .map(|p| p.partition)
            .collect();
        match client.list_offsets(t, &online, OffsetQuery::Latest).await {
            Ok(ends) => out.extend(ends.into_iter().map(|(p, o)| ((t.clone(), p), o))),
            // One leader failing fails the batch: ask partition by partition.
            Err(_) => {
                for p in online {
                    if let Ok(ends) = client.list_offsets(t, &[p], OffsetQuery::Latest).await {
                        out.extend(ends.into_iter().map(|(p, o)| ((t.clone(), p), o)));
                    }
                }
            }
        }
    }
    Ok(out)
}

pub async fn describe(ctx: &Ctx, args: &GroupDescribeArgs) -> CliResult {
    let client = ctx.client().await?;
    let d = client.describe_group(args.group()).await?;
    let committed = client.committed_offsets(args.group()).await?;
    if d.state == "Dead" && committed.is_empty() {
        return Err(
            CliError::new(format!("consumer group '{}' does not exist", args.group()))
                .hint("list groups with `kfk groups list`"),
        );
    }
    // Partitions: what members are assigned plus what the group committed.
    let mut owner: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for (i, m) in d.members.iter().enumerate() {
        for (t, ps) in &m.assignment {
            for p in ps {
                owner.insert((t.clone(), *p), i);
            }
        }
    }
    let keys: BTreeSet<(String, i32)> = owner.keys().chain(committed.keys()).cloned().collect();
    let topics: BTreeSet<String> = keys.iter().map(|(t, _)| t.clone()).collect();
    let ends = end_offsets(&client, &topics).await?;
    let partitions: Vec<PartitionLag> = keys
        .into_iter()
        .map(|(t, p)| {
            let current = committed.get(&(t.clone(), p)).copied();
            let end = ends.get(&(t.clone(), p)).copied().unwrap_or(-1);
            let m = owner.get(&(t.clone(), p)).map(|i| &d.members[*i]);
            PartitionLag {
                lag: current.filter(|_| end >= 0).map(|c| (end - c).max(0)),
                current_offset: current,
                log_end_offset: end,
                offline: end < 0,
                member_id: m.map(|m| m.member_id.clone()),
                host: m.map(|m| m.host.clone()),
                client_id: m.map(|m| m.client_id.clone()),
                topic: t,
                partition: p,
            }
        })
        .collect();
    let view = GroupView {
        total_lag: partitions.iter().filter_map(|p| p.lag).sum(),
        group: d.group,
        state: d.state,
        group_type: d.group_type,
        protocol: d.protocol,
        group_epoch: d.group_epoch,
        assignment_epoch: d.assignment_epoch,
        coordinator: d.coordinator,
        members: d
            .members
            .into_iter()
            .map(|m| MemberView {
                member_id: m.member_id,
                instance_id: m.instance_id,
                client_id: m.client_id,
                host: m.host,
                assignment: m.assignment,
                member_epoch: m.member_epoch,
                target_assignment: m.target_assignment,
                subscribed_topics: m.subscribed_topics,
                subscribed_regex: m.subscribed_regex,
            })
            .collect(),
        partitions,
    };
    output::emit(ctx.format(), &view, || {
        let offline = view.partitions.iter().filter(|p| p.offline).count();
        let unknown = if offline > 0 {
            format!(" (+ {offline} offline partition(s), lag unknown)")
        } else {
            String::new()
        };
        let epochs = match (view.group_epoch, view.assignment_epoch) {
            (Some(g), Some(a)) => format!("\tEpoch: {g} (assignment {a})"),
            _ => String::new(),
        };
        output::println_safe(&format!(
            "Group: {}\tState: {}\tType: {}\tAssignor: {}{epochs}\tMembers: {}\tCoordinator: {}\tTotal lag: {}{unknown}",
            view.group,
            view.state,
            view.group_type,
            if view.protocol.is_empty() {
                "-"
            } else {
                &view.protocol
            },
            view.members.len(),
            view.coordinator,
            view.total_lag
        ));
        if args.members {
            print_members(&view.members);
            return Ok(());
        }
        let dash = || "-".to_string();
        output::table(
            &[
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID",
            ],
            view.partitions
                .iter()
                .map(|p| {
                    vec![
                        p.topic.clone(),
                        p.partition.to_string(),
                        p.current_offset.map_or_else(dash, |o| o.to_string()),
                        if p.offline {
                            "offline".to_string()
                        } else {
                            p.log_end_offset.to_string()
                        },
                        p.lag.map_or_else(dash, |l| l.to_string()),
                        p.member_id.clone().unwrap_or_else(dash),
                        p.host.clone().unwrap_or_else(dash),
                        p.client_id.clone().unwrap_or_else(dash),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

/// `topic:0,1 other:3`, or `-` for nothing.
fn partitions_text(a: &BTreeMap<String, Vec<i32>>) -> String {
    let parts: Vec<String> = a
        .iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(t, ps)| {
            let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
            format!("{t}:{}", ps.join(","))
        })
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

/// The members table of `kfk groups describe --members`.
fn print_members(members: &[MemberView]) {
    let dash = || "-".to_string();
    output::table(
        &[
            "CONSUMER-ID",
            "INSTANCE-ID",
            "HOST",
            "CLIENT-ID",
            "EPOCH",
            "ASSIGNMENT",
            "TARGET-ASSIGNMENT",
        ],
        members
            .iter()
            .map(|m| {
                vec![
                    m.member_id.clone(),
                    m.instance_id.clone().unwrap_or_else(dash),
                    m.host.clone(),
                    m.client_id.clone(),
                    m.member_epoch.map_or_else(dash, |e| e.to_string()),
                    partitions_text(&m.assignment),
                    m.target_assignment
                        .as_ref()
                        .map_or_else(dash, partitions_text),
                ]
            })
            .collect(),
    );
}

/// `TOPIC` or `TOPIC:P,P`.
fn parse_topic_spec(spec: &str) -> CliResult<(String, Option<Vec<i32>>)> {
    match spec.split_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((t, ps)) => {
            let parts = ps
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    CliError::usage(format!("--topic {spec:?}: partitions must be numbers"))
                        .hint("e.g. --topic orders:0,2")
                })?;
            Ok((t.to_string(), Some(parts)))
        }
    }
}

#[derive(Debug, Serialize)]
struct NewOffset {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    new_offset: i64,
}

pub async fn reset_offsets(ctx: &Ctx, args: &ResetOffsetsArgs) -> CliResult {
    let client = ctx.client().await?;
    let committed = client.committed_offsets(args.group()).await?;
    // Which partitions.
    let mut targets: BTreeSet<(String, i32)> = BTreeSet::new();
    if args.all_topics {
        targets.extend(committed.keys().cloned());
    }
    for spec in &args.topics {
        let (topic, parts) = parse_topic_spec(spec)?;
        let info = client.topic(&topic).await?;
        let all: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        for p in parts.unwrap_or_else(|| all.clone()) {
            if !all.contains(&p) {
                return Err(CliError::usage(format!(
                    "topic '{topic}' has no partition {p}"
                )));
            }
            targets.insert((topic.clone(), p));
        }
    }
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in &targets {
        by_topic.entry(t.clone()).or_default().push(*p);
    }
    let mut plan = Vec::new();
    for (topic, parts) in &by_topic {
        let earliest: BTreeMap<i32, i64> = client
            .list_offsets(topic, parts, OffsetQuery::Earliest)
            .await?
            .into_iter()
            .collect();
        let latest: BTreeMap<i32, i64> = client
            .list_offsets(topic, parts, OffsetQuery::Latest)
            .await?
            .into_iter()
            .collect();
        let by_time: BTreeMap<i32, i64> = match &args.to_datetime {
            Some(spec) => {
                let t = crate::offsets::parse_time(spec, crate::offsets::now_ms()).ok_or_else(
                    || {
                        CliError::usage(format!("--to-datetime {spec:?} is not a time"))
                            .hint("use RFC 3339 (2024-05-01T12:00:00Z), milliseconds, or -5m")
                    },
                )?;
                client
                    .list_offsets(topic, parts, OffsetQuery::Timestamp(t))
                    .await?
                    .into_iter()
                    .collect()
            }
            None => BTreeMap::new(),
        };
        for p in parts {
            let (Some(&lo), Some(&hi)) = (earliest.get(p), latest.get(p)) else {
                return Err(CliError::new(format!(
                    "no offsets for {topic}-{p}: its leader did not answer"
                )));
            };
            let current = committed.get(&(topic.clone(), *p)).copied();
            let wanted = if args.to_earliest {
                lo
            } else if args.to_latest {
                hi
            } else if let Some(o) = args.to_offset {
                o
            } else if let Some(n) = args.shift_by {
                current.unwrap_or(lo).saturating_add(n)
            } else {
                // No record at or after the time: the end, as Kafka does.
                by_time.get(p).copied().filter(|o| *o >= 0).unwrap_or(hi)
            };
            plan.push(NewOffset {
                topic: topic.clone(),
                partition: *p,
                current_offset: current,
                new_offset: wanted.clamp(lo, hi),
            });
        }
    }
    // On a terminal, the plan is shown before the question that applies it.
    let asked = args.execute && !args.yes && crate::term::interactive();
    if asked {
        print_plan(ctx, args.group(), &plan)?;
    }
    if args.execute {
        crate::term::confirm(
            args.yes,
            &format!(
                "Move the committed offsets of group {} as shown ({} partition(s))?",
                args.group(),
                plan.len()
            ),
            "offsets not reset",
        )?;
        let offsets: Vec<(String, i32, i64)> = plan
            .iter()
            .map(|n| (n.topic.clone(), n.partition, n.new_offset))
            .collect();
        client
            .commit_group_offsets(args.group(), &offsets)
            .await
            .map_err(|e| {
                CliError::new(e.to_string()).hint("stop the group's consumers first, then reset")
            })?;
    }
    if asked {
        output::status(&format!("Moved the offsets of group {}.", args.group()));
        return Ok(());
    }
    print_plan(ctx, args.group(), &plan)?;
    if !args.execute && ctx.format() == OutputFormat::Table {
        output::status("Dry run: nothing changed. Add --execute to apply these offsets.");
    }
    Ok(())
}

fn print_plan(ctx: &Ctx, group: &str, plan: &[NewOffset]) -> CliResult {
    output::emit(ctx.format(), &plan, || {
        output::table(
            &[
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "NEW-OFFSET",
            ],
            plan.iter()
                .map(|n| {
                    vec![
                        group.to_string(),
                        n.topic.clone(),
                        n.partition.to_string(),
                        n.current_offset
                            .map_or_else(|| "-".into(), |o| o.to_string()),
                        n.new_offset.to_string(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

pub async fn delete(ctx: &Ctx, args: &GroupsDeleteArgs) -> CliResult {
    crate::term::confirm(
        args.yes,
        &format!(
            "Delete consumer group(s) {} and their committed offsets?",
            args.groups().join(", ")
        ),
        "no group deleted",
    )?;
    let client = ctx.client().await?;
    for g in &args.groups() {
        client.delete_group(g).await?;
        output::status(&format!("Deleted consumer group {g}."));
    }
    Ok(())
}

/// Sets and removes the overrides asked for, then shows every config.
pub async fn configs(ctx: &Ctx, args: &GroupConfigsArgs) -> CliResult {
    let client = ctx.client().await?;
    let mut changes: Vec<(String, Option<String>)> =
        crate::commands::topics::parse_pairs(&args.configs, "--config")?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
    changes.extend(args.delete_configs.iter().map(|k| (k.clone(), None)));
    if !changes.is_empty() {
        client.alter_group_configs(args.group(), &changes).await?;
        output::status(&format!("Updated the configs of group {}.", args.group()));
    }
    #[derive(Serialize)]
    struct Row {
        name: String,
        value: Option<String>,
        /// Set on the group, or the broker's default.
        overridden: bool,
    }
    let rows: Vec<Row> = client
        .describe_configs(kfk_client::GROUP_CONFIGS, args.group())
        .await?
        .into_iter()
        .map(|c| Row {
            overridden: c.is_override(),
            name: c.name,
            value: c.value,
        })
        .collect();
    output::emit(ctx.format(), &rows, || {
        output::table(
            &["CONFIG", "VALUE", "SOURCE"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.value.clone().unwrap_or_default(),
                        if r.overridden { "group" } else { "default" }.to_string(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("t").unwrap(), ("t".to_string(), None));
        assert_eq!(
            parse_topic_spec("t:0,2").unwrap(),
            ("t".to_string(), Some(vec![0, 2]))
        );
        assert!(parse_topic_spec("t:x").is_err());
    }
}
