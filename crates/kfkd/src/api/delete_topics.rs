//! DeleteTopics: by name (v1-5) or by name or id (v6).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use uuid::Uuid;

use super::{str_bytes, topic_name};
use crate::broker::Broker;

async fn delete(broker: &Broker, name: Option<String>, id: Uuid) -> DeletableTopicResult {
    let name = name.or_else(|| broker.with_image(|i| i.topic_by_id(id).map(|(n, _)| n.clone())));
    let Some(name) = name else {
        return DeletableTopicResult::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code());
    };
    let result = DeletableTopicResult::default().with_name(Some(topic_name(&name)));
    match broker.delete_topic(&name).await {
        Ok(meta) => result.with_topic_id(meta.id),
        Err(e) => result
            .with_topic_id(id)
            .with_error_code(e.code())
            .with_error_message(e.message.map(str_bytes)),
    }
}

pub async fn handle(broker: &Broker, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut responses = Vec::new();
    for n in req.topic_names {
        responses.push(delete(broker, Some(n.0.to_string()), Uuid::nil()).await);
    }
    for t in req.topics {
        responses.push(delete(broker, t.name.map(|n| n.0.to_string()), t.topic_id).await);
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
