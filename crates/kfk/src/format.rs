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
    pub fn render(&self, r: &ConsumerRecord, out: &mut Vec<u8>) {
        let bytes = |b: &Option<Bytes>| b.as_deref().unwrap_or_default().to_vec();
        let len = |b: &Option<Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Topic => out.extend_from_slice(r.topic.as_bytes()),
                Piece::Partition => out.extend_from_slice(r.partition.to_string().as_bytes()),
                Piece::Offset => out.extend_from_slice(r.offset.to_string().as_bytes()),
                Piece::Key => out.extend(bytes(&r.key)),
                Piece::Value => out.extend(bytes(&r.value)),
                Piece::Timestamp => out.extend_from_slice(r.timestamp.to_string().as_bytes()),
                Piece::Headers => {
                    let hs: Vec<String> = r
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            format!(
                                "{k}={}",
                                String::from_utf8_lossy(v.as_deref().unwrap_or_default())
                            )
                        })
                        .collect();
                    out.extend_from_slice(hs.join(",").as_bytes());
                }
                Piece::KeyLen => out.extend_from_slice(len(&r.key).to_string().as_bytes()),
                Piece::ValueLen => out.extend_from_slice(len(&r.value).to_string().as_bytes()),
            }
        }
    }
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
        f.render(&record(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "t/2@7 k1= 99 [h=x] 2 -1 100%\n"
        );
        assert!(Format::parse("%q").is_err());
    }
}
