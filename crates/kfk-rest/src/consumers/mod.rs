//! kafka-rest v2 consumer instances: `POST /consumers/{g}` creates a named
//! member of group `g`, which subscribes to topics or a pattern (or is
//! assigned partitions by hand), reads a batch on each `GET .../records`,
//! commits what it returned (or the offsets given), can be repositioned, and
//! leaves the group when deleted. [`subscription`] and [`positions`] hold
//! the calls that shape what an instance reads.

pub mod positions;
pub mod subscription;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use kfk_client::{Consumer, GroupMembership, StartOffset};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::Caller;
use crate::error::{RestError, RestResult};
use crate::produce::Embedded;
use crate::topics::ok;

/// Instances by (group, name).
pub(crate) type Instances = tokio::sync::Mutex<HashMap<(String, String), SharedInstance>>;

type SharedInstance = Arc<tokio::sync::Mutex<Instance>>;

/// What an instance reads: kafka-rest's subscription, pattern and manual
/// assignment are mutually exclusive, as they are in Kafka's consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Interest {
    Nothing,
    Topics(Vec<String>),
    /// A regular expression the whole topic name must match.
    Pattern(String),
    /// Partitions assigned by hand: no group membership, no rebalances.
    Partitions(Vec<(String, i32)>),
}

/// A v2 consumer instance: a group member that reads on each GET.
#[derive(Debug)]
pub(crate) struct Instance {
    format: Embedded,
    reset: StartOffset,
    auto_commit: bool,
    interest: Interest,
    membership: Option<GroupMembership>,
    consumer: Option<Consumer>,
    /// Next offsets of what was returned, to commit.
    delivered: BTreeMap<(String, i32), i64>,
}

impl Instance {
    /// Leaves the group (if a member) and forgets the consumer's positions.
    async fn reset_reading(&mut self) {
        if let Some(mut m) = self.membership.take() {
            let _ = m.leave().await;
        }
        self.consumer = None;
        self.delivered.clear();
    }
}

/// `POST /consumers/{group}`; every field is optional.
#[derive(Debug, Default, Deserialize)]
struct CreateBody {
    name: Option<String>,
    format: Option<String>,
    #[serde(rename = "auto.offset.reset")]
    auto_offset_reset: Option<String>,
    #[serde(rename = "auto.commit.enable")]
    auto_commit_enable: Option<String>,
}

/// `POST .../offsets`: the offsets to commit (the next offset to read), or
/// an empty body to commit everything returned so far.
#[derive(Debug, Deserialize)]
struct CommitBody {
    offsets: Vec<CommitOffset>,
}

#[derive(Debug, Deserialize)]
struct CommitOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

/// Parses a JSON body as `T` (an empty body as `empty`, when given).
pub(crate) fn body<T: serde::de::DeserializeOwned>(
    bytes: Result<Bytes, BytesRejection>,
    empty: Option<T>,
) -> Result<T, RestError> {
    let bytes = bytes?;
    if bytes.iter().all(u8::is_ascii_whitespace)
        && let Some(e) = empty
    {
        return Ok(e);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| RestError::unprocessable(format!("the body is not what this call takes: {e}")))
}

pub async fn create(
    Caller(proxy): Caller,
    group: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path(group) = group?;
    let v: CreateBody = body(bytes, Some(CreateBody::default()))?;
    let name = v
        .name
        .unwrap_or_else(|| format!("rest-consumer-{}", uuid::Uuid::new_v4()));
    let format = match v.format.as_deref().unwrap_or("binary") {
        "json" => Embedded::Json,
        "binary" => Embedded::Binary,
        other => {
            return Err(RestError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                42204,
                format!("format {other:?} is not supported (json or binary)"),
            ));
        }
    };
    let reset = match v.auto_offset_reset.as_deref().unwrap_or("latest") {
        "earliest" | "smallest" => StartOffset::Earliest,
        "latest" | "largest" => StartOffset::Latest,
        other => {
            return Err(RestError::unprocessable(format!(
                "auto.offset.reset {other:?} is not one of earliest, latest"
            )));
        }
    };
    let auto_commit = v.auto_commit_enable.as_deref() != Some("false");
    let mut instances = proxy.instances.lock().await;
    let key = (group.clone(), name.clone());
    if instances.contains_key(&key) {
        return Err(RestError::new(
            StatusCode::CONFLICT,
            40902,
            "Consumer instance with the specified name already exists.",
        ));
    }
    instances.insert(
        key,
        Arc::new(tokio::sync::Mutex::new(Instance {
            format,
            reset,
            auto_commit,
            interest: Interest::Nothing,
            membership: None,
            consumer: None,
            delivered: BTreeMap::new(),
        })),
    );
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| proxy.listen.clone(), str::to_string);
    Ok(ok(json!({
        "instance_id": name,
        "base_uri": format!("http://{host}/consumers/{group}/instances/{name}"),
    })))
}

pub(crate) async fn instance(
    proxy: &Shared,
    group: &str,
    name: &str,
) -> Result<SharedInstance, RestError> {
    proxy
        .instances
        .lock()
        .await
        .get(&(group.to_string(), name.to_string()))
        .cloned()
        .ok_or_else(RestError::instance_not_found)
}

/// The topics a pattern matches now (the whole name, as Java's
/// `Pattern.matcher(name).matches()` in Kafka's consumer).
pub(crate) async fn matching_topics(
    proxy: &Shared,
    pattern: &str,
) -> Result<Vec<String>, RestError> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        RestError::unprocessable(format!("topic_pattern is not a regular expression: {e}"))
    })?;
    let meta = proxy
        .client()
        .await?
        .refresh(None)
        .await
        .map_err(RestError::kafka)?;
    Ok(meta
        .topics
        .keys()
        .filter(|t| !t.starts_with("__") && re.is_match(t))
        .cloned()
        .collect())
}

/// Makes the instance ready to read: joins the group for a subscription
/// (again, after a rebalance), or assigns the partitions given by hand;
/// each partition starts at the group's committed offset, else at the
/// instance's `auto.offset.reset`.
pub(crate) async fn ensure_ready(
    proxy: &Shared,
    group: &str,
    i: &mut Instance,
) -> Result<(), RestError> {
    let topics = match &i.interest {
        Interest::Nothing => {
            return Err(RestError::new(
                StatusCode::CONFLICT,
                40903,
                "The consumer instance has no subscription or assignment.",
            ));
        }
        Interest::Partitions(parts) => {
            if i.consumer.is_some() {
                return Ok(());
            }
            let parts = parts.clone();
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (t, p) in parts {
                by_topic.entry(t).or_default().push(p);
            }
            return start_reading(proxy, group, i, by_topic).await;
        }
        Interest::Topics(t) => t.clone(),
        Interest::Pattern(p) => matching_topics(proxy, p).await?,
    };
    if i.membership.as_ref().is_some_and(|m| !m.needs_rejoin()) && i.consumer.is_some() {
        return Ok(());
    }
    let client = proxy.client().await?;
    let mut m = match i.membership.take() {
        Some(m) => m,
        None => GroupMembership::new(Arc::clone(&client), group, &topics),
    };
    let assignment = m.join().await.map_err(RestError::kafka)?;
    i.membership = Some(m);
    start_reading(proxy, group, i, assignment.into_iter().collect()).await
}

/// A consumer over `parts`, each at its committed offset or the reset.
async fn start_reading(
    proxy: &Shared,
    group: &str,
    i: &mut Instance,
    parts: BTreeMap<String, Vec<i32>>,
) -> Result<(), RestError> {
    let client = proxy.client().await?;
    let committed = client
        .committed_offsets(group)
        .await
        .map_err(RestError::kafka)?;
    let mut consumer = Consumer::new(Arc::clone(&client));
    consumer.max_wait = std::time::Duration::from_millis(500);
    for (topic, ps) in &parts {
        let starts: Vec<(i32, StartOffset)> = ps
            .iter()
            .map(|p| {
                let at = committed.get(&(topic.clone(), *p)).copied();
                (*p, at.map_or(i.reset, StartOffset::Offset))
            })
            .collect();
        consumer.assign(topic, &starts).await.map_err(|e| match e {
            kfk_client::ClientError::UnknownTopic(_) => RestError::topic_not_found(),
            kfk_client::ClientError::UnknownPartition { .. } => RestError::partition_not_found(),
            e => RestError::kafka(e),
        })?;
    }
    i.delivered
        .retain(|(t, p), _| parts.get(t).is_some_and(|ps| ps.contains(p)));
    i.consumer = Some(consumer);
    Ok(())
}

/// Commits what was returned (or set by a commit call): as the group member
/// when subscribed, else as a simple consumer of the group (generation -1),
/// which Kafka accepts while the group has no members.
async fn commit_delivered(proxy: &Shared, group: &str, i: &Instance) -> Result<(), RestError> {
    let offsets: Vec<(String, i32, i64)> = i
        .delivered
        .iter()
        .map(|((t, p), o)| (t.clone(), *p, *o))
        .collect();
    if offsets.is_empty() {
        return Ok(());
    }
    match &i.membership {
        Some(m) => m.commit(&offsets).await.map_err(RestError::kafka),
        None => proxy
            .client()
            .await?
            .commit_group_offsets(group, &offsets)
            .await
            .map_err(RestError::kafka),
    }
}

pub async fn records(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    let mut i = inst.lock().await;
    ensure_ready(&proxy, &group, &mut i).await?;
    let Some(consumer) = i.consumer.as_mut() else {
        return Err(RestError::instance_not_found());
    };
    let polled = consumer.poll().await.map_err(RestError::kafka)?;
    let format = i.format;
    let encode = |b: Option<&Bytes>| -> Value {
        match (b, format) {
            (None, _) => Value::Null,
            (Some(b), Embedded::Binary) => {
                Value::from(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (Some(b), Embedded::Json) => serde_json::from_slice(b)
                .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(b).into_owned())),
        }
    };
    let out: Vec<Value> = polled
        .iter()
        .map(|r| {
            json!({
                "topic": &*r.topic,
                "key": encode(r.key.as_ref()),
                "value": encode(r.value.as_ref()),
                "partition": r.partition,
                "offset": r.offset,
            })
        })
        .collect();
    for r in &polled {
        i.delivered
            .insert((r.topic.to_string(), r.partition), r.offset + 1);
    }
    if i.auto_commit && !polled.is_empty() {
        let _ = commit_delivered(&proxy, &group, &i).await;
    }
    Ok(ok(json!(out)))
}

pub async fn commit(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let inst = instance(&proxy, &group, &name).await?;
    // Explicit offsets (the next offset to read), else what was returned; a
    // body that is neither is refused rather than read as "everything".
    let given: Option<CommitBody> = body(bytes, Some(None))?;
    let mut i = inst.lock().await;
    if let Some(c) = given {
        for o in c.offsets {
            i.delivered.insert((o.topic, o.partition), o.offset);
        }
    }
    commit_delivered(&proxy, &group, &i).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn delete(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let removed = proxy.instances.lock().await.remove(&(group, name));
    let inst = removed.ok_or_else(RestError::instance_not_found)?;
    inst.lock().await.reset_reading().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
