//! An async Kafka client on the `kafka-protocol` crate, shared by `kfk` and (for
//! replication and controller RPCs) `kfkd`. It uses only standard APIs, so it
//! works against Apache Kafka as well as kfkd.

pub mod acls;
pub mod admin;
pub mod cleaner;
pub mod client;
pub mod connection;
pub mod consumer;
pub mod error;
mod fetch_round;
pub mod groups;
pub mod membership;
pub mod partitioner;
pub mod producer;
pub mod quorum;
pub mod quotas;
pub mod reassign;
pub mod sasl;
pub mod transactions;
pub mod users;
pub mod versions;

pub use admin::{ConfigEntry, GROUP_CONFIGS, NewTopic, OffsetQuery};
pub use cleaner::PartitionCleaning;
pub use client::{BrokerInfo, Client, ClientConfig, Metadata, PartitionInfo, TopicInfo};
pub use consumer::{Consumer, ConsumerRecord, StartOffset};
pub use error::{ClientError, Result};
pub use groups::{GroupDescription, GroupListing, GroupMember};
pub use kfk_acl as acl;
/// SCRAM mechanisms, as `kfk users` names them.
pub use kfk_sasl::Mechanism as ScramMechanism;
/// Records and codecs as the producer takes them, so users of the client
/// need not depend on kfk-wire for them.
pub use kfk_wire::{Compression, NewRecord};
pub use membership::{Assignment, Committer, GroupMembership, GroupProtocol};
pub use partitioner::{murmur2, partition_for_key};
pub use producer::{Delivery, Producer, ProducerConfig, RecordMetadata};
pub use quorum::{QuorumReplica, QuorumStatus};
pub use reassign::{PartitionOutcome, Reassignment};
pub use sasl::SaslConfig;
pub use transactions::{ActiveProducer, TxnDescription, TxnListing};
