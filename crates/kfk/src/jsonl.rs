//! The JSON form of a record, written by `kfk consume -o jsonl|json` and read
//! by `kfk produce --input jsonl`, so a topic can be dumped and replayed
//! losslessly: UTF-8 bytes are strings, other bytes `{"base64": "..."}`, and
//! `null` (no key) is distinct from `""` (empty key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kfk_client::ConsumerRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub key: Value,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub headers: Vec<Header>,
}

pub fn encode_bytes(b: &Option<Bytes>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => serde_json::json!({ "base64": STANDARD.encode(b) }),
        },
    }
}

/// # Errors
/// A value that is neither null, a string nor `{"base64": ...}`.
pub fn decode_bytes(v: &Value, what: &str) -> CliResult<Option<Bytes>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Bytes::from(s.clone()))),
        Value::Object(o) => match o.get("base64").and_then(Value::as_str) {
            Some(b64) => STANDARD
                .decode(b64)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| CliError::usage(format!("{what}: invalid base64: {e}"))),
            None => Err(CliError::usage(format!(
                "{what}: expected a string, null or {{\"base64\": ...}}"
            ))),
        },
        other => Err(CliError::usage(format!(
            "{what}: expected a string, null or {{\"base64\": ...}}, got {other}"
        ))),
    }
}

impl From<&ConsumerRecord> for JsonRecord {
    fn from(r: &ConsumerRecord) -> Self {
        JsonRecord {
            topic: Some(r.topic.to_string()),
            partition: Some(r.partition),
            offset: Some(r.offset),
            timestamp: Some(r.timestamp),
            key: encode_bytes(&r.key),
            value: encode_bytes(&r.value),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    value: encode_bytes(v),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_including_binary_null_and_empty() {
        for b in [
            None,
            Some(Bytes::new()),
            Some(Bytes::from_static(b"text")),
            Some(Bytes::from_static(&[0xff, 0, 1])),
        ] {
            assert_eq!(decode_bytes(&encode_bytes(&b), "x").unwrap(), b);
        }
        assert_eq!(
            encode_bytes(&Some(Bytes::from_static(&[0xff]))),
            serde_json::json!({"base64": "/w=="})
        );
        assert!(decode_bytes(&serde_json::json!(5), "x").is_err());
    }
}
