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

fn acks(s: &str) -> CliResult<i16> {
    match s {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        other => Err(CliError::usage(format!(
            "--acks {other} is not 0, 1 or all"
        ))),
    }
}

fn compression(c: CompressionArg) -> Compression {
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

pub async fn run(ctx: &Ctx, args: &ProduceArgs) -> CliResult {
    let acks = acks(&args.acks)?;
    let sep = key_separator(args)?;
    let headers: Vec<(String, Option<Bytes>)> = parse_pairs(&args.headers, "--header")?
        .into_iter()
        .map(|(k, v)| (k, Some(Bytes::from(v))))
        .collect();
    let client = ctx.client().await?;
    let topic = ctx.topic(args.topic.as_deref(), &client).await?;
    client.topic(&topic).await?;
    let producer = Producer::new(
        client,
        ProducerConfig {
            acks,
            compression: compression(args.compression),
            ..ProducerConfig::default()
        },
    )
    .await?;
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?,
        )),
        None => {
            if std::io::stdin().is_terminal() {
                output::status(&format!(
                    "Type messages for {topic}, one per line; Ctrl-D to finish."
                ));
            }
            Box::new(std::io::stdin().lock())
        }
    };
    let mut deliveries = Vec::new();
    let mut input_error = None;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
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
