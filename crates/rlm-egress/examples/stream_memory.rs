//! Peak memory of `StreamFilter` over long streams: the benchmark's mixed
//! output (a planted secret every ~4 KB, a context quote every ~8 KB) with
//! its 2 MB protected context, streamed in 64 KiB chunks, with the findings
//! taken after every push and, for comparison, kept to the end.
//!
//! ```text
//! cargo run --release -p rlm-egress --example stream_memory -- [MIB ...]
//! ```
//!
//! Prints, per stream length (default 64, 512 and 4096 MiB), the growth of
//! the process's peak resident memory (`VmHWM`, reset through
//! `/proc/self/clear_refs`) over its resident size when the stream starts.
#![allow(missing_docs)]

#[path = "../tests/support/bench.rs"]
mod bench;
#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use rlm_egress::EgressFilter;

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams `mib` MiB made of copies of `piece`; returns (peak growth in KiB,
/// findings, seconds), or `None` if the stream blocked or the kernel would
/// not tell.
fn stream(
    filter: &EgressFilter,
    piece: &[u8],
    mib: usize,
    take: bool,
) -> Option<(u64, usize, f64)> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let start = status_kb("VmRSS:")?;
    let t = Instant::now();
    let mut s = filter.stream();
    let mut findings = 0;
    let mut left = mib << 20;
    while left > 0 {
        let part = &piece[..left.min(piece.len())];
        left -= part.len();
        for chunk in part.chunks(64 * 1024) {
            drop(s.push(chunk).ok()?);
            if take {
                findings += s.take_findings().len();
            }
        }
    }
    findings += s.finish().ok()?.findings.len();
    let secs = t.elapsed().as_secs_f64();
    Some((status_kb("VmHWM:")?.saturating_sub(start), findings, secs))
}

fn main() -> ExitCode {
    let mut lengths: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if lengths.is_empty() {
        lengths = vec![64, 512, 4096];
    }
    let (context, filter) = match bench::context_and_filter() {
        Ok(built) => built,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "stream_memory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let piece = corpus::mixed_output(12, 16 * 1024 * 1024, &context);
    drop(context);
    let mut out = std::io::stdout().lock();
    // Warms the allocator and the rules' lazily built regexes.
    let _ = stream(&filter, piece.as_bytes(), 16, true);
    let _ = writeln!(
        out,
        "base: resident {} KiB (input piece, context index, filter)",
        status_kb("VmRSS:").unwrap_or(0)
    );
    for take in [true, false] {
        for &mib in &lengths {
            let Some((kb, findings, secs)) = stream(&filter, piece.as_bytes(), mib, take) else {
                let _ = writeln!(
                    std::io::stderr(),
                    "stream_memory: cannot read or reset peak memory, or the stream blocked"
                );
                return ExitCode::FAILURE;
            };
            let how = if take {
                "taken after every push"
            } else {
                "kept to the end"
            };
            let _ = writeln!(
                out,
                "{mib:>5} MiB stream, findings {how}: peak +{kb} KiB, {findings} findings, {:.0} MiB/s",
                mib as f64 / secs
            );
        }
    }
    ExitCode::SUCCESS
}
