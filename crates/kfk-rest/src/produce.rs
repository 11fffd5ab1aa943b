//! `POST /topics/{t}` and `/topics/{t}/partitions/{p}`: records in
//! kafka-rest v2's embedded JSON or base64 binary form, sent through one
//! shared producer so each reaches its partition's leader wherever it is.

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use kfk_client::NewRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::Caller;
use crate::error::{RestError, RestResult};
use crate::topics::{ok, topic_info};

/// How record keys and values are encoded in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Embedded {
    Json,
    Binary,
}

/// The body of a produce request.
#[derive(Debug, Deserialize)]
struct ProduceBody {
    records: Vec<ProduceRecord>,
}

#[derive(Debug, Deserialize)]
struct ProduceRecord {
    #[serde(default)]
    key: Option<Value>,
    #[serde(default)]
    value: Option<Value>,
    /// An i32: a partition past it is refused, never truncated.
    #[serde(default)]
    partition: Option<i32>,
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
fn field(v: Option<Value>, how: Embedded) -> Result<Option<Bytes>, RestError> {
    match (v, how) {
        (None | Some(Value::Null), _) => Ok(None),
        (Some(v), Embedded::Json) => Ok(Some(Bytes::from(v.to_string()))),
        (Some(Value::String(s)), Embedded::Binary) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| RestError::unprocessable(format!("binary data must be base64: {e}"))),
        (Some(_), Embedded::Binary) => Err(RestError::unprocessable(
            "binary data must be a base64 string",
        )),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn produce(
    proxy: &Shared,
    name: &str,
    fixed: Option<i32>,
    headers: &HeaderMap,
    body: &[u8],
) -> RestResult {
    let Some(how) = embedded(headers) else {
        return Err(RestError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            "HTTP 415 Unsupported Media Type: use application/vnd.kafka.json.v2+json, application/vnd.kafka.binary.v2+json or application/json",
        ));
    };
    // As a Kafka producer does: a broker with auto.create.topics.enable
    // creates the topic on this first write; another answers 40401.
    let t = match topic_info(proxy, name).await {
        Err(e) if e.code == 40401 => match proxy.client().await?.auto_create(name).await {
            Ok(t) => t,
            Err(kfk_client::ClientError::UnknownTopic(_)) => return Err(e),
            Err(other) => return Err(RestError::kafka(other)),
        },
        other => other?,
    };
    if let Some(p) = fixed
        && !t.has_partition(p)
    {
        return Err(RestError::partition_not_found());
    }
    let parsed: ProduceBody = serde_json::from_slice(body)
        .map_err(|e| RestError::unprocessable(format!("the body is not a produce request: {e}")))?;
    let mut batch = Vec::with_capacity(parsed.records.len());
    for r in parsed.records {
        batch.push((
            fixed.or(r.partition),
            field(r.key, how)?,
            field(r.value, how)?,
        ));
    }
    let producer = proxy.producer().await?;
    let mut pending = Vec::with_capacity(batch.len());
    for (partition, key, value) in batch {
        let record = NewRecord {
            key,
            value,
            timestamp: now_ms(),
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
    Ok(ok(
        json!({"key_schema_id": null, "value_schema_id": null, "offsets": offsets}),
    ))
}

pub async fn to_topic(
    Caller(proxy): Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path(name) = name?;
    produce(&proxy, &name, None, &headers, &body?).await
}

pub async fn to_partition(
    Caller(proxy): Caller,
    path: Result<Path<(String, i32)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((name, p)) = path?;
    produce(&proxy, &name, Some(p), &headers, &body?).await
}
