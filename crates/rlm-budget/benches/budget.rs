//! Reserve + settle, alone and with two threads.

// criterion_main! generates an undocumented `main`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rlm_budget::{Budget, BudgetLimits, Money, PricingTable, Usage};

fn budget() -> Budget {
    // A limit far above what any run of the bench spends.
    Budget::new(
        BudgetLimits::unlimited()
            .with_cost(Money::from_usd(1_000_000_000))
            .with_llm_calls(u64::MAX / 2)
            .with_input_tokens(u64::MAX / 2)
            .with_output_tokens(u64::MAX / 2)
            .with_wall_time(Duration::from_secs(86_400)),
        PricingTable::builtin(),
    )
}

fn uncontended(c: &mut Criterion) {
    let b = budget();
    c.bench_function("reserve + settle", |bench| {
        bench.iter(|| {
            let r = b
                .reserve(black_box("gpt-4o-mini"), 1_000, 500)
                .expect("within limits");
            black_box(r.settle(Usage::new(900, 100)))
        })
    });
    // Without a wall-clock limit `reserve` skips its one clock read.
    let no_deadline = Budget::new(
        BudgetLimits::unlimited().with_cost(Money::from_usd(1_000_000_000)),
        PricingTable::builtin(),
    );
    c.bench_function("reserve + settle, no deadline", |bench| {
        bench.iter(|| {
            let r = no_deadline
                .reserve(black_box("gpt-4o-mini"), 1_000, 500)
                .expect("within limits");
            black_box(r.settle(Usage::new(900, 100)))
        })
    });
    c.bench_function("reserve + drop (release)", |bench| {
        bench.iter(|| {
            drop(
                b.reserve(black_box("gpt-4o-mini"), 1_000, 500)
                    .expect("within limits"),
            )
        })
    });
    let child = b
        .child(rlm_budget::ChildLimits::inherit())
        .expect("depth unlimited");
    let grandchild = child
        .child(rlm_budget::ChildLimits::inherit())
        .expect("depth unlimited");
    c.bench_function("reserve + settle at depth 2", |bench| {
        bench.iter(|| {
            let r = grandchild
                .reserve(black_box("gpt-4o-mini"), 1_000, 500)
                .expect("within limits");
            black_box(r.settle(Usage::new(900, 100)))
        })
    });
    let pricing = PricingTable::builtin();
    c.bench_function("pricing lookup, dated name", |bench| {
        bench.iter(|| pricing.lookup(black_box("gpt-4o-mini-2024-07-18")))
    });
}

fn contended(c: &mut Criterion) {
    let b = budget();
    c.bench_function("reserve + settle, 2 threads", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            let other = {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..iters {
                        let r = b.reserve("gpt-4o-mini", 1_000, 500).expect("within limits");
                        black_box(r.settle(Usage::new(900, 100)));
                    }
                })
            };
            for _ in 0..iters {
                let r = b.reserve("gpt-4o-mini", 1_000, 500).expect("within limits");
                black_box(r.settle(Usage::new(900, 100)));
            }
            let _ = other.join();
            start.elapsed()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = uncontended, contended
}
criterion_main!(benches);
