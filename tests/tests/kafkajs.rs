//! KafkaJS, the pure JavaScript client, against kfkd: admin, idempotent
//! acks=all produce and a committing group consumer, on one broker and on a
//! 3-broker cluster with a broker down.

use std::collections::BTreeMap;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, node, run};
use serde_json::Value;

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Produces `count` messages with KafkaJS and reads them back in `group`:
/// every acknowledged message is read once, at its offset, and the group's
/// commits cover everything.
fn round_trip(bootstrap: &str, topic: &str, count: usize, group: &str) {
    let out = run(
        node("kafkajs_client.js").args([bootstrap, "produce", topic, &count.to_string()]),
        Duration::from_secs(90),
    );
    let acked = lines(&out.stdout);
    assert_eq!(acked.len(), count);
    let out = run(
        node("kafkajs_client.js").args([bootstrap, "consume", topic, &count.to_string(), group]),
        Duration::from_secs(90),
    );
    let mut read = lines(&out.stdout);
    let committed = read.pop().expect("the committed offsets");
    let key = |m: &Value| (m["p"].as_i64().unwrap(), m["o"].as_i64().unwrap());
    let acked: BTreeMap<(i64, i64), &Value> = acked.iter().map(|m| (key(m), m)).collect();
    let got: BTreeMap<(i64, i64), &Value> = read.iter().map(|m| (key(m), m)).collect();
    assert_eq!(read.len(), count, "each message once");
    assert_eq!(got, acked);
    let mut ends: BTreeMap<String, i64> = BTreeMap::new();
    for (p, o) in acked.keys() {
        let end = ends.entry(p.to_string()).or_default();
        *end = (*end).max(o + 1);
    }
    let committed: BTreeMap<String, i64> =
        serde_json::from_value(committed["committed"].clone()).unwrap();
    assert_eq!(committed, ends);
}

#[test]
fn kafkajs_produces_and_consumes_in_a_group() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "300");
    home.up();
    round_trip(
        &format!("127.0.0.1:{}", home.port()),
        "js-orders",
        150,
        "js-readers",
    );
    let group = home.json(&["groups", "describe", "js-readers"]);
    assert_eq!(group["total_lag"], 0, "{group}");
}

#[test]
fn kafkajs_works_while_a_broker_is_down() {
    let home = Home::new()
        .with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "300")
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300");
    let base = home.up_cluster(3);
    home.ok(&["topics", "create", "js-events", "-p", "3", "-r", "3"]);
    home.ok(&["cluster", "stop-broker", "2", "--kill"]);
    home.wait_json(
        &["cluster", "status"],
        Duration::from_secs(20),
        "broker 2 to leave the ISRs",
        |v| v["under_replicated_partitions"] == 3,
    );
    round_trip(
        &kfk_e2e::cluster_bootstrap(base, 3),
        "js-events",
        90,
        "js-survivors",
    );
}
