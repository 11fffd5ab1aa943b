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
use crate::line_reader::LineReader;
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

/// How input lines become records: `-K` or Kafka's reader properties.
fn line_reader(args: &ProduceArgs) -> CliResult<LineReader> {
    let props = parse_pairs(&args.properties, "--property")?;
    LineReader::from_properties(&props, args.key_separator.as_deref())
}

/// Turns one input line (bytes: text lines need not be UTF-8, as the console
/// producer treats them) into a record and an optional partition.
fn record(
    line: &[u8],
    number: usize,
    args: &ProduceArgs,
    reader: &LineReader,
    headers: &[(String, Option<Bytes>)],
) -> CliResult<(NewRecord, Option<i32>)> {
    match args.input {
        InputFormat::Text => {
            let parsed = reader.parse(line, number)?;
            let mut all = headers.to_vec();
            all.extend(parsed.headers);
            Ok((
                NewRecord {
                    key: parsed.key,
                    value: parsed.value,
                    timestamp: now_ms(),
                    headers: all,
                },
                args.partition,
            ))
        }
        InputFormat::Jsonl => {
            let r: JsonRecord = serde_json::from_slice(line)
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

/// A record that failed for good: its input line, the error, and (when they
/// are to be saved) the record and the partition it was sent to.
type Failure = (usize, String, Option<(NewRecord, Option<i32>)>);

/// The error for records that failed for good: how many, which input lines,
/// and (with `--save-failed FILE`) the records written as JSON lines that
/// `kfk produce --input jsonl -f FILE` sends again.
fn failed(
    failures: &[Failure],
    total: usize,
    topic: &str,
    save_to: Option<&std::path::Path>,
) -> CliResult<CliError> {
    const SHOWN: usize = 20;
    let lines: Vec<String> = failures
        .iter()
        .take(SHOWN)
        .map(|f| f.0.to_string())
        .collect();
    let more = if failures.len() > SHOWN {
        format!(" and {} more", failures.len() - SHOWN)
    } else {
        String::new()
    };
    let mut err = CliError::new(format!(
        "{} of {total} message(s) failed (input line(s) {}{more}): {}",
        failures.len(),
        lines.join(", "),
        failures[0].1
    ));
    match save_to {
        Some(path) => {
            let mut out = Vec::new();
            for (_, _, kept) in failures {
                if let Some((rec, partition)) = kept {
                    let json = JsonRecord {
                        topic: None,
                        partition: *partition,
                        offset: None,
                        timestamp: Some(rec.timestamp),
                        key: crate::jsonl::encode_bytes(&rec.key),
                        value: crate::jsonl::encode_bytes(&rec.value),
                        headers: rec
                            .headers
                            .iter()
                            .map(|(k, v)| crate::jsonl::Header {
                                key: k.clone(),
                                value: crate::jsonl::encode_bytes(v),
                            })
                            .collect(),
                    };
                    serde_json::to_writer(&mut out, &json)
                        .map_err(|e| CliError::new(e.to_string()))?;
                    out.push(b'\n');
                }
            }
            std::fs::write(path, out)
                .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
            err = err.hint(format!(
                "the failed messages are in {p}; send them again with `kfk produce {topic} --input jsonl -f {p}`",
                p = path.display()
            ));
        }
        None => {
            err = err.hint("--save-failed FILE keeps failed messages for `--input jsonl -f FILE`");
        }
    }
    Ok(err)
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

/// A transaction that could not commit: what was committed before it.
fn txn_error(e: kfk_client::ClientError, committed: usize, id: &Option<String>) -> CliError {
    CliError::new(format!(
        "transaction of '{}' not committed: {e}",
        id.as_deref().unwrap_or_default()
    ))
    .hint(format!(
        "{committed} message(s) of earlier transactions were committed; none of this one will be read by read_committed consumers"
    ))
}

pub async fn run(ctx: &Ctx, args: &ProduceArgs) -> CliResult {
    let acks = acks(&args.acks)?;
    let reader = line_reader(args)?;
    let headers: Vec<(String, Option<Bytes>)> = parse_pairs(&args.headers, "--header")?
        .into_iter()
        .map(|(k, v)| (k, Some(Bytes::from(v))))
        .collect();
    let client = ctx.client().await?;
    let topic = ctx.topic(args.topic(), &client).await?;
    ensure_topic(&client, &topic).await?;
    if args.file.is_none() && args.input == InputFormat::Text && std::io::stdin().is_terminal() {
        if reader.beyond_keys() {
            output::status(
                "warning: parse.headers and null.marker apply to piped input; at the prompt, :header sets headers",
            );
        }
        let settings = crate::repl::produce::Settings {
            topic,
            separator: reader.key_separator(),
            key: None,
            partition: args.partition,
            headers,
            acks,
            compression: compression(args.compression),
            transactional_id: args.transactional_id.clone(),
            transaction_timeout: args.transaction_timeout.into(),
        };
        return crate::repl::produce::run(ctx, client, settings).await;
    }
    let producer = Producer::new(
        client,
        ProducerConfig {
            acks,
            compression: compression(args.compression),
            delivery_timeout: args.delivery_timeout.into(),
            transactional_id: args.transactional_id.clone(),
            transaction_timeout: args.transaction_timeout.into(),
            ..ProducerConfig::default()
        },
    )
    .await?;
    let transactional = args.transactional_id.is_some();
    if transactional {
        producer.begin_transaction().await?;
    }
    let mut in_txn = 0u64;
    let mut committed = 0usize;
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
    // Each delivery with its input line (and the record, when failed ones
    // are to be saved for replay).
    let mut deliveries = Vec::new();
    let mut input_error = None;
    let keep_records = args.save_failed.is_some();
    for (i, line) in input.split(b'\n').enumerate() {
        let number = i + 1;
        let line = line.map_err(|e| CliError::new(format!("cannot read line {number}: {e}")))?;
        if let Some(pb) = &progress {
            unreported += line.len() as u64 + 1;
            if i % 1024 == 1023 {
                pb.inc(std::mem::take(&mut unreported));
                let rate = number as f64 / started.elapsed().as_secs_f64().max(1e-3);
                pb.set_message(format!("{number} messages, {rate:.0} msg/s"));
            }
        }
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if args.input == InputFormat::Jsonl && line.trim_ascii().is_empty() {
            continue;
        }
        match record(line, number, args, &reader, &headers) {
            Ok((rec, partition)) => {
                let kept = keep_records.then(|| (rec.clone(), partition));
                let d = producer.send(&topic, partition, rec).await?;
                deliveries.push((number, d, kept));
                in_txn += 1;
                if args.txn_size.is_some_and(|n| in_txn >= n) {
                    producer
                        .commit_transaction()
                        .await
                        .map_err(|e| txn_error(e, committed, &args.transactional_id))?;
                    committed = deliveries.len();
                    in_txn = 0;
                    producer.begin_transaction().await?;
                }
            }
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
    if transactional {
        // A bad input line aborts the transaction it was in; the ones
        // committed before stay.
        let ended = if input_error.is_some() {
            producer.abort_transaction().await
        } else {
            producer.commit_transaction().await
        };
        ended.map_err(|e| txn_error(e, committed, &args.transactional_id))?;
        if let Some(e) = input_error {
            output::status(&format!(
                "Committed {committed} message(s) before the transaction with the bad line, which was aborted."
            ));
            return Err(e);
        }
    }
    let total = deliveries.len();
    let mut failures = Vec::new();
    for (number, d, kept) in deliveries {
        if let Err(e) = d.wait().await {
            failures.push((number, e.to_string(), kept));
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
        return Err(failed(
            &failures,
            total,
            &topic,
            args.save_failed.as_deref(),
        )?);
    }
    if std::io::stdout().is_terminal() {
        output::status(&format!("Produced {total} message(s) to {topic}."));
    }
    Ok(())
}
