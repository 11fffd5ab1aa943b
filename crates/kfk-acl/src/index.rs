//! The stored ACLs and the index a check reads: by resource type, then by
//! exact name for LITERAL patterns (the wildcard `*` is a name too) and by
//! prefix for PREFIXED ones, probing only the prefix lengths some ACL has.
//! A check is a handful of hash lookups however many ACLs there are.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{
    AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType, WILDCARD,
};

/// The part of an ACL a check needs once the resource matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) principal: String,
    pub(crate) host: String,
    pub(crate) operation: Operation,
    pub(crate) permission: Permission,
}

impl Rule {
    fn of(acl: &AclBinding) -> Rule {
        Rule {
            principal: acl.principal.clone(),
            host: acl.host.clone(),
            operation: acl.operation,
            permission: acl.permission,
        }
    }

    /// Whether this rule speaks of `principal` connecting from `host`.
    pub(crate) fn applies_to(&self, principal: &str, host: &str) -> bool {
        (self.principal == principal || self.principal == "User:*")
            && (self.host == host || self.host == WILDCARD)
    }
}

type ByName = HashMap<String, Vec<Rule>>;

/// Every ACL of the cluster, indexed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<AclBinding>", into = "Vec<AclBinding>")]
pub struct Acls {
    all: BTreeSet<AclBinding>,
    literal: HashMap<ResourceType, ByName>,
    prefixed: HashMap<ResourceType, ByName>,
    /// The lengths (in bytes) of the PREFIXED names of each type.
    prefix_lengths: HashMap<ResourceType, BTreeSet<usize>>,
}

impl From<Vec<AclBinding>> for Acls {
    fn from(list: Vec<AclBinding>) -> Acls {
        let mut acls = Acls::default();
        for acl in list {
            acls.add(acl);
        }
        acls
    }
}

impl From<Acls> for Vec<AclBinding> {
    fn from(acls: Acls) -> Vec<AclBinding> {
        acls.all.into_iter().collect()
    }
}

impl Acls {
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Every ACL, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &AclBinding> {
        self.all.iter()
    }

    pub fn contains(&self, acl: &AclBinding) -> bool {
        self.all.contains(acl)
    }

    /// The ACLs `filter` selects.
    pub fn matching<'a>(&'a self, filter: &'a AclFilter) -> impl Iterator<Item = &'a AclBinding> {
        self.all.iter().filter(move |a| filter.matches(a))
    }

    fn map_for(&mut self, pattern: PatternType) -> Option<&mut HashMap<ResourceType, ByName>> {
        match pattern {
            PatternType::Literal => Some(&mut self.literal),
            PatternType::Prefixed => Some(&mut self.prefixed),
            _ => None,
        }
    }

    /// Stores `acl`; false when it was there already (or cannot be stored).
    pub fn add(&mut self, acl: AclBinding) -> bool {
        if acl.invalid().is_some() || self.all.contains(&acl) {
            return false;
        }
        let rule = Rule::of(&acl);
        let Some(map) = self.map_for(acl.pattern_type) else {
            return false;
        };
        map.entry(acl.resource_type)
            .or_default()
            .entry(acl.resource_name.clone())
            .or_default()
            .push(rule);
        if acl.pattern_type == PatternType::Prefixed {
            self.prefix_lengths
                .entry(acl.resource_type)
                .or_default()
                .insert(acl.resource_name.len());
        }
        self.all.insert(acl);
        true
    }

    /// Removes `acl`; false when it was not there.
    pub fn remove(&mut self, acl: &AclBinding) -> bool {
        if !self.all.remove(acl) {
            return false;
        }
        let rule = Rule::of(acl);
        let Some(map) = self.map_for(acl.pattern_type) else {
            return true;
        };
        let by_name = map.entry(acl.resource_type).or_default();
        if let Some(rules) = by_name.get_mut(&acl.resource_name) {
            rules.retain(|r| r != &rule);
            if rules.is_empty() {
                by_name.remove(&acl.resource_name);
            }
        }
        if acl.pattern_type == PatternType::Prefixed {
            let len = acl.resource_name.len();
            let still = self
                .prefixed
                .get(&acl.resource_type)
                .is_some_and(|m| m.keys().any(|k| k.len() == len));
            if !still && let Some(lengths) = self.prefix_lengths.get_mut(&acl.resource_type) {
                lengths.remove(&len);
            }
        }
        true
    }

    /// Calls `visit` with every rule whose resource pattern covers
    /// `resource_type` `name`: LITERAL `name`, LITERAL `*`, and PREFIXED
    /// patterns `name` starts with.
    pub(crate) fn for_each_rule(
        &self,
        resource_type: ResourceType,
        name: &str,
        mut visit: impl FnMut(&Rule),
    ) {
        if let Some(by_name) = self.literal.get(&resource_type) {
            for key in [name, WILDCARD] {
                for rule in by_name.get(key).into_iter().flatten() {
                    visit(rule);
                }
                if name == WILDCARD {
                    break;
                }
            }
        }
        let (Some(by_prefix), Some(lengths)) = (
            self.prefixed.get(&resource_type),
            self.prefix_lengths.get(&resource_type),
        ) else {
            return;
        };
        for &len in lengths.range(..=name.len()) {
            if !name.is_char_boundary(len) {
                continue;
            }
            for rule in by_prefix.get(&name[..len]).into_iter().flatten() {
                visit(rule);
            }
        }
    }

    /// Every rule for resources of `resource_type`, whatever their names.
    pub(crate) fn rules_of_type(
        &self,
        resource_type: ResourceType,
    ) -> impl Iterator<Item = (PatternType, &str, &Rule)> {
        let literal = self.literal.get(&resource_type).into_iter().flat_map(|m| {
            m.iter().flat_map(|(n, rules)| {
                rules
                    .iter()
                    .map(move |r| (PatternType::Literal, n.as_str(), r))
            })
        });
        let prefixed = self.prefixed.get(&resource_type).into_iter().flat_map(|m| {
            m.iter().flat_map(|(n, rules)| {
                rules
                    .iter()
                    .map(move |r| (PatternType::Prefixed, n.as_str(), r))
            })
        });
        literal.chain(prefixed)
    }
}
