//! Topic-level configs: the names Kafka uses, their broker-level defaults, how
//! values are validated, and how they turn into a [`LogConfig`].
//!
//! Only settings the broker actually honours are accepted: a value kfk could
//! not honour is refused with INVALID_CONFIG rather than stored and ignored.

use std::collections::BTreeMap;

use kfk_log::LogConfig;

use crate::config::{Settings, parse_timestamp_type};

/// Where a described value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    DynamicBroker = 2,
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
    /// A group config set on the group (Kafka's GROUP_CONFIG).
    DynamicGroup = 8,
}

/// Every topic config kfk knows, with the broker setting it defaults to.
const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// The topic configs Kafka types as LIST: IncrementalAlterConfigs may
/// APPEND to and SUBTRACT from them.
pub fn is_list(name: &str) -> bool {
    matches!(
        name,
        "cleanup.policy"
            | "follower.replication.throttled.replicas"
            | "leader.replication.throttled.replicas"
    )
}

/// Names of all topic configs, sorted.
pub fn names() -> &'static [&'static str] {
    TOPIC_CONFIGS
}

/// The broker-level default of a topic config, as a string.
pub fn broker_default(settings: &Settings, name: &str) -> Option<String> {
    Some(match name {
        "cleanup.policy" => settings.log_cleanup_policy.clone(),
        "compression.type" => settings.compression_type.clone(),
        "compression.gzip.level" => settings.compression_gzip_level.to_string(),
        "compression.lz4.level" => settings.compression_lz4_level.to_string(),
        "compression.zstd.level" => settings.compression_zstd_level.to_string(),
        "delete.retention.ms" => settings.log_cleaner_delete_retention_ms.to_string(),
        "max.compaction.lag.ms" => settings.log_cleaner_max_compaction_lag_ms.to_string(),
        "min.cleanable.dirty.ratio" => settings.log_cleaner_min_cleanable_ratio.to_string(),
        "min.compaction.lag.ms" => settings.log_cleaner_min_compaction_lag_ms.to_string(),
        "flush.messages" => as_kafka_long(settings.log_flush_interval_messages),
        "flush.ms" => settings.log_flush_interval_ms.to_string(),
        "follower.replication.throttled.replicas" | "leader.replication.throttled.replicas" => {
            String::new()
        }
        "index.interval.bytes" => settings.log_index_interval_bytes.to_string(),
        "max.message.bytes" => settings.message_max_bytes.to_string(),
        "message.timestamp.type" => settings.log_message_timestamp_type.clone(),
        "min.insync.replicas" => settings.min_insync_replicas.to_string(),
        "retention.bytes" => settings.log_retention_bytes.to_string(),
        "retention.ms" => settings.log_retention_ms.to_string(),
        "segment.bytes" => settings.log_segment_bytes.to_string(),
        "segment.ms" => settings.log_roll_ms.to_string(),
        // Decided by the controller from the topic's own configs alone, so
        // every voter elects the same way; Kafka's default.
        "unclean.leader.election.enable" => "false".into(),
        _ => return None,
    })
}

/// Kafka shows "never" for `flush.messages` as Long.MAX_VALUE.
fn as_kafka_long(v: u64) -> String {
    if v == u64::MAX {
        i64::MAX.to_string()
    } else {
        v.to_string()
    }
}

fn parse_range(name: &str, value: &str, min: i64, max: i64) -> Result<(), String> {
    match value.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(()),
        Ok(v) => Err(format!(
            "invalid value {v} for configuration {name}: must be between {min} and {max}"
        )),
        Err(_) => Err(format!(
            "invalid value {value:?} for configuration {name}: expected a number"
        )),
    }
}

/// Checks one `name=value` pair; the error message is shown to the client.
///
/// # Errors
/// A message naming the config and what is wrong with it.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    match name {
        "cleanup.policy" => kfk_log::CleanupPolicy::parse(value)
            .map(|_| ())
            .ok_or_else(|| format!("invalid value {value:?} for configuration cleanup.policy: expected delete, compact or compact,delete")),
        "delete.retention.ms" | "min.compaction.lag.ms" => parse_range(name, value, 0, i64::MAX),
        "max.compaction.lag.ms" => parse_range(name, value, 1, i64::MAX),
        "min.cleanable.dirty.ratio" => match value.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(()),
            _ => Err(format!(
                "invalid value {value:?} for configuration min.cleanable.dirty.ratio: expected a number between 0 and 1"
            )),
        },
        "compression.type" => match value {
            "producer" => Ok(()),
            v if kfk_wire::Compression::from_topic_config(v).is_some() => Ok(()),
            other => Err(format!(
                "Invalid value {other} for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
            )),
        },
        // Kafka's ranges (zstd's are the library's own).
        "compression.gzip.level" => match value.trim().parse::<i64>() {
            Ok(-1 | 1..=9) => Ok(()),
            _ => Err(format!(
                "Invalid value {value} for configuration compression.gzip.level: Value must be between 1 and 9, or -1"
            )),
        },
        "compression.lz4.level" => parse_range(name, value, 1, 17),
        "compression.zstd.level" => parse_range(name, value, -131_072, 22),
        "message.timestamp.type" => parse_timestamp_type(value)
            .map(|_| ())
            .ok_or_else(|| format!("invalid value {value:?} for message.timestamp.type: expected CreateTime or LogAppendTime")),
        "flush.messages" => parse_range(name, value, 1, i64::MAX),
        "flush.ms" | "segment.ms" => parse_range(name, value, 1, i64::MAX),
        "index.interval.bytes" | "max.message.bytes" => parse_range(name, value, 0, i64::from(i32::MAX)),
        "min.insync.replicas" => parse_range(name, value, 1, i64::from(i32::MAX)),
        "retention.bytes" | "retention.ms" => parse_range(name, value, -1, i64::MAX),
        "segment.bytes" => parse_range(name, value, 14, i64::from(i32::MAX)),
        "follower.replication.throttled.replicas" | "leader.replication.throttled.replicas" => {
            throttled_replicas(value)
                .map(|_| ())
                .ok_or_else(|| format!("invalid value {value:?} for {name}: expected *, or partition:broker pairs like 0:1,1:2"))
        }
        "unclean.leader.election.enable" => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(format!(
                "invalid value {value:?} for unclean.leader.election.enable: expected true or false"
            )),
        },
        other => Err(format!("unknown topic config {other}")),
    }
}

/// The levels the broker compresses with, per codec.
#[derive(Debug, Clone, Copy)]
pub struct CodecLevels {
    pub gzip: i64,
    pub lz4: i64,
    pub zstd: i64,
}

/// A `compression.type` as the codec batches are stored in; `None` for
/// `producer` (kept as sent).
pub fn target_codec(compression_type: &str, levels: CodecLevels) -> Option<kfk_wire::TargetCodec> {
    let compression = kfk_wire::Compression::from_topic_config(compression_type.trim())?;
    let level = match compression {
        kfk_wire::Compression::Gzip => levels.gzip,
        kfk_wire::Compression::Lz4 => levels.lz4,
        kfk_wire::Compression::Zstd => levels.zstd,
        _ => 0,
    };
    Some(kfk_wire::TargetCodec {
        compression,
        level: i32::try_from(level).unwrap_or(0),
    })
}

/// Which replicas a `*.replication.throttled.replicas` value throttles:
/// `None` if malformed, `Some(None)` for `*` (all), else the (partition,
/// broker) pairs.
pub fn throttled_replicas(value: &str) -> Option<Option<Vec<(i32, i32)>>> {
    let v = value.trim();
    if v == "*" {
        return Some(None);
    }
    if v.is_empty() {
        return Some(Some(Vec::new()));
    }
    v.split(',')
        .map(|pair| {
            let (p, b) = pair.trim().split_once(':')?;
            Some((p.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect::<Option<Vec<_>>>()
        .map(Some)
}

/// Whether `broker`'s replica of partition `p` is throttled by this
/// topic's `key` (`follower.replication.throttled.replicas`, ...).
pub fn is_throttled(overrides: &BTreeMap<String, String>, key: &str, p: i32, broker: i32) -> bool {
    match overrides.get(key).and_then(|v| throttled_replicas(v)) {
        Some(None) => true,
        Some(Some(pairs)) => pairs.contains(&(p, broker)),
        None => false,
    }
}

/// The log settings of a topic: broker defaults overlaid with its overrides
/// (which were validated when they were set).
pub fn log_config(settings: &Settings, overrides: &BTreeMap<String, String>) -> LogConfig {
    let mut c = settings.default_log_config();
    for (name, value) in overrides {
        let num = || value.trim().parse::<i64>().ok();
        match name.as_str() {
            "flush.messages" => {
                c.flush_messages = num().map(|v| v as u64).filter(|v| *v != i64::MAX as u64)
            }
            "flush.ms" => c.flush_ms = num().filter(|v| *v != i64::MAX),
            "index.interval.bytes" => c.index_interval_bytes = num().unwrap_or(4096) as u64,
            "max.message.bytes" => c.max_message_bytes = num().unwrap_or(0) as usize,
            "message.timestamp.type" => {
                c.timestamp_type = parse_timestamp_type(value).unwrap_or(c.timestamp_type)
            }
            "retention.bytes" => c.retention_bytes = num().unwrap_or(-1),
            "retention.ms" => c.retention_ms = num().unwrap_or(-1),
            "segment.bytes" => c.segment_bytes = num().unwrap_or(1 << 30) as u64,
            "segment.ms" => c.segment_ms = num().unwrap_or(c.segment_ms),
            "cleanup.policy" => {
                c.cleanup_policy = kfk_log::CleanupPolicy::parse(value).unwrap_or(c.cleanup_policy)
            }
            "delete.retention.ms" => c.delete_retention_ms = num().unwrap_or(c.delete_retention_ms),
            "min.compaction.lag.ms" => {
                c.min_compaction_lag_ms = num().unwrap_or(c.min_compaction_lag_ms)
            }
            "max.compaction.lag.ms" => {
                c.max_compaction_lag_ms = num().unwrap_or(c.max_compaction_lag_ms)
            }
            // Resolved below, with the levels.
            "compression.type"
            | "compression.gzip.level"
            | "compression.lz4.level"
            | "compression.zstd.level" => {}
            "min.cleanable.dirty.ratio" => {
                if let Ok(r) = value.trim().parse::<f64>() {
                    c.min_cleanable_dirty_permille = (r.clamp(0.0, 1.0) * 1000.0).round() as u32;
                }
            }
            _ => {}
        }
    }
    let setting = |name: &str| {
        overrides
            .get(name)
            .cloned()
            .or_else(|| broker_default(settings, name))
            .unwrap_or_default()
    };
    let level = |name: &str| setting(name).trim().parse::<i64>().unwrap_or(-1);
    c.compression = target_codec(
        &setting("compression.type"),
        CodecLevels {
            gzip: level("compression.gzip.level"),
            lz4: level("compression.lz4.level"),
            zstd: level("compression.zstd.level"),
        },
    );
    c
}

/// `min.insync.replicas` of a topic.
pub fn min_insync_replicas(settings: &Settings, overrides: &BTreeMap<String, String>) -> i32 {
    overrides
        .get("min.insync.replicas")
        .and_then(|v| v.parse().ok())
        .unwrap_or(settings.min_insync_replicas)
}

/// Value and source of every config of a topic, as DescribeConfigs shows them.
pub fn describe(
    settings: &Settings,
    overrides: &BTreeMap<String, String>,
) -> Vec<(String, String, ConfigSource)> {
    names()
        .iter()
        .map(|name| match overrides.get(*name) {
            Some(v) => (name.to_string(), v.clone(), ConfigSource::DynamicTopic),
            None => (
                name.to_string(),
                broker_default(settings, name).unwrap_or_default(),
                ConfigSource::Default,
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileSettings, SettingArgs};

    #[test]
    fn overrides_reach_the_log_config() {
        let settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        let mut o = BTreeMap::new();
        o.insert("retention.ms".to_string(), "1000".to_string());
        o.insert("segment.bytes".to_string(), "1048576".to_string());
        o.insert(
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        );
        let c = log_config(&settings, &o);
        assert_eq!(c.retention_ms, 1000);
        assert_eq!(c.segment_bytes, 1 << 20);
        assert_eq!(c.timestamp_type, kfk_wire::TimestampType::LogAppendTime);
        assert_eq!(c.max_message_bytes, 1_048_588);
    }

    #[test]
    fn values_kfk_cannot_honour_are_refused() {
        assert!(validate("cleanup.policy", "compact").is_ok());
        assert!(validate("cleanup.policy", "compact, delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert!(validate("min.cleanable.dirty.ratio", "0.1").is_ok());
        assert!(validate("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate("compression.type", "gzip").is_ok());
        assert!(validate("compression.type", "uncompressed").is_ok());
        assert!(validate("compression.type", "brotli").is_err());
        assert!(validate("compression.gzip.level", "10").is_err());
        assert!(validate("compression.zstd.level", "-5").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("retention.ms", "-1").is_ok());
    }

    #[test]
    fn every_name_has_a_default_and_validates_it() {
        let settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        for name in names() {
            let v = broker_default(&settings, name).unwrap();
            validate(name, &v).unwrap_or_else(|e| panic!("{name}={v}: {e}"));
        }
    }
}
