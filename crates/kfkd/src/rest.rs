//! The REST proxy (`--rest-listen`): the common calls of Confluent's
//! kafka-rest v2 over HTTP/JSON, answered from this broker's metadata image
//! and, for produce, through a kfk-client producer so records reach each
//! partition's leader wherever it is.
//!
//! Shapes follow kafka-rest v2 exactly (topic partitions with `broker`,
//! `leader`, `in_sync` replicas; `{"error_code":..,"message":..}` errors).
//! `GET /openapi.yaml` describes every endpoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use bytes::Bytes;
use kfk_client::{
    Client, ClientConfig, Consumer, GroupMembership, Producer, ProducerConfig, StartOffset,
};
use kfk_wire::NewRecord;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::metadata::TopicMeta;

/// The OpenAPI description served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../openapi.yaml");

struct Rest {
    broker: Arc<Broker>,
    /// Connected on first use, to this broker's own listener.
    client: OnceCell<Arc<Client>>,
    producer: OnceCell<Producer>,
    /// v2 consumer instances by (group, name).
    instances: tokio::sync::Mutex<HashMap<(String, String), SharedInstance>>,
}

type SharedInstance = Arc<tokio::sync::Mutex<Instance>>;

/// A v2 consumer instance: a group member that reads on each GET.
struct Instance {
    format: Embedded,
    reset: StartOffset,
    auto_commit: bool,
    topics: Vec<String>,
    membership: Option<GroupMembership>,
    consumer: Option<Consumer>,
    /// Next offsets of what was returned, to commit.
    delivered: BTreeMap<(String, i32), i64>,
}

type Shared = Arc<Rest>;

/// A kafka-rest error: HTTP status plus `{"error_code", "message"}`.
fn error(status: StatusCode, code: u32, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/vnd.kafka.v2+json")],
        json!({"error_code": code, "message": message.into()}).to_string(),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/vnd.kafka.v2+json")],
        v.to_string(),
    )
        .into_response()
}

fn topic_not_found() -> Response {
    error(StatusCode::NOT_FOUND, 40401, "Topic not found.")
}

fn partition_json(i: usize, p: &crate::metadata::PartitionMeta) -> Value {
    json!({
        "partition": i,
        "leader": p.leader,
        "replicas": p.replicas.iter().map(|r| json!({
            "broker": r,
            "leader": *r == p.leader,
            "in_sync": p.isr.contains(r),
        })).collect::<Vec<_>>(),
    })
}

fn topic_json(rest: &Rest, name: &str, t: &TopicMeta) -> Value {
    let configs: serde_json::Map<String, Value> =
        topic_config::describe(&rest.broker.settings, &t.configs)
            .into_iter()
            .map(|(k, v, _)| (k, Value::from(v)))
            .collect();
    json!({
        "name": name,
        "configs": configs,
        "partitions": t.partitions.iter().enumerate().map(|(i, p)| partition_json(i, p)).collect::<Vec<_>>(),
    })
}

fn topic(rest: &Rest, name: &str) -> Option<TopicMeta> {
    rest.broker.with_image(|i| i.topics.get(name).cloned())
}

async fn brokers(State(rest): State<Shared>) -> Response {
    ok(json!({"brokers": rest.broker.with_image(|i| i.live_broker_ids())}))
}

async fn topics(State(rest): State<Shared>) -> Response {
    let names: Vec<String> = rest.broker.with_image(|i| {
        i.topics
            .keys()
            .filter(|n| !n.starts_with("__"))
            .cloned()
            .collect()
    });
    ok(json!(names))
}

async fn get_topic(State(rest): State<Shared>, Path(name): Path<String>) -> Response {
    match topic(&rest, &name) {
        Some(t) => ok(topic_json(&rest, &name, &t)),
        None => topic_not_found(),
    }
}

async fn partitions(State(rest): State<Shared>, Path(name): Path<String>) -> Response {
    match topic(&rest, &name) {
        Some(t) => ok(json!(
            t.partitions
                .iter()
                .enumerate()
                .map(|(i, p)| partition_json(i, p))
                .collect::<Vec<_>>()
        )),
        None => topic_not_found(),
    }
}

async fn partition(State(rest): State<Shared>, Path((name, p)): Path<(String, i64)>) -> Response {
    let Some(t) = topic(&rest, &name) else {
        return topic_not_found();
    };
    match usize::try_from(p)
        .ok()
        .and_then(|i| t.partitions.get(i).map(|m| (i, m)))
    {
        Some((i, m)) => ok(partition_json(i, m)),
        None => error(StatusCode::NOT_FOUND, 40402, "Partition not found."),
    }
}

/// How record keys and values are encoded in a produce body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Embedded {
    Json,
    Binary,
}

fn embedded(headers: &HeaderMap) -> Option<Embedded> {
    let ct = headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/vnd.kafka.json.v2+json" | "application/json" => Some(Embedded::Json),
        "application/vnd.kafka.binary.v2+json" => Some(Embedded::Binary),
        _ => None,
    }
}

/// A key or value of a produce body as bytes: JSON re-serialized, binary
/// base64-decoded; null stays null.
fn field(v: Option<&Value>, how: Embedded) -> Result<Option<Bytes>, String> {
    match (v, how) {
        (None | Some(Value::Null), _) => Ok(None),
        (Some(v), Embedded::Json) => Ok(Some(Bytes::from(v.to_string()))),
        (Some(Value::String(s)), Embedded::Binary) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| format!("binary data must be base64: {e}")),
        (Some(_), Embedded::Binary) => Err("binary data must be a base64 string".into()),
    }
}

async fn client(rest: &Rest) -> Result<Arc<Client>, String> {
    rest.client
        .get_or_try_init(|| async {
            let addr = rest.broker.settings.advertised().to_string();
            Client::connect(ClientConfig::new([addr]))
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .cloned()
}

async fn producer(rest: &Rest) -> Result<&Producer, String> {
    rest.producer
        .get_or_try_init(|| async {
            let client = client(rest).await?;
            Producer::new(
                client,
                ProducerConfig {
                    linger: std::time::Duration::from_millis(1),
                    ..ProducerConfig::default()
                },
            )
            .await
            .map_err(|e| e.to_string())
        })
        .await
}

async fn produce_to(
    rest: &Rest,
    name: &str,
    fixed: Option<i32>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(how) = embedded(headers) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            "HTTP 415 Unsupported Media Type: use application/vnd.kafka.json.v2+json, application/vnd.kafka.binary.v2+json or application/json",
        );
    };
    let Some(t) = topic(rest, name) else {
        return topic_not_found();
    };
    if let Some(p) = fixed
        && (p < 0 || p as usize >= t.partitions.len())
    {
        return error(StatusCode::NOT_FOUND, 40402, "Partition not found.");
    }
    let unprocessable = |m: String| error(StatusCode::UNPROCESSABLE_ENTITY, 42200, m);
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return unprocessable(format!("the body is not JSON: {e}")),
    };
    let Some(records) = parsed.get("records").and_then(Value::as_array) else {
        return unprocessable("the body needs a \"records\" array".into());
    };
    let mut batch = Vec::with_capacity(records.len());
    for r in records {
        let key = match field(r.get("key"), how) {
            Ok(k) => k,
            Err(m) => return unprocessable(m),
        };
        let value = match field(r.get("value"), how) {
            Ok(v) => v,
            Err(m) => return unprocessable(m),
        };
        let partition = match (fixed, r.get("partition")) {
            (Some(p), _) => Some(p),
            (None, None | Some(Value::Null)) => None,
            (None, Some(v)) => match v.as_i64().and_then(|p| i32::try_from(p).ok()) {
                Some(p) => Some(p),
                None => return unprocessable("\"partition\" must be an integer".into()),
            },
        };
        batch.push((partition, key, value));
    }
    let producer = match producer(rest).await {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, 50002, e),
    };
    let mut pending = Vec::with_capacity(batch.len());
    for (partition, key, value) in batch {
        let record = NewRecord {
            key,
            value,
            timestamp: kfk_log::now_ms(),
            headers: Vec::new(),
        };
        pending.push(producer.send(name, partition, record).await);
    }
    producer.flush().await;
    let mut offsets = Vec::with_capacity(pending.len());
    for d in pending {
        let result = match d {
            Ok(d) => d.wait().await,
            Err(e) => Err(e),
        };
        offsets.push(match result {
            Ok(m) => json!({"partition": m.partition, "offset": m.offset, "error_code": null, "error": null}),
            // kafka-rest: 50003 for errors worth retrying, 50002 for the rest.
            Err(e) => {
                let code = if e.is_retriable() { 50003 } else { 50002 };
                json!({"partition": null, "offset": null, "error_code": code, "error": e.to_string()})
            }
        });
    }
    ok(json!({"key_schema_id": null, "value_schema_id": null, "offsets": offsets}))
}

async fn produce(
    State(rest): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    produce_to(&rest, &name, None, &headers, &body).await
}

async fn produce_partition(
    State(rest): State<Shared>,
    Path((name, p)): Path<(String, i32)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    produce_to(&rest, &name, Some(p), &headers, &body).await
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found")
}

fn instance_not_found() -> Response {
    error(StatusCode::NOT_FOUND, 40403, "Consumer instance not found.")
}

async fn create_instance(
    State(rest): State<Shared>,
    Path(group): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    42200,
                    format!("the body is not JSON: {e}"),
                );
            }
        }
    };
    let name = v["name"].as_str().map_or_else(
        || format!("rest-consumer-{}", uuid::Uuid::new_v4()),
        str::to_string,
    );
    let format = match v["format"].as_str().unwrap_or("binary") {
        "json" => Embedded::Json,
        "binary" => Embedded::Binary,
        other => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                42204,
                format!("format {other:?} is not supported (json or binary)"),
            );
        }
    };
    let reset = match v["auto.offset.reset"].as_str().unwrap_or("latest") {
        "earliest" | "smallest" => StartOffset::Earliest,
        _ => StartOffset::Latest,
    };
    let auto_commit = v["auto.commit.enable"]
        .as_str()
        .is_none_or(|a| a != "false");
    let mut instances = rest.instances.lock().await;
    let key = (group.clone(), name.clone());
    if instances.contains_key(&key) {
        return error(
            StatusCode::CONFLICT,
            40902,
            "Consumer instance with the specified name already exists.",
        );
    }
    instances.insert(
        key,
        Arc::new(tokio::sync::Mutex::new(Instance {
            format,
            reset,
            auto_commit,
            topics: Vec::new(),
            membership: None,
            consumer: None,
            delivered: BTreeMap::new(),
        })),
    );
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| rest.broker.settings.rest_listen.clone(), str::to_string);
    ok(json!({
        "instance_id": name,
        "base_uri": format!("http://{host}/consumers/{group}/instances/{name}"),
    }))
}

async fn instance(
    rest: &Rest,
    group: &str,
    name: &str,
) -> Option<Arc<tokio::sync::Mutex<Instance>>> {
    rest.instances
        .lock()
        .await
        .get(&(group.to_string(), name.to_string()))
        .cloned()
}

async fn subscribe(
    State(rest): State<Shared>,
    Path((group, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(inst) = instance(&rest, &group, &name).await else {
        return instance_not_found();
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(topics) = v["topics"].as_array() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42200,
            "the body needs a \"topics\" array",
        );
    };
    let topics: Vec<String> = topics
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let mut i = inst.lock().await;
    if let Some(mut m) = i.membership.take() {
        let _ = m.leave().await;
    }
    i.consumer = None;
    i.topics = topics;
    StatusCode::NO_CONTENT.into_response()
}

/// Joins (again) when needed and positions the consumer at the group's
/// committed offsets, else the instance's `auto.offset.reset`.
async fn ensure_joined(rest: &Rest, group: &str, i: &mut Instance) -> Result<(), String> {
    if i.membership.as_ref().is_some_and(|m| !m.needs_rejoin()) && i.consumer.is_some() {
        return Ok(());
    }
    let client = client(rest).await?;
    let mut m = match i.membership.take() {
        Some(m) => m,
        None => GroupMembership::new(Arc::clone(&client), group, &i.topics),
    };
    let assignment = m.join().await.map_err(|e| e.to_string())?;
    let committed = client
        .committed_offsets(group)
        .await
        .map_err(|e| e.to_string())?;
    let mut consumer = Consumer::new(Arc::clone(&client));
    consumer.max_wait = std::time::Duration::from_millis(500);
    for (topic, parts) in &assignment {
        let starts: Vec<(i32, StartOffset)> = parts
            .iter()
            .map(|p| {
                let at = committed.get(&(topic.clone(), *p)).copied();
                (*p, at.map_or(i.reset, StartOffset::Offset))
            })
            .collect();
        consumer
            .assign(topic, &starts)
            .await
            .map_err(|e| e.to_string())?;
    }
    i.delivered
        .retain(|(t, p), _| assignment.get(t).is_some_and(|ps| ps.contains(p)));
    i.membership = Some(m);
    i.consumer = Some(consumer);
    Ok(())
}

async fn commit_delivered(i: &Instance) -> Result<(), String> {
    let Some(m) = &i.membership else {
        return Ok(());
    };
    let offsets: Vec<(String, i32, i64)> = i
        .delivered
        .iter()
        .map(|((t, p), o)| (t.clone(), *p, *o))
        .collect();
    m.commit(&offsets).await.map_err(|e| e.to_string())
}

async fn records(
    State(rest): State<Shared>,
    Path((group, name)): Path<(String, String)>,
) -> Response {
    let Some(inst) = instance(&rest, &group, &name).await else {
        return instance_not_found();
    };
    let mut i = inst.lock().await;
    if i.topics.is_empty() {
        return error(
            StatusCode::CONFLICT,
            40903,
            "The consumer instance has no subscription.",
        );
    }
    if let Err(e) = ensure_joined(&rest, &group, &mut i).await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, 50002, e);
    }
    let Some(consumer) = i.consumer.as_mut() else {
        return instance_not_found();
    };
    let polled = match consumer.poll().await {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, 50002, e.to_string()),
    };
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
                "topic": r.topic,
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
        let _ = commit_delivered(&i).await;
    }
    ok(json!(out))
}

async fn commit_offsets(
    State(rest): State<Shared>,
    Path((group, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(inst) = instance(&rest, &group, &name).await else {
        return instance_not_found();
    };
    let mut i = inst.lock().await;
    // Explicit offsets (as given: the next offset to read), else what was returned.
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(list) = v["offsets"].as_array() {
        for o in list {
            let (Some(t), Some(p), Some(off)) = (
                o["topic"].as_str(),
                o["partition"].as_i64(),
                o["offset"].as_i64(),
            ) else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    42200,
                    "each offset needs topic, partition and offset",
                );
            };
            i.delivered.insert((t.to_string(), p as i32), off);
        }
    }
    match commit_delivered(&i).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 50002, e),
    }
}

async fn delete_instance(
    State(rest): State<Shared>,
    Path((group, name)): Path<(String, String)>,
) -> Response {
    let removed = rest.instances.lock().await.remove(&(group, name));
    let Some(inst) = removed else {
        return instance_not_found();
    };
    let mut i = inst.lock().await;
    if let Some(mut m) = i.membership.take() {
        let _ = m.leave().await;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn v3_clusters(State(rest): State<Shared>) -> Response {
    let id = rest.broker.cluster_id.clone();
    json_v3(json!({
        "kind": "KafkaClusterList",
        "metadata": {"self": "/v3/clusters", "next": null},
        "data": [{
            "kind": "KafkaCluster",
            "metadata": {"self": format!("/v3/clusters/{id}")},
            "cluster_id": id,
            "controller": {"related": format!("/v3/clusters/{id}/brokers/{}", rest.broker.controller_id())},
        }],
    }))
}

async fn v3_topics(State(rest): State<Shared>, Path(cluster): Path<String>) -> Response {
    if cluster != rest.broker.cluster_id {
        return error(
            StatusCode::NOT_FOUND,
            404,
            format!("cluster {cluster} not found"),
        );
    }
    let data: Vec<Value> = rest.broker.with_image(|i| {
        i.topics
            .iter()
            .map(|(name, t)| {
                json!({
                    "kind": "KafkaTopic",
                    "metadata": {"self": format!("/v3/clusters/{cluster}/topics/{name}")},
                    "cluster_id": cluster,
                    "topic_name": name,
                    "is_internal": name.starts_with("__"),
                    "replication_factor": t.partitions.first().map_or(0, |p| p.replicas.len()),
                    "partitions_count": t.partitions.len(),
                })
            })
            .collect()
    });
    json_v3(json!({
        "kind": "KafkaTopicList",
        "metadata": {"self": format!("/v3/clusters/{cluster}/topics"), "next": null},
        "data": data,
    }))
}

fn json_v3(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The proxy's routes.
pub fn router(broker: Arc<Broker>) -> Router {
    let state = Arc::new(Rest {
        broker,
        client: OnceCell::new(),
        producer: OnceCell::new(),
        instances: tokio::sync::Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/consumers/{group}", post(create_instance))
        .route(
            "/consumers/{group}/instances/{name}",
            delete(delete_instance),
        )
        .route(
            "/consumers/{group}/instances/{name}/subscription",
            post(subscribe),
        )
        .route("/consumers/{group}/instances/{name}/records", get(records))
        .route(
            "/consumers/{group}/instances/{name}/offsets",
            post(commit_offsets),
        )
        .route("/v3/clusters", get(v3_clusters))
        .route("/v3/clusters/{cluster}/topics", get(v3_topics))
        .route("/brokers", get(brokers))
        .route("/topics", get(topics))
        .route("/topics/{topic}", get(get_topic).post(produce))
        .route("/topics/{topic}/partitions", get(partitions))
        .route(
            "/topics/{topic}/partitions/{partition}",
            get(partition).post(produce_partition),
        )
        .route("/openapi.yaml", get(openapi))
        .fallback(not_found)
        .with_state(state)
}

/// Serves the REST proxy on `listener` until the task is dropped.
pub async fn serve(broker: Arc<Broker>, listener: tokio::net::TcpListener) {
    if let Err(e) = axum::serve(listener, router(broker)).await {
        tracing::error!(error = %e, "REST proxy stopped");
    }
}
