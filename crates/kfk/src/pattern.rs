//! The name patterns `kfk topics list PATTERN` and zk-shell's `find` take:
//! a plain word matches names containing it; with `*`, the whole name must
//! match, `*` standing for anything.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    // `*` globbing: every literal part in order, anchored at both ends.
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn words_are_substrings_and_stars_anchor_both_ends() {
        assert!(matches("ord", "myorders"));
        assert!(matches("my*", "myorders"));
        assert!(!matches("*ord", "myorders"));
        assert!(matches("m*o*s", "myorders"));
        assert!(!matches("m*x*s", "myorders"));
        assert!(matches("/brokers/*/1", "/brokers/ids/1"));
        assert!(!matches("/brokers/*/1", "/brokers/ids/12"));
    }
}
