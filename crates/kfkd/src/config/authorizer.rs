//! `authorizer.class.name`, `super.users` and
//! `allow.everyone.if.no.acl.found` made into the authorizer requests are
//! checked with. kfkd has one authorizer, with the rules of Kafka's
//! StandardAuthorizer; Kafka's class names turn it on.

use super::{ConfigError, Settings};

/// The class names Kafka users write for the ACL authorizer.
const KAFKA_AUTHORIZERS: &[&str] = &[
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
    "StandardAuthorizer",
];

impl Settings {
    /// The authorizer, when one is configured.
    ///
    /// # Errors
    /// A class kfkd cannot load (it runs no Java), or malformed super users.
    pub fn authorizer(&self) -> Result<Option<kfk_acl::Authorizer>, ConfigError> {
        let class = self.authorizer_class_name.trim();
        if class.is_empty() {
            return Ok(None);
        }
        if !KAFKA_AUTHORIZERS.contains(&class) {
            return Err(ConfigError::Invalid {
                key: "authorizer.class.name",
                reason: format!(
                    "{class} cannot be loaded; kfkd's authorizer follows Kafka's StandardAuthorizer: set org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                ),
            });
        }
        for user in self
            .super_users
            .split(';')
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            if !user
                .split_once(':')
                .is_some_and(|(t, n)| !t.is_empty() && !n.is_empty())
            {
                return Err(ConfigError::Invalid {
                    key: "super.users",
                    reason: format!(
                        "{user:?} is not TYPE:NAME (e.g. User:admin); separate principals with ;"
                    ),
                });
            }
        }
        Ok(Some(kfk_acl::Authorizer::new(
            &self.super_users,
            self.allow_everyone_if_no_acl_found,
        )))
    }
}
