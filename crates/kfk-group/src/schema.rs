//! Group state as records of the internal topic `__consumer_offsets`: each
//! committed offset and each group's membership after a rebalance is one
//! record, keyed so the latest record per key is the current value and a null
//! value deletes it. A coordinator that takes over a partition replays it.
//!
//! Keys and values are JSON (kfk's own format, not Kafka's binary schema:
//! only kfk coordinators read this topic):
//! `{"offset":{"group":G,"topic":T,"partition":P}}` ->
//! `{"offset":N,"leader_epoch":E,"metadata":M,"commit_timestamp":MS}`, and
//! `{"group":G}` -> the [`GroupValue`] of a classic group, and
//! `{"consumer_group":G}` -> the [`ConsumerGroup`] of a KIP-848 one (a group
//! is one or the other; becoming the other writes a tombstone for the first).

use serde::{Deserialize, Serialize};

use crate::consumer::ConsumerGroup;

/// The internal topic's name, as in Kafka.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group(String),
    ConsumerGroup(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_timestamp: i64,
}

/// A member as persisted after a rebalance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberValue {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// Protocol name -> metadata (the member's subscription).
    pub protocols: Vec<(String, Vec<u8>)>,
    pub assignment: Vec<u8>,
}

/// A group's state after its last completed rebalance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberValue>,
}

/// One record to write: a key and a value, `None` deleting the key.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: RecordKey,
    pub value: Option<Vec<u8>>,
}

impl Entry {
    pub fn offset(key: RecordKey, value: &OffsetValue) -> Entry {
        Entry {
            key,
            value: serde_json::to_vec(value).ok(),
        }
    }
    pub fn group(group: &str, value: &GroupValue) -> Entry {
        Entry {
            key: RecordKey::Group(group.to_string()),
            value: serde_json::to_vec(value).ok(),
        }
    }
    pub fn consumer_group(group: &str, value: &ConsumerGroup) -> Entry {
        Entry {
            key: RecordKey::ConsumerGroup(group.to_string()),
            value: serde_json::to_vec(value).ok(),
        }
    }
    pub fn tombstone(key: RecordKey) -> Entry {
        Entry { key, value: None }
    }
    /// Deletes a group of either protocol: a group may have been both in its
    /// life, and neither record may outlive it.
    pub fn group_tombstones(group: &str) -> [Entry; 2] {
        [
            Entry::tombstone(RecordKey::Group(group.to_string())),
            Entry::tombstone(RecordKey::ConsumerGroup(group.to_string())),
        ]
    }
    /// Deletes `group`'s committed offset of one partition.
    pub fn offset_tombstone(group: &str, topic: &str, partition: i32) -> Entry {
        Entry::tombstone(RecordKey::Offset {
            group: group.to_string(),
            topic: topic.to_string(),
            partition,
        })
    }
}

/// A record read back while loading a partition.
#[derive(Debug, Clone)]
pub enum Loaded {
    Offset {
        group: String,
        topic: String,
        partition: i32,
        value: Option<OffsetValue>,
    },
    Group {
        group: String,
        value: Option<GroupValue>,
    },
    ConsumerGroup {
        group: String,
        value: Option<Box<ConsumerGroup>>,
    },
}

/// A record of the offsets topic read back; `None` for one kfk did not write.
pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Option<Loaded> {
    let key: RecordKey = serde_json::from_slice(key?).ok()?;
    Some(match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => Loaded::Offset {
            group,
            topic,
            partition,
            value: match value {
                Some(v) => Some(serde_json::from_slice(v).ok()?),
                None => None,
            },
        },
        RecordKey::Group(group) => Loaded::Group {
            group,
            value: match value {
                Some(v) => Some(serde_json::from_slice(v).ok()?),
                None => None,
            },
        },
        RecordKey::ConsumerGroup(group) => Loaded::ConsumerGroup {
            group,
            value: match value {
                Some(v) => Some(Box::new(serde_json::from_slice(v).ok()?)),
                None => None,
            },
        },
    })
}

/// Java's `String.hashCode`, which Kafka uses to place groups.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The offsets partition that holds `group` (Kafka's
/// `Utils.abs(groupId.hashCode) % partitions`).
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let h = java_hash(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_land_where_kafka_puts_them() {
        // Values of Java's String.hashCode.
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
        // Utils.abs(Integer.MIN_VALUE) is 0 in Kafka.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
    }

    #[test]
    fn records_round_trip() {
        let v = OffsetValue {
            offset: 42,
            leader_epoch: 3,
            metadata: Some("m".into()),
            commit_timestamp: 1,
        };
        let e = Entry::offset(
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 0,
            },
            &v,
        );
        let key = serde_json::to_vec(&e.key).unwrap();
        match decode(Some(&key), e.value.as_deref()) {
            Some(Loaded::Offset { value, .. }) => assert_eq!(value, Some(v)),
            other => panic!("{other:?}"),
        }
        let t = Entry::tombstone(RecordKey::Group("g".into()));
        let key = serde_json::to_vec(&t.key).unwrap();
        assert!(matches!(
            decode(Some(&key), None),
            Some(Loaded::Group { value: None, .. })
        ));
    }
}
