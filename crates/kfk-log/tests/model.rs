//! Random sequences of appends, reads, rolls, truncations and reopenings agree
//! with a plain in-memory model: a list of batches exactly as stored.

mod common;

use common::batch;
use kfk_log::{Log, LogConfig};
use kfk_wire::BatchHeader;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Records per batch, value size, batches in the request.
    Append(usize, usize, usize),
    /// Where to read (fraction of the log end offset), max bytes.
    Read(f64, usize),
    Roll,
    /// Where to truncate (fraction of the log end offset).
    Truncate(f64),
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..8, 0usize..120, 1usize..3).prop_map(|(n, v, b)| Op::Append(n, v, b)),
        4 => (0.0f64..1.0, 0usize..3000).prop_map(|(f, m)| Op::Read(f, m)),
        1 => Just(Op::Roll),
        1 => (0.0f64..1.0).prop_map(Op::Truncate),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

/// The batches of the model, as stored (offsets assigned).
#[derive(Default)]
struct Model {
    batches: Vec<Vec<u8>>,
}

impl Model {
    fn last_offset(b: &[u8]) -> i64 {
        BatchHeader::parse(b).unwrap().last_offset()
    }
    fn end(&self) -> i64 {
        self.batches.last().map_or(0, |b| Self::last_offset(b) + 1)
    }
    fn read(&self, offset: i64, max_bytes: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for b in self
            .batches
            .iter()
            .skip_while(|b| Self::last_offset(b) < offset)
        {
            if !out.is_empty() && out.len() + b.len() > max_bytes {
                break;
            }
            out.extend_from_slice(b);
        }
        out
    }
    fn truncate(&mut self, offset: i64) {
        self.batches.retain(|b| Self::last_offset(b) < offset);
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2500,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

/// The bytes a located range covers, read from its file.
fn located_bytes(located: &kfk_log::Located) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    match &located.range {
        Some(r) => {
            let mut buf = vec![0; r.len];
            r.file.read_exact_at(&mut buf, r.position).unwrap();
            buf
        }
        None => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn log_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Append(n, v, count) => {
                    let mut set = Vec::new();
                    let mut sizes = Vec::new();
                    for i in 0..count {
                        let b = batch(n, v, i as i64);
                        sizes.push(b.len());
                        set.extend(b);
                    }
                    let info = log.append(&mut set, 1).unwrap();
                    prop_assert_eq!(info.base_offset, model.end());
                    let mut pos = 0;
                    for s in sizes {
                        model.batches.push(set[pos..pos + s].to_vec());
                        pos += s;
                    }
                }
                Op::Read(f, max) => {
                    let offset = (model.end() as f64 * f) as i64;
                    let got = log.read(offset, max).unwrap();
                    // A read stops at a segment's end, so it may return a prefix of
                    // what the model holds, but never nothing before the end.
                    let want = model.read(offset, max);
                    prop_assert!(want.starts_with(&got.records));
                    prop_assert_eq!(got.records.is_empty(), offset >= model.end());
                    prop_assert_eq!(got.log_end_offset, model.end());
                    // Located instead of read: the same bytes, where they lie.
                    let located = log.locate_below(offset, max, i64::MAX).unwrap();
                    prop_assert_eq!(located_bytes(&located), got.records.to_vec());
                    prop_assert_eq!(located.log_end_offset, model.end());
                    // Below a bound in the middle: what read_below returns.
                    let bound = offset + (model.end() - offset) / 2;
                    let below = log.read_below(offset, max, bound).unwrap();
                    let located = log.locate_below(offset, max, bound).unwrap();
                    prop_assert_eq!(located_bytes(&located), below.records.to_vec());
                    if let Some(r) = &located.range {
                        let last = kfk_wire::Batches::new(&below.records)
                            .map(|b| b.unwrap().last_offset())
                            .last();
                        prop_assert_eq!(Some(r.last_offset), last);
                    }
                }
                Op::Roll => log.roll().unwrap(),
                Op::Truncate(f) => {
                    let offset = ((model.end() as f64 * f) as i64).max(1);
                    if offset < model.end() {
                        model.truncate(offset);
                        let end = log.truncate_to(offset).unwrap();
                        prop_assert_eq!(end, model.end());
                    }
                }
                Op::Reopen { clean } => {
                    if clean {
                        log.close().unwrap();
                    }
                    drop(log);
                    log = Log::open(dir.path(), config()).unwrap();
                }
            }
            prop_assert_eq!(log.log_end_offset(), model.end());
            prop_assert_eq!(log.log_start_offset(), 0);
        }
        let mut all = Vec::new();
        let mut next = 0;
        while next < model.end() {
            let chunk = log.read(next, usize::MAX).unwrap().records;
            let mut last = next;
            for b in kfk_wire::Batches::new(&chunk) {
                last = b.unwrap().last_offset();
            }
            next = last + 1;
            all.extend_from_slice(&chunk);
        }
        prop_assert_eq!(&all[..], &model.read(0, usize::MAX)[..]);
    }
}
