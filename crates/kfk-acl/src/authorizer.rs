//! The decision, as Kafka's StandardAuthorizer makes it: super users may do
//! anything; otherwise a DENY that applies wins, then an ALLOW that applies
//! (Read, Write, Delete and Alter imply Describe; AlterConfigs implies
//! DescribeConfigs; All covers every operation); a resource no ACL speaks
//! of at all is open only with `allow.everyone.if.no.acl.found`.

use std::collections::HashSet;

use crate::index::{Acls, Rule};
use crate::model::{Operation, PatternType, Permission, ResourceType, WILDCARD};

/// Whether an ALLOW of `granted` permits `wanted`.
fn implies(granted: Operation, wanted: Operation) -> bool {
    granted == wanted
        || granted == Operation::All
        || (wanted == Operation::Describe
            && matches!(
                granted,
                Operation::Read | Operation::Write | Operation::Delete | Operation::Alter
            ))
        || (wanted == Operation::DescribeConfigs && granted == Operation::AlterConfigs)
}

/// Whether a DENY of `denied` refuses `wanted`.
fn refuses(denied: Operation, wanted: Operation) -> bool {
    denied == wanted || denied == Operation::All
}

/// The authorizer's settings.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    super_users: HashSet<String>,
    allow_if_no_acl: bool,
}

impl Authorizer {
    /// `super_users` as Kafka's `super.users` (`User:admin;User:CN=broker`).
    pub fn new(super_users: &str, allow_if_no_acl: bool) -> Authorizer {
        Authorizer {
            super_users: super_users
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            allow_if_no_acl,
        }
    }

    pub fn is_super_user(&self, principal: &str) -> bool {
        self.super_users.contains(principal)
    }

    /// May `principal`, connected from `host`, do `operation` to the
    /// resource `resource_type` `name`?
    pub fn authorize(
        &self,
        acls: &Acls,
        principal: &str,
        host: &str,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if self.is_super_user(principal) {
            return true;
        }
        let mut found = false;
        let mut denied = false;
        let mut allowed = false;
        acls.for_each_rule(resource_type, name, |rule: &Rule| {
            found = true;
            if !rule.applies_to(principal, host) {
                return;
            }
            match rule.permission {
                Permission::Deny if refuses(rule.operation, operation) => denied = true,
                Permission::Allow if implies(rule.operation, operation) => allowed = true,
                _ => {}
            }
        });
        if denied {
            return false;
        }
        if !found {
            return self.allow_if_no_acl;
        }
        allowed
    }

    /// May `principal` do `operation` to some resource of `resource_type`
    /// (Kafka's authorizeByResourceType, as for an idempotent producer's
    /// "Write on any topic")? An ALLOW on any name will do unless a DENY on
    /// every name (LITERAL `*`) refuses it.
    pub fn authorize_any(
        &self,
        acls: &Acls,
        principal: &str,
        host: &str,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool {
        if self.is_super_user(principal) {
            return true;
        }
        let mut found = false;
        let mut allowed = false;
        for (pattern, name, rule) in acls.rules_of_type(resource_type) {
            found = true;
            if !rule.applies_to(principal, host) {
                continue;
            }
            match rule.permission {
                Permission::Deny
                    if pattern == PatternType::Literal
                        && name == WILDCARD
                        && refuses(rule.operation, operation) =>
                {
                    return false;
                }
                Permission::Allow if implies(rule.operation, operation) => allowed = true,
                _ => {}
            }
        }
        allowed || (!found && self.allow_if_no_acl)
    }
}
