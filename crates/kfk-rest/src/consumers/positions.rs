//! Where a consumer instance reads from: `POST .../positions` (seek),
//! `.../positions/beginning` and `.../positions/end`; and what its group
//! committed, `GET .../offsets`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kfk_client::StartOffset;
use serde::Deserialize;
use serde_json::json;

use super::subscription::PartitionsBody;
use super::{body, ensure_ready, instance};
use crate::Shared;
use crate::auth::Caller;
use crate::error::{RestError, RestResult};
use crate::topics::ok;

#[derive(Debug, Deserialize)]
struct SeekBody {
    offsets: Vec<SeekOffset>,
}

#[derive(Debug, Deserialize)]
struct SeekOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

/// Moves the instance's partitions to `starts`; each must be assigned.
async fn seek(
    proxy: &Shared,
    group: &str,
    name: &str,
    starts: Vec<(String, i32, StartOffset)>,
) -> RestResult {
    let inst = instance(proxy, group, name).await?;
    let mut guard = inst.lock().await;
    ensure_ready(proxy, group, &mut guard).await?;
    let i = &mut *guard;
    let Some(consumer) = i.consumer.as_mut() else {
        return Err(RestError::instance_not_found());
    };
    let assigned = consumer.assigned();
    if let Some((t, p, _)) = starts
        .iter()
        .find(|(t, p, _)| !assigned.contains(&(t.clone(), *p)))
    {
        return Err(RestError::new(
            StatusCode::CONFLICT,
            40903,
            format!("Partition {t}-{p} is not assigned to this consumer instance."),
        ));
    }
    for (t, p, start) in starts {
        consumer
            .assign(&t, &[(p, start)])
            .await
            .map_err(RestError::kafka)?;
        // What was returned before the seek is no longer what to commit.
        i.delivered.remove(&(t, p));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST .../positions`: `{"offsets":[{"topic","partition","offset"}]}`.
pub async fn to_offsets(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let v: SeekBody = body(bytes, None)?;
    if let Some(o) = v.offsets.iter().find(|o| o.offset < 0) {
        return Err(RestError::unprocessable(format!(
            "offset {} of {}-{} is negative",
            o.offset, o.topic, o.partition
        )));
    }
    let starts = v
        .offsets
        .into_iter()
        .map(|o| (o.topic, o.partition, StartOffset::Offset(o.offset)))
        .collect();
    seek(&proxy, &group, &name, starts).await
}

fn to_edge(
    bytes: Result<Bytes, BytesRejection>,
    edge: StartOffset,
) -> Result<Vec<(String, i32, StartOffset)>, RestError> {
    let v: PartitionsBody = body(bytes, None)?;
    Ok(v.partitions
        .into_iter()
        .map(|p| (p.topic, p.partition, edge))
        .collect())
}

/// `POST .../positions/beginning`: `{"partitions":[{"topic","partition"}]}`.
pub async fn to_beginning(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let starts = to_edge(bytes, StartOffset::Earliest)?;
    seek(&proxy, &group, &name, starts).await
}

/// `POST .../positions/end`: `{"partitions":[{"topic","partition"}]}`.
pub async fn to_end(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    let starts = to_edge(bytes, StartOffset::Latest)?;
    seek(&proxy, &group, &name, starts).await
}

/// `GET .../offsets` with `{"partitions":[...]}`: the group's committed
/// offsets of those partitions (every committed one with no body).
pub async fn committed(
    Caller(proxy): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> RestResult {
    let Path((group, name)) = path?;
    instance(&proxy, &group, &name).await?;
    let wanted: Option<PartitionsBody> = body(bytes, Some(None))?;
    let committed = proxy
        .client()
        .await?
        .committed_offsets(&group)
        .await
        .map_err(RestError::kafka)?;
    let offsets: Vec<_> = committed
        .iter()
        .filter(|((t, p), _)| {
            wanted.as_ref().is_none_or(|w| {
                w.partitions
                    .iter()
                    .any(|x| &x.topic == t && x.partition == *p)
            })
        })
        .map(|((t, p), o)| json!({"topic": t, "partition": p, "offset": o, "metadata": ""}))
        .collect();
    Ok(ok(json!({ "offsets": offsets })))
}
