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

    /// The cluster could not be reached or refused the request (50002).
    pub fn kafka(message: impl std::fmt::Display) -> RestError {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            50002,
            message.to_string(),
        )
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, V2_JSON)],
            json!({"error_code": self.code, "message": self.message}).to_string(),
        )
            .into_response()
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
