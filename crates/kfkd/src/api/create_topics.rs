//! CreateTopics: validate names, counts, replication and configs; create.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::str_bytes;
use crate::broker::Broker;
use crate::config::topic as topic_config;
use crate::new_topic::NewTopic;

/// Answers REQUEST_TIMED_OUT for a creation still going on at the request's
/// `timeout_ms`, as Kafka does; it completes anyway (a retry then finds the
/// topic, which kfk-client recognises as its own).
pub async fn handle(broker: &Arc<Broker>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let deadline = super::deadline(req.timeout_ms);
    let mut planned = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        planned.push({
            let name = t.name.0.to_string();
            let configs: BTreeMap<String, String> = t
                .configs
                .iter()
                .filter_map(|c| {
                    c.value
                        .as_ref()
                        .map(|v| (c.name.to_string(), v.to_string()))
                })
                .collect();
            let new = NewTopic {
                name: name.clone(),
                num_partitions: if t.num_partitions == -1 && t.assignments.is_empty() {
                    broker.settings.num_partitions
                } else if t.assignments.is_empty() {
                    t.num_partitions
                } else {
                    t.assignments.len() as i32
                },
                replication_factor: if t.replication_factor == -1 {
                    broker.settings.default_replication_factor
                } else {
                    i32::from(t.replication_factor)
                },
                assignments: {
                    let mut a = t.assignments.clone();
                    a.sort_by_key(|a| a.partition_index);
                    a.into_iter()
                        .map(|a| a.broker_ids.into_iter().map(|b| b.0).collect())
                        .collect()
                },
                configs: configs.clone(),
            };
            let result = CreatableTopicResult::default().with_name(t.name.clone());
            (new, result, configs)
        });
    }
    // One creation for the whole request (one metadata command); past the
    // request's timeout every topic of it answers REQUEST_TIMED_OUT.
    let work = {
        let broker = Arc::clone(broker);
        let news = planned.iter().map(|(n, ..)| n.clone()).collect();
        let validate_only = req.validate_only;
        tokio::spawn(async move {
            Ok::<_, crate::error::ApiError>(broker.create_topics(news, validate_only).await)
        })
    };
    let outcomes = super::within(deadline, work).await;
    let mut topics = Vec::with_capacity(planned.len());
    for (i, (new, result, configs)) in planned.into_iter().enumerate() {
        let name = new.name;
        let outcome = match &outcomes {
            Some(Ok(all)) => all.get(i).cloned().unwrap_or_else(|| {
                Err(crate::error::ApiError::new(
                    kafka_protocol::ResponseError::UnknownServerError,
                    "no result for this topic",
                ))
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err(crate::error::ApiError::new(
                kafka_protocol::ResponseError::RequestTimedOut,
                format!(
                    "topic '{name}' was not created within the request's timeout; its creation goes on"
                ),
            )),
        };
        topics.push({
            match outcome {
                Ok(meta) => result
                    .with_topic_id(meta.id)
                    .with_num_partitions(meta.partitions.len() as i32)
                    .with_replication_factor(
                        meta.partitions
                            .first()
                            .map_or(0, |p| p.replicas.len() as i16),
                    )
                    .with_configs(Some(
                        topic_config::describe(&broker.settings, &configs)
                            .into_iter()
                            .map(|(k, v, src)| {
                                CreatableTopicConfigs::default()
                                    .with_name(str_bytes(k))
                                    .with_value(Some(str_bytes(v)))
                                    .with_config_source(src as i8)
                            })
                            .collect(),
                    )),
                Err(e) => result
                    .with_error_code(e.code())
                    .with_error_message(e.message.map(str_bytes))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1),
            }
        });
    }
    CreateTopicsResponse::default().with_topics(topics)
}
