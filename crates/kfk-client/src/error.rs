//! Client errors. Kafka error codes keep their protocol identity
//! ([`ClientError::Kafka`]) so callers can tell retriable ones apart and show
//! the broker's message.

use std::io;

use kafka_protocol::ResponseError;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No bootstrap broker answered.
    #[error("cannot reach any broker at {addrs}: {last}")]
    Unreachable { addrs: String, last: String },
    #[error("connection to {addr} failed: {source}")]
    Io { addr: String, source: io::Error },
    #[error("{addr} did not answer within {secs} s")]
    Timeout { addr: String, secs: u64 },
    /// The broker speaks no version of an API this client can use.
    #[error("broker {addr} does not support {api}")]
    Unsupported { addr: String, api: &'static str },
    /// The TLS handshake failed: an untrusted or misnamed certificate, or a
    /// listener that does not speak TLS.
    #[error("TLS with {addr} failed: {reason}")]
    Tls { addr: String, reason: String },
    /// Undecodable bytes or a broken exchange.
    #[error("protocol error with {addr}: {reason}")]
    Protocol { addr: String, reason: String },
    /// An error code from the broker, with what it was about.
    #[error("{context}: {error}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kafka {
        error: ResponseError,
        message: Option<String>,
        context: String,
    },
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
    #[error("partition {partition} of topic '{topic}' does not exist")]
    UnknownPartition { topic: String, partition: i32 },
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A record's batch failed; the reason, as one error for every record
    /// of the batch.
    #[error("{0}")]
    Failed(String),
    /// A fetched batch fails its checksum or does not parse: the data on the
    /// broker is damaged from `offset` on (to `last_offset` when the batch
    /// header could still be read).
    #[error(
        "corrupt record batch at offset {offset} in {topic}-{partition} (data on the broker is damaged: {reason})"
    )]
    CorruptBatch {
        topic: String,
        partition: i32,
        offset: i64,
        last_offset: Option<i64>,
        reason: String,
    },
}

impl ClientError {
    /// Builds [`ClientError::Kafka`] from a response's code and message; `None`
    /// for code 0.
    pub fn from_code(code: i16, message: Option<&str>, context: impl Into<String>) -> Option<Self> {
        ResponseError::try_from_code(code).map(|error| ClientError::Kafka {
            error,
            message: message.map(str::to_string),
            context: context.into(),
        })
    }

    /// `Err` with [`ClientError::from_code`]'s error when `code` is one.
    ///
    /// # Errors
    /// The Kafka error that `code` stands for.
    pub fn check(code: i16, message: Option<&str>, context: impl Into<String>) -> Result<()> {
        match ClientError::from_code(code, message, context) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether trying again (after refreshing metadata) may succeed.
    /// Whether the request may have been carried out although no answer
    /// said so (it timed out, or the connection broke after sending).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ClientError::Kafka { error, .. } => *error == ResponseError::RequestTimedOut,
            ClientError::Io { .. } | ClientError::Timeout { .. } => true,
            _ => false,
        }
    }

    pub fn is_invalid_partitions(&self) -> bool {
        matches!(self, ClientError::Kafka { error, .. } if *error == ResponseError::InvalidPartitions)
    }

    pub fn is_topic_exists(&self) -> bool {
        matches!(self, ClientError::Kafka { error, .. } if *error == ResponseError::TopicAlreadyExists)
    }

    pub fn is_unknown_topic(&self) -> bool {
        matches!(self, ClientError::UnknownTopic(_))
            || matches!(self, ClientError::Kafka { error, .. } if *error == ResponseError::UnknownTopicOrPartition)
    }

    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { error, .. } => error.is_retriable(),
            ClientError::Io { .. } | ClientError::Timeout { .. } => true,
            _ => false,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
