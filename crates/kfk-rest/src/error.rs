//! Every failure the proxy answers, as kafka-rest shapes it: an HTTP status
//! and `{"error_code": N, "message": "..."}` with the v2 content type, never
//! a bare text body, so clients written against kafka-rest can read it.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The v2 content type of every JSON answer.
pub const V2_JSON: &str = "application/vnd.kafka.v2+json";

/// A kafka-rest error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    pub status: StatusCode,
    /// kafka-rest's code: the HTTP status followed by two digits (40401).
    pub code: u32,
    pub message: String,
}

impl RestError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> RestError {
        RestError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn topic_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40401, "Topic not found.")
    }

    pub fn partition_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40402, "Partition not found.")
    }

    pub fn instance_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40403, "Consumer instance not found.")
    }

    /// A body that is not what the endpoint takes (kafka-rest's 42200).
    pub fn unprocessable(message: impl Into<String>) -> RestError {
        RestError::new(StatusCode::UNPROCESSABLE_ENTITY, 42200, message)
    }

    /// The cluster could not be reached or refused the request (50002);
    /// a refused authentication is 401 (40101) and a missing ACL 403
    /// (40301), as kafka-rest answers them.
    pub fn kafka<E: std::fmt::Display + 'static>(e: E) -> RestError {
        use kafka_protocol::ResponseError as K;
        let known = (&e as &dyn std::any::Any).downcast_ref::<kfk_client::ClientError>();
        let refused = known.and_then(|c| match c {
            kfk_client::ClientError::Kafka { error, .. } => Some(*error),
            kfk_client::ClientError::Unreachable { last, .. }
                if last.contains("SaslAuthenticationFailed") =>
            {
                Some(K::SaslAuthenticationFailed)
            }
            _ => None,
        });
        match refused {
            Some(K::SaslAuthenticationFailed) => RestError::unauthorized(e.to_string()),
            Some(
                K::TopicAuthorizationFailed
                | K::GroupAuthorizationFailed
                | K::ClusterAuthorizationFailed
                | K::TransactionalIdAuthorizationFailed,
            ) => RestError::new(StatusCode::FORBIDDEN, 40301, e.to_string()),
            _ => RestError::new(StatusCode::INTERNAL_SERVER_ERROR, 50002, e.to_string()),
        }
    }

    /// No credentials, or credentials the cluster refused (40101).
    pub fn unauthorized(message: impl Into<String>) -> RestError {
        RestError::new(StatusCode::UNAUTHORIZED, 40101, message)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, V2_JSON)],
            json!({"error_code": self.code, "message": self.message}).to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"kfk\""),
            );
        }
        response
    }
}

/// A path segment that does not parse (`/partitions/abc`, a partition past
/// i32): 404 as kafka-rest answers for a resource that cannot exist.
impl From<PathRejection> for RestError {
    fn from(e: PathRejection) -> RestError {
        RestError::new(
            StatusCode::NOT_FOUND,
            404,
            format!("HTTP 404 Not Found: {e}"),
        )
    }
}

/// A body that could not be read, above all one past the size limit.
impl From<BytesRejection> for RestError {
    fn from(e: BytesRejection) -> RestError {
        let status = e.status();
        let code = u32::from(status.as_u16()) * 100;
        RestError::new(status, code, e.body_text())
    }
}

/// What the handlers return: a response, or a kafka-rest error.
pub type RestResult = Result<Response, RestError>;
