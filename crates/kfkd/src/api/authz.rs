//! Authorization of requests, as Kafka's KafkaApis asks it: each API names
//! the operation it needs on each resource. Topics a principal may not
//! touch are taken out of a request before it is served and answered with
//! TOPIC_AUTHORIZATION_FAILED after; a request that needs the cluster as a
//! whole is answered with CLUSTER_AUTHORIZATION_FAILED. Without an
//! authorizer every check passes at no cost.

use kafka_protocol::ResponseError;
use kfk_acl::{CLUSTER_NAME, Operation, ResourceType};
use tracing::info;

use super::ClientInfo;
use crate::broker::Broker;

/// The client's address as ACL hosts name it (no leading `/`).
fn host(client: &ClientInfo) -> &str {
    client.host.trim_start_matches('/')
}

impl Broker {
    /// Whether the authorizer is on.
    pub(crate) fn authorizing(&self) -> bool {
        self.authorizer.is_some()
    }

    /// May `client` do `op` to `rtype` `name`? Denials are logged as
    /// Kafka's authorizer logger logs them.
    pub(crate) fn allowed(
        &self,
        client: &ClientInfo,
        op: Operation,
        rtype: ResourceType,
        name: &str,
    ) -> bool {
        let ok = self.allowed_quietly(client, op, rtype, name);
        if !ok {
            info!(principal = %client.principal, host = host(client), operation = op.name(),
                resource = %format!("{rtype}:{name}"), "authorization denied");
        }
        ok
    }

    /// As [`Broker::allowed`], without logging a denial: for listings that
    /// leave out what a client may not see.
    pub(crate) fn allowed_quietly(
        &self,
        client: &ClientInfo,
        op: Operation,
        rtype: ResourceType,
        name: &str,
    ) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        self.with_image(|i| {
            authorizer.authorize(&i.acls, &client.principal, host(client), op, rtype, name)
        })
    }

    /// May `client` do `op` to the cluster?
    pub(crate) fn allowed_on_cluster(&self, client: &ClientInfo, op: Operation) -> bool {
        self.allowed(client, op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// May `client` do `op` to some resource of `rtype`?
    pub(crate) fn allowed_on_any(
        &self,
        client: &ClientInfo,
        op: Operation,
        rtype: ResourceType,
    ) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        self.with_image(|i| {
            authorizer.authorize_any(&i.acls, &client.principal, host(client), op, rtype)
        })
    }

    /// What `client` may do to `rtype` `name`, as the bit field of the
    /// "authorized operations" answers (Kafka's AuthHelper: every operation
    /// of the type without an authorizer).
    pub(crate) fn authorized_operations(
        &self,
        client: &ClientInfo,
        rtype: ResourceType,
        name: &str,
    ) -> i32 {
        kfk_acl::operations_bitfield(
            rtype
                .operations()
                .iter()
                .copied()
                .filter(|op| self.allowed_quietly(client, *op, rtype, name)),
        )
    }

    /// The cluster's authorized operations for Metadata and DescribeCluster:
    /// 0 unless the client may describe the cluster, as Kafka answers.
    pub(crate) fn cluster_authorized_operations(&self, client: &ClientInfo) -> i32 {
        if self.allowed_quietly(
            client,
            Operation::Describe,
            ResourceType::Cluster,
            CLUSTER_NAME,
        ) {
            self.authorized_operations(client, ResourceType::Cluster, CLUSTER_NAME)
        } else {
            0
        }
    }

    /// May `client` do `op` to topic `name`?
    pub(crate) fn allowed_topic(&self, client: &ClientInfo, op: Operation, name: &str) -> bool {
        self.allowed(client, op, ResourceType::Topic, name)
    }

    /// May `client` do `op` to group `name`?
    pub(crate) fn allowed_group(&self, client: &ClientInfo, op: Operation, name: &str) -> bool {
        self.allowed(client, op, ResourceType::Group, name)
    }
}

/// Splits `items` into those `keep` admits and those it refuses, in order.
pub(super) fn split_off<T>(items: &mut Vec<T>, mut keep: impl FnMut(&T) -> bool) -> Vec<T> {
    if items.is_empty() {
        return Vec::new();
    }
    let (kept, refused): (Vec<T>, Vec<T>) =
        std::mem::take(items).into_iter().partition(|t| keep(t));
    *items = kept;
    refused
}

/// The schema's "authorized operations were not asked for".
pub(super) const OPERATIONS_NOT_ASKED: i32 = i32::MIN;

pub(super) const TOPIC_DENIED: ResponseError = ResponseError::TopicAuthorizationFailed;
pub(super) const GROUP_DENIED: ResponseError = ResponseError::GroupAuthorizationFailed;
pub(super) const CLUSTER_DENIED: ResponseError = ResponseError::ClusterAuthorizationFailed;
