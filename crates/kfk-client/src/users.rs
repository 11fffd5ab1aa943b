//! SCRAM users (KIP-554): list them with their mechanisms and iteration
//! counts, set a password, delete a credential. The password is salted here,
//! in the client, as Kafka's AdminClient does: only the salt and the salted
//! password travel, and the broker keeps keys derived from them.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;
use kfk_sasl::Mechanism;

use crate::client::Client;
use crate::error::{ClientError, Result};

/// A user's SCRAM mechanisms and their iteration counts.
pub type UserCredentials = BTreeMap<String, Vec<(Mechanism, i32)>>;

impl Client {
    /// Every SCRAM user, or those named (an unknown one is an error).
    ///
    /// # Errors
    /// RESOURCE_NOT_FOUND for a named user without credentials, or the
    /// broker's refusal.
    pub async fn scram_users(&self, only: Option<&[String]>) -> Result<UserCredentials> {
        self.retrying(|| async {
            let req = DescribeUserScramCredentialsRequest::default().with_users(only.map(|us| {
                us.iter()
                    .map(|u| UserName::default().with_name(StrBytes::from_string(u.clone())))
                    .collect()
            }));
            let (resp, _) = self.any_broker().await?.send(&req).await?;
            ClientError::check(
                resp.error_code,
                resp.error_message.as_deref(),
                "cannot list SCRAM users".to_string(),
            )?;
            let mut out = UserCredentials::new();
            for r in resp.results {
                let user = r.user.to_string();
                ClientError::check(
                    r.error_code,
                    r.error_message.as_deref(),
                    format!("user '{user}'"),
                )?;
                out.insert(
                    user,
                    r.credential_infos
                        .iter()
                        .filter_map(|c| {
                            Mechanism::from_code(c.mechanism).map(|m| (m, c.iterations))
                        })
                        .collect(),
                );
            }
            Ok(out)
        })
        .await
    }

    /// Sets `user`'s password for `mechanism` (creating the user).
    ///
    /// # Errors
    /// UNACCEPTABLE_CREDENTIAL (iterations out of 4096..=16384) or the
    /// broker's refusal.
    pub async fn set_scram_password(
        &self,
        user: &str,
        mechanism: Mechanism,
        password: &str,
        iterations: i32,
    ) -> Result<()> {
        let salt =
            kfk_sasl::scram::random_bytes(mechanism.key_len()).map_err(ClientError::Invalid)?;
        let salted = mechanism.salted_password(password, &salt, iterations);
        let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
            ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_string(user.to_string()))
                .with_mechanism(mechanism.code())
                .with_iterations(iterations)
                .with_salt(salt.into())
                .with_salted_password(salted.into()),
        ]);
        self.alter_scram(req, user).await
    }

    /// Deletes `user`'s credential for `mechanism`.
    ///
    /// # Errors
    /// RESOURCE_NOT_FOUND when the user has none, or the broker's refusal.
    pub async fn delete_scram_credential(&self, user: &str, mechanism: Mechanism) -> Result<()> {
        let req = AlterUserScramCredentialsRequest::default().with_deletions(vec![
            ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(user.to_string()))
                .with_mechanism(mechanism.code()),
        ]);
        self.alter_scram(req, user).await
    }

    async fn alter_scram(&self, req: AlterUserScramCredentialsRequest, user: &str) -> Result<()> {
        self.retrying(|| async {
            let conn = self.controller().await?;
            let (resp, _) = conn.send(&req).await?;
            for r in resp.results {
                ClientError::check(
                    r.error_code,
                    r.error_message.as_deref(),
                    format!("cannot change user '{user}'"),
                )?;
            }
            Ok(())
        })
        .await
    }
}
