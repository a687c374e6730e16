//! Times `apply` on the benchmark's 20 MB mixed output with a 2 MB protected
//! context, and prints a hash of the redacted output and of the findings.
//!
//! For comparing two builds on a machine whose speed swings from minute to
//! minute (criterion's medians cannot tell a code change from the swing):
//! build this example at each commit, then alternate the binaries, and check
//! that both print the same hashes.
//!
//! ```text
//! cargo run --release -p rlm-egress --example throughput -- [ROUNDS] [CALLS]
//! ```
//!
//! Each round times `CALLS` calls (default 4) and keeps the fastest; the
//! fastest and the median round are printed.
#![allow(missing_docs)]

#[path = "../tests/support/bench.rs"]
mod bench;
#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let (rounds, calls) = (arg(1, 5).max(1), arg(2, 4).max(1));
    let (context, filter) = match bench::context_and_filter() {
        Ok(built) => built,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "throughput: {e}");
            return ExitCode::FAILURE;
        }
    };
    let output = corpus::mixed_output(12, 20 * 1024 * 1024, &context);
    let mut best_of_round = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let mut best = f64::MAX;
        for _ in 0..calls {
            let t = Instant::now();
            let r = filter.apply(&output);
            best = best.min(t.elapsed().as_secs_f64());
            last = Some(r);
        }
        best_of_round.push(best);
    }
    let filtered = match last {
        Some(Ok(f)) => f,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "throughput: the filter blocked the output (it runs in redact mode)"
            );
            return ExitCode::FAILURE;
        }
    };
    best_of_round.sort_by(f64::total_cmp);
    let mb = output.len() as f64 / 1e6;
    let (fastest, median) = (best_of_round[0], best_of_round[rounds / 2]);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head -1`) is not an error worth a panic here.
    let _ = writeln!(
        stdout,
        "apply, {mb:.1} MB: fastest round {:.1} ms ({:.0} MB/s), median round {:.1} ms ({:.0} MB/s)",
        fastest * 1e3,
        mb / fastest,
        median * 1e3,
        mb / median,
    );
    let mut out_hash = DefaultHasher::new();
    filtered.output.hash(&mut out_hash);
    let mut findings_hash = DefaultHasher::new();
    for f in &filtered.findings {
        (f.detector, f.rule, f.span.start, f.span.end).hash(&mut findings_hash);
    }
    let _ = writeln!(
        stdout,
        "output {:016x}, {} findings {:016x}",
        out_hash.finish(),
        filtered.findings.len(),
        findings_hash.finish()
    );
    ExitCode::SUCCESS
}
