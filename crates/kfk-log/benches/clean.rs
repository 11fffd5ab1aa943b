//! The log cleaner's throughput: a 128 MiB log of 16 KiB producer batches
//! (100-byte values, keys drawn from 100,000) compacted in one clean, as
//! MB/s of dirty log read. Uncompressed and LZ4 batches (the cleaner
//! decompresses and recompresses the batches it rewrites).
//!
//! Each sample cleans a fresh copy of the same log; the copy is not timed.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kfk_log::cleaner::{OffsetMap, Throttle};
use kfk_log::{CleanupPolicy, Log, LogConfig, now_ms};
use kfk_wire::{BatchOptions, Compression, NewRecord, encode_batch};

const TOTAL: u64 = 128 << 20;
const KEYS: u64 = 100_000;
const PER_BATCH: usize = 140;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 32 << 20,
        cleanup_policy: CleanupPolicy {
            compact: true,
            delete: false,
        },
        ..LogConfig::default()
    }
}

/// Writes the log once; returns its size.
fn build(dir: &Path, codec: Compression) -> u64 {
    let log = Log::open(dir, config()).expect("open");
    let mut n = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    while log.size_bytes() < TOTAL {
        let records: Vec<NewRecord> = (0..PER_BATCH)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                n += 1;
                let mut value = format!("{n:020}").into_bytes();
                value.resize(100, b'v');
                NewRecord::new(
                    Some(Bytes::from(format!("key-{}", seed % KEYS))),
                    value,
                    now_ms(),
                )
            })
            .collect();
        let options = BatchOptions {
            compression: codec,
            ..BatchOptions::default()
        };
        let mut batch = encode_batch(&records, &options).expect("encode");
        log.append(&mut batch, 0).expect("append");
    }
    log.roll().expect("roll");
    log.close().expect("close");
    log.size_bytes()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

fn clean(c: &mut Criterion) {
    let mut group = c.benchmark_group("clean");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(30));
    for (name, codec) in [("none", Compression::None), ("lz4", Compression::Lz4)] {
        let fixture = tempfile::tempdir().expect("tempdir");
        let size = build(fixture.path(), codec);
        group.throughput(Throughput::Bytes(size));
        let mut reported = false;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let work = tempfile::tempdir().expect("tempdir");
                    copy_dir(fixture.path(), work.path());
                    let log = Log::open(work.path(), config()).expect("open");
                    let mut map = OffsetMap::with_buffer(64 << 20);
                    let start = Instant::now();
                    let stats = log
                        .clean(
                            &mut map,
                            &mut Throttle::new(f64::INFINITY),
                            now_ms(),
                            i64::MAX,
                        )
                        .expect("clean")
                        .expect("something to clean");
                    let took = start.elapsed();
                    spent += took;
                    assert!(stats.bytes_written < stats.bytes_read);
                    if !reported {
                        reported = true;
                        eprintln!(
                            "{name}: {} records read, {} kept, {} -> {} bytes, {:.2} M records/s",
                            stats.records_read,
                            stats.records_kept,
                            stats.bytes_read,
                            stats.bytes_written,
                            stats.records_read as f64 / took.as_secs_f64() / 1e6
                        );
                    }
                }
                spent
            });
        });
    }
    group.finish();
}

criterion_group!(benches, clean);
criterion_main!(benches);
