//! kcat's format strings for `kfk consume --format`, with kcat's meaning:
//!
//! `%t` topic, `%p` partition, `%o` offset, `%k` key, `%s` value (`%v` too),
//! `%T` timestamp (ms), `%h` headers (`n=v,n=v`, `n=NULL` for a null value),
//! `%K` key length and `%S` value length (-1 for null), `%R` the value length
//! as a big-endian 32-bit integer (binary, for framing), `%%` a percent
//! sign. In the text between tokens: `\n`, `\r`, `\t`; `\xHH...` a byte
//! from hex digits and `\NNN` from a decimal, octal (`\0NN`) or hex
//! (`\0xHH`) number, as C's strtoul reads them; any other `\c` is `c`.

use bytes::Bytes;
use kfk_client::ConsumerRecord;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal bytes (escapes can make any byte, not only UTF-8).
    Text(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLen,
    ValueLen,
    ValueLenBinary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format(Vec<Piece>);

const TOKENS: &str = "%t %p %o %k %s %v %T %h %K %S %R %%";

impl Format {
    /// Splits at each `%` first, as kcat does (so a backslash before `%`
    /// stays a backslash), then reads the escapes of each text part.
    ///
    /// # Errors
    /// An unknown `%` token, or a `%` at the very end, as a usage error.
    pub fn parse(fmt: &str) -> CliResult<Format> {
        let mut pieces = Vec::new();
        let mut rest = fmt;
        while let Some(at) = rest.find('%') {
            push_text(&mut pieces, &rest[..at]);
            let mut after = rest[at + 1..].chars();
            let piece = match after.next() {
                Some('%') => Piece::Text(b"%".to_vec()),
                Some('t') => Piece::Topic,
                Some('p') => Piece::Partition,
                Some('o') => Piece::Offset,
                Some('k') => Piece::Key,
                Some('v' | 's') => Piece::Value,
                Some('T') => Piece::Timestamp,
                Some('h') => Piece::Headers,
                Some('K') => Piece::KeyLen,
                Some('S') => Piece::ValueLen,
                Some('R') => Piece::ValueLenBinary,
                None => {
                    return Err(
                        CliError::usage("empty format token: the format ends with %")
                            .hint(format!("tokens: {TOKENS}; %% prints a percent sign")),
                    );
                }
                Some(other) => {
                    return Err(CliError::usage(format!("unknown format token %{other}"))
                        .hint(format!("tokens: {TOKENS}")));
                }
            };
            pieces.push(piece);
            rest = after.as_str();
        }
        push_text(&mut pieces, rest);
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
                Piece::Text(t) => out.extend_from_slice(t),
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
                // -1 for a null value, as a 32-bit two's complement.
                Piece::ValueLenBinary => {
                    out.extend_from_slice(&(len(&r.value) as i32).to_be_bytes());
                }
            }
        }
    }
}

/// Appends the text between tokens, its escapes read, merging with a
/// literal just before it.
fn push_text(pieces: &mut Vec<Piece>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let bytes = unescape(raw.as_bytes());
    match pieces.last_mut() {
        Some(Piece::Text(t)) => t.extend_from_slice(&bytes),
        _ => pieces.push(Piece::Text(bytes)),
    }
}

/// kcat's escapes: `\t \n \r`; `\x` followed by a decimal digit reads hex
/// digits, and `\` followed by a digit reads a C number (decimal, `0`
/// octal, `0x` hex), each keeping the low byte; any other `\c` (including
/// `\x` not followed by a digit) is `c`; a backslash that ends the text
/// stays. As in kcat, the text ends at a NUL byte it made.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        i += 1;
        let base = match s[i] {
            b't' | b'n' | b'r' => {
                out.push(match s[i] {
                    b't' => b'\t',
                    b'n' => b'\n',
                    _ => b'\r',
                });
                i += 1;
                continue;
            }
            b'x' => {
                i += 1;
                16
            }
            _ => 0,
        };
        match s.get(i) {
            Some(c) if c.is_ascii_digit() => {
                let (value, used) = strtoul(&s[i..], base);
                // C's (char) cast keeps the low byte.
                out.push(value as u8);
                i += used.max(1);
            }
            Some(c) => {
                out.push(*c);
                i += 1;
            }
            None => {}
        }
    }
    if let Some(nul) = out.iter().position(|b| *b == 0) {
        out.truncate(nul);
    }
    out
}

/// C's `strtoul` on text that starts with a digit: base 0 reads `0x` as
/// hex and a leading `0` as octal; base 16 allows a `0x` prefix. Returns
/// the value (saturated on overflow, as strtoul does) and the bytes read.
fn strtoul(s: &[u8], base: u32) -> (u64, usize) {
    let hex_prefix = s.first() == Some(&b'0')
        && matches!(s.get(1), Some(b'x' | b'X'))
        && s.get(2).is_some_and(u8::is_ascii_hexdigit);
    let (base, mut i) = match base {
        0 if hex_prefix => (16, 2),
        0 if s.first() == Some(&b'0') => (8, 0),
        0 => (10, 0),
        b if hex_prefix => (b, 2),
        b => (b, 0),
    };
    let mut value: u64 = 0;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(base)) {
        value = value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
            .unwrap_or(u64::MAX);
        i += 1;
    }
    (value, i)
}

/// How records look: colours (already decided by `--color` and the
/// terminal) and whether JSON values are pretty-printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub pretty_json: bool,
}

/// `text` in the colour `kind` gives it, when colours are on.
pub(crate) fn style(text: &str, kind: fn(&str) -> String, look: Look) -> String {
    if look.color {
        kind(text)
    } else {
        text.to_string()
    }
}

fn plain(s: &str) -> String {
    s.to_string()
}
pub(crate) fn position(s: &str) -> String {
    console::style(s).cyan().force_styling(true).to_string()
}
pub(crate) fn key(s: &str) -> String {
    console::style(s)
        .yellow()
        .bold()
        .force_styling(true)
        .to_string()
}
pub(crate) fn time(s: &str) -> String {
    console::style(s).dim().force_styling(true).to_string()
}
pub(crate) fn header(s: &str) -> String {
    console::style(s).magenta().force_styling(true).to_string()
}

/// kcat's `%h`: `name=value` joined by commas, `name=NULL` for a null value.
fn headers(r: &ConsumerRecord) -> String {
    r.headers
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={}", String::from_utf8_lossy(v)),
            None => format!("{k}=NULL"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The value, pretty-printed when asked and it is a JSON object or array.
pub(crate) fn value_bytes(r: &ConsumerRecord, out: &mut Vec<u8>, opts: Look) {
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
        assert!(Format::parse("abc%").is_err());
    }

    fn render(fmt: &str, r: &ConsumerRecord) -> Vec<u8> {
        let mut out = Vec::new();
        Format::parse(fmt)
            .unwrap()
            .render(r, &mut out, Look::default());
        out
    }

    #[test]
    fn escapes_read_as_kcat_reads_them() {
        let r = record();
        assert_eq!(render(r"\x41\x4a|\x7e", &r), b"AJ|~");
        // Hex digits are read greedily and the low byte kept.
        assert_eq!(render(r"\x4142", &r), b"B");
        // \x not followed by a decimal digit is the character after it.
        assert_eq!(render(r"\xg|\x|\xab|\x-1", &r), b"g||ab|-1");
        // \ then a digit: decimal, octal with a leading 0, hex with 0x.
        assert_eq!(render(r"\65\0101\0x43", &r), b"AAC");
        // A NUL ends the text, as in kcat's C strings.
        assert_eq!(render(r"a\09b%t", &r), b"at");
        // Any other escaped character is itself; a final backslash stays.
        assert_eq!(render(r"\q\\\", &r), b"q\\\\");
        // Split at % first: a backslash before % stays a backslash.
        assert_eq!(render(r"a\%t", &r), b"a\\t");
    }

    #[test]
    fn binary_length_and_headers_as_kcat_prints_them() {
        let mut r = record();
        r.value = Some(Bytes::from_static(b"hello"));
        r.headers.push(("n".into(), None));
        r.headers.push(("e".into(), Some(Bytes::new())));
        assert_eq!(render("%R%s", &r), b"\0\0\0\x05hello");
        assert_eq!(render("%h", &r), b"h=x,n=NULL,e=");
        r.value = None;
        assert_eq!(render("%R|%S|%K", &r), b"\xff\xff\xff\xff|-1|2");
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
