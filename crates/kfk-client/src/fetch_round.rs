//! One round of consumer fetches: a Fetch to every leader of the assigned
//! partitions, all in flight at once.
//!
//! A round needs nothing of the consumer but a copy of its positions and
//! settings, so the consumer can start the next round while its caller is
//! still busy with the records of the last one (Kafka's consumer fetches
//! ahead the same way): a consumer that waits to be polled before asking
//! leaves the broker idle while the application works, and the broker's
//! answer time is then paid in full on every poll.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};

use crate::client::Client;
use crate::error::{ClientError, Result};

/// What each Fetch of a round asks for, copied from the consumer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub max_wait: Duration,
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    pub read_committed: bool,
}

/// The partitions to read from one leader, each at its next offset.
pub(crate) type Plan = BTreeMap<i32, Vec<(String, i32, i64)>>;

/// An answered Fetch with the offset it asked each partition from: its
/// records count only if the consumer is still at that offset.
pub(crate) type Answer = (BTreeMap<(String, i32), i64>, FetchResponse);

/// What a round brought back.
#[derive(Debug, Default)]
pub(crate) struct Round {
    pub answers: Vec<Answer>,
    /// A leader was unknown, unreachable or moved: refresh the metadata.
    pub refresh: bool,
    /// An error retrying would not cure.
    pub error: Option<ClientError>,
}

/// Sends one Fetch per leader in `plan`, concurrently, and gathers the
/// answers.
pub(crate) async fn run(client: Arc<Client>, plan: Plan, settings: Settings) -> Round {
    let mut round = Round::default();
    let mut pending = tokio::task::JoinSet::new();
    for (leader, parts) in plan {
        if leader < 0 {
            round.refresh = true;
            continue;
        }
        let client = Arc::clone(&client);
        pending.spawn(async move {
            let asked: BTreeMap<(String, i32), i64> = parts
                .iter()
                .map(|(t, p, next)| ((t.clone(), *p), *next))
                .collect();
            fetch_from(&client, leader, &parts, settings)
                .await
                .map(|resp| (asked, resp))
        });
    }
    while let Some(joined) = pending.join_next().await {
        match joined {
            Ok(Ok(answer)) => round.answers.push(answer),
            Ok(Err(e)) if e.is_retriable() => round.refresh = true,
            Ok(Err(e)) => round.error = Some(e),
            // A panicking fetch is a bug; it must not pass for "no records".
            Err(e) => round.error = Some(ClientError::Invalid(format!("fetch task failed: {e}"))),
        }
    }
    round
}

async fn fetch_from(
    client: &Client,
    leader: i32,
    parts: &[(String, i32, i64)],
    settings: Settings,
) -> Result<FetchResponse> {
    let conn = client.broker(leader).await?;
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for (t, p, next) in parts {
        topics.entry(t).or_default().push(
            FetchPartition::default()
                .with_partition(*p)
                .with_fetch_offset(*next)
                .with_partition_max_bytes(settings.partition_max_bytes),
        );
    }
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(settings.max_wait.as_millis() as i32)
        .with_min_bytes(1)
        .with_max_bytes(settings.max_bytes)
        .with_isolation_level(i8::from(settings.read_committed))
        .with_session_epoch(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    FetchTopic::default()
                        .with_topic(kfk_wire::topic_name(t))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let (resp, _) = conn.send(&req).await?;
    conn.throttled(resp.throttle_time_ms);
    Ok(resp)
}
