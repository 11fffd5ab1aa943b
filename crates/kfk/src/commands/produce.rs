//! `kfk produce`: one message per input line (or per JSON line).

use std::io::{BufRead, IsTerminal};

use bytes::Bytes;
use kfk_client::{Producer, ProducerConfig};
use kfk_wire::{Compression, NewRecord};

use crate::cli::{CompressionArg, InputFormat, ProduceArgs};
use crate::commands::topics::parse_pairs;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::jsonl::{JsonRecord, decode_bytes};
use crate::output;

pub(crate) fn acks(s: &str) -> CliResult<i16> {
    match s {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        other => Err(CliError::usage(format!(
            "--acks {other} is not 0, 1 or all"
        ))),
    }
}

pub(crate) fn compression(c: CompressionArg) -> Compression {
    match c {
        CompressionArg::None => Compression::None,
        CompressionArg::Gzip => Compression::Gzip,
        CompressionArg::Snappy => Compression::Snappy,
        CompressionArg::Lz4 => Compression::Lz4,
        CompressionArg::Zstd => Compression::Zstd,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The key separator from `-K` or Kafka's `parse.key` / `key.separator` properties.
fn key_separator(args: &ProduceArgs) -> CliResult<Option<String>> {
    let props = parse_pairs(&args.properties, "--property")?;
    for k in props.keys() {
        if k != "parse.key" && k != "key.separator" {
            return Err(CliError::usage(format!("unsupported --property {k}"))
                .hint("kfk produce understands parse.key and key.separator"));
        }
    }
    if args.key_separator.is_some() {
        return Ok(args.key_separator.clone());
    }
    let parse_key = props.get("parse.key").is_some_and(|v| v == "true");
    Ok(parse_key.then(|| {
        props
            .get("key.separator")
            .cloned()
            .unwrap_or_else(|| "\t".into())
    }))
}

/// Turns one input line into a record and an optional partition.
fn record(
    line: &str,
    number: usize,
    args: &ProduceArgs,
    sep: Option<&str>,
    headers: &[(String, Option<Bytes>)],
) -> CliResult<(NewRecord, Option<i32>)> {
    match args.input {
        InputFormat::Text => {
            let (key, value) = match sep {
                Some(sep) => match line.split_once(sep) {
                    Some((k, v)) => (Some(Bytes::from(k.to_string())), v),
                    None => {
                        return Err(CliError::usage(format!(
                            "line {number} has no key separator {sep:?}"
                        )));
                    }
                },
                None => (None, line),
            };
            Ok((
                NewRecord {
                    key,
                    value: Some(Bytes::from(value.to_string())),
                    timestamp: now_ms(),
                    headers: headers.to_vec(),
                },
                args.partition,
            ))
        }
        InputFormat::Jsonl => {
            let r: JsonRecord = serde_json::from_str(line)
                .map_err(|e| CliError::usage(format!("line {number} is not a JSON record: {e}")))?;
            let mut hs = headers.to_vec();
            for h in &r.headers {
                hs.push((
                    h.key.clone(),
                    decode_bytes(&h.value, &format!("line {number} header {}", h.key))?,
                ));
            }
            Ok((
                NewRecord {
                    key: decode_bytes(&r.key, &format!("line {number} key"))?,
                    value: decode_bytes(&r.value, &format!("line {number} value"))?,
                    timestamp: r.timestamp.unwrap_or_else(now_ms),
                    headers: hs,
                },
                args.partition.or(r.partition),
            ))
        }
    }
}

/// The topic to write to: one that exists, or one the broker creates on
/// first use (`auto.create.topics.enable`), as the console producer relies on.
///
/// # Errors
/// The topic does not exist and the broker does not create topics.
pub async fn ensure_topic(client: &kfk_client::Client, topic: &str) -> CliResult {
    match client.topic(topic).await {
        Ok(_) => Ok(()),
        Err(kfk_client::ClientError::UnknownTopic(_)) => match client.auto_create(topic).await {
            Ok(_) => {
                output::status(&format!(
                    "Created topic {topic} (auto-created by the broker)."
                ));
                Ok(())
            }
            Err(kfk_client::ClientError::UnknownTopic(_)) => Err(CliError::new(format!(
                "topic '{topic}' does not exist, and the broker does not create topics on first use (auto.create.topics.enable=false)"
            ))
            .hint(format!("create it with `kfk topics create {topic}`"))),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

pub async fn run(ctx: &Ctx, args: &ProduceArgs) -> CliResult {
    let acks = acks(&args.acks)?;
    let sep = key_separator(args)?;
    let headers: Vec<(String, Option<Bytes>)> = parse_pairs(&args.headers, "--header")?
        .into_iter()
        .map(|(k, v)| (k, Some(Bytes::from(v))))
        .collect();
    let client = ctx.client().await?;
    let topic = ctx.topic(args.topic(), &client).await?;
    ensure_topic(&client, &topic).await?;
    if args.file.is_none() && args.input == InputFormat::Text && std::io::stdin().is_terminal() {
        let settings = crate::repl::produce::Settings {
            topic,
            separator: sep,
            key: None,
            partition: args.partition,
            headers,
            acks,
            compression: compression(args.compression),
        };
        return crate::repl::produce::run(ctx, client, settings).await;
    }
    let producer = Producer::new(
        client,
        ProducerConfig {
            acks,
            compression: compression(args.compression),
            ..ProducerConfig::default()
        },
    )
    .await?;
    let (input, size): (Box<dyn BufRead>, Option<u64>) = match &args.file {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(std::io::BufReader::new(file)), size)
        }
        None => (Box::new(std::io::stdin().lock()), None),
    };
    // A file's progress: bytes read and messages/s (drawn only on a terminal).
    let progress = size.map(|total| {
        crate::term::bar(
            total,
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
        )
    });
    let started = std::time::Instant::now();
    let mut unreported = 0u64;
    let mut deliveries = Vec::new();
    let mut input_error = None;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if let Some(pb) = &progress {
            unreported += line.len() as u64 + 1;
            if i % 1024 == 1023 {
                pb.inc(std::mem::take(&mut unreported));
                let rate = (i + 1) as f64 / started.elapsed().as_secs_f64().max(1e-3);
                pb.set_message(format!("{} messages, {rate:.0} msg/s", i + 1));
            }
        }
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if args.input == InputFormat::Jsonl && line.trim().is_empty() {
            continue;
        }
        match record(line, i + 1, args, sep.as_deref(), &headers) {
            Ok((rec, partition)) => deliveries.push(producer.send(&topic, partition, rec).await?),
            Err(e) => {
                input_error = Some(e);
                break;
            }
        }
    }
    producer.flush().await;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let total = deliveries.len();
    let mut failures = Vec::new();
    for d in deliveries {
        if let Err(e) = d.wait().await {
            failures.push(e.to_string());
        }
    }
    if let Some(e) = input_error {
        output::status(&format!(
            "Produced {} message(s) before the bad line.",
            total - failures.len()
        ));
        return Err(e);
    }
    if !failures.is_empty() {
        return Err(CliError::new(format!(
            "{} of {total} message(s) failed: {}",
            failures.len(),
            failures[0]
        )));
    }
    if std::io::stdout().is_terminal() {
        output::status(&format!("Produced {total} message(s) to {topic}."));
    }
    Ok(())
}
