//! Topic, group and broker names for dynamic shell completion.
//!
//! A Tab press must never hang the shell, even when the cluster is down or a
//! broker accepts connections and never answers (why rpk dropped cluster
//! completion). So names come from a small cache in the data directory:
//! fresh entries are served at once; a stale or missing cache gets one live
//! look-up bounded by [`BUDGET`]; if that does not finish in time, the stale
//! names (or none) are served and a detached `kfk` process refreshes the
//! cache for the next Tab.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use clap_complete::engine::CompletionCandidate;
use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::home::Home;

/// How long cached names are served without asking the cluster.
const FRESH: Duration = Duration::from_secs(10);
/// The most a Tab press waits for the cluster.
const BUDGET: Duration = Duration::from_millis(300);
/// The background refresh may take longer: nobody waits for it.
const REFRESH_BUDGET: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Names {
    /// The cluster these names belong to.
    pub bootstrap: String,
    pub topics: Vec<String>,
    pub groups: Vec<String>,
    pub brokers: Vec<i32>,
}

fn cache_file(home: &Home) -> PathBuf {
    home.data_dir.join("completion-cache.json")
}

/// Marks a background refresh in progress, so Tab presses against a dead
/// cluster do not pile up refreshers.
fn refresh_marker(home: &Home) -> PathBuf {
    home.data_dir.join("completion-cache.refreshing")
}

fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(
        SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default(),
    )
}

fn read_cache(home: &Home, bootstrap: &str) -> Option<(Names, Duration)> {
    let file = cache_file(home);
    let names: Names = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
    (names.bootstrap == bootstrap).then_some((names, age(&file)?))
}

fn write_cache(home: &Home, names: &Names) {
    let file = cache_file(home);
    let tmp = file.with_extension("json.tmp");
    if std::fs::create_dir_all(&home.data_dir).is_ok()
        && let Ok(bytes) = serde_json::to_vec(names)
        && std::fs::write(&tmp, bytes).is_ok()
    {
        let _ = std::fs::rename(&tmp, &file);
    }
}

/// Asks the cluster for its names, giving up after `budget`.
async fn fetch(ctx: &Ctx, bootstrap: &str, budget: Duration) -> Option<Names> {
    tokio::time::timeout(budget, async {
        let client = ctx.client().await.ok()?;
        let meta = client.refresh(None).await.ok()?;
        let groups = client.list_groups().await.ok()?;
        Some(Names {
            bootstrap: bootstrap.to_string(),
            topics: meta
                .topics
                .values()
                .filter(|t| !t.internal)
                .map(|t| t.name.clone())
                .collect(),
            groups: groups.into_iter().map(|g| g.group).collect(),
            brokers: meta.brokers.keys().copied().collect(),
        })
    })
    .await
    .ok()
    .flatten()
}

/// [`fetch`] for the completion path, which runs before any runtime exists.
fn fetch_blocking(ctx: &Ctx, bootstrap: &str, budget: Duration) -> Option<Names> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?
        .block_on(fetch(ctx, bootstrap, budget))
}

fn completion_ctx() -> Option<Ctx> {
    let home = Home::locate().ok()?;
    Some(Ctx {
        home,
        bootstrap_flag: std::env::var("KFK_BOOTSTRAP")
            .ok()
            .filter(|b| !b.is_empty()),
        output: None,
        request_timeout: None,
        sasl: None,
        tls: crate::security::TlsFlags::default(),
        client_props: None,
    })
}

/// Starts `kfk` detached to refresh the cache (see [`refresh`]).
fn spawn_refresh(home: &Home) {
    let marker = refresh_marker(home);
    if age(&marker).is_some_and(|a| a < REFRESH_BUDGET) {
        return;
    }
    let _ = std::fs::create_dir_all(&home.data_dir);
    let _ = std::fs::write(&marker, b"");
    if let Ok(exe) = std::env::current_exe() {
        // Null stdio: the shell's command substitution must not wait for it.
        let _ = std::process::Command::new(exe)
            .arg("refresh-completion-cache")
            .env_remove("COMPLETE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

/// The names to complete from, within [`BUDGET`].
fn current() -> Names {
    let Some(ctx) = completion_ctx() else {
        return Names::default();
    };
    let Ok((bootstrap, _)) = ctx.bootstrap() else {
        return Names::default();
    };
    let cached = read_cache(&ctx.home, &bootstrap);
    if let Some((names, age)) = &cached
        && *age < FRESH
    {
        return names.clone();
    }
    if let Some(names) = fetch_blocking(&ctx, &bootstrap, BUDGET) {
        write_cache(&ctx.home, &names);
        return names;
    }
    spawn_refresh(&ctx.home);
    cached.map(|(n, _)| n).unwrap_or_default()
}

/// `kfk refresh-completion-cache` (hidden): the background half of the cache.
pub async fn refresh(ctx: &Ctx) {
    if let Ok((bootstrap, _)) = ctx.bootstrap()
        && let Some(names) = fetch(ctx, &bootstrap, REFRESH_BUDGET).await
    {
        write_cache(&ctx.home, &names);
    }
    let _ = std::fs::remove_file(refresh_marker(&ctx.home));
}

fn candidates(items: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    items.into_iter().map(CompletionCandidate::new).collect()
}

/// Topic names of the current cluster.
pub fn topics() -> Vec<CompletionCandidate> {
    candidates(current().topics)
}

/// Consumer group names of the current cluster.
pub fn groups() -> Vec<CompletionCandidate> {
    candidates(current().groups)
}

/// Broker ids of the current cluster.
pub fn brokers() -> Vec<CompletionCandidate> {
    candidates(current().brokers.iter().map(i32::to_string))
}
