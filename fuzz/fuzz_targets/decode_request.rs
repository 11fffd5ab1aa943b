//! Request decoding, frame -> header -> body, for every API and version the
//! protocol defines: whatever the bytes, an error or a value, never a panic or
//! memory used by the input's claims (an array count reserves address space
//! lazily, see kfkd's allocator).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// kfkd's allocator, so the target meets the input as kfkd does.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fuzz_target!(|data: &[u8]| {
    let frame = bytes::Bytes::copy_from_slice(data);
    let _ = kfk_wire::frame::decode_request(frame, |api, version| {
        let range = api.valid_versions();
        (range.min..=range.max).contains(&version)
    });
});
