//! CreateAcls, DescribeAcls and DeleteAcls (KIP-140): ACLs live in the
//! metadata log, so every broker's authorizer sees the same ones. Deleting
//! resolves each filter against the current ACLs under the change lock and
//! removes exactly the bindings it matched.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kfk_acl::{AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType};
use tracing::info;

use super::str_bytes;
use crate::broker::Broker;
use crate::quorum::MetadataCommand;

fn text(s: &StrBytes) -> String {
    s.to_string()
}

/// A binding from CreateAcls' wire form, or why it cannot be one.
fn binding(c: &create_acls_request::AclCreation) -> Result<AclBinding, String> {
    let acl = AclBinding {
        resource_type: ResourceType::from_code(c.resource_type)
            .ok_or(format!("unknown resource type {}", c.resource_type))?,
        resource_name: text(&c.resource_name),
        pattern_type: PatternType::from_code(c.resource_pattern_type)
            .ok_or(format!("unknown pattern type {}", c.resource_pattern_type))?,
        principal: text(&c.principal),
        host: text(&c.host),
        operation: Operation::from_code(c.operation)
            .ok_or(format!("unknown operation {}", c.operation))?,
        permission: Permission::from_code(c.permission_type)
            .ok_or(format!("unknown permission {}", c.permission_type))?,
    };
    match acl.invalid() {
        Some(why) => Err(why),
        None => Ok(acl),
    }
}

/// A filter from DescribeAcls' or DeleteAcls' wire form.
#[allow(clippy::too_many_arguments)]
fn filter(
    resource_type: i8,
    name: Option<&StrBytes>,
    pattern_type: i8,
    principal: Option<&StrBytes>,
    host: Option<&StrBytes>,
    operation: i8,
    permission: i8,
) -> Result<AclFilter, String> {
    let f = AclFilter {
        resource_type: ResourceType::from_code(resource_type)
            .ok_or(format!("unknown resource type {resource_type}"))?,
        resource_name: name.map(text),
        pattern_type: PatternType::from_code(pattern_type)
            .ok_or(format!("unknown pattern type {pattern_type}"))?,
        principal: principal.map(text),
        host: host.map(text),
        operation: Operation::from_code(operation)
            .ok_or(format!("unknown operation {operation}"))?,
        permission: Permission::from_code(permission)
            .ok_or(format!("unknown permission {permission}"))?,
    };
    Ok(f)
}

pub async fn create(broker: &Broker, req: CreateAclsRequest) -> CreateAclsResponse {
    let mut results = Vec::with_capacity(req.creations.len());
    let mut valid = Vec::new();
    let mut slots = Vec::new();
    for c in &req.creations {
        match binding(c) {
            Ok(acl) => {
                slots.push(Some(valid.len()));
                valid.push(acl);
            }
            Err(why) => {
                slots.push(None);
                results.push(Some(
                    AclCreationResult::default()
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(str_bytes(why))),
                ));
            }
        }
    }
    let outcome = if valid.is_empty() {
        Ok(())
    } else {
        let count = valid.len();
        broker
            .propose(MetadataCommand::CreateAcls(valid))
            .await
            .map(|_| info!(acls = count, "ACLs created"))
    };
    let mut failed = results.into_iter();
    let results = slots
        .into_iter()
        .map(|slot| match slot {
            None => failed.next().flatten().unwrap_or_default(),
            Some(_) => match &outcome {
                Ok(()) => AclCreationResult::default(),
                Err(e) => AclCreationResult::default()
                    .with_error_code(e.error.code())
                    .with_error_message(e.message.clone().map(str_bytes)),
            },
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

pub fn describe(broker: &Broker, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let f = match filter(
        req.resource_type_filter,
        req.resource_name_filter.as_ref(),
        req.pattern_type_filter,
        req.principal_filter.as_ref(),
        req.host_filter.as_ref(),
        req.operation,
        req.permission_type,
    ) {
        Ok(f) => f,
        Err(why) => {
            return DescribeAclsResponse::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(why)));
        }
    };
    let matched: Vec<AclBinding> = broker.with_image(|i| i.acls.matching(&f).cloned().collect());
    // One entry per resource pattern, its ACLs together (the list is sorted
    // by resource first).
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    for acl in matched {
        let description = AclDescription::default()
            .with_principal(str_bytes(acl.principal.clone()))
            .with_host(str_bytes(acl.host.clone()))
            .with_operation(acl.operation.code())
            .with_permission_type(acl.permission.code());
        match resources.last_mut() {
            Some(r)
                if r.resource_type == acl.resource_type.code()
                    && r.resource_name.as_str() == acl.resource_name
                    && r.pattern_type == acl.pattern_type.code() =>
            {
                r.acls.push(description);
            }
            _ => resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(acl.resource_type.code())
                    .with_resource_name(str_bytes(acl.resource_name))
                    .with_pattern_type(acl.pattern_type.code())
                    .with_acls(vec![description]),
            ),
        }
    }
    DescribeAclsResponse::default().with_resources(resources)
}

pub async fn delete(broker: &Broker, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let _one_change_at_a_time = broker.changes.lock().await;
    let mut per_filter: Vec<Result<Vec<AclBinding>, String>> = Vec::new();
    let mut doomed: Vec<AclBinding> = Vec::new();
    for d in &req.filters {
        let matched = filter(
            d.resource_type_filter,
            d.resource_name_filter.as_ref(),
            d.pattern_type_filter,
            d.principal_filter.as_ref(),
            d.host_filter.as_ref(),
            d.operation,
            d.permission_type,
        )
        .map(|f| broker.with_image(|i| i.acls.matching(&f).cloned().collect::<Vec<_>>()));
        if let Ok(m) = &matched {
            for acl in m {
                if !doomed.contains(acl) {
                    doomed.push(acl.clone());
                }
            }
        }
        per_filter.push(matched);
    }
    let outcome = if doomed.is_empty() {
        Ok(())
    } else {
        let count = doomed.len();
        broker
            .propose(MetadataCommand::DeleteAcls(doomed))
            .await
            .map(|_| info!(acls = count, "ACLs deleted"))
    };
    let results = per_filter
        .into_iter()
        .map(|matched| match (matched, &outcome) {
            (Err(why), _) => DeleteAclsFilterResult::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(why))),
            (Ok(_), Err(e)) => DeleteAclsFilterResult::default()
                .with_error_code(e.error.code())
                .with_error_message(e.message.clone().map(str_bytes)),
            (Ok(m), Ok(())) => DeleteAclsFilterResult::default().with_matching_acls(
                m.into_iter()
                    .map(|acl| {
                        DeleteAclsMatchingAcl::default()
                            .with_resource_type(acl.resource_type.code())
                            .with_resource_name(str_bytes(acl.resource_name))
                            .with_pattern_type(acl.pattern_type.code())
                            .with_principal(str_bytes(acl.principal))
                            .with_host(str_bytes(acl.host))
                            .with_operation(acl.operation.code())
                            .with_permission_type(acl.permission.code())
                    })
                    .collect(),
            ),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
