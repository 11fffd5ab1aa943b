//! The REST proxy (`--rest-listen`): the common calls of Confluent's
//! kafka-rest v2 over HTTP/JSON, answered from this broker's metadata image
//! and, for produce, through a kfk-client producer so records reach each
//! partition's leader wherever it is.
//!
//! Shapes follow kafka-rest v2 exactly (topic partitions with `broker`,
//! `leader`, `in_sync` replicas; `{"error_code":..,"message":..}` errors).
//! `GET /openapi.yaml` describes every endpoint.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use bytes::Bytes;
use kfk_client::{Client, ClientConfig, Producer, ProducerConfig};
use kfk_wire::NewRecord;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::broker::Broker;
use crate::metadata::TopicMeta;
use crate::topic_config;

/// The OpenAPI description served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../openapi.yaml");

struct Rest {
    broker: Arc<Broker>,
    /// Connected on first produce, to this broker's own listener.
    producer: OnceCell<Producer>,
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

async fn producer(rest: &Rest) -> Result<&Producer, String> {
    rest.producer
        .get_or_try_init(|| async {
            let addr = rest.broker.settings.advertised().to_string();
            let client = Client::connect(ClientConfig::new([addr]))
                .await
                .map_err(|e| e.to_string())?;
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
            Err(e) => json!({"partition": null, "offset": null, "error_code": 50003, "error": e.to_string()}),
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

/// The proxy's routes.
pub fn router(broker: Arc<Broker>) -> Router {
    let state = Arc::new(Rest {
        broker,
        producer: OnceCell::new(),
    });
    Router::new()
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
