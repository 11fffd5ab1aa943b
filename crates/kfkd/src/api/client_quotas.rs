//! DescribeClientQuotas: which produce, fetch and request-rate quotas apply
//! to users, client ids and IPs. kfkd keeps none (no quota can be set:
//! AlterClientQuotas is not served), so a valid filter matches nothing; an
//! invalid one gets Kafka's INVALID_REQUEST. kafka-configs asks this
//! alongside the SCRAM credentials when it describes a user.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};

use super::str_bytes;

const ENTITY_TYPES: [&str; 3] = ["user", "client-id", "ip"];

/// Kafka's checks of a filter.
fn check(req: &DescribeClientQuotasRequest) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for c in &req.components {
        let kind = c.entity_type.as_str();
        if !ENTITY_TYPES.contains(&kind) {
            return Err(format!("Custom entity type '{kind}' not supported"));
        }
        if !seen.insert(kind) {
            return Err(format!("Duplicate {kind} filter component entity type"));
        }
        match (c.match_type, &c._match) {
            (0, Some(_)) | (1 | 2, None) => {}
            (0, None) => return Err(format!("Exact match for {kind} needs a name")),
            (1 | 2, Some(_)) => {
                return Err(format!("Default or any match for {kind} takes no name"));
            }
            (t, _) => return Err(format!("Unknown match type {t}")),
        }
    }
    if seen.contains("ip") && seen.len() > 1 {
        return Err("ip quotas cannot be combined with user or client-id".into());
    }
    Ok(())
}

pub fn handle(req: DescribeClientQuotasRequest) -> DescribeClientQuotasResponse {
    match check(&req) {
        Ok(()) => DescribeClientQuotasResponse::default().with_entries(Some(Vec::new())),
        Err(why) => DescribeClientQuotasResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes(why))),
    }
}
