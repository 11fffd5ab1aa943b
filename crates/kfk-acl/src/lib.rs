//! Kafka's authorization model, free of I/O: ACL bindings and filters as
//! CreateAcls, DescribeAcls and DeleteAcls carry them, the cluster's ACLs
//! indexed for cheap checks, and the StandardAuthorizer's decision.

mod authorizer;
mod index;
mod model;

pub use authorizer::Authorizer;
pub use index::Acls;
pub use model::{
    AclBinding, AclFilter, CLUSTER_NAME, Operation, PatternType, Permission, ResourceType,
    WILDCARD, operations_bitfield,
};

#[cfg(test)]
mod tests;
