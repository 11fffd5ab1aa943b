//! Broker settings: each one is a flag, an environment variable (`KFKD_*`) and a
//! key of the YAML config file named as in Kafka's `server.properties`.
//!
//! Precedence: flag or environment variable, then the config file, then the
//! default (Kafka's default where Kafka has the setting). Every setting is
//! declared once, in the `settings!` table below, so the three spellings and
//! `kfkd --help` cannot drift apart.

mod authorizer;
pub mod dynamic;
pub mod group;
mod listeners;
pub mod ops;
pub mod properties;
mod tls;
pub mod topic;

pub use listeners::{Listener, SecurityProtocol};
pub use tls::ServerTls;

/// Settings from a YAML config file's text alone, for tests.
#[cfg(test)]
pub(crate) fn from_yaml(yaml: &str) -> Settings {
    Settings::resolve(
        &SettingArgs::default(),
        &serde_yaml::from_str::<FileSettings>(yaml).expect("test YAML"),
    )
}

use std::path::{Path, PathBuf};

use kfk_log::LogConfig;
use kfk_wire::TimestampType;

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr, $key:literal, $env:literal; )*) => {
        /// Broker settings as flags (all optional: unset ones come from the file).
        #[derive(clap::Args, Debug, Default, Clone)]
        pub struct SettingArgs {
            $(
                $(#[doc = $doc])*
                #[arg(long, env = $env, help_heading = "Broker settings (YAML keys in brackets)")]
                pub $field: Option<$ty>,
            )*
        }

        /// Broker settings as read from the YAML config file.
        #[derive(serde::Deserialize, Debug, Default, Clone)]
        #[serde(deny_unknown_fields)]
        pub struct FileSettings {
            $(
                #[serde(rename = $key, default)]
                pub $field: Option<$ty>,
            )*
        }

        /// The resolved settings a broker runs with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( pub $field: $ty, )*
        }

        /// The YAML (server.properties) key of every setting.
        pub const KEYS: &[&str] = &[ $( $key, )* ];

        impl Settings {
            /// Every setting's default as `(flag's argument id, value)`, for `kfkd --help`.
            pub fn defaults() -> Vec<(&'static str, String)> {
                let d = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
                vec![ $( (stringify!($field), format!("{}", DisplaySetting(&d.$field))), )* ]
            }

            /// Flag or environment first, then file, then default.
            pub fn resolve(args: &SettingArgs, file: &FileSettings) -> Settings {
                let mut s = Settings {
                    $( $field: args.$field.clone().or_else(|| file.$field.clone()).unwrap_or_else(|| $default), )*
                };
                s.strip_plaintext_prefix();
                s
            }

            /// `(yaml key, value)` of every setting, for DescribeConfigs on the broker.
            pub fn entries(&self) -> Vec<(&'static str, String)> {
                vec![ $( ($key, format!("{}", DisplaySetting(&self.$field))), )* ]
            }
        }
    };
}

/// Formats settings the way Kafka shows them in DescribeConfigs.
struct DisplaySetting<'a, T>(&'a T);

impl std::fmt::Display for DisplaySetting<'_, PathBuf> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.display())
    }
}
macro_rules! display_plain {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for DisplaySetting<'_, $t> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}
display_plain!(i32, i64, u64, bool, String);

impl std::fmt::Display for DisplaySetting<'_, f64> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self.0 == f64::MAX {
            // Java's Double.MAX_VALUE, as Kafka shows its "no limit".
            f.write_str("1.7976931348623157E308")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

settings! {
    /// Id of this node in the cluster [node.id].
    node_id: i32 = 1, "node.id", "KFKD_NODE_ID";
    /// What this node does: broker (serves clients), controller (votes in the metadata quorum), or both [process.roles].
    process_roles: String = "broker,controller".to_string(), "process.roles", "KFKD_PROCESS_ROLES";
    /// Directory holding this broker's partitions and metadata [log.dirs].
    data_dir: PathBuf = PathBuf::from("kfk-data"), "log.dirs", "KFKD_DATA_DIR";
    /// Address to accept client connections on, host:port [listeners].
    listen: String = "127.0.0.1:9092".to_string(), "listeners", "KFKD_LISTEN";
    /// Address clients are told to connect to; defaults to --listen [advertised.listeners].
    advertised_listener: String = String::new(), "advertised.listeners", "KFKD_ADVERTISED_LISTENER";
    /// Security protocol of each listener name, NAME:PROTOCOL,...; PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL map to themselves [listener.security.protocol.map].
    listener_security_protocol_map: String = String::new(), "listener.security.protocol.map", "KFKD_LISTENER_SECURITY_PROTOCOL_MAP";
    /// The listener brokers replicate over; PLAINTEXT by default (or the only listener) [inter.broker.listener.name].
    inter_broker_listener_name: String = String::new(), "inter.broker.listener.name", "KFKD_INTER_BROKER_LISTENER_NAME";
    /// SASL mechanisms SASL listeners offer: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (checked against the SCRAM credentials) [sasl.enabled.mechanisms].
    sasl_enabled_mechanisms: String = "SCRAM-SHA-256,SCRAM-SHA-512".to_string(), "sasl.enabled.mechanisms", "KFKD_SASL_ENABLED_MECHANISMS";
    /// How long a SASL session lasts before the client must authenticate again (KIP-368); 0: for ever [connections.max.reauth.ms].
    connections_max_reauth_ms: u64 = 0, "connections.max.reauth.ms", "KFKD_CONNECTIONS_MAX_REAUTH_MS";
    /// How long a failed authentication waits before its answer and the connection's close, doubled for each recent failure from the same address (up to 64 times), slowing password guessing [connection.failed.authentication.delay.ms].
    connection_failed_authentication_delay_ms: u64 = 100, "connection.failed.authentication.delay.ms", "KFKD_CONNECTION_FAILED_AUTHENTICATION_DELAY_MS";
    /// PEM file with this broker's TLS certificate chain and private key, for SSL and SASL_SSL listeners (and its client certificate towards other brokers) [ssl.keystore.location].
    ssl_keystore_location: PathBuf = PathBuf::new(), "ssl.keystore.location", "KFKD_SSL_KEYSTORE_LOCATION";
    /// Format of the keystore; kfkd reads PEM (convert JKS or PKCS12 with keytool/openssl) [ssl.keystore.type].
    ssl_keystore_type: String = "PEM".to_string(), "ssl.keystore.type", "KFKD_SSL_KEYSTORE_TYPE";
    /// Password of an encrypted keystore key; kfkd reads unencrypted PEM keys, so this must stay unset [ssl.key.password].
    ssl_key_password: String = String::new(), "ssl.key.password", "KFKD_SSL_KEY_PASSWORD";
    /// PEM file of the CA certificates that sign client certificates (ssl.client.auth) and other brokers' certificates [ssl.truststore.location].
    ssl_truststore_location: PathBuf = PathBuf::new(), "ssl.truststore.location", "KFKD_SSL_TRUSTSTORE_LOCATION";
    /// Format of the trust store; kfkd reads PEM [ssl.truststore.type].
    ssl_truststore_type: String = "PEM".to_string(), "ssl.truststore.type", "KFKD_SSL_TRUSTSTORE_TYPE";
    /// Whether TLS listeners ask clients for certificates: none, requested or required; a client's certificate subject becomes its principal (User:CN=...) [ssl.client.auth].
    ssl_client_auth: String = "none".to_string(), "ssl.client.auth", "KFKD_SSL_CLIENT_AUTH";
    /// How a broker checks other brokers' certificates on an SSL inter-broker listener: https (the name it connects to must be in the certificate) or empty (the chain only) [ssl.endpoint.identification.algorithm].
    ssl_endpoint_identification_algorithm: String = "https".to_string(), "ssl.endpoint.identification.algorithm", "KFKD_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM";
    /// Check every request against the cluster's ACLs: Kafka's org.apache.kafka.metadata.authorizer.StandardAuthorizer (or kafka.security.authorizer.AclAuthorizer, the same rules); empty: no checks [authorizer.class.name].
    authorizer_class_name: String = String::new(), "authorizer.class.name", "KFKD_AUTHORIZER_CLASS_NAME";
    /// Principals the authorizer lets do anything, User:NAME;User:CN=... (brokers on an SSL inter-broker listener belong here) [super.users].
    super_users: String = String::new(), "super.users", "KFKD_SUPER_USERS";
    /// With an authorizer, let everyone at resources no ACL names (Kafka's default: false) [allow.everyone.if.no.acl.found].
    allow_everyone_if_no_acl_found: bool = false, "allow.everyone.if.no.acl.found", "KFKD_ALLOW_EVERYONE_IF_NO_ACL_FOUND";
    /// Serve the REST proxy (kafka-rest v2's common calls) on this host:port; empty: off [rest.listener].
    rest_listen: String = String::new(), "rest.listener", "KFKD_REST_LISTEN";
    /// Serve Prometheus metrics (/metrics) and health probes (/healthz, /readyz) over HTTP on this host:port; empty: off [metrics.listener].
    metrics_listen: String = String::new(), "metrics.listener", "KFKD_METRICS_LISTEN";
    /// Address for Raft traffic between controllers, host:port; needed with --voters [controller.listener].
    controller_listen: String = String::new(), "controller.listener", "KFKD_CONTROLLER_LISTEN";
    /// The metadata quorum, id@host:port,... (controller addresses); empty: this broker alone [controller.quorum.voters].
    voters: String = String::new(), "controller.quorum.voters", "KFKD_VOTERS";
    /// File holding the cluster's shared secret: controllers and brokers prove they hold it before the controller port serves them (required when that port listens beyond loopback) [cluster.secret.file].
    cluster_secret_file: PathBuf = PathBuf::new(), "cluster.secret.file", "KFKD_CLUSTER_SECRET_FILE";
    /// Fence a broker the controller has not heard from for this long [broker.session.timeout.ms].
    broker_session_timeout_ms: u64 = 9_000, "broker.session.timeout.ms", "KFKD_BROKER_SESSION_TIMEOUT_MS";
    /// How often a broker tells the controller it is alive [broker.heartbeat.interval.ms].
    broker_heartbeat_interval_ms: u64 = 2_000, "broker.heartbeat.interval.ms", "KFKD_BROKER_HEARTBEAT_INTERVAL_MS";
    /// Shrink the ISR of a follower that has not caught up for this long [replica.lag.time.max.ms].
    replica_lag_time_max_ms: u64 = 30_000, "replica.lag.time.max.ms", "KFKD_REPLICA_LAG_TIME_MAX_MS";
    /// Send fetched records from the page cache straight to plaintext sockets (sendfile), instead of reading them through the broker; kfkd's own setting, for comparing the two [fetch.sendfile.enable].
    fetch_sendfile_enable: bool = true, "fetch.sendfile.enable", "KFKD_FETCH_SENDFILE_ENABLE";
    /// Most bytes a follower fetches per partition in one request [replica.fetch.max.bytes].
    replica_fetch_max_bytes: u64 = 1_048_576, "replica.fetch.max.bytes", "KFKD_REPLICA_FETCH_MAX_BYTES";
    /// How long a follower's fetch waits at the leader for new data [replica.fetch.wait.max.ms].
    replica_fetch_wait_max_ms: u64 = 500, "replica.fetch.wait.max.ms", "KFKD_REPLICA_FETCH_WAIT_MAX_MS";
    /// How often high watermarks are saved to replication-offset-checkpoint [replica.high.watermark.checkpoint.interval.ms].
    replica_high_watermark_checkpoint_interval_ms: u64 = 5_000, "replica.high.watermark.checkpoint.interval.ms", "KFKD_REPLICA_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS";
    /// Move leadership back to each partition's preferred (first) replica [auto.leader.rebalance.enable].
    auto_leader_rebalance_enable: bool = true, "auto.leader.rebalance.enable", "KFKD_AUTO_LEADER_REBALANCE_ENABLE";
    /// How often the controller checks leader balance [leader.imbalance.check.interval.seconds].
    leader_imbalance_check_interval_seconds: u64 = 300, "leader.imbalance.check.interval.seconds", "KFKD_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS";
    /// Rebalance when more than this percentage of a broker's preferred partitions are led elsewhere [leader.imbalance.per.broker.percentage].
    leader_imbalance_per_broker_percentage: u64 = 10, "leader.imbalance.per.broker.percentage", "KFKD_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE";
    /// Partitions of the internal __consumer_offsets topic (Kafka: 50; 10 suits clusters of a few brokers) [offsets.topic.num.partitions].
    offsets_topic_num_partitions: i32 = 10, "offsets.topic.num.partitions", "KFKD_OFFSETS_TOPIC_NUM_PARTITIONS";
    /// Replication factor of __consumer_offsets, capped by the brokers alive when it is created [offsets.topic.replication.factor].
    offsets_topic_replication_factor: i32 = 3, "offsets.topic.replication.factor", "KFKD_OFFSETS_TOPIC_REPLICATION_FACTOR";
    /// How long an offset commit waits for the in-sync replicas [offsets.commit.timeout.ms].
    offsets_commit_timeout_ms: u64 = 5_000, "offsets.commit.timeout.ms", "KFKD_OFFSETS_COMMIT_TIMEOUT_MS";
    /// Segment size of __consumer_offsets (compacted: smaller segments are cleaned sooner) [offsets.topic.segment.bytes].
    offsets_topic_segment_bytes: u64 = 100 * 1024 * 1024, "offsets.topic.segment.bytes", "KFKD_OFFSETS_TOPIC_SEGMENT_BYTES";
    /// Partitions of the internal __transaction_state topic (Kafka: 50; 10 suits clusters of a few brokers) [transaction.state.log.num.partitions].
    transaction_state_log_num_partitions: i32 = 10, "transaction.state.log.num.partitions", "KFKD_TRANSACTION_STATE_LOG_NUM_PARTITIONS";
    /// Replication factor of __transaction_state, capped by the brokers alive when it is created [transaction.state.log.replication.factor].
    transaction_state_log_replication_factor: i32 = 3, "transaction.state.log.replication.factor", "KFKD_TRANSACTION_STATE_LOG_REPLICATION_FACTOR";
    /// min.insync.replicas of __transaction_state, capped by its replication factor [transaction.state.log.min.isr].
    transaction_state_log_min_isr: i32 = 2, "transaction.state.log.min.isr", "KFKD_TRANSACTION_STATE_LOG_MIN_ISR";
    /// Segment size of __transaction_state (compacted) [transaction.state.log.segment.bytes].
    transaction_state_log_segment_bytes: u64 = 100 * 1024 * 1024, "transaction.state.log.segment.bytes", "KFKD_TRANSACTION_STATE_LOG_SEGMENT_BYTES";
    /// The longest transaction.timeout.ms a producer may ask for [transaction.max.timeout.ms].
    transaction_max_timeout_ms: i64 = 900_000, "transaction.max.timeout.ms", "KFKD_TRANSACTION_MAX_TIMEOUT_MS";
    /// How often transactions past their timeout are looked for and aborted [transaction.abort.timed.out.transaction.cleanup.interval.ms].
    transaction_abort_timed_out_transaction_cleanup_interval_ms: u64 = 10_000, "transaction.abort.timed.out.transaction.cleanup.interval.ms", "KFKD_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS";
    /// Partition leaders check with the coordinator that a transaction's first batch belongs to it (KIP-890), so no batch opens a transaction nobody ends [transaction.partition.verification.enable].
    transaction_partition_verification_enable: bool = true, "transaction.partition.verification.enable", "KFKD_TRANSACTION_PARTITION_VERIFICATION_ENABLE";
    /// A transactional id unused this long is forgotten [transactional.id.expiration.ms].
    transactional_id_expiration_ms: i64 = 604_800_000, "transactional.id.expiration.ms", "KFKD_TRANSACTIONAL_ID_EXPIRATION_MS";
    /// How often expired transactional ids are looked for [transaction.remove.expired.transaction.cleanup.interval.ms].
    transaction_remove_expired_transaction_cleanup_interval_ms: u64 = 3_600_000, "transaction.remove.expired.transaction.cleanup.interval.ms", "KFKD_TRANSACTION_REMOVE_EXPIRED_TRANSACTION_CLEANUP_INTERVAL_MS";
    /// Committed offsets of a group with no members are dropped this long after it emptied [offsets.retention.minutes].
    offsets_retention_minutes: u64 = 10_080, "offsets.retention.minutes", "KFKD_OFFSETS_RETENTION_MINUTES";
    /// How often expired offsets are looked for [offsets.retention.check.interval.ms].
    offsets_retention_check_interval_ms: u64 = 600_000, "offsets.retention.check.interval.ms", "KFKD_OFFSETS_RETENTION_CHECK_INTERVAL_MS";
    /// Largest metadata string stored with a committed offset [offset.metadata.max.bytes].
    offset_metadata_max_bytes: u64 = 4_096, "offset.metadata.max.bytes", "KFKD_OFFSET_METADATA_MAX_BYTES";
    /// How long a new group waits for more members before its first rebalance [group.initial.rebalance.delay.ms].
    group_initial_rebalance_delay_ms: u64 = 3_000, "group.initial.rebalance.delay.ms", "KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS";
    /// Smallest session timeout a group member may ask for [group.min.session.timeout.ms].
    group_min_session_timeout_ms: u64 = 6_000, "group.min.session.timeout.ms", "KFKD_GROUP_MIN_SESSION_TIMEOUT_MS";
    /// Largest session timeout a group member may ask for [group.max.session.timeout.ms].
    group_max_session_timeout_ms: u64 = 1_800_000, "group.max.session.timeout.ms", "KFKD_GROUP_MAX_SESSION_TIMEOUT_MS";
    /// A consumer-protocol (KIP-848) member without a heartbeat for this long is fenced [group.consumer.session.timeout.ms].
    group_consumer_session_timeout_ms: u64 = 45_000, "group.consumer.session.timeout.ms", "KFKD_GROUP_CONSUMER_SESSION_TIMEOUT_MS";
    /// How often consumer-protocol members are asked to heartbeat [group.consumer.heartbeat.interval.ms].
    group_consumer_heartbeat_interval_ms: u64 = 5_000, "group.consumer.heartbeat.interval.ms", "KFKD_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS";
    /// Smallest `consumer.session.timeout.ms` a group config may set [group.consumer.min.session.timeout.ms].
    group_consumer_min_session_timeout_ms: u64 = 45_000, "group.consumer.min.session.timeout.ms", "KFKD_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS";
    /// Largest `consumer.session.timeout.ms` a group config may set [group.consumer.max.session.timeout.ms].
    group_consumer_max_session_timeout_ms: u64 = 60_000, "group.consumer.max.session.timeout.ms", "KFKD_GROUP_CONSUMER_MAX_SESSION_TIMEOUT_MS";
    /// Smallest `consumer.heartbeat.interval.ms` a group config may set [group.consumer.min.heartbeat.interval.ms].
    group_consumer_min_heartbeat_interval_ms: u64 = 5_000, "group.consumer.min.heartbeat.interval.ms", "KFKD_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS";
    /// Largest `consumer.heartbeat.interval.ms` a group config may set [group.consumer.max.heartbeat.interval.ms].
    group_consumer_max_heartbeat_interval_ms: u64 = 15_000, "group.consumer.max.heartbeat.interval.ms", "KFKD_GROUP_CONSUMER_MAX_HEARTBEAT_INTERVAL_MS";
    /// Most members of one consumer-protocol group [group.consumer.max.size].
    group_consumer_max_size: u64 = i32::MAX as u64, "group.consumer.max.size", "KFKD_GROUP_CONSUMER_MAX_SIZE";
    /// Rack of this broker, reported in metadata [broker.rack].
    rack: String = String::new(), "broker.rack", "KFKD_RACK";
    /// Partitions of an auto-created topic or a CreateTopics without a count [num.partitions].
    num_partitions: i32 = 1, "num.partitions", "KFKD_NUM_PARTITIONS";
    /// Replication factor when a CreateTopics does not set one [default.replication.factor].
    default_replication_factor: i32 = 1, "default.replication.factor", "KFKD_DEFAULT_REPLICATION_FACTOR";
    /// Create a topic when a client asks for metadata or produces to an unknown one [auto.create.topics.enable].
    auto_create_topics_enable: bool = true, "auto.create.topics.enable", "KFKD_AUTO_CREATE_TOPICS_ENABLE";
    /// Minimum in-sync replicas for acks=all [min.insync.replicas].
    min_insync_replicas: i32 = 1, "min.insync.replicas", "KFKD_MIN_INSYNC_REPLICAS";
    /// Delete segments older than this; -1 keeps forever [log.retention.ms].
    log_retention_ms: i64 = kfk_log::DEFAULT_RETENTION_MS, "log.retention.ms", "KFKD_LOG_RETENTION_MS";
    /// Delete oldest segments while a partition is larger; -1 = no limit [log.retention.bytes].
    log_retention_bytes: i64 = -1, "log.retention.bytes", "KFKD_LOG_RETENTION_BYTES";
    /// How often retention runs [log.retention.check.interval.ms].
    log_retention_check_interval_ms: u64 = 300_000, "log.retention.check.interval.ms", "KFKD_LOG_RETENTION_CHECK_INTERVAL_MS";
    /// What happens to old data of topics without their own cleanup.policy: delete (retention), compact (keep each key's latest record) or compact,delete [log.cleanup.policy].
    log_cleanup_policy: String = "delete".to_string(), "log.cleanup.policy", "KFKD_LOG_CLEANUP_POLICY";
    /// Run the log cleaner for compacted topics (off, compacted topics grow forever) [log.cleaner.enable].
    log_cleaner_enable: bool = true, "log.cleaner.enable", "KFKD_LOG_CLEANER_ENABLE";
    /// Threads cleaning compacted logs, each one log at a time [log.cleaner.threads].
    log_cleaner_threads: u64 = 1, "log.cleaner.threads", "KFKD_LOG_CLEANER_THREADS";
    /// Memory for the cleaners' key maps, shared by the threads; a clean covers as many dirty records as its share holds keys (about 32 bytes each) [log.cleaner.dedupe.buffer.size].
    log_cleaner_dedupe_buffer_size: u64 = 128 * 1024 * 1024, "log.cleaner.dedupe.buffer.size", "KFKD_LOG_CLEANER_DEDUPE_BUFFER_SIZE";
    /// Most bytes per second the cleaners read and write together [log.cleaner.io.max.bytes.per.second].
    log_cleaner_io_max_bytes_per_second: f64 = f64::MAX, "log.cleaner.io.max.bytes.per.second", "KFKD_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND";
    /// How long a cleaner with nothing to clean waits before looking again [log.cleaner.backoff.ms].
    log_cleaner_backoff_ms: u64 = 15_000, "log.cleaner.backoff.ms", "KFKD_LOG_CLEANER_BACKOFF_MS";
    /// Default min.cleanable.dirty.ratio: the share of a log not yet cleaned above which it is cleaned [log.cleaner.min.cleanable.ratio].
    log_cleaner_min_cleanable_ratio: f64 = 0.5, "log.cleaner.min.cleanable.ratio", "KFKD_LOG_CLEANER_MIN_CLEANABLE_RATIO";
    /// Default delete.retention.ms: how long tombstones stay after the clean that first kept them [log.cleaner.delete.retention.ms].
    log_cleaner_delete_retention_ms: i64 = kfk_log::DEFAULT_DELETE_RETENTION_MS, "log.cleaner.delete.retention.ms", "KFKD_LOG_CLEANER_DELETE_RETENTION_MS";
    /// Default min.compaction.lag.ms: records younger than this are not compacted [log.cleaner.min.compaction.lag.ms].
    log_cleaner_min_compaction_lag_ms: i64 = 0, "log.cleaner.min.compaction.lag.ms", "KFKD_LOG_CLEANER_MIN_COMPACTION_LAG_MS";
    /// Default max.compaction.lag.ms: a record this old is compacted whatever the dirty ratio [log.cleaner.max.compaction.lag.ms].
    log_cleaner_max_compaction_lag_ms: i64 = i64::MAX, "log.cleaner.max.compaction.lag.ms", "KFKD_LOG_CLEANER_MAX_COMPACTION_LAG_MS";
    /// Maximum size of one segment file [log.segment.bytes].
    log_segment_bytes: u64 = kfk_log::DEFAULT_SEGMENT_BYTES, "log.segment.bytes", "KFKD_LOG_SEGMENT_BYTES";
    /// Roll a new segment when the active one is this old [log.roll.ms].
    log_roll_ms: i64 = kfk_log::DEFAULT_SEGMENT_MS, "log.roll.ms", "KFKD_LOG_ROLL_MS";
    /// Bytes between two offset index entries [log.index.interval.bytes].
    log_index_interval_bytes: u64 = kfk_log::DEFAULT_INDEX_INTERVAL_BYTES, "log.index.interval.bytes", "KFKD_LOG_INDEX_INTERVAL_BYTES";
    /// fsync after this many records; the default leaves it to the OS [log.flush.interval.messages].
    log_flush_interval_messages: u64 = u64::MAX, "log.flush.interval.messages", "KFKD_LOG_FLUSH_INTERVAL_MESSAGES";
    /// fsync when unflushed data is this old; the default leaves it to the OS [log.flush.interval.ms].
    log_flush_interval_ms: i64 = i64::MAX, "log.flush.interval.ms", "KFKD_LOG_FLUSH_INTERVAL_MS";
    /// Codec topics store batches in: producer (as sent), uncompressed, gzip, snappy, lz4 or zstd [compression.type].
    compression_type: String = "producer".to_string(), "compression.type", "KFKD_COMPRESSION_TYPE";
    /// gzip level when the broker compresses, 1 to 9 or -1 for the codec's default [compression.gzip.level].
    compression_gzip_level: i64 = -1, "compression.gzip.level", "KFKD_COMPRESSION_GZIP_LEVEL";
    /// lz4 level when the broker compresses, 1 to 17 [compression.lz4.level].
    compression_lz4_level: i64 = 9, "compression.lz4.level", "KFKD_COMPRESSION_LZ4_LEVEL";
    /// zstd level when the broker compresses, -131072 to 22 [compression.zstd.level].
    compression_zstd_level: i64 = 3, "compression.zstd.level", "KFKD_COMPRESSION_ZSTD_LEVEL";
    /// CreateTime or LogAppendTime [log.message.timestamp.type].
    log_message_timestamp_type: String = "CreateTime".to_string(), "log.message.timestamp.type", "KFKD_LOG_MESSAGE_TIMESTAMP_TYPE";
    /// Largest record batch accepted [message.max.bytes].
    message_max_bytes: u64 = kfk_log::DEFAULT_MAX_MESSAGE_BYTES as u64, "message.max.bytes", "KFKD_MESSAGE_MAX_BYTES";
    /// Largest request frame accepted; larger ones close the connection [socket.request.max.bytes].
    socket_request_max_bytes: u64 = 100 * 1024 * 1024, "socket.request.max.bytes", "KFKD_SOCKET_REQUEST_MAX_BYTES";
    /// Bytes of requests and fetch responses held at once over all connections; reading the next request waits for room (at least socket.request.max.bytes) [queued.max.request.bytes].
    queued_max_request_bytes: u64 = 256 * 1024 * 1024, "queued.max.request.bytes", "KFKD_QUEUED_MAX_REQUEST_BYTES";
    /// Most bytes one fetch response carries, whatever the client asks [fetch.max.bytes].
    fetch_max_bytes: u64 = 55 * 1024 * 1024, "fetch.max.bytes", "KFKD_FETCH_MAX_BYTES";
    /// Close connections idle for longer than this [connections.max.idle.ms].
    connections_max_idle_ms: u64 = 600_000, "connections.max.idle.ms", "KFKD_CONNECTIONS_MAX_IDLE_MS";
    /// Most client connections served at once [max.connections].
    max_connections: u64 = 10_000, "max.connections", "KFKD_MAX_CONNECTIONS";
    /// Most partition replicas this broker holds; creates and partition additions beyond it are refused up front. 0: one per 16 KiB of the memory the broker may use [max.broker.partitions].
    max_broker_partitions: u64 = 0, "max.broker.partitions", "KFKD_MAX_BROKER_PARTITIONS";
}

/// This machine's host name, which a listener without a host is
/// advertised under.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Checks that `value` is `host:port` (optionally `PLAINTEXT://host:port`)
/// with a port a socket can use, so `--check-config` catches what would only
/// fail when the broker binds or registers.
fn check_address(key: &'static str, value: &str, may_be_empty: bool) -> Result<(), ConfigError> {
    if value.is_empty() && may_be_empty {
        return Ok(());
    }
    let addr = value.strip_prefix("PLAINTEXT://").unwrap_or(value);
    let bad = |why: &str| {
        Err(ConfigError::Invalid {
            key,
            reason: format!("{value:?} {why}"),
        })
    };
    if addr.contains("://") {
        return bad(
            "uses a protocol kfkd does not serve yet; use PLAINTEXT://host:port or host:port",
        );
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return bad("is not host:port (e.g. PLAINTEXT://0.0.0.0:9092)");
    };
    if host.is_empty() {
        return bad("has no host (use 0.0.0.0 for every interface)");
    }
    match port.parse::<u16>() {
        Ok(_) => Ok(()),
        Err(_) => bad("has no valid port (0-65535)"),
    }
}

/// What a node does in the cluster, as KRaft's `process.roles` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// Serves clients and hosts partitions; follows the metadata quorum.
    Broker,
    /// Votes in the metadata quorum and runs the controller's duties only:
    /// no client listener, no partitions, so losing brokers never costs the
    /// cluster its metadata.
    Controller,
    /// Both, the way a small cluster runs.
    Combined,
}

/// Why settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("config file {}{reason}", path.display())]
    Properties { path: PathBuf, reason: String },
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// A config file as read: its settings and what was ignored in it.
#[derive(Debug, Default)]
pub struct ConfigFile {
    pub settings: FileSettings,
    /// Lines kfkd ignored (Kafka settings it has no use for), to be logged.
    pub warnings: Vec<String>,
}

/// Reads the config file: YAML with Kafka's dotted keys, or Kafka's own
/// `server.properties` (told apart by its `key=value` lines).
///
/// # Errors
/// [`ConfigError::Read`] or [`ConfigError::Parse`], naming the file; an
/// unknown key in YAML (kfk's own format, so a typo) or a value that cannot
/// be read.
pub fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    let parse_err = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    };
    if !properties::looks_like_properties(&text) {
        return Ok(ConfigFile {
            settings: serde_yaml::from_str(&text).map_err(parse_err)?,
            warnings: Vec::new(),
        });
    }
    let source = path.display().to_string();
    let props = properties::parse(&text);
    let translated = properties::translate(&props, KEYS, &source)?;
    // Values are text in a properties file; read each as a YAML scalar so
    // numbers and booleans land in typed settings, naming the line if not.
    let mut map = serde_yaml::Mapping::new();
    for (key, value) in &translated.settings {
        let scalar = match serde_yaml::from_str::<serde_yaml::Value>(value) {
            Ok(v @ (serde_yaml::Value::Number(_) | serde_yaml::Value::Bool(_))) => v,
            _ => serde_yaml::Value::String(value.clone()),
        };
        map.insert(serde_yaml::Value::String(key.clone()), scalar);
    }
    // One key at a time first, so a bad value is reported with its key.
    for (key, value) in &map {
        let one = serde_yaml::Mapping::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = serde_yaml::from_value::<FileSettings>(serde_yaml::Value::Mapping(one)) {
            let key = key.as_str().unwrap_or_default();
            let line = props
                .iter()
                .rev()
                .find(|p| p.key == key || properties::alias_of(&p.key) == Some(key))
                .map(|p| format!(" line {}", p.line))
                .unwrap_or_default();
            return Err(ConfigError::Properties {
                path: path.to_path_buf(),
                reason: format!("{line}: {key}: {e}"),
            });
        }
    }
    let settings = serde_yaml::from_value(serde_yaml::Value::Mapping(map)).map_err(|e| {
        ConfigError::Properties {
            path: path.to_path_buf(),
            reason: format!(": {e}"),
        }
    })?;
    Ok(ConfigFile {
        settings,
        warnings: translated.warnings,
    })
}

/// Parses a `timestamp.type` value as Kafka spells it.
pub fn parse_timestamp_type(value: &str) -> Option<TimestampType> {
    match value {
        "CreateTime" => Some(TimestampType::CreateTime),
        "LogAppendTime" => Some(TimestampType::LogAppendTime),
        _ => None,
    }
}

impl Settings {
    /// Checks values that have a legal range.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_string(),
            })
        };
        if self.node_id < 0 {
            return invalid("node.id", "must be >= 0");
        }
        if self.num_partitions < 1 {
            return invalid("num.partitions", "must be >= 1");
        }
        if self.default_replication_factor < 1 {
            return invalid("default.replication.factor", "must be >= 1");
        }
        if self.log_segment_bytes < 14 || self.log_segment_bytes > i32::MAX as u64 {
            return invalid("log.segment.bytes", "must be between 14 and 2147483647");
        }
        if self.offsets_topic_segment_bytes < 14
            || self.offsets_topic_segment_bytes > i32::MAX as u64
        {
            return invalid(
                "offsets.topic.segment.bytes",
                "must be between 14 and 2147483647",
            );
        }
        if self.transaction_state_log_segment_bytes < 14
            || self.transaction_state_log_segment_bytes > i32::MAX as u64
        {
            return invalid(
                "transaction.state.log.segment.bytes",
                "must be between 14 and 2147483647",
            );
        }
        if self.transaction_state_log_num_partitions < 1 {
            return invalid("transaction.state.log.num.partitions", "must be >= 1");
        }
        if self.transaction_state_log_min_isr < 1 {
            return invalid("transaction.state.log.min.isr", "must be >= 1");
        }
        if self.transaction_max_timeout_ms < 1 {
            return invalid("transaction.max.timeout.ms", "must be >= 1");
        }
        if kfk_log::CleanupPolicy::parse(&self.log_cleanup_policy).is_none() {
            return invalid(
                "log.cleanup.policy",
                "must be delete, compact or compact,delete",
            );
        }
        if !(0.0..=1.0).contains(&self.log_cleaner_min_cleanable_ratio) {
            return invalid("log.cleaner.min.cleanable.ratio", "must be between 0 and 1");
        }
        if self.log_cleaner_threads < 1 {
            return invalid(
                "log.cleaner.threads",
                "must be >= 1 (log.cleaner.enable=false turns cleaning off)",
            );
        }
        if self.log_cleaner_io_max_bytes_per_second.is_nan()
            || self.log_cleaner_io_max_bytes_per_second <= 0.0
        {
            return invalid("log.cleaner.io.max.bytes.per.second", "must be > 0");
        }
        if self.log_cleaner_delete_retention_ms < 0 || self.log_cleaner_min_compaction_lag_ms < 0 {
            return invalid(
                "log.cleaner.delete.retention.ms",
                "this and log.cleaner.min.compaction.lag.ms must be >= 0",
            );
        }
        if self.log_cleaner_max_compaction_lag_ms < 1 {
            return invalid("log.cleaner.max.compaction.lag.ms", "must be >= 1");
        }
        for (key, value) in [
            ("compression.type", self.compression_type.clone()),
            (
                "compression.gzip.level",
                self.compression_gzip_level.to_string(),
            ),
            (
                "compression.lz4.level",
                self.compression_lz4_level.to_string(),
            ),
            (
                "compression.zstd.level",
                self.compression_zstd_level.to_string(),
            ),
        ] {
            if let Err(why) = topic::validate(key, &value) {
                return invalid(key, &why);
            }
        }
        if parse_timestamp_type(&self.log_message_timestamp_type).is_none() {
            return invalid(
                "log.message.timestamp.type",
                "must be CreateTime or LogAppendTime",
            );
        }
        if self.socket_request_max_bytes < 1024 || self.socket_request_max_bytes > i32::MAX as u64 {
            return invalid(
                "socket.request.max.bytes",
                "must be between 1024 and 2147483647",
            );
        }
        if self.queued_max_request_bytes < self.socket_request_max_bytes
            || self.queued_max_request_bytes > u64::from(u32::MAX)
        {
            return invalid(
                "queued.max.request.bytes",
                "must be at least socket.request.max.bytes (a request must fit) and at most 4294967295",
            );
        }
        if self.fetch_max_bytes < 1024 || self.fetch_max_bytes > self.queued_max_request_bytes {
            return invalid(
                "fetch.max.bytes",
                "must be between 1024 and queued.max.request.bytes",
            );
        }
        if self.max_connections < 1 {
            return invalid("max.connections", "must be >= 1");
        }
        if !(self.group_consumer_min_session_timeout_ms
            ..=self.group_consumer_max_session_timeout_ms)
            .contains(&self.group_consumer_session_timeout_ms)
        {
            return invalid(
                "group.consumer.session.timeout.ms",
                &format!(
                    "{} is outside group.consumer.min.session.timeout.ms..group.consumer.max.session.timeout.ms ({}..{}); lower the minimum too",
                    self.group_consumer_session_timeout_ms,
                    self.group_consumer_min_session_timeout_ms,
                    self.group_consumer_max_session_timeout_ms
                ),
            );
        }
        if !(self.group_consumer_min_heartbeat_interval_ms
            ..=self.group_consumer_max_heartbeat_interval_ms)
            .contains(&self.group_consumer_heartbeat_interval_ms)
        {
            return invalid(
                "group.consumer.heartbeat.interval.ms",
                &format!(
                    "{} is outside group.consumer.min.heartbeat.interval.ms..group.consumer.max.heartbeat.interval.ms ({}..{}); lower the minimum too",
                    self.group_consumer_heartbeat_interval_ms,
                    self.group_consumer_min_heartbeat_interval_ms,
                    self.group_consumer_max_heartbeat_interval_ms
                ),
            );
        }
        let roles = self.roles()?;
        if roles != Roles::Controller {
            for l in self.listeners()? {
                check_address("listeners", &l.bind, false)?;
                check_address("advertised.listeners", &l.advertised, false)?;
                let host = l
                    .advertised
                    .rsplit_once(':')
                    .map_or("", |(h, _)| h.trim_start_matches('[').trim_end_matches(']'));
                if host == "0.0.0.0" || host == "::" {
                    return invalid(
                        "advertised.listeners",
                        &format!(
                            "{} is the non-routable meta-address clients cannot connect to (listener {} binds {}); advertise a host or address clients can reach, e.g. --advertised-listener myhost:9092",
                            l.advertised, l.name, l.bind
                        ),
                    );
                }
            }
            self.inter_broker_listener()?;
            self.server_tls()?;
            self.authorizer()?;
            self.inter_broker_tls()?;
            for m in self.sasl_mechanisms() {
                if !["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"].contains(&m.as_str()) {
                    return invalid(
                        "sasl.enabled.mechanisms",
                        &format!(
                            "{m} is not served; kfkd offers SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN"
                        ),
                    );
                }
            }
        }
        check_address("controller.listener", &self.controller_listen, true)?;
        check_address("rest.listener", &self.rest_listen, true)?;
        check_address("metrics.listener", &self.metrics_listen, true)?;
        let voters = self.parse_voters()?;
        // A broker outside the voters follows the quorum as a learner; it
        // still needs a controller listener to receive the metadata log.
        if !voters.is_empty() && self.controller_listen.is_empty() {
            return invalid(
                "controller.listener",
                "is required with controller.quorum.voters",
            );
        }
        let voter = voters.contains_key(&(self.node_id as u64));
        if roles == Roles::Controller && !voter {
            return invalid(
                "process.roles",
                "a controller must be one of controller.quorum.voters (node.id not found there)",
            );
        }
        if roles == Roles::Broker && voter {
            return invalid(
                "process.roles",
                "a broker-only node cannot be one of controller.quorum.voters; add the controller role or remove it from the voters",
            );
        }
        Ok(())
    }

    /// This node's roles (`process.roles`).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for anything but `broker`, `controller` or both.
    pub fn roles(&self) -> Result<Roles, ConfigError> {
        let mut broker = false;
        let mut controller = false;
        for role in self.process_roles.split(',').map(str::trim) {
            match role {
                "broker" if !broker => broker = true,
                "controller" if !controller => controller = true,
                other => {
                    return Err(ConfigError::Invalid {
                        key: "process.roles",
                        reason: format!(
                            "{other:?} is not a role; use broker, controller or broker,controller"
                        ),
                    });
                }
            }
        }
        match (broker, controller) {
            (true, true) => Ok(Roles::Combined),
            (true, false) => Ok(Roles::Broker),
            (false, true) => Ok(Roles::Controller),
            (false, false) => Err(ConfigError::Invalid {
                key: "process.roles",
                reason: "is empty; use broker, controller or broker,controller".into(),
            }),
        }
    }

    /// Whether this node serves Kafka clients (has the broker role).
    pub fn is_broker(&self) -> bool {
        self.roles().map_or(true, |r| r != Roles::Controller)
    }

    /// Listeners may be written as Kafka writes them, `PLAINTEXT://host:port`;
    /// kfkd binds the address. A listener with no host (`:9092`) binds every
    /// interface and, unless told otherwise, is advertised under this
    /// machine's host name, as Kafka does.
    fn strip_plaintext_prefix(&mut self) {
        // Named listeners (several, or another protocol) are read by
        // `listeners()`; one PLAINTEXT listener stays a plain address.
        let single =
            |a: &str| !a.contains(',') && a.split_once("://").is_none_or(|(n, _)| n == "PLAINTEXT");
        let client = if single(&self.listen) && single(&self.advertised_listener) {
            vec![&mut self.listen, &mut self.advertised_listener]
        } else {
            Vec::new()
        };
        let named = client.is_empty();
        for addr in client.into_iter().chain([
            &mut self.controller_listen,
            &mut self.rest_listen,
            &mut self.metrics_listen,
        ]) {
            if let Some(rest) = addr.strip_prefix("PLAINTEXT://") {
                *addr = rest.to_string();
            }
        }
        if !named && self.listen.starts_with(':') {
            if self.advertised_listener.is_empty() {
                self.advertised_listener = format!("{}{}", host_name(), self.listen);
            }
            self.listen = format!("0.0.0.0{}", self.listen);
        }
        for addr in [
            &mut self.controller_listen,
            &mut self.rest_listen,
            &mut self.metrics_listen,
        ] {
            if addr.starts_with(':') {
                *addr = format!("0.0.0.0{addr}");
            }
        }
    }

    /// The voters of the metadata quorum: node id -> controller address.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an entry that is not `id@host:port`.
    pub fn parse_voters(&self) -> Result<std::collections::BTreeMap<u64, String>, ConfigError> {
        let mut voters = std::collections::BTreeMap::new();
        for v in self
            .voters
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            let parsed = v
                .split_once('@')
                .and_then(|(id, addr)| Some((id.parse::<u64>().ok()?, addr)))
                .filter(|(_, addr)| addr.contains(':'));
            match parsed {
                Some((id, addr)) => {
                    voters.insert(id, addr.to_string());
                }
                None => {
                    return Err(ConfigError::Invalid {
                        key: "controller.quorum.voters",
                        reason: format!("{v:?} is not id@host:port"),
                    });
                }
            }
        }
        Ok(voters)
    }

    /// The secret the controller port requires (`--cluster-secret-file`).
    ///
    /// # Errors
    /// An unreadable or short secret, or none while the controller port
    /// listens beyond loopback: anyone who reached it could rewrite the
    /// cluster's metadata.
    pub fn cluster_secret(&self) -> anyhow::Result<Option<crate::quorum::auth::Secret>> {
        if !self.cluster_secret_file.as_os_str().is_empty() {
            return crate::quorum::auth::Secret::load(&self.cluster_secret_file).map(Some);
        }
        let host = self
            .controller_listen
            .rsplit_once(':')
            .map_or(self.controller_listen.as_str(), |(h, _)| h)
            .trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !self.controller_listen.is_empty() && !self.voters.is_empty() && !loopback {
            anyhow::bail!(
                "the controller port {} listens beyond loopback without a cluster secret, so anyone who reaches it could change the cluster's metadata: give every node the same --cluster-secret-file (e.g. `openssl rand -hex 32 > secret`)",
                self.controller_listen
            );
        }
        Ok(None)
    }

    /// The address other brokers and kfk's own tools connect to: the
    /// inter-broker listener's advertised address.
    pub fn advertised(&self) -> String {
        match self.inter_broker_listener() {
            Ok(l) => l.advertised,
            Err(_) if self.advertised_listener.is_empty() => self.listen.clone(),
            Err(_) => self.advertised_listener.clone(),
        }
    }

    /// `sasl.enabled.mechanisms` as a list.
    pub fn sasl_mechanisms(&self) -> Vec<String> {
        self.sasl_enabled_mechanisms
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// Log settings for topics without overrides.
    pub fn default_log_config(&self) -> LogConfig {
        LogConfig {
            segment_bytes: self.log_segment_bytes,
            segment_ms: self.log_roll_ms,
            index_interval_bytes: self.log_index_interval_bytes,
            retention_ms: self.log_retention_ms,
            retention_bytes: self.log_retention_bytes,
            flush_messages: (self.log_flush_interval_messages != u64::MAX)
                .then_some(self.log_flush_interval_messages),
            flush_ms: (self.log_flush_interval_ms != i64::MAX)
                .then_some(self.log_flush_interval_ms),
            max_message_bytes: self.message_max_bytes as usize,
            timestamp_type: parse_timestamp_type(&self.log_message_timestamp_type)
                .unwrap_or(TimestampType::CreateTime),
            cleanup_policy: kfk_log::CleanupPolicy::parse(&self.log_cleanup_policy)
                .unwrap_or(kfk_log::CleanupPolicy::DELETE),
            delete_retention_ms: self.log_cleaner_delete_retention_ms,
            min_cleanable_dirty_permille: (self.log_cleaner_min_cleanable_ratio * 1000.0).round()
                as u32,
            min_compaction_lag_ms: self.log_cleaner_min_compaction_lag_ms,
            max_compaction_lag_ms: self.log_cleaner_max_compaction_lag_ms,
            compression: topic::target_codec(
                &self.compression_type,
                topic::CodecLevels {
                    gzip: self.compression_gzip_level,
                    lz4: self.compression_lz4_level,
                    zstd: self.compression_zstd_level,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let file: FileSettings =
            serde_yaml::from_str("num.partitions: 3\nlog.retention.ms: 1000\n").unwrap();
        let args = SettingArgs {
            num_partitions: Some(5),
            ..SettingArgs::default()
        };
        let s = Settings::resolve(&args, &file);
        assert_eq!(s.num_partitions, 5);
        assert_eq!(s.log_retention_ms, 1000);
        assert_eq!(s.message_max_bytes, 1_048_588);
        assert_eq!(s.advertised(), "127.0.0.1:9092");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(serde_yaml::from_str::<FileSettings>("num.partition: 3\n").is_err());
    }

    #[test]
    fn process_roles_follow_kraft_rules() {
        let mut s = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        assert_eq!(s.roles().unwrap(), Roles::Combined);
        s.voters = "101@127.0.0.1:9292,102@127.0.0.1:9293,103@127.0.0.1:9294".into();
        s.controller_listen = "127.0.0.1:9192".into();
        s.process_roles = "broker".into();
        s.validate().unwrap();
        assert!(s.is_broker());
        s.process_roles = "controller".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("must be one of controller.quorum.voters"),
            "{err}"
        );
        s.node_id = 102;
        s.validate().unwrap();
        assert!(!s.is_broker());
        s.process_roles = "broker".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("broker-only node cannot be one of"), "{err}");
        s.process_roles = "controller, broker".into();
        assert_eq!(s.roles().unwrap(), Roles::Combined);
        for bad in ["", "zookeeper", "broker,broker"] {
            s.process_roles = bad.into();
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains("process.roles"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let mut s = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        s.log_message_timestamp_type = "Now".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("log.message.timestamp.type"), "{err}");
    }

    #[test]
    fn a_group_heartbeat_below_the_minimum_says_both_values() {
        let mut s = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        s.group_consumer_heartbeat_interval_ms = 500;
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("group.consumer.heartbeat.interval.ms: 500 is outside")
                && err.contains("(5000..15000)"),
            "{err}"
        );
        s.group_consumer_min_heartbeat_interval_ms = 500;
        s.validate().unwrap();
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_example_config_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kfkd.yaml");
        let file = read_file(&path).unwrap().settings;
        let s = Settings::resolve(&SettingArgs::default(), &file);
        s.validate().unwrap();
        assert_eq!(s.num_partitions, 3);
        assert_eq!(s.advertised(), "kafka.example.internal:9092");
    }
}
