//! Request decoding, frame -> header -> body, for every API and version the
//! protocol defines: whatever the bytes, an error or a value, never a panic or
//! an allocation sized by the input's claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frame = bytes::Bytes::copy_from_slice(data);
    let _ = kfk_wire::frame::decode_request(frame, |api, version| {
        let range = api.valid_versions();
        (range.min..=range.max).contains(&version)
    });
});
