//! The context-echo index alone: building it over a 2 MB protected context,
//! and finding echo runs in a 20 MB mixed output (the same inputs as the
//! filter benchmark).
//!
//! `cargo bench -p rlm-egress --bench context`
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/support/corpus.rs"]
mod corpus;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rlm_egress::ContextIndex;

fn bench(c: &mut Criterion) {
    let context = corpus::context_document(&mut corpus::Rng::new(11), 2 * 1024 * 1024);
    let output = corpus::mixed_output(12, 20 * 1024 * 1024, &context);
    let index = ContextIndex::new(context.as_bytes().to_vec(), 64);

    let mut g = c.benchmark_group("context");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(context.len() as u64));
    // `new` takes the context by value: the caller's copy, and freeing the
    // index afterwards, are not part of the build and are left out.
    g.bench_function("context_index_build_2MB", |b| {
        b.iter_batched(
            || context.as_bytes().to_vec(),
            |data| ContextIndex::new(black_box(data), 64),
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Bytes(output.len() as u64));
    g.bench_function("find_runs_20MB", |b| {
        b.iter(|| index.echo_runs(black_box(output.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
