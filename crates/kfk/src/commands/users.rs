//! `kfk users list|create|passwd|delete`: SCRAM users, as
//! `kafka-configs --entity-type users --alter --add-config 'SCRAM-SHA-256=[...]'`
//! manages them, with the password asked on a terminal or read from stdin,
//! never taken from the command line (where `ps` and shell history see it).

use kfk_client::ScramMechanism;
use serde::Serialize;

use crate::cli::{UserDeleteArgs, UserPasswordArgs};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

#[derive(Debug, Serialize)]
struct Credential {
    mechanism: &'static str,
    iterations: i32,
}

#[derive(Debug, Serialize)]
struct User {
    user: String,
    credentials: Vec<Credential>,
}

pub async fn list(ctx: &Ctx) -> CliResult {
    let client = ctx.client().await?;
    let users: Vec<User> = client
        .scram_users(None)
        .await?
        .into_iter()
        .map(|(user, creds)| User {
            user,
            credentials: creds
                .into_iter()
                .map(|(m, iterations)| Credential {
                    mechanism: m.name(),
                    iterations,
                })
                .collect(),
        })
        .collect();
    output::emit(ctx.format(), &users, || {
        output::table(
            &["USER", "MECHANISMS"],
            users
                .iter()
                .map(|u| {
                    let mechs: Vec<String> = u
                        .credentials
                        .iter()
                        .map(|c| format!("{} ({} iterations)", c.mechanism, c.iterations))
                        .collect();
                    vec![u.user.clone(), mechs.join(", ")]
                })
                .collect(),
        );
        Ok(())
    })
}

/// The mechanisms `user` has, empty for none.
async fn mechanisms_of(client: &kfk_client::Client, user: &str) -> CliResult<Vec<ScramMechanism>> {
    let all = client.scram_users(None).await?;
    Ok(all
        .get(user)
        .map(|c| c.iter().map(|(m, _)| *m).collect())
        .unwrap_or_default())
}

/// `create` (the user must not have this mechanism yet) or `passwd` (it
/// must).
pub async fn set_password(ctx: &Ctx, args: &UserPasswordArgs, creating: bool) -> CliResult {
    let client = ctx.client().await?;
    let mechanism: ScramMechanism = args.mechanism.into();
    let has = mechanisms_of(&client, &args.user)
        .await?
        .contains(&mechanism);
    if creating && has {
        return Err(CliError::new(format!(
            "user '{}' already has a {} credential",
            args.user,
            mechanism.name()
        ))
        .hint(format!(
            "change its password with `kfk users passwd {}`",
            args.user
        )));
    }
    if !creating && !has {
        return Err(CliError::new(format!(
            "user '{}' has no {} credential",
            args.user,
            mechanism.name()
        ))
        .hint(format!("create it with `kfk users create {}`", args.user)));
    }
    let password = crate::term::password(&format!("Password for {}", args.user))?;
    client
        .set_scram_password(&args.user, mechanism, &password, args.iterations)
        .await?;
    output::status(&format!(
        "{} user '{}' ({}, {} iterations)",
        if creating {
            "Created"
        } else {
            "Changed the password of"
        },
        args.user,
        mechanism.name(),
        args.iterations
    ));
    Ok(())
}

pub async fn delete(ctx: &Ctx, args: &UserDeleteArgs) -> CliResult {
    let client = ctx.client().await?;
    let has = mechanisms_of(&client, &args.user).await?;
    let doomed: Vec<ScramMechanism> = match args.mechanism {
        Some(m) => vec![m.into()],
        None => has.clone(),
    };
    if doomed.is_empty() || doomed.iter().any(|m| !has.contains(m)) {
        return Err(
            CliError::new(format!("user '{}' has no such credential", args.user))
                .hint("list users with `kfk users list`"),
        );
    }
    crate::term::confirm(
        args.yes,
        &format!(
            "Delete user '{}'s {} credential(s)?",
            args.user,
            doomed.len()
        ),
        "user not deleted",
    )?;
    for m in doomed {
        client.delete_scram_credential(&args.user, m).await?;
    }
    output::status(&format!("Deleted user '{}'", args.user));
    Ok(())
}
