//! `kfk zk-shell`: the cluster's metadata as the ZooKeeper tree operators
//! know from `zookeeper-shell` (`/brokers/ids`, `/controller`, ...), built
//! from standard admin APIs so it works against kfkd and any Kafka cluster.
//! One-shot (`kfk zk-shell get /controller`) or interactive.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;

use kfk_client::Client;
use serde_json::Value;

use crate::cli::{OutputFormat, ZkShellArgs};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

mod stat;
mod tree;

use tree::{Tree, split};

pub(super) fn join(base: &str, child: &str) -> String {
    if base == "/" {
        format!("/{child}")
    } else {
        format!("{}/{child}", base.trim_end_matches('/'))
    }
}

/// Resolves `arg` against the current directory (`..` and `.` allowed).
fn resolve(cwd: &str, arg: Option<&str>) -> String {
    let raw = match arg {
        None => return cwd.to_string(),
        Some(a) if a.starts_with('/') => a.to_string(),
        Some(a) => join(cwd, a),
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in raw.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

const HELP: &str = "\
ls [-R] PATH      children of PATH (-R: every path below it)
get PATH          the node's data (Kafka's compact JSON)
stat PATH         ZooKeeper's stat: zxids are metadata log offsets
cd PATH, pwd      move around the tree
tree [PATH]       the tree below PATH
find PATTERN      paths containing PATTERN (* matches anything)
set /config/topics/T JSON
                  replace a topic's config overrides ({\"config\":{...}} or {...})
ruok              imok when the metadata quorum has a leader
help, quit";

/// Runs one shell command; `cwd` changes with `cd`. Returns what to print.
async fn exec(
    client: &Arc<Client>,
    cwd: &mut String,
    words: &[String],
    yes: bool,
    json_out: bool,
) -> CliResult<Option<String>> {
    let Some((cmd, args)) = words.split_first() else {
        return Ok(None);
    };
    let tree = Tree::load(Arc::clone(client)).await?;
    let arg = |i: usize| args.get(i).map(String::as_str);
    Ok(Some(match cmd.as_str() {
        "ls" => {
            let recursive = arg(0) == Some("-R");
            let path = resolve(cwd, arg(usize::from(recursive)));
            if recursive {
                let mut all = vec![path.clone()];
                tree.walk(&path, &mut all).await?;
                if json_out {
                    serde_json::to_string_pretty(&all).unwrap_or_default()
                } else {
                    all.join("\n")
                }
            } else {
                let children = tree.children(&path).await?;
                if json_out {
                    serde_json::to_string_pretty(&children).unwrap_or_default()
                } else {
                    format!("[{}]", children.join(", "))
                }
            }
        }
        "get" => {
            let path = resolve(cwd, arg(0));
            let data = tree.data(&path).await?;
            match data {
                // Text data prints as stored, as zookeeper-shell prints bytes.
                Value::String(text) if !json_out => text,
                // Kafka stored compact JSON, one line (scripts `| tail -1`).
                data if !json_out => data.to_string(),
                data => serde_json::to_string_pretty(&data).unwrap_or_default(),
            }
        }
        "stat" => {
            let path = resolve(cwd, arg(0));
            let data = tree.data(&path).await?;
            let children = tree.children(&path).await?;
            let stamp = tree.stamp(&path).await;
            stat::render(
                &path,
                stamp.as_ref(),
                stat::data_length(&data),
                children.len(),
                json_out,
            )
        }
        "cd" => {
            let path = resolve(cwd, arg(0).or(Some("/")));
            tree.children(&path).await?;
            *cwd = path;
            return Ok(None);
        }
        "pwd" => cwd.clone(),
        "tree" => {
            let path = resolve(cwd, arg(0));
            let mut all = Vec::new();
            tree.walk(&path, &mut all).await?;
            let base = split(&path).len();
            let mut lines = vec![path.clone()];
            for p in all {
                let depth = split(&p).len() - base;
                let name = p.rsplit('/').next().unwrap_or("");
                lines.push(format!("{}{name}", "  ".repeat(depth)));
            }
            lines.join("\n")
        }
        "find" => {
            let pattern = arg(0).ok_or_else(|| CliError::usage("find needs a PATTERN"))?;
            let mut all = Vec::new();
            tree.walk("/", &mut all).await?;
            all.retain(|p| crate::pattern::matches(pattern, p));
            if all.is_empty() {
                // Nothing found prints nothing, not an empty line.
                return Ok(None);
            }
            all.join("\n")
        }
        "set" => {
            let path = resolve(cwd, arg(0));
            let body = args.get(1..).map(|a| a.join(" ")).unwrap_or_default();
            return set(client, &tree, &path, &body, yes).await.map(Some);
        }
        "ruok" => {
            if tree
                .quorum
                .as_ref()
                .map_or(tree.meta.controller_id, |q| q.leader)
                >= 0
            {
                "imok".to_string()
            } else {
                return Err(CliError::new("the metadata quorum has no leader"));
            }
        }
        "help" => HELP.to_string(),
        other => {
            return Err(CliError::usage(format!("unknown command {other:?}")).hint("try `help`"));
        }
    }))
}

/// `set /config/topics/T JSON`: the topic's overrides become exactly JSON.
async fn set(
    client: &Arc<Client>,
    tree: &Tree,
    path: &str,
    body: &str,
    yes: bool,
) -> CliResult<String> {
    let parts = split(path);
    let ["config", "topics", topic] = parts.as_slice() else {
        return Err(CliError::usage(format!("{path} cannot be set"))
            .hint("only /config/topics/<topic> can be set"));
    };
    let v: Value = serde_json::from_str(body).map_err(|e| {
        CliError::usage(format!("the data is not JSON: {e}"))
            .hint(r#"e.g. set /config/topics/orders {"retention.ms":"86400000"}"#)
    })?;
    let wanted = v.get("config").unwrap_or(&v);
    let wanted: BTreeMap<String, String> = wanted
        .as_object()
        .ok_or_else(|| CliError::usage("the config must be a JSON object"))?
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect();
    let current = tree.data(path).await?;
    let old: BTreeMap<String, String> = current["config"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut changes: Vec<(String, Option<String>)> = wanted
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    changes.extend(
        old.keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(|k| (k.clone(), None)),
    );
    if changes.is_empty() {
        return Ok("unchanged".into());
    }
    crate::term::confirm(
        yes,
        &format!("Change the configs of topic {topic}: {changes:?}?"),
        "configs not changed",
    )?;
    client.alter_topic_configs(topic, &changes).await?;
    Ok(format!("updated /config/topics/{topic}"))
}

/// Completes the path being typed from a snapshot of the tree's paths.
struct PathHelper {
    paths: Vec<String>,
    cwd: std::cell::RefCell<String>,
}

impl rustyline::completion::Completer for PathHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos].rfind(' ').map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if start == 0 {
            let cmds = [
                "ls", "get", "stat", "cd", "pwd", "tree", "find", "set", "ruok", "help", "quit",
            ];
            return Ok((
                0,
                cmds.iter()
                    .filter(|c| c.starts_with(word))
                    .map(|c| c.to_string())
                    .collect(),
            ));
        }
        let absolute = word.starts_with('/');
        let cwd = self.cwd.borrow().clone();
        let full = if absolute {
            word.to_string()
        } else {
            join(&cwd, word)
        };
        let matches = self
            .paths
            .iter()
            .filter(|p| p.starts_with(&full))
            .map(|p| {
                if absolute {
                    p.clone()
                } else {
                    p.strip_prefix(&join(&cwd, "")).unwrap_or(p).to_string()
                }
            })
            .collect();
        Ok((start, matches))
    }
}
impl rustyline::hint::Hinter for PathHelper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for PathHelper {}
impl rustyline::validate::Validator for PathHelper {}
impl rustyline::Helper for PathHelper {}

/// zookeeper-shell's server argument: `HOST:PORT` (or `-server HOST:PORT`)
/// before the command; returns it and the command words after it.
fn split_server(words: &[String]) -> (Option<String>, &[String]) {
    let looks_like_server = |w: &str| {
        w.rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    };
    match words {
        [flag, server, rest @ ..] if flag == "-server" => (Some(server.clone()), rest),
        [server, rest @ ..] if !server.starts_with('/') && looks_like_server(server) => {
            (Some(server.clone()), rest)
        }
        _ => (None, words),
    }
}

pub async fn run(ctx: &Ctx, args: &ZkShellArgs) -> CliResult {
    let (server, command) = split_server(&args.command);
    let named;
    let ctx = match &server {
        Some(s) => {
            eprintln!("Connecting to {s}");
            named = Ctx {
                home: ctx.home.clone(),
                bootstrap_flag: Some(s.clone()),
                output: ctx.output,
                request_timeout: ctx.request_timeout,
                sasl: ctx.sasl.clone(),
                tls: ctx.tls.clone(),
                client_props: ctx.client_props.clone(),
            };
            &named
        }
        None => ctx,
    };
    let client = match ctx.client().await {
        Ok(c) => c,
        // ZooKeeper's port out of habit: kfk talks to a broker instead.
        Err(e) if server.as_deref().is_some_and(|s| s.ends_with(":2181")) => {
            return Err(e.hint(
                "kfk zk-shell reads the tree from a Kafka broker (e.g. localhost:9092), not from ZooKeeper's port 2181",
            ));
        }
        Err(e) => return Err(e),
    };
    let mut cwd = "/".to_string();
    if !command.is_empty() {
        // `--yes` and `-o FORMAT` may come after the command words too.
        let yes = args.yes || command.iter().any(|w| w == "--yes" || w == "-y");
        let mut words: Vec<String> = Vec::new();
        let mut json_out = ctx.format() != OutputFormat::Table;
        let mut it = command.iter();
        while let Some(w) = it.next() {
            match w.as_str() {
                "--yes" | "-y" => {}
                "-o" | "--output" => json_out = it.next().is_some_and(|f| f != "table"),
                _ if w.starts_with("--output=") => json_out = !w.ends_with("=table"),
                _ => words.push(w.clone()),
            }
        }
        if let Some(out) = exec(&client, &mut cwd, &words, yes, json_out).await? {
            output::println_safe(&out);
        }
        return Ok(());
    }
    let json_out = ctx.format() != OutputFormat::Table;
    if !std::io::stdin().is_terminal() {
        return script(&client, args.yes, json_out).await;
    }
    let mut all = Vec::new();
    Tree::load(Arc::clone(&client))
        .await?
        .walk("/", &mut all)
        .await?;
    let mut editor = rustyline::Editor::<PathHelper, rustyline::history::DefaultHistory>::new()
        .map_err(|e| CliError::new(format!("cannot start the shell: {e}")))?;
    editor.set_helper(Some(PathHelper {
        paths: all,
        cwd: std::cell::RefCell::new(cwd.clone()),
    }));
    let history = ctx.home.data_dir.join("zk-shell-history");
    let _ = std::fs::create_dir_all(&ctx.home.data_dir);
    let _ = editor.load_history(&history);
    let (bootstrap, _) = ctx.bootstrap()?;
    let bootstrap = bootstrap.split(',').next().unwrap_or_default().to_string();
    output::status(
        "kfk zk-shell: the cluster's metadata as ZooKeeper paths. Type `help`; Ctrl-C or `quit` leaves.",
    );
    loop {
        let prompt = format!("[kfk: {bootstrap} {cwd}] ");
        let line = match editor.readline(&prompt) {
            Ok(l) => l,
            // Ctrl-C leaves, as zookeeper-shell does.
            Err(_) => break,
        };
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if words.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        // Saved at once, so a shell that is killed keeps what was typed.
        let _ = editor.save_history(&history);
        if matches!(words[0].as_str(), "quit" | "exit") {
            break;
        }
        match exec(&client, &mut cwd, &words, args.yes, json_out).await {
            Ok(Some(out)) => output::println_safe(&out),
            Ok(None) => {}
            Err(e) => eprintln!("{}", e.message),
        }
        if let Some(h) = editor.helper_mut() {
            *h.cwd.borrow_mut() = cwd.clone();
        }
    }
    Ok(())
}

/// Commands piped in (`kfk zk-shell <<< "ls /brokers/ids"`, as with
/// zookeeper-shell): one per line, no prompt; the exit status says whether
/// every command worked.
async fn script(client: &Arc<Client>, yes: bool, json_out: bool) -> CliResult {
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
    let mut cwd = "/".to_string();
    let mut failed = 0;
    for line in input.lines() {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match words.first().map(String::as_str) {
            None => continue,
            Some(w) if w.starts_with('#') => continue,
            Some("quit" | "exit") => break,
            Some(_) => {}
        }
        match exec(client, &mut cwd, &words, yes, json_out).await {
            Ok(Some(out)) => output::println_safe(&out),
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                eprintln!("{}", e.message);
            }
        }
    }
    if failed > 0 {
        return Err(CliError::new(format!("{failed} command(s) failed")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_may_come_first_as_with_zookeeper_shell() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let words = w(&["localhost:9092", "get", "/controller"]);
        let (server, rest) = split_server(&words);
        assert_eq!(server.as_deref(), Some("localhost:9092"));
        assert_eq!(rest, &words[1..]);
        let words = w(&["-server", "h:1", "ls", "/"]);
        assert_eq!(split_server(&words).0.as_deref(), Some("h:1"));
        let words = w(&["get", "/controller"]);
        assert_eq!(split_server(&words).0, None);
        let words = w(&["ls", "/a:1"]);
        assert_eq!(split_server(&words).0, None);
    }

    #[test]
    fn paths_resolve_like_a_shell() {
        assert_eq!(resolve("/", Some("brokers")), "/brokers");
        assert_eq!(resolve("/brokers/ids", Some("..")), "/brokers");
        assert_eq!(resolve("/brokers", Some("/controller")), "/controller");
        assert_eq!(resolve("/brokers", None), "/brokers");
        assert_eq!(resolve("/a/b", Some("../../..")), "/");
    }
}
