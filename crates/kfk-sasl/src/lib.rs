//! SASL for Kafka's listeners, as pure functions and state machines: the
//! broker and the clients feed them the bytes of SaslAuthenticate and send
//! what they return. [`scram`] is SCRAM-SHA-256/512 (RFC 5802 with RFC
//! 7677's hash), whose credentials the broker keeps salted and hashed, never
//! the password; [`plain`] is PLAIN (RFC 4616), checked against the same
//! credentials.

pub mod plain;
pub mod scram;

pub use scram::{Credential, Mechanism};
