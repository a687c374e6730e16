//! A call through a closed breaker, alone and with two threads.

// criterion_main! generates an undocumented `main`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rlm_circuit::{BreakerPolicy, CircuitBreaker, ErrorClass, Outcome, RetryPolicy};

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new("bench", BreakerPolicy::default()).expect("default policy is valid")
}

fn closed(c: &mut Criterion) {
    let b = breaker();
    c.bench_function("baseline: closure alone", |bench| {
        bench.iter(|| black_box(Ok::<u64, ()>(black_box(1))))
    });
    c.bench_function("closed: try_acquire + record", |bench| {
        bench.iter(|| {
            let p = b.try_acquire().expect("closed");
            p.record(Outcome::Success, Duration::ZERO);
        })
    });
    let classify = |_: &()| ErrorClass::Transient;
    c.bench_function("closed: call(|| ...)", |bench| {
        bench.iter(|| b.call(&classify, || Ok::<u64, ()>(black_box(1))))
    });
    let forced = breaker();
    forced.force_open();
    c.bench_function("forced open: rejection", |bench| {
        bench.iter(|| black_box(forced.try_acquire().is_err()))
    });
    let retry = RetryPolicy::default();
    let mut rng = fastrand::Rng::with_seed(1);
    c.bench_function("retry: next_delay_with", |bench| {
        bench.iter(|| retry.next_delay_with(black_box(2), None, &mut rng))
    });
}

/// Two threads hammering one closed breaker: time per call per thread.
fn contended(c: &mut Criterion) {
    let b = Arc::new(breaker());
    c.bench_function("closed: try_acquire + record, 2 threads", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            let other = {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..iters {
                        b.try_acquire()
                            .expect("closed")
                            .record(Outcome::Success, Duration::ZERO);
                    }
                })
            };
            for _ in 0..iters {
                b.try_acquire()
                    .expect("closed")
                    .record(Outcome::Success, Duration::ZERO);
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
    targets = closed, contended
}
criterion_main!(benches);
