//! The protocol's name types built from strings, in one place: topic names,
//! group ids and plain protocol strings.

use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

pub fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

pub fn topic_name(name: impl Into<String>) -> TopicName {
    TopicName(str_bytes(name))
}

pub fn group_id(id: impl Into<String>) -> GroupId {
    GroupId(str_bytes(id))
}
