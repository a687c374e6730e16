//! The breaker: admission through permits, outcomes recorded on them.
//!
//! A closed breaker admits with one atomic load and no lock, so the common
//! path costs a few nanoseconds; every state change happens under a mutex
//! and is published to that atomic together with a generation number. A
//! permit remembers the generation it was admitted in, so an outcome that
//! arrives after the breaker moved on (a slow call that started while
//! closed and ends while half-open) cannot be mistaken for a probe's.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::classify::{Classify, ErrorClass, Outcome};
use crate::clock::{Clock, SystemClock};
use crate::policy::{BreakerPolicy, PolicyError};
use crate::state::{BreakerSnapshot, State, TripReason};

/// Bits of the published word that hold the state tag.
const TAG_BITS: u32 = 3;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// A circuit breaker for one dependency.
///
/// [`try_acquire`](CircuitBreaker::try_acquire) asks to make a call; the
/// returned [`Permit`] is [recorded](Permit::record) with the call's
/// [`Outcome`] and duration. Async code holds the permit across `.await`:
/// nothing here blocks on time or needs a runtime.
pub struct CircuitBreaker {
    name: Arc<str>,
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
    /// State tag (low bits) and generation: read without the lock.
    published: AtomicU64,
    /// Successes of the current closed episode not yet folded into the
    /// counters. A success in the closed state only bumps this (no lock);
    /// the next locked operation applies them before anything else, so a
    /// thread's success still resets its own run of failures in order.
    pending_successes: AtomicU32,
    inner: Mutex<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Inner {
    state: State,
    generation: u64,
    consecutive_failures: u32,
    window: Window,
    trips: u32,
    open_until: Option<Instant>,
    probes_in_flight: u32,
    probe_successes: u32,
    last_trip: Option<TripReason>,
    rng: fastrand::Rng,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejected {
    /// Open after failures.
    #[error(
        "circuit '{name}' is open after {reason}; next probe in {:.1}s \
         (RLM_CIRCUIT_{}_RECOVERY_TIMEOUT sets the open time)",
        .retry_after.as_secs_f64(), .name.to_ascii_uppercase()
    )]
    Open {
        /// The breaker.
        name: Arc<str>,
        /// Time until a probe is admitted.
        retry_after: Duration,
        /// Why it opened.
        reason: TripReason,
    },
    /// Half-open, and every probe slot is taken.
    #[error("circuit '{name}' is half-open and its {probes} probe call(s) are in flight; retry when they finish")]
    ProbesBusy {
        /// The breaker.
        name: Arc<str>,
        /// The probe slots.
        probes: u32,
    },
    /// Forced open by an operator.
    #[error("circuit '{name}' was forced open by an operator; reset it to allow calls")]
    ForcedOpen {
        /// The breaker.
        name: Arc<str>,
    },
}

impl Rejected {
    /// How long to wait before asking again, where known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejected::Open { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The breaker's name.
    pub fn breaker(&self) -> &str {
        match self {
            Rejected::Open { name, .. }
            | Rejected::ProbesBusy { name, .. }
            | Rejected::ForcedOpen { name } => name,
        }
    }
}

/// The error of [`CircuitBreaker::call`]: rejected before the call, or the
/// call's own error.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker did not admit the call.
    #[error(transparent)]
    Rejected(Rejected),
    /// The call ran and failed.
    #[error("{0}")]
    Failed(E),
}

/// Permission to make one call. Record its outcome; a permit dropped
/// unrecorded (a cancelled future) frees its probe slot and counts as
/// nothing.
#[must_use = "record the call's outcome on the permit"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    done: bool,
}

impl Permit<'_> {
    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// Records the call's outcome and how long it took (a success slower
    /// than the policy's `slow_call` counts as a failure).
    #[inline]
    pub fn record(mut self, outcome: Outcome, elapsed: Duration) {
        self.done = true;
        self.breaker
            .record(self.generation, self.probe, outcome, elapsed);
    }

    /// Records a success.
    pub fn success(self, elapsed: Duration) {
        self.record(Outcome::Success, elapsed);
    }

    /// Records a failure of the given class.
    pub fn failure(self, class: ErrorClass, elapsed: Duration) {
        self.record(class.into(), elapsed);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done && self.probe {
            self.breaker.abandon_probe(self.generation);
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker on the system clock.
    pub fn new(name: &str, policy: BreakerPolicy) -> Result<CircuitBreaker, PolicyError> {
        CircuitBreaker::with_clock(name, policy, Arc::new(SystemClock))
    }

    /// A closed breaker on the given clock.
    pub fn with_clock(
        name: &str,
        policy: BreakerPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<CircuitBreaker, PolicyError> {
        policy.validate(name)?;
        Ok(CircuitBreaker::build(name, policy, clock))
    }

    fn build(name: &str, policy: BreakerPolicy, clock: Arc<dyn Clock>) -> CircuitBreaker {
        // A random seed per breaker: a fixed one would make every process
        // tripped by the same outage probe at the same moment.
        let rng = fastrand::Rng::new();
        CircuitBreaker {
            name: Arc::from(name),
            inner: Mutex::new(Inner {
                state: State::Closed,
                generation: 0,
                consecutive_failures: 0,
                window: Window::new(policy.window_size),
                trips: 0,
                open_until: None,
                probes_in_flight: 0,
                probe_successes: 0,
                last_trip: None,
                rng,
            }),
            policy,
            clock,
            published: AtomicU64::new(State::Closed.tag()),
            pending_successes: AtomicU32::new(0),
        }
    }

    /// Builds from a policy already validated (the registry's default).
    pub(crate) fn from_valid(name: &str, policy: BreakerPolicy, clock: Arc<dyn Clock>) -> Self {
        match CircuitBreaker::with_clock(name, policy.clone(), clock.clone()) {
            Ok(b) => b,
            // Unreachable for the default policy; fall back to it anyway
            // rather than panic.
            Err(_) => CircuitBreaker::build(name, BreakerPolicy::default(), clock),
        }
    }

    /// Seeds the jitter's random source, for reproducible tests.
    pub fn seed(&self, seed: u64) {
        self.lock().rng.seed(seed);
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy.
    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }

    /// The current state. An open breaker whose time is up still reads
    /// `Open` until the next acquire moves it to half-open.
    pub fn state(&self) -> State {
        self.lock().state
    }

    /// Asks to make one call.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let word = self.published.load(Ordering::Acquire);
        let generation = word >> TAG_BITS;
        match word & TAG_MASK {
            t if t == State::Closed.tag() || t == State::Disabled.tag() => Ok(Permit {
                breaker: self,
                generation,
                probe: false,
                done: false,
            }),
            t if t == State::ForcedOpen.tag() => Err(Rejected::ForcedOpen {
                name: self.name.clone(),
            }),
            _ => self.acquire_slow(),
        }
    }

    fn acquire_slow(&self) -> Result<Permit<'_>, Rejected> {
        let now = self.clock.now();
        let mut g = self.lock();
        if g.state == State::Open {
            let until = g.open_until.unwrap_or(now);
            if now < until {
                return Err(Rejected::Open {
                    name: self.name.clone(),
                    retry_after: until - now,
                    reason: g.last_trip.unwrap_or(TripReason::ProbeFailed),
                });
            }
            self.transition(&mut g, State::HalfOpen);
        }
        match g.state {
            State::Closed | State::Disabled => Ok(Permit {
                breaker: self,
                generation: g.generation,
                probe: false,
                done: false,
            }),
            State::ForcedOpen => Err(Rejected::ForcedOpen {
                name: self.name.clone(),
            }),
            State::HalfOpen => {
                // Successes stay counted against the slots: the episode
                // admits `half_open_probes` probes in all, not per moment.
                if g.probes_in_flight + g.probe_successes < self.policy.half_open_probes {
                    g.probes_in_flight += 1;
                    Ok(Permit {
                        breaker: self,
                        generation: g.generation,
                        probe: true,
                        done: false,
                    })
                } else {
                    Err(Rejected::ProbesBusy {
                        name: self.name.clone(),
                        probes: self.policy.half_open_probes,
                    })
                }
            }
            // Handled above; kept total for the compiler.
            State::Open => Err(Rejected::Open {
                name: self.name.clone(),
                retry_after: Duration::ZERO,
                reason: g.last_trip.unwrap_or(TripReason::ProbeFailed),
            }),
        }
    }

    #[inline]
    fn record(&self, generation: u64, probe: bool, outcome: Outcome, elapsed: Duration) {
        let outcome = match outcome {
            Outcome::Success if self.policy.is_slow(elapsed) => Outcome::Transient,
            o => o,
        };
        if outcome == Outcome::Success && !probe {
            let word = self.published.load(Ordering::Acquire);
            if word == (generation << TAG_BITS) | State::Closed.tag() {
                self.pending_successes.fetch_add(1, Ordering::AcqRel);
                return;
            }
        }
        self.record_locked(generation, probe, outcome);
    }

    /// Folds the lock-free successes into the counters.
    fn drain_successes(&self, g: &mut Inner) {
        let n = self.pending_successes.swap(0, Ordering::AcqRel);
        if n > 0 && g.state == State::Closed {
            g.consecutive_failures = 0;
            for _ in 0..n.min(self.policy.window_size) {
                g.window.push(false);
            }
        }
    }

    fn record_locked(&self, generation: u64, probe: bool, outcome: Outcome) {
        let mut g = self.lock();
        self.drain_successes(&mut g);
        if g.generation != generation {
            // The breaker changed state since this call was admitted: its
            // outcome describes a past episode and must not steer this one.
            return;
        }
        match g.state {
            State::Closed => match outcome {
                Outcome::Success => {
                    g.consecutive_failures = 0;
                    g.window.push(false);
                }
                Outcome::Transient => {
                    g.consecutive_failures = g.consecutive_failures.saturating_add(1);
                    g.window.push(true);
                    if let Some(reason) = self.trip_reason(&g) {
                        self.trip(&mut g, reason);
                    }
                }
                // The dependency answered: not a sign of ill health, and
                // not a success that should mask a run of failures either.
                Outcome::Permanent => {}
            },
            State::HalfOpen if probe => {
                g.probes_in_flight = g.probes_in_flight.saturating_sub(1);
                match outcome {
                    Outcome::Success => {
                        g.probe_successes += 1;
                        if g.probe_successes >= self.policy.half_open_probes {
                            self.transition(&mut g, State::Closed);
                        }
                    }
                    Outcome::Transient => self.trip(&mut g, TripReason::ProbeFailed),
                    // Frees the slot for another probe.
                    Outcome::Permanent => {}
                }
            }
            _ => {}
        }
    }

    fn abandon_probe(&self, generation: u64) {
        let mut g = self.lock();
        if g.generation == generation && g.state == State::HalfOpen {
            g.probes_in_flight = g.probes_in_flight.saturating_sub(1);
        }
    }

    fn trip_reason(&self, g: &Inner) -> Option<TripReason> {
        let p = &self.policy;
        if p.failure_threshold > 0 && g.consecutive_failures >= p.failure_threshold {
            return Some(TripReason::ConsecutiveFailures {
                failures: g.consecutive_failures,
            });
        }
        let (calls, failures) = (g.window.len, g.window.failures);
        if p.window_size > 0
            && calls >= p.min_calls.max(1)
            && f64::from(failures) >= p.failure_rate * f64::from(calls)
        {
            return Some(TripReason::FailureRate { failures, calls });
        }
        None
    }

    fn trip(&self, g: &mut Inner, reason: TripReason) {
        g.trips = g.trips.saturating_add(1);
        let unit = g.rng.f64();
        let open_for = self.policy.open_duration(g.trips, unit);
        g.open_until = Some(self.clock.now() + open_for);
        g.last_trip = Some(reason);
        tracing::warn!(
            breaker = %self.name,
            %reason,
            trips = g.trips,
            open_ms = u64::try_from(open_for.as_millis()).unwrap_or(u64::MAX),
            "circuit opened"
        );
        self.transition(g, State::Open);
    }

    /// Moves to `to`, resetting what the new state starts from, and
    /// publishes it with a new generation.
    fn transition(&self, g: &mut Inner, to: State) {
        let from = g.state;
        // Successes counted for the episode that ends are folded in (or
        // dropped when it was not a closed one) before the state changes.
        self.drain_successes(g);
        g.state = to;
        g.generation = g.generation.wrapping_add(1) & (u64::MAX >> TAG_BITS);
        g.probes_in_flight = 0;
        g.probe_successes = 0;
        match to {
            State::Closed | State::Disabled => {
                g.consecutive_failures = 0;
                g.window.clear();
                g.trips = 0;
                g.open_until = None;
            }
            State::HalfOpen => g.open_until = None,
            State::Open => {}
            State::ForcedOpen => g.open_until = None,
        }
        self.published
            .store((g.generation << TAG_BITS) | to.tag(), Ordering::Release);
        match to {
            State::Open => {} // logged by `trip` with its reason
            State::HalfOpen => {
                tracing::info!(breaker = %self.name, %from, "circuit half-open: admitting probes")
            }
            State::Closed => tracing::info!(breaker = %self.name, %from, "circuit closed"),
            State::ForcedOpen => {
                tracing::warn!(breaker = %self.name, %from, "circuit forced open by operator")
            }
            State::Disabled => {
                tracing::warn!(breaker = %self.name, %from, "circuit disabled by operator")
            }
        }
    }

    /// Operator: reject every call until [`reset`](CircuitBreaker::reset).
    pub fn force_open(&self) {
        let mut g = self.lock();
        self.transition(&mut g, State::ForcedOpen);
    }

    /// Operator: admit every call and count nothing until
    /// [`reset`](CircuitBreaker::reset).
    pub fn disable(&self) {
        let mut g = self.lock();
        self.transition(&mut g, State::Disabled);
    }

    /// Operator: back to closed with clean counters.
    pub fn reset(&self) {
        let mut g = self.lock();
        self.transition(&mut g, State::Closed);
    }

    /// A consistent view of the breaker.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let now = self.clock.now();
        let mut g = self.lock();
        self.drain_successes(&mut g);
        BreakerSnapshot {
            name: self.name.to_string(),
            state: g.state,
            consecutive_failures: g.consecutive_failures,
            window_calls: g.window.len,
            window_failures: g.window.failures,
            trips: g.trips,
            probes_in_flight: g.probes_in_flight,
            probe_successes: g.probe_successes,
            open_remaining_ms: g.open_until.filter(|_| g.state == State::Open).map(|u| {
                u64::try_from(u.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
            }),
            last_trip: g.last_trip,
        }
    }

    /// Runs `f` through the breaker: rejected without running when not
    /// admitted; otherwise its error is classified and recorded. The call
    /// is timed only when the policy has a slow-call threshold.
    pub fn call<T, E, C, F>(&self, classify: &C, f: F) -> Result<T, CallError<E>>
    where
        C: Classify<E> + ?Sized,
        F: FnOnce() -> Result<T, E>,
    {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let start = self.policy.slow_call.map(|_| self.clock.now());
        let result = f();
        let elapsed = start.map_or(Duration::ZERO, |s| {
            self.clock.now().saturating_duration_since(s)
        });
        match &result {
            Ok(_) => permit.record(Outcome::Success, elapsed),
            Err(e) => permit.record(classify.classify(e).into(), elapsed),
        }
        result.map_err(CallError::Failed)
    }

    /// The clock the breaker reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics under this lock; a poisoned one still holds a
        // consistent breaker, so recover it instead of failing every call.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The count-based sliding window: the last `size` outcomes.
#[derive(Debug)]
struct Window {
    slots: Vec<bool>,
    next: usize,
    len: u32,
    failures: u32,
}

impl Window {
    fn new(size: u32) -> Window {
        Window {
            slots: vec![false; size as usize],
            next: 0,
            len: 0,
            failures: 0,
        }
    }

    fn push(&mut self, failure: bool) {
        let size = self.slots.len();
        if size == 0 {
            return;
        }
        if self.len as usize == size {
            if self.slots[self.next] {
                self.failures -= 1;
            }
        } else {
            self.len += 1;
        }
        self.slots[self.next] = failure;
        if failure {
            self.failures += 1;
        }
        // A branch, not `%`: division is the slowest step of a record.
        self.next += 1;
        if self.next == size {
            self.next = 0;
        }
    }

    fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
        self.failures = 0;
    }
}
