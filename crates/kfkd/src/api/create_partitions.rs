//! CreatePartitions: grow a topic's partition count.

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::str_bytes;
use crate::broker::Broker;

/// Answers REQUEST_TIMED_OUT for a change still going on at the request's
/// `timeout_ms`, as Kafka does; it completes anyway (kfk-client then finds
/// the topic grown and recognises its own change).
pub async fn handle(
    broker: &Arc<Broker>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let deadline = super::deadline(req.timeout_ms);
    let mut results = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let assignments = t.assignments.map(|all| {
            all.into_iter()
                .map(|a| a.broker_ids.into_iter().map(|b| b.0).collect())
                .collect()
        });
        let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        let work = {
            let broker = Arc::clone(broker);
            let name = t.name.0.to_string();
            let validate_only = req.validate_only;
            tokio::spawn(async move {
                broker
                    .create_partitions(&name, t.count, assignments, validate_only)
                    .await
            })
        };
        let outcome = super::within(deadline, work).await.unwrap_or_else(|| {
            Err(crate::error::ApiError::new(
                kafka_protocol::ResponseError::RequestTimedOut,
                format!(
                    "the partitions of '{}' were not added within the request's timeout; the change goes on",
                    &*t.name.0
                ),
            ))
        });
        results.push(match outcome {
            Ok(()) => result,
            Err(e) => result
                .with_error_code(e.code())
                .with_error_message(e.message.map(str_bytes)),
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}
