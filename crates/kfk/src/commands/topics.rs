//! `kfk topics create|list|describe|delete|alter`.

use std::collections::BTreeMap;

use kfk_client::{Client, ClientError, NewTopic, OffsetQuery, TopicInfo};
use serde::Serialize;

use crate::cli::{
    TopicNameArg, TopicsAlterArgs, TopicsCreateArgs, TopicsDeleteArgs, TopicsDeleteRecordsArgs,
    TopicsListArgs,
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
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in info.partitions.iter().filter(|p| p.leader >= 0) {
        by_leader.entry(p.leader).or_default().push(p.partition);
    }
    let mut earliest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut latest: BTreeMap<i32, i64> = BTreeMap::new();
    for parts in by_leader.values() {
        if let Ok(offsets) = client
            .list_offsets(name, parts, OffsetQuery::Earliest)
            .await
        {
            earliest.extend(offsets);
        }
        if let Ok(offsets) = client.list_offsets(name, parts, OffsetQuery::Latest).await {
            latest.extend(offsets);
        }
    }
    let configs = client
        .describe_configs(2, name)
        .await?
        .into_iter()
        .filter(|c| c.is_override())
        .filter_map(|c| c.value.map(|v| (c.name, v)))
        .collect();
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
        output::table(
            &[
                "PARTITION",
                "LEADER",
                "REPLICAS",
                "IN-SYNC",
                "EARLIEST",
                "LATEST",
            ],
            view.partitions
                .iter()
                .map(|p| {
                    vec![
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
                    ]
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
    let topic = args.topic();
    let before: i64 = match args.before.as_str() {
        "end" => -1,
        o => o.parse().ok().filter(|o| *o >= 0).ok_or_else(|| {
            CliError::usage(format!("--before takes an offset or `end`, not {o:?}"))
        })?,
    };
    let client = ctx.client().await?;
    let info = client.topic(topic).await?;
    let partitions = crate::consuming::partitions_to_read(&info, topic, args.partition)?;
    let which = match args.partition {
        Some(p) => format!("partition {p} of {topic}"),
        None => format!("every partition of {topic}"),
    };
    let below = if before < 0 {
        "all records".to_string()
    } else {
        format!("the records below offset {before}")
    };
    crate::term::confirm(
        args.yes,
        &format!("Delete {below} of {which}?"),
        "no records deleted",
    )?;
    let asked: Vec<(i32, i64)> = partitions.iter().map(|p| (*p, before)).collect();
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
