//! The error a request handler answers with: a Kafka error code and the
//! message sent along with it. Kafka error codes are data in a response, not
//! a reason to close the connection; every part of the broker that validates
//! a request returns this.

use kafka_protocol::ResponseError;
use kfk_log::LogError;

/// A Kafka error code with the message sent along with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error: ResponseError,
    pub message: Option<String>,
    /// Produce v8+: which records of the batch were refused and why (their
    /// index in the batch), so a client can say which of its sends failed.
    pub record_errors: Vec<(i32, String)>,
}

impl ApiError {
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        ApiError {
            error,
            message: Some(message.into()),
            record_errors: Vec::new(),
        }
    }

    pub fn with_record_errors(mut self, record_errors: Vec<(i32, String)>) -> Self {
        self.record_errors = record_errors;
        self
    }

    pub fn code(&self) -> i16 {
        self.error.code()
    }
}

impl From<ResponseError> for ApiError {
    fn from(error: ResponseError) -> Self {
        ApiError {
            error,
            message: None,
            record_errors: Vec::new(),
        }
    }
}

/// A storage failure as clients see it (KAFKA_STORAGE_ERROR).
pub fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ResponseError::KafkaStorageError, e.to_string())
}

/// The Kafka error for an append the log refused.
pub fn log_error(e: &LogError) -> ApiError {
    let code = match e {
        LogError::CorruptBatch { .. } => ResponseError::CorruptMessage,
        LogError::InvalidBatch { .. } | LogError::EmptyRecordSet => ResponseError::InvalidRecord,
        LogError::BatchTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::Io { .. } | LogError::DataDirInUse { .. } | LogError::CorruptSegment { .. } => {
            ResponseError::KafkaStorageError
        }
        _ => ResponseError::UnknownServerError,
    };
    ApiError::new(code, e.to_string())
}
