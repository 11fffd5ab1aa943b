//! The consumer-group coordinator's logic without the broker around it:
//! [`state`] is one group's state machine (Kafka's classic protocol: joins,
//! syncs, heartbeats, eager and cooperative rebalances, static members with
//! `group.instance.id`, committed offsets), and [`schema`] is how that state
//! is written to and read back from `__consumer_offsets`. Pure and unit
//! tested; [`consumer`] is a group under KIP-848's consumer protocol, where
//! the coordinator assigns partitions itself. kfkd's `group` module feeds it requests and persists its records.

pub mod consumer;
pub mod schema;
pub mod state;
