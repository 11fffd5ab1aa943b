//! `kfk perf produce|consume|e2e`: throughput and latency in the shapes
//! Kafka's perf tools print, so numbers from both can sit side by side.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use kfk_client::{Consumer, GroupMembership, Producer, ProducerConfig, StartOffset};
use kfk_wire::NewRecord;
use serde::Serialize;

use crate::cli::{OutputFormat, PerfConsumeArgs, PerfE2eArgs, PerfProduceArgs};
use crate::commands::produce::{acks, compression};
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// Kafka's perf tools report every 5 s.
const REPORT_EVERY: Duration = Duration::from_secs(5);
const MB: f64 = 1024.0 * 1024.0;

/// Latencies in microseconds, 1 µs to 1 h at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).expect("hdr"))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Keeps a send loop at `rate` records/s (Kafka's ThroughputThrottler).
#[derive(Debug)]
struct Throttle {
    rate: Option<f64>,
    /// tokio's clock, so tests can run the throttle in paused time.
    start: tokio::time::Instant,
}

impl Throttle {
    fn new(rate: Option<f64>) -> Throttle {
        Throttle {
            rate,
            start: tokio::time::Instant::now(),
        }
    }

    async fn wait(&self, sent: u64) {
        let Some(rate) = self.rate else {
            return;
        };
        let due = Duration::from_secs_f64(sent as f64 / rate);
        let elapsed = self.start.elapsed();
        if due > elapsed + Duration::from_millis(1) {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}

/// Uppercase letters, as Kafka's tool fills its payloads.
fn payload(size: usize) -> Bytes {
    let mut seed: u32 = 0x9e37_79b9;
    (0..size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            b'A' + (seed % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// One report window (or the whole run) of a produce test.
#[derive(Debug, Default)]
struct Window {
    records: u64,
    bytes: u64,
    latency_sum_us: u64,
    latency_max_us: u64,
    started: Option<Instant>,
}

impl Window {
    fn add(&mut self, bytes: u64, latency_us: u64) {
        self.records += 1;
        self.bytes += bytes;
        self.latency_sum_us += latency_us;
        self.latency_max_us = self.latency_max_us.max(latency_us);
    }

    fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.records,
            self.records as f64 / secs,
            self.bytes as f64 / MB / secs,
            ms(self.latency_sum_us) / self.records.max(1) as f64,
            ms(self.latency_max_us)
        )
    }
}

#[derive(Debug, Serialize)]
struct ProduceReport {
    records: u64,
    failed: u64,
    records_per_sec: f64,
    mb_per_sec: f64,
    avg_latency_ms: f64,
    max_latency_ms: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    elapsed_ms: f64,
}

pub async fn produce(ctx: &Ctx, args: &PerfProduceArgs) -> CliResult {
    let acks = acks(&args.acks)?;
    if args.load.num_records == 0 {
        return Err(CliError::usage("--num-records must be at least 1"));
    }
    let rate = match args.throughput {
        r if r < 0 => None,
        0 => {
            return Err(CliError::usage(
                "--throughput 0 would never send; -1 means unlimited",
            ));
        }
        r => Some(r as f64),
    };
    let client = ctx.client().await?;
    // As kafka-producer-perf-test: a broker that creates topics on first
    // use creates this one.
    super::produce::ensure_topic(&client, &args.load.topic).await?;
    let config = ProducerConfig {
        acks,
        compression: compression(args.compression),
        linger: Duration::from_millis(args.linger_ms),
        batch_bytes: args.batch_size.max(1),
        transactional_id: args.transactional_id.clone(),
        ..ProducerConfig::default()
    };
    let mut producers = Vec::with_capacity(args.producers as usize);
    producers.push(Producer::new(Arc::clone(&client), config.clone()).await?);
    for _ in 1..args.producers {
        // A client of its own: its own connections to the brokers.
        producers.push(Producer::new(ctx.client().await?, config.clone()).await?);
    }
    let producer = &producers[0];
    let transactional = args.transactional_id.is_some();
    let value = payload(args.load.record_size);
    let size = args.load.record_size as u64;
    let table = ctx.format() == OutputFormat::Table;

    // Deliveries are awaited in send order by a collector task; each one's
    // latency runs from its send to the moment the producer learned its
    // batch's result, as Kafka's callback measures it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, kfk_client::Delivery)>();
    let collector = tokio::spawn(async move {
        let mut hist = histogram();
        let mut total = Window::default();
        let mut window = Window {
            started: Some(Instant::now()),
            ..Window::default()
        };
        let mut failed = 0u64;
        let mut first_error = None;
        while let Some((sent, delivery)) = rx.recv().await {
            let (result, acked) = delivery.wait_timed().await;
            let us = acked.saturating_duration_since(sent).as_micros() as u64;
            match result {
                Ok(_) => {
                    let _ = hist.record(us.max(1));
                    total.add(size, us);
                    window.add(size, us);
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
            // The ack times tell the time: no clock read per record here.
            if let Some(start) = window.started
                && acked.saturating_duration_since(start) >= REPORT_EVERY
            {
                if table {
                    output::println_safe(&window.line(acked.saturating_duration_since(start)));
                }
                window = Window {
                    started: Some(acked),
                    ..Window::default()
                };
            }
        }
        (hist, total, failed, first_error)
    });

    let started = Instant::now();
    // Record timestamps follow the monotonic clock from one wall-clock
    // reading: one clock read per record instead of two.
    let started_ms = now_ms();
    let throttle = Throttle::new(rate);
    for i in 0..args.load.num_records {
        throttle.wait(i).await;
        if transactional && i % args.txn_size == 0 {
            if i > 0 {
                producer.commit_transaction().await?;
            }
            producer.begin_transaction().await?;
        }
        let sent = Instant::now();
        let record = NewRecord {
            key: None,
            value: Some(value.clone()),
            timestamp: started_ms + sent.duration_since(started).as_millis() as i64,
            headers: Vec::new(),
        };
        let turn = &producers[(i % producers.len() as u64) as usize];
        let delivery = turn.send(&args.load.topic, None, record).await?;
        if tx.send((sent, delivery)).is_err() {
            break;
        }
    }
    if transactional {
        producer.commit_transaction().await?;
    }
    for p in &producers {
        p.flush().await;
    }
    drop(tx);
    let (hist, total, failed, first_error) = collector
        .await
        .map_err(|e| CliError::new(format!("the latency collector failed: {e}")))?;
    let elapsed = started.elapsed();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let report = ProduceReport {
        records: total.records,
        failed,
        records_per_sec: total.records as f64 / secs,
        mb_per_sec: total.bytes as f64 / MB / secs,
        avg_latency_ms: ms(total.latency_sum_us) / total.records.max(1) as f64,
        max_latency_ms: ms(total.latency_max_us),
        p50_ms: ms(hist.value_at_quantile(0.5)),
        p95_ms: ms(hist.value_at_quantile(0.95)),
        p99_ms: ms(hist.value_at_quantile(0.99)),
        p999_ms: ms(hist.value_at_quantile(0.999)),
        elapsed_ms: elapsed.as_secs_f64() * 1000.0,
    };
    output::emit(ctx.format(), &report, || {
        output::println_safe(&format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            report.records,
            report.records_per_sec,
            report.mb_per_sec,
            report.avg_latency_ms,
            report.max_latency_ms,
            report.p50_ms as u64,
            report.p95_ms as u64,
            report.p99_ms as u64,
            report.p999_ms as u64,
        ));
        Ok(())
    })?;
    match first_error {
        Some(e) => Err(CliError::new(format!("{failed} record(s) failed: {e}"))),
        None => Ok(()),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Kafka's consumer-perf-test time stamps: `yyyy-MM-dd HH:mm:ss:SSS` (UTC).
fn stamp(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_millis(t).to_string();
    // 2026-11-23T16:50:01.123Z -> 2026-11-23 16:50:01:123
    s.trim_end_matches('Z')
        .replacen('T', " ", 1)
        .replacen('.', ":", 1)
}

#[derive(Debug, Serialize)]
struct ConsumeReport {
    start_time: String,
    end_time: String,
    data_consumed_mb: f64,
    mb_per_sec: f64,
    messages: u64,
    messages_per_sec: f64,
    rebalance_time_ms: u64,
    fetch_time_ms: u64,
    fetch_mb_per_sec: f64,
    fetch_messages_per_sec: f64,
}

pub async fn consume(ctx: &Ctx, args: &PerfConsumeArgs) -> CliResult {
    let client = ctx.client().await?;
    let info = client.topic(&args.topic).await?;
    let start_wall = SystemTime::now();
    let started = Instant::now();
    let mut member = args
        .group
        .as_ref()
        .map(|g| GroupMembership::new(Arc::clone(&client), g, std::slice::from_ref(&args.topic)));
    let partitions: Vec<i32> = match member.as_mut() {
        Some(m) => m
            .join()
            .await?
            .get(&args.topic)
            .cloned()
            .unwrap_or_default(),
        None => info.partitions.iter().map(|p| p.partition).collect(),
    };
    let committed = match &args.group {
        Some(g) => client.committed_offsets(g).await?,
        None => Default::default(),
    };
    let rebalance = started.elapsed();
    let mut consumer = Consumer::new(Arc::clone(&client));
    consumer.max_wait = Duration::from_millis(100);
    consumer.read_committed = args.isolation == crate::cli::Isolation::ReadCommitted;
    consumer.partition_max_bytes = args.fetch_size;
    let starts: Vec<(i32, StartOffset)> = partitions
        .iter()
        .map(|p| {
            let at = committed.get(&(args.topic.clone(), *p)).copied();
            (*p, at.map_or(StartOffset::Earliest, StartOffset::Offset))
        })
        .collect();
    consumer.assign(&args.topic, &starts).await?;
    let fetch_started = Instant::now();
    let mut messages = 0u64;
    let mut bytes = 0u64;
    let mut last_message = Instant::now();
    let idle = Duration::from_millis(args.timeout);
    let mut delivered: std::collections::BTreeMap<i32, i64> = Default::default();
    while messages < args.messages {
        let records = consumer.poll().await?;
        if records.is_empty() {
            if last_message.elapsed() >= idle {
                output::status(&format!(
                    "Stopped after {} ms without messages, at {messages} of {}.",
                    args.timeout, args.messages
                ));
                break;
            }
            continue;
        }
        last_message = Instant::now();
        for r in records {
            messages += 1;
            bytes += r.value.as_ref().map_or(0, |v| v.len()) as u64
                + r.key.as_ref().map_or(0, |k| k.len()) as u64;
            delivered.insert(r.partition, r.offset + 1);
            if messages >= args.messages {
                break;
            }
        }
    }
    let fetch = fetch_started.elapsed();
    let total = started.elapsed();
    let end_wall = SystemTime::now();
    if let Some(m) = member.as_mut() {
        let offsets: Vec<(String, i32, i64)> = delivered
            .iter()
            .map(|(p, o)| (args.topic.clone(), *p, *o))
            .collect();
        if !offsets.is_empty() {
            m.commit(&offsets).await?;
        }
        let _ = m.leave().await;
    }
    let mb = bytes as f64 / MB;
    let per = |x: f64, d: Duration| x / d.as_secs_f64().max(1e-9);
    let report = ConsumeReport {
        start_time: stamp(start_wall),
        end_time: stamp(end_wall),
        data_consumed_mb: mb,
        mb_per_sec: per(mb, total),
        messages,
        messages_per_sec: per(messages as f64, total),
        rebalance_time_ms: rebalance.as_millis() as u64,
        fetch_time_ms: fetch.as_millis() as u64,
        fetch_mb_per_sec: per(mb, fetch),
        fetch_messages_per_sec: per(messages as f64, fetch),
    };
    output::emit(ctx.format(), &report, || {
        output::println_safe(
            "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec",
        );
        output::println_safe(&format!(
            "{}, {}, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
            report.start_time,
            report.end_time,
            report.data_consumed_mb,
            report.mb_per_sec,
            report.messages,
            report.messages_per_sec,
            report.rebalance_time_ms,
            report.fetch_time_ms,
            report.fetch_mb_per_sec,
            report.fetch_messages_per_sec
        ));
        Ok(())
    })
}

#[derive(Debug, Serialize)]
struct E2eReport {
    records: u64,
    avg_latency_ms: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_latency_ms: f64,
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

pub async fn e2e(ctx: &Ctx, args: &PerfE2eArgs) -> CliResult {
    let acks = acks(&args.acks)?;
    if args.load.record_size < 8 {
        return Err(CliError::usage(
            "--record-size must be at least 8 (the send time travels in the value)",
        ));
    }
    if args.throughput == 0 || args.load.num_records == 0 {
        return Err(CliError::usage(
            "--throughput and --num-records must be at least 1",
        ));
    }
    let client = ctx.client().await?;
    super::produce::ensure_topic(&client, &args.load.topic).await?;
    let info = client.topic(&args.load.topic).await?;
    // The consumer starts at the end before the first send, so it sees
    // exactly the records this run produces.
    let mut consumer = Consumer::new(Arc::clone(&client));
    consumer.max_wait = Duration::from_millis(20);
    let starts: Vec<(i32, StartOffset)> = info
        .partitions
        .iter()
        .map(|p| (p.partition, StartOffset::Latest))
        .collect();
    consumer.assign(&args.load.topic, &starts).await?;
    let expected = args.load.num_records;
    let reader = tokio::spawn(async move {
        let mut hist = histogram();
        let mut seen = 0u64;
        let mut last = Instant::now();
        while seen < expected && last.elapsed() < Duration::from_secs(30) {
            let records = match consumer.poll().await {
                Ok(r) => r,
                Err(e) => return Err(CliError::from(e)),
            };
            let now = micros_now();
            for r in records {
                let Some(v) = r.value.as_ref().filter(|v| v.len() >= 8) else {
                    continue;
                };
                let mut at = [0u8; 8];
                at.copy_from_slice(&v[..8]);
                let sent = u64::from_be_bytes(at);
                let _ = hist.record(now.saturating_sub(sent).max(1));
                seen += 1;
                last = Instant::now();
            }
        }
        Ok((hist, seen))
    });
    let producer = Producer::new(
        Arc::clone(&client),
        // Every record leaves at once: a batch of one byte is always full.
        ProducerConfig {
            acks,
            linger: Duration::ZERO,
            batch_bytes: 1,
            ..ProducerConfig::default()
        },
    )
    .await?;
    let throttle = Throttle::new(Some(args.throughput as f64));
    let padding = vec![0u8; args.load.record_size - 8];
    let mut deliveries = Vec::new();
    for i in 0..args.load.num_records {
        throttle.wait(i).await;
        let mut value = Vec::with_capacity(args.load.record_size);
        value.extend_from_slice(&micros_now().to_be_bytes());
        value.extend_from_slice(&padding);
        let record = NewRecord {
            key: None,
            value: Some(Bytes::from(value)),
            timestamp: now_ms(),
            headers: Vec::new(),
        };
        deliveries.push(producer.send(&args.load.topic, None, record).await?);
    }
    producer.flush().await;
    for d in deliveries {
        d.wait().await?;
    }
    let (hist, seen) = reader
        .await
        .map_err(|e| CliError::new(format!("the consumer failed: {e}")))??;
    if seen < args.load.num_records {
        return Err(CliError::new(format!(
            "only {seen} of {} records came back within 30 s",
            args.load.num_records
        )));
    }
    let report = E2eReport {
        records: seen,
        avg_latency_ms: hist.mean() / 1000.0,
        p50_ms: ms(hist.value_at_quantile(0.5)),
        p95_ms: ms(hist.value_at_quantile(0.95)),
        p99_ms: ms(hist.value_at_quantile(0.99)),
        p999_ms: ms(hist.value_at_quantile(0.999)),
        max_latency_ms: ms(hist.max()),
    };
    output::emit(ctx.format(), &report, || {
        output::println_safe(&format!(
            "{} records, {:.2} ms avg end-to-end latency, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th, {:.2} ms max.",
            report.records,
            report.avg_latency_ms,
            report.p50_ms,
            report.p95_ms,
            report.p99_ms,
            report.p999_ms,
            report.max_latency_ms
        ));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_time_stamps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(stamp(t), "2023-11-14 22:13:20:123");
    }

    /// `--throughput 2000`: the 1000th record goes out at 999/2000 s (the
    /// throttle lets a record go up to 1 ms early, and tokio's timer rounds up
    /// to whole milliseconds); the clock is tokio's paused one, so no machine
    /// is too slow or too fast for this.
    #[tokio::test(start_paused = true)]
    async fn the_throttle_holds_the_rate() {
        let throttle = Throttle::new(Some(2000.0));
        let start = tokio::time::Instant::now();
        for sent in 0..1000 {
            throttle.wait(sent).await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_micros(498_500) && took <= Duration::from_millis(501),
            "{took:?}"
        );

        let unlimited = Throttle::new(None);
        let start = tokio::time::Instant::now();
        for sent in 0..1000 {
            unlimited.wait(sent).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn payloads_are_letters() {
        let p = payload(100);
        assert_eq!(p.len(), 100);
        assert!(p.iter().all(u8::is_ascii_uppercase));
    }
}
