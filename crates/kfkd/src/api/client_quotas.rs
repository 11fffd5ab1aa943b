//! DescribeClientQuotas and AlterClientQuotas (KIP-546): the produce,
//! fetch and request-time quotas of users and client ids (and their
//! defaults), kept in the metadata log. IP entities (connection rates) are
//! not kept: a filter for them matches nothing, and setting one is refused.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::alter_client_quotas_response::{
    EntityData as AlteredEntity, EntryData as AlteredEntry,
};
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};

use super::str_bytes;
use crate::broker::Broker;
use crate::client_quota::{KEYS, QuotaEntity, QuotaName};
use crate::metadata::QuotaChange;
use crate::quorum::MetadataCommand;

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

/// The part of `entity` of type `kind`.
fn part<'a>(entity: &'a QuotaEntity, kind: &str) -> Option<&'a QuotaName> {
    match kind {
        "user" => entity.user.as_ref(),
        "client-id" => entity.client_id.as_ref(),
        _ => None,
    }
}

/// Whether `entity` is selected by the filter.
fn selected(req: &DescribeClientQuotasRequest, entity: &QuotaEntity) -> bool {
    let matches = req.components.iter().all(|c| {
        let Some(name) = part(entity, &c.entity_type) else {
            return false;
        };
        match c.match_type {
            0 => name == &QuotaName::from_wire(c._match.as_deref()),
            1 => name == &QuotaName::Default,
            _ => true,
        }
    });
    let types = [
        ("user", entity.user.is_some()),
        ("client-id", entity.client_id.is_some()),
    ];
    let no_others = types
        .iter()
        .filter(|(_, present)| *present)
        .all(|(kind, _)| {
            req.components
                .iter()
                .any(|c| c.entity_type.as_str() == *kind)
        });
    matches && (!req.strict || no_others)
}

fn wire_entity(entity: &QuotaEntity) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(u) = &entity.user {
        out.push(("user".to_string(), u.to_wire().map(str::to_string)));
    }
    if let Some(c) = &entity.client_id {
        out.push(("client-id".to_string(), c.to_wire().map(str::to_string)));
    }
    out
}

pub fn describe(broker: &Broker, req: DescribeClientQuotasRequest) -> DescribeClientQuotasResponse {
    if let Err(why) = check(&req) {
        return DescribeClientQuotasResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes(why)));
    }
    let entries = broker.with_image(|i| {
        i.client_quotas
            .entries()
            .into_iter()
            .filter(|(entity, _)| selected(&req, entity))
            .map(|(entity, values)| {
                EntryData::default()
                    .with_entity(
                        wire_entity(entity)
                            .into_iter()
                            .map(|(t, n)| {
                                EntityData::default()
                                    .with_entity_type(str_bytes(t))
                                    .with_entity_name(n.map(str_bytes))
                            })
                            .collect(),
                    )
                    .with_values(
                        values
                            .iter()
                            .map(|(k, v)| {
                                ValueData::default()
                                    .with_key(str_bytes(k.clone()))
                                    .with_value(*v)
                            })
                            .collect(),
                    )
            })
            .collect()
    });
    DescribeClientQuotasResponse::default().with_entries(Some(entries))
}

/// One entry's changes, or why they cannot be made.
fn changes(
    entry: &kafka_protocol::messages::alter_client_quotas_request::EntryData,
) -> Result<Vec<QuotaChange>, (ResponseError, String)> {
    let invalid = |why: String| (ResponseError::InvalidRequest, why);
    let mut entity = QuotaEntity {
        user: None,
        client_id: None,
    };
    for e in &entry.entity {
        let name = QuotaName::from_wire(e.entity_name.as_deref());
        let slot = match e.entity_type.as_str() {
            "user" => &mut entity.user,
            "client-id" => &mut entity.client_id,
            "ip" => {
                return Err(invalid(
                    "IP quotas (connection_creation_rate) are not enforced by kfkd".into(),
                ));
            }
            other => return Err(invalid(format!("Unknown entity type {other}"))),
        };
        if slot.replace(name).is_some() {
            return Err(invalid(format!("Duplicate entity type {}", e.entity_type)));
        }
    }
    if entity.user.is_none() && entity.client_id.is_none() {
        return Err(invalid("Invalid empty client quota entity".into()));
    }
    let mut out = Vec::new();
    for op in &entry.ops {
        let key = op.key.to_string();
        if !KEYS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "Invalid configuration key {key}; kfkd enforces {}",
                KEYS.join(", ")
            )));
        }
        if !op.remove && (!op.value.is_finite() || op.value < 0.0) {
            return Err(invalid(format!("Invalid value {} for {key}", op.value)));
        }
        out.push(QuotaChange {
            entity: entity.clone(),
            key,
            value: (!op.remove).then_some(op.value),
        });
    }
    Ok(out)
}

pub async fn alter(broker: &Broker, req: AlterClientQuotasRequest) -> AlterClientQuotasResponse {
    let mut results = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        let outcome = match changes(entry) {
            Err(e) => Err(e),
            Ok(_) if req.validate_only => Ok(()),
            Ok(list) if list.is_empty() => Ok(()),
            Ok(list) => broker
                .propose(MetadataCommand::AlterClientQuotas(list))
                .await
                .map(|_| ())
                .map_err(|e| (e.error, e.message.unwrap_or_default())),
        };
        let result = AlteredEntry::default().with_entity(
            entry
                .entity
                .iter()
                .map(|e| {
                    AlteredEntity::default()
                        .with_entity_type(e.entity_type.clone())
                        .with_entity_name(e.entity_name.clone())
                })
                .collect(),
        );
        results.push(match outcome {
            Ok(()) => result,
            Err((code, why)) => result
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(why))),
        });
    }
    AlterClientQuotasResponse::default().with_entries(results)
}
