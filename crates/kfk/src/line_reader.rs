//! How kafka-console-producer reads a line into a record, from its
//! `--property` (Kafka 4: `--reader-property`) switches: `parse.key` with
//! `key.separator`, `parse.headers` with `headers.delimiter`,
//! `headers.separator` and `headers.key.separator`, `null.marker` for a null
//! key, value or header value, and `ignore.error` to take a line without a
//! separator whole. A line Kafka's reader refuses is refused here with the
//! same reason, so input prepared for one producer works with the other.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::console_format::property_bytes;
use crate::error::{CliError, CliResult};

/// One line read: key, value and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// The header syntax of a line with `parse.headers=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderSyntax {
    delimiter: Vec<u8>,
    separator: Vec<u8>,
    key_separator: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineReader {
    key_separator: Option<Vec<u8>>,
    headers: Option<HeaderSyntax>,
    null_marker: Option<Vec<u8>>,
    ignore_error: bool,
}

const KNOWN: &[&str] = &[
    "parse.key",
    "key.separator",
    "parse.headers",
    "headers.delimiter",
    "headers.separator",
    "headers.key.separator",
    "null.marker",
    "ignore.error",
];

impl LineReader {
    /// The reader the properties describe; `-K SEP` stands for
    /// `parse.key=true` with that separator.
    ///
    /// # Errors
    /// A property Kafka's reader does not have, or a null marker equal to a
    /// separator (Kafka refuses those too: a line could not be read back).
    pub fn from_properties(
        props: &BTreeMap<String, String>,
        key_flag: Option<&str>,
    ) -> CliResult<LineReader> {
        if let Some(k) = props.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(
                CliError::usage(format!("unsupported --property {k}")).hint(format!(
                    "kfk produce understands Kafka's reader properties: {}",
                    KNOWN.join(", ")
                )),
            );
        }
        let on = |k: &str| props.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let text = |k: &str, default: &str| property_bytes(props, k, default);
        let key_separator = match key_flag {
            Some(sep) => Some(sep.as_bytes().to_vec()),
            None => on("parse.key").then(|| text("key.separator", "\t")),
        };
        let headers = on("parse.headers").then(|| HeaderSyntax {
            delimiter: text("headers.delimiter", "\t"),
            separator: text("headers.separator", ","),
            key_separator: text("headers.key.separator", ":"),
        });
        let null_marker = props
            .get("null.marker")
            .filter(|m| !m.is_empty())
            .map(|m| m.as_bytes().to_vec());
        if let Some(marker) = &null_marker {
            let clashes = [
                ("key.separator", key_separator.as_ref()),
                ("headers.delimiter", headers.as_ref().map(|h| &h.delimiter)),
                ("headers.separator", headers.as_ref().map(|h| &h.separator)),
                (
                    "headers.key.separator",
                    headers.as_ref().map(|h| &h.key_separator),
                ),
            ];
            if let Some((name, _)) = clashes.iter().find(|(_, sep)| *sep == Some(marker)) {
                return Err(CliError::usage(format!(
                    "null.marker and {name} are both {:?}",
                    String::from_utf8_lossy(marker)
                )));
            }
        }
        Ok(LineReader {
            key_separator,
            headers,
            null_marker,
            ignore_error: on("ignore.error"),
        })
    }

    /// The key separator alone, for the prompt (which sets headers with
    /// `:header`).
    pub fn key_separator(&self) -> Option<String> {
        self.key_separator
            .as_ref()
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// Whether the properties ask for more than a key separator.
    pub fn beyond_keys(&self) -> bool {
        self.headers.is_some() || self.null_marker.is_some()
    }

    /// Reads line `number` (1-based, for messages).
    ///
    /// # Errors
    /// A missing separator (unless `ignore.error`), or a header key equal to
    /// the null marker.
    pub fn parse(&self, line: &[u8], number: usize) -> CliResult<ParsedLine> {
        let mut rest = line;
        let mut headers = Vec::new();
        if let Some(h) = &self.headers {
            match find(rest, &h.delimiter) {
                Some(at) => {
                    headers = self.headers_of(&rest[..at], h, number)?;
                    rest = &rest[at + h.delimiter.len()..];
                }
                None if self.ignore_error => {}
                None => {
                    return Err(self.refused("no headers delimiter", &h.delimiter, number));
                }
            }
        }
        let (key, value) = match &self.key_separator {
            Some(sep) => match find(rest, sep) {
                Some(at) => (self.nullable(&rest[..at]), &rest[at + sep.len()..]),
                None if self.ignore_error => (None, rest),
                None => return Err(self.refused("no key separator", sep, number)),
            },
            None => (None, rest),
        };
        Ok(ParsedLine {
            key,
            value: self.nullable(value),
            headers,
        })
    }

    fn headers_of(
        &self,
        text: &[u8],
        h: &HeaderSyntax,
        number: usize,
    ) -> CliResult<Vec<(String, Option<Bytes>)>> {
        // As Kafka's reader: an empty header part is one empty pair, which
        // has no key separator.
        let mut out = Vec::new();
        for pair in split(text, &h.separator) {
            let (name, value) = match find(pair, &h.key_separator) {
                Some(at) => (
                    &pair[..at],
                    self.nullable(&pair[at + h.key_separator.len()..]),
                ),
                None if self.ignore_error => (pair, None),
                None => {
                    return Err(CliError::usage(format!(
                        "line {number}: no header key separator {:?} in {:?}",
                        String::from_utf8_lossy(&h.key_separator),
                        String::from_utf8_lossy(pair)
                    )));
                }
            };
            if self.null_marker.as_deref() == Some(name) {
                return Err(CliError::usage(format!(
                    "line {number}: a header key equals the null marker (header keys cannot be null)"
                )));
            }
            out.push((String::from_utf8_lossy(name).into_owned(), value));
        }
        Ok(out)
    }

    /// The bytes, or null where they are the null marker.
    fn nullable(&self, bytes: &[u8]) -> Option<Bytes> {
        if self.null_marker.as_deref() == Some(bytes) {
            None
        } else {
            Some(Bytes::copy_from_slice(bytes))
        }
    }

    fn refused(&self, what: &str, sep: &[u8], number: usize) -> CliError {
        CliError::usage(format!(
            "line {number} has {what} {:?}",
            String::from_utf8_lossy(sep)
        ))
        .hint("ignore.error=true takes such a line whole, as Kafka's console producer does")
    }
}

/// Where `sep` first occurs in `line`.
fn find(line: &[u8], sep: &[u8]) -> Option<usize> {
    if sep.is_empty() {
        return None;
    }
    line.windows(sep.len()).position(|w| w == sep)
}

/// `text` cut at every `sep`.
fn split<'a>(mut text: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(text, sep) {
        parts.push(&text[..at]);
        text = &text[at + sep.len()..];
    }
    parts.push(text);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(props: &[(&str, &str)]) -> LineReader {
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LineReader::from_properties(&props, None).unwrap()
    }

    fn b(s: &str) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn keys_headers_and_null_markers_as_kafkas_reader() {
        let r = reader(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("parse.headers", "true"),
            ("headers.delimiter", "|"),
            ("null.marker", "NULL"),
        ]);
        assert_eq!(
            r.parse(b"trace:t-1,op:NULL|k1:v:with:colons", 1).unwrap(),
            ParsedLine {
                key: b("k1"),
                value: b("v:with:colons"),
                headers: vec![("trace".into(), b("t-1")), ("op".into(), None)],
            }
        );
        // A null key; a tombstone; no headers at all is refused, as Kafka does.
        assert_eq!(
            r.parse(b"a:1|NULL:NULL", 2).unwrap(),
            ParsedLine {
                key: None,
                value: None,
                headers: vec![("a".into(), b("1"))]
            }
        );
        assert!(r.parse(b"|k:v", 2).is_err());
        let err = r.parse(b"k1:v", 3).unwrap_err();
        assert!(
            err.message.contains("line 3 has no headers delimiter"),
            "{}",
            err.message
        );
        let err = r.parse(b"NULL:x|k:v", 4).unwrap_err();
        assert!(err.message.contains("null marker"), "{}", err.message);
        let err = r.parse(b"a|no separator", 5).unwrap_err();
        assert!(
            err.message.contains("no header key separator"),
            "{}",
            err.message
        );
    }

    #[test]
    fn ignore_error_takes_a_line_whole() {
        let r = reader(&[("parse.key", "true"), ("ignore.error", "true")]);
        assert_eq!(
            r.parse(b"no tab here", 1).unwrap(),
            ParsedLine {
                key: None,
                value: b("no tab here"),
                headers: vec![]
            }
        );
        let strict = reader(&[("parse.key", "true")]);
        assert!(strict.parse(b"no tab here", 1).is_err());
        assert_eq!(strict.parse(b"k\tv", 1).unwrap().key, b("k"));
    }

    #[test]
    fn properties_kafka_would_refuse_are_refused() {
        let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(
            LineReader::from_properties(&props(&[("parse.everything", "true")]), None).is_err()
        );
        assert!(
            LineReader::from_properties(
                &props(&[
                    ("parse.key", "true"),
                    ("key.separator", "~"),
                    ("null.marker", "~")
                ]),
                None
            )
            .is_err()
        );
        let flag = LineReader::from_properties(&props(&[]), Some("=")).unwrap();
        assert_eq!(flag.key_separator().as_deref(), Some("="));
    }
}
