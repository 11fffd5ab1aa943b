//! The parts of an ACL as Kafka numbers and names them (the wire codes of
//! CreateAcls and DescribeAcls; the names kafka-acls prints).

use serde::{Deserialize, Serialize};

macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($variant,)* }

        impl $name {
            /// The wire code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code,)* }
            }

            /// From a wire code; `None` for codes Kafka does not define.
            pub fn from_code(code: i8) -> Option<$name> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }

            /// Kafka's name (`Topic`, `Read`, `Allow`, `Prefixed`, ...).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// From a name in any case and with `_` or `-` between words
            /// (`transactional-id`, `DESCRIBE_CONFIGS`, `describeconfigs`).
            pub fn parse(text: &str) -> Option<$name> {
                let wanted: String = text.chars().filter(|c| *c != '_' && *c != '-').collect();
                [$($name::$variant,)*]
                    .into_iter()
                    .find(|v| v.name().eq_ignore_ascii_case(&wanted))
            }

            /// Every value.
            pub fn all() -> &'static [$name] {
                &[$($name::$variant,)*]
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

coded! {
    /// What an ACL protects. `Any` only appears in filters.
    ResourceType {
        Any = 1, "Any";
        Topic = 2, "Topic";
        Group = 3, "Group";
        Cluster = 4, "Cluster";
        TransactionalId = 5, "TransactionalId";
        DelegationToken = 6, "DelegationToken";
        User = 7, "User";
    }
}

coded! {
    /// How an ACL's resource name matches. `Any` and `Match` only appear in
    /// filters: `Match` finds every ACL that applies to a name.
    PatternType {
        Any = 1, "Any";
        Match = 2, "Match";
        Literal = 3, "Literal";
        Prefixed = 4, "Prefixed";
    }
}

coded! {
    /// What a principal may do. `Any` only appears in filters; `All` in an
    /// ACL covers every operation.
    Operation {
        Any = 1, "Any";
        All = 2, "All";
        Read = 3, "Read";
        Write = 4, "Write";
        Create = 5, "Create";
        Delete = 6, "Delete";
        Alter = 7, "Alter";
        Describe = 8, "Describe";
        ClusterAction = 9, "ClusterAction";
        DescribeConfigs = 10, "DescribeConfigs";
        AlterConfigs = 11, "AlterConfigs";
        IdempotentWrite = 12, "IdempotentWrite";
        CreateTokens = 13, "CreateTokens";
        DescribeTokens = 14, "DescribeTokens";
    }
}

coded! {
    /// Whether an ACL grants or refuses. `Any` only appears in filters.
    Permission {
        Any = 1, "Any";
        Deny = 2, "Deny";
        Allow = 3, "Allow";
    }
}

impl ResourceType {
    /// The operations an ACL on this type can grant, as Kafka's AclEntry
    /// lists them: what "authorized operations" answers report (all of them
    /// without an authorizer). Empty for the filter-only `Any`.
    pub fn operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Any => &[],
        }
    }
}

/// Operations as the 32-bit field of "authorized operations" answers: bit
/// `code` set for each.
pub fn operations_bitfield(ops: impl IntoIterator<Item = Operation>) -> i32 {
    ops.into_iter().fold(0, |bits, op| bits | (1 << op.code()))
}

/// The one name a cluster resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// A resource name that matches every name (in a LITERAL ACL).
pub const WILDCARD: &str = "*";

/// One ACL: who may (or may not) do what to which resources, from where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `User:alice`, `User:CN=...`, or `User:*` for everyone.
    pub principal: String,
    /// A client address, or `*` for any.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

impl AclBinding {
    /// Why this binding cannot be stored, if it cannot: the checks
    /// CreateAcls makes (filter-only values, a principal without its type,
    /// a cluster resource not named `kafka-cluster`, an empty name).
    pub fn invalid(&self) -> Option<String> {
        if self.resource_type == ResourceType::Any {
            return Some("the resource type must be a type, not ANY".into());
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return Some("the pattern type must be LITERAL or PREFIXED".into());
        }
        if self.operation == Operation::Any {
            return Some("the operation must be an operation, not ANY".into());
        }
        if self.permission == Permission::Any {
            return Some("the permission must be ALLOW or DENY".into());
        }
        if self.resource_name.is_empty() {
            return Some("the resource name is empty".into());
        }
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return Some(format!("the cluster resource is named {CLUSTER_NAME}"));
        }
        if self.pattern_type == PatternType::Prefixed && self.resource_name == WILDCARD {
            return Some("a PREFIXED pattern of * matches nothing; use LITERAL *".into());
        }
        match self.principal.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => {}
            _ => {
                return Some(format!(
                    "principal {:?} is not TYPE:NAME (e.g. User:alice)",
                    self.principal
                ));
            }
        }
        if self.host.is_empty() {
            return Some("the host is empty (use * for any)".into());
        }
        None
    }
}

/// What DescribeAcls and DeleteAcls select: every field optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Operation,
    pub permission: Permission,
}

impl AclFilter {
    /// A filter that selects every ACL.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: Operation::Any,
            permission: Permission::Any,
        }
    }

    /// Whether `acl` is selected.
    pub fn matches(&self, acl: &AclBinding) -> bool {
        let typed =
            self.resource_type == ResourceType::Any || self.resource_type == acl.resource_type;
        let named = match (self.pattern_type, &self.resource_name) {
            (PatternType::Any, None) => true,
            (PatternType::Any, Some(n)) => &acl.resource_name == n,
            (PatternType::Match, None) => true,
            (PatternType::Match, Some(n)) => match acl.pattern_type {
                PatternType::Literal => &acl.resource_name == n || acl.resource_name == WILDCARD,
                PatternType::Prefixed => n.starts_with(&acl.resource_name),
                _ => false,
            },
            (p, name) => {
                acl.pattern_type == p && name.as_ref().is_none_or(|n| &acl.resource_name == n)
            }
        };
        typed
            && named
            && self.principal.as_ref().is_none_or(|p| &acl.principal == p)
            && self.host.as_ref().is_none_or(|h| &acl.host == h)
            && (self.operation == Operation::Any || self.operation == acl.operation)
            && (self.permission == Permission::Any || self.permission == acl.permission)
    }
}
