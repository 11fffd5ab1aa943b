//! kcat-style format strings for `kfk consume --format`.
//!
//! `%t` topic, `%p` partition, `%o` offset, `%k` key, `%v` value, `%T` timestamp
//! (ms), `%h` headers (`k=v,k=v`), `%K` key length, `%S` value length (-1 for
//! null), `%%` a percent sign; `\n`, `\t`, `\\` escapes.

use bytes::Bytes;
use kfk_client::ConsumerRecord;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLen,
    ValueLen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format(Vec<Piece>);

impl Format {
    /// # Errors
    /// An unknown `%` token, as a usage error.
    pub fn parse(fmt: &str) -> CliResult<Format> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('r') => text.push('\r'),
                    Some('\\') => text.push('\\'),
                    Some(o) => {
                        text.push('\\');
                        text.push(o);
                    }
                    None => text.push('\\'),
                },
                '%' => {
                    let token = chars.next();
                    let piece = match token {
                        Some('%') => {
                            text.push('%');
                            continue;
                        }
                        Some('t') => Piece::Topic,
                        Some('p') => Piece::Partition,
                        Some('o') => Piece::Offset,
                        Some('k') => Piece::Key,
                        Some('v') | Some('s') => Piece::Value,
                        Some('T') => Piece::Timestamp,
                        Some('h') => Piece::Headers,
                        Some('K') => Piece::KeyLen,
                        Some('S') => Piece::ValueLen,
                        other => {
                            return Err(CliError::usage(format!(
                                "unknown format token %{}",
                                other.map(String::from).unwrap_or_default()
                            ))
                            .hint("tokens: %t %p %o %k %v %T %h %K %S %%"));
                        }
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format(pieces))
    }

    /// Renders one record (bytes, since keys and values need not be UTF-8).
    pub fn render(&self, r: &ConsumerRecord, out: &mut Vec<u8>, opts: Look) {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
        for p in &self.0 {
            let mut styled = |text: &str, style: fn(&str) -> String| {
                if opts.color {
                    out.extend_from_slice(style(text).as_bytes());
                } else {
                    out.extend_from_slice(text.as_bytes());
                }
            };
            match p {
                Piece::Text(t) => styled(t, plain),
                Piece::Topic => styled(&r.topic, plain),
                Piece::Partition => styled(&r.partition.to_string(), position),
                Piece::Offset => styled(&r.offset.to_string(), position),
                Piece::Key => match &r.key {
                    Some(k) if opts.color => styled(&String::from_utf8_lossy(k), key),
                    Some(k) => out.extend_from_slice(k),
                    None => {}
                },
                Piece::Value => value_bytes(r, out, opts),
                Piece::Timestamp => styled(&r.timestamp.to_string(), time),
                Piece::Headers => styled(&headers(r), header),
                Piece::KeyLen => styled(&len(&r.key).to_string(), plain),
                Piece::ValueLen => styled(&len(&r.value).to_string(), plain),
            }
        }
    }
}

/// How records look: colours (already decided by `--color` and the
/// terminal) and whether JSON values are pretty-printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub pretty_json: bool,
}

fn plain(s: &str) -> String {
    s.to_string()
}
fn position(s: &str) -> String {
    console::style(s).cyan().force_styling(true).to_string()
}
fn key(s: &str) -> String {
    console::style(s)
        .yellow()
        .bold()
        .force_styling(true)
        .to_string()
}
fn time(s: &str) -> String {
    console::style(s).dim().force_styling(true).to_string()
}
fn header(s: &str) -> String {
    console::style(s).magenta().force_styling(true).to_string()
}

fn headers(r: &ConsumerRecord) -> String {
    r.headers
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                String::from_utf8_lossy(v.as_deref().unwrap_or_default())
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The value, pretty-printed when asked and it is a JSON object or array.
fn value_bytes(r: &ConsumerRecord, out: &mut Vec<u8>, opts: Look) {
    let Some(v) = &r.value else {
        return;
    };
    if opts.pretty_json
        && matches!(v.first(), Some(b'{' | b'['))
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(v)
        && let Ok(pretty) = serde_json::to_string_pretty(&json)
    {
        out.extend_from_slice(pretty.as_bytes());
        return;
    }
    out.extend_from_slice(v);
}

/// The interactive consumer's line: `partition/offset  time  key: value  headers`.
pub fn line(r: &ConsumerRecord, opts: Look) -> String {
    let mut out = Vec::new();
    let style = |text: String, f: fn(&str) -> String| if opts.color { f(&text) } else { text };
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.timestamp.max(0) as u64);
    out.extend_from_slice(
        format!(
            "{}  {}  ",
            style(format!("{}/{}", r.partition, r.offset), position),
            style(humantime::format_rfc3339_millis(when).to_string(), time)
        )
        .as_bytes(),
    );
    if let Some(k) = &r.key {
        out.extend_from_slice(style(String::from_utf8_lossy(k).into_owned(), key).as_bytes());
        out.extend_from_slice(b": ");
    }
    value_bytes(r, &mut out, opts);
    if !r.headers.is_empty() {
        out.extend_from_slice(format!("  {}", style(headers(r), header)).as_bytes());
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ConsumerRecord {
        ConsumerRecord {
            topic: "t".into(),
            partition: 2,
            offset: 7,
            timestamp: 99,
            log_append_time: false,
            key: Some(Bytes::from_static(b"k1")),
            value: None,
            headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
        }
    }

    #[test]
    fn tokens_and_escapes() {
        let f = Format::parse("%t/%p@%o %k=%v %T [%h] %K %S 100%%\\n").unwrap();
        let mut out = Vec::new();
        f.render(&record(), &mut out, Look::default());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "t/2@7 k1= 99 [h=x] 2 -1 100%\n"
        );
        assert!(Format::parse("%q").is_err());
    }

    #[test]
    fn colours_and_pretty_json() {
        let mut r = record();
        r.value = Some(Bytes::from_static(br#"{"a":1}"#));
        let mut out = Vec::new();
        Format::parse("%k %v").unwrap().render(
            &r,
            &mut out,
            Look {
                color: true,
                pretty_json: true,
            },
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\u{1b}["), "{text:?}");
        assert!(text.ends_with("{\n  \"a\": 1\n}"), "{text:?}");
        assert_eq!(
            line(&r, Look::default()),
            "2/7  1970-01-01T00:00:00.099Z  k1: {\"a\":1}  h=x"
        );
    }
}
