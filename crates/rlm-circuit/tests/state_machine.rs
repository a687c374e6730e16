//! Property tests of the breaker's state machine over random outcomes,
//! operator actions and clock moves, plus real threads racing for probes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use proptest::prelude::*;
use rlm_circuit::{BreakerPolicy, CircuitBreaker, ManualClock, Outcome, Permit, State};

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Record {
        i: usize,
        outcome: Outcome,
        slow: bool,
    },
    Drop {
        i: usize,
    },
    Advance {
        ms: u64,
    },
    ForceOpen,
    Disable,
    Reset,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Transient),
        Just(Outcome::Permanent)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Acquire),
        6 => (any::<usize>(), outcome(), prop::bool::weighted(0.1))
            .prop_map(|(i, outcome, slow)| Op::Record { i, outcome, slow }),
        1 => any::<usize>().prop_map(|i| Op::Drop { i }),
        3 => (0u64..3_000).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        1 => Just(Op::Reset),
    ]
}

fn policy() -> impl Strategy<Value = BreakerPolicy> {
    (0u32..5, 0u32..8, 1u32..4, 0.0f64..1.0).prop_map(|(threshold, window, probes, jitter)| {
        BreakerPolicy {
            failure_threshold: threshold,
            window_size: window,
            min_calls: window / 2,
            failure_rate: 0.5,
            slow_call: Some(Duration::from_millis(500)),
            open_base: Duration::from_millis(1_000),
            open_max: Duration::from_millis(4_000),
            backoff_multiplier: 2,
            jitter,
            half_open_probes: probes,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold(policy in policy(), ops in prop::collection::vec(op(), 1..120)) {
        let clock = Arc::new(ManualClock::new());
        let n = policy.half_open_probes;
        let b = CircuitBreaker::with_clock("dep", policy, clock.clone()).unwrap();
        let mut permits: Vec<Permit<'_>> = Vec::new();
        for op in ops {
            let before = b.snapshot();
            let mut probe_success = false;
            let mut permanent = false;
            match op {
                Op::Acquire => {
                    let got = b.try_acquire();
                    match before.state {
                        State::ForcedOpen => prop_assert!(got.is_err()),
                        State::Disabled | State::Closed => prop_assert!(got.is_ok()),
                        _ => {}
                    }
                    if let Ok(p) = got {
                        permits.push(p);
                    }
                }
                Op::Record { i, outcome, slow } if !permits.is_empty() => {
                    let p = permits.swap_remove(i % permits.len());
                    let elapsed = if slow { Duration::from_secs(1) } else { Duration::from_millis(10) };
                    probe_success = p.is_probe() && outcome == Outcome::Success && !slow;
                    permanent = outcome == Outcome::Permanent;
                    p.record(outcome, elapsed);
                }
                Op::Drop { i } if !permits.is_empty() => {
                    drop(permits.swap_remove(i % permits.len()));
                }
                Op::Advance { ms } => clock.advance(Duration::from_millis(ms)),
                Op::ForceOpen => b.force_open(),
                Op::Disable => b.disable(),
                Op::Reset => b.reset(),
                _ => {}
            }
            let after = b.snapshot();
            // Never more than N probes in an episode, in flight or done.
            prop_assert!(after.probes_in_flight + after.probe_successes <= n, "{after:?}");
            if after.state != State::HalfOpen {
                prop_assert_eq!(after.probes_in_flight, 0);
            }
            // Closed from half-open only on the N-th successful probe.
            if before.state == State::HalfOpen && after.state == State::Closed
                && !matches!(op, Op::Reset)
            {
                prop_assert!(probe_success, "closed without a probe success: {op:?}");
                prop_assert_eq!(before.probe_successes + 1, n);
            }
            // Permanent errors change nothing that trips.
            if permanent {
                prop_assert_eq!(after.state, before.state);
                prop_assert_eq!(after.consecutive_failures, before.consecutive_failures);
                prop_assert_eq!(after.window_failures, before.window_failures);
                prop_assert_eq!(after.trips, before.trips);
            }
            // Operator states hold until an operator changes them.
            if matches!(before.state, State::ForcedOpen | State::Disabled)
                && !matches!(op, Op::ForceOpen | Op::Disable | Op::Reset)
            {
                prop_assert_eq!(after.state, before.state);
            }
            // Open → half-open only by an acquire after the open time.
            if before.state == State::Open && after.state == State::HalfOpen {
                prop_assert!(matches!(op, Op::Acquire));
                prop_assert_eq!(before.open_remaining_ms, Some(0));
            }
        }
    }
}

/// Real threads racing for probe slots: never more than N probes held at
/// once, and the breaker closes once they all succeed.
#[test]
fn threads_never_hold_more_than_n_probes() {
    for n in 1..=3u32 {
        let clock = Arc::new(ManualClock::new());
        let b = Arc::new(
            CircuitBreaker::with_clock(
                "dep",
                BreakerPolicy {
                    failure_threshold: 1,
                    half_open_probes: n,
                    jitter: 0.0,
                    ..BreakerPolicy::default()
                },
                clock.clone(),
            )
            .unwrap(),
        );
        b.try_acquire()
            .unwrap()
            .record(Outcome::Transient, Duration::ZERO);
        clock.advance(Duration::from_secs(30));
        let held = Arc::new(AtomicU32::new(0));
        let max = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (b, held, max, barrier) =
                    (b.clone(), held.clone(), max.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..2_000 {
                        if let Ok(p) = b.try_acquire() {
                            if p.is_probe() {
                                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                                max.fetch_max(now, Ordering::SeqCst);
                                std::thread::yield_now();
                                held.fetch_sub(1, Ordering::SeqCst);
                            }
                            p.record(Outcome::Success, Duration::ZERO);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(max.load(Ordering::SeqCst) <= n);
        assert_eq!(b.state(), State::Closed);
    }
}

/// Threads recording mixed outcomes on a closed breaker (lock-free
/// successes racing locked failures) leave consistent counters, and enough
/// failures in a row still trip it.
#[test]
fn concurrent_mixed_outcomes_stay_consistent() {
    let clock = Arc::new(ManualClock::new());
    let b = Arc::new(
        CircuitBreaker::with_clock(
            "dep",
            BreakerPolicy {
                failure_threshold: 0,
                window_size: 16,
                min_calls: 16,
                failure_rate: 1.0,
                ..BreakerPolicy::default()
            },
            clock,
        )
        .expect("valid policy"),
    );
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 0..5_000u32 {
                    if let Ok(p) = b.try_acquire() {
                        let o = if (i + t) % 3 == 0 {
                            Outcome::Transient
                        } else {
                            Outcome::Success
                        };
                        p.record(o, Duration::ZERO);
                    }
                    if i % 97 == 0 {
                        let s = b.snapshot();
                        assert!(
                            s.window_calls <= 16 && s.window_failures <= s.window_calls,
                            "{s:?}"
                        );
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(b.state(), State::Closed);
    for _ in 0..16 {
        b.try_acquire()
            .expect("closed")
            .record(Outcome::Transient, Duration::ZERO);
    }
    assert_eq!(b.state(), State::Open);
}
