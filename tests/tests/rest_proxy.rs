//! The REST proxy: the seed-000 walkthrough through HTTP, every answer
//! checked against the shipped `openapi.yaml`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use kfk_e2e::{KfkHome as Home, http, partition_layout as layout};
use serde_json::Value;

fn get(port: u16, path: &str) -> Value {
    let (status, body) = http(port, "GET", path, "application/json", "");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Checks `v` against an OpenAPI schema: types, required properties,
/// array items, `$ref`s into `components`.
fn conforms(spec: &serde_yaml::Value, schema: &serde_yaml::Value, v: &Value, at: &str) {
    if let Some(r) = schema.get("$ref").and_then(|r| r.as_str()) {
        let name = r.rsplit('/').next().unwrap();
        return conforms(spec, &spec["components"]["schemas"][name], v, at);
    }
    if v.is_null() && schema.get("nullable").and_then(|n| n.as_bool()) == Some(true) {
        return;
    }
    match schema.get("type").and_then(|t| t.as_str()) {
        Some("object") => {
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object: {v}"));
            for req in schema
                .get("required")
                .and_then(|r| r.as_sequence())
                .into_iter()
                .flatten()
            {
                let key = req.as_str().unwrap();
                assert!(obj.contains_key(key), "{at}: missing {key} in {v}");
            }
            if let Some(props) = schema.get("properties").and_then(|p| p.as_mapping()) {
                for (k, s) in props {
                    if let Some(x) = obj.get(k.as_str().unwrap()) {
                        conforms(spec, s, x, &format!("{at}.{}", k.as_str().unwrap()));
                    }
                }
            }
        }
        Some("array") => {
            for (i, x) in v
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array"))
                .iter()
                .enumerate()
            {
                conforms(spec, &schema["items"], x, &format!("{at}[{i}]"));
            }
        }
        Some("integer") => assert!(v.is_i64(), "{at}: not an integer: {v}"),
        Some("string") => assert!(v.is_string(), "{at}: not a string: {v}"),
        Some("boolean") => assert!(v.is_boolean(), "{at}: not a boolean: {v}"),
        _ => {}
    }
}

/// The 200 schema of `GET path` (`template` as written in the spec).
fn check(spec: &serde_yaml::Value, template: &str, v: &Value) {
    let op = &spec["paths"][template]["get"]["responses"]["200"];
    let schema = &op["content"]["application/vnd.kafka.v2+json"]["schema"];
    assert!(!schema.is_null(), "no schema for GET {template}");
    conforms(spec, schema, v, template);
}

fn wait_topic(port: u16, want: &[(i64, Vec<(i64, bool)>)]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = get(port, "/topics/myorders");
        if layout(&t) == want {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "REST view never became {want:?}: {t}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_walkthrough_through_the_rest_proxy() {
    let home = Home::new()
        .with_env("KFKD_BROKER_SESSION_TIMEOUT_MS", "1500")
        .with_env("KFKD_BROKER_HEARTBEAT_INTERVAL_MS", "300");
    let (_, rest) = home.up_cluster_with_rest_proxy(3);
    let (status, spec_text) = http(rest, "GET", "/openapi.yaml", "text/plain", "");
    assert_eq!(status, 200);
    let spec: serde_yaml::Value = serde_yaml::from_str(&spec_text).unwrap();

    let brokers = get(rest, "/brokers");
    check(&spec, "/brokers", &brokers);
    assert_eq!(brokers["brokers"], serde_json::json!([1, 2, 3]));

    home.ok(&["topics", "create", "myorders", "-p", "3", "-r", "1"]);
    let topics = get(rest, "/topics");
    check(&spec, "/topics", &topics);
    assert_eq!(topics, serde_json::json!(["myorders"]));
    let plan = home.path().join("increase_replication.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"myorders","partition":0,"replicas":[1,2]},{"topic":"myorders","partition":1,"replicas":[1,2]},{"topic":"myorders","partition":2,"replicas":[2]}]}"#,
    )
    .unwrap();
    home.ok(&["reassign", "execute", "-f", plan.to_str().unwrap()]);
    let t = wait_topic(
        rest,
        &[
            (1, vec![(1, true), (2, true)]),
            (2, vec![(1, true), (2, true)]),
            (2, vec![(2, true)]),
        ],
    );
    check(&spec, "/topics/{topic}", &t);
    check(
        &spec,
        "/topics/{topic}/partitions",
        &get(rest, "/topics/myorders/partitions"),
    );
    check(
        &spec,
        "/topics/{topic}/partitions/{partition}",
        &get(rest, "/topics/myorders/partitions/2"),
    );

    // Produce through the proxy, in each content type.
    let (status, body) = http(
        rest,
        "POST",
        "/topics/myorders/partitions/0",
        "application/vnd.kafka.json.v2+json",
        r#"{"records":[{"value":"Hello"},{"value":"again"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let produced: Value = serde_json::from_str(&body).unwrap();
    let schema = &spec["components"]["responses"]["Produced"]["content"]["application/vnd.kafka.v2+json"]
        ["schema"];
    conforms(&spec, schema, &produced, "produce");
    assert_eq!(produced["offsets"][1]["offset"], 1);
    let (status, _) = http(
        rest,
        "POST",
        "/topics/myorders/partitions/1",
        "application/vnd.kafka.binary.v2+json",
        r#"{"records":[{"value":"ZnJvbQ=="}]}"#,
    );
    assert_eq!(status, 200);
    // A record for a partition the topic lacks fails alone, as kafka-rest
    // reports it (non-retriable: 50002), while its neighbour is written.
    let (status, body) = http(
        rest,
        "POST",
        "/topics/myorders",
        "application/vnd.kafka.json.v2+json",
        r#"{"records":[{"value":"nowhere","partition":7},{"value":"somewhere","partition":0}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let produced: Value = serde_json::from_str(&body).unwrap();
    conforms(&spec, schema, &produced, "produce with a failed record");
    assert_eq!(produced["offsets"][0]["error_code"], 50002, "{body}");
    assert!(
        produced["offsets"][0]["error"]
            .as_str()
            .unwrap()
            .contains("partition 7")
    );
    assert_eq!(produced["offsets"][1]["partition"], 0, "{body}");
    assert_eq!(
        http(rest, "POST", "/topics/myorders", "text/plain", "x").0,
        415
    );
    assert_eq!(
        http(rest, "POST", "/topics/myorders", "application/json", "{}").0,
        422
    );
    let (status, body) = http(rest, "GET", "/topics/nope", "application/json", "");
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error_code"],
        40401
    );

    // Stop broker 2: the REST view shows it out of sync and partition 2 offline.
    home.ok(&["cluster", "stop-broker", "2"]);
    wait_topic(
        rest,
        &[
            (1, vec![(1, true), (2, false)]),
            (1, vec![(1, true), (2, false)]),
            (-1, vec![(2, true)]),
        ],
    );
    // Start it: everything heals, and the messages are all there.
    home.ok(&["cluster", "start-broker", "2"]);
    wait_topic(
        rest,
        &[
            (1, vec![(1, true), (2, true)]),
            (1, vec![(1, true), (2, true)]),
            (2, vec![(2, true)]),
        ],
    );
    let out = home.ok(&["consume", "myorders", "--from-beginning", "-e"]);
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    assert_eq!(got, vec!["\"Hello\"", "\"again\"", "\"somewhere\"", "from"]);

    // The proxy is a process of its own: it outlives the death of any one
    // broker, the first (which `cluster up` used to embed it in) included.
    home.ok(&["cluster", "stop-broker", "1", "--kill"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http(rest, "GET", "/brokers", "application/json", "");
        if status == 200
            && serde_json::from_str::<Value>(&body).unwrap()["brokers"] == serde_json::json!([2, 3])
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy after broker 1 died: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let t = get(rest, "/topics/myorders");
    assert_eq!(t["partitions"][2]["leader"], 2, "{t}");
}

/// An HTTP request whose body may be refused before it is all sent: write
/// errors are ignored and the answer is read anyway.
fn http_unread_body(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/vnd.kafka.json.v2+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body));
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    let status = raw
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The kafka-rest error code of an error answer, which must be JSON.
fn error_code((status, body): (u16, String)) -> (u16, i64) {
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("a {status} answer that is not JSON ({e}): {body:?}"));
    assert!(v["message"].is_string(), "{body}");
    (status, v["error_code"].as_i64().unwrap_or(-1))
}

#[test]
fn kfk_rest_proxy_runs_alone_and_answers_every_failure_in_json() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    home.up();
    home.ok(&["topics", "create", "events", "-p", "2"]);
    let input: String = (0..6).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    home.ok_stdin(&["produce", "events"], &input);

    // `kfk rest-proxy` in front of the cluster kfk is pointed at.
    let rest = kfk_e2e::free_port();
    let mut cmd = std::process::Command::new(kfk_e2e::bin("kfk"));
    home.env(&mut cmd);
    cmd.args([
        "-b",
        &format!("127.0.0.1:{}", home.port()),
        "rest-proxy",
        "--listen",
    ])
    .arg(format!("127.0.0.1:{rest}"));
    let _proxy = kfk_e2e::Spawned::start(&mut cmd, &home.path().join("rest-proxy.log"));
    kfk_e2e::wait_until(Duration::from_secs(20), "the proxy to serve", || {
        std::net::TcpStream::connect(("127.0.0.1", rest)).is_ok()
    });
    assert_eq!(get(rest, "/topics"), serde_json::json!(["events"]));

    // Paths that cannot name anything, methods a path does not take, bodies
    // that are too big: kafka-rest JSON errors, never text or empty bodies.
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            "/topics/events/partitions/abc",
            "application/json",
            ""
        )),
        (404, 404)
    );
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            "/topics/events/partitions/4294967296",
            "application/json",
            ""
        )),
        (404, 404),
        "a partition past i32 is not partition 0"
    );
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            "/topics/events/partitions/5",
            "application/json",
            ""
        )),
        (404, 40402)
    );
    assert_eq!(
        error_code(http(
            rest,
            "PUT",
            "/topics/events",
            "application/json",
            "{}"
        )),
        (405, 405)
    );
    assert_eq!(
        error_code(http(rest, "DELETE", "/topics", "application/json", "")),
        (405, 405)
    );
    assert_eq!(
        error_code(http(rest, "GET", "/no/such/path", "application/json", "")),
        (404, 404)
    );
    let big = format!(r#"{{"records":[{{"value":"{}"}}]}}"#, "x".repeat(3 << 20));
    assert_eq!(
        error_code(http_unread_body(
            rest,
            "POST",
            "/topics/events",
            big.as_bytes()
        )),
        (413, 41300)
    );
    let (status, body) = http(
        rest,
        "POST",
        "/topics/events",
        "application/vnd.kafka.json.v2+json",
        r#"{"records":[{"value":1,"partition":4294967296}]}"#,
    );
    assert_eq!(
        (status, error_code((status, body)).1),
        (422, 42200),
        "not truncated to partition 0"
    );
    assert!(
        home.ok(&["consume", "events", "-p", "0", "--from-beginning", "-e"])
            .lines()
            .all(|l| l.starts_with("{\"n\":")),
        "nothing was written"
    );

    // A consumer instance reads everything; a commit body that is not a list
    // of offsets is refused and commits nothing; an empty body commits all.
    let base = "/consumers/web/instances/c1";
    let post =
        |path: &str, body: &str| http(rest, "POST", path, "application/vnd.kafka.v2+json", body);
    assert_eq!(
        post(
            "/consumers/web",
            r#"{"name":"c1","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}"#
        )
        .0,
        200
    );
    assert_eq!(
        error_code(post(
            "/consumers/web",
            r#"{"name":"c2","auto.offset.reset":"sometimes"}"#
        )),
        (422, 42200)
    );
    assert_eq!(
        error_code(post(
            &format!("{base}/subscription"),
            r#"{"topic":"events"}"#
        )),
        (422, 42200)
    );
    assert_eq!(
        post(&format!("{base}/subscription"), r#"{"topics":["events"]}"#).0,
        204
    );
    let mut read = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while read < 6 {
        assert!(Instant::now() < deadline, "records never came");
        read += get(rest, &format!("{base}/records"))
            .as_array()
            .unwrap()
            .len();
    }
    // The group's committed offsets, summed (partitions without one count 0).
    let committed = || -> i64 {
        home.json(&["groups", "describe", "web"])["partitions"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["current_offset"].as_i64()).sum())
            .unwrap_or(0)
    };
    assert_eq!(
        error_code(post(
            &format!("{base}/offsets"),
            r#"{"offsets":[{"topic":"events"}]}"#
        )),
        (422, 42200)
    );
    assert_eq!(
        error_code(post(&format!("{base}/offsets"), "not json")),
        (422, 42200)
    );
    assert_eq!(committed(), 0, "a refused commit commits nothing");
    assert_eq!(post(&format!("{base}/offsets"), "").0, 200);
    assert_eq!(committed(), 6, "an empty body commits what was returned");
}

#[test]
fn consumer_instances_read_commit_and_leave_and_v3_lists_topics() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    let (_, rest) = home.up_cluster_with_rest_proxy(1);
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&http(rest, "GET", "/openapi.yaml", "text/plain", "").1).unwrap();
    home.ok(&["topics", "create", "events", "-p", "2"]);
    let input: String = (0..6).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    home.ok_stdin(&["produce", "events"], &input);

    let (status, body) = http(
        rest,
        "POST",
        "/consumers/web",
        "application/vnd.kafka.v2+json",
        r#"{"name":"c1","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["instance_id"], "c1");
    assert!(
        created["base_uri"]
            .as_str()
            .unwrap()
            .ends_with("/consumers/web/instances/c1")
    );
    assert_eq!(
        http(
            rest,
            "POST",
            "/consumers/web",
            "application/vnd.kafka.v2+json",
            r#"{"name":"c1"}"#
        )
        .0,
        409
    );
    let base = "/consumers/web/instances/c1";
    let (status, _) = http(
        rest,
        "POST",
        &format!("{base}/subscription"),
        "application/vnd.kafka.v2+json",
        r#"{"topics":["events"]}"#,
    );
    assert_eq!(status, 204);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 6 {
        assert!(Instant::now() < deadline, "records never came: {got:?}");
        let records = get(rest, &format!("{base}/records"));
        let schema = &spec["paths"]["/consumers/{group}/instances/{name}/records"]["get"]["responses"]
            ["200"]["content"]["application/vnd.kafka.json.v2+json"]["schema"];
        conforms(&spec, schema, &records, "records");
        got.extend(
            records
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["value"]["n"].as_i64().unwrap()),
        );
    }
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
    let (status, _) = http(
        rest,
        "POST",
        &format!("{base}/offsets"),
        "application/vnd.kafka.v2+json",
        "",
    );
    assert_eq!(status, 200);
    let (status, _) = http(rest, "DELETE", base, "application/vnd.kafka.v2+json", "");
    assert_eq!(status, 204);
    assert_eq!(
        http(
            rest,
            "GET",
            &format!("{base}/records"),
            "application/json",
            ""
        )
        .0,
        404
    );
    let lag = home.json(&["groups", "describe", "web"])["total_lag"].as_i64();
    assert_eq!(lag, Some(0), "everything returned was committed");

    let clusters = get(rest, "/v3/clusters");
    let id = clusters["data"][0]["cluster_id"]
        .as_str()
        .unwrap()
        .to_string();
    let topics = get(rest, &format!("/v3/clusters/{id}/topics"));
    assert!(
        topics["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["topic_name"] == "events" && t["partitions_count"] == 2)
    );
}

/// kafka-rest produces through a Kafka producer: a topic the broker creates
/// on first use is created by the first POST; a broker that does not gets
/// 40401 for it.
#[test]
fn posting_to_a_new_topic_creates_it_when_the_broker_auto_creates() {
    for auto_create in ["true", "false"] {
        let home = Home::new().with_env("KFKD_AUTO_CREATE_TOPICS_ENABLE", auto_create);
        let (_, rest) = home.up_cluster_with_rest_proxy(1);
        let (status, body) = http(
            rest,
            "POST",
            "/topics/fresh",
            "application/vnd.kafka.json.v2+json",
            r#"{"records":[{"value":"first"}]}"#,
        );
        if auto_create == "true" {
            assert_eq!(status, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["offsets"][0]["offset"], 0, "{body}");
            assert_eq!(
                home.ok(&["consume", "fresh", "--from-beginning", "-e"]),
                "\"first\"\n"
            );
        } else {
            assert_eq!(status, 404, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error_code"], 40401, "{body}");
            assert!(
                home.json(&["topics", "list"])
                    .as_array()
                    .is_some_and(Vec::is_empty)
            );
        }
    }
}

/// A v2 request with a JSON body; returns the status and body.
fn v2(rest: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    http(rest, method, path, "application/vnd.kafka.v2+json", body)
}

/// Reads from an instance until `want` values (the `n` field) arrived or
/// `polls` reads came back empty.
fn read_values(rest: u16, base: &str, want: usize) -> Vec<i64> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want {
        assert!(Instant::now() < deadline, "only {got:?} came");
        let records = get(rest, &format!("{base}/records"));
        got.extend(
            records
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["value"]["n"].as_i64().unwrap()),
        );
    }
    got
}

/// The consumer calls of kafka-rest's Postman collection beyond the basics:
/// subscription by pattern, unsubscribe, manual assignment, seeking,
/// committed offsets, a partition's offsets and `GET /`.
#[test]
fn the_postman_collections_consumer_calls() {
    let home = Home::new().with_env("KFKD_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
    let (_, rest) = home.up_cluster_with_rest_proxy(1);
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&http(rest, "GET", "/openapi.yaml", "text/plain", "").1).unwrap();
    let root = get(rest, "/");
    assert_eq!(root, serde_json::json!({}));
    check(&spec, "/", &root);

    for t in ["pat-a", "pat-b", "other", "seek"] {
        home.ok(&["topics", "create", t, "-p", "1"]);
    }
    home.ok_stdin(&["produce", "pat-a"], "{\"n\":1}\n{\"n\":2}\n");
    home.ok_stdin(&["produce", "pat-b"], "{\"n\":3}\n");
    home.ok_stdin(&["produce", "other"], "{\"n\":99}\n");
    let input: String = (0..10).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    home.ok_stdin(&["produce", "seek"], &input);

    let offsets = get(rest, "/topics/seek/partitions/0/offsets");
    check(
        &spec,
        "/topics/{topic}/partitions/{partition}/offsets",
        &offsets,
    );
    assert_eq!(
        offsets,
        serde_json::json!({"beginning_offset": 0, "end_offset": 10})
    );
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            "/topics/seek/partitions/3/offsets",
            "application/json",
            ""
        )),
        (404, 40402)
    );
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            "/topics/nope/partitions/0/offsets",
            "application/json",
            ""
        )),
        (404, 40401)
    );

    // A pattern subscription reads every topic it matches, not the others.
    let create = r#"{"name":"p1","format":"json","auto.offset.reset":"earliest"}"#;
    assert_eq!(v2(rest, "POST", "/consumers/pats", create).0, 200);
    let p1 = "/consumers/pats/instances/p1";
    assert_eq!(
        error_code(v2(
            rest,
            "POST",
            &format!("{p1}/subscription"),
            r#"{"topics":["pat-a"],"topic_pattern":"pat-.*"}"#
        )),
        (409, 40903)
    );
    assert_eq!(
        error_code(v2(
            rest,
            "POST",
            &format!("{p1}/subscription"),
            r#"{"topic_pattern":"pat-("}"#
        )),
        (422, 42200)
    );
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{p1}/subscription"),
            r#"{"topic_pattern":"pat-.*"}"#
        )
        .0,
        204
    );
    let sub = get(rest, &format!("{p1}/subscription"));
    check(
        &spec,
        "/consumers/{group}/instances/{name}/subscription",
        &sub,
    );
    assert_eq!(sub, serde_json::json!({"topics": ["pat-a", "pat-b"]}));
    let mut got = read_values(rest, p1, 3);
    got.sort_unstable();
    assert_eq!(got, vec![1, 2, 3], "the pattern's topics, not `other`");
    let assigned = get(rest, &format!("{p1}/assignments"));
    check(
        &spec,
        "/consumers/{group}/instances/{name}/assignments",
        &assigned,
    );
    assert_eq!(
        assigned["partitions"].as_array().unwrap().len(),
        2,
        "{assigned}"
    );
    // Unsubscribing leaves the group; the instance stays, with nothing to read.
    assert_eq!(v2(rest, "DELETE", &format!("{p1}/subscription"), "").0, 204);
    assert_eq!(
        get(rest, &format!("{p1}/subscription")),
        serde_json::json!({"topics": []})
    );
    assert_eq!(
        error_code(http(
            rest,
            "GET",
            &format!("{p1}/records"),
            "application/json",
            ""
        )),
        (409, 40903)
    );
    let group = home.json(&["groups", "describe", "pats"]);
    assert_eq!(
        group["members"].as_array().map_or(0, Vec::len),
        0,
        "{group}"
    );

    // Manual assignment, then seeking.
    let create = r#"{"name":"s1","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}"#;
    assert_eq!(v2(rest, "POST", "/consumers/seekers", create).0, 200);
    let s1 = "/consumers/seekers/instances/s1";
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{s1}/assignments"),
            r#"{"partitions":[{"topic":"seek","partition":0}]}"#
        )
        .0,
        204
    );
    assert_eq!(
        error_code(v2(
            rest,
            "POST",
            &format!("{s1}/subscription"),
            r#"{"topics":["seek"]}"#
        )),
        (409, 40903)
    );
    assert_eq!(
        get(rest, &format!("{s1}/assignments")),
        serde_json::json!({"partitions": [{"topic": "seek", "partition": 0}]})
    );
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{s1}/positions"),
            r#"{"offsets":[{"topic":"seek","partition":0,"offset":7}]}"#
        )
        .0,
        204
    );
    assert_eq!(read_values(rest, s1, 3), vec![7, 8, 9]);
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{s1}/positions/beginning"),
            r#"{"partitions":[{"topic":"seek","partition":0}]}"#
        )
        .0,
        204
    );
    assert_eq!(read_values(rest, s1, 10), (0..10).collect::<Vec<_>>());
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{s1}/positions/end"),
            r#"{"partitions":[{"topic":"seek","partition":0}]}"#
        )
        .0,
        204
    );
    home.ok_stdin(&["produce", "seek"], "{\"n\":10}\n");
    assert_eq!(
        read_values(rest, s1, 1),
        vec![10],
        "only what came after the seek to the end"
    );
    assert_eq!(
        error_code(v2(
            rest,
            "POST",
            &format!("{s1}/positions"),
            r#"{"offsets":[{"topic":"other","partition":0,"offset":0}]}"#
        )),
        (409, 40903)
    );

    // Committed offsets, asked for by partition.
    assert_eq!(
        v2(
            rest,
            "POST",
            &format!("{s1}/offsets"),
            r#"{"offsets":[{"topic":"seek","partition":0,"offset":4}]}"#
        )
        .0,
        200
    );
    let (status, body) = v2(
        rest,
        "GET",
        &format!("{s1}/offsets"),
        r#"{"partitions":[{"topic":"seek","partition":0}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let committed: Value = serde_json::from_str(&body).unwrap();
    let schema = &spec["paths"]["/consumers/{group}/instances/{name}/offsets"]["get"]["responses"]
        ["200"]["content"]["application/vnd.kafka.v2+json"]["schema"];
    conforms(&spec, schema, &committed, "offsets");
    assert_eq!(
        committed,
        serde_json::json!({"offsets": [{"topic": "seek", "partition": 0, "offset": 4, "metadata": ""}]})
    );
    let lag = home.json(&["groups", "describe", "seekers"])["total_lag"].as_i64();
    assert_eq!(lag, Some(7), "11 records, committed at 4");
}
