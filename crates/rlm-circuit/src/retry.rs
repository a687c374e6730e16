//! Retries with jittered exponential backoff, honouring `Retry-After`,
//! bounded by attempts, the caller's deadline and the caller's budget.
//!
//! The planner ([`RetryPolicy::plan`] / [`RetryPolicy::next_delay`]) only
//! computes: async callers ask it for the delay and await their own timer.
//! [`Retry::run`] is the synchronous driver, sleeping through an injectable
//! [`Sleeper`].

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::breaker::{CircuitBreaker, Rejected};
use crate::classify::{Classify, ErrorClass, Outcome};
use crate::clock::{Clock, ManualClock, SystemClock};

/// How a delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// The exact backoff.
    None,
    /// Uniform in `[0, backoff]` ("full jitter": spreads clients most).
    Full,
    /// Uniform in `[backoff/2, backoff]`.
    Equal,
}

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry.
    pub base_delay: Duration,
    /// Longest backoff (a longer `Retry-After` is still honoured).
    pub max_delay: Duration,
    /// Growth factor per retry.
    pub multiplier: u32,
    /// Randomisation.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2,
            jitter: Jitter::Full,
        }
    }
}

/// Why the retry helper stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUp {
    /// The error is permanent: retrying cannot help.
    Permanent,
    /// `max_attempts` reached.
    AttemptsExhausted,
    /// The next attempt would start after the deadline.
    Deadline,
    /// The caller's budget check refused another attempt.
    Budget,
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUp::Permanent => "the error is permanent",
            GiveUp::AttemptsExhausted => "no attempts left",
            GiveUp::Deadline => "the deadline would pass before the next attempt",
            GiveUp::Budget => "the budget refused another attempt",
        })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop.
    GiveUp(GiveUp),
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The un-jittered backoff after `attempt` failed attempts (from 1):
    /// `min(base * multiplier^(attempt-1), max_delay)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(63);
        let k = u64::from(self.multiplier.max(1)).saturating_pow(exp);
        let nanos = self.base_delay.as_nanos().saturating_mul(u128::from(k));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).min(self.max_delay)
    }

    /// The delay before the next attempt after `attempt` failed attempts,
    /// or `None` when none is left. `retry_after` (the server's) is a floor:
    /// never retry sooner than asked.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let mut rng = fastrand::Rng::new();
        self.next_delay_with(attempt, retry_after, &mut rng)
    }

    /// [`RetryPolicy::next_delay`] with the caller's random source.
    pub fn next_delay_with(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let b = self.backoff(attempt);
        let jittered = match self.jitter {
            Jitter::None => b,
            Jitter::Full => b.mul_f64(rng.f64()),
            Jitter::Equal => b / 2 + (b / 2).mul_f64(rng.f64()),
        };
        Some(retry_after.map_or(jittered, |r| jittered.max(r)))
    }

    /// The whole decision after a failed attempt: permanent errors stop at
    /// once; otherwise retry after [`next_delay`](RetryPolicy::next_delay)
    /// unless attempts are spent or the retry would start at or after the
    /// deadline.
    pub fn plan(
        &self,
        attempt: u32,
        class: ErrorClass,
        retry_after: Option<Duration>,
        now: Instant,
        deadline: Option<Instant>,
        rng: &mut fastrand::Rng,
    ) -> Decision {
        if class == ErrorClass::Permanent {
            return Decision::GiveUp(GiveUp::Permanent);
        }
        let Some(delay) = self.next_delay_with(attempt, retry_after, rng) else {
            return Decision::GiveUp(GiveUp::AttemptsExhausted);
        };
        if let Some(d) = deadline {
            if now.checked_add(delay).is_none_or(|at| at >= d) {
                return Decision::GiveUp(GiveUp::Deadline);
            }
        }
        Decision::RetryAfter(delay)
    }
}

/// Something that waits.
pub trait Sleeper: Send + Sync {
    /// Waits for `d`.
    fn sleep(&self, d: Duration);
}

/// Blocks the thread ([`std::thread::sleep`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Sleeping on a manual clock advances it: tests run retries instantly.
impl Sleeper for ManualClock {
    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}

impl<S: Sleeper + ?Sized> Sleeper for std::sync::Arc<S> {
    fn sleep(&self, d: Duration) {
        (**self).sleep(d);
    }
}

/// The error of [`Retry::run`].
#[derive(Debug, thiserror::Error)]
pub enum RetryError<E> {
    /// The last attempt failed and no other was made.
    #[error("{last} (gave up after {attempts} attempt(s): {reason})")]
    Failed {
        /// The last attempt's error.
        last: E,
        /// Attempts made.
        attempts: u32,
        /// Why no other attempt was made.
        reason: GiveUp,
    },
    /// The breaker refused an attempt.
    #[error("{rejected} (after {attempts} attempt(s))")]
    Rejected {
        /// The breaker's refusal.
        rejected: Rejected,
        /// Attempts made before it.
        attempts: u32,
        /// The previous attempt's error, if any.
        last: Option<E>,
    },
}

impl<E> RetryError<E> {
    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            RetryError::Failed { attempts, .. } | RetryError::Rejected { attempts, .. } => {
                *attempts
            }
        }
    }

    /// The last attempt's error, if an attempt was made.
    pub fn into_last(self) -> Option<E> {
        match self {
            RetryError::Failed { last, .. } => Some(last),
            RetryError::Rejected { last, .. } => last,
        }
    }
}

type BudgetCheck<'a> = Box<dyn FnMut(u32, Duration) -> bool + 'a>;

/// The synchronous retry driver: a policy plus the caller's clock, sleeper,
/// deadline, budget check and breaker.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use rlm_circuit::{ErrorClass, ManualClock, Retry, RetryPolicy};
///
/// let clock = Arc::new(ManualClock::new());
/// let policy = RetryPolicy::default();
/// let mut calls = 0;
/// let out = Retry::new(&policy)
///     .clock(clock.clone())
///     .sleeper(clock.clone())
///     .run(&|_: &&str| ErrorClass::Transient, |_attempt| {
///         calls += 1;
///         if calls < 3 { Err("503") } else { Ok("done") }
///     });
/// assert_eq!(out.unwrap(), "done");
/// assert!(clock.elapsed() <= Duration::from_millis(1_500));
/// ```
pub struct Retry<'a> {
    policy: &'a RetryPolicy,
    clock: Box<dyn Clock + 'a>,
    sleeper: Box<dyn Sleeper + 'a>,
    deadline: Option<Instant>,
    budget: Option<BudgetCheck<'a>>,
    breaker: Option<&'a CircuitBreaker>,
    rng: fastrand::Rng,
}

impl fmt::Debug for Retry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("policy", self.policy)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<'a> Retry<'a> {
    /// A driver on the system clock, sleeping the thread.
    pub fn new(policy: &'a RetryPolicy) -> Retry<'a> {
        Retry {
            policy,
            clock: Box::new(SystemClock),
            sleeper: Box::new(ThreadSleeper),
            deadline: None,
            budget: None,
            breaker: None,
            rng: fastrand::Rng::new(),
        }
    }

    /// The clock deadlines are measured on.
    pub fn clock(mut self, clock: impl Clock + 'a) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// What waits between attempts.
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'a) -> Self {
        self.sleeper = Box::new(sleeper);
        self
    }

    /// No attempt starts at or after this instant.
    pub fn deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Asked before each retry with the attempt number to come (from 2) and
    /// the delay; `false` stops (e.g. the budget cannot reserve another
    /// call).
    pub fn budget(mut self, check: impl FnMut(u32, Duration) -> bool + 'a) -> Self {
        self.budget = Some(Box::new(check));
        self
    }

    /// Every attempt goes through this breaker; a rejection stops.
    pub fn breaker(mut self, breaker: &'a CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Seeds the jitter (reproducible tests).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng.seed(seed);
        self
    }

    /// Runs `op` (given the attempt number, from 1) until it succeeds or
    /// the policy, deadline, budget or breaker stops it.
    pub fn run<T, E, C, F>(mut self, classify: &C, mut op: F) -> Result<T, RetryError<E>>
    where
        C: Classify<E> + ?Sized,
        F: FnMut(u32) -> Result<T, E>,
    {
        let mut attempt = 0u32;
        let mut last: Option<E> = None;
        loop {
            attempt += 1;
            let permit = match self.breaker.map(CircuitBreaker::try_acquire).transpose() {
                Ok(p) => p,
                Err(rejected) => {
                    return Err(RetryError::Rejected {
                        rejected,
                        attempts: attempt - 1,
                        last,
                    })
                }
            };
            let start = self.clock.now();
            let result = op(attempt);
            let now = self.clock.now();
            let err = match result {
                Ok(v) => {
                    if let Some(p) = permit {
                        p.record(Outcome::Success, now.saturating_duration_since(start));
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            let class = classify.classify(&err);
            if let Some(p) = permit {
                p.record(class.into(), now.saturating_duration_since(start));
            }
            let retry_after = classify.retry_after(&err);
            let decision = self.policy.plan(
                attempt,
                class,
                retry_after,
                now,
                self.deadline,
                &mut self.rng,
            );
            let delay = match decision {
                Decision::GiveUp(reason) => {
                    tracing::debug!(attempt, %reason, "giving up");
                    return Err(RetryError::Failed {
                        last: err,
                        attempts: attempt,
                        reason,
                    });
                }
                Decision::RetryAfter(d) => d,
            };
            if let Some(check) = self.budget.as_mut() {
                if !check(attempt + 1, delay) {
                    return Err(RetryError::Failed {
                        last: err,
                        attempts: attempt,
                        reason: GiveUp::Budget,
                    });
                }
            }
            tracing::debug!(
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                ?class,
                "retrying after transient failure"
            );
            last = Some(err);
            self.sleeper.sleep(delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            multiplier: 2,
            jitter: Jitter::None,
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = exact();
        let d: Vec<_> = (1..=5).map(|a| p.next_delay(a, None)).collect();
        assert_eq!(
            d,
            vec![
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(400)),
                Some(Duration::from_millis(800)),
                None
            ]
        );
        let p = RetryPolicy {
            max_attempts: 50,
            ..exact()
        };
        assert_eq!(p.next_delay(40, None), Some(Duration::from_millis(1_000)));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = exact();
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            p.next_delay(3, Some(Duration::from_millis(10))),
            Some(Duration::from_millis(400))
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut rng = fastrand::Rng::with_seed(7);
        for j in [Jitter::Full, Jitter::Equal] {
            let p = RetryPolicy {
                jitter: j,
                ..exact()
            };
            for _ in 0..100 {
                let d = p.next_delay_with(2, None, &mut rng).unwrap();
                assert!(d <= Duration::from_millis(200));
                if j == Jitter::Equal {
                    assert!(d >= Duration::from_millis(100));
                }
            }
        }
    }

    #[test]
    fn plan_respects_deadline_and_permanence() {
        let p = exact();
        let now = Instant::now();
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            p.plan(1, ErrorClass::Permanent, None, now, None, &mut rng),
            Decision::GiveUp(GiveUp::Permanent)
        );
        assert_eq!(
            p.plan(
                1,
                ErrorClass::Transient,
                None,
                now,
                Some(now + Duration::from_millis(100)),
                &mut rng
            ),
            Decision::GiveUp(GiveUp::Deadline)
        );
        assert_eq!(
            p.plan(
                1,
                ErrorClass::Transient,
                None,
                now,
                Some(now + Duration::from_millis(101)),
                &mut rng
            ),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }
}
