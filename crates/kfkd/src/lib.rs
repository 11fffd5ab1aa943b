//! kfkd, the kfk broker: serves the Apache Kafka wire protocol over the
//! storage engine in `kfk-log`, so unchanged Kafka clients can use it.
//!
//! Layout, one concern a folder: `server/` accepts connections and frames
//! requests, `api/` answers each Kafka API, `broker` is the shared state the
//! handlers receive, `metadata/` is the cluster image and how committed
//! commands change it, `quorum/` replicates those commands (openraft),
//! `replica/` hosts partitions and replicates their data, `group/` is the
//! consumer-group coordinator, `config/` holds broker and topic settings, and
//! `tasks` starts every background task. `error` and `new_topic` are the
//! small shared types below all of them; `metrics` reads all of them for
//! `--metrics-listen`. `--rest-listen` embeds the REST
//! proxy (crate kfk-rest), which reaches the cluster through this broker.

pub mod api;
pub mod broker;
pub mod capacity;
pub mod client_quota;
pub mod config;
pub mod controller;
pub mod error;
pub mod fd_budget;
pub mod group;
pub mod internal_log;
pub mod metadata;
pub mod metrics;
pub mod new_topic;
pub mod quorum;
pub mod replica;
pub mod server;
pub mod tasks;
pub mod topics;
pub mod txn;
