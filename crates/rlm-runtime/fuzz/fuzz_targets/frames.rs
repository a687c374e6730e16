//! Whatever a hostile sandbox writes on its channel, the host's frame
//! decoder returns frames or an error: never a panic, never unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rlm_runtime::decode_untrusted_frames(data, 1 << 16);
});
