use std::time::Duration;

use super::*;

fn named(s: &str) -> Option<QuotaName> {
    Some(QuotaName::Named(s.into()))
}

#[test]
fn the_most_specific_entity_that_sets_a_key_applies() {
    let mut q = ClientQuotas::default();
    let user_default = QuotaEntity {
        user: Some(QuotaName::Default),
        client_id: None,
    };
    let alice = QuotaEntity {
        user: named("alice"),
        client_id: None,
    };
    let alice_app = QuotaEntity {
        user: named("alice"),
        client_id: named("app"),
    };
    let any_client = QuotaEntity {
        user: None,
        client_id: Some(QuotaName::Default),
    };
    q.set(&user_default, PRODUCER_BYTE_RATE, Some(100.0));
    q.set(&alice, PRODUCER_BYTE_RATE, Some(200.0));
    q.set(&alice_app, PRODUCER_BYTE_RATE, Some(300.0));
    q.set(&any_client, CONSUMER_BYTE_RATE, Some(50.0));
    let (v, key) = q.resolve(PRODUCER_BYTE_RATE, "alice", "app").unwrap();
    assert_eq!(v, 300.0);
    assert_eq!(
        (key.user.as_str(), key.client_id.as_str()),
        ("alice", "app")
    );
    let (v, key) = q.resolve(PRODUCER_BYTE_RATE, "alice", "other").unwrap();
    assert_eq!(v, 200.0);
    assert_eq!((key.user.as_str(), key.client_id.as_str()), ("alice", ""));
    // Every user gets the default for itself.
    let (v, key) = q.resolve(PRODUCER_BYTE_RATE, "bob", "x").unwrap();
    assert_eq!(v, 100.0);
    assert_eq!(key.user, "bob");
    let (v, key) = q.resolve(CONSUMER_BYTE_RATE, "bob", "x").unwrap();
    assert_eq!(v, 50.0);
    assert_eq!((key.user.as_str(), key.client_id.as_str()), ("", "x"));
    assert!(q.resolve(REQUEST_PERCENTAGE, "bob", "x").is_none());
    q.set(&alice_app, PRODUCER_BYTE_RATE, None);
    assert_eq!(
        q.resolve(PRODUCER_BYTE_RATE, "alice", "app").unwrap().0,
        200.0
    );
    assert_eq!(alice_app.path(), "users/alice/clients/app");
}

#[test]
fn a_client_over_its_rate_waits_in_proportion() {
    let span = Duration::from_secs(10);
    assert_eq!(rate::throttle_for(90.0, 100.0, span), Duration::ZERO);
    assert_eq!(
        rate::throttle_for(150.0, 100.0, span),
        Duration::from_secs(5)
    );
    // Capped at the whole window.
    assert_eq!(rate::throttle_for(1e9, 1.0, span), Duration::from_secs(11));
}

#[test]
fn the_manager_throttles_only_clients_with_a_quota() {
    let mut q = ClientQuotas::default();
    q.set(
        &QuotaEntity {
            user: named("alice"),
            client_id: None,
        },
        PRODUCER_BYTE_RATE,
        Some(1000.0),
    );
    let m = QuotaManager::default();
    // 10 s of allowance (the minimum span) is 10,000 bytes.
    assert_eq!(
        m.record(&q, PRODUCER_BYTE_RATE, "alice", "c", 9_000.0),
        Duration::ZERO
    );
    let wait = m.record(&q, PRODUCER_BYTE_RATE, "alice", "c", 11_000.0);
    assert!(
        wait >= Duration::from_secs(9) && wait <= Duration::from_secs(11),
        "{wait:?}"
    );
    // Another client id of alice's shares her quota.
    assert!(m.pending(&q, PRODUCER_BYTE_RATE, "alice", "d") > Duration::ZERO);
    assert_eq!(
        m.record(&q, PRODUCER_BYTE_RATE, "bob", "c", 1e9),
        Duration::ZERO
    );
}
