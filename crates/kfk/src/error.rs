//! One error type for the CLI: a sentence for the user, an optional hint, and
//! the exit code. Never a backtrace.

use kfk_client::ClientError;

/// Exit codes: 1 for failures, 2 for bad usage (as clap uses).
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
            code: EXIT_FAILURE,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            ..CliError::new(message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        let hint = match &e {
            ClientError::Tls { .. } => Some(
                "check --ssl-ca-file (the CA that signs the brokers' certificates), --ssl-cert-file for brokers that ask for a client certificate, and --security-protocol",
            ),
            ClientError::Unreachable { last, .. } if last.starts_with("TLS with") => Some(
                "check --ssl-ca-file (the CA that signs the brokers' certificates), --ssl-cert-file for brokers that ask for a client certificate, and --security-protocol",
            ),
            ClientError::Unreachable { last, .. } if last.starts_with("authentication with") => {
                Some(
                    "check the SASL user, password and mechanism (--sasl-username, KFK_SASL_PASSWORD or --sasl-password-file, --sasl-mechanism; sasl.jaas.config in a --command-config file)",
                )
            }
            ClientError::Unreachable { .. }
            | ClientError::Io { .. }
            | ClientError::Timeout { .. } => Some(
                "is the cluster running? Start a local one with `kfk cluster up`, or pass -b HOST:PORT",
            ),
            ClientError::UnknownTopic(_) => Some("see `kfk topics list`"),
            ClientError::Kafka {
                error: kafka_protocol::ResponseError::SecurityDisabled,
                ..
            } => Some(
                "the brokers run without an authorizer: set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer (and super.users) on them",
            ),
            ClientError::Kafka {
                error:
                    kafka_protocol::ResponseError::TopicAuthorizationFailed
                    | kafka_protocol::ResponseError::GroupAuthorizationFailed
                    | kafka_protocol::ResponseError::ClusterAuthorizationFailed
                    | kafka_protocol::ResponseError::TransactionalIdAuthorizationFailed,
                ..
            } => Some(
                "the principal kfk connects as lacks an ACL for this; an admin can grant it with `kfk acls create --allow-principal User:NAME --operation OP --topic|--group|--cluster ...`",
            ),
            ClientError::UnknownPartition { .. } => Some("see `kfk topics describe TOPIC`"),
            _ => None,
        };
        let err = CliError::new(e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;
