//! `StreamFilter` memory: bounded by the context index and the window, not
//! by how long the stream runs or how much it leaks.
//!
//! Peak memory is read from the kernel (`VmHWM` in `/proc/self/status`,
//! reset between measures through `/proc/self/clear_refs`), so it counts
//! everything the process touches, allocator slack included. This file holds
//! one test, so that no other test of the binary allocates beside it.
//! The figures for long streams: `cargo run --release -p rlm-egress
//! --example stream_memory`.
#![allow(clippy::unwrap_used)]

#[path = "support/corpus.rs"]
mod corpus;

use std::sync::Arc;

use rlm_egress::{ContextIndex, EgressFilter};

const CHUNK: usize = 64 * 1024;

fn filter() -> (EgressFilter, String) {
    let context = corpus::context_document(&mut corpus::Rng::new(11), 256 * 1024);
    let piece = corpus::mixed_output(12, 1024 * 1024, &context);
    let index = Arc::new(ContextIndex::new(context.into_bytes(), 64));
    let filter = EgressFilter::builder()
        .max_output_bytes(None)
        .context_index(index)
        .build()
        .unwrap();
    (filter, piece)
}

/// Kilobytes of `VmHWM` or `VmRSS`, whichever `field` names.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams `piece` `times` times in 64 KiB chunks, dropping what comes out
/// and taking the findings after every push; returns the growth of peak
/// memory over the resident size at the start (KiB) and the findings seen.
fn stream(filter: &EgressFilter, piece: &str, times: usize) -> Option<(u64, usize)> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let start = status_kb("VmRSS:")?;
    let mut s = filter.stream();
    let mut findings = 0;
    for _ in 0..times {
        for chunk in piece.as_bytes().chunks(CHUNK) {
            drop(s.push(chunk).unwrap());
            findings += s.take_findings().len();
        }
    }
    findings += s.finish().unwrap().findings.len();
    Some((status_kb("VmHWM:")?.saturating_sub(start), findings))
}

#[test]
fn stream_memory_does_not_grow_with_the_stream() {
    let (filter, piece) = filter();
    // The first stream warms the allocator's arenas and the rules' lazily
    // built regexes; it is not measured.
    if stream(&filter, &piece, 2).is_none() {
        eprintln!("skipped: this kernel does not let a process reset its peak memory");
        return;
    }
    let (short_kb, short_findings) = stream(&filter, &piece, 4).unwrap();
    let (long_kb, long_findings) = stream(&filter, &piece, 32).unwrap();
    eprintln!(
        "peak growth: 4 MiB stream {short_kb} KiB ({short_findings} findings), \
         32 MiB stream {long_kb} KiB ({long_findings} findings)"
    );
    assert!(long_findings >= 8 * short_findings - 8);
    // Keeping the 32 MiB stream's findings instead of taking them adds
    // about 540 KiB here (checked by leaving out `take_findings`), keeping
    // its output 32 MiB; the window and the per-window scan need the same
    // memory for both streams. Seen here: 8-16 KiB and 0 KiB.
    assert!(
        long_kb <= short_kb + 256,
        "a stream 8 times longer peaked {long_kb} KiB over its start, the short one {short_kb} KiB"
    );
}
