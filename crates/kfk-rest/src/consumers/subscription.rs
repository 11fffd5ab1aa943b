//! What a consumer instance reads: `POST|GET|DELETE .../subscription`
//! (topics or a `topic_pattern`) and `POST|GET .../assignments` (partitions
//! by hand), mutually exclusive as in Kafka's consumer.

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::{Interest, body, instance, matching_topics};
use crate::auth::Caller;
use crate::error::{RestError, RestResult};
use crate::topics::ok;

#[derive(Debug, Deserialize)]
struct SubscribeBody {
    topics: Option<Vec<String>>,
    topic_pattern: Option<String>,
}

/// A topic and partition as kafka-rest names them in bodies.
#[derive(Debug, Deserialize)]
pub(crate) struct PartitionRef {
    pub(crate) topic: String,
    pub(crate) partition: i32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PartitionsBody {
    pub(crate) partitions: Vec<PartitionRef>,
}

fn exclusive() -> RestError {
    RestError::new(
        StatusCode::CONFLICT,
        40903,
        "Subscription to topics, partitions and pattern are mutually exclusive.",
    )
}

/// `POST .../subscription`: `{"topics":[...]}` or `{"topic_pattern":"re"}`.
pub async fn subscribe(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let v: SubscribeBody = body(bytes, None)?;
    let interest = match (v.topics, v.topic_pattern) {
        (Some(t), None) if !t.is_empty() => Interest::Topics(t),
        (None, Some(p)) => {
            // Refuse a pattern that is not a regular expression now.
            matching_topics(&proxy, &p).await?;
            Interest::Pattern(p)
        }
        (Some(_), Some(_)) => return Err(exclusive()),
        _ => {
            return Err(RestError::unprocessable(
                "give \"topics\" (a non-empty list) or \"topic_pattern\"",
            ));
        }
    };
    let mut i = inst.lock().await;
    if matches!(i.interest, Interest::Partitions(_)) {
        return Err(exclusive());
    }
    i.reset_reading().await;
    i.interest = interest;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../subscription`: the topics subscribed to (for a pattern, the
/// topics it matches now).
pub async fn get_subscription(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let interest = inst.lock().await.interest.clone();
    let topics = match interest {
        Interest::Topics(t) => t,
        Interest::Pattern(p) => matching_topics(&proxy, &p).await?,
        Interest::Nothing | Interest::Partitions(_) => Vec::new(),
    };
    Ok(ok(json!({ "topics": topics })))
}

/// `DELETE .../subscription`: leaves the group; the instance stays.
pub async fn unsubscribe(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let mut i = inst.lock().await;
    if matches!(i.interest, Interest::Topics(_) | Interest::Pattern(_)) {
        i.reset_reading().await;
        i.interest = Interest::Nothing;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST .../assignments`: read these partitions, outside any rebalance.
pub async fn assign(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let v: PartitionsBody = body(bytes, None)?;
    let mut i = inst.lock().await;
    if matches!(i.interest, Interest::Topics(_) | Interest::Pattern(_)) {
        return Err(exclusive());
    }
    i.reset_reading().await;
    i.interest = Interest::Partitions(
        v.partitions
            .into_iter()
            .map(|p| (p.topic, p.partition))
            .collect(),
    );
    // Positioned now, so seeks that follow have partitions to move.
    if let Err(e) = super::ensure_ready(&proxy, &group, &mut i).await {
        i.interest = Interest::Nothing;
        return Err(e);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../assignments`: the partitions the instance reads now (none
/// before a subscribed instance's first read, as in kafka-rest).
pub async fn get_assignments(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let i = inst.lock().await;
    let mut parts: Vec<(String, i32)> = match (&i.interest, &i.consumer) {
        (Interest::Partitions(p), _) => p.clone(),
        (_, Some(c)) => c.assigned(),
        _ => Vec::new(),
    };
    parts.sort();
    let partitions: Vec<_> = parts
        .iter()
        .map(|(t, p)| json!({"topic": t, "partition": p}))
        .collect();
    Ok(ok(json!({ "partitions": partitions })))
}
