//! `kfk transactions list|describe|describe-producers|find-hanging|abort`:
//! what `kafka-transactions.sh` shows and does, against kfkd or Apache Kafka.

use serde::Serialize;

use crate::cli::{
    TxnAbortArgs, TxnDescribeArgs, TxnFindHangingArgs, TxnListArgs, TxnPartitionArgs,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

pub async fn list(ctx: &Ctx, args: &TxnListArgs) -> CliResult {
    let client = ctx.client().await?;
    let listed = client.list_transactions(&args.states).await?;
    output::emit(ctx.format(), &listed, || {
        output::table(
            &["TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "STATE"],
            listed
                .iter()
                .map(|t| {
                    vec![
                        t.transactional_id.clone(),
                        t.coordinator.to_string(),
                        t.producer_id.to_string(),
                        t.state.clone(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

/// `ms` since the epoch as RFC 3339, to the second; `-` for none.
fn clock_time(ms: i64) -> String {
    if ms < 0 {
        return "-".into();
    }
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

fn age(since_ms: i64) -> String {
    if since_ms < 0 {
        return "-".into();
    }
    let ms = (crate::offsets::now_ms() - since_ms).max(0);
    humantime::format_duration(std::time::Duration::from_secs((ms / 1000) as u64)).to_string()
}

pub async fn describe(ctx: &Ctx, args: &TxnDescribeArgs) -> CliResult {
    let id = args
        .transactional_id
        .as_deref()
        .or(args.transactional_id_flag.as_deref())
        .unwrap_or_default();
    let client = ctx.client().await?;
    let d = client.describe_transaction(id).await?;
    output::emit(ctx.format(), &d, || {
        let partitions: Vec<String> = d
            .partitions
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect();
        output::table(
            &[
                "COORDINATOR",
                "TRANSACTIONAL-ID",
                "PRODUCER-ID",
                "EPOCH",
                "STATE",
                "TIMEOUT",
                "STARTED",
                "DURATION",
                "PARTITIONS",
            ],
            vec![vec![
                d.coordinator.to_string(),
                d.transactional_id.clone(),
                d.producer_id.to_string(),
                d.producer_epoch.to_string(),
                d.state.clone(),
                format!("{} ms", d.timeout_ms),
                clock_time(d.start_time_ms),
                age(d.start_time_ms),
                if partitions.is_empty() {
                    "-".into()
                } else {
                    partitions.join(",")
                },
            ]],
        );
        Ok(())
    })
}

pub async fn describe_producers(ctx: &Ctx, args: &TxnPartitionArgs) -> CliResult {
    let client = ctx.client().await?;
    let producers = client
        .describe_producers(&args.topic, args.partition)
        .await?;
    output::emit(ctx.format(), &producers, || {
        output::table(
            &[
                "PRODUCER-ID",
                "EPOCH",
                "LAST-SEQUENCE",
                "LAST-TIMESTAMP",
                "COORDINATOR-EPOCH",
                "TXN-START-OFFSET",
            ],
            producers
                .iter()
                .map(|p| {
                    vec![
                        p.producer_id.to_string(),
                        p.producer_epoch.to_string(),
                        p.last_sequence.to_string(),
                        clock_time(p.last_timestamp),
                        p.coordinator_epoch.to_string(),
                        if p.current_txn_start_offset < 0 {
                            "-".into()
                        } else {
                            p.current_txn_start_offset.to_string()
                        },
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

#[derive(Debug, Serialize)]
struct Hanging {
    topic: String,
    partition: i32,
    producer_id: i64,
    producer_epoch: i32,
    coordinator_epoch: i32,
    start_offset: i64,
    last_timestamp: i64,
}

pub async fn find_hanging(ctx: &Ctx, args: &TxnFindHangingArgs) -> CliResult {
    let client = ctx.client().await?;
    let meta = client.refresh(None).await?;
    let mut partitions: Vec<(String, i32)> = Vec::new();
    for t in meta.topics.values() {
        if args.topic.as_deref().is_some_and(|n| n != t.name) {
            continue;
        }
        for p in &t.partitions {
            let wanted = args.partition.is_none_or(|w| w == p.partition)
                && args.broker_id.is_none_or(|b| b == p.leader);
            if wanted {
                partitions.push((t.name.clone(), p.partition));
            }
        }
    }
    if let Some(topic) = &args.topic
        && partitions.is_empty()
    {
        return Err(CliError::new(format!(
            "topic '{topic}' or its partition does not exist"
        )));
    }
    partitions.sort();
    let max_ms = std::time::Duration::from(args.max_transaction_timeout).as_millis() as i64;
    let now = crate::offsets::now_ms();
    // What the coordinators know: each producer id's ongoing transaction.
    let ongoing = client.list_transactions(&[]).await?;
    let mut hanging = Vec::new();
    for (topic, p) in partitions {
        for producer in client.describe_producers(&topic, p).await? {
            if producer.current_txn_start_offset < 0 || now - producer.last_timestamp < max_ms {
                continue;
            }
            // Still part of an ongoing transaction its coordinator will end?
            let mut known = false;
            for t in ongoing
                .iter()
                .filter(|t| t.producer_id == producer.producer_id)
            {
                if let Ok(d) = client.describe_transaction(&t.transactional_id).await {
                    known |= d.producer_id == producer.producer_id
                        && d.state == "Ongoing"
                        && d.partitions.contains(&(topic.clone(), p));
                }
            }
            if !known {
                hanging.push(Hanging {
                    topic: topic.clone(),
                    partition: p,
                    producer_id: producer.producer_id,
                    producer_epoch: producer.producer_epoch,
                    coordinator_epoch: producer.coordinator_epoch,
                    start_offset: producer.current_txn_start_offset,
                    last_timestamp: producer.last_timestamp,
                });
            }
        }
    }
    output::emit(ctx.format(), &hanging, || {
        if hanging.is_empty() {
            output::status("No hanging transactions.");
            return Ok(());
        }
        output::table(
            &[
                "TOPIC",
                "PARTITION",
                "PRODUCER-ID",
                "EPOCH",
                "COORDINATOR-EPOCH",
                "START-OFFSET",
                "LAST-TIMESTAMP",
                "DURATION",
            ],
            hanging
                .iter()
                .map(|h| {
                    vec![
                        h.topic.clone(),
                        h.partition.to_string(),
                        h.producer_id.to_string(),
                        h.producer_epoch.to_string(),
                        h.coordinator_epoch.to_string(),
                        h.start_offset.to_string(),
                        clock_time(h.last_timestamp),
                        age(h.last_timestamp),
                    ]
                })
                .collect(),
        );
        output::status(
            "Abort one with `kfk transactions abort --topic T --partition P --producer-id ID`.",
        );
        Ok(())
    })
}

pub async fn abort(ctx: &Ctx, args: &TxnAbortArgs) -> CliResult {
    let client = ctx.client().await?;
    let producer_id = match (args.producer_id, args.start_offset) {
        (Some(id), _) => id,
        (None, Some(offset)) => client
            .describe_producers(&args.topic, args.partition)
            .await?
            .into_iter()
            .find(|p| p.current_txn_start_offset == offset)
            .map(|p| p.producer_id)
            .ok_or_else(|| {
                CliError::new(format!(
                    "no open transaction starts at offset {offset} of {}-{}",
                    args.topic, args.partition
                ))
                .hint(format!(
                    "`kfk transactions describe-producers --topic {} --partition {}` lists them",
                    args.topic, args.partition
                ))
            })?,
        (None, None) => return Err(CliError::usage("--producer-id or --start-offset is needed")),
    };
    let start = client
        .abort_hanging(&args.topic, args.partition, producer_id)
        .await?;
    output::status(&format!(
        "Aborted producer {producer_id}'s transaction on {}-{} (from offset {start}).",
        args.topic, args.partition
    ));
    Ok(())
}
