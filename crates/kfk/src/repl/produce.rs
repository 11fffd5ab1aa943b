//! `kfk produce` on a terminal: a prompt per topic where each line is a
//! message, `:commands` set keys, partition, headers, topic and acks, and
//! every send answers with where the message landed.

use std::sync::Arc;

use bytes::Bytes;
use console::style;
use kfk_client::{Client, Producer, ProducerConfig};
use kfk_wire::{Compression, NewRecord};

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::repl::{Input, LineReader, Words, command, history_file};

const HELP: &str = "\
Each line is a message. Commands:
  :key K          send the following messages with key K (:key alone clears it)
  :partition P    send to partition P (:partition any: by key, or sticky)
  :header k=v     add a header to the following messages
  :headers        list the headers; :headers clear removes them
  :topic T        produce to topic T instead (Tab completes names)
  :acks 0|1|all   acknowledgements to wait for
  :begin          start a transaction (with --transactional-id)
  :commit         commit it: read_committed consumers see its messages
  :abort          abort it: they never will
  :help           this text
  :quit           leave (or Ctrl-C, Ctrl-D); a line being edited is not sent
A line starting with :: sends the text after the first colon.";

/// What the following messages are sent with.
#[derive(Debug)]
pub struct Settings {
    pub topic: String,
    /// From `--key-separator`: lines are split into key and value.
    pub separator: Option<String>,
    /// The sticky key of `:key`.
    pub key: Option<String>,
    pub partition: Option<i32>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub acks: i16,
    pub compression: Compression,
    /// From `--transactional-id`: messages go in transactions.
    pub transactional_id: Option<String>,
    pub transaction_timeout: std::time::Duration,
}

fn acks_name(acks: i16) -> &'static str {
    match acks {
        0 => "0",
        1 => "1",
        _ => "all",
    }
}

struct Repl {
    client: Arc<Client>,
    producer: Producer,
    settings: Settings,
    words: Words,
    partitions: i32,
    /// Messages sent in the open transaction, when one is.
    in_txn: Option<u64>,
}

async fn producer(client: &Arc<Client>, s: &Settings) -> CliResult<Producer> {
    Ok(Producer::new(
        Arc::clone(client),
        ProducerConfig {
            acks: s.acks,
            compression: s.compression,
            transactional_id: s.transactional_id.clone(),
            transaction_timeout: s.transaction_timeout,
            ..ProducerConfig::default()
        },
    )
    .await?)
}

impl Repl {
    /// Refreshes the completion words from the cluster.
    async fn refresh_words(&mut self) {
        let topics: Vec<String> = match self.client.refresh(None).await {
            Ok(meta) => meta
                .topics
                .values()
                .filter(|t| !t.internal)
                .map(|t| t.name.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut parts = vec!["any".to_string()];
        parts.extend((0..self.partitions).map(|p| p.to_string()));
        let mut w = kfk_sync::lock(&self.words);
        w.clear();
        for c in [
            ":key", ":header", ":help", ":quit", ":begin", ":commit", ":abort",
        ] {
            w.insert(c.into(), Vec::new());
        }
        w.insert(":partition".into(), parts);
        w.insert(":headers".into(), vec!["clear".into()]);
        w.insert(":topic".into(), topics);
        w.insert(
            ":acks".into(),
            ["0", "1", "all"].iter().map(|s| s.to_string()).collect(),
        );
    }

    fn settings_line(&self) -> String {
        let s = &self.settings;
        let headers: Vec<String> = s
            .headers
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    String::from_utf8_lossy(v.as_deref().unwrap_or_default())
                )
            })
            .collect();
        format!(
            "topic {}, key {}, partition {}, headers [{}], acks {}",
            s.topic,
            s.key.as_deref().unwrap_or("none"),
            s.partition.map_or_else(|| "any".into(), |p| p.to_string()),
            headers.join(", "),
            acks_name(s.acks)
        )
    }

    /// Runs a `:command`; the answer is printed. `Ok(false)` means quit.
    async fn command(&mut self, reader: &mut LineReader, ctx: &Ctx, line: &str) -> CliResult<bool> {
        let (cmd, arg) = command(line);
        match cmd {
            ":quit" | ":q" | ":exit" => return Ok(false),
            ":help" | ":h" | ":?" => {
                println!("{HELP}");
                println!("Now: {}", self.settings_line());
            }
            ":key" => {
                self.settings.key = (!arg.is_empty()).then(|| arg.to_string());
                match &self.settings.key {
                    Some(k) => println!("key set to {k}"),
                    None => println!("key cleared"),
                }
            }
            ":partition" => {
                if arg.is_empty() || arg == "any" {
                    self.settings.partition = None;
                    println!("partition: by key, or sticky");
                } else {
                    let p: i32 = arg.parse().map_err(|_| {
                        CliError::usage(format!("partition {arg:?} is not a number"))
                    })?;
                    if !(0..self.partitions).contains(&p) {
                        return Err(CliError::usage(format!(
                            "topic {} has no partition {p} (it has {})",
                            self.settings.topic, self.partitions
                        )));
                    }
                    self.settings.partition = Some(p);
                    println!("partition set to {p}");
                }
            }
            ":header" => {
                let (k, v) = arg
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| CliError::usage("usage: :header key=value"))?;
                self.settings
                    .headers
                    .push((k.to_string(), Some(Bytes::from(v.to_string()))));
                println!("header {k}={v} added");
            }
            ":headers" => match arg {
                "" => {
                    if self.settings.headers.is_empty() {
                        println!("no headers");
                    }
                    for (k, v) in &self.settings.headers {
                        println!(
                            "{k}={}",
                            String::from_utf8_lossy(v.as_deref().unwrap_or_default())
                        );
                    }
                }
                "clear" => {
                    self.settings.headers.clear();
                    println!("headers cleared");
                }
                _ => return Err(CliError::usage("usage: :headers [clear]")),
            },
            ":topic" => {
                if arg.is_empty() {
                    println!("topic {}", self.settings.topic);
                } else {
                    let info = self.client.topic(arg).await?;
                    self.settings.topic = arg.to_string();
                    self.settings.partition = None;
                    self.partitions = info.partitions.len() as i32;
                    reader.switch_history(history_file(&ctx.home, &format!("produce-{arg}")));
                    self.refresh_words().await;
                    println!("producing to {arg} ({} partitions)", self.partitions);
                }
            }
            ":begin" | ":commit" | ":abort" if self.settings.transactional_id.is_none() => {
                return Err(
                    CliError::usage("this prompt does not write in transactions")
                        .hint("start it with `kfk produce TOPIC --transactional-id ID`"),
                );
            }
            ":begin" => {
                self.producer.begin_transaction().await?;
                self.in_txn = Some(0);
                println!("transaction started");
            }
            ":commit" | ":abort" => {
                let commit = cmd == ":commit";
                let n = self.in_txn.take().ok_or_else(|| {
                    CliError::usage("no transaction is open").hint(":begin starts one")
                })?;
                if commit {
                    self.producer.commit_transaction().await?;
                    println!("committed {n} message(s)");
                } else {
                    self.producer.abort_transaction().await?;
                    println!("aborted {n} message(s)");
                }
            }
            ":acks" if self.settings.transactional_id.is_some() => {
                return Err(CliError::usage(
                    "a transactional producer always uses acks=all",
                ));
            }
            ":acks" => {
                self.settings.acks = match arg {
                    "all" | "-1" => -1,
                    "1" => 1,
                    "0" => 0,
                    _ => return Err(CliError::usage("usage: :acks 0|1|all")),
                };
                self.producer = producer(&self.client, &self.settings).await?;
                println!("acks set to {}", acks_name(self.settings.acks));
            }
            other => {
                return Err(CliError::usage(format!("unknown command {other}"))
                    .hint("type :help for the commands, or start the line with :: to send it"));
            }
        }
        Ok(true)
    }

    /// Sends one message and waits for its acknowledgement.
    async fn send(&mut self, text: &str) -> CliResult<String> {
        if self.settings.transactional_id.is_some() && self.in_txn.is_none() {
            return Err(CliError::usage("no transaction is open")
                .hint(":begin starts one; :commit or :abort ends it"));
        }
        let s = &self.settings;
        let (key, value) = match (&s.separator, &s.key) {
            (Some(sep), sticky) => match text.split_once(sep.as_str()) {
                Some((k, v)) => (Some(k.to_string()), v),
                None => match sticky {
                    Some(k) => (Some(k.clone()), text),
                    None => {
                        return Err(CliError::usage(format!(
                            "the line has no key separator {sep:?}"
                        ))
                        .hint("write KEY{sep}VALUE, or set a key with :key K"));
                    }
                },
            },
            (None, sticky) => (sticky.clone(), text),
        };
        let record = NewRecord {
            key: key.map(Bytes::from),
            value: Some(Bytes::from(value.to_string())),
            timestamp: crate::offsets::now_ms(),
            headers: s.headers.clone(),
        };
        let delivery = self.producer.send(&s.topic, s.partition, record).await?;
        self.producer.flush().await;
        let meta = delivery.wait().await?;
        if let Some(n) = self.in_txn.as_mut() {
            *n += 1;
            return Ok(format!(
                "-> partition {} offset {} (in the transaction: visible once committed)",
                meta.partition, meta.offset
            ));
        }
        Ok(if meta.offset < 0 {
            format!("-> partition {} (acks=0: no offset)", meta.partition)
        } else {
            format!("-> partition {} offset {}", meta.partition, meta.offset)
        })
    }
}

fn print_error(e: &CliError) {
    eprintln!("{} {}", style("error:").red().bold(), e.message);
    if let Some(h) = &e.hint {
        eprintln!("{} {h}", style("hint:").dim());
    }
}

/// The produce prompt, until `:quit`, Ctrl-C or Ctrl-D.
///
/// # Errors
/// When the terminal or the first producer cannot be set up.
pub async fn run(ctx: &Ctx, client: Arc<Client>, settings: Settings) -> CliResult {
    let info = client.topic(&settings.topic).await?;
    let words = Words::default();
    let mut reader = LineReader::new(
        Arc::clone(&words),
        history_file(&ctx.home, &format!("produce-{}", settings.topic)),
    )?;
    let mut repl = Repl {
        producer: producer(&client, &settings).await?,
        client,
        settings,
        words,
        partitions: info.partitions.len() as i32,
        in_txn: None,
    };
    repl.refresh_words().await;
    crate::output::status(&format!(
        "Producing to {}: one message per line. :help lists commands; Ctrl-C or Ctrl-D quits.",
        repl.settings.topic
    ));
    let mut initial = String::new();
    let mut sent = 0u64;
    loop {
        let prompt = match repl.in_txn {
            Some(_) => format!("{} (txn)> ", repl.settings.topic),
            None => format!("{}> ", repl.settings.topic),
        };
        let line = match reader.read(prompt, std::mem::take(&mut initial)).await {
            Input::Line(l) => l,
            // Ctrl-C quits, as the console producer does; the line being
            // edited is dropped, not sent.
            Input::Interrupted | Input::Eof => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        reader.remember(&line);
        if line.starts_with(':') && !line.starts_with("::") {
            match repl.command(&mut reader, ctx, &line).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => print_error(&e),
            }
            continue;
        }
        let text = if line.starts_with("::") {
            &line[1..]
        } else {
            &line
        };
        match repl.send(text).await {
            Ok(ack) => {
                sent += 1;
                println!("{}", style(ack).green());
            }
            Err(e) => {
                print_error(&e);
                // Offer the line again, so nothing typed is lost.
                initial = line;
            }
        }
    }
    if let Some(n) = repl.in_txn {
        // Leaving does not commit what was not committed.
        repl.producer.abort_transaction().await?;
        crate::output::status(&format!(
            "Aborted the open transaction ({n} message(s) will not be read by read_committed consumers)."
        ));
    }
    crate::output::status(&format!("Produced {sent} message(s)."));
    Ok(())
}
