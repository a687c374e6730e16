//! Model replies are untrusted: the code-block and FINAL parser must accept
//! any text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rlm_orchestrator::parse::parse_reply(&text);
});
