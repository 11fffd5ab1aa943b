//! The command line: one struct per command, its doc comment is its help.
//! Completions and man pages are generated from this same definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::names;
pub use crate::term::ColorChoice;

/// kfk: topics, produce, consume and local clusters, for any Kafka-protocol cluster.
#[derive(Debug, Parser)]
#[command(
    name = "kfk",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Broker(s) to talk to, host:port[,host:port]. Defaults to the current
    /// profile, then the local cluster started by `kfk cluster up`.
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        env = "KFK_BOOTSTRAP",
        global = true
    )]
    pub bootstrap: Option<String>,

    /// Output format of listings.
    #[arg(short = 'o', long = "output", value_enum, global = true)]
    pub output: Option<OutputFormat>,

    /// Colours: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// No progress bars and no status lines, only data and errors.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// How long one request may take (Kafka's request.timeout.ms); admin
    /// requests ask the broker to answer within three quarters of it.
    #[arg(
        long,
        value_name = "DURATION",
        env = "KFK_REQUEST_TIMEOUT",
        global = true
    )]
    pub request_timeout: Option<humantime::Duration>,

    /// Authenticate on a SASL listener with this mechanism: SCRAM-SHA-256,
    /// SCRAM-SHA-512 or PLAIN (Kafka's sasl.mechanism). The password comes
    /// from KFK_SASL_PASSWORD, --sasl-password-file, or a prompt.
    #[arg(
        long,
        env = "KFK_SASL_MECHANISM",
        global = true,
        requires = "sasl_username"
    )]
    pub sasl_mechanism: Option<String>,

    /// The SASL user (Kafka's sasl.username).
    #[arg(long, env = "KFK_SASL_USERNAME", global = true)]
    pub sasl_username: Option<String>,

    /// A file whose first line is the SASL password.
    #[arg(long, value_name = "FILE", global = true)]
    pub sasl_password_file: Option<std::path::PathBuf>,

    /// Kafka's security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or
    /// SASL_SSL. Without it, a CA file means TLS and a SASL user means SASL.
    #[arg(long, value_enum, env = "KFK_SECURITY_PROTOCOL", global = true)]
    pub security_protocol: Option<crate::security::SecurityProtocol>,

    /// PEM file of the CA certificates that sign the brokers' (ssl.ca.location);
    /// without it TLS trusts the system's CAs.
    #[arg(long, value_name = "FILE", env = "KFK_SSL_CA_FILE", global = true)]
    pub ssl_ca_file: Option<std::path::PathBuf>,

    /// PEM file of kfk's own certificate, for brokers that ask for one
    /// (ssl.client.auth); it may hold the key too.
    #[arg(long, value_name = "FILE", env = "KFK_SSL_CERT_FILE", global = true)]
    pub ssl_cert_file: Option<std::path::PathBuf>,

    /// PEM file of the key of --ssl-cert-file (unencrypted).
    #[arg(
        long,
        value_name = "FILE",
        env = "KFK_SSL_KEY_FILE",
        global = true,
        requires = "ssl_cert_file"
    )]
    pub ssl_key_file: Option<std::path::PathBuf>,

    /// A Java properties file of Kafka client settings, as Kafka's tools
    /// take it (`bootstrap.servers`, `security.protocol`, `sasl.mechanism`,
    /// `sasl.jaas.config`, `ssl.truststore.location` of type PEM, `group.id`,
    /// `acks`, ...; librdkafka's names too). Flags win over it, it wins
    /// over the profile.
    #[arg(
        long,
        value_name = "FILE",
        visible_aliases = ["producer.config", "consumer.config"],
        global = true
    )]
    pub command_config: Option<PathBuf>,

    /// One Kafka client setting, KEY=VALUE, as kcat's -X (repeatable; over
    /// --command-config).
    #[arg(
        short = 'X',
        long,
        value_name = "KEY=VALUE",
        visible_aliases = ["producer-property", "consumer-property"],
        global = true
    )]
    pub command_property: Vec<String>,

    #[command(subcommand)]
    pub command: Command,
}

pub use crate::output::OutputFormat;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, inspect and stop a local kfkd cluster.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Create, list, describe, alter and delete topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Write messages to a topic, one per input line.
    ///
    /// In a pipe or with --file, kfk reads every line and exits. On a
    /// terminal it opens a prompt (`topic> `) where each line is sent at
    /// once and answered with its partition and offset; `:key K`,
    /// `:partition P`, `:header k=v`, `:headers clear`, `:topic T`,
    /// `:acks 0|1|all`, `:help` and `:quit` change what follows. History is
    /// kept per topic.
    Produce(ProduceArgs),
    /// Read messages from a topic.
    ///
    /// With -i, messages stream above a prompt that takes `pause`, `resume`,
    /// `next N`, `seek beginning|end|OFFSET|-N|@TIME`, `partition P|all`,
    /// `filter key=REGEX|value=REGEX`, `format`, `lag`, `commit` and `quit`.
    Consume(ConsumeArgs),
    /// Describe the cluster, a broker or a topic.
    Describe(DescribeArgs),
    /// Consumer groups: list, describe (members, offsets, lag), reset offsets, delete.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// SCRAM users: list, create, change a password, delete (what
    /// kafka-configs --entity-type users does).
    #[command(subcommand)]
    Users(UsersCommand),
    /// ACLs in kafka-acls' words: who may do what to which topics, groups,
    /// transactional ids and the cluster (brokers with an authorizer).
    #[command(subcommand)]
    Acls(AclsCommand),
    /// Transactions (what kafka-transactions.sh shows and does): list,
    /// describe an id, the producers of a partition, find hanging
    /// transactions and abort one.
    #[command(subcommand)]
    Transactions(TransactionsCommand),
    /// Client quotas: produce and fetch byte rates and request time per user
    /// and client id (what kafka-configs --entity-type users|clients sets).
    #[command(subcommand)]
    Quotas(QuotasCommand),
    /// Move partitions between brokers and elect leaders (Kafka's reassignment JSON).
    Reassign(ReassignArgs),
    /// One broker's work: drain its leaderships before maintenance.
    #[command(subcommand)]
    Broker(BrokerCommand),
    /// Browse the cluster's metadata as ZooKeeper paths (ls /brokers/ids, get /controller).
    ZkShell(ZkShellArgs),
    /// Serve the cluster over HTTP as Confluent's kafka-rest v2 does (topics,
    /// partitions, produce, consumer instances; `GET /openapi.yaml`), until
    /// stopped. It reaches the cluster like every command (-b, KFK_BOOTSTRAP,
    /// the profile, the local cluster) and survives any one broker's death.
    RestProxy(RestProxyArgs),
    /// Measure throughput and latency: the kafka-producer-perf-test.sh and
    /// kafka-consumer-perf-test.sh of kfk, and end-to-end latency.
    #[command(subcommand)]
    Perf(PerfCommand),
    /// A live view of the cluster from its nodes' Prometheus metrics: each
    /// node's partitions, rates, requests and memory, the busiest topics,
    /// and consumer group lag, refreshed in place until Ctrl-C.
    ///
    /// It reads the local cluster's nodes, or the endpoints given with
    /// --metrics (kfkd --metrics-listen). In a pipe it prints one view
    /// unless -n says more; `-o json` prints each view as JSON.
    Top(TopArgs),
    /// Manage profiles: named targets and default topics.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script; it completes topic, group and broker
    /// names from the current cluster too (e.g. `source <(kfk completion bash)`).
    Completion(CompletionArgs),
    /// Refresh the cache of names that shell completion serves (started in
    /// the background by a Tab press).
    #[command(hide = true)]
    RefreshCompletionCache,
    /// Write man pages to a directory (used by install.sh).
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Produce records as fast as allowed; prints Kafka's producer-perf-test
    /// lines (records/s, MB/s, latency average, maximum and percentiles).
    Produce(PerfProduceArgs),
    /// Consume messages as fast as possible; prints Kafka's
    /// consumer-perf-test columns.
    Consume(PerfConsumeArgs),
    /// Produce at a fixed rate while consuming the same records: the
    /// latency from send to receipt.
    E2e(PerfE2eArgs),
}

/// What a perf run sends.
#[derive(Debug, Args)]
pub struct PerfLoad {
    #[arg(long, add = ArgValueCandidates::new(names::topics))]
    pub topic: String,
    /// How many records to send.
    #[arg(long)]
    pub num_records: u64,
    /// Bytes per record value (e2e: at least 8, the send time travels in it).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
}

#[derive(Debug, Args)]
pub struct PerfProduceArgs {
    #[command(flatten)]
    pub load: PerfLoad,
    /// Records per second to aim for; -1 for as fast as possible.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub throughput: i64,
    /// Acknowledgements: 0, 1 or all.
    #[arg(long, default_value = "all")]
    pub acks: String,
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    pub compression: CompressionArg,
    /// Bytes a partition's batch collects before it is sent.
    #[arg(long, default_value_t = 16384)]
    pub batch_size: usize,
    /// How long a batch may wait for more records.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// Produce in transactions under this id (as producer-perf-test's
    /// --transactional-id), --txn-size records each.
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,
    /// Records per transaction.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "transactional_id", value_parser = clap::value_parser!(u64).range(1..))]
    pub txn_size: u64,
    /// Spread the records over this many producers, each with its own
    /// connections, taking turns: how the broker copes with many clients
    /// rather than one busy one.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "transactional_id", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub producers: u32,
}

#[derive(Debug, Args)]
pub struct PerfConsumeArgs {
    #[arg(long, add = ArgValueCandidates::new(names::topics))]
    pub topic: String,
    /// How many messages to read.
    #[arg(long)]
    pub messages: u64,
    /// Read as a member of this group (from its committed offsets, else the
    /// beginning); the join counts as rebalance time.
    #[arg(long, add = ArgValueCandidates::new(names::groups))]
    pub group: Option<String>,
    /// Stop when no message arrived for this long (ms).
    #[arg(long, default_value_t = 10_000)]
    pub timeout: u64,
    /// read_uncommitted, or read_committed: only committed transactions.
    #[arg(long, alias = "isolation-level", value_enum, default_value_t = Isolation::ReadUncommitted)]
    pub isolation: Isolation,
    /// Bytes asked of each partition per fetch (Kafka's
    /// `max.partition.fetch.bytes`; its perf tool calls it `--fetch-size`).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(i32).range(1..))]
    pub fetch_size: i32,
}

#[derive(Debug, Args)]
pub struct PerfE2eArgs {
    #[command(flatten)]
    pub load: PerfLoad,
    /// Records per second.
    #[arg(long, default_value_t = 1000)]
    pub throughput: u64,
    /// Acknowledgements: 0, 1 or all.
    #[arg(long, default_value = "all")]
    pub acks: String,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start a local cluster of kfkd processes in the background.
    Up(ClusterUpArgs),
    /// Show the local cluster's brokers, the controller, and partitions that
    /// are under-replicated or offline.
    Status,
    /// Stop the local cluster (data is kept unless --purge).
    Down(ClusterDownArgs),
    /// Stop one broker of the local cluster (controlled shutdown unless --kill).
    StopBroker(StopBrokerArgs),
    /// Start a stopped broker of the local cluster again, with its data.
    StartBroker(StartBrokerArgs),
    /// Print a broker's log (or the REST proxy's), as `docker logs` does.
    Logs(ClusterLogsArgs),
}

#[derive(Debug, Args)]
pub struct ClusterLogsArgs {
    /// Broker id, or `rest-proxy`.
    #[arg(add = ArgValueCandidates::new(names::brokers))]
    pub which: String,
    /// Keep printing what is written to it until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(short = 'n', long = "tail", value_name = "N")]
    pub tail: Option<usize>,
}

#[derive(Debug, Args)]
pub struct StopBrokerArgs {
    /// Broker id.
    #[arg(add = ArgValueCandidates::new(names::brokers))]
    pub id: i32,
    /// SIGKILL instead of SIGTERM: no controlled shutdown, as in a crash.
    #[arg(long)]
    pub kill: bool,
}

#[derive(Debug, Args)]
pub struct StartBrokerArgs {
    /// Broker id.
    #[arg(add = ArgValueCandidates::new(names::brokers))]
    pub id: i32,
}

#[derive(Debug, Args)]
pub struct ClusterUpArgs {
    /// Number of brokers (default: as many as the cluster in the data
    /// directory had, or 1 for a new cluster).
    #[arg(long, conflicts_with = "file")]
    pub brokers: Option<u16>,
    /// A cluster file (brokers with ids, ports, racks and settings), the kfk
    /// form of a docker-compose setup; see examples/cluster.yaml.
    #[arg(short, long, value_name = "CLUSTER.YAML")]
    pub file: Option<PathBuf>,
    /// Where the brokers keep their data (default: kfk's data directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Port of broker 1; broker i listens on base-port + i - 1 (default: the
    /// cluster's previous port, or 9092).
    #[arg(long, conflicts_with = "file")]
    pub base_port: Option<u16>,
    /// Dedicated controller nodes (1, 3 or 5) holding the metadata quorum,
    /// as KRaft's `process.roles=controller` (and ZooKeeper before it): then
    /// stopping brokers never costs the cluster its metadata. Controller j
    /// is node 100 + j on port base-port + 200 + j - 1. Default: the first
    /// brokers vote (none, or as the cluster in the data directory had).
    #[arg(long, conflicts_with = "file", value_name = "N")]
    pub controllers: Option<u16>,
    /// Serve the REST proxy from the first broker on this port (8082 if no
    /// port is given).
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "8082")]
    pub rest_proxy: Option<u16>,
    /// Run it as a cluster leaving loopback would: a CA and certificates,
    /// SASL_SSL listeners with SCRAM, an SSL listener between brokers that
    /// requires certificates, and an authorizer (ACLs); kfk connects as the
    /// SCRAM user admin through profile local-secure. Kept for restarts.
    #[arg(long)]
    pub secure: bool,
}

#[derive(Debug, Args)]
pub struct ClusterDownArgs {
    /// Also delete the cluster's data.
    #[arg(long)]
    pub purge: bool,
    /// Do not ask before deleting data.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RestProxyArgs {
    /// Address to serve HTTP on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8082")]
    pub listen: String,
    /// Ask callers for HTTP Basic credentials and reach the cluster as
    /// them: each user authenticates to the brokers with SASL (the mechanism
    /// of kfk's SASL settings, else SCRAM-SHA-512), so ACLs decide what a
    /// REST user may do.
    #[arg(long)]
    pub basic_auth: bool,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// A node's metrics endpoint, HOST:PORT or http://HOST:PORT/metrics
    /// (repeatable, or comma-separated); default: the local cluster's nodes.
    #[arg(long, value_name = "URL")]
    pub metrics: Vec<String>,
    /// Time between refreshes; rates are measured over it.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub interval: std::time::Duration,
    /// Stop after N views (default: until Ctrl-C on a terminal, 1 in a pipe).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Topics shown, busiest first.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub topics: usize,
}

#[derive(Debug, Args)]
pub struct ZkShellArgs {
    /// A command to run instead of the interactive shell, e.g. `get /controller`,
    /// `ls /brokers/ids`, `ruok`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Do not ask before `set` changes a config.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReassignCommand {
    /// Print the current assignment of topics and a balanced one over the
    /// given brokers, in Kafka's reassignment JSON.
    Generate(ReassignGenerateArgs),
    /// Start the moves of a plan, saving the current assignment for rollback,
    /// and show progress until every move completed.
    Execute(ReassignExecuteArgs),
    /// Report each partition of a plan as complete or still in progress.
    Verify(ReassignPlanArg),
    /// Cancel the moves of a plan (or, with --all, every move in flight).
    Cancel(ReassignCancelArgs),
    /// Moves in flight: replicas, and those being added and removed.
    List,
    /// Elect leaders: the preferred (first) replica, or with --type unclean
    /// any live replica of an offline partition.
    ElectLeaders(ElectLeadersArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["topics", "topics_to_move_json_file"])))]
pub struct ReassignGenerateArgs {
    /// Topics to move, comma-separated.
    #[arg(long, value_delimiter = ',', add = ArgValueCandidates::new(names::topics))]
    pub topics: Vec<String>,
    /// Kafka's topics-to-move JSON: {"version":1,"topics":[{"topic":"t"}]}.
    #[arg(long, value_name = "FILE")]
    pub topics_to_move_json_file: Option<PathBuf>,
    /// Brokers to place the replicas on, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub brokers: Vec<i32>,
}

/// `kfk reassign VERB`, and kafka-reassign-partitions.sh's flags, which are
/// answered with the kfk command that does the same.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReassignArgs {
    #[command(subcommand)]
    pub command: Option<ReassignCommand>,
    #[command(flatten)]
    pub kafka: KafkaReassignFlags,
}

/// kafka-reassign-partitions.sh's spelling (hidden from help).
#[derive(Debug, Args, Default)]
pub struct KafkaReassignFlags {
    #[arg(long, hide = true, value_name = "FILE")]
    pub reassignment_json_file: Option<PathBuf>,
    #[arg(long, hide = true, value_name = "FILE")]
    pub topics_to_move_json_file: Option<PathBuf>,
    #[arg(long, hide = true, value_name = "IDS")]
    pub broker_list: Option<String>,
    #[arg(long, hide = true)]
    pub execute: bool,
    #[arg(long, hide = true)]
    pub verify: bool,
    #[arg(long, hide = true)]
    pub generate: bool,
    #[arg(long, hide = true)]
    pub cancel: bool,
    #[arg(long, hide = true, value_name = "BYTES")]
    pub throttle: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ReassignPlanArg {
    /// The plan: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}.
    #[arg(short = 'f', long = "reassignment-json-file", value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReassignExecuteArgs {
    #[command(flatten)]
    pub plan: ReassignPlanArg,
    /// Return once the moves started instead of waiting for them.
    #[arg(long)]
    pub no_wait: bool,
    /// Limit the copying to new replicas to this many bytes/s per receiving
    /// broker (removed when the moves complete, or by `verify`).
    #[arg(long, value_name = "BYTES_PER_SEC")]
    pub throttle: Option<u64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["file", "all"])))]
pub struct ReassignCancelArgs {
    /// Cancel the moves of this plan.
    #[arg(short = 'f', long = "reassignment-json-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Cancel every move in flight.
    #[arg(long)]
    pub all: bool,
    /// Keep the replication throttles the moves' execution set (by default
    /// they are removed, as Kafka does).
    #[arg(long)]
    pub preserve_throttles: bool,
}

#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Move every leadership off a broker and wait until it leads nothing,
    /// before a restart, upgrade or decommission (Cruise Control's "demote").
    ///
    /// For each partition the broker leads, the broker goes last in the
    /// replica order (same replicas: nothing is copied) and a preferred
    /// election hands leadership to the first other in-sync replica; the
    /// broker stays a follower in every ISR. Preferred order is what auto
    /// leader rebalancing restores, so the new order keeps leadership away;
    /// the previous assignment is saved and `kfk reassign execute -f FILE`
    /// with `kfk reassign elect-leaders --all` gives it back. Works against
    /// any Kafka cluster (AlterPartitionReassignments and ElectLeaders).
    Drain(BrokerDrainArgs),
}

#[derive(Debug, Args)]
pub struct BrokerDrainArgs {
    /// Broker id.
    #[arg(add = ArgValueCandidates::new(names::brokers))]
    pub id: i32,
    /// How long to wait for the leaderships to move.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["topic", "all"])))]
pub struct ElectLeadersArgs {
    /// Topic whose partitions to elect for.
    #[arg(long, add = ArgValueCandidates::new(names::topics))]
    pub topic: Option<String>,
    /// Only this partition of --topic.
    #[arg(long, requires = "topic")]
    pub partition: Option<i32>,
    /// Every partition that needs an election.
    #[arg(long)]
    pub all: bool,
    /// preferred (default) or unclean.
    #[arg(long = "type", value_enum, default_value_t = ElectionType::Preferred)]
    pub election_type: ElectionType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List the cluster's consumer groups with their state.
    List,
    /// A group's state and members, and per partition its committed offset,
    /// end offset and lag.
    Describe(GroupDescribeArgs),
    /// Move a group's committed offsets; a dry run unless --execute (the
    /// group must have no active members).
    ResetOffsets(ResetOffsetsArgs),
    /// Delete groups that have no active members, with their offsets.
    Delete(GroupsDeleteArgs),
    /// A consumer group's configs (KIP-848: consumer.session.timeout.ms,
    /// consumer.heartbeat.interval.ms), after setting or removing any
    /// given; what kafka-configs --entity-type groups does.
    Configs(GroupConfigsArgs),
}

#[derive(Debug, Args)]
pub struct GroupConfigsArgs {
    /// The group (its configs may be set before its first member joins).
    #[arg(value_name = "GROUP", add = ArgValueCandidates::new(names::groups), required_unless_present = "group_flag")]
    pub name: Option<String>,
    /// The group, as kafka-consumer-groups spells it (`--group G`).
    #[arg(long = "group", value_name = "GROUP", conflicts_with = "name", add = ArgValueCandidates::new(names::groups))]
    pub group_flag: Option<String>,
    /// Set a group config, key=value (repeatable).
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub configs: Vec<String>,
    /// Remove a group config override, back to the broker's default (repeatable).
    #[arg(long = "delete-config", value_name = "KEY")]
    pub delete_configs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GroupDescribeArgs {
    #[arg(value_name = "GROUP", add = ArgValueCandidates::new(names::groups), required_unless_present = "group_flag")]
    pub name: Option<String>,
    /// The group, as kafka-consumer-groups spells it (`--group G`).
    #[arg(long = "group", value_name = "GROUP", conflicts_with = "name", add = ArgValueCandidates::new(names::groups))]
    pub group_flag: Option<String>,
    /// List the members instead of the partitions: each one's assignment,
    /// and for a consumer-protocol group its epoch and target assignment
    /// (kafka-consumer-groups --members --verbose).
    #[arg(long)]
    pub members: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime"])))]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
pub struct ResetOffsetsArgs {
    #[arg(value_name = "GROUP", add = ArgValueCandidates::new(names::groups), required_unless_present = "group_flag")]
    pub name: Option<String>,
    /// The group, as kafka-consumer-groups spells it (`--group G`).
    #[arg(long = "group", value_name = "GROUP", conflicts_with = "name", add = ArgValueCandidates::new(names::groups))]
    pub group_flag: Option<String>,
    /// Topic to reset, optionally with partitions: `orders` or `orders:0,2` (repeatable).
    #[arg(long = "topic", value_name = "TOPIC[:P,P]", add = ArgValueCandidates::new(names::topics))]
    pub topics: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To each partition's first offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To each partition's end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset (capped to each partition's range).
    #[arg(long, value_name = "N")]
    pub to_offset: Option<i64>,
    /// Move the committed offsets by N (negative moves back).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// To the first offset at or after a time: RFC 3339, ms since the epoch, or -5m.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to_datetime: Option<String>,
    /// Apply the new offsets (without it, only show them).
    #[arg(long)]
    pub execute: bool,
    /// With --execute: do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct GroupsDeleteArgs {
    #[arg(value_name = "GROUP", add = ArgValueCandidates::new(names::groups), required_unless_present = "group_flags")]
    pub names: Vec<String>,
    /// A group, as kafka-consumer-groups spells it (`--group G`, repeatable).
    #[arg(long = "group", value_name = "GROUP", add = ArgValueCandidates::new(names::groups))]
    pub group_flags: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum TransactionsCommand {
    /// Every transactional id the coordinators know, with its producer id
    /// and state.
    List(TxnListArgs),
    /// One transactional id as its coordinator sees it: producer id and
    /// epoch, state, timeout, and the partitions of its open transaction.
    Describe(TxnDescribeArgs),
    /// The producers a partition's leader has state for, with the first
    /// offset of each one's open transaction there.
    DescribeProducers(TxnPartitionArgs),
    /// Open transactions on partitions that no coordinator will end: older
    /// than the longest transaction timeout and unknown to their coordinator
    /// (they hold read_committed consumers and compaction back).
    FindHanging(TxnFindHangingArgs),
    /// Ends a hanging transaction on one partition by writing its ABORT
    /// marker there.
    Abort(TxnAbortArgs),
}

#[derive(Debug, Args)]
pub struct TxnListArgs {
    /// Only transactions in these states (Empty, Ongoing, PrepareCommit,
    /// PrepareAbort, CompleteCommit, CompleteAbort, ...).
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TxnDescribeArgs {
    /// The transactional id.
    #[arg(value_name = "ID", required_unless_present = "transactional_id_flag")]
    pub transactional_id: Option<String>,
    /// The id, as kafka-transactions spells it.
    #[arg(
        long = "transactional-id",
        value_name = "ID",
        conflicts_with = "transactional_id"
    )]
    pub transactional_id_flag: Option<String>,
}

#[derive(Debug, Args)]
pub struct TxnPartitionArgs {
    #[arg(long, add = ArgValueCandidates::new(names::topics))]
    pub topic: String,
    #[arg(long)]
    pub partition: i32,
}

#[derive(Debug, Args)]
pub struct TxnFindHangingArgs {
    /// Look at this topic's partitions (all of them, or --partition).
    #[arg(long, add = ArgValueCandidates::new(names::topics), required_unless_present = "broker_id")]
    pub topic: Option<String>,
    #[arg(long, requires = "topic")]
    pub partition: Option<i32>,
    /// Look at the partitions this broker leads.
    #[arg(long, conflicts_with = "topic")]
    pub broker_id: Option<i32>,
    /// Transactions open longer than this may be hanging (the brokers'
    /// transaction.max.timeout.ms; Kafka's tool assumes 15 minutes).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub max_transaction_timeout: humantime::Duration,
}

#[derive(Debug, Args)]
pub struct TxnAbortArgs {
    #[arg(long, add = ArgValueCandidates::new(names::topics))]
    pub topic: String,
    #[arg(long)]
    pub partition: i32,
    /// The producer whose transaction to abort (see find-hanging).
    #[arg(long, required_unless_present = "start_offset")]
    pub producer_id: Option<i64>,
    /// Or the first offset of the transaction to abort.
    #[arg(long, conflicts_with = "producer_id")]
    pub start_offset: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Every SCRAM user with its mechanisms and iteration counts.
    List,
    /// Create a user: the password is asked on a terminal, else read from
    /// the first line of stdin (never from the command line).
    Create(UserPasswordArgs),
    /// Change a user's password (asked, or read from stdin).
    Passwd(UserPasswordArgs),
    /// Delete a user's credentials (every mechanism, or --mechanism).
    Delete(UserDeleteArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScramMechanismArg {
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl From<ScramMechanismArg> for kfk_client::ScramMechanism {
    fn from(m: ScramMechanismArg) -> Self {
        match m {
            ScramMechanismArg::ScramSha256 => kfk_client::ScramMechanism::Sha256,
            ScramMechanismArg::ScramSha512 => kfk_client::ScramMechanism::Sha512,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum QuotasCommand {
    /// List quotas: all, or those of the user and client id named.
    List(QuotaEntityArgs),
    /// Set quotas: KEY=VALUE with producer_byte_rate, consumer_byte_rate
    /// (bytes per second) or request_percentage (percent of one thread).
    Set(QuotaSetArgs),
    /// Remove quotas: the keys named, or all of the entity's.
    Delete(QuotaDeleteArgs),
}

#[derive(Debug, Args)]
pub struct QuotaEntityArgs {
    /// A user (its SASL or certificate principal's name).
    #[arg(long, conflicts_with = "default_user")]
    pub user: Option<String>,
    /// Every user without a quota of its own (each gets the amount).
    #[arg(long)]
    pub default_user: bool,
    /// A client id.
    #[arg(long, conflicts_with = "default_client_id")]
    pub client_id: Option<String>,
    /// Every client id without a quota of its own.
    #[arg(long)]
    pub default_client_id: bool,
}

#[derive(Debug, Args)]
pub struct QuotaSetArgs {
    #[command(flatten)]
    pub entity: QuotaEntityArgs,
    /// Quotas as KEY=VALUE, e.g. producer_byte_rate=1048576.
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub quotas: Vec<String>,
}

#[derive(Debug, Args)]
pub struct QuotaDeleteArgs {
    #[command(flatten)]
    pub entity: QuotaEntityArgs,
    /// Keys to remove (default: every quota of the entity).
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AclsCommand {
    /// List ACLs: all, or those of the resources and principal named.
    List(AclListArgs),
    /// Add ACLs: each principal may (or may not) do each operation to each
    /// resource, from each host (`--allow-principal User:alice --operation
    /// Read --topic orders`).
    Create(AclCreateArgs),
    /// Remove the ACLs the arguments match (unnamed parts match anything).
    Delete(AclDeleteArgs),
}

/// How an ACL's resource name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PatternArg {
    /// Exactly this name (`*`: every name).
    Literal,
    /// Every name that starts with this.
    Prefixed,
    /// Filters only: LITERAL or PREFIXED with this very name.
    Any,
    /// Filters only: every ACL that applies to this name.
    Match,
}

#[derive(Debug, Args)]
pub struct AclResourceArgs {
    /// A topic (repeatable; `*` for every topic).
    #[arg(long = "topic", value_name = "TOPIC", add = ArgValueCandidates::new(names::topics))]
    pub topics: Vec<String>,
    /// A consumer group (repeatable; `*` for every group).
    #[arg(long = "group", value_name = "GROUP", add = ArgValueCandidates::new(names::groups))]
    pub groups: Vec<String>,
    /// A transactional id (repeatable).
    #[arg(long = "transactional-id", value_name = "ID")]
    pub transactional_ids: Vec<String>,
    /// The cluster itself (creating topics, admin operations).
    #[arg(long)]
    pub cluster: bool,
}

#[derive(Debug, Args)]
pub struct AclListArgs {
    #[command(flatten)]
    pub resources: AclResourceArgs,
    /// Only this principal's ACLs (User:NAME).
    #[arg(long)]
    pub principal: Option<String>,
    /// How resource names match (default: any pattern of exactly that name).
    #[arg(long, value_enum, default_value = "any")]
    pub resource_pattern_type: PatternArg,
}

#[derive(Debug, Args)]
pub struct AclCreateArgs {
    #[command(flatten)]
    pub resources: AclResourceArgs,
    #[command(flatten)]
    pub who: AclWhoArgs,
    /// Add the ACLs a producer needs: Write, Describe and Create on the topics.
    #[arg(long)]
    pub producer: bool,
    /// Add the ACLs a consumer needs: Read and Describe on the topics, Read
    /// on the groups.
    #[arg(long)]
    pub consumer: bool,
    /// LITERAL names, or PREFIXED: every name that starts with the one given.
    #[arg(long, value_enum, default_value = "literal")]
    pub resource_pattern_type: PatternArg,
}

#[derive(Debug, Args)]
pub struct AclWhoArgs {
    /// Principals the ACLs allow (repeatable), e.g. User:alice or User:* for everyone.
    #[arg(long = "allow-principal", value_name = "PRINCIPAL")]
    pub allow_principals: Vec<String>,
    /// Principals the ACLs deny (repeatable); a DENY wins over any ALLOW.
    #[arg(long = "deny-principal", value_name = "PRINCIPAL")]
    pub deny_principals: Vec<String>,
    /// Hosts the allowing ACLs apply to (default: every host, `*`).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Hosts the denying ACLs apply to (default: every host, `*`).
    #[arg(long = "deny-host", value_name = "HOST")]
    pub deny_hosts: Vec<String>,
    /// Operations (repeatable): Read, Write, Create, Delete, Alter, Describe,
    /// ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All.
    #[arg(long = "operation", value_name = "OPERATION")]
    pub operations: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AclDeleteArgs {
    #[command(flatten)]
    pub resources: AclResourceArgs,
    #[command(flatten)]
    pub who: AclWhoArgs,
    /// How resource names match.
    #[arg(long, value_enum, default_value = "literal")]
    pub resource_pattern_type: PatternArg,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswordArgs {
    pub user: String,
    #[arg(long, value_enum, default_value = "SCRAM-SHA-256")]
    pub mechanism: ScramMechanismArg,
    /// PBKDF2 iterations (Kafka accepts 4096 to 16384).
    #[arg(long, default_value_t = 4096)]
    pub iterations: i32,
}

#[derive(Debug, Args)]
pub struct UserDeleteArgs {
    pub user: String,
    /// Only this mechanism's credential (default: all of the user's).
    #[arg(long, value_enum)]
    pub mechanism: Option<ScramMechanismArg>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create a topic.
    Create(TopicsCreateArgs),
    /// List topics.
    List(TopicsListArgs),
    /// Show a topic's partitions (leader, replicas, in-sync replicas, offsets) and configs.
    Describe(TopicNameArg),
    /// Delete topics.
    Delete(TopicsDeleteArgs),
    /// Add partitions or change configs of a topic.
    Alter(TopicsAlterArgs),
    /// Delete a topic's records below an offset or a time: its log start
    /// moves there on every in-sync replica (Kafka's kafka-delete-records).
    #[command(visible_alias = "truncate")]
    DeleteRecords(TopicsDeleteRecordsArgs),
    /// Clean a compacted topic now, whatever its dirty ratio: each broker
    /// holding its partitions keeps the latest record of every key. Kafka
    /// has no such command (its cleaner runs on its own); kfk asks each
    /// kfkd broker directly, which needs ALTER_CONFIGS on the cluster.
    Compact(TopicsCompactArgs),
}

/// A topic's partitions, all or one: `T`, `T:P`, `--topic T`, `-p P`.
#[derive(Debug, Args)]
pub struct PartitionTarget {
    /// The topic, or TOPIC:PARTITION.
    #[arg(add = ArgValueCandidates::new(names::topics), required_unless_present = "topic_flag")]
    pub name: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "name", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
    /// Only this partition (default: every partition).
    #[arg(short, long)]
    pub partition: Option<i32>,
}

#[derive(Debug, Args)]
pub struct TopicsCompactArgs {
    #[command(flatten)]
    pub target: PartitionTarget,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("bound").required(true).args(["before", "before_time"]))]
pub struct TopicsDeleteRecordsArgs {
    #[command(flatten)]
    pub target: PartitionTarget,
    /// Delete the records below this offset, or `end` for all of them (up to
    /// the high watermark).
    #[arg(long, value_name = "OFFSET|end", allow_hyphen_values = true)]
    pub before: Option<String>,
    /// Delete the records older than this time: RFC 3339
    /// (2026-12-01T10:00:00Z), milliseconds since the epoch, or -DURATION
    /// ago (-2h); each partition keeps its first record at or after it.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub before_time: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct TopicsCreateArgs {
    #[arg(required_unless_present = "topic_flag")]
    pub name: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "name", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
    /// Number of partitions (default: the broker's num.partitions).
    #[arg(short, long)]
    pub partitions: Option<i32>,
    /// Replicas per partition (default: the broker's default.replication.factor).
    #[arg(short = 'r', long)]
    pub replication_factor: Option<i16>,
    /// Brokers of each partition as in kafka-topics.sh: partitions separated
    /// by commas, replicas by colons, the first leads (e.g. `1:2,2:3,3:1`).
    #[arg(long, value_name = "ASSIGNMENT", conflicts_with_all = ["partitions", "replication_factor"])]
    pub replica_assignment: Option<String>,
    /// Topic config, key=value (repeatable), e.g. retention.ms=86400000.
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub configs: Vec<String>,
    /// Succeed if the topic already exists.
    #[arg(long)]
    pub if_not_exists: bool,
}

#[derive(Debug, Args)]
pub struct TopicsListArgs {
    /// Include internal topics (names starting with "__").
    #[arg(long)]
    pub internal: bool,
    /// Leave internal topics out: the default, accepted as kafka-topics
    /// --list takes it.
    #[arg(long, conflicts_with = "internal")]
    pub exclude_internal: bool,
    /// Only topics whose name contains this text (`*` matches anything).
    pub pattern: Option<String>,
    /// Only topics with a partition whose in-sync replicas are fewer than its replicas.
    #[arg(long)]
    pub under_replicated: bool,
    /// Only topics with a partition that has no leader.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct TopicNameArg {
    /// Topic (default: every topic, as kafka-topics --describe does).
    #[arg(add = ArgValueCandidates::new(names::topics))]
    pub name: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "name", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
}

#[derive(Debug, Args)]
pub struct TopicsDeleteArgs {
    #[arg(add = ArgValueCandidates::new(names::topics), required_unless_present = "topic_flags")]
    pub names: Vec<String>,
    /// A topic to delete, as Kafka's tools spell it (`--topic T`, repeatable).
    #[arg(long = "topic", value_name = "TOPIC", add = ArgValueCandidates::new(names::topics))]
    pub topic_flags: Vec<String>,
    /// Succeed for topics that do not exist.
    #[arg(long)]
    pub if_exists: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct TopicsAlterArgs {
    #[arg(add = ArgValueCandidates::new(names::topics), required_unless_present = "topic_flag")]
    pub name: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "name", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
    /// New (larger) number of partitions.
    #[arg(short, long)]
    pub partitions: Option<i32>,
    /// New replication factor: replicas are added or removed by a
    /// reassignment, and the command waits until it completes.
    #[arg(short = 'r', long)]
    pub replication_factor: Option<usize>,
    /// Set a topic config, key=value (repeatable).
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub configs: Vec<String>,
    /// Remove a topic config override (repeatable).
    #[arg(long = "delete-config", value_name = "KEY")]
    pub delete_configs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One message per line (with --key-separator: key SEP value).
    Text,
    /// One JSON object per line, as `kfk consume -o jsonl` writes them.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Topic (default: the profile's topic, or the only topic of the cluster).
    #[arg(add = ArgValueCandidates::new(names::topics))]
    pub topic: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "topic", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
    /// Split each line into key and value at the first SEP.
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Write every message to this partition.
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// Acknowledgements: 0, 1 or all (-1).
    #[arg(
        long,
        default_value = "all",
        allow_hyphen_values = true,
        visible_alias = "request-required-acks"
    )]
    pub acks: String,
    /// Batch compression (kafka-console-producer's --compression-codec).
    #[arg(long, value_enum, default_value_t = CompressionArg::None, visible_alias = "compression-codec")]
    pub compression: CompressionArg,
    /// Header added to every message, key=value (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Read messages from a file instead of standard input.
    #[arg(short, long)]
    pub file: Option<PathBuf>,
    /// How input lines are read.
    #[arg(long, value_enum, default_value_t = InputFormat::Text)]
    pub input: InputFormat,
    /// How long a message may take to be acknowledged, retries included
    /// (Kafka's delivery.timeout.ms): a leader's failover is waited out.
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub delivery_timeout: humantime::Duration,
    /// Write messages that fail for good to FILE as JSON lines, to send
    /// again with `--input jsonl -f FILE`.
    #[arg(long, value_name = "FILE")]
    pub save_failed: Option<PathBuf>,
    /// Kafka console-producer property, e.g. parse.key=true, key.separator=:
    /// (Kafka 4 spells it --reader-property).
    #[arg(
        long = "property",
        value_name = "KEY=VALUE",
        visible_alias = "reader-property"
    )]
    pub properties: Vec<String>,
    /// Write in transactions under this id (Kafka's transactional.id): the
    /// input is one transaction (or one per --txn-size lines), which
    /// read_committed consumers see whole or not at all; a later producer
    /// with the id fences this one. In the interactive prompt, :begin,
    /// :commit and :abort.
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,
    /// With --transactional-id: commit after every N lines.
    #[arg(long, value_name = "N", requires = "transactional_id", value_parser = clap::value_parser!(u64).range(1..))]
    pub txn_size: Option<u64>,
    /// With --transactional-id: how long a transaction may stay open before
    /// the coordinator aborts it (Kafka's transaction.timeout.ms).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        requires = "transactional_id"
    )]
    pub transaction_timeout: humantime::Duration,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topic (default: the profile's topic, or the only topic of the cluster).
    #[arg(add = ArgValueCandidates::new(names::topics))]
    pub topic: Option<String>,
    /// The topic, as Kafka's tools spell it (`--topic T`).
    #[arg(long = "topic", value_name = "TOPIC", conflicts_with = "topic", add = ArgValueCandidates::new(names::topics))]
    pub topic_flag: Option<String>,
    /// Start at the beginning of each partition (same as --offset start).
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Where to start: start, end, N, +N, -N, @TIMESTAMP, @-5m, or a range A:B, @T1:T2.
    #[arg(long, allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Only this partition.
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// Exit after this many messages.
    #[arg(short = 'n', long)]
    pub max_messages: Option<u64>,
    /// Exit when the end of every partition is reached.
    #[arg(short = 'e', long)]
    pub exit_at_end: bool,
    /// Exit when no message has come for this many milliseconds
    /// (kafka-console-consumer's --timeout-ms); with --group, counted from
    /// the moment the group hands out partitions.
    #[arg(long, value_name = "MS", conflicts_with = "interactive")]
    pub timeout_ms: Option<u64>,
    /// Format of each message, as kcat's -f: %t topic, %p partition, %o offset,
    /// %k key, %s (or %v) value, %T timestamp, %h headers, %K key length, %S value
    /// length, %R value length as a binary 32-bit integer, %% a percent sign;
    /// \n \r \t, \xHH and \NNN bytes.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Kafka console-consumer property, as its formatter reads them:
    /// print.timestamp, print.partition, print.offset, print.headers,
    /// print.key, print.value, key.separator, line.separator,
    /// headers.separator, headers.key.separator, null.literal (Kafka 4
    /// spells it --formatter-property).
    #[arg(
        long = "property",
        value_name = "KEY=VALUE",
        visible_alias = "formatter-property"
    )]
    pub properties: Vec<String>,
    /// Read on after a record batch that is damaged on the broker (failed
    /// checksum), saying on stderr which offsets were skipped.
    #[arg(long)]
    pub skip_corrupt: bool,
    /// Consume as a member of this consumer group: read the group's share of
    /// the partitions, resume at its committed offsets (--offset and
    /// --from-beginning then only apply where nothing is committed).
    #[arg(short = 'g', long, conflicts_with = "partition", add = ArgValueCandidates::new(names::groups))]
    pub group: Option<String>,
    /// With --group: how delivered offsets are committed, every 5 s and on
    /// exit (`none` never commits).
    #[arg(long, value_enum, default_value_t = CommitMode::Sync, requires = "group")]
    pub commit: CommitMode,
    /// With --group: the group protocol (Kafka's group.protocol): `classic`
    /// (JoinGroup/SyncGroup), or `consumer`, KIP-848's, where the broker
    /// assigns partitions and members come and go without stopping the others.
    #[arg(long, value_enum, default_value_t = GroupProtocolArg::Classic, requires = "group")]
    pub group_protocol: GroupProtocolArg,
    /// Pretty-print values that are JSON.
    #[arg(long)]
    pub pretty_json: bool,
    /// A prompt under the messages: pause, resume, seek, filter, next N, lag
    /// and more (type `help`). Needs a terminal.
    #[arg(short = 'i', long, conflicts_with_all = ["max_messages", "exit_at_end"])]
    pub interactive: bool,
    /// Which records of transactions to read (Kafka's isolation.level):
    /// everything written (read_uncommitted, Kafka's default too), or only
    /// committed transactions, stopping at the first one still open
    /// (read_committed).
    #[arg(long, alias = "isolation-level", value_enum, default_value_t = Isolation::ReadUncommitted)]
    pub isolation: Isolation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    #[value(name = "read_uncommitted")]
    ReadUncommitted,
    #[value(name = "read_committed")]
    ReadCommitted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupProtocolArg {
    Classic,
    Consumer,
}

impl From<GroupProtocolArg> for kfk_client::GroupProtocol {
    fn from(p: GroupProtocolArg) -> Self {
        match p {
            GroupProtocolArg::Classic => kfk_client::GroupProtocol::Classic,
            GroupProtocolArg::Consumer => kfk_client::GroupProtocol::Consumer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CommitMode {
    /// Wait for each commit.
    Sync,
    /// Commit in the background (the last commit, on exit, still waits).
    Async,
    /// Never commit.
    None,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(subcommand)]
    pub what: DescribeTarget,
}

#[derive(Debug, Subcommand)]
pub enum DescribeTarget {
    /// Cluster id, controller and brokers.
    Cluster,
    /// One broker: address, rack, leaderships and configs.
    Broker {
        #[arg(add = ArgValueCandidates::new(names::brokers))]
        id: i32,
    },
    /// One topic (same as `kfk topics describe`).
    Topic {
        #[arg(add = ArgValueCandidates::new(names::topics))]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Make a profile current (created if new).
    Use { profile: String },
    /// Set bootstrap or topic in the current profile (or --profile).
    Set {
        key: String,
        value: String,
        #[arg(long)]
        profile: Option<String>,
    },
    /// Remove a key from the current profile (or --profile).
    Unset {
        key: String,
        #[arg(long)]
        profile: Option<String>,
    },
    /// Show all profiles.
    List,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    pub dir: PathBuf,
}

/// The topic named positionally or with `--topic`, whichever was given.
fn either<'a>(positional: &'a Option<String>, flag: &'a Option<String>) -> Option<&'a str> {
    positional.as_deref().or(flag.as_deref())
}

impl ProduceArgs {
    pub fn topic(&self) -> Option<&str> {
        either(&self.topic, &self.topic_flag)
    }
}

/// The group a `kfk groups` command names, positionally or with `--group`
/// (clap requires one of the two).
fn group_of<'a>(name: &'a Option<String>, flag: &'a Option<String>) -> &'a str {
    either(name, flag).unwrap_or_default()
}

impl GroupDescribeArgs {
    pub fn group(&self) -> &str {
        group_of(&self.name, &self.group_flag)
    }
}

impl ResetOffsetsArgs {
    pub fn group(&self) -> &str {
        group_of(&self.name, &self.group_flag)
    }
}

impl GroupConfigsArgs {
    pub fn group(&self) -> &str {
        group_of(&self.name, &self.group_flag)
    }
}

impl GroupsDeleteArgs {
    /// The groups named either way, in the order given.
    pub fn groups(&self) -> Vec<String> {
        self.names
            .iter()
            .chain(&self.group_flags)
            .cloned()
            .collect()
    }
}

impl ConsumeArgs {
    pub fn topic(&self) -> Option<&str> {
        either(&self.topic, &self.topic_flag)
    }
}

impl TopicNameArg {
    pub fn topic(&self) -> Option<&str> {
        either(&self.name, &self.topic_flag)
    }
}

impl TopicsCreateArgs {
    /// Required by clap: one of the two is present.
    pub fn topic(&self) -> &str {
        either(&self.name, &self.topic_flag).unwrap_or_default()
    }
}

impl PartitionTarget {
    /// The topic and the partition (`--partition`, or TOPIC:PARTITION; a
    /// topic name cannot hold `:`).
    ///
    /// # Errors
    /// A partition that does not parse, or given twice differently.
    pub fn resolve(&self) -> Result<(&str, Option<i32>), String> {
        let name = either(&self.name, &self.topic_flag).unwrap_or_default();
        let flag = self.partition;
        match name.rsplit_once(':') {
            Some((topic, p)) => {
                let p: i32 = p
                    .parse()
                    .ok()
                    .filter(|p| *p >= 0)
                    .ok_or_else(|| format!("{name:?}: expected TOPIC or TOPIC:PARTITION"))?;
                if flag.is_some_and(|f| f != p) {
                    return Err(format!(
                        "{name:?} and --partition {} disagree",
                        flag.unwrap_or(p)
                    ));
                }
                Ok((topic, Some(p)))
            }
            None => Ok((name, flag)),
        }
    }
}

impl TopicsAlterArgs {
    /// Required by clap: one of the two is present.
    pub fn topic(&self) -> &str {
        either(&self.name, &self.topic_flag).unwrap_or_default()
    }
}

impl TopicsDeleteArgs {
    pub fn topics(&self) -> Vec<String> {
        self.names
            .iter()
            .chain(&self.topic_flags)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    /// clap checks the whole command tree (two arguments on one long name,
    /// a conflict naming an argument that does not exist, ...) only when a
    /// command is built in full, as `kfk man` does; a typo here would
    /// otherwise surface as a panic of a debug build's `kfk man`.
    #[test]
    fn the_command_tree_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
