//! Java properties files, the format of Kafka's `server.properties` and of
//! the `client.properties` its tools take (`--command-config`,
//! `--producer.config`): kfkd reads the one, kfk the other, with one reading
//! of the syntax so a file that works for Kafka works for both.

/// One `key=value` of a properties file, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Whether `text` is a properties file rather than YAML: a `key=value` line
/// comes before anything YAML-only.
pub fn looks_like_properties(text: &str) -> bool {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let eq = line.find('=');
        let colon = line.find(':');
        return match (eq, colon) {
            (Some(e), Some(c)) => e < c,
            (Some(_), None) => true,
            _ => false,
        };
    }
    false
}

/// Splits a properties file into its entries: `key=value`, `key: value` or
/// `key value`; `#` and `!` comments; a trailing `\` continues a line; the
/// usual escapes (`\t`, `\n`, `\\`, `\=`, `\:`, `\uXXXX`).
pub fn parse(text: &str) -> Vec<Property> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let first = raw.trim_start();
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = first.to_string();
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        out.push(Property {
            key: unescape(key),
            value: unescape(value.trim()),
            line: i + 1,
        });
    }
    out
}

/// An odd number of trailing backslashes continues the line.
fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The key ends at the first unescaped `=`, `:` or whitespace; the value
/// starts after that separator (and whitespace around it).
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest.trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(u) => out.push(u),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_told_from_yaml() {
        assert!(looks_like_properties("# c\nbroker.id=1\n"));
        assert!(looks_like_properties("listeners=PLAINTEXT://h:9092\n"));
        assert!(!looks_like_properties("num.partitions: 3\n"));
        assert!(!looks_like_properties("listeners: \"PLAINTEXT://a=b:1\"\n"));
        assert!(!looks_like_properties(""));
    }

    #[test]
    fn java_properties_syntax() {
        let props = parse(
            "# comment\n! also\nbroker.id=1\nkey2 : spaced value \nkey3 bare\nmulti=a,\\\n    b\nesc=a\\=b\\u0041\n",
        );
        let kv: Vec<(&str, &str, usize)> = props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str(), p.line))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("broker.id", "1", 3),
                ("key2", "spaced value", 4),
                ("key3", "bare", 5),
                ("multi", "a,b", 6),
                ("esc", "a=bA", 8),
            ]
        );
    }
}
