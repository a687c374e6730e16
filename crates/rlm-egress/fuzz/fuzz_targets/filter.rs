//! Fuzzes the whole filter on arbitrary bytes: batch, secrets-only and
//! streaming paths must never panic, and redaction must be idempotent.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rlm_egress::EgressFilter;

fn filter() -> &'static EgressFilter {
    static F: OnceLock<EgressFilter> = OnceLock::new();
    F.get_or_init(|| {
        EgressFilter::builder()
            .max_output_bytes(Some(4096))
            .protected_context(
                "The protected document: quarterly revenue grew in every region except the north, \
                 where the new warehouse opened late and costs rose by 4.2 percent."
                    .repeat(8),
            )
            .max_context_echo(32)
            .build()
            .expect("filter builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let f = filter();
    let _ = f.scan_bytes(data);
    if let Ok(out) = f.apply_bytes(data) {
        // Only for UTF-8 input: lossy decoding of invalid bytes changes the
        // text, so the second pass would see a different input.
        if !out.truncated && std::str::from_utf8(data).is_ok() {
            let again = f.apply(&out.output).expect("redact mode");
            assert_eq!(again.output, out.output, "redaction is idempotent");
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = f.scan_secrets(s);
    }
    let mut st = f.stream();
    for (i, chunk) in data.chunks(7).enumerate() {
        let _ = st.push(chunk);
        if i % 3 == 2 {
            let _ = st.take_findings();
        }
    }
    let _ = st.finish();
});
