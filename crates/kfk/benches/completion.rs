//! How long a Tab press takes when the cluster does not answer: README
//! promises that completion waits at most 300 ms for the cluster, so a dead or
//! hung cluster never blocks the shell.
//!
//! ```text
//! cargo bench -p kfk --bench completion
//! ```
//!
//! Each iteration runs the real `kfk` binary the way the bash script does
//! (`COMPLETE=bash`, completing `kfk topics describe <Tab>`) against a
//! "broker" that accepts connections and never answers: once with nothing
//! cached and once with a stale cache of this cluster. Both make one live
//! look-up bounded by the 300 ms budget; then the stale names (or none) are
//! served and a background refresh goes on trying.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

/// Holds every connection it accepts without a byte of answer.
fn hung_broker(stop: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if let Ok((c, _)) = listener.accept() {
                held.push(c);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    addr
}

fn tab_press(home: &Path, bootstrap: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_kfk"))
        .env_clear()
        .env("KFK_HOME", home)
        .env("HOME", home)
        .env("KFK_BOOTSTRAP", bootstrap)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .args(["--", "kfk", "topics", "describe", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kfk");
    assert!(status.success(), "completion failed");
}

fn completion(c: &mut Criterion) {
    let stop = Arc::new(AtomicBool::new(false));
    let addr = hung_broker(stop.clone());
    let mut group = c.benchmark_group("tab_press_on_a_hung_cluster");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    let empty = tempfile::tempdir().expect("tempdir");
    group.bench_function("nothing_cached", |b| {
        b.iter(|| tab_press(empty.path(), &addr));
    });

    let stale = tempfile::tempdir().expect("tempdir");
    let data = stale.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let cache = data.join("completion-cache.json");
    group.bench_function("stale_cache", |b| {
        b.iter(|| {
            std::fs::write(
                &cache,
                format!(r#"{{"bootstrap":"{addr}","topics":["t"],"groups":[],"brokers":[1]}}"#),
            )
            .expect("cache");
            let old = std::fs::FileTimes::new()
                .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600));
            std::fs::File::options()
                .write(true)
                .open(&cache)
                .and_then(|f| f.set_times(old))
                .expect("age the cache");
            tab_press(stale.path(), &addr);
        });
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
}

criterion_group!(benches, completion);
criterion_main!(benches);
