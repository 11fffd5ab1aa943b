//! The controller port: only the cluster's own nodes get in (they prove
//! they hold the cluster secret), and whatever reaches the quorum's leader
//! is checked as the Kafka API that would have made it checks it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kfk_e2e::{KfkHome as Home, Kfkd, bin, free_port, run_unchecked};

/// The metadata change an attacker replays: a config value the Kafka API
/// refuses, as one length-prefixed JSON frame.
fn forged_frame(topic: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "Propose": {"SetTopicConfigs": {"name": topic, "configs": {"retention.ms": "abc"}}}
    })
    .to_string();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body.as_bytes());
    frame
}

/// Sends `frame` to `port` and returns what came back until the peer closed
/// or went quiet.
fn exchange(port: u16, frame: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("controller port");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(frame).unwrap();
    let mut back = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return back,
            Ok(n) => {
                back.extend_from_slice(&buf[..n]);
                // A whole reply frame: done.
                if back.len() >= 4 {
                    let len = u32::from_be_bytes([back[0], back[1], back[2], back[3]]) as usize;
                    if back.len() >= 4 + len && !back.starts_with(b"KFKC") {
                        return back;
                    }
                }
            }
        }
    }
}

#[test]
fn a_forged_metadata_change_on_a_clusters_controller_port_is_refused() {
    let home = Home::new();
    let base = home.up_cluster(3);
    home.ok(&["topics", "create", "guarded", "-p", "1", "-r", "3"]);
    let frame = forged_frame("guarded");
    for i in 0..3 {
        let back = exchange(base + 100 + i, &frame);
        // The node asks for proof of the secret and drops the stranger.
        assert!(back.starts_with(b"KFKC1"), "{back:?}");
        assert_eq!(back.len(), 5 + 32, "nothing but the challenge: {back:?}");
    }
    let described = home.json(&["topics", "describe", "guarded"]);
    assert!(
        described["configs"].get("retention.ms").is_none(),
        "{described}"
    );
    // The cluster still works, and its secret is the owner's alone.
    home.ok(&[
        "topics",
        "alter",
        "guarded",
        "--config",
        "retention.ms=60000",
    ]);
    let described = home.json(&["topics", "describe", "guarded"]);
    assert_eq!(described["configs"]["retention.ms"], "60000", "{described}");
    let secret = home.path().join("data/cluster/cluster.secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let log = std::fs::read_to_string(home.path().join("data/cluster/broker-1.log")).unwrap();
    assert!(log.contains("controller connection refused"), "{log}");
}

#[test]
fn without_a_secret_on_loopback_the_leader_still_refuses_what_no_api_would_send() {
    let cport = free_port();
    let voters = format!("1@127.0.0.1:{cport}");
    let controller = format!("127.0.0.1:{cport}");
    let kfkd = Kfkd::start_with(&[
        "--node-id",
        "1",
        "--controller-listen",
        &controller,
        "--voters",
        &voters,
    ]);
    let back = exchange(cport, &forged_frame("anything"));
    let reply = String::from_utf8_lossy(back.get(4..).unwrap_or_default()).into_owned();
    assert!(reply.contains("invalid metadata change"), "{reply}");
    assert!(reply.contains("retention.ms"), "{reply}");
    assert!(kfkd.log().contains("refused an invalid metadata change"));
}

#[test]
fn a_controller_port_beyond_loopback_needs_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cport = free_port();
    let port = free_port();
    let args = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(bin("kfkd"));
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--node-id", "1"])
            .args(["--controller-listen", &format!("0.0.0.0:{cport}")])
            .args(["--voters", &format!("1@127.0.0.1:{cport}")])
            .args(extra);
        cmd
    };
    let out = run_unchecked(&mut args(&[]), Duration::from_secs(30));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a cluster secret"), "{err}");
    assert!(err.contains("--cluster-secret-file"), "{err}");
    // A secret too short to be one is refused as well.
    let short = dir.path().join("short.secret");
    std::fs::write(&short, "abc\n").unwrap();
    let out = run_unchecked(
        &mut args(&["--cluster-secret-file", short.to_str().unwrap()]),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 16"), "{err}");
}
