//! Reading the cluster: `GET /brokers`, `/topics`, `/topics/{t}`,
//! `/topics/{t}/partitions[/{p}]` (kafka-rest v2) and `/v3/clusters`,
//! `/v3/clusters/{id}/topics`, each from fresh cluster metadata.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kfk_client::{Metadata, PartitionInfo, TopicInfo};
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::Caller;
use crate::error::{RestError, RestResult, V2_JSON};

/// A v2 answer.
pub(crate) fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, V2_JSON)],
        v.to_string(),
    )
        .into_response()
}

fn v3(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The cluster's metadata now (all topics, or just `topic`).
async fn metadata(proxy: &Shared, topic: Option<&str>) -> Result<Metadata, RestError> {
    let client = proxy.client().await?;
    let only = topic.map(|t| vec![t.to_string()]);
    client
        .refresh(only.as_deref())
        .await
        .map_err(RestError::kafka)
}

/// A topic's current metadata, or 40401.
pub(crate) async fn topic_info(
    proxy: &Shared,
    name: &str,
) -> Result<std::sync::Arc<TopicInfo>, RestError> {
    metadata(proxy, Some(name))
        .await?
        .topics
        .get(name)
        .cloned()
        .ok_or_else(RestError::topic_not_found)
}

fn partition_json(p: &PartitionInfo) -> Value {
    json!({
        "partition": p.partition,
        "leader": p.leader,
        "replicas": p.replicas.iter().map(|r| json!({
            "broker": r,
            "leader": *r == p.leader,
            "in_sync": p.isr.contains(r),
        })).collect::<Vec<_>>(),
    })
}

pub async fn brokers(Caller(proxy): Caller) -> RestResult {
    let meta = metadata(&proxy, None).await?;
    Ok(ok(
        json!({"brokers": meta.brokers.keys().collect::<Vec<_>>()}),
    ))
}

pub async fn list(Caller(proxy): Caller) -> RestResult {
    let meta = metadata(&proxy, None).await?;
    let names: Vec<&String> = meta
        .topics
        .keys()
        .filter(|n| !n.starts_with("__"))
        .collect();
    Ok(ok(json!(names)))
}

pub async fn get(Caller(proxy): Caller, name: Result<Path<String>, PathRejection>) -> RestResult {
    let Path(name) = name?;
    let t = topic_info(&proxy, &name).await?;
    let client = proxy.client().await?;
    let configs: serde_json::Map<String, Value> = client
        .describe_configs(2, &name)
        .await
        .map_err(RestError::kafka)?
        .into_iter()
        .filter_map(|c| Some((c.name, Value::from(c.value?))))
        .collect();
    Ok(ok(json!({
        "name": name,
        "configs": configs,
        "partitions": t.partitions.iter().map(partition_json).collect::<Vec<_>>(),
    })))
}

pub async fn partitions(
    Caller(proxy): Caller,
    name: Result<Path<String>, PathRejection>,
) -> RestResult {
    let Path(name) = name?;
    let t = topic_info(&proxy, &name).await?;
    Ok(ok(json!(
        t.partitions.iter().map(partition_json).collect::<Vec<_>>()
    )))
}

pub async fn partition(
    Caller(proxy): Caller,
    path: Result<Path<(String, i32)>, PathRejection>,
) -> RestResult {
    let Path((name, p)) = path?;
    let t = topic_info(&proxy, &name).await?;
    t.partition(p)
        .map(|x| ok(partition_json(x)))
        .ok_or_else(RestError::partition_not_found)
}

/// `GET /topics/{t}/partitions/{p}/offsets`: the partition's first and
/// next offsets.
pub async fn partition_offsets(
    Caller(proxy): Caller,
    path: Result<Path<(String, i32)>, PathRejection>,
) -> RestResult {
    let Path((name, p)) = path?;
    let t = topic_info(&proxy, &name).await?;
    if !t.has_partition(p) {
        return Err(RestError::partition_not_found());
    }
    let client = proxy.client().await?;
    let one = |q| {
        let client = &client;
        let name = &name;
        async move {
            client
                .list_offsets(name, &[p], q)
                .await
                .map_err(RestError::kafka)?
                .first()
                .map(|(_, o)| *o)
                .ok_or_else(|| RestError::kafka("no offset answered"))
        }
    };
    let beginning = one(kfk_client::OffsetQuery::Earliest).await?;
    let end = one(kfk_client::OffsetQuery::Latest).await?;
    Ok(ok(
        json!({"beginning_offset": beginning, "end_offset": end}),
    ))
}

pub async fn v3_clusters(Caller(proxy): Caller) -> RestResult {
    let meta = metadata(&proxy, None).await?;
    let id = meta.cluster_id.unwrap_or_default();
    Ok(v3(json!({
        "kind": "KafkaClusterList",
        "metadata": {"self": "/v3/clusters", "next": null},
        "data": [{
            "kind": "KafkaCluster",
            "metadata": {"self": format!("/v3/clusters/{id}")},
            "cluster_id": id,
            "controller": {"related": format!("/v3/clusters/{id}/brokers/{}", meta.controller_id)},
        }],
    })))
}

pub async fn v3_topics(
    Caller(proxy): Caller,
    cluster: Result<Path<String>, PathRejection>,
) -> RestResult {
    let Path(cluster) = cluster?;
    let meta = metadata(&proxy, None).await?;
    if meta.cluster_id.as_deref() != Some(cluster.as_str()) {
        return Err(RestError::new(
            StatusCode::NOT_FOUND,
            404,
            format!("cluster {cluster} not found"),
        ));
    }
    let data: Vec<Value> = meta
        .topics
        .iter()
        .map(|(name, t)| {
            json!({
                "kind": "KafkaTopic",
                "metadata": {"self": format!("/v3/clusters/{cluster}/topics/{name}")},
                "cluster_id": cluster,
                "topic_name": name,
                "is_internal": t.internal || name.starts_with("__"),
                "replication_factor": t.partitions.first().map_or(0, |p| p.replicas.len()),
                "partitions_count": t.partitions.len(),
            })
        })
        .collect();
    Ok(v3(json!({
        "kind": "KafkaTopicList",
        "metadata": {"self": format!("/v3/clusters/{cluster}/topics"), "next": null},
        "data": data,
    })))
}
