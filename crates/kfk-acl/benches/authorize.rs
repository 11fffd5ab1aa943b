//! The cost of one authorization check with 10,000 ACLs in the cluster
//! (literal and prefixed, many principals): it must stay a few hash lookups,
//! not grow with the number of ACLs.

use criterion::{Criterion, criterion_group, criterion_main};
use kfk_acl::{AclBinding, Acls, Authorizer, Operation, PatternType, Permission, ResourceType};

fn acls(n: usize) -> Acls {
    let mut list = Vec::with_capacity(n);
    for i in 0..n {
        list.push(AclBinding {
            resource_type: if i % 5 == 0 {
                ResourceType::Group
            } else {
                ResourceType::Topic
            },
            resource_name: if i % 4 == 0 {
                format!("team{}-", i % 97)
            } else {
                format!("topic-{i}")
            },
            pattern_type: if i % 4 == 0 {
                PatternType::Prefixed
            } else {
                PatternType::Literal
            },
            principal: format!("User:user{}", i % 500),
            host: "*".into(),
            operation: if i % 2 == 0 {
                Operation::Read
            } else {
                Operation::Write
            },
            permission: if i % 50 == 0 {
                Permission::Deny
            } else {
                Permission::Allow
            },
        });
    }
    Acls::from(list)
}

fn bench(c: &mut Criterion) {
    let authorizer = Authorizer::new("User:admin", false);
    for n in [100, 10_000] {
        let acls = acls(n);
        c.bench_function(&format!("authorize literal hit, {n} ACLs"), |b| {
            b.iter(|| {
                authorizer.authorize(
                    &acls,
                    "User:user3",
                    "10.0.0.1",
                    Operation::Write,
                    ResourceType::Topic,
                    "topic-3",
                )
            })
        });
        c.bench_function(&format!("authorize prefixed hit, {n} ACLs"), |b| {
            b.iter(|| {
                authorizer.authorize(
                    &acls,
                    "User:user8",
                    "10.0.0.1",
                    Operation::Describe,
                    ResourceType::Topic,
                    "team8-orders",
                )
            })
        });
        c.bench_function(&format!("authorize miss, {n} ACLs"), |b| {
            b.iter(|| {
                authorizer.authorize(
                    &acls,
                    "User:nobody",
                    "10.0.0.1",
                    Operation::Read,
                    ResourceType::Topic,
                    "unrelated-topic-name",
                )
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
