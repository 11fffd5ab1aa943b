//! What kafka-console-consumer prints, field for field: its default
//! formatter's `--property` switches (`print.timestamp`, `print.partition`,
//! `print.offset`, `print.headers`, `print.key`, `print.value`) and
//! separators (`key.separator`, `line.separator`, `headers.separator`,
//! `null.literal`), so scripts written against
//! Kafka's output read kfk's unchanged: `NO_HEADERS` for a record without
//! headers, `null` for a null key or value, `LogAppendTime:` on topics that
//! stamp records on append, and a separator only between fields.

use std::collections::BTreeMap;

use kfk_client::ConsumerRecord;

use crate::error::{CliError, CliResult};
use crate::format::{Look, style};

/// The deserializers a console consumer may name that print the bytes as
/// they are, which is all kfk prints.
const RAW_DESERIALIZERS: &[&str] = &[
    "org.apache.kafka.common.serialization.StringDeserializer",
    "org.apache.kafka.common.serialization.ByteArrayDeserializer",
    "org.apache.kafka.common.serialization.BytesDeserializer",
];

/// The formatter's settings, from `--property` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleFormat {
    timestamp: bool,
    partition: bool,
    offset: bool,
    headers: bool,
    key: bool,
    value: bool,
    key_separator: Vec<u8>,
    line_separator: Vec<u8>,
    headers_separator: Vec<u8>,
    null_literal: Vec<u8>,
}

impl ConsoleFormat {
    /// Reads the properties as Kafka's formatter does (`true`, any case,
    /// switches a field on).
    ///
    /// # Errors
    /// A property Kafka's formatter does not have, or a deserializer that
    /// would print something other than the bytes.
    pub fn from_properties(props: &BTreeMap<String, String>) -> CliResult<ConsoleFormat> {
        for (k, v) in props {
            match k.as_str() {
                "print.timestamp"
                | "print.partition"
                | "print.offset"
                | "print.headers"
                | "print.key"
                | "print.value"
                | "key.separator"
                | "line.separator"
                | "headers.separator"
                | "headers.key.separator"
                | "null.literal" => {}
                "key.deserializer" | "value.deserializer" | "headers.deserializer" => {
                    if !RAW_DESERIALIZERS.contains(&v.as_str()) {
                        return Err(CliError::usage(format!("{k}={v} is not supported"))
                            .hint("kfk prints keys, values and headers as their bytes (StringDeserializer); `-o jsonl` shows binary ones as base64"));
                    }
                }
                _ => {
                    return Err(CliError::usage(format!("unsupported --property {k}"))
                        .hint("kfk consume understands Kafka's print.timestamp, print.partition, print.offset, print.headers, print.key, print.value, key.separator, line.separator, headers.separator and null.literal; or use --format"));
                }
            }
        }
        let on = |k: &str, default: bool| {
            props
                .get(k)
                .map_or(default, |v| v.eq_ignore_ascii_case("true"))
        };
        let text = |k: &str, default: &str| property_bytes(props, k, default);
        Ok(ConsoleFormat {
            timestamp: on("print.timestamp", false),
            partition: on("print.partition", false),
            offset: on("print.offset", false),
            headers: on("print.headers", false),
            key: on("print.key", false),
            value: on("print.value", true),
            key_separator: text("key.separator", "\t"),
            line_separator: text("line.separator", "\n"),
            headers_separator: text("headers.separator", ","),
            null_literal: text("null.literal", "null"),
        })
    }

    /// Appends one record's line to `out`.
    pub fn render(&self, r: &ConsumerRecord, out: &mut Vec<u8>, look: Look) {
        let fields = [
            self.timestamp,
            self.partition,
            self.offset,
            self.headers,
            self.key,
            self.value,
        ];
        // Kafka writes the separator after a field only when another follows.
        let more_after = |i: usize| fields[i + 1..].iter().any(|f| *f);
        let paint = |out: &mut Vec<u8>, text: &str, kind: fn(&str) -> String| {
            out.extend_from_slice(style(text, kind, look).as_bytes());
        };
        for (i, on) in fields.iter().enumerate() {
            if !on {
                continue;
            }
            match i {
                0 => {
                    let kind = if r.log_append_time {
                        "LogAppendTime"
                    } else {
                        "CreateTime"
                    };
                    paint(out, &format!("{kind}:{}", r.timestamp), crate::format::time);
                }
                1 => paint(
                    out,
                    &format!("Partition:{}", r.partition),
                    crate::format::position,
                ),
                2 => paint(
                    out,
                    &format!("Offset:{}", r.offset),
                    crate::format::position,
                ),
                3 => self.headers_into(r, out, look),
                4 => match &r.key {
                    Some(k) if look.color => {
                        paint(out, &String::from_utf8_lossy(k), crate::format::key);
                    }
                    Some(k) => out.extend_from_slice(k),
                    None => out.extend_from_slice(&self.null_literal),
                },
                _ => match &r.value {
                    Some(_) => crate::format::value_bytes(r, out, look),
                    None => out.extend_from_slice(&self.null_literal),
                },
            }
            if i + 1 < fields.len() && more_after(i) {
                out.extend_from_slice(&self.key_separator);
            }
        }
        out.extend_from_slice(&self.line_separator);
    }

    fn headers_into(&self, r: &ConsumerRecord, out: &mut Vec<u8>, look: Look) {
        if r.headers.is_empty() {
            out.extend_from_slice(b"NO_HEADERS");
            return;
        }
        let mut text = Vec::new();
        for (i, (name, value)) in r.headers.iter().enumerate() {
            if i > 0 {
                text.extend_from_slice(&self.headers_separator);
            }
            text.extend_from_slice(name.as_bytes());
            text.push(b':');
            match value {
                Some(v) => text.extend_from_slice(v),
                None => text.extend_from_slice(&self.null_literal),
            }
        }
        if look.color {
            out.extend_from_slice(
                style(&String::from_utf8_lossy(&text), crate::format::header, look).as_bytes(),
            );
        } else {
            out.extend_from_slice(&text);
        }
    }
}

/// A console tool's text property as bytes, or its default: shared by the
/// consumer's formatter and the producer's line reader.
pub(crate) fn property_bytes(
    props: &BTreeMap<String, String>,
    key: &str,
    default: &str,
) -> Vec<u8> {
    props
        .get(key)
        .map_or(default, String::as_str)
        .as_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn record(
        key: Option<&str>,
        value: Option<&str>,
        headers: &[(&str, Option<&str>)],
    ) -> ConsumerRecord {
        ConsumerRecord {
            topic: "t".into(),
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_123,
            log_append_time: false,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                    )
                })
                .collect(),
        }
    }

    fn show(props: &[(&str, &str)], r: &ConsumerRecord) -> String {
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let f = ConsoleFormat::from_properties(&props).unwrap();
        let mut out = Vec::new();
        f.render(r, &mut out, Look::default());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_field_as_kafkas_formatter_prints_it() {
        let all = [
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.headers", "true"),
            ("print.key", "true"),
        ];
        assert_eq!(
            show(
                &all,
                &record(Some("k"), Some("v"), &[("a", Some("1")), ("b", None)])
            ),
            "CreateTime:1700000000123\tPartition:2\tOffset:41\ta:1,b:null\tk\tv\n"
        );
        assert_eq!(
            show(&all, &record(None, None, &[])),
            "CreateTime:1700000000123\tPartition:2\tOffset:41\tNO_HEADERS\tnull\tnull\n"
        );
        let mut appended = record(Some("k"), Some("v"), &[]);
        appended.log_append_time = true;
        assert_eq!(
            show(&[("print.timestamp", "true")], &appended),
            "LogAppendTime:1700000000123\tv\n"
        );
    }

    #[test]
    fn separators_only_between_fields_and_as_set() {
        let r = record(Some("k"), None, &[("a", Some("1")), ("b", Some("2"))]);
        assert_eq!(
            show(
                &[
                    ("print.key", "true"),
                    ("print.value", "false"),
                    ("key.separator", " -> ")
                ],
                &r
            ),
            "k\n"
        );
        assert_eq!(
            show(
                &[
                    ("print.headers", "TRUE"),
                    ("print.key", "true"),
                    ("key.separator", "|"),
                    ("headers.separator", ";"),
                    ("null.literal", "<none>"),
                    ("line.separator", "\r\n"),
                ],
                &r
            ),
            "a:1;b:2|k|<none>\r\n"
        );
        assert_eq!(show(&[], &r), "null\n");
    }

    #[test]
    fn unknown_properties_and_other_deserializers_are_refused() {
        let props = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(ConsoleFormat::from_properties(&props("print.everything", "true")).is_err());
        assert!(
            ConsoleFormat::from_properties(&props(
                "value.deserializer",
                "org.apache.kafka.common.serialization.LongDeserializer"
            ))
            .is_err()
        );
        assert!(
            ConsoleFormat::from_properties(&props(
                "key.deserializer",
                "org.apache.kafka.common.serialization.StringDeserializer"
            ))
            .is_ok()
        );
    }
}
