//! Describe/AlterUserScramCredentials (KIP-554): SCRAM users live in the
//! metadata log. A client sends the salted password, never the password,
//! and the controller keeps only the salt and the two keys derived from it.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::*;
use kfk_sasl::{Credential, Mechanism, scram};

use super::str_bytes;
use crate::broker::Broker;
use crate::quorum::MetadataCommand;

type Failure = (ResponseError, String);

pub fn describe(
    broker: &Broker,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let all = broker.with_image(|i| i.scram.clone());
    let asked: Option<Vec<String>> = req
        .users
        .filter(|u| !u.is_empty())
        .map(|u| u.into_iter().map(|n| n.name.to_string()).collect());
    let results = match asked {
        None => all
            .iter()
            .map(|(user, creds)| described(user, creds))
            .collect(),
        Some(users) => {
            let mut seen = BTreeMap::<&str, usize>::new();
            for u in &users {
                *seen.entry(u.as_str()).or_default() += 1;
            }
            users
                .iter()
                .map(|user| {
                    let failed = |code: ResponseError, why: &str| {
                        DescribeUserScramCredentialsResult::default()
                            .with_user(str_bytes(user.clone()))
                            .with_error_code(code.code())
                            .with_error_message(Some(str_bytes(why.to_string())))
                    };
                    if seen[user.as_str()] > 1 {
                        return failed(
                            ResponseError::DuplicateResource,
                            "Cannot describe SCRAM credentials for the same user twice in a single request",
                        );
                    }
                    match all.get(user) {
                        Some(creds) => described(user, creds),
                        None => failed(
                            ResponseError::ResourceNotFound,
                            "Attempt to describe a user credential that does not exist",
                        ),
                    }
                })
                .collect()
        }
    };
    DescribeUserScramCredentialsResponse::default().with_results(results)
}

fn described(
    user: &str,
    creds: &BTreeMap<Mechanism, Credential>,
) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(str_bytes(user.to_string()))
        .with_credential_infos(
            creds
                .iter()
                .map(|(m, c)| {
                    CredentialInfo::default()
                        .with_mechanism(m.code())
                        .with_iterations(c.iterations)
                })
                .collect(),
        )
}

fn mechanism(code: i8) -> Result<Mechanism, Failure> {
    Mechanism::from_code(code).ok_or((
        ResponseError::UnsupportedSaslMechanism,
        format!("Unknown SCRAM mechanism {code}"),
    ))
}

/// The commands of one user's changes, or why none of them apply.
fn user_changes(
    user: &str,
    deletions: &[Mechanism],
    upsertions: &[(Mechanism, i32, &[u8], &[u8])],
    existing: Option<&BTreeMap<Mechanism, Credential>>,
) -> Result<Vec<MetadataCommand>, Failure> {
    if user.is_empty() {
        return Err((
            ResponseError::UnacceptableCredential,
            "Username must not be empty".into(),
        ));
    }
    let mut mechanisms = BTreeSet::new();
    for m in deletions.iter().chain(upsertions.iter().map(|u| &u.0)) {
        if !mechanisms.insert(*m) {
            return Err((
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request".into(),
            ));
        }
    }
    let mut cmds = Vec::new();
    for m in deletions {
        if existing.is_none_or(|e| !e.contains_key(m)) {
            return Err((
                ResponseError::ResourceNotFound,
                "Attempt to delete a user credential that does not exist".into(),
            ));
        }
        cmds.push(MetadataCommand::DeleteScramCredential {
            user: user.to_string(),
            mechanism: *m,
        });
    }
    for (m, iterations, salt, salted) in upsertions {
        if *iterations < scram::MIN_ITERATIONS {
            return Err((
                ResponseError::UnacceptableCredential,
                format!("Too few iterations: at least {}", scram::MIN_ITERATIONS),
            ));
        }
        if *iterations > scram::MAX_ITERATIONS {
            return Err((
                ResponseError::UnacceptableCredential,
                format!("Too many iterations: at most {}", scram::MAX_ITERATIONS),
            ));
        }
        if salt.is_empty() || salted.is_empty() {
            return Err((
                ResponseError::UnacceptableCredential,
                "Salt and salted password must not be empty".into(),
            ));
        }
        cmds.push(MetadataCommand::UpsertScramCredential {
            user: user.to_string(),
            mechanism: *m,
            credential: Credential::from_salted(*m, salted, salt, *iterations),
        });
    }
    Ok(cmds)
}

pub async fn alter(
    broker: &Broker,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Users in the order the request first names them.
    let mut order: Vec<String> = Vec::new();
    let mut parsed: BTreeMap<String, Result<UserRequest, Failure>> = BTreeMap::new();
    for d in &req.deletions {
        let user = d.name.to_string();
        if !order.contains(&user) {
            order.push(user.clone());
        }
        let entry = parsed
            .entry(user)
            .or_insert_with(|| Ok(UserRequest::default()));
        match (entry.as_mut(), mechanism(d.mechanism)) {
            (Ok(r), Ok(m)) => r.deletions.push(m),
            (Ok(_), Err(e)) => *entry = Err(e),
            (Err(_), _) => {}
        }
    }
    for u in &req.upsertions {
        let user = u.name.to_string();
        if !order.contains(&user) {
            order.push(user.clone());
        }
        let entry = parsed
            .entry(user)
            .or_insert_with(|| Ok(UserRequest::default()));
        match (entry.as_mut(), mechanism(u.mechanism)) {
            (Ok(r), Ok(m)) => {
                r.upsertions
                    .push((m, u.iterations, u.salt.to_vec(), u.salted_password.to_vec()))
            }
            (Ok(_), Err(e)) => *entry = Err(e),
            (Err(_), _) => {}
        }
    }
    let _one_change_at_a_time = broker.changes.lock().await;
    let existing = broker.with_image(|i| i.scram.clone());
    let mut results = Vec::with_capacity(order.len());
    for user in order {
        let outcome = match parsed
            .remove(&user)
            .unwrap_or_else(|| Ok(UserRequest::default()))
        {
            Err(e) => Err(e),
            Ok(r) => {
                let ups: Vec<(Mechanism, i32, &[u8], &[u8])> = r
                    .upsertions
                    .iter()
                    .map(|(m, i, s, p)| (*m, *i, s.as_slice(), p.as_slice()))
                    .collect();
                match user_changes(&user, &r.deletions, &ups, existing.get(&user)) {
                    Err(e) => Err(e),
                    Ok(cmds) => {
                        let mut done = Ok(());
                        for cmd in cmds {
                            if let Err(e) = broker.propose(cmd).await {
                                done = Err((e.error, e.message.unwrap_or_default()));
                                break;
                            }
                        }
                        done
                    }
                }
            }
        };
        let result = AlterUserScramCredentialsResult::default().with_user(str_bytes(user.clone()));
        results.push(match outcome {
            Ok(()) => {
                tracing::info!(user, "SCRAM credentials changed");
                result
            }
            Err((code, why)) => result
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(why))),
        });
    }
    AlterUserScramCredentialsResponse::default().with_results(results)
}

#[derive(Debug, Default)]
struct UserRequest {
    deletions: Vec<Mechanism>,
    upsertions: Vec<(Mechanism, i32, Vec<u8>, Vec<u8>)>,
}
