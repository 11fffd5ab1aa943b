//! `kfk quotas list|set|delete`: client quotas by user and client id (or
//! their defaults), as `kafka-configs --entity-type users --entity-name
//! alice --alter --add-config producer_byte_rate=1048576` sets them.

use std::collections::BTreeMap;

use kfk_client::quotas::{QuotaEntity, QuotaMatch};
use serde::Serialize;

use crate::cli::{QuotaDeleteArgs, QuotaEntityArgs, QuotaSetArgs};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// The quota keys brokers enforce.
const KEYS: &[&str] = &[
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
];

/// The entity named, for setting or deleting: at least a user or a client id.
fn entity(args: &QuotaEntityArgs) -> CliResult<QuotaEntity> {
    let mut e = QuotaEntity::new();
    if let Some(u) = &args.user {
        e.push(("user".into(), Some(u.clone())));
    } else if args.default_user {
        e.push(("user".into(), None));
    }
    if let Some(c) = &args.client_id {
        e.push(("client-id".into(), Some(c.clone())));
    } else if args.default_client_id {
        e.push(("client-id".into(), None));
    }
    if e.is_empty() {
        return Err(CliError::usage("whose quota?").hint(
            "pass --user NAME or --default-user, and/or --client-id ID or --default-client-id",
        ));
    }
    Ok(e)
}

fn show_name(name: &Option<String>) -> String {
    name.clone().unwrap_or_else(|| "<default>".into())
}

#[derive(Debug, Serialize)]
struct Listed {
    user: Option<String>,
    client_id: Option<String>,
    quotas: BTreeMap<String, f64>,
}

pub async fn list(ctx: &Ctx, args: &QuotaEntityArgs) -> CliResult {
    let mut filter = Vec::new();
    if let Some(u) = &args.user {
        filter.push(("user".to_string(), QuotaMatch::Exact(u.clone())));
    } else if args.default_user {
        filter.push(("user".to_string(), QuotaMatch::Default));
    }
    if let Some(c) = &args.client_id {
        filter.push(("client-id".to_string(), QuotaMatch::Exact(c.clone())));
    } else if args.default_client_id {
        filter.push(("client-id".to_string(), QuotaMatch::Default));
    }
    let client = ctx.client().await?;
    let found = client.describe_client_quotas(&filter).await?;
    let rows: Vec<Listed> = found
        .into_iter()
        .map(|(entity, quotas)| {
            let part = |kind: &str| {
                entity
                    .iter()
                    .find(|(t, _)| t == kind)
                    .map(|(_, n)| show_name(n))
            };
            Listed {
                user: part("user"),
                client_id: part("client-id"),
                quotas,
            }
        })
        .collect();
    output::emit(ctx.format(), &rows, || {
        output::table(
            &["USER", "CLIENT ID", "QUOTAS"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.user.clone().unwrap_or_default(),
                        r.client_id.clone().unwrap_or_default(),
                        r.quotas
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

fn check_key(key: &str) -> CliResult {
    if KEYS.contains(&key) {
        Ok(())
    } else {
        Err(CliError::usage(format!("{key:?} is not a quota"))
            .hint(format!("one of {}", KEYS.join(", "))))
    }
}

pub async fn set(ctx: &Ctx, args: &QuotaSetArgs) -> CliResult {
    let e = entity(&args.entity)?;
    let mut ops = Vec::new();
    for q in &args.quotas {
        let (key, value) = q.split_once('=').ok_or_else(|| {
            CliError::usage(format!("{q:?} is not KEY=VALUE"))
                .hint("e.g. producer_byte_rate=1048576")
        })?;
        check_key(key)?;
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                CliError::usage(format!("{key}: {value:?} is not a non-negative number"))
            })?;
        ops.push((key.to_string(), Some(value)));
    }
    let client = ctx.client().await?;
    client.alter_client_quotas(&e, &ops).await?;
    output::status(&format!(
        "Set {} for {}.",
        args.quotas.join(", "),
        describe(&e)
    ));
    Ok(())
}

pub async fn delete(ctx: &Ctx, args: &QuotaDeleteArgs) -> CliResult {
    let e = entity(&args.entity)?;
    let client = ctx.client().await?;
    let keys: Vec<String> = if args.keys.is_empty() {
        let filter: Vec<(String, QuotaMatch)> = e
            .iter()
            .map(|(t, n)| {
                (
                    t.clone(),
                    n.clone().map_or(QuotaMatch::Default, QuotaMatch::Exact),
                )
            })
            .collect();
        let mut filter_strict = client.describe_client_quotas(&filter).await?;
        filter_strict.retain(|(found, _)| found.len() == e.len());
        filter_strict
            .into_iter()
            .flat_map(|(_, q)| q.into_keys())
            .collect()
    } else {
        for k in &args.keys {
            check_key(k)?;
        }
        args.keys.clone()
    };
    if keys.is_empty() {
        output::status(&format!("{} has no quotas.", describe(&e)));
        return Ok(());
    }
    let ops: Vec<(String, Option<f64>)> = keys.iter().map(|k| (k.clone(), None)).collect();
    client.alter_client_quotas(&e, &ops).await?;
    output::status(&format!(
        "Removed {} for {}.",
        keys.join(", "),
        describe(&e)
    ));
    Ok(())
}

fn describe(e: &QuotaEntity) -> String {
    e.iter()
        .map(|(t, n)| format!("{t} {}", show_name(n)))
        .collect::<Vec<_>>()
        .join(", ")
}
