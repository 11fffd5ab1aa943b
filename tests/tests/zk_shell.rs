//! `kfk zk-shell` one-shots: the ZooKeeper view of a 3-broker cluster.

use kfk_e2e::KfkHome as Home;
use serde_json::Value;

fn get(home: &Home, path: &str) -> Value {
    serde_json::from_str(&home.ok(&["zk-shell", "get", path])).unwrap()
}

#[test]
fn the_metadata_reads_like_zookeeper_and_topic_configs_can_be_set() {
    let home = Home::new();
    home.up_cluster(3);
    home.ok(&["topics", "create", "myorders", "-p", "3", "-r", "2"]);

    assert_eq!(
        home.ok(&["zk-shell", "ls", "/brokers/ids"]).trim(),
        "[1, 2, 3]"
    );
    let ls: Value =
        serde_json::from_str(&home.ok(&["-o", "json", "zk-shell", "ls", "/brokers/topics"]))
            .unwrap();
    assert!(ls.as_array().unwrap().contains(&Value::from("myorders")));
    // The output flag may also follow the shell command, as users type it.
    let trailing: Value =
        serde_json::from_str(&home.ok(&["zk-shell", "ls", "/brokers/ids", "-o", "json"])).unwrap();
    assert_eq!(trailing, serde_json::json!(["1", "2", "3"]));
    let controller = home.json(&["describe", "cluster"])["controller"].clone();
    assert_eq!(get(&home, "/controller")["brokerid"], controller);
    let cluster_id = home.json(&["describe", "cluster"])["cluster_id"].clone();
    assert_eq!(get(&home, "/cluster/id")["id"], cluster_id);
    let port = home.json(&["describe", "broker", "2"])["port"].clone();
    assert_eq!(get(&home, "/brokers/ids/2")["port"], port);

    let topic = home.json(&["topics", "describe", "myorders"]);
    let assignment = get(&home, "/brokers/topics/myorders");
    for p in topic["partitions"].as_array().unwrap() {
        let n = p["partition"].as_i64().unwrap().to_string();
        let replicas: Vec<Value> = p["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["broker"].clone())
            .collect();
        assert_eq!(assignment["partitions"][&n], Value::from(replicas));
        let state = get(
            &home,
            &format!("/brokers/topics/myorders/partitions/{n}/state"),
        );
        assert_eq!(state["leader"], p["leader"]);
        assert_eq!(state["isr"].as_array().unwrap().len(), 2);
    }
    assert_eq!(home.ok(&["zk-shell", "ruok"]).trim(), "imok");
    assert!(home.ok(&["zk-shell", "find", "state"]).lines().count() >= 3);
    assert!(
        !home
            .kfk(&["zk-shell", "get", "/brokers/ids/9"])
            .status
            .success()
    );

    // set replaces the overrides; it asks first, and refuses without a terminal.
    let set = [
        "zk-shell",
        "set",
        "/config/topics/myorders",
        r#"{"config":{"retention.ms":"86400000"}}"#,
    ];
    assert!(!home.kfk(&set).status.success());
    assert_eq!(
        get(&home, "/config/topics/myorders")["config"],
        serde_json::json!({})
    );
    let mut with_yes = set.to_vec();
    with_yes.push("--yes");
    home.ok(&with_yes);
    assert_eq!(
        get(&home, "/config/topics/myorders")["config"]["retention.ms"],
        "86400000"
    );
}
