//! `kfk reassign generate|execute|verify|cancel|list|elect-leaders`: what
//! `kafka-reassign-partitions.sh` and `kafka-leader-election.sh` do, with
//! Kafka's JSON plans.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kfk_client::Client;
use serde::{Deserialize, Serialize};

use crate::cli::{
    ElectLeadersArgs, ElectionType, OutputFormat, ReassignCancelArgs, ReassignExecuteArgs,
    ReassignGenerateArgs, ReassignPlanArg,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// Kafka's reassignment JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub version: i32,
    pub partitions: Vec<PlanPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPartition {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dirs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TopicsToMove {
    topics: Vec<TopicToMove>,
}

#[derive(Debug, Deserialize)]
struct TopicToMove {
    topic: String,
}

fn read_plan(path: &Path) -> CliResult<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!("{}: {e}", path.display())).hint(
            r#"expected {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}"#,
        )
    })?;
    if plan.partitions.iter().any(|p| p.log_dirs.is_some()) {
        output::status("note: log_dirs are ignored: a kfk broker has one data directory");
    }
    Ok(plan)
}

fn json(plan: &Plan) -> String {
    serde_json::to_string(plan).unwrap_or_default()
}

/// The current replicas of each partition of `topics` as a plan.
async fn current(client: &Client, topics: &[String]) -> CliResult<Plan> {
    let mut partitions = Vec::new();
    for t in topics {
        let info = client.topic(t).await?;
        for p in &info.partitions {
            partitions.push(PlanPartition {
                topic: t.clone(),
                partition: p.partition,
                replicas: p.replicas.clone(),
                log_dirs: None,
            });
        }
    }
    Ok(Plan {
        version: 1,
        partitions,
    })
}

/// A balanced placement over `brokers`: round-robin with the topic's
/// replication factor, rotating the start per topic.
fn balanced(current: &Plan, brokers: &[i32]) -> CliResult<Plan> {
    let mut by_topic: BTreeMap<&str, Vec<&PlanPartition>> = BTreeMap::new();
    for p in &current.partitions {
        by_topic.entry(&p.topic).or_default().push(p);
    }
    let mut partitions = Vec::new();
    for (i, (topic, parts)) in by_topic.into_iter().enumerate() {
        let rf = parts.first().map_or(1, |p| p.replicas.len());
        if rf > brokers.len() {
            return Err(CliError::usage(format!(
                "topic '{topic}' has replication factor {rf} but only {} broker(s) were given",
                brokers.len()
            )));
        }
        for p in parts {
            let start = i + p.partition as usize;
            partitions.push(PlanPartition {
                topic: topic.to_string(),
                partition: p.partition,
                replicas: (0..rf)
                    .map(|r| brokers[(start + r) % brokers.len()])
                    .collect(),
                log_dirs: None,
            });
        }
    }
    Ok(Plan {
        version: 1,
        partitions,
    })
}

pub async fn generate(ctx: &Ctx, args: &ReassignGenerateArgs) -> CliResult {
    let mut topics = args.topics.clone();
    if let Some(path) = &args.topics_to_move_json_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
        let t: TopicsToMove = serde_json::from_str(&text)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        topics.extend(t.topics.into_iter().map(|t| t.topic));
    }
    let client = ctx.client().await?;
    let known: Vec<i32> = client.broker_ids().await?;
    if let Some(b) = args.brokers.iter().find(|b| !known.contains(b)) {
        return Err(CliError::usage(format!("broker {b} is not in the cluster"))
            .hint(format!("its brokers are {known:?}")));
    }
    let now = current(&client, &topics).await?;
    let proposed = balanced(&now, &args.brokers)?;
    let both = serde_json::json!({ "current": now, "proposed": proposed });
    output::emit(ctx.format(), &both, || {
        output::println_safe(&format!(
            "Current partition replica assignment\n{}\n\nProposed partition reassignment configuration\n{}",
            json(&now),
            json(&proposed)
        ));
        Ok(())
    })
}

fn describe_moves(plan: &Plan) -> String {
    plan.partitions
        .iter()
        .map(|p| format!("{}-{}", p.topic, p.partition))
        .collect::<Vec<_>>()
        .join(",")
}

pub async fn execute(ctx: &Ctx, args: &ReassignExecuteArgs) -> CliResult {
    let plan = read_plan(&args.plan.file)?;
    let client = ctx.client().await?;
    let mut topics: Vec<String> = plan.partitions.iter().map(|p| p.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    let all_now = current(&client, &topics).await?;
    let rollback = Plan {
        version: 1,
        partitions: all_now
            .partitions
            .iter()
            .filter(|c| {
                plan.partitions
                    .iter()
                    .any(|p| p.topic == c.topic && p.partition == c.partition)
            })
            .cloned()
            .collect(),
    };
    let dir = ctx.home.data_dir.join("reassignments");
    std::fs::create_dir_all(&dir)?;
    let saved = dir.join(format!("rollback-{}.json", crate::offsets::now_ms()));
    std::fs::write(&saved, json(&rollback))?;
    output::println_safe(&format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback (saved to {})",
        json(&rollback),
        saved.display()
    ));
    if let Some(rate) = args.throttle {
        set_throttles(&client, &plan, &all_now, rate).await?;
    }
    start_and_wait(&client, &plan, !args.no_wait).await?;
    if args.throttle.is_some() && !args.no_wait {
        remove_throttles(&client, &plan).await?;
    }
    Ok(())
}

const THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";
const THROTTLE_RATE: &str = "follower.replication.throttled.rate";

/// Throttles the replicas a plan adds: their brokers copy at most `rate`
/// bytes/s for them (Kafka's `follower.replication.throttled.*` configs).
async fn set_throttles(client: &Client, plan: &Plan, now: &Plan, rate: u64) -> CliResult {
    let mut pairs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut brokers = std::collections::BTreeSet::new();
    for p in &plan.partitions {
        let current = now
            .partitions
            .iter()
            .find(|c| c.topic == p.topic && c.partition == p.partition)
            .map(|c| c.replicas.clone())
            .unwrap_or_default();
        for b in p.replicas.iter().filter(|b| !current.contains(b)) {
            pairs
                .entry(&p.topic)
                .or_default()
                .push(format!("{}:{b}", p.partition));
            brokers.insert(*b);
        }
    }
    for (topic, list) in &pairs {
        client
            .alter_topic_configs(
                topic,
                &[(THROTTLED_REPLICAS.to_string(), Some(list.join(",")))],
            )
            .await?;
    }
    for b in &brokers {
        client
            .alter_broker_configs(
                Some(*b),
                &[(THROTTLE_RATE.to_string(), Some(rate.to_string()))],
            )
            .await?;
    }
    let brokers: Vec<String> = brokers.iter().map(i32::to_string).collect();
    output::status(&format!(
        "The inter-broker throttle limit was set to {rate} B/s on broker(s) {}.",
        brokers.join(",")
    ));
    Ok(())
}

/// Removes the throttles a plan's execution set, if any; returns whether
/// there were some.
async fn remove_throttles(client: &Client, plan: &Plan) -> CliResult<bool> {
    let mut topics: Vec<&str> = plan.partitions.iter().map(|p| p.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    let mut found = false;
    for t in topics {
        let set = client.describe_configs(2, t).await?.iter().any(|c| {
            c.name == THROTTLED_REPLICAS && c.value.as_deref().is_some_and(|v| !v.is_empty())
        });
        if set {
            found = true;
            client
                .alter_topic_configs(t, &[(THROTTLED_REPLICAS.to_string(), None)])
                .await?;
        }
    }
    if found {
        let brokers: Vec<i32> = client.broker_ids().await?;
        for b in brokers {
            client
                .alter_broker_configs(Some(b), &[(THROTTLE_RATE.to_string(), None)])
                .await?;
        }
        output::status("Throttle was removed.");
    }
    Ok(found)
}

/// Starts the moves of `plan` and, when `wait`, shows progress until none
/// of them is in flight.
pub async fn start_and_wait(client: &Client, plan: &Plan, wait: bool) -> CliResult {
    let moves: Vec<(String, i32, Option<Vec<i32>>)> = plan
        .partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition, Some(p.replicas.clone())))
        .collect();
    let results = client.alter_partition_reassignments(&moves).await?;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(t, p, e)| e.as_ref().map(|e| format!("{t}-{p}: {e}")))
        .collect();
    if !failed.is_empty() {
        return Err(CliError::new(format!(
            "some moves were refused:\n  {}",
            failed.join("\n  ")
        )));
    }
    output::status(&format!(
        "Successfully started partition reassignments for {}",
        describe_moves(plan)
    ));
    if !wait {
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(plan.partitions.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} partitions moved {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    loop {
        let flight = client.list_partition_reassignments().await?;
        let pending: Vec<&kfk_client::Reassignment> = flight
            .iter()
            .filter(|r| {
                plan.partitions
                    .iter()
                    .any(|p| p.topic == r.topic && p.partition == r.partition)
            })
            .collect();
        bar.set_position((plan.partitions.len() - pending.len()) as u64);
        if !bar.is_hidden() {
            bar.set_message(bytes_left(client, &pending).await);
        }
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bar.finish_and_clear();
    output::status("Reassignment complete.");
    Ok(())
}

/// What each move in flight still has to copy: the leader's replica size
/// minus the new replicas' (DescribeLogDirs), for the progress line.
async fn bytes_left(client: &Client, pending: &[&kfk_client::Reassignment]) -> String {
    let meta = client.metadata();
    let mut sizes: BTreeMap<i32, BTreeMap<(String, i32), i64>> = BTreeMap::new();
    let mut parts = Vec::new();
    for r in pending.iter().take(3) {
        let leader = meta.leader_of(&r.topic, r.partition);
        let mut left = 0i64;
        for b in std::iter::once(leader).chain(r.adding.iter().copied()) {
            if let std::collections::btree_map::Entry::Vacant(e) = sizes.entry(b) {
                e.insert(client.replica_sizes(b).await.unwrap_or_default());
            }
        }
        let size = |b: i32| {
            sizes
                .get(&b)
                .and_then(|s| s.get(&(r.topic.clone(), r.partition)))
                .copied()
                .unwrap_or(0)
        };
        for b in &r.adding {
            left += (size(leader) - size(*b)).max(0);
        }
        parts.push(format!(
            "{}-{} adding {:?}: {:.1} MB left",
            r.topic,
            r.partition,
            r.adding,
            left as f64 / 1e6
        ));
    }
    parts.join(", ")
}

/// A plan giving every partition of `topic` `rf` replicas: existing
/// replicas stay (in order) when growing, the last ones go when shrinking,
/// and new ones are the brokers after the partition's existing replicas in
/// round-robin order.
pub fn with_replication_factor(current: &Plan, brokers: &[i32], rf: usize) -> CliResult<Plan> {
    if rf == 0 || rf > brokers.len() {
        return Err(CliError::usage(format!(
            "replication factor {rf} is invalid: {} broker(s) in the cluster",
            brokers.len()
        )));
    }
    let partitions = current
        .partitions
        .iter()
        .map(|p| {
            let mut replicas: Vec<i32> = p.replicas.iter().copied().take(rf).collect();
            let mut i = p.partition as usize;
            while replicas.len() < rf {
                let b = brokers[i % brokers.len()];
                if !replicas.contains(&b) {
                    replicas.push(b);
                }
                i += 1;
            }
            PlanPartition {
                topic: p.topic.clone(),
                partition: p.partition,
                replicas,
                log_dirs: None,
            }
        })
        .collect();
    Ok(Plan {
        version: 1,
        partitions,
    })
}

/// `kfk topics alter NAME --replication-factor N`: plans and runs the moves.
pub async fn change_replication_factor(client: &Client, topic: &str, rf: usize) -> CliResult {
    let brokers: Vec<i32> = client.broker_ids().await?;
    let now = current(client, &[topic.to_string()]).await?;
    let plan = with_replication_factor(&now, &brokers, rf)?;
    start_and_wait(client, &plan, true).await
}

#[derive(Debug, Serialize)]
struct Verified {
    topic: String,
    partition: i32,
    /// complete, in_progress, or differs (not moving, but not the target).
    status: &'static str,
    replicas: Vec<i32>,
    target: Vec<i32>,
}

pub async fn verify(ctx: &Ctx, args: &ReassignPlanArg) -> CliResult {
    let plan = read_plan(&args.file)?;
    let client = ctx.client().await?;
    let flight = client.list_partition_reassignments().await?;
    let mut out = Vec::new();
    for p in &plan.partitions {
        let info = client.topic(&p.topic).await?;
        let replicas = info
            .partition(p.partition)
            .map(|x| x.replicas.clone())
            .unwrap_or_default();
        let moving = flight
            .iter()
            .any(|r| r.topic == p.topic && r.partition == p.partition);
        let status = if moving {
            "in_progress"
        } else if replicas == p.replicas {
            "complete"
        } else {
            "differs"
        };
        out.push(Verified {
            topic: p.topic.clone(),
            partition: p.partition,
            status,
            replicas,
            target: p.replicas.clone(),
        });
    }
    let all_done = out.iter().all(|v| v.status == "complete");
    if all_done {
        remove_throttles(&client, &plan).await?;
    }
    output::emit(ctx.format(), &out, || {
        output::println_safe("Status of partition reassignment:");
        for v in &out {
            let line = match v.status {
                "complete" => format!(
                    "Reassignment of partition {}-{} is completed.",
                    v.topic, v.partition
                ),
                "in_progress" => format!(
                    "Reassignment of partition {}-{} is still in progress.",
                    v.topic, v.partition
                ),
                _ => format!(
                    "There is no active reassignment of partition {}-{}, but replica set is {:?} rather than {:?}.",
                    v.topic, v.partition, v.replicas, v.target
                ),
            };
            output::println_safe(&line);
        }
        Ok(())
    })?;
    if all_done {
        Ok(())
    } else {
        Err(CliError::new("the reassignment is not complete"))
    }
}

pub async fn cancel(ctx: &Ctx, args: &ReassignCancelArgs) -> CliResult {
    let client = ctx.client().await?;
    let targets: Vec<(String, i32)> = match &args.file {
        Some(f) => read_plan(f)?
            .partitions
            .into_iter()
            .map(|p| (p.topic, p.partition))
            .collect(),
        None => client
            .list_partition_reassignments()
            .await?
            .into_iter()
            .map(|r| (r.topic, r.partition))
            .collect(),
    };
    if targets.is_empty() {
        output::status("No reassignment is in progress.");
        return Ok(());
    }
    let cancels: Vec<(String, i32, Option<Vec<i32>>)> =
        targets.iter().map(|(t, p)| (t.clone(), *p, None)).collect();
    for (t, p, e) in client.alter_partition_reassignments(&cancels).await? {
        match e {
            None => output::status(&format!("Cancelled the reassignment of {t}-{p}.")),
            Some(e) => output::status(&format!("{t}-{p}: {e}")),
        }
    }
    if !args.preserve_throttles {
        let plan = Plan {
            version: 1,
            partitions: targets
                .into_iter()
                .map(|(topic, partition)| PlanPartition {
                    topic,
                    partition,
                    replicas: Vec::new(),
                    log_dirs: None,
                })
                .collect(),
        };
        remove_throttles(&client, &plan).await?;
    }
    Ok(())
}

pub async fn list(ctx: &Ctx) -> CliResult {
    let client = ctx.client().await?;
    let flight = client.list_partition_reassignments().await?;
    #[derive(Serialize)]
    struct Row {
        topic: String,
        partition: i32,
        replicas: Vec<i32>,
        adding: Vec<i32>,
        removing: Vec<i32>,
    }
    let rows: Vec<Row> = flight
        .into_iter()
        .map(|r| Row {
            topic: r.topic,
            partition: r.partition,
            replicas: r.replicas,
            adding: r.adding,
            removing: r.removing,
        })
        .collect();
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    output::emit(ctx.format(), &rows, || {
        if rows.is_empty() {
            output::status("No reassignment is in progress.");
            return Ok(());
        }
        output::table(
            &["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.topic.clone(),
                        r.partition.to_string(),
                        ids(&r.replicas),
                        ids(&r.adding),
                        ids(&r.removing),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

pub async fn elect_leaders(ctx: &Ctx, args: &ElectLeadersArgs) -> CliResult {
    let client = ctx.client().await?;
    let partitions: Option<Vec<(String, i32)>> = match &args.topic {
        None => None,
        Some(t) => {
            let info = client.topic(t).await?;
            Some(
                info.partitions
                    .iter()
                    .map(|p| p.partition)
                    .filter(|p| args.partition.is_none_or(|want| want == *p))
                    .map(|p| (t.clone(), p))
                    .collect(),
            )
        }
    };
    if partitions.as_ref().is_some_and(Vec::is_empty) {
        return Err(CliError::usage("no such partition"));
    }
    let unclean = args.election_type == ElectionType::Unclean;
    let results = client.elect_leaders(unclean, partitions.as_deref()).await?;
    let kind = if unclean { "UNCLEAN" } else { "PREFERRED" };
    let mut done = Vec::new();
    let mut not_needed = Vec::new();
    let mut failed = Vec::new();
    for (t, p, e) in results {
        match e {
            None => done.push(format!("{t}-{p}")),
            Some(kfk_client::ClientError::Kafka {
                error: kafka_protocol::ResponseError::ElectionNotNeeded,
                ..
            }) => not_needed.push(format!("{t}-{p}")),
            Some(e) => failed.push(format!("{t}-{p}: {e}")),
        }
    }
    if ctx.format() != OutputFormat::Table {
        return output::structured(
            ctx.format(),
            &serde_json::json!({ "elected": done, "not_needed": not_needed, "failed": failed }),
        );
    }
    if !done.is_empty() {
        output::println_safe(&format!(
            "Successfully completed leader election ({kind}) for partitions {}",
            done.join(", ")
        ));
    }
    if !not_needed.is_empty() {
        output::println_safe(&format!(
            "Valid replica already elected for partitions {}",
            not_needed.join(", ")
        ));
    }
    if done.is_empty() && not_needed.is_empty() && failed.is_empty() {
        output::println_safe("No partition needed an election.");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "leader election failed for:\n  {}",
            failed.join("\n  ")
        )))
    }
}

/// `kfk reassign` typed as kafka-reassign-partitions.sh: says which kfk
/// command does the same, with the user's own files filled in.
///
/// # Errors
/// Always a usage error: the kfk command is the hint.
pub fn kafka_spelling(k: &crate::cli::KafkaReassignFlags) -> CliResult {
    let file = |f: &Option<std::path::PathBuf>, placeholder: &str| {
        f.as_ref()
            .map_or_else(|| placeholder.to_string(), |p| p.display().to_string())
    };
    let plan = file(&k.reassignment_json_file, "plan.json");
    let kfk = if k.generate {
        format!(
            "kfk reassign generate --topics-to-move-json-file {} --brokers {}",
            file(&k.topics_to_move_json_file, "topics.json"),
            k.broker_list.as_deref().unwrap_or("1,2,3")
        )
    } else if k.execute {
        match k.throttle {
            Some(t) => format!("kfk reassign execute -f {plan} --throttle {t}"),
            None => format!("kfk reassign execute -f {plan}"),
        }
    } else if k.verify {
        format!("kfk reassign verify -f {plan}")
    } else if k.cancel {
        format!("kfk reassign cancel -f {plan}")
    } else {
        return Err(CliError::usage("kfk reassign needs a verb").hint(
            "generate, execute, verify, cancel, list or elect-leaders; see `kfk reassign --help`",
        ));
    };
    Err(CliError::usage(
        "kfk reassign takes Kafka's JSON plans, with a verb instead of --execute, --verify, --generate or --cancel",
    )
    .hint(format!("run: {kfk}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_plan_format_round_trips_and_balances() {
        let text = r#"{"version":1,"partitions":[{"topic":"myorders","partition":0,"replicas":[1,2]},{"topic":"myorders","partition":1,"replicas":[1,2]},{"topic":"myorders","partition":2,"replicas":[2],"log_dirs":["any"]}]}"#;
        let plan: Plan = serde_json::from_str(text).unwrap();
        assert_eq!(plan.partitions[2].replicas, vec![2]);
        let b = balanced(&plan, &[1, 2, 3]).unwrap();
        assert_eq!(b.partitions[0].replicas, vec![1, 2]);
        assert_eq!(b.partitions[1].replicas, vec![2, 3]);
        assert!(balanced(&plan, &[1]).is_err(), "RF 2 on one broker");
    }

    #[test]
    fn replication_factor_changes_keep_existing_replicas() {
        let now = Plan {
            version: 1,
            partitions: (0..3)
                .map(|p| PlanPartition {
                    topic: "t".into(),
                    partition: p,
                    replicas: vec![p + 1],
                    log_dirs: None,
                })
                .collect(),
        };
        let up = with_replication_factor(&now, &[1, 2, 3], 2).unwrap();
        for p in &up.partitions {
            assert_eq!(p.replicas.len(), 2);
            assert_eq!(p.replicas[0], p.partition + 1, "the leader stays first");
        }
        let down = with_replication_factor(&up, &[1, 2, 3], 1).unwrap();
        assert_eq!(down, now);
        assert!(with_replication_factor(&now, &[1, 2, 3], 4).is_err());
    }
}
