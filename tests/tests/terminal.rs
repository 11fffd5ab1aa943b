//! The terminal experience, driven through a real terminal (tmux): the
//! produce and consume REPLs, confirmations, the topic picker, and shell
//! completion that never hangs.

use std::time::Duration;

use kfk_e2e::{KfkHome, Tmux, run_unchecked, tool};

const WAIT: Duration = Duration::from_secs(20);

/// Every record of `topic` as JSON objects (partition, offset, key, value, headers).
fn records(home: &KfkHome, topic: &str) -> Vec<serde_json::Value> {
    home.ok(&["consume", topic, "--from-beginning", "-e", "-o", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn find<'a>(records: &'a [serde_json::Value], value: &str) -> &'a serde_json::Value {
    records
        .iter()
        .find(|r| r["value"] == value)
        .unwrap_or_else(|| panic!("no record {value:?} in {records:?}"))
}

/// `-> partition P offset O` printed after `text` was sent.
fn ack_after(screen: &str, text: &str) -> (i64, i64) {
    let at = screen
        .find(&format!("> {text}\n"))
        .unwrap_or_else(|| panic!("{text:?} not typed:\n{screen}"));
    let line = screen[at..]
        .lines()
        .find(|l| l.starts_with("-> partition"))
        .unwrap_or_else(|| panic!("no ack after {text:?}:\n{screen}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[2].parse().unwrap(), words[4].parse().unwrap())
}

#[test]
fn the_produce_repl_sends_keys_headers_and_partitions() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "orders", "--partitions", "3"]);
    home.ok(&["topics", "create", "audit", "--partitions", "1"]);
    let t = Tmux::shell(&home);
    t.run("kfk produce orders");
    t.wait_for("orders> ", WAIT);

    t.line("plain one");
    t.wait_for("-> partition", WAIT);
    t.line(":key user-7");
    t.wait_for("key set to user-7", WAIT);
    t.line("keyed");
    t.line(":header trace=abc");
    t.wait_for("header trace=abc added", WAIT);
    t.line(":partition 2");
    t.wait_for("partition set to 2", WAIT);
    t.line("pinned");
    t.wait_until(WAIT, "the ack of 'pinned'", |s| {
        s.contains("> pinned\n") && s[s.find("> pinned\n").unwrap()..].contains("-> partition 2")
    });
    t.line(":partition 9");
    t.wait_for("has no partition 9", WAIT);
    t.line(":bogus");
    t.wait_for("unknown command :bogus", WAIT);
    // :topic completes names with Tab.
    t.text(":topic au");
    t.keys(&["Tab"]);
    t.keys(&["Enter"]);
    t.wait_for("producing to audit", WAIT);
    t.line(":headers clear");
    t.line(":key");
    t.wait_for("key cleared", WAIT);
    t.line(":acks 0");
    t.wait_for("acks set to 0", WAIT);
    t.line("fire and forget");
    t.wait_for("acks=0: no offset", WAIT);
    t.line(":acks all");
    t.line("to audit");
    t.wait_until(WAIT, "the ack of 'to audit'", |s| {
        s.find("> to audit\n")
            .is_some_and(|i| s[i..].contains("-> partition 0 offset"))
    });
    // Ctrl-C leaves, as the console producer does: the line being edited is
    // not sent, and what is typed next goes to the shell.
    t.text("discard me");
    t.keys(&["C-c"]);
    t.wait_for("[exit 0]", WAIT);
    t.run("echo typed-after-ctrl-c");
    let screen = t.wait_until(WAIT, "the shell to run the next command", |s| {
        s.matches("typed-after-ctrl-c").count() >= 2
    });

    let orders = records(&home, "orders");
    assert_eq!(orders.len(), 3, "{orders:?}");
    let plain = find(&orders, "plain one");
    assert!(plain["key"].is_null());
    let keyed = find(&orders, "keyed");
    assert_eq!(keyed["key"], "user-7");
    let pinned = find(&orders, "pinned");
    assert_eq!(pinned["key"], "user-7");
    assert_eq!(pinned["partition"], 2);
    assert_eq!(pinned["headers"][0]["key"], "trace");
    assert_eq!(pinned["headers"][0]["value"], "abc");
    // The ack line names exactly where the message landed.
    let (p, o) = ack_after(&screen, "pinned");
    assert_eq!((p, o), (2, pinned["offset"].as_i64().unwrap()));
    let (p, o) = ack_after(&screen, "keyed");
    assert_eq!(
        (p, o),
        (
            keyed["partition"].as_i64().unwrap(),
            keyed["offset"].as_i64().unwrap()
        )
    );
    let audit = records(&home, "audit");
    let values: Vec<&str> = audit.iter().filter_map(|r| r["value"].as_str()).collect();
    assert_eq!(values, ["fire and forget", "to audit"]);
    assert!(
        audit
            .iter()
            .all(|r| r["key"].is_null() && r["headers"].as_array().is_none_or(Vec::is_empty))
    );

    // History is kept per topic in the data dir.
    let history = std::fs::read_to_string(home.path().join("data/history/produce-orders")).unwrap();
    assert!(
        history.contains(":key user-7") && history.contains("pinned"),
        "{history}"
    );
}

#[test]
fn the_produce_repl_writes_transactions() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "ledger", "--partitions", "1"]);
    let t = Tmux::shell(&home);
    t.run("kfk produce ledger --transactional-id repl-tx");
    t.wait_for("ledger> ", WAIT);
    t.line("outside");
    t.wait_for("no transaction is open", WAIT);
    // The refused line comes back for editing: clear it.
    t.keys(&["C-u"]);
    t.line(":begin");
    t.wait_for("transaction started", WAIT);
    t.wait_for("ledger (txn)> ", WAIT);
    t.line("kept-1");
    t.line("kept-2");
    t.wait_until(WAIT, "two acks in the transaction", |s| {
        s.matches("visible once committed").count() >= 2
    });
    t.line(":commit");
    t.wait_for("committed 2 message(s)", WAIT);
    t.line(":begin");
    t.line("dropped");
    t.wait_until(WAIT, "the third ack", |s| {
        s.matches("visible once committed").count() >= 3
    });
    t.line(":abort");
    t.wait_for("aborted 1 message(s)", WAIT);
    t.line(":begin");
    t.line("left-open");
    t.wait_until(WAIT, "the fourth ack", |s| {
        s.matches("visible once committed").count() >= 4
    });
    // Leaving aborts the open transaction.
    t.keys(&["C-d"]);
    t.wait_for("Aborted the open transaction", WAIT);
    t.wait_for("[exit 0]", WAIT);
    let committed = home.ok(&[
        "consume",
        "ledger",
        "--isolation",
        "read_committed",
        "--from-beginning",
        "-e",
        "-q",
    ]);
    assert_eq!(
        committed.lines().collect::<Vec<_>>(),
        vec!["kept-1", "kept-2"]
    );
    let everything = home.ok(&["consume", "ledger", "--from-beginning", "-e", "-q"]);
    assert_eq!(everything.lines().count(), 4, "{everything}");
}

#[test]
fn a_failed_line_is_offered_again() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "kv"]);
    let t = Tmux::shell(&home);
    t.run("kfk produce kv --key-separator :");
    t.wait_for("kv> ", WAIT);
    t.line("no separator here");
    t.wait_for("no key separator", WAIT);
    // The line comes back: complete it into KEY:VALUE instead of retyping.
    t.keys(&["Home"]);
    t.text("k1:");
    t.keys(&["Enter"]);
    t.wait_for("-> partition 0 offset 0", WAIT);
    t.keys(&["C-d"]);
    t.wait_for("[exit 0]", WAIT);
    let got = records(&home, "kv");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["key"], "k1");
    assert_eq!(got[0]["value"], "no separator here");
}

fn count(screen: &str, needle: &str) -> usize {
    screen.matches(needle).count()
}

#[test]
fn the_consume_repl_pauses_seeks_steps_and_filters() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "events", "--partitions", "1"]);
    let input: String = (0..10).map(|i| format!("k{i}:event-{i}\n")).collect();
    home.ok_stdin(&["produce", "events", "-K", ":"], &input);

    let t = Tmux::shell(&home);
    t.run("kfk consume events -i --from-beginning");
    t.wait_for("0/9  ", WAIT);
    let s = t.screen();
    assert!(s.contains("k3: event-3"), "key and value shown:\n{s}");

    // Messages produced meanwhile stream in above the prompt.
    home.ok_stdin(&["produce", "events", "-K", ":"], "k10:event-10\n");
    t.wait_for("k10: event-10", WAIT);

    t.line("pause");
    t.wait_for("paused;", WAIT);
    t.line("seek beginning");
    t.wait_for("now at 0@0", WAIT);
    home.ok_stdin(&["produce", "events", "-K", ":"], "k11:event-11\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        count(&t.after("now at 0@0"), "event-"),
        0,
        "paused shows nothing"
    );
    t.line("next 2");
    t.wait_until(WAIT, "two messages", |_| {
        count(&t.after("next 2"), "event-") == 2
    });
    std::thread::sleep(Duration::from_millis(800));
    let after = t.after("next 2");
    assert_eq!(count(&after, "event-"), 2, "exactly two:\n{after}");
    assert!(
        after.contains("0/0  ") && after.contains("0/1  "),
        "{after}"
    );
    // One more step shows exactly the next message, 0/2.
    t.line("next");
    t.wait_until(WAIT, "one more message", |_| {
        count(&t.after("> next\n"), "event-") == 1
    });
    std::thread::sleep(Duration::from_millis(800));
    let after = t.after("> next\n");
    assert!(
        count(&after, "event-") == 1 && after.contains("0/2  ") && after.contains("event-2"),
        "exactly the third message:\n{after}"
    );

    t.line("filter value=event-[57]$");
    t.wait_for("filter value=event-[57]$", WAIT);
    t.line("seek beginning");
    t.line("resume");
    t.wait_for("resumed", WAIT);
    t.wait_until(WAIT, "the filtered stream", |_| {
        count(&t.after("resumed"), "event-") == 2
    });
    std::thread::sleep(Duration::from_millis(800));
    let after = t.after("resumed");
    assert!(
        after.contains("event-5") && after.contains("event-7") && count(&after, "event-") == 2,
        "only the matching messages:\n{after}"
    );

    t.line("lag");
    t.wait_for("total lag 0", WAIT);
    t.line("filter clear");
    t.line("format %o=%v");
    t.wait_for("format %o=%v", WAIT);
    t.line("seek -1");
    t.wait_for("11=event-11", WAIT);
    t.line("bogus");
    t.wait_for("unknown command \"bogus\"", WAIT);
    t.line("quit");
    t.wait_for("[exit 0]", WAIT);
}

#[test]
fn the_consume_repl_commits_for_its_group() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "jobs", "--partitions", "2"]);
    home.ok_stdin(&["produce", "jobs", "-p", "0"], "job-0\njob-1\njob-2\n");
    home.ok_stdin(&["produce", "jobs", "-p", "1"], "job-3\njob-4\njob-5\n");
    let t = Tmux::shell(&home);
    t.run("kfk consume jobs -i --group workers --from-beginning --commit none");
    t.wait_for("group workers: reading partitions [0, 1]", WAIT);
    t.wait_until(WAIT, "all six jobs", |s| count(s, "job-") == 6);
    t.line("lag");
    t.wait_for("COMMITTED", WAIT);
    t.line("commit");
    t.wait_for("committed 2 partition(s)", WAIT);
    t.line("quit");
    t.wait_for("[exit 0]", WAIT);
    let g = home.json(&["groups", "describe", "workers"]);
    assert_eq!(g["total_lag"], 0, "{g}");
}

#[test]
fn destructive_commands_ask_on_a_terminal() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "victim"]);
    let t = Tmux::shell(&home);

    t.run("kfk topics delete victim");
    t.wait_for("Delete topic(s) victim and all their data?", WAIT);
    t.text("n");
    let s = t.wait_for("[exit 1]", WAIT);
    assert!(s.contains("not confirmed"), "{s}");
    assert!(
        home.ok(&["topics", "list"]).contains("victim"),
        "answering n keeps it"
    );

    t.line("clear");
    t.run("kfk topics delete victim");
    t.wait_for("Delete topic(s) victim", WAIT);
    t.text("y");
    t.wait_for("[exit 0]", WAIT);
    assert!(!home.ok(&["topics", "list"]).contains("victim"));

    // Off a terminal, no --yes means no.
    home.ok(&["topics", "create", "victim2"]);
    let out = home.kfk(&["topics", "delete", "victim2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not on a terminal") && err.contains("--yes"),
        "{err}"
    );
    let out = home.kfk(&["cluster", "down", "--purge"]);
    assert!(!out.status.success(), "purge without --yes refuses");
    assert!(
        home.ok(&["topics", "list"]).contains("victim2"),
        "cluster still up"
    );
}

#[test]
fn a_topic_is_picked_when_none_is_named() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "alpha"]);
    home.ok(&["topics", "create", "bravo"]);
    home.ok_stdin(&["produce", "bravo"], "from bravo\n");
    let t = Tmux::shell(&home);
    t.run("kfk consume --from-beginning -e");
    t.wait_for("Topic", WAIT);
    t.text("brav");
    t.wait_until(WAIT, "the picker to narrow to bravo", |_| {
        let list = t.after("Topic");
        list.contains("bravo") && !list.contains("alpha")
    });
    t.keys(&["Enter"]);
    let s = t.wait_for("[exit 0]", WAIT);
    assert!(s.contains("from bravo"), "{s}");

    // Without a terminal the error lists the topics instead.
    let out = home.kfk(&["consume", "--from-beginning", "-e"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("alpha, bravo"));
}

/// Completes `words` (the last one being typed) with the bash script that
/// `kfk completion bash` prints; returns the candidates. Fails when the
/// completion takes longer than `within`.
fn bash_complete(
    home: &KfkHome,
    env: &[(&str, &str)],
    words: &[&str],
    within: Duration,
) -> Vec<String> {
    let script = format!(
        "source <(kfk completion bash) || exit 3\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_TYPE=9\n\
         _clap_complete_kfk kfk \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1
    );
    let mut cmd = std::process::Command::new(tool("bash", "bash"));
    home.env(&mut cmd);
    cmd.envs(env.iter().copied())
        .args(["--norc", "-c", &script]);
    let out = run_unchecked(&mut cmd, within);
    assert!(out.status.success(), "completion failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

const COMPLETE: Duration = Duration::from_secs(20);

#[test]
fn completion_scripts_load_and_complete_cluster_names() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "payments"]);
    home.ok(&["topics", "create", "pageviews"]);
    home.ok_stdin(&["produce", "payments"], "x\n");
    home.ok(&[
        "consume",
        "payments",
        "--group",
        "billing",
        "--from-beginning",
        "-n",
        "1",
    ]);

    let got = bash_complete(&home, &[], &["kfk", "topics", "describe", "pa"], COMPLETE);
    assert_eq!(got, ["pageviews", "payments"], "topic names");
    let got = bash_complete(&home, &[], &["kfk", "groups", "describe", "b"], COMPLETE);
    assert_eq!(got, ["billing"], "group names");
    let got = bash_complete(
        &home,
        &[],
        &["kfk", "cluster", "stop-broker", "1"],
        COMPLETE,
    );
    assert_eq!(got, ["1"], "broker ids");
    let got = bash_complete(&home, &[], &["kfk", "consume", "pay"], COMPLETE);
    assert_eq!(got, ["payments"]);
    let got = bash_complete(&home, &[], &["kfk", "to"], COMPLETE);
    assert_eq!(got, ["topics", "top"], "subcommands still complete");
    let got = bash_complete(&home, &[], &["kfk", "broker", "drain", "1"], COMPLETE);
    assert_eq!(got, ["1"], "broker ids to drain");

    // Every shell's script is produced, and zsh's loads.
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = home.ok(&["completion", shell]);
        assert!(script.contains("COMPLETE"), "{shell}: {script}");
    }
    {
        let mut cmd = std::process::Command::new(tool("zsh", "zsh"));
        home.env(&mut cmd);
        cmd.args([
            "-f",
            "-c",
            "autoload -Uz compinit && compinit -u -d $KFK_HOME/zcompdump && source <(kfk completion zsh) && whence -w _clap_dynamic_completer_kfk",
        ]);
        let out = run_unchecked(&mut cmd, Duration::from_secs(20));
        assert!(
            out.status.success(),
            "zsh could not load the script: {out:?}"
        );
        assert!(out.stderr.is_empty(), "zsh complained: {out:?}");
    }
    // zsh's protocol answers with names too.
    let mut cmd = std::process::Command::new(kfk_e2e::bin("kfk"));
    home.env(&mut cmd);
    cmd.env("COMPLETE", "zsh")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .args(["--", "kfk", "topics", "delete", "pay"]);
    let out = run_unchecked(&mut cmd, Duration::from_secs(20));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("payments"),
        "{out:?}"
    );
}

/// A "broker" that accepts connections and never answers, until dropped.
struct HungBroker {
    addr: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HungBroker {
    fn start() -> HungBroker {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((c, _)) = listener.accept() {
                    held.push(c);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        HungBroker {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HungBroker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A Tab press against a cluster that never answers still returns: the
/// broker holds every connection for the whole test, kfk's own request
/// timeout is 30 s, and the completion must finish within 10 s, so only
/// completion's own budget (300 ms, measured by `cargo bench -p kfk --bench
/// completion`) can end it.
#[test]
fn completion_never_waits_long_on_a_hung_cluster() {
    let home = KfkHome::new();
    let hung = HungBroker::start();
    let env = [("KFK_BOOTSTRAP", hung.addr.as_str())];
    let bounded = Duration::from_secs(10);

    // Nothing cached: no names, and no hang.
    let got = bash_complete(&home, &env, &["kfk", "topics", "describe", ""], bounded);
    assert!(!got.iter().any(|c| !c.starts_with('-')), "{got:?}");

    // A stale cache for this cluster is served, also without waiting.
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cache = data.join("completion-cache.json");
    std::fs::write(
        &cache,
        format!(
            r#"{{"bootstrap":"{}","topics":["cached-topic"],"groups":[],"brokers":[1]}}"#,
            hung.addr
        ),
    )
    .unwrap();
    let old = std::process::Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(&cache)
        .status()
        .unwrap();
    assert!(old.success());
    let got = bash_complete(&home, &env, &["kfk", "topics", "describe", "ca"], bounded);
    assert_eq!(got, ["cached-topic"]);
}

#[test]
fn colours_follow_the_terminal_the_flag_and_no_color() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "docs"]);
    home.ok_stdin(
        &["produce", "docs", "-K", "|"],
        "doc-1|{\"a\":1,\"b\":[true]}\n",
    );
    let fmt = [
        "consume",
        "docs",
        "--from-beginning",
        "-e",
        "--format",
        "%k %v\\n",
    ];
    // In a pipe: plain, and nothing but data on stderr (no progress, no colour).
    let out = home.kfk(&fmt);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "doc-1 {\"a\":1,\"b\":[true]}\n"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
    let forced = home.ok(&[&fmt[..], &["--color", "always"]].concat());
    assert!(
        forced.contains("\u{1b}["),
        "--color always colours: {forced:?}"
    );
    let pretty = home.ok(&[&fmt[..], &["--pretty-json"]].concat());
    assert_eq!(
        pretty,
        "doc-1 {\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}\n"
    );

    // On a terminal: coloured unless NO_COLOR is set or --color never.
    let t = Tmux::shell(&home);
    t.run("kfk consume docs --from-beginning -e");
    t.wait_for("[exit 0]", WAIT);
    t.run("clear; kfk consume docs --from-beginning -e --format '%k=%v\\n'");
    t.wait_for("[exit 0]", WAIT);
    let s = t.screen_with_colors();
    let line = s.lines().find(|l| l.contains("doc-1")).unwrap_or_default();
    assert!(
        line.contains('\u{1b}'),
        "coloured key on a terminal: {line:?}"
    );
    t.run("clear; NO_COLOR=1 kfk consume docs --from-beginning -e --format 'plain:%k=%v\\n'");
    t.wait_for("[exit 0]", WAIT);
    let s = t.screen_with_colors();
    let line = s
        .lines()
        .find(|l| l.contains("plain:") && l.contains("doc-1"))
        .unwrap_or_else(|| panic!("no output line:\n{s}"));
    assert!(!line.contains('\u{1b}'), "NO_COLOR: {line:?}");
}

/// Ctrl-C leaves the consume REPL and zk-shell too, as it leaves Kafka's
/// console consumer and zookeeper-shell; the shell gets the next line.
#[test]
fn ctrl_c_leaves_the_consume_repl_and_zk_shell() {
    let home = KfkHome::new();
    home.up();
    home.ok(&["topics", "create", "events", "--partitions", "1"]);
    let t = Tmux::shell(&home);
    t.run("kfk consume events -i --from-beginning");
    t.wait_for("Ctrl-C", WAIT);
    t.text("half a command");
    t.keys(&["C-c"]);
    t.wait_for("[exit 0]", WAIT);
    t.run("kfk zk-shell");
    t.wait_for("Ctrl-C or `quit` leaves", WAIT);
    t.keys(&["C-c"]);
    t.wait_until(WAIT, "zk-shell to exit", |s| {
        s.matches("[exit 0]").count() == 2
    });
    t.run("echo back-in-the-shell");
    t.wait_until(WAIT, "the shell", |s| {
        s.matches("back-in-the-shell").count() >= 2
    });
}
