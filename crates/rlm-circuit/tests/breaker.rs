//! Deterministic breaker, retry and registry tests on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use rlm_circuit::{
    http_status_class, BreakerPolicy, BreakerRegistry, CallError, CircuitBreaker, ErrorClass,
    GiveUp, Jitter, ManualClock, Outcome, Rejected, Retry, RetryError, RetryPolicy, State,
    TripReason, WithRetryAfter,
};

const MS: Duration = Duration::from_millis(1);

fn policy() -> BreakerPolicy {
    BreakerPolicy {
        failure_threshold: 3,
        window_size: 10,
        min_calls: 6,
        failure_rate: 0.5,
        slow_call: Some(Duration::from_secs(2)),
        open_base: Duration::from_secs(10),
        open_max: Duration::from_secs(60),
        backoff_multiplier: 2,
        jitter: 0.0,
        half_open_probes: 2,
    }
}

fn breaker(p: BreakerPolicy) -> (Arc<ManualClock>, CircuitBreaker) {
    let clock = Arc::new(ManualClock::new());
    let b = CircuitBreaker::with_clock("llm", p, clock.clone()).expect("valid policy");
    (clock, b)
}

fn fail(b: &CircuitBreaker) {
    b.try_acquire()
        .expect("admitted")
        .record(Outcome::Transient, MS);
}

fn ok(b: &CircuitBreaker) {
    b.try_acquire()
        .expect("admitted")
        .record(Outcome::Success, MS);
}

#[test]
fn consecutive_failures_trip() {
    let (_, b) = breaker(policy());
    fail(&b);
    fail(&b);
    ok(&b); // resets the run
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    let err = b.try_acquire().unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(10)));
    let msg = err.to_string();
    assert!(msg.contains("3 consecutive failures"), "{msg}");
    assert!(msg.contains("RLM_CIRCUIT_LLM_RECOVERY_TIMEOUT"), "{msg}");
}

#[test]
fn failure_rate_trips_after_min_calls() {
    let (_, b) = breaker(BreakerPolicy {
        failure_threshold: 0,
        ..policy()
    });
    // F S F S F: 3 of 5 but fewer than min_calls.
    for i in 0..5 {
        if i % 2 == 0 {
            fail(&b)
        } else {
            ok(&b)
        }
    }
    assert_eq!(b.state(), State::Closed);
    fail(&b); // 4 of 6
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        b.snapshot().last_trip,
        Some(TripReason::FailureRate {
            failures: 4,
            calls: 6
        })
    );
}

#[test]
fn window_slides() {
    let (_, b) = breaker(BreakerPolicy {
        failure_threshold: 0,
        window_size: 4,
        min_calls: 4,
        failure_rate: 0.75,
        ..policy()
    });
    fail(&b);
    fail(&b);
    ok(&b);
    ok(&b); // 2/4
    fail(&b); // oldest F leaves: F S S F = 2/4
    assert_eq!(b.state(), State::Closed);
    let s = b.snapshot();
    assert_eq!((s.window_calls, s.window_failures), (4, 2));
    fail(&b); // S S F F
    fail(&b); // S F F F = 3/4
    assert_eq!(b.state(), State::Open);
}

#[test]
fn slow_success_counts_as_failure() {
    let (_, b) = breaker(policy());
    for _ in 0..3 {
        b.try_acquire()
            .unwrap()
            .record(Outcome::Success, Duration::from_secs(3));
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn permanent_errors_never_trip() {
    let (_, b) = breaker(policy());
    for _ in 0..100 {
        b.try_acquire().unwrap().record(Outcome::Permanent, MS);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().window_calls, 0);
}

#[test]
fn half_open_admits_bounded_probes_and_closes_on_their_success() {
    let (clock, b) = breaker(policy());
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(10));
    let p1 = b.try_acquire().unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    let p2 = b.try_acquire().unwrap();
    assert!(p1.is_probe() && p2.is_probe());
    assert!(matches!(
        b.try_acquire().unwrap_err(),
        Rejected::ProbesBusy { probes: 2, .. }
    ));
    p1.record(Outcome::Success, MS);
    assert_eq!(b.state(), State::HalfOpen);
    // A finished probe's slot is not handed out again.
    assert!(b.try_acquire().is_err());
    p2.record(Outcome::Success, MS);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn failed_probe_reopens_with_longer_backoff() {
    let (clock, b) = breaker(policy());
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(10));
    fail(&b); // the probe
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(20))
    );
    clock.advance(Duration::from_secs(20));
    fail(&b);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(40))
    );
    clock.advance(Duration::from_secs(40));
    fail(&b);
    // Capped at open_max.
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(60))
    );
    clock.advance(Duration::from_secs(60));
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().trips, 0);
}

#[test]
fn jitter_shortens_open_time_within_bounds() {
    let (_, b) = breaker(BreakerPolicy {
        jitter: 0.5,
        ..policy()
    });
    b.seed(42);
    for _ in 0..3 {
        fail(&b);
    }
    let d = b.try_acquire().unwrap_err().retry_after().unwrap();
    assert!(
        d >= Duration::from_secs(5) && d <= Duration::from_secs(10),
        "{d:?}"
    );
}

#[test]
fn dropped_probe_frees_its_slot_and_permanent_probe_too() {
    let (clock, b) = breaker(policy());
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(10));
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    drop(p1);
    p2.record(Outcome::Permanent, MS);
    assert_eq!(b.snapshot().probes_in_flight, 0);
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn stale_permits_do_not_steer_a_new_episode() {
    let (clock, b) = breaker(policy());
    let old = b.try_acquire().unwrap(); // admitted while closed
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(10));
    let probe = b.try_acquire().unwrap();
    old.record(Outcome::Success, MS); // must not count as a probe
    assert_eq!(b.snapshot().probe_successes, 0);
    probe.record(Outcome::Success, MS);
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn operator_states() {
    let (_, b) = breaker(policy());
    b.force_open();
    assert!(matches!(
        b.try_acquire().unwrap_err(),
        Rejected::ForcedOpen { .. }
    ));
    assert!(b
        .try_acquire()
        .unwrap_err()
        .to_string()
        .contains("operator"));
    b.disable();
    for _ in 0..50 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Disabled);
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);
}

#[test]
fn call_classifies_errors() {
    let (_, b) = breaker(policy());
    let classify = |s: &u16| http_status_class(*s).unwrap_or(ErrorClass::Permanent);
    for _ in 0..5 {
        let r: Result<(), _> = b.call(&classify, || Err(400u16));
        assert!(matches!(r, Err(CallError::Failed(400))));
    }
    assert_eq!(b.state(), State::Closed);
    for _ in 0..3 {
        let _ = b.call(&classify, || Err::<(), _>(503u16));
    }
    assert_eq!(b.state(), State::Open);
    let r = b.call(&classify, || Ok::<_, u16>(1));
    assert!(matches!(r, Err(CallError::Rejected(_))));
}

#[test]
fn slow_call_through_call_is_timed() {
    let (clock, b) = breaker(policy());
    let c = clock.clone();
    for _ in 0..3 {
        let r = b.call(&|_: &()| ErrorClass::Transient, || {
            c.advance(Duration::from_secs(3));
            Ok::<_, ()>(())
        });
        assert!(r.is_ok());
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn registry_from_config() {
    let cfg = rlm_config::Config::defaults().unwrap();
    let clock = Arc::new(ManualClock::new());
    let r = BreakerRegistry::from_config_with_clock(&cfg.circuit, clock.clone()).unwrap();
    let names: Vec<_> = r.snapshots().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["docker", "filesystem", "llm"]);
    let llm = r.llm();
    assert_eq!(llm.policy().failure_threshold, 5);
    assert_eq!(llm.policy().open_base, Duration::from_secs(30));
    assert!(r.force_open("docker"));
    assert!(r.docker().try_acquire().is_err());
    assert!(r.reset("docker"));
    assert!(r.docker().try_acquire().is_ok());
    assert!(!r.disable("nope"));
    let json = serde_json::to_string(&r.snapshots()).unwrap();
    assert!(json.contains("\"state\":\"closed\""), "{json}");

    let mut bad = cfg.circuit.clone();
    bad.docker.min_calls = 100;
    let e = BreakerRegistry::from_config(&bad).unwrap_err();
    assert!(
        e.to_string().contains("RLM_CIRCUIT_DOCKER_MIN_CALLS"),
        "{e}"
    );
}

fn exact_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        multiplier: 2,
        jitter: Jitter::None,
    }
}

#[test]
fn retry_backs_off_then_gives_up() {
    let clock = Arc::new(ManualClock::new());
    let p = exact_retry();
    let r: Result<(), _> = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .run(&|_: &&str| ErrorClass::Transient, |_| Err("503"));
    let e = r.unwrap_err();
    assert!(matches!(
        e,
        RetryError::Failed {
            attempts: 4,
            reason: GiveUp::AttemptsExhausted,
            ..
        }
    ));
    assert!(e.to_string().contains("gave up after 4 attempt(s)"));
    assert_eq!(clock.elapsed(), Duration::from_millis(100 + 200 + 400));
}

#[test]
fn retry_stops_on_permanent_deadline_and_budget() {
    let clock = Arc::new(ManualClock::new());
    let p = exact_retry();
    let mut n = 0;
    let r: Result<(), _> = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .run(&|_: &&str| ErrorClass::Permanent, |_| {
            n += 1;
            Err("400")
        });
    assert_eq!(n, 1);
    assert!(matches!(
        r,
        Err(RetryError::Failed {
            reason: GiveUp::Permanent,
            ..
        })
    ));

    let deadline = clock.now_plus(Duration::from_millis(250));
    let r: Result<(), _> = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .deadline(Some(deadline))
        .run(&|_: &&str| ErrorClass::Transient, |_| Err("503"));
    // 100 ms, then 200 ms would land past the deadline.
    assert!(matches!(
        r,
        Err(RetryError::Failed {
            attempts: 2,
            reason: GiveUp::Deadline,
            ..
        })
    ));

    let mut asked = Vec::new();
    let r: Result<(), _> = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .budget(|attempt, _| {
            asked.push(attempt);
            attempt < 3
        })
        .run(&|_: &&str| ErrorClass::Transient, |_| Err("503"));
    assert!(matches!(
        r,
        Err(RetryError::Failed {
            attempts: 2,
            reason: GiveUp::Budget,
            ..
        })
    ));
    assert_eq!(asked, [2, 3]);
}

#[test]
fn retry_honours_retry_after() {
    let clock = Arc::new(ManualClock::new());
    let p = exact_retry();
    let classify = WithRetryAfter(
        |_: &&str| ErrorClass::Transient,
        |_: &&str| Some(Duration::from_secs(7)),
    );
    let mut n = 0;
    let r = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .run(&classify, |_| {
            n += 1;
            if n == 1 {
                Err("429")
            } else {
                Ok(n)
            }
        });
    assert_eq!(r.unwrap(), 2);
    assert_eq!(clock.elapsed(), Duration::from_secs(7));
}

#[test]
fn retry_through_a_breaker_stops_when_it_opens() {
    let (clock, b) = breaker(policy());
    let p = RetryPolicy {
        max_attempts: 10,
        ..exact_retry()
    };
    let r: Result<(), _> = Retry::new(&p)
        .clock(clock.clone())
        .sleeper(clock.clone())
        .breaker(&b)
        .run(&|_: &&str| ErrorClass::Transient, |_| Err("503"));
    match r {
        Err(RetryError::Rejected {
            attempts: 3,
            last: Some("503"),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(b.state(), State::Open);
}

trait NowPlus {
    fn now_plus(&self, d: Duration) -> std::time::Instant;
}

impl NowPlus for Arc<ManualClock> {
    fn now_plus(&self, d: Duration) -> std::time::Instant {
        use rlm_circuit::Clock;
        self.now() + d
    }
}

#[test]
fn permits_and_breakers_cross_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<rlm_circuit::Permit<'static>>();
    sync::<CircuitBreaker>();
    send::<CircuitBreaker>();
    sync::<BreakerRegistry>();
}
