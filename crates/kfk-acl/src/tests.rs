use proptest::prelude::*;

use super::*;

fn acl(
    rtype: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: rtype,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: principal.into(),
        host: "*".into(),
        operation: op,
        permission: perm,
    }
}

fn topic_acl(
    name: &str,
    pattern: PatternType,
    principal: &str,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    acl(ResourceType::Topic, name, pattern, principal, op, perm)
}

const ALICE: &str = "User:alice";
const BOB: &str = "User:bob";

fn can(a: &Authorizer, acls: &Acls, who: &str, op: Operation, topic: &str) -> bool {
    a.authorize(acls, who, "10.0.0.1", op, ResourceType::Topic, topic)
}

#[test]
fn literal_prefixed_and_wildcard_patterns_grant_what_they_name() {
    let a = Authorizer::new("", false);
    let acls = Acls::from(vec![
        topic_acl(
            "orders",
            PatternType::Literal,
            ALICE,
            Operation::Read,
            Permission::Allow,
        ),
        topic_acl(
            "pay",
            PatternType::Prefixed,
            ALICE,
            Operation::Write,
            Permission::Allow,
        ),
        topic_acl(
            "*",
            PatternType::Literal,
            BOB,
            Operation::Describe,
            Permission::Allow,
        ),
    ]);
    assert!(can(&a, &acls, ALICE, Operation::Read, "orders"));
    assert!(!can(&a, &acls, ALICE, Operation::Read, "orders2"));
    assert!(!can(&a, &acls, ALICE, Operation::Write, "orders"));
    assert!(can(&a, &acls, ALICE, Operation::Write, "payments"));
    assert!(can(&a, &acls, ALICE, Operation::Write, "pay"));
    assert!(!can(&a, &acls, ALICE, Operation::Write, "pa"));
    // Read implies Describe; Write too.
    assert!(can(&a, &acls, ALICE, Operation::Describe, "orders"));
    assert!(can(&a, &acls, ALICE, Operation::Describe, "payments"));
    assert!(can(&a, &acls, BOB, Operation::Describe, "anything"));
    assert!(!can(&a, &acls, BOB, Operation::Read, "anything"));
    // No ACL names the resource: closed unless allow.everyone.if.no.acl.found.
    let empty = Acls::default();
    assert!(!can(&a, &empty, ALICE, Operation::Read, "t"));
    assert!(can(
        &Authorizer::new("", true),
        &empty,
        ALICE,
        Operation::Read,
        "t"
    ));
    // ... but a resource that has ACLs for others is closed to the rest.
    assert!(!can(
        &Authorizer::new("", true),
        &acls,
        BOB,
        Operation::Read,
        "orders"
    ));
}

#[test]
fn deny_wins_and_super_users_pass() {
    let acls = Acls::from(vec![
        topic_acl(
            "*",
            PatternType::Literal,
            "User:*",
            Operation::All,
            Permission::Allow,
        ),
        topic_acl(
            "secret",
            PatternType::Prefixed,
            BOB,
            Operation::Read,
            Permission::Deny,
        ),
    ]);
    let a = Authorizer::new("User:admin;User:CN=broker-1", false);
    assert!(can(&a, &acls, BOB, Operation::Read, "public"));
    assert!(!can(&a, &acls, BOB, Operation::Read, "secrets"));
    assert!(can(&a, &acls, BOB, Operation::Write, "secrets"));
    assert!(can(&a, &acls, ALICE, Operation::Read, "secrets"));
    assert!(can(
        &a,
        &acls,
        "User:CN=broker-1",
        Operation::Read,
        "secrets"
    ));
    assert!(a.authorize(
        &Acls::default(),
        "User:admin",
        "h",
        Operation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME
    ));
}

#[test]
fn hosts_restrict_where_from() {
    let mut only_local = topic_acl(
        "t",
        PatternType::Literal,
        ALICE,
        Operation::Read,
        Permission::Allow,
    );
    only_local.host = "127.0.0.1".into();
    let acls = Acls::from(vec![only_local]);
    let a = Authorizer::new("", false);
    assert!(a.authorize(
        &acls,
        ALICE,
        "127.0.0.1",
        Operation::Read,
        ResourceType::Topic,
        "t"
    ));
    assert!(!a.authorize(
        &acls,
        ALICE,
        "10.0.0.9",
        Operation::Read,
        ResourceType::Topic,
        "t"
    ));
}

#[test]
fn alter_configs_implies_describe_configs_and_any_resource_checks() {
    let acls = Acls::from(vec![
        acl(
            ResourceType::Cluster,
            CLUSTER_NAME,
            PatternType::Literal,
            ALICE,
            Operation::AlterConfigs,
            Permission::Allow,
        ),
        topic_acl(
            "logs",
            PatternType::Prefixed,
            BOB,
            Operation::Write,
            Permission::Allow,
        ),
    ]);
    let a = Authorizer::new("", false);
    assert!(a.authorize(
        &acls,
        ALICE,
        "h",
        Operation::DescribeConfigs,
        ResourceType::Cluster,
        CLUSTER_NAME
    ));
    assert!(a.authorize_any(&acls, BOB, "h", Operation::Write, ResourceType::Topic));
    assert!(!a.authorize_any(&acls, ALICE, "h", Operation::Write, ResourceType::Topic));
    let mut denied = acls.clone();
    denied.add(topic_acl(
        "*",
        PatternType::Literal,
        BOB,
        Operation::Write,
        Permission::Deny,
    ));
    assert!(!a.authorize_any(&denied, BOB, "h", Operation::Write, ResourceType::Topic));
}

#[test]
fn removing_an_acl_takes_its_grant_away_and_filters_select() {
    let read = topic_acl(
        "pay",
        PatternType::Prefixed,
        ALICE,
        Operation::Read,
        Permission::Allow,
    );
    let write = topic_acl(
        "orders",
        PatternType::Literal,
        ALICE,
        Operation::Write,
        Permission::Allow,
    );
    let mut acls = Acls::from(vec![read.clone(), write.clone()]);
    assert!(!acls.add(read.clone()), "a duplicate is not stored twice");
    let a = Authorizer::new("", false);
    assert!(can(&a, &acls, ALICE, Operation::Read, "payments"));
    assert!(acls.remove(&read));
    assert!(!acls.remove(&read));
    assert!(!can(&a, &acls, ALICE, Operation::Read, "payments"));
    acls.add(read.clone());
    // MATCH finds what applies to a name; LITERAL and PREFIXED are exact.
    let mut f = AclFilter::any();
    f.pattern_type = PatternType::Match;
    f.resource_name = Some("payments".into());
    assert_eq!(acls.matching(&f).collect::<Vec<_>>(), vec![&read]);
    f.pattern_type = PatternType::Literal;
    assert_eq!(acls.matching(&f).count(), 0);
    let mut by_op = AclFilter::any();
    by_op.operation = Operation::Write;
    assert_eq!(acls.matching(&by_op).collect::<Vec<_>>(), vec![&write]);
}

#[test]
fn bindings_that_cannot_be_stored_say_why() {
    let mut bad = topic_acl(
        "t",
        PatternType::Match,
        ALICE,
        Operation::Read,
        Permission::Allow,
    );
    assert!(bad.invalid().unwrap().contains("LITERAL or PREFIXED"));
    bad.pattern_type = PatternType::Literal;
    bad.principal = "alice".into();
    assert!(bad.invalid().unwrap().contains("TYPE:NAME"));
    let cluster = acl(
        ResourceType::Cluster,
        "mine",
        PatternType::Literal,
        ALICE,
        Operation::Alter,
        Permission::Allow,
    );
    assert!(cluster.invalid().unwrap().contains("kafka-cluster"));
    assert_eq!(
        Operation::parse("describe-configs"),
        Some(Operation::DescribeConfigs)
    );
    assert_eq!(
        ResourceType::parse("TRANSACTIONAL_ID"),
        Some(ResourceType::TransactionalId)
    );
    assert_eq!(
        Operation::from_code(Operation::IdempotentWrite.code()),
        Some(Operation::IdempotentWrite)
    );
}

#[test]
fn acls_survive_serialisation_with_their_index() {
    let acls = Acls::from(vec![topic_acl(
        "pay",
        PatternType::Prefixed,
        ALICE,
        Operation::Read,
        Permission::Allow,
    )]);
    let json = serde_json_like(&acls);
    let back: Acls = Acls::from(json);
    assert_eq!(back, acls);
    assert!(can(
        &Authorizer::new("", false),
        &back,
        ALICE,
        Operation::Read,
        "payroll"
    ));
}

fn serde_json_like(acls: &Acls) -> Vec<AclBinding> {
    acls.clone().into()
}

proptest! {
    /// The index answers as a scan of every ACL would.
    #[test]
    fn the_index_agrees_with_a_scan(
        names in proptest::collection::vec("[ab]{1,3}", 1..12),
        prefixed in proptest::collection::vec(any::<bool>(), 12),
        deny in proptest::collection::vec(any::<bool>(), 12),
        asked in "[ab]{1,4}",
    ) {
        let list: Vec<AclBinding> = names.iter().enumerate().map(|(i, n)| topic_acl(
            n,
            if prefixed[i] { PatternType::Prefixed } else { PatternType::Literal },
            if i % 3 == 0 { "User:*" } else { ALICE },
            if i % 2 == 0 { Operation::Read } else { Operation::Write },
            if deny[i] { Permission::Deny } else { Permission::Allow },
        )).collect();
        let acls = Acls::from(list.clone());
        let a = Authorizer::new("", false);
        for op in [Operation::Read, Operation::Write, Operation::Describe] {
            let applies = |x: &AclBinding| match x.pattern_type {
                PatternType::Literal => x.resource_name == asked || x.resource_name == "*",
                _ => asked.starts_with(&x.resource_name),
            };
            let mine = |x: &AclBinding| x.principal == ALICE || x.principal == "User:*";
            let relevant: Vec<&AclBinding> = list.iter().filter(|x| applies(x)).collect();
            let denied = relevant
                .iter()
                .any(|x| mine(x) && x.permission == Permission::Deny && x.operation == op);
            let expected = !denied
                && !relevant.is_empty()
                && relevant.iter().any(|x| {
                    mine(x)
                        && x.permission == Permission::Allow
                        && (x.operation == op || op == Operation::Describe)
                });
            prop_assert_eq!(can(&a, &acls, ALICE, op, &asked), expected);
        }
    }
}
