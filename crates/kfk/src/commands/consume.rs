//! `kfk consume`: read a topic, by default tailing new messages.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use kfk_client::{Consumer, ConsumerRecord, StartOffset};

use crate::cli::{ConsumeArgs, OutputFormat};
use crate::commands::topics::parse_pairs;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::Format;
use crate::jsonl::JsonRecord;
use crate::offsets::{self, Stop};
use crate::output;

/// How records are printed.
enum Printer {
    Format(Format),
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
    if let Some(f) = &args.format {
        return Ok(Printer::Format(Format::parse(f)?));
    }
    // Kafka console-consumer properties, where they map onto a format.
    let props = parse_pairs(&args.properties, "--property")?;
    let on = |k: &str| props.get(k).is_some_and(|v| v == "true");
    for k in props.keys() {
        if !matches!(
            k.as_str(),
            "print.key"
                | "print.value"
                | "print.partition"
                | "print.offset"
                | "print.timestamp"
                | "print.headers"
                | "key.separator"
        ) {
            return Err(CliError::usage(format!("unsupported --property {k}"))
                .hint("kfk consume understands print.key, print.value, print.partition, print.offset, print.timestamp, print.headers and key.separator; or use --format"));
        }
    }
    let sep = props
        .get("key.separator")
        .cloned()
        .unwrap_or_else(|| "\t".into());
    let mut fmt = String::new();
    for (prop, token, label) in [
        ("print.timestamp", "%T", "CreateTime:"),
        ("print.partition", "%p", "Partition:"),
        ("print.offset", "%o", "Offset:"),
        ("print.headers", "%h", ""),
        ("print.key", "%k", ""),
    ] {
        if on(prop) {
            fmt.push_str(label);
            fmt.push_str(token);
            fmt.push_str(&sep.replace('%', "%%"));
        }
    }
    if props.get("print.value").is_none_or(|v| v == "true") {
        fmt.push_str("%v");
    }
    fmt.push_str("\\n");
    Ok(Printer::Format(Format::parse(&fmt)?))
}

fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        // The reader went away (`| head`): that is success.
        std::process::exit(0);
    }
}

pub async fn run(ctx: &Ctx, args: &ConsumeArgs) -> CliResult {
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
    let topic = ctx.topic(args.topic.as_deref(), &client).await?;
    let info = client.topic(&topic).await?;
    let partitions: Vec<i32> = match args.partition {
        Some(p) => {
            if !info.partitions.iter().any(|x| x.partition == p) {
                return Err(CliError::new(format!(
                    "topic '{topic}' has no partition {p} (it has {})",
                    info.partitions.len()
                ))
                .hint(format!("see `kfk topics describe {topic}`")));
            }
            vec![p]
        }
        None => info.partitions.iter().map(|p| p.partition).collect(),
    };
    let mut consumer = Consumer::new(client);
    if args.exit_at_end {
        consumer.max_wait = Duration::from_millis(200);
    }
    let assignment: Vec<(i32, StartOffset)> = partitions.iter().map(|p| (*p, spec.start)).collect();
    consumer.assign(&topic, &assignment).await?;
    let mut open: BTreeSet<i32> = partitions.iter().copied().collect();
    let mut count: u64 = 0;
    let limit = args.max_messages.unwrap_or(u64::MAX);
    let mut buf = Vec::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    'outer: while count < limit && !open.is_empty() {
        let records: Vec<ConsumerRecord> = tokio::select! {
            r = consumer.poll() => r?,
            _ = &mut ctrl_c => break 'outer,
        };
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
            match &mut printer {
                Printer::Format(f) => f.render(&r, &mut buf),
                Printer::Jsonl => {
                    let line = serde_json::to_string(&JsonRecord::from(&r))
                        .map_err(|e| CliError::new(e.to_string()))?;
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
                Printer::Document(_, all) => all.push(JsonRecord::from(&r)),
            }
            count += 1;
            if count >= limit {
                break;
            }
        }
        if !buf.is_empty() {
            write_out(&buf);
            buf.clear();
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
        if (args.exit_at_end || spec.stop.is_some()) && consumer.at_end() {
            break;
        }
    }
    if let Printer::Document(f, all) = printer {
        output::structured(f, &all)?;
    }
    Ok(())
}
