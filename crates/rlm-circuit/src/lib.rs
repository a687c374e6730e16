//! # rlm-circuit
//!
//! Circuit breakers (closed, open, half-open, forced-open, disabled) and a
//! retry helper with jittered backoff, for model providers, the Docker
//! daemon and the filesystem.
//!
//! The principal types, and how they compose:
//!
//! * [`CircuitBreaker`] guards one dependency under a [`BreakerPolicy`]
//!   (consecutive failures; failure rate over a count-based window with a
//!   minimum of calls; slow calls as failures; exponential, jittered,
//!   capped open time; a bounded number of half-open probes).
//!   [`CircuitBreaker::try_acquire`] returns a [`Permit`] or a [`Rejected`];
//!   [`Permit::record`] takes the call's [`Outcome`] and duration.
//!   [`CircuitBreaker::call`] does both around a closure. Operators use
//!   [`CircuitBreaker::force_open`], [`CircuitBreaker::disable`] and
//!   [`CircuitBreaker::reset`]. [`State`] changes are `tracing` events.
//! * [`Classify`] turns a caller's error into an [`ErrorClass`]: transient
//!   (timeouts, 429, 5xx, connection errors) counts against the breaker,
//!   permanent (other 4xx) never does. Closures implement it;
//!   [`http_status_class`] and [`io_error_class`] cover the usual cases.
//! * [`RetryPolicy`] plans retries: [`RetryPolicy::next_delay`] and
//!   [`RetryPolicy::plan`] compute the jittered backoff (never shorter than
//!   `Retry-After`, never past the deadline), so async code awaits its own
//!   timer; [`Retry`] drives a synchronous loop with an injectable
//!   [`Sleeper`], a budget check before each retry, and an optional breaker.
//! * [`BreakerRegistry`] holds the named breakers (`llm`, `docker`,
//!   `filesystem`) built from rlm-config's
//!   [`CircuitConfig`](rlm_config::CircuitConfig).
//! * [`Clock`] is injectable: [`SystemClock`] in production, [`ManualClock`]
//!   in tests (sleeping on it advances it).
//!
//! No async runtime is needed or pulled in: a permit is a plain value that
//! async code holds across `.await`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use rlm_circuit::{BreakerPolicy, CircuitBreaker, ErrorClass, ManualClock, Outcome, State};
//!
//! let clock = Arc::new(ManualClock::new());
//! let policy = BreakerPolicy { failure_threshold: 2, jitter: 0.0, ..BreakerPolicy::default() };
//! let b = CircuitBreaker::with_clock("llm", policy, clock.clone()).unwrap();
//! for _ in 0..2 {
//!     b.try_acquire().unwrap().record(Outcome::Transient, Duration::ZERO);
//! }
//! assert_eq!(b.state(), State::Open);
//! assert!(b.try_acquire().is_err());
//! clock.advance(Duration::from_secs(30));
//! let probe = b.try_acquire().unwrap(); // half-open: one probe
//! probe.record(Outcome::Success, Duration::from_millis(80));
//! assert_eq!(b.state(), State::Closed);
//! ```

mod breaker;
mod classify;
mod clock;
mod policy;
mod registry;
mod retry;
mod state;

pub use breaker::{CallError, CircuitBreaker, Permit, Rejected};
pub use classify::{
    http_status_class, io_error_class, parse_retry_after_secs, Classify, ErrorClass, Outcome,
    WithRetryAfter,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use policy::{BreakerPolicy, PolicyError};
pub use registry::{BreakerRegistry, DOCKER, FILESYSTEM, LLM};
pub use retry::{Decision, GiveUp, Jitter, Retry, RetryError, RetryPolicy, Sleeper, ThreadSleeper};
pub use state::{BreakerSnapshot, State, TripReason};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
