//! `kfk consume`: read a topic, by default tailing new messages.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use kfk_client::{Client, Consumer, ConsumerRecord, GroupMembership, StartOffset};

use crate::cli::{CommitMode, ConsumeArgs, OutputFormat};
use crate::commands::topics::parse_pairs;
use crate::console_format::ConsoleFormat;
use crate::consuming::{OfflineWatch, Pending, commit_new, partitions_to_read};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::{Format, Look};
use crate::jsonl::JsonRecord;
use crate::offsets::{self, Stop};
use crate::output;

/// How often a group member commits what it delivered.
const AUTO_COMMIT: Duration = Duration::from_secs(5);

/// How records are printed.
enum Printer {
    Format(Format, Look),
    Console(ConsoleFormat, Look),
    Jsonl,
    /// Collected and printed as one JSON (or YAML) document at the end.
    Document(OutputFormat, Vec<JsonRecord>),
}

fn printer(ctx: &Ctx, args: &ConsumeArgs) -> CliResult<Printer> {
    match ctx.output {
        Some(OutputFormat::Jsonl) => return Ok(Printer::Jsonl),
        Some(f @ (OutputFormat::Json | OutputFormat::Yaml)) => {
            return Ok(Printer::Document(f, Vec::new()));
        }
        _ => {}
    }
    let look = Look {
        color: crate::term::color_stdout(),
        pretty_json: args.pretty_json,
    };
    if let Some(f) = &args.format {
        return Ok(Printer::Format(Format::parse(f)?, look));
    }
    // Kafka console-consumer properties, printed as its formatter does.
    let props = parse_pairs(&args.properties, "--property")?;
    Ok(Printer::Console(
        ConsoleFormat::from_properties(&props)?,
        look,
    ))
}

fn render(printer: &mut Printer, r: &ConsumerRecord, buf: &mut Vec<u8>) -> CliResult {
    match printer {
        Printer::Format(f, look) => f.render(r, buf, *look),
        Printer::Console(f, look) => f.render(r, buf, *look),
        Printer::Jsonl => {
            let line = serde_json::to_string(&JsonRecord::from(r))
                .map_err(|e| CliError::new(e.to_string()))?;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        Printer::Document(_, all) => all.push(JsonRecord::from(r)),
    }
    Ok(())
}

/// With `--max-messages N` into a file or pipe, a bar over the N messages
/// (on stderr, when that is a terminal).
fn progress(args: &ConsumeArgs) -> Option<indicatif::ProgressBar> {
    let n = args.max_messages?;
    if std::io::stdout().is_terminal() {
        return None;
    }
    Some(crate::term::bar(
        n,
        "{spinner} [{bar:30}] {pos}/{len} messages {per_sec}",
    ))
}

fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        // The reader went away (`| head`): that is success.
        std::process::exit(0);
    }
}

/// A corrupt batch stops consuming with what to do about it.
fn corrupt_hint(e: kfk_client::ClientError) -> crate::error::CliError {
    let corrupt = matches!(e, kfk_client::ClientError::CorruptBatch { .. });
    let err = crate::error::CliError::from(e);
    if corrupt {
        err.hint("--skip-corrupt reads on after damaged batches (saying which it skipped)")
    } else {
        err
    }
}

/// Says on stderr which damaged batches `--skip-corrupt` stepped over.
fn report_skipped(consumer: &mut Consumer) {
    for e in consumer.take_skipped() {
        if let kfk_client::ClientError::CorruptBatch {
            topic,
            partition,
            offset,
            last_offset,
            ..
        } = &e
        {
            let range = match last_offset {
                Some(last) if last > offset => format!("offsets {offset}..{last}"),
                _ => format!("offset {offset}"),
            };
            // Shown even with -q: data was not delivered.
            eprintln!(
                "warning: skipped a corrupt record batch at {range} in {topic}-{partition} (data on the broker is damaged)"
            );
        }
    }
}

pub async fn run(ctx: &Ctx, args: &ConsumeArgs) -> CliResult {
    if args.interactive {
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            return Err(CliError::usage("--interactive needs a terminal")
                .hint("in scripts, use --max-messages, --exit-at-end or -o jsonl"));
        }
        if ctx.output.is_some_and(|o| o != OutputFormat::Table) {
            return Err(
                CliError::usage("--interactive prints lines, not -o documents")
                    .hint("use `format` at the prompt, or --format"),
            );
        }
    }
    let mut printer = printer(ctx, args)?;
    let spec = match (&args.offset, args.from_beginning) {
        (Some(s), _) => offsets::parse(s)?,
        (None, true) => offsets::OffsetSpec {
            start: StartOffset::Earliest,
            stop: None,
        },
        (None, false) => offsets::OffsetSpec {
            start: StartOffset::Latest,
            stop: None,
        },
    };
    let client = ctx.client().await?;
    let topic = ctx.topic(args.topic(), &client).await?;
    if args.interactive {
        if spec.stop.is_some() {
            return Err(
                CliError::usage("an offset range cannot be combined with --interactive")
                    .hint("start somewhere and use `seek` at the prompt"),
            );
        }
        let look = Look {
            color: crate::term::color_stdout(),
            pretty_json: args.pretty_json,
        };
        let opts = crate::repl::consume::Options {
            topic,
            partition: args.partition,
            start: spec.start,
            group: args.group.clone(),
            group_protocol: args.group_protocol.into(),
            commit: args.commit,
            format: args.format.as_deref().map(Format::parse).transpose()?,
            look,
            read_committed: args.isolation == crate::cli::Isolation::ReadCommitted,
        };
        return crate::repl::consume::run(ctx, client, opts).await;
    }
    if let Some(group) = &args.group {
        if spec.stop.is_some() {
            return Err(CliError::usage("an offset range cannot be combined with --group")
                .hint("a group member reads from its committed offsets; use --max-messages or --exit-at-end"));
        }
        return run_group(args, group, client, topic, spec.start, printer).await;
    }
    let info = client.topic(&topic).await?;
    let partitions = partitions_to_read(&info, &topic, args.partition)?;
    let mut consumer = Consumer::new(client);
    consumer.skip_corrupt = args.skip_corrupt;
    consumer.read_committed = args.isolation == crate::cli::Isolation::ReadCommitted;
    if args.exit_at_end {
        consumer.max_wait = Duration::from_millis(200);
    }
    let assignment: Vec<(i32, StartOffset)> = partitions.iter().map(|p| (*p, spec.start)).collect();
    consumer.assign(&topic, &assignment).await?;
    let mut open: BTreeSet<i32> = partitions.iter().copied().collect();
    let mut watch = OfflineWatch::default();
    let mut unread = Ok(());
    let mut count: u64 = 0;
    let bar = progress(args);
    let limit = args.max_messages.unwrap_or(u64::MAX);
    let mut buf = Vec::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut idle = Idle::new(args.timeout_ms);
    'outer: while count < limit && !open.is_empty() {
        let records: Vec<ConsumerRecord> = tokio::select! {
            r = consumer.poll() => r.map_err(corrupt_hint)?,
            _ = &mut ctrl_c => break 'outer,
            () = idle.over() => break 'outer,
        };
        if !records.is_empty() {
            idle.reset();
        }
        report_skipped(&mut consumer);
        for r in records {
            if !open.contains(&r.partition) {
                continue;
            }
            let past_end = match spec.stop {
                Some(Stop::Offset(end)) => r.offset >= end,
                Some(Stop::Time(end)) => r.timestamp >= end,
                None => false,
            };
            if past_end {
                open.remove(&r.partition);
                consumer.unassign(&topic, r.partition);
                continue;
            }
            render(&mut printer, &r, &mut buf)?;
            count += 1;
            if count >= limit {
                break;
            }
        }
        if !buf.is_empty() {
            write_out(&buf);
            buf.clear();
            if let Some(b) = &bar {
                b.set_position(count);
            }
        }
        if let Some(Stop::Offset(end)) = spec.stop {
            // Partitions whose position passed the range end are done even if
            // the record at the end was never seen (deleted, or a gap).
            for (_, p, next) in consumer.positions() {
                if next >= end {
                    open.remove(&p);
                    consumer.unassign(&topic, p);
                }
            }
        }
        let offline = watch.check(&consumer);
        if (args.exit_at_end || spec.stop.is_some()) && consumer.at_end_except(offline) {
            unread = watch.unread();
            break;
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Printer::Document(f, all) = printer {
        output::structured(f, &all)?;
    }
    processed(count);
    unread
}

/// `--timeout-ms`: when a consumer that has had no message for that long
/// gives up, as Kafka's console consumer does.
struct Idle {
    limit: Option<Duration>,
    deadline: tokio::time::Instant,
}

impl Idle {
    fn new(ms: Option<u64>) -> Idle {
        let limit = ms.map(Duration::from_millis);
        Idle {
            limit,
            deadline: tokio::time::Instant::now() + limit.unwrap_or_default(),
        }
    }

    /// A message came: the wait starts again.
    fn reset(&mut self) {
        if let Some(l) = self.limit {
            self.deadline = tokio::time::Instant::now() + l;
        }
    }

    /// Resolves once the wait is over; never without a limit.
    async fn over(&self) {
        match self.limit {
            Some(_) => tokio::time::sleep_until(self.deadline).await,
            None => std::future::pending().await,
        }
    }
}

/// What kafka-console-consumer says as it stops, on stderr (not with -q).
fn processed(count: u64) {
    output::status(&format!("Processed a total of {count} messages"));
}

/// [`commit_new`] for the streaming consumer: a failure is a warning.
async fn commit_delivered(
    member: &GroupMembership,
    topic: &str,
    delivered: &Pending,
    committed: &mut Pending,
    wait: bool,
) {
    if let Err(e) = commit_new(member, topic, delivered, committed, wait).await {
        output::status(&format!("warning: commit failed: {}", e.message));
    }
}

/// `kfk consume --group`: a member of a consumer group that commits exactly
/// the records it delivered.
async fn run_group(
    args: &ConsumeArgs,
    group: &str,
    client: Arc<Client>,
    topic: String,
    reset: StartOffset,
    mut printer: Printer,
) -> CliResult {
    let mode = args.commit;
    let mut member = GroupMembership::with_protocol(
        Arc::clone(&client),
        group,
        std::slice::from_ref(&topic),
        args.group_protocol.into(),
    );
    let limit = args.max_messages.unwrap_or(u64::MAX);
    let mut count: u64 = 0;
    let bar = progress(args);
    let mut delivered = Pending::new();
    let mut committed = Pending::new();
    let mut watch = OfflineWatch::default();
    let mut unread = Ok(());
    let mut buf = Vec::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut auto_commit = tokio::time::interval(AUTO_COMMIT);
    auto_commit.tick().await;
    let mut idle = Idle::new(args.timeout_ms);
    'session: while count < limit {
        let assignment = tokio::select! {
            a = member.join() => a?,
            _ = &mut ctrl_c => break 'session,
        };
        // Joining is not waiting for a message (a new group's first join
        // waits out group.initial.rebalance.delay.ms).
        idle.reset();
        let partitions: Vec<i32> = assignment.get(&topic).cloned().unwrap_or_default();
        let offsets = client.committed_offsets(group).await?;
        let mut consumer = Consumer::new(Arc::clone(&client));
        consumer.skip_corrupt = args.skip_corrupt;
        consumer.read_committed = args.isolation == crate::cli::Isolation::ReadCommitted;
        if args.exit_at_end {
            consumer.max_wait = Duration::from_millis(200);
        }
        let starts: Vec<(i32, StartOffset)> = partitions
            .iter()
            .map(|p| {
                let at = offsets.get(&(topic.clone(), *p)).copied();
                (*p, at.map_or(reset, StartOffset::Offset))
            })
            .collect();
        consumer.assign(&topic, &starts).await?;
        // Offsets of partitions this member no longer owns are not its to commit.
        delivered.retain(|p, _| partitions.contains(p));
        loop {
            report_skipped(&mut consumer);
            if member.needs_rejoin() {
                if mode != CommitMode::None {
                    commit_delivered(&member, &topic, &delivered, &mut committed, true).await;
                }
                continue 'session;
            }
            let records: Vec<ConsumerRecord> = tokio::select! {
                r = consumer.poll(), if consumer.has_assignment() => r.map_err(corrupt_hint)?,
                // Nothing assigned (more members than partitions): idle, but
                // notice rebalances.
                _ = tokio::time::sleep(Duration::from_millis(200)), if !consumer.has_assignment() => Vec::new(),
                _ = auto_commit.tick() => {
                    if mode != CommitMode::None {
                        commit_delivered(&member, &topic, &delivered, &mut committed, mode == CommitMode::Sync).await;
                    }
                    continue;
                }
                _ = &mut ctrl_c => break 'session,
                () = idle.over() => break 'session,
            };
            if !records.is_empty() {
                idle.reset();
            }
            for r in records {
                render(&mut printer, &r, &mut buf)?;
                delivered.insert(r.partition, r.offset + 1);
                count += 1;
                if count >= limit {
                    break;
                }
            }
            if !buf.is_empty() {
                write_out(&buf);
                buf.clear();
                if let Some(b) = &bar {
                    b.set_position(count);
                }
            }
            let offline = watch.check(&consumer);
            if count >= limit {
                break 'session;
            }
            if args.exit_at_end && consumer.at_end_except(offline) {
                unread = watch.unread();
                break 'session;
            }
        }
    }
    if mode != CommitMode::None {
        commit_delivered(&member, &topic, &delivered, &mut committed, true).await;
    }
    if let Err(e) = member.leave().await {
        output::status(&format!("warning: could not leave group '{group}': {e}"));
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Printer::Document(f, all) = printer {
        output::structured(f, &all)?;
    }
    processed(count);
    unread
}
