//! Client quotas (KIP-546): describe the quotas of users and client ids
//! (and their defaults), set and remove them, as kafka-configs does with
//! `--entity-type users|clients`.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{AlterClientQuotasRequest, DescribeClientQuotasRequest};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// An entity: `("user", Some("alice"))`, `("client-id", None)` for the
/// default client id, ...
pub type QuotaEntity = Vec<(String, Option<String>)>;

/// A filter part: an entity type and a name (`Some`), its default
/// (`None`), or any name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaMatch {
    Exact(String),
    Default,
    Any,
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Client {
    /// The entities `filter` selects (every one for an empty filter), with
    /// their quotas.
    ///
    /// # Errors
    /// The broker's refusal (authorization, a malformed filter).
    pub async fn describe_client_quotas(
        &self,
        filter: &[(String, QuotaMatch)],
    ) -> Result<Vec<(QuotaEntity, BTreeMap<String, f64>)>> {
        self.retrying(|| async {
            let req = DescribeClientQuotasRequest::default().with_components(
                filter
                    .iter()
                    .map(|(kind, m)| {
                        let (t, name) = match m {
                            QuotaMatch::Exact(n) => (0, Some(text(n))),
                            QuotaMatch::Default => (1, None),
                            QuotaMatch::Any => (2, None),
                        };
                        ComponentData::default()
                            .with_entity_type(text(kind))
                            .with_match_type(t)
                            .with_match(name)
                    })
                    .collect(),
            );
            let (resp, _) = self.any_broker().await?.send(&req).await?;
            ClientError::check(
                resp.error_code,
                resp.error_message.as_deref(),
                "cannot describe client quotas",
            )?;
            Ok(resp
                .entries
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    (
                        e.entity
                            .iter()
                            .map(|d| {
                                (
                                    d.entity_type.to_string(),
                                    d.entity_name.as_ref().map(|n| n.to_string()),
                                )
                            })
                            .collect(),
                        e.values
                            .iter()
                            .map(|v| (v.key.to_string(), v.value))
                            .collect(),
                    )
                })
                .collect())
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) quota keys of `entity`.
    ///
    /// # Errors
    /// The broker's refusal: an unknown key, a bad value, authorization.
    pub async fn alter_client_quotas(
        &self,
        entity: &QuotaEntity,
        ops: &[(String, Option<f64>)],
    ) -> Result<()> {
        let req = AlterClientQuotasRequest::default().with_entries(vec![
            EntryData::default()
                .with_entity(
                    entity
                        .iter()
                        .map(|(t, n)| {
                            EntityData::default()
                                .with_entity_type(text(t))
                                .with_entity_name(n.as_deref().map(text))
                        })
                        .collect(),
                )
                .with_ops(
                    ops.iter()
                        .map(|(k, v)| {
                            OpData::default()
                                .with_key(text(k))
                                .with_value(v.unwrap_or(0.0))
                                .with_remove(v.is_none())
                        })
                        .collect(),
                ),
        ]);
        let (resp, _) = self.any_broker().await?.send(&req).await?;
        for e in &resp.entries {
            ClientError::check(
                e.error_code,
                e.error_message.as_deref(),
                "cannot alter client quotas",
            )?;
        }
        Ok(())
    }
}
