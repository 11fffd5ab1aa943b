//! Record batch parsing and validation as the produce path and recovery run it,
//! the record walk of ListOffsets by timestamp, and the consumer's walk over
//! every record (keys, values, headers) of batches whose CRC was made to fit,
//! so the record parser sees arbitrary bytes, not only CRC failures; and a
//! topic's recompression of those batches.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// kfkd's allocator, so the target meets the input as kfkd does.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Where the CRC sits in a v2 batch, and where the bytes it covers start.
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;

fuzz_target!(|data: &[u8]| {
    for batch in kfk_wire::Batches::new(data).flatten() {
        let _ = batch.summary();
        if batch.validate().is_ok() {
            let _ = kfk_wire::record_stamps(&batch);
        }
        let mut fixed = batch.bytes().to_vec();
        if fixed.len() > CRC_FROM {
            let crc = crc32c::crc32c(&fixed[CRC_FROM..]);
            fixed[CRC_AT..CRC_FROM].copy_from_slice(&crc.to_be_bytes());
            let target = kfk_wire::TargetCodec {
                compression: kfk_wire::Compression::Zstd,
                level: 1,
            };
            let _ = kfk_wire::recompress(&fixed, target);
            let mut seen = 0usize;
            let _ = kfk_wire::for_each_record(&bytes::Bytes::from(fixed), |r| {
                seen += r.headers.len() + 1;
            });
        }
    }
});
