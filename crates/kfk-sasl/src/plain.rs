//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one message.

/// The identity and password a PLAIN message carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Plain {
    pub user: String,
    pub password: String,
}

/// Parses a client's PLAIN message. An authorization identity other than
/// the user (acting as someone else) is refused, as Kafka does.
///
/// # Errors
/// A message that is not three NUL-separated UTF-8 fields.
pub fn parse(message: &[u8]) -> Result<Plain, String> {
    let text = std::str::from_utf8(message).map_err(|_| "PLAIN message is not UTF-8")?;
    let parts: Vec<&str> = text.split('\0').collect();
    let [authzid, user, password] = parts.as_slice() else {
        return Err("PLAIN message is not authzid NUL user NUL password".into());
    };
    if user.is_empty() {
        return Err("PLAIN message has no user name".into());
    }
    if !authzid.is_empty() && authzid != user {
        return Err("PLAIN authorization id must be empty or the user".into());
    }
    Ok(Plain {
        user: (*user).to_string(),
        password: (*password).to_string(),
    })
}

/// A client's PLAIN message.
pub fn message(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_ones_are_refused() {
        let m = message("alice", "s3cret");
        assert_eq!(
            parse(&m),
            Ok(Plain {
                user: "alice".into(),
                password: "s3cret".into()
            })
        );
        assert!(parse(b"alice\0s3cret").is_err());
        assert!(parse(b"bob\0alice\0pw").is_err());
        assert!(parse(b"\0\0pw").is_err());
    }
}
