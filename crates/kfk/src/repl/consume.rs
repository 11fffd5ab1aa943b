//! `kfk consume -i`: messages stream above a prompt where the user pauses,
//! seeks, narrows to a partition, filters, steps with `next N`, checks lag
//! and commits.
//!
//! Commands are read between fetches (each fetch waits at most
//! [`FETCH_WAIT`]), so a fetch is never cut off halfway; records fetched
//! but not shown (paused, or past `next N`) are fetched again later.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use console::style;
use kfk_client::{Client, Consumer, ConsumerRecord, GroupMembership, OffsetQuery, StartOffset};
use regex::bytes::Regex;
use rustyline::ExternalPrinter;

use crate::cli::CommitMode;
use crate::consuming::OfflineWatch;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::{self, Format, Look};
use crate::repl::{Input, LineReader, Words, command, history_file};

/// The longest a fetch waits for records, so commands are answered quickly.
const FETCH_WAIT: Duration = Duration::from_millis(200);
/// How often a group member commits what was shown.
const AUTO_COMMIT: Duration = Duration::from_secs(5);

const HELP: &str = "\
Commands:
  pause | resume            stop and restart the stream
  next [N]                  while paused, show the next N messages (default 1)
  seek beginning|end|OFFSET|-N|+N|@TIME
                            move the partitions being read (TIME: ms, RFC 3339, -5m)
  partition P|all           read only partition P, or all again
  filter key=REGEX|value=REGEX|clear
                            show only matching messages (both filters must match)
  format default|pretty|raw|FORMAT
                            the message line; pretty/raw turn JSON pretty-printing
                            on/off; FORMAT as --format (%p %o %k %v %T %h ...)
  lag                       position, end offset and lag per partition
  commit                    commit what was shown (with --group)
  help | quit               this text | leave (or Ctrl-C, Ctrl-D)";

/// What the interactive consumer starts with.
#[derive(Debug)]
pub struct Options {
    pub topic: String,
    /// Only this partition (`--partition`).
    pub partition: Option<i32>,
    pub start: StartOffset,
    pub group: Option<String>,
    pub group_protocol: kfk_client::GroupProtocol,
    pub commit: CommitMode,
    pub format: Option<Format>,
    pub look: Look,
    /// `--isolation read_committed`.
    pub read_committed: bool,
}

struct Filters {
    key: Option<Regex>,
    value: Option<Regex>,
}

impl Filters {
    fn matches(&self, r: &ConsumerRecord) -> bool {
        let ok = |re: &Option<Regex>, b: &Option<bytes::Bytes>| {
            re.as_ref()
                .is_none_or(|re| re.is_match(b.as_deref().unwrap_or_default()))
        };
        ok(&self.key, &r.key) && ok(&self.value, &r.value)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = &self.key {
            parts.push(format!("key={}", k.as_str()));
        }
        if let Some(v) = &self.value {
            parts.push(format!("value={}", v.as_str()));
        }
        if parts.is_empty() {
            "no filter".into()
        } else {
            format!("filter {}", parts.join(" and "))
        }
    }
}

struct Session {
    client: Arc<Client>,
    opts: Options,
    consumer: Consumer,
    /// The partitions this session may read: the topic's (or the one given),
    /// or the group's share.
    owned: Vec<i32>,
    /// `partition P`: only P is assigned; the others wait here at their
    /// positions.
    selected: Option<i32>,
    parked: BTreeMap<i32, i64>,
    paused: bool,
    /// Messages `next N` still has to show.
    budget: u64,
    filters: Filters,
    /// Next offset after the last record shown or skipped, per partition.
    delivered: BTreeMap<i32, i64>,
    committed: BTreeMap<i32, i64>,
    member: Option<GroupMembership>,
    printer: Box<dyn ExternalPrinter + Send>,
    words: Words,
    /// Says when a partition being read goes offline and comes back.
    offline: OfflineWatch,
}

fn fresh_consumer(client: &Arc<Client>, read_committed: bool) -> Consumer {
    let mut c = Consumer::new(Arc::clone(client));
    c.max_wait = FETCH_WAIT;
    c.read_committed = read_committed;
    c
}

impl Session {
    /// Prints above the prompt (or plainly, between prompts). Every message
    /// ends its line, or the next prompt would draw over it.
    fn say(&mut self, text: impl Into<String>) {
        let mut text = text.into();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let _ = self.printer.print(text);
    }

    fn warn(&mut self, e: &CliError) {
        let mut text = format!("{} {}", style("error:").red().bold(), e.message);
        if let Some(h) = &e.hint {
            text.push_str(&format!("\n{} {h}", style("hint:").dim()));
        }
        self.say(text);
    }

    /// Assigns `partitions` from `start`, or from the group's committed
    /// offsets where it has some.
    async fn assign_owned(&mut self, start: StartOffset) -> CliResult {
        let committed = match &self.opts.group {
            Some(g) => self.client.committed_offsets(g).await?,
            None => BTreeMap::new(),
        };
        self.consumer = fresh_consumer(&self.client, self.consumer.read_committed);
        self.parked.clear();
        let starts: Vec<(i32, StartOffset)> = self
            .owned
            .iter()
            .map(|p| {
                let at = committed.get(&(self.opts.topic.clone(), *p)).copied();
                (*p, at.map_or(start, StartOffset::Offset))
            })
            .collect();
        self.consumer.assign(&self.opts.topic, &starts).await?;
        if let Some(p) = self.selected {
            if self.owned.contains(&p) {
                self.select(Some(p)).await?;
            } else {
                self.selected = None;
            }
        }
        self.update_words();
        Ok(())
    }

    fn update_words(&self) {
        let mut parts = vec!["all".to_string()];
        parts.extend(self.owned.iter().map(i32::to_string));
        let mut w = kfk_sync::lock(&self.words);
        w.clear();
        for c in ["pause", "resume", "next", "lag", "help", "quit"] {
            w.insert(c.into(), Vec::new());
        }
        if self.member.is_some() {
            w.insert("commit".into(), Vec::new());
        }
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        w.insert("partition".into(), parts);
        w.insert("seek".into(), list(&["beginning", "end"]));
        w.insert("filter".into(), list(&["key=", "value=", "clear"]));
        w.insert("format".into(), list(&["default", "pretty", "raw"]));
    }

    /// Narrows reading to one partition (or widens it again to all owned),
    /// keeping every partition's position.
    async fn select(&mut self, only: Option<i32>) -> CliResult {
        let topic = self.opts.topic.clone();
        for (_, p, next) in self.consumer.positions() {
            self.parked.insert(p, next);
            self.consumer.unassign(&topic, p);
        }
        let wanted: Vec<i32> = match only {
            Some(p) => vec![p],
            None => self.owned.clone(),
        };
        let starts: Vec<(i32, StartOffset)> = wanted
            .iter()
            .filter_map(|p| self.parked.remove(p).map(|o| (*p, StartOffset::Offset(o))))
            .collect();
        self.consumer.assign(&topic, &starts).await?;
        self.selected = only;
        Ok(())
    }

    /// Renders what a poll returned; records not shown (paused, past the
    /// `next` budget) are fetched again: their partitions rewind.
    async fn deliver(&mut self, records: Vec<ConsumerRecord>) -> CliResult {
        let mut text = String::new();
        let mut rewind: BTreeMap<i32, i64> = BTreeMap::new();
        for r in records {
            if rewind.contains_key(&r.partition) {
                continue;
            }
            if self.paused && self.budget == 0 {
                rewind.insert(r.partition, r.offset);
                continue;
            }
            self.delivered.insert(r.partition, r.offset + 1);
            if !self.filters.matches(&r) {
                continue;
            }
            if self.paused {
                self.budget -= 1;
            }
            match &self.opts.format {
                Some(f) => {
                    let mut out = Vec::new();
                    f.render(&r, &mut out, self.opts.look);
                    text.push_str(&String::from_utf8_lossy(&out));
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                }
                None => {
                    text.push_str(&format::line(&r, self.opts.look));
                    text.push('\n');
                }
            }
        }
        for (p, o) in rewind {
            self.consumer
                .assign(&self.opts.topic, &[(p, StartOffset::Offset(o))])
                .await?;
        }
        if !text.is_empty() {
            self.say(text);
        }
        Ok(())
    }

    async fn commit(&mut self, wait: bool) -> CliResult<usize> {
        let Some(member) = &self.member else {
            return Err(CliError::usage("commit needs a group")
                .hint("start with `kfk consume TOPIC -i --group G`"));
        };
        crate::consuming::commit_new(
            member,
            &self.opts.topic,
            &self.delivered,
            &mut self.committed,
            wait,
        )
        .await
    }

    async fn lag(&mut self) -> CliResult<String> {
        let mut positions: BTreeMap<i32, i64> = self.parked.clone();
        positions.extend(
            self.consumer
                .positions()
                .into_iter()
                .map(|(_, p, o)| (p, o)),
        );
        let parts: Vec<i32> = positions.keys().copied().collect();
        let ends: BTreeMap<i32, i64> = self
            .client
            .list_offsets(&self.opts.topic, &parts, OffsetQuery::Latest)
            .await?
            .into_iter()
            .collect();
        let mut lines = vec![format!(
            "{:<10} {:>10} {:>10} {:>10}{}",
            "PARTITION",
            "POSITION",
            "END",
            "LAG",
            if self.member.is_some() {
                "  COMMITTED"
            } else {
                ""
            }
        )];
        let mut total = 0;
        for (p, pos) in &positions {
            let end = ends.get(p).copied().unwrap_or(-1);
            let lag = (end - pos).max(0);
            total += lag;
            let committed = match (&self.member, self.committed.get(p)) {
                (Some(_), Some(c)) => format!("  {c:>9}"),
                (Some(_), None) => format!("  {:>9}", "-"),
                _ => String::new(),
            };
            lines.push(format!("{p:<10} {pos:>10} {end:>10} {lag:>10}{committed}"));
        }
        lines.push(format!("total lag {total}"));
        Ok(lines.join("\n"))
    }

    async fn seek(&mut self, spec: &str) -> CliResult<String> {
        let spec = crate::offsets::parse(spec)?;
        if spec.stop.is_some() {
            return Err(CliError::usage("seek takes one position, not a range"));
        }
        let parts: Vec<(i32, StartOffset)> = self
            .consumer
            .positions()
            .into_iter()
            .map(|(_, p, _)| (p, spec.start))
            .collect();
        self.consumer.assign(&self.opts.topic, &parts).await?;
        let now: Vec<String> = self
            .consumer
            .positions()
            .into_iter()
            .map(|(_, p, o)| format!("{p}@{o}"))
            .collect();
        Ok(format!("now at {}", now.join(" ")))
    }

    /// Runs one command; `Ok(false)` means quit.
    async fn command(&mut self, line: &str) -> CliResult<bool> {
        let (cmd, arg) = command(line);
        let answer = match cmd {
            "quit" | "exit" | "q" => return Ok(false),
            "help" | "h" | "?" => HELP.to_string(),
            "pause" => {
                self.paused = true;
                self.budget = 0;
                "paused; `next N` shows N more, `resume` streams again".into()
            }
            "resume" => {
                self.paused = false;
                "resumed".into()
            }
            "next" | "n" => {
                if !self.paused {
                    return Err(CliError::usage("next works while paused").hint("type pause first"));
                }
                let n: u64 = if arg.is_empty() {
                    1
                } else {
                    arg.parse()
                        .map_err(|_| CliError::usage(format!("{arg:?} is not a count")))?
                };
                self.budget = n;
                return Ok(true);
            }
            "seek" => {
                if arg.is_empty() {
                    return Err(CliError::usage(
                        "usage: seek beginning|end|OFFSET|-N|+N|@TIME",
                    ));
                }
                self.seek(arg).await?
            }
            "partition" | "p" => match arg {
                "" => match self.selected {
                    Some(p) => format!("reading partition {p}"),
                    None => format!("reading partitions {:?}", self.owned),
                },
                "all" => {
                    self.select(None).await?;
                    format!("reading partitions {:?}", self.owned)
                }
                p => {
                    let p: i32 = p
                        .parse()
                        .map_err(|_| CliError::usage(format!("{p:?} is not a partition")))?;
                    if !self.owned.contains(&p) {
                        return Err(CliError::usage(format!(
                            "partition {p} is not among {:?}",
                            self.owned
                        )));
                    }
                    self.select(Some(p)).await?;
                    format!("reading partition {p} only")
                }
            },
            "filter" => {
                match arg {
                    "" => {}
                    "clear" => {
                        self.filters.key = None;
                        self.filters.value = None;
                    }
                    _ => {
                        let (field, re) = arg.split_once('=').ok_or_else(|| {
                            CliError::usage("usage: filter key=REGEX | value=REGEX | clear")
                        })?;
                        let re = Regex::new(re)
                            .map_err(|e| CliError::usage(format!("bad regular expression: {e}")))?;
                        match field {
                            "key" => self.filters.key = Some(re),
                            "value" => self.filters.value = Some(re),
                            _ => {
                                return Err(CliError::usage(
                                    "usage: filter key=REGEX | value=REGEX | clear",
                                ));
                            }
                        }
                    }
                }
                self.filters.describe()
            }
            "format" => match arg {
                "" => format!(
                    "format {}, JSON values {}",
                    if self.opts.format.is_some() {
                        "custom"
                    } else {
                        "default"
                    },
                    if self.opts.look.pretty_json {
                        "pretty"
                    } else {
                        "raw"
                    }
                ),
                "default" => {
                    self.opts.format = None;
                    "format default".into()
                }
                "pretty" | "json" => {
                    self.opts.look.pretty_json = true;
                    "JSON values pretty-printed".into()
                }
                "raw" => {
                    self.opts.look.pretty_json = false;
                    "JSON values as sent".into()
                }
                f => {
                    self.opts.format = Some(Format::parse(f)?);
                    format!("format {f}")
                }
            },
            "lag" => self.lag().await?,
            "commit" => match self.commit(true).await? {
                0 => "nothing new to commit".into(),
                n => format!("committed {n} partition(s)"),
            },
            "" => return Ok(true),
            other => {
                return Err(CliError::usage(format!("unknown command {other:?}"))
                    .hint("type help for the commands"));
            }
        };
        self.say(answer);
        Ok(true)
    }

    /// Joins (or rejoins) the group and reads its share.
    async fn join(&mut self) -> CliResult {
        let Some(member) = self.member.as_mut() else {
            return Ok(());
        };
        let assignment = member.join().await?;
        self.owned = assignment
            .get(&self.opts.topic)
            .cloned()
            .unwrap_or_default();
        self.delivered.retain(|p, _| self.owned.contains(p));
        let owned = self.owned.clone();
        self.assign_owned(self.opts.start).await?;
        self.say(format!(
            "group {}: reading partitions {owned:?}",
            self.opts.group.as_deref().unwrap_or_default()
        ));
        Ok(())
    }
}

fn prompt(s: &Session) -> String {
    let state = if s.paused { "paused" } else { "live" };
    format!("{} [{state}]> ", s.opts.topic)
}

/// The interactive consumer, until `quit`, Ctrl-C or Ctrl-D.
///
/// # Errors
/// When the terminal or the first assignment cannot be set up.
pub async fn run(ctx: &Ctx, client: Arc<Client>, opts: Options) -> CliResult {
    let info = client.topic(&opts.topic).await?;
    let owned = crate::consuming::partitions_to_read(&info, &opts.topic, opts.partition)?;
    let words = Words::default();
    let mut reader = LineReader::new(Arc::clone(&words), history_file(&ctx.home, "consume"))?;
    let printer = reader.printer()?;
    let member = opts.group.as_ref().map(|g| {
        GroupMembership::with_protocol(
            Arc::clone(&client),
            g,
            std::slice::from_ref(&opts.topic),
            opts.group_protocol,
        )
    });
    let mut s = Session {
        consumer: fresh_consumer(&client, opts.read_committed),
        client,
        owned,
        selected: None,
        parked: BTreeMap::new(),
        paused: false,
        budget: 0,
        filters: Filters {
            key: None,
            value: None,
        },
        delivered: BTreeMap::new(),
        committed: BTreeMap::new(),
        member,
        printer,
        offline: OfflineWatch::default(),
        words,
        opts,
    };
    if s.member.is_some() {
        s.say(format!(
            "Joining group {}...",
            s.opts.group.as_deref().unwrap_or_default()
        ));
        s.join().await?;
    } else {
        s.assign_owned(s.opts.start).await?;
    }
    s.say(format!(
        "Consuming {}: type `help` for commands, `quit`, Ctrl-C or Ctrl-D to leave.",
        s.opts.topic
    ));
    let mut last_commit = Instant::now();
    loop {
        reader.start(prompt(&s), String::new());
        if reader.ready() {
            match reader.next().await {
                Input::Line(line) => {
                    reader.remember(&line);
                    match s.command(&line).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => s.warn(&e),
                    }
                }
                // Ctrl-C stops reading, as the console consumer does.
                Input::Interrupted | Input::Eof => break,
            }
            continue;
        }
        if s.member.as_ref().is_some_and(GroupMembership::needs_rejoin) {
            if s.opts.commit != CommitMode::None
                && let Err(e) = s.commit(true).await
            {
                s.warn(&e);
            }
            if let Err(e) = s.join().await {
                s.warn(&e);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            continue;
        }
        if s.member.is_some()
            && s.opts.commit != CommitMode::None
            && last_commit.elapsed() >= AUTO_COMMIT
        {
            last_commit = Instant::now();
            if let Err(e) = s.commit(s.opts.commit == CommitMode::Sync).await {
                s.warn(&e);
            }
        }
        if (s.paused && s.budget == 0) || !s.consumer.has_assignment() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        match s.consumer.poll().await {
            Ok(records) => {
                if let Err(e) = s.deliver(records).await {
                    s.warn(&e);
                }
                for note in s.offline.update(&s.consumer) {
                    s.say(style(note).yellow().to_string());
                }
            }
            Err(e) => {
                s.warn(&e.into());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    drop(reader);
    if s.member.is_some() {
        if s.opts.commit != CommitMode::None
            && let Err(e) = s.commit(true).await
        {
            crate::output::status(&format!("warning: final commit failed: {}", e.message));
        }
        if let Some(mut m) = s.member.take() {
            let _ = m.leave().await;
        }
    }
    Ok(())
}
