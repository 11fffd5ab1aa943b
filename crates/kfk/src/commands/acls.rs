//! `kfk acls list|create|delete`: kafka-acls' `--list`, `--add` and
//! `--remove`, with its flags (`--allow-principal User:alice --operation Read
//! --topic orders --resource-pattern-type prefixed`, `--producer`,
//! `--consumer`), every combination of principal, host, operation and
//! resource becoming one ACL.

use kfk_client::acl::{
    AclBinding, AclFilter, CLUSTER_NAME, Operation, PatternType, Permission, ResourceType,
};

use crate::cli::{
    AclCreateArgs, AclDeleteArgs, AclListArgs, AclResourceArgs, AclWhoArgs, PatternArg,
};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

fn pattern(p: PatternArg) -> PatternType {
    match p {
        PatternArg::Literal => PatternType::Literal,
        PatternArg::Prefixed => PatternType::Prefixed,
        PatternArg::Any => PatternType::Any,
        PatternArg::Match => PatternType::Match,
    }
}

/// The resources named, as (type, name).
fn resources(r: &AclResourceArgs) -> Vec<(ResourceType, String)> {
    let mut out: Vec<(ResourceType, String)> = Vec::new();
    out.extend(r.topics.iter().map(|t| (ResourceType::Topic, t.clone())));
    out.extend(r.groups.iter().map(|g| (ResourceType::Group, g.clone())));
    out.extend(
        r.transactional_ids
            .iter()
            .map(|t| (ResourceType::TransactionalId, t.clone())),
    );
    if r.cluster {
        out.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
    }
    out
}

fn operations(names: &[String]) -> CliResult<Vec<Operation>> {
    names
        .iter()
        .map(|n| {
            Operation::parse(n)
                .filter(|o| *o != Operation::Any)
                .ok_or_else(|| {
                    CliError::usage(format!("{n:?} is not an ACL operation")).hint(
                        "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All",
                    )
                })
        })
        .collect()
}

fn principal(p: &str) -> CliResult<String> {
    match p.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(p.to_string()),
        _ => Err(CliError::usage(format!("principal {p:?} is not TYPE:NAME"))
            .hint("e.g. User:alice, User:CN=client.example.com, or User:* for everyone")),
    }
}

/// (permission, principal, hosts) for each principal named.
fn grantees(who: &AclWhoArgs) -> CliResult<Vec<(Permission, String, Vec<String>)>> {
    let hosts = |given: &[String]| -> Vec<String> {
        if given.is_empty() {
            vec!["*".to_string()]
        } else {
            given.to_vec()
        }
    };
    let mut out = Vec::new();
    for p in &who.allow_principals {
        out.push((Permission::Allow, principal(p)?, hosts(&who.allow_hosts)));
    }
    for p in &who.deny_principals {
        out.push((Permission::Deny, principal(p)?, hosts(&who.deny_hosts)));
    }
    Ok(out)
}

fn show(ctx: &Ctx, acls: &[AclBinding]) -> CliResult {
    output::emit(ctx.format(), &acls, || {
        output::table(
            &[
                "PRINCIPAL",
                "HOST",
                "OPERATION",
                "PERMISSION",
                "RESOURCE",
                "PATTERN",
            ],
            acls.iter()
                .map(|a| {
                    vec![
                        a.principal.clone(),
                        a.host.clone(),
                        a.operation.to_string(),
                        a.permission.to_string(),
                        format!("{}:{}", a.resource_type, a.resource_name),
                        a.pattern_type.name().to_uppercase(),
                    ]
                })
                .collect(),
        );
        Ok(())
    })
}

pub async fn list(ctx: &Ctx, args: &AclListArgs) -> CliResult {
    let client = ctx.client().await?;
    let principal = args.principal.as_deref().map(principal).transpose()?;
    let named = resources(&args.resources);
    let filters: Vec<AclFilter> = if named.is_empty() {
        vec![AclFilter {
            principal,
            pattern_type: pattern(args.resource_pattern_type),
            ..AclFilter::any()
        }]
    } else {
        named
            .into_iter()
            .map(|(rtype, name)| AclFilter {
                resource_type: rtype,
                resource_name: Some(name),
                pattern_type: pattern(args.resource_pattern_type),
                principal: principal.clone(),
                ..AclFilter::any()
            })
            .collect()
    };
    let mut all = Vec::new();
    for f in &filters {
        all.extend(client.describe_acls(f).await?);
    }
    all.sort();
    all.dedup();
    show(ctx, &all)
}

/// The bindings `create` adds.
fn bindings(args: &AclCreateArgs) -> CliResult<Vec<AclBinding>> {
    let pattern_type = match args.resource_pattern_type {
        PatternArg::Literal => PatternType::Literal,
        PatternArg::Prefixed => PatternType::Prefixed,
        other => {
            return Err(CliError::usage(format!(
                "--resource-pattern-type {other:?} is for listing and deleting; an ACL is literal or prefixed"
            )));
        }
    };
    let grantees = grantees(&args.who)?;
    if grantees.is_empty() {
        return Err(CliError::usage("whom does the ACL apply to?")
            .hint("pass --allow-principal User:NAME (or --deny-principal)"));
    }
    let ops = operations(&args.who.operations)?;
    // (resource, operation) pairs.
    let mut wanted: Vec<((ResourceType, String), Operation)> = Vec::new();
    let named = resources(&args.resources);
    if args.producer || args.consumer {
        let topics: Vec<&(ResourceType, String)> = named
            .iter()
            .filter(|r| r.0 == ResourceType::Topic)
            .collect();
        if topics.is_empty() {
            return Err(CliError::usage("--producer and --consumer need --topic"));
        }
        let mut topic_ops = Vec::new();
        if args.producer {
            topic_ops.extend([Operation::Write, Operation::Describe, Operation::Create]);
        }
        if args.consumer {
            topic_ops.extend([Operation::Read, Operation::Describe]);
            let groups: Vec<&(ResourceType, String)> = named
                .iter()
                .filter(|r| r.0 == ResourceType::Group)
                .collect();
            if groups.is_empty() {
                return Err(CliError::usage("--consumer needs --group too"));
            }
            wanted.extend(groups.into_iter().map(|g| (g.clone(), Operation::Read)));
        }
        topic_ops.dedup();
        for t in topics {
            for op in &topic_ops {
                if !wanted.iter().any(|(r, o)| r == t && o == op) {
                    wanted.push((t.clone(), *op));
                }
            }
        }
    }
    if !ops.is_empty() {
        if named.is_empty() {
            return Err(CliError::usage("which resource?")
                .hint("pass --topic, --group, --transactional-id or --cluster"));
        }
        for r in &named {
            for op in &ops {
                wanted.push((r.clone(), *op));
            }
        }
    }
    if wanted.is_empty() {
        return Err(CliError::usage("what may the principal do?")
            .hint("pass --operation (e.g. Read), or --producer / --consumer"));
    }
    let mut out = Vec::new();
    for ((rtype, name), op) in wanted {
        for (permission, principal, hosts) in &grantees {
            for host in hosts {
                let acl = AclBinding {
                    resource_type: rtype,
                    resource_name: name.clone(),
                    pattern_type,
                    principal: principal.clone(),
                    host: host.clone(),
                    operation: op,
                    permission: *permission,
                };
                if let Some(why) = acl.invalid() {
                    return Err(CliError::usage(format!(
                        "cannot make an ACL for {rtype}:{name}: {why}"
                    )));
                }
                out.push(acl);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub async fn create(ctx: &Ctx, args: &AclCreateArgs) -> CliResult {
    let acls = bindings(args)?;
    let client = ctx.client().await?;
    client.create_acls(&acls).await?;
    output::status(&format!("Created {} ACL(s).", acls.len()));
    show(ctx, &acls)
}

pub async fn delete(ctx: &Ctx, args: &AclDeleteArgs) -> CliResult {
    let named = resources(&args.resources);
    if named.is_empty() {
        return Err(CliError::usage("which resource's ACLs?")
            .hint("pass --topic, --group, --transactional-id or --cluster (`--topic '*' --resource-pattern-type any` for every topic's)"));
    }
    let ops = operations(&args.who.operations)?;
    let ops: Vec<Operation> = if ops.is_empty() {
        vec![Operation::Any]
    } else {
        ops
    };
    // No principal named: anyone's.
    let mut who: Vec<(Permission, Option<String>, Option<String>)> = Vec::new();
    for (permission, principal, hosts) in grantees(&args.who)? {
        let explicit = match permission {
            Permission::Allow => !args.who.allow_hosts.is_empty(),
            _ => !args.who.deny_hosts.is_empty(),
        };
        for host in hosts {
            who.push((
                permission,
                Some(principal.clone()),
                explicit.then(|| host.clone()),
            ));
        }
    }
    if who.is_empty() {
        who.push((Permission::Any, None, None));
    }
    let mut filters = Vec::new();
    for (rtype, name) in &named {
        for op in &ops {
            for (permission, principal, host) in &who {
                filters.push(AclFilter {
                    resource_type: *rtype,
                    resource_name: Some(name.clone()),
                    pattern_type: pattern(args.resource_pattern_type),
                    principal: principal.clone(),
                    host: host.clone(),
                    operation: *op,
                    permission: *permission,
                });
            }
        }
    }
    crate::term::confirm(
        args.yes,
        &format!(
            "Delete the ACLs that match on {}?",
            named
                .iter()
                .map(|(t, n)| format!("{t}:{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "not deleting ACLs",
    )?;
    let client = ctx.client().await?;
    let deleted = client.delete_acls(&filters).await?;
    output::status(&format!("Deleted {} ACL(s).", deleted.len()));
    show(ctx, &deleted)
}
