//! The log cleaner as `kfk` sees it, through config APIs on a broker
//! resource (Kafka has no API for either; these names are kfk's own and are
//! answered only when asked for, so other clients never see them):
//!
//! - DescribeConfigs naming `kfk.cleaner:<topic>` answers, as JSON, each of
//!   this broker's partitions of the topic: dirty ratio, first dirty
//!   offset, when it was last cleaned and what that clean did.
//! - IncrementalAlterConfigs setting `kfk.compact` to `<topic>` or
//!   `<topic>:<partition>` cleans this broker's logs of it now, whatever
//!   their dirty ratio, and answers when done. It needs ALTER_CONFIGS on
//!   the cluster, as any broker config change does.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kfk_log::{TopicPartition, now_ms};
use serde_json::{Value, json};

use crate::broker::Broker;
use crate::error::ApiError;

/// The name prefix that asks for a topic's cleaner state.
pub const CLEANER_PREFIX: &str = "kfk.cleaner:";
/// The config whose "setting" asks for a clean now.
pub const COMPACT_KEY: &str = "kfk.compact";
/// How long a requested clean may take before the answer says so.
const CLEAN_TIMEOUT: Duration = Duration::from_secs(120);

fn local_partitions(broker: &Broker, topic: &str) -> Vec<TopicPartition> {
    let mut tps: Vec<TopicPartition> = broker
        .logs
        .logs()
        .into_iter()
        .map(|(tp, _)| tp)
        .filter(|tp| tp.topic == topic)
        .collect();
    tps.sort();
    tps
}

/// The JSON `kfk topics describe` reads for `topic`'s partitions here.
pub fn describe(broker: &Broker, topic: &str) -> Option<String> {
    let now = now_ms();
    let cleaner = kfk_sync::lock(&broker.cleaner);
    let partitions: Vec<Value> = local_partitions(broker, topic)
        .into_iter()
        .filter_map(|tp| {
            let log = broker.logs.get(&tp)?;
            let limit = broker.partition(&tp).map_or(0, |p| p.high_watermark());
            let d = log.dirtiness(now, limit);
            let last = cleaner.as_ref().and_then(|c| c.last_clean(&tp));
            Some(json!({
                "partition": tp.partition,
                "dirty_ratio": d.ratio(),
                "first_dirty_offset": d.first_dirty_offset,
                "cleanable_end": d.cleanable_end,
                "clean_bytes": d.clean_bytes,
                "dirty_bytes": d.dirty_bytes,
                "last_clean_ms": d.last_clean_ms,
                "uncleanable": cleaner.as_ref().is_some_and(|c| c.is_uncleanable(&tp)),
                "cleaning": log.is_cleaning(),
                "last_clean": last.map(|s| json!({
                    "bytes_read": s.bytes_read,
                    "bytes_written": s.bytes_written,
                    "records_read": s.records_read,
                    "records_kept": s.records_kept,
                    "elapsed_ms": s.elapsed.as_millis() as u64,
                })),
            }))
        })
        .collect();
    Some(json!({"broker": broker.node_id, "partitions": partitions}).to_string())
}

/// Cleans this broker's logs of `target` (`topic` or `topic:partition`) now.
///
/// # Errors
/// Unknown topic, a cleaner that is off, or cleans that failed.
pub async fn compact(broker: &Broker, target: &str, validate_only: bool) -> Result<(), ApiError> {
    let (topic, partition) = match target.rsplit_once(':') {
        Some((t, p)) => match p.parse::<i32>() {
            Ok(p) => (t, Some(p)),
            Err(_) => (target, None),
        },
        None => (target, None),
    };
    if !broker.with_image(|i| i.topics.contains_key(topic)) {
        return Err(ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("topic '{topic}' does not exist"),
        ));
    }
    if validate_only {
        return Ok(());
    }
    let pending = {
        let cleaner = kfk_sync::lock(&broker.cleaner);
        let Some(cleaner) = cleaner.as_ref() else {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                format!(
                    "the log cleaner is off on broker {} (log.cleaner.enable=false)",
                    broker.node_id
                ),
            ));
        };
        local_partitions(broker, topic)
            .into_iter()
            .filter(|tp| partition.is_none_or(|p| p == tp.partition))
            .map(|tp| (tp.clone(), cleaner.request(tp)))
            .collect::<Vec<_>>()
    };
    let failures = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + CLEAN_TIMEOUT;
        let mut failures = Vec::new();
        for (tp, outcome) in pending {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match outcome.recv_timeout(left) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failures.push(format!("{tp}: {e}")),
                Err(_) => failures.push(format!("{tp}: still cleaning")),
            }
        }
        failures
    })
    .await
    .unwrap_or_else(|e| vec![e.to_string()]);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            ResponseError::KafkaStorageError,
            failures.join("; "),
        ))
    }
}
