//! ACLs (KIP-140): list them by filter, create bindings, delete what
//! filters match, as Kafka's AdminClient does for kafka-acls.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use kfk_acl::{AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType};

use crate::client::Client;
use crate::error::{ClientError, Result};

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A binding as the broker sent it; `None` for codes this client does not
/// know (a newer broker's).
#[allow(clippy::too_many_arguments)]
fn binding(
    rtype: i8,
    name: &StrBytes,
    pattern: i8,
    principal: &StrBytes,
    host: &StrBytes,
    op: i8,
    perm: i8,
) -> Option<AclBinding> {
    Some(AclBinding {
        resource_type: ResourceType::from_code(rtype)?,
        resource_name: name.to_string(),
        pattern_type: PatternType::from_code(pattern)?,
        principal: principal.to_string(),
        host: host.to_string(),
        operation: Operation::from_code(op)?,
        permission: Permission::from_code(perm)?,
    })
}

impl Client {
    /// The ACLs `filter` selects.
    ///
    /// # Errors
    /// SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED
    /// without Describe on the cluster.
    pub async fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>> {
        self.retrying(|| async {
            let req = DescribeAclsRequest::default()
                .with_resource_type_filter(filter.resource_type.code())
                .with_resource_name_filter(filter.resource_name.as_deref().map(text))
                .with_pattern_type_filter(filter.pattern_type.code())
                .with_principal_filter(filter.principal.as_deref().map(text))
                .with_host_filter(filter.host.as_deref().map(text))
                .with_operation(filter.operation.code())
                .with_permission_type(filter.permission.code());
            let (resp, _) = self.any_broker().await?.send(&req).await?;
            ClientError::check(
                resp.error_code,
                resp.error_message.as_deref(),
                "cannot list ACLs",
            )?;
            let mut out = Vec::new();
            for r in &resp.resources {
                for a in &r.acls {
                    out.extend(binding(
                        r.resource_type,
                        &r.resource_name,
                        r.pattern_type,
                        &a.principal,
                        &a.host,
                        a.operation,
                        a.permission_type,
                    ));
                }
            }
            Ok(out)
        })
        .await
    }

    /// Creates `acls` (ones that exist already stay).
    ///
    /// # Errors
    /// The first binding the broker refused, with why.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<()> {
        let req = CreateAclsRequest::default().with_creations(
            acls.iter()
                .map(|a| {
                    AclCreation::default()
                        .with_resource_type(a.resource_type.code())
                        .with_resource_name(text(&a.resource_name))
                        .with_resource_pattern_type(a.pattern_type.code())
                        .with_principal(text(&a.principal))
                        .with_host(text(&a.host))
                        .with_operation(a.operation.code())
                        .with_permission_type(a.permission.code())
                })
                .collect(),
        );
        let (resp, _) = self.any_broker().await?.send(&req).await?;
        for (r, a) in resp.results.iter().zip(acls) {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                format!(
                    "cannot create ACL {} {} {} on {}:{}",
                    a.permission, a.principal, a.operation, a.resource_type, a.resource_name
                ),
            )?;
        }
        Ok(())
    }

    /// Deletes every ACL `filters` select; returns them.
    ///
    /// # Errors
    /// The broker's refusal of a filter.
    pub async fn delete_acls(&self, filters: &[AclFilter]) -> Result<Vec<AclBinding>> {
        let req = DeleteAclsRequest::default().with_filters(
            filters
                .iter()
                .map(|f| {
                    DeleteAclsFilter::default()
                        .with_resource_type_filter(f.resource_type.code())
                        .with_resource_name_filter(f.resource_name.as_deref().map(text))
                        .with_pattern_type_filter(f.pattern_type.code())
                        .with_principal_filter(f.principal.as_deref().map(text))
                        .with_host_filter(f.host.as_deref().map(text))
                        .with_operation(f.operation.code())
                        .with_permission_type(f.permission.code())
                })
                .collect(),
        );
        let (resp, _) = self.any_broker().await?.send(&req).await?;
        let mut deleted = Vec::new();
        for r in &resp.filter_results {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                "cannot delete ACLs",
            )?;
            for m in &r.matching_acls {
                ClientError::check(
                    m.error_code,
                    m.error_message.as_deref(),
                    "cannot delete ACL",
                )?;
                deleted.extend(binding(
                    m.resource_type,
                    &m.resource_name,
                    m.pattern_type,
                    &m.principal,
                    &m.host,
                    m.operation,
                    m.permission_type,
                ));
            }
        }
        deleted.sort();
        deleted.dedup();
        Ok(deleted)
    }
}
