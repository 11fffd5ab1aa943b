//! Record batch parsing and validation as the produce path and recovery run it,
//! plus the record walk of ListOffsets by timestamp.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for batch in kfk_wire::Batches::new(data).flatten() {
        let _ = batch.summary();
        if batch.validate().is_ok() {
            let _ = kfk_wire::record_stamps(&batch);
        }
    }
});
