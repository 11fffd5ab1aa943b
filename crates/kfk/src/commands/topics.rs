//! `kfk topics create|list|describe|delete|alter|delete-records|compact`.

use std::collections::{BTreeMap, BTreeSet};

use kfk_client::{Client, ClientError, NewTopic, OffsetQuery, TopicInfo};
use serde::Serialize;

use crate::cli::{
    TopicNameArg, TopicsAlterArgs, TopicsCompactArgs, TopicsCreateArgs, TopicsDeleteArgs,
    TopicsDeleteRecordsArgs, TopicsListArgs,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// Parses kafka-topics.sh's `--replica-assignment`: `1:2,2:3` is partition 0
/// on brokers 1 and 2, partition 1 on brokers 2 and 3.
pub fn parse_assignment(text: &str) -> CliResult<Vec<Vec<i32>>> {
    let bad = || {
        CliError::usage(format!("--replica-assignment {text:?} is not valid"))
            .hint("partitions separated by commas, their brokers by colons: 1:2,2:3,3:1")
    };
    let parsed: Vec<Vec<i32>> = text
        .split(',')
        .map(|p| {
            p.split(':')
                .map(|b| b.trim().parse::<i32>().map_err(|_| bad()))
                .collect::<CliResult<Vec<i32>>>()
        })
        .collect::<CliResult<_>>()?;
    let rf = parsed.first().map_or(0, Vec::len);
    if parsed.iter().any(|r| r.len() != rf) {
        return Err(bad().hint("every partition needs the same number of replicas"));
    }
    Ok(parsed)
}

/// Parses repeated `key=value` flags.
pub fn parse_pairs(pairs: &[String], what: &str) -> CliResult<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(CliError::usage(format!("{what} {p:?} is not KEY=VALUE"))),
        })
        .collect()
}

fn is_already_exists(e: &ClientError) -> bool {
    matches!(e, ClientError::Kafka { error, .. } if *error == kafka_protocol::ResponseError::TopicAlreadyExists)
}

fn is_unknown_topic(e: &ClientError) -> bool {
    matches!(e, ClientError::UnknownTopic(_))
        || matches!(e, ClientError::Kafka { error, .. } if *error == kafka_protocol::ResponseError::UnknownTopicOrPartition)
}

pub async fn create(ctx: &Ctx, args: &TopicsCreateArgs) -> CliResult {
    let client = ctx.client().await?;
    let name = args.topic();
    let topic = NewTopic {
        name: name.to_string(),
        partitions: args.partitions.unwrap_or(-1),
        replication_factor: args.replication_factor.unwrap_or(-1),
        configs: parse_pairs(&args.configs, "--config")?,
        assignments: match &args.replica_assignment {
            Some(text) => parse_assignment(text)?,
            None => Vec::new(),
        },
    };
    match client.create_topic(&topic, false).await {
        Ok(()) => {
            output::status(&format!("Created topic {name}."));
            Ok(())
        }
        Err(e) if args.if_not_exists && is_already_exists(&e) => Ok(()),
        Err(e) if is_already_exists(&e) => {
            Err(CliError::new(format!("topic '{name}' already exists"))
                .hint("pass --if-not-exists to accept an existing topic"))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct TopicSummary {
    name: String,
    partitions: usize,
    replication_factor: usize,
    internal: bool,
}

pub async fn list(ctx: &Ctx, args: &TopicsListArgs) -> CliResult {
    let client = ctx.client().await?;
    let meta = client.refresh(None).await?;
    let topics: Vec<TopicSummary> = meta
        .topics
        .values()
        .filter(|t| args.internal || !t.internal)
        .filter(|t| {
            args.pattern
                .as_deref()
                .is_none_or(|p| crate::pattern::matches(p, &t.name))
        })
        .filter(|t| {
            !args.under_replicated || t.partitions.iter().any(|p| p.isr.len() < p.replicas.len())
        })
        .filter(|t| !args.offline || t.partitions.iter().any(|p| p.leader < 0))
        .map(|t| TopicSummary {
            name: t.name.clone(),
            partitions: t.partitions.len(),
            replication_factor: t.partitions.first().map_or(0, |p| p.replicas.len()),
            internal: t.internal,
        })
        .collect();
    output::emit(ctx.format(), &topics, || {
        output::table(
            &["TOPIC", "PARTITIONS", "REPLICATION"],
            topics
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.partitions.to_string(),
                        t.replication_factor.to_string(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

#[derive(Serialize)]
pub struct ReplicaView {
    pub broker: i32,
    pub leader: bool,
    pub in_sync: bool,
}

#[derive(Serialize)]
pub struct PartitionView {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<ReplicaView>,
    pub earliest_offset: i64,
    pub latest_offset: i64,
    /// Where read_committed consumers stop: below an open transaction's
    /// first offset (the latest offset when none is open).
    pub last_stable_offset: i64,
    /// Compacted topics: the leader's cleaner state of this partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleaning: Option<kfk_client::PartitionCleaning>,
}

#[derive(Serialize)]
pub struct TopicView {
    pub name: String,
    pub id: String,
    pub partitions: Vec<PartitionView>,
    /// Overrides only; defaults are the broker's.
    pub configs: BTreeMap<String, String>,
}

/// Gathers what `describe` shows.
/// How long `topics describe` waits for one leader's offsets: beyond it the
/// leader is treated as not answering (its partitions show -1).
const LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn topic_view(client: &Client, name: &str) -> CliResult<TopicView> {
    let info: std::sync::Arc<TopicInfo> = client
        .refresh(Some(&[name.to_string()]))
        .await?
        .topics
        .get(name)
        .cloned()
        .ok_or_else(|| {
            CliError::new(format!("topic '{name}' does not exist")).hint("see `kfk topics list`")
        })?;
    // Offsets come from each partition's leader; an offline partition (or a
    // leader that does not answer) shows -1 rather than failing the describe.
    // Each leader gets LEADER_WAIT for its three answers together, so a host
    // that drops packets costs seconds once, not three connect timeouts.
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in info.partitions.iter().filter(|p| p.leader >= 0) {
        by_leader.entry(p.leader).or_default().push(p.partition);
    }
    let mut earliest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut latest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut stable: BTreeMap<i32, i64> = BTreeMap::new();
    for (leader, parts) in &by_leader {
        let asked = tokio::time::timeout(LEADER_WAIT, async {
            tokio::join!(
                client.list_offsets(name, parts, OffsetQuery::Earliest),
                client.list_offsets(name, parts, OffsetQuery::Latest),
                client.list_offsets(name, parts, OffsetQuery::LastStable),
            )
        })
        .await;
        match asked {
            Ok((e, l, s)) => {
                earliest.extend(e.unwrap_or_default());
                latest.extend(l.unwrap_or_default());
                stable.extend(s.unwrap_or_default());
            }
            Err(_) => output::status(&format!(
                "note: broker {leader} did not answer for the offsets of partition(s) {} within {}s; shown as -1",
                parts
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                LEADER_WAIT.as_secs()
            )),
        }
    }
    let all_configs = client.describe_configs(2, name).await?;
    let compacted = all_configs.iter().any(|c| {
        c.name == "cleanup.policy" && c.value.as_deref().is_some_and(|v| v.contains("compact"))
    });
    let configs = all_configs
        .into_iter()
        .filter(|c| c.is_override())
        .filter_map(|c| c.value.map(|v| (c.name, v)))
        .collect();
    // A compacted topic's cleaning state, from each leader (kfkd only).
    let mut cleaning: BTreeMap<i32, kfk_client::PartitionCleaning> = BTreeMap::new();
    if compacted {
        for leader in by_leader.keys() {
            let asked = tokio::time::timeout(LEADER_WAIT, client.cleaner_state(*leader, name));
            if let Ok(Ok(Some(states))) = asked.await {
                for st in states {
                    if info
                        .partition(st.partition)
                        .is_some_and(|p| p.leader == *leader)
                    {
                        cleaning.insert(st.partition, st);
                    }
                }
            }
        }
    }
    Ok(TopicView {
        name: name.to_string(),
        id: info.id.to_string(),
        partitions: info
            .partitions
            .iter()
            .map(|p| PartitionView {
                partition: p.partition,
                leader: p.leader,
                replicas: p
                    .replicas
                    .iter()
                    .map(|b| ReplicaView {
                        broker: *b,
                        leader: *b == p.leader,
                        in_sync: p.isr.contains(b),
                    })
                    .collect(),
                earliest_offset: earliest.get(&p.partition).copied().unwrap_or(-1),
                latest_offset: latest.get(&p.partition).copied().unwrap_or(-1),
                last_stable_offset: stable.get(&p.partition).copied().unwrap_or(-1),
                cleaning: cleaning.remove(&p.partition),
            })
            .collect(),
        configs,
    })
}

fn join(ids: impl Iterator<Item = i32>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

pub fn print_topic(ctx: &Ctx, view: &TopicView) -> CliResult {
    output::emit(ctx.format(), view, || {
        let rf = view.partitions.first().map_or(0, |p| p.replicas.len());
        output::println_safe(&format!(
            "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}",
            view.name,
            view.id,
            view.partitions.len(),
            rf
        ));
        if !view.configs.is_empty() {
            let cfg: Vec<String> = view
                .configs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            output::println_safe(&format!("Configs: {}", cfg.join(",")));
        }
        let cleaned = view.partitions.iter().any(|p| p.cleaning.is_some());
        // Shown while a transaction holds read_committed readers back.
        let unstable = view
            .partitions
            .iter()
            .any(|p| p.last_stable_offset >= 0 && p.last_stable_offset < p.latest_offset);
        let mut headers = vec![
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "IN-SYNC",
            "EARLIEST",
            "LATEST",
        ];
        if unstable {
            headers.push("STABLE");
        }
        if cleaned {
            headers.extend(["DIRTY", "LAST-CLEAN"]);
        }
        output::table(
            &headers,
            view.partitions
                .iter()
                .map(|p| {
                    let mut row = vec![
                        p.partition.to_string(),
                        if p.leader < 0 {
                            "none".into()
                        } else {
                            p.leader.to_string()
                        },
                        join(p.replicas.iter().map(|r| r.broker)),
                        join(p.replicas.iter().filter(|r| r.in_sync).map(|r| r.broker)),
                        p.earliest_offset.to_string(),
                        p.latest_offset.to_string(),
                    ];
                    if unstable {
                        row.push(p.last_stable_offset.to_string());
                    }
                    if cleaned {
                        let c = p.cleaning.as_ref();
                        row.push(
                            c.map_or("-".into(), |c| format!("{:.0}%", c.dirty_ratio * 100.0)),
                        );
                        row.push(
                            c.and_then(|c| c.last_clean_ms)
                                .map_or("never".into(), clock_time),
                        );
                    }
                    row
                })
                .collect(),
        );
        Ok(())
    })
}

/// `kfk topics describe [T]`: one topic, or every topic (internal ones
/// left out) when none is named, as `kafka-topics --describe` does.
pub async fn describe(ctx: &Ctx, args: &TopicNameArg) -> CliResult {
    let client = ctx.client().await?;
    if let Some(name) = args.topic() {
        let view = topic_view(&client, name).await?;
        return print_topic(ctx, &view);
    }
    let meta = client.refresh(None).await?;
    let mut views = Vec::new();
    for (name, t) in &meta.topics {
        if !t.internal && !name.starts_with("__") {
            views.push(topic_view(&client, name).await?);
        }
    }
    if ctx.format() != crate::output::OutputFormat::Table {
        return output::structured(ctx.format(), &views);
    }
    if views.is_empty() {
        output::status("The cluster has no topics.");
    }
    for (i, view) in views.iter().enumerate() {
        if i > 0 {
            output::println_safe("");
        }
        print_topic(ctx, view)?;
    }
    Ok(())
}

/// Topics Kafka keeps its own state in; kafka-topics refuses to delete them.
const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

pub async fn delete(ctx: &Ctx, args: &TopicsDeleteArgs) -> CliResult {
    if let Some(t) = args
        .topics()
        .iter()
        .find(|t| INTERNAL_TOPICS.contains(&t.as_str()))
    {
        return Err(CliError::usage(format!(
            "Topic {t} is a kafka internal topic and is not allowed to be marked for deletion."
        ))
        .hint("it holds the cluster's committed offsets (or transactions)"));
    }
    let client = ctx.client().await?;
    crate::term::confirm(
        args.yes,
        &format!(
            "Delete topic(s) {} and all their data?",
            args.topics().join(", ")
        ),
        "no topic deleted",
    )?;
    let mut failed = Vec::new();
    for (name, res) in client.delete_topics(&args.topics()).await? {
        match res {
            Ok(()) => output::status(&format!("Deleted topic {name}.")),
            Err(e) if args.if_exists && is_unknown_topic(&e) => {}
            Err(e) => failed.push(e.to_string()),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(failed.join("; ")).hint("see `kfk topics list`"))
    }
}

/// One partition's outcome of `topics delete-records`.
#[derive(Debug, serde::Serialize)]
struct DeletedRecords {
    partition: i32,
    low_watermark: i64,
}

pub async fn delete_records(ctx: &Ctx, args: &TopicsDeleteRecordsArgs) -> CliResult {
    let (topic, partition) = args.target.resolve().map_err(CliError::usage)?;
    let before: Option<i64> = match args.before.as_deref() {
        None => None,
        Some("end") => Some(-1),
        Some(o) => Some(o.parse().ok().filter(|o| *o >= 0).ok_or_else(|| {
            CliError::usage(format!("--before takes an offset or `end`, not {o:?}"))
        })?),
    };
    let before_time = match args.before_time.as_deref() {
        None => None,
        Some(t) => Some(
            crate::offsets::parse_time(t, crate::offsets::now_ms()).ok_or_else(|| {
                CliError::usage(format!(
                    "--before-time takes RFC 3339 (2026-12-01T10:00:00Z), milliseconds or -DURATION, not {t:?}"
                ))
            })?,
        ),
    };
    let client = ctx.client().await?;
    let info = client.topic(topic).await?;
    let partitions = crate::consuming::partitions_to_read(&info, topic, partition)?;
    let which = match partition {
        Some(p) => format!("partition {p} of {topic}"),
        None => format!("every partition of {topic}"),
    };
    // Each partition's bound: the offset given, or its first record at or
    // after the time (none there: every record is older).
    let bounds: Vec<(i32, i64)> = match (before, before_time) {
        (Some(o), _) => partitions.iter().map(|p| (*p, o)).collect(),
        (None, Some(t)) => {
            let found = client
                .list_offsets(topic, &partitions, OffsetQuery::Timestamp(t))
                .await?;
            partitions
                .iter()
                .map(|p| {
                    let at = found.iter().find(|(q, _)| q == p).map_or(-1, |(_, o)| *o);
                    (*p, at)
                })
                .collect()
        }
        (None, None) => return Err(CliError::usage("give --before or --before-time")),
    };
    let below = match (before, &args.before_time) {
        (Some(-1), _) => "all records".to_string(),
        (Some(o), _) => format!("the records below offset {o}"),
        (None, Some(t)) => format!("the records older than {t}"),
        (None, None) => unreachable!("checked above"),
    };
    crate::term::confirm(
        args.yes,
        &format!("Delete {below} of {which}?"),
        "no records deleted",
    )?;
    let asked = bounds;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (p, res) in client.delete_records(topic, &asked).await? {
        match res {
            Ok(low) => done.push(DeletedRecords {
                partition: p,
                low_watermark: low,
            }),
            Err(e) => failed.push(e.to_string()),
        }
    }
    output::emit(ctx.format(), &done, || {
        // Kafka's kafka-delete-records lines.
        output::println_safe("Records delete operation completed:");
        for d in &done {
            output::println_safe(&format!(
                "partition: {topic}-{}\tlow_watermark: {}",
                d.partition, d.low_watermark
            ));
        }
        Ok(())
    })?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(failed.join("; ")))
    }
}

pub async fn alter(ctx: &Ctx, args: &TopicsAlterArgs) -> CliResult {
    if args.partitions.is_none()
        && args.replication_factor.is_none()
        && args.configs.is_empty()
        && args.delete_configs.is_empty()
    {
        return Err(CliError::usage("nothing to change").hint(
            "pass --partitions N, --replication-factor N, --config KEY=VALUE or --delete-config KEY",
        ));
    }
    let name = args.topic();
    let client = ctx.client().await?;
    client.topic(name).await?;
    if let Some(n) = args.partitions {
        client.create_partitions(name, n).await?;
        output::status(&format!("Topic {} now has {n} partitions.", name));
    }
    if let Some(rf) = args.replication_factor {
        crate::commands::reassign::change_replication_factor(&client, name, rf).await?;
        output::status(&format!("Topic {} now has replication factor {rf}.", name));
    }
    let mut changes: Vec<(String, Option<String>)> = parse_pairs(&args.configs, "--config")?
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    changes.extend(args.delete_configs.iter().map(|k| (k.clone(), None)));
    if !changes.is_empty() {
        client.alter_topic_configs(name, &changes).await?;
        output::status(&format!("Updated the configs of topic {name}."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_must_have_a_key() {
        assert!(parse_pairs(&["a=1".into()], "--config").is_ok());
        assert!(parse_pairs(&["=1".into()], "--config").is_err());
        assert!(parse_pairs(&["a".into()], "--config").is_err());
    }
}

/// `ms` since the epoch as RFC 3339, to the second.
fn clock_time(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One partition's state after `topics compact`, from its leader.
#[derive(Debug, serde::Serialize)]
struct Compacted {
    partition: i32,
    broker: i32,
    dirty_ratio: f64,
    first_dirty_offset: i64,
    last_clean_ms: Option<i64>,
}

/// `kfk topics compact T[:P]`: every broker holding the topic cleans its
/// logs of it now; the leaders' states are shown after.
pub async fn compact(ctx: &Ctx, args: &TopicsCompactArgs) -> CliResult {
    let (topic, partition) = args.target.resolve().map_err(CliError::usage)?;
    let client = ctx.client().await?;
    let info = client.topic(topic).await?;
    let parts: Vec<_> = info
        .partitions
        .iter()
        .filter(|p| partition.is_none_or(|want| want == p.partition))
        .collect();
    if parts.is_empty() {
        return Err(CliError::new(format!(
            "{topic} has no partition {}",
            partition.unwrap_or(-1)
        )));
    }
    let brokers: BTreeSet<i32> = parts
        .iter()
        .flat_map(|p| p.replicas.iter().copied())
        .collect();
    let spinner = crate::term::spinner(format!(
        "Cleaning {topic} on brokers {}",
        join(brokers.iter().copied())
    ));
    let mut cleans = tokio::task::JoinSet::new();
    for &b in &brokers {
        let client = std::sync::Arc::clone(&client);
        let topic = topic.to_string();
        cleans.spawn(async move { (b, client.compact(b, &topic, partition).await) });
    }
    let mut failed = Vec::new();
    while let Some(done) = cleans.join_next().await {
        match done {
            Ok((_, Ok(()))) => {}
            Ok((b, Err(e))) => failed.push(format!("broker {b}: {e}")),
            Err(e) => failed.push(e.to_string()),
        }
    }
    spinner.finish_and_clear();
    if !failed.is_empty() {
        return Err(CliError::new(failed.join("; ")));
    }
    let mut shown = Vec::new();
    let leaders: BTreeSet<i32> = parts.iter().map(|p| p.leader).filter(|l| *l >= 0).collect();
    for leader in leaders {
        let states = client
            .cleaner_state(leader, topic)
            .await?
            .unwrap_or_default();
        for p in parts.iter().filter(|p| p.leader == leader) {
            if let Some(st) = states.iter().find(|s| s.partition == p.partition) {
                shown.push(Compacted {
                    partition: p.partition,
                    broker: leader,
                    dirty_ratio: st.dirty_ratio,
                    first_dirty_offset: st.first_dirty_offset,
                    last_clean_ms: st.last_clean_ms,
                });
            }
        }
    }
    shown.sort_by_key(|c| c.partition);
    output::emit(ctx.format(), &shown, || {
        output::status(&format!("Cleaned {topic}."));
        output::table(
            &[
                "PARTITION",
                "LEADER",
                "DIRTY",
                "CLEANED-UP-TO",
                "LAST-CLEAN",
            ],
            shown
                .iter()
                .map(|c| {
                    vec![
                        c.partition.to_string(),
                        c.broker.to_string(),
                        format!("{:.0}%", c.dirty_ratio * 100.0),
                        c.first_dirty_offset.to_string(),
                        c.last_clean_ms.map_or("never".into(), clock_time),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}
