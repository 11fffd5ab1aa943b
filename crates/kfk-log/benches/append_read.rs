//! Append 1 GiB of 16 KiB batches (100-byte records) to a log, read it back,
//! locate it for sending from the file, walk its batch headers (as a broker
//! does on start), and look up random offsets in it (segment, index entry,
//! batch).
//!
//! Compare the append figure with the machine's buffered sequential write speed
//! (`dd if=/dev/zero of=FILE bs=16k count=65536`) and the read figure with
//! page-cache bandwidth; README records both.

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kfk_log::{Log, LogConfig};
use kfk_wire::{BatchOptions, NewRecord, encode_batch};

const TOTAL: usize = 1 << 30;
const BATCH_TARGET: usize = 16 * 1024;
const RECORD_VALUE: usize = 100;

/// One ~16 KiB batch of 100-byte records, as a producer would send it.
fn batch_16k() -> Vec<u8> {
    let n = (BATCH_TARGET - 61) / (RECORD_VALUE + 10);
    let records: Vec<NewRecord> = (0..n)
        .map(|_| NewRecord::new(None::<Bytes>, vec![b'x'; RECORD_VALUE], 1_700_000_000_000))
        .collect();
    encode_batch(&records, &BatchOptions::default())
        .expect("encode")
        .to_vec()
}

/// Appends `TOTAL` bytes of batches to a fresh log; returns the time spent.
fn append_all(dir: &std::path::Path, batch: &mut [u8]) -> (Log, Duration) {
    let log = Log::open(dir, LogConfig::default()).expect("open");
    let count = TOTAL / batch.len();
    let start = Instant::now();
    for _ in 0..count {
        log.append(batch, 0).expect("append");
    }
    (log, start.elapsed())
}

fn append_read(c: &mut Criterion) {
    let mut batch = batch_16k();
    let bytes = (TOTAL / batch.len() * batch.len()) as u64;
    let mut group = c.benchmark_group("append_read");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(bytes));

    // The same bytes written with plain positional writes to a new file: what the
    // disk and page cache allow on this machine, measured under the same
    // conditions as the append (the figure `dd bs=16k` reports).
    group.bench_function("baseline_pwrite_1GiB_16KiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir_in(bench_dir()).expect("tempdir");
                let file = std::fs::File::create(dir.path().join("raw")).expect("create");
                let start = Instant::now();
                let mut pos = 0u64;
                for _ in 0..TOTAL / batch.len() {
                    file.write_all_at(&batch, pos).expect("write");
                    pos += batch.len() as u64;
                }
                total += start.elapsed();
            }
            total
        });
    });

    group.bench_function("append_1GiB_16KiB_batches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir_in(bench_dir()).expect("tempdir");
                let (log, took) = append_all(dir.path(), &mut batch);
                total += took;
                drop(log);
            }
            total
        });
    });

    let dir = tempfile::tempdir_in(bench_dir()).expect("tempdir");
    let (log, _) = append_all(dir.path(), &mut batch);
    group.bench_function("read_1GiB_1MiB_fetches", |b| {
        b.iter(|| {
            let mut offset = 0;
            let mut read = 0usize;
            let end = log.log_end_offset();
            while offset < end {
                let chunk = log.read(offset, 1 << 20).expect("read").records;
                read += chunk.len();
                let mut last = offset;
                for batch in kfk_wire::Batches::new(&chunk) {
                    last = batch.expect("batch").last_offset();
                }
                offset = last + 1;
            }
            assert_eq!(read as u64, bytes);
        });
    });
    // What a plaintext fetch does instead of reading: find where 1 MiB of
    // whole batches lies, to send it from the file.
    group.bench_function("locate_1GiB_1MiB_fetches", |b| {
        b.iter(|| {
            let mut offset = 0;
            let mut located = 0usize;
            let end = log.log_end_offset();
            while offset < end {
                let range = log
                    .locate_below(offset, 1 << 20, i64::MAX)
                    .expect("locate")
                    .range
                    .expect("batches");
                located += range.len;
                offset = range.last_offset + 1;
            }
            assert_eq!(located as u64, bytes);
        });
    });
    // What a broker does on start for the active segment: every batch
    // header, to rebuild producer state and leader epochs.
    group.bench_function("scan_headers_1GiB", |b| {
        b.iter(|| {
            let mut batches = 0usize;
            log.scan_batches(0, |_| batches += 1).expect("scan");
            assert_eq!(batches, TOTAL / batch.len());
        });
    });
    group.finish();

    // Index lookup: a consumer's first fetch at an arbitrary offset, which
    // finds the segment, then the index entry, then the batch.
    let end = log.log_end_offset();
    let mut lookups = c.benchmark_group("index_lookup");
    lookups.throughput(Throughput::Elements(1));
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    lookups.bench_function("read_at_random_offset_1GiB_log", |b| {
        b.iter(|| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let offset = (state % end as u64) as i64;
            let got = log.read(offset, 1).expect("read").records;
            assert!(!got.is_empty());
        });
    });
    lookups.finish();
}

/// Where benchmark logs live: `KFK_BENCH_DIR`, else the system temp directory.
fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("KFK_BENCH_DIR")
        .map(Into::into)
        .unwrap_or_else(std::env::temp_dir)
}

criterion_group!(benches, append_read);
criterion_main!(benches);
