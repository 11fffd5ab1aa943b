//! Who a quota is for, and which stored quota applies to a connection:
//! Kafka's order, from the most specific (this user with this client id)
//! to the least (any client id), the first that sets the key wins.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A name in a quota entity: a user or client id, or the default for all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum QuotaName {
    Default,
    Named(String),
}

impl QuotaName {
    /// From the wire: a name, or null for the default.
    pub fn from_wire(name: Option<&str>) -> QuotaName {
        match name {
            Some(n) => QuotaName::Named(n.to_string()),
            None => QuotaName::Default,
        }
    }

    pub fn to_wire(&self) -> Option<&str> {
        match self {
            QuotaName::Default => None,
            QuotaName::Named(n) => Some(n),
        }
    }
}

/// The user and client id parts of a quota entity (at least one is set).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QuotaEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<QuotaName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<QuotaName>,
}

impl QuotaEntity {
    /// Kafka's ZooKeeper path for it, `users/alice/clients/<default>`.
    pub fn path(&self) -> String {
        let name = |n: &QuotaName| match n {
            QuotaName::Default => "<default>".to_string(),
            QuotaName::Named(s) => s.clone(),
        };
        match (&self.user, &self.client_id) {
            (Some(u), Some(c)) => format!("users/{}/clients/{}", name(u), name(c)),
            (Some(u), None) => format!("users/{}", name(u)),
            (None, Some(c)) => format!("clients/{}", name(c)),
            (None, None) => String::new(),
        }
    }
}

/// One stored entity and its quotas, as the metadata log keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaEntry {
    pub entity: QuotaEntity,
    pub values: BTreeMap<String, f64>,
}

/// Every stored quota, by entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Vec<QuotaEntry>", into = "Vec<QuotaEntry>")]
pub struct ClientQuotas {
    by_entity: HashMap<QuotaEntity, BTreeMap<String, f64>>,
}

// Values are finite (validation refuses NaN), so equality is reflexive.
impl Eq for ClientQuotas {}

impl From<Vec<QuotaEntry>> for ClientQuotas {
    fn from(list: Vec<QuotaEntry>) -> ClientQuotas {
        ClientQuotas {
            by_entity: list.into_iter().map(|e| (e.entity, e.values)).collect(),
        }
    }
}

impl From<ClientQuotas> for Vec<QuotaEntry> {
    fn from(q: ClientQuotas) -> Vec<QuotaEntry> {
        let mut list: Vec<QuotaEntry> = q
            .by_entity
            .into_iter()
            .map(|(entity, values)| QuotaEntry { entity, values })
            .collect();
        list.sort_by(|a, b| a.entity.cmp(&b.entity));
        list
    }
}

/// Which parts of the connection a matched quota is shared by: Kafka's
/// sensor tags (the user, the client id, or both).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaKey {
    pub user: String,
    pub client_id: String,
}

impl ClientQuotas {
    pub fn is_empty(&self) -> bool {
        self.by_entity.is_empty()
    }

    /// Every entity with its quotas, sorted.
    pub fn entries(&self) -> Vec<(&QuotaEntity, &BTreeMap<String, f64>)> {
        let mut all: Vec<_> = self.by_entity.iter().collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    pub fn get(&self, entity: &QuotaEntity) -> Option<&BTreeMap<String, f64>> {
        self.by_entity.get(entity)
    }

    /// Sets (`Some`) or removes (`None`) `key` of `entity`.
    pub fn set(&mut self, entity: &QuotaEntity, key: &str, value: Option<f64>) {
        match value {
            Some(v) => {
                self.by_entity
                    .entry(entity.clone())
                    .or_default()
                    .insert(key.to_string(), v);
            }
            None => {
                if let Some(values) = self.by_entity.get_mut(entity) {
                    values.remove(key);
                    if values.is_empty() {
                        self.by_entity.remove(entity);
                    }
                }
            }
        }
    }

    /// The quota `key` for `user` connected with `client_id`, and what its
    /// rate is shared by; `None` when no stored quota sets it.
    pub fn resolve(&self, key: &str, user: &str, client_id: &str) -> Option<(f64, QuotaKey)> {
        if self.by_entity.is_empty() {
            return None;
        }
        let named = |s: &str| Some(QuotaName::Named(s.to_string()));
        let default = || Some(QuotaName::Default);
        let candidates = [
            (named(user), named(client_id)),
            (named(user), default()),
            (named(user), None),
            (default(), named(client_id)),
            (default(), default()),
            (default(), None),
            (None, named(client_id)),
            (None, default()),
        ];
        for (u, c) in candidates {
            let shared = QuotaKey {
                user: if u.is_some() {
                    user.to_string()
                } else {
                    String::new()
                },
                client_id: if c.is_some() {
                    client_id.to_string()
                } else {
                    String::new()
                },
            };
            let entity = QuotaEntity {
                user: u,
                client_id: c,
            };
            if let Some(v) = self.by_entity.get(&entity).and_then(|m| m.get(key)) {
                return Some((*v, shared));
            }
        }
        None
    }
}
