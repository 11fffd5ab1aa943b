//! kfkd, the kfk broker: serves the Apache Kafka wire protocol over the
//! storage engine in `kfk-log`, so unchanged Kafka clients can use it.

pub mod api;
pub mod broker;
pub mod broker_config;
pub mod checkpoint;
pub mod config;
pub mod connection;
pub mod controller;
pub mod fetcher;
pub mod group;
pub mod metadata;
pub mod partition;
pub mod producer_state;
pub mod quorum;
pub mod replication;
pub mod rest;
pub mod server;
pub mod topic_config;
pub mod topics;
