//! Client quotas (KIP-13, KIP-124, KIP-546): byte rates for producers and
//! consumers and a share of request-handling time, per user and client id
//! (or their defaults), kept in the metadata log and enforced as Kafka
//! does: a client over its rate gets `throttle_time_ms` in its response
//! and its connection is muted that long.

mod entity;
mod rate;

pub use entity::{ClientQuotas, QuotaEntity, QuotaName};
pub use rate::QuotaManager;

/// The quota keys kfkd enforces.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";

/// Every quota key kfkd accepts, for the entity types it applies to.
pub const KEYS: &[&str] = &[PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE];

#[cfg(test)]
mod tests;
