//! DeleteTopics: by name (v1-5) or by name or id (v6).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use std::sync::Arc;

use uuid::Uuid;

use super::{str_bytes, topic_name};
use crate::broker::Broker;

async fn delete(
    broker: &Arc<Broker>,
    name: Option<String>,
    id: Uuid,
    deadline: Option<tokio::time::Instant>,
) -> DeletableTopicResult {
    let name = name.or_else(|| broker.with_image(|i| i.topic_by_id(id).map(|(n, _)| n.clone())));
    let Some(name) = name else {
        return DeletableTopicResult::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code());
    };
    let result = DeletableTopicResult::default().with_name(Some(topic_name(&name)));
    let work = {
        let broker = Arc::clone(broker);
        let name = name.clone();
        tokio::spawn(async move { broker.delete_topic(&name).await })
    };
    let outcome = super::within(deadline, work).await.unwrap_or_else(|| {
        Err(crate::error::ApiError::new(
            ResponseError::RequestTimedOut,
            format!(
                "topic '{name}' was not deleted within the request's timeout; its deletion goes on"
            ),
        ))
    });
    match outcome {
        Ok(meta) => result.with_topic_id(meta.id),
        Err(e) => result
            .with_topic_id(id)
            .with_error_code(e.code())
            .with_error_message(e.message.map(str_bytes)),
    }
}

/// Answers REQUEST_TIMED_OUT for a deletion still going on at the
/// request's `timeout_ms`, as Kafka does; it completes anyway.
pub async fn handle(broker: &Arc<Broker>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let deadline = super::deadline(req.timeout_ms);
    let mut responses = Vec::new();
    for n in req.topic_names {
        responses.push(delete(broker, Some(n.0.to_string()), Uuid::nil(), deadline).await);
    }
    for t in req.topics {
        responses.push(
            delete(
                broker,
                t.name.map(|n| n.0.to_string()),
                t.topic_id,
                deadline,
            )
            .await,
        );
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
