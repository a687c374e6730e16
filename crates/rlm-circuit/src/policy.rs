//! When a breaker opens, how long it stays open, and how it probes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The policy of one breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker (0: this rule is off).
    pub failure_threshold: u32,
    /// Calls in the count-based sliding window (0: the rate rule is off).
    pub window_size: u32,
    /// Calls the window must hold before its rate counts.
    pub min_calls: u32,
    /// Failure rate in the window, 0..=1, that opens the breaker.
    pub failure_rate: f64,
    /// Successful calls slower than this count as failures (`None`: off).
    pub slow_call: Option<Duration>,
    /// Open time after the first trip (rlm-config's `recovery_timeout`).
    pub open_base: Duration,
    /// Longest open time, however many trips in a row.
    pub open_max: Duration,
    /// Factor by which each further trip lengthens the open time.
    pub backoff_multiplier: u32,
    /// Fraction of the open time taken off at random (0..=1), so that many
    /// clients tripped together do not probe together.
    pub jitter: f64,
    /// Probe calls admitted in half-open; all must succeed to close.
    pub half_open_probes: u32,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            window_size: 20,
            min_calls: 10,
            failure_rate: 0.5,
            slow_call: None,
            open_base: Duration::from_secs(30),
            open_max: Duration::from_secs(300),
            backoff_multiplier: 2,
            jitter: 0.2,
            half_open_probes: 1,
        }
    }
}

/// A policy that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// Rate outside 0..=1.
    #[error("breaker '{name}': failure_rate {rate} is not between 0 and 1; set RLM_CIRCUIT_{env}_FAILURE_RATE to e.g. 0.5")]
    FailureRate {
        /// The breaker.
        name: String,
        /// Its env prefix part.
        env: String,
        /// The rate.
        rate: f64,
    },
    /// More calls required than the window holds: the rate rule never fires.
    #[error("breaker '{name}': min_calls {min_calls} exceeds window_size {window_size}, so the failure-rate rule could never fire; lower RLM_CIRCUIT_{env}_MIN_CALLS")]
    MinCalls {
        /// The breaker.
        name: String,
        /// Its env prefix part.
        env: String,
        /// min_calls.
        min_calls: u32,
        /// window_size.
        window_size: u32,
    },
    /// No probes: a half-open breaker could never close.
    #[error("breaker '{name}': half_open_probes is 0, so it could never close again")]
    NoProbes {
        /// The breaker.
        name: String,
    },
    /// Jitter outside 0..=1.
    #[error("breaker '{name}': jitter {jitter} is not between 0 and 1")]
    Jitter {
        /// The breaker.
        name: String,
        /// The jitter.
        jitter: f64,
    },
}

impl BreakerPolicy {
    /// Checks that the policy can work; `name` goes in the messages.
    pub fn validate(&self, name: &str) -> Result<(), PolicyError> {
        let env = name.to_ascii_uppercase();
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(PolicyError::FailureRate {
                name: name.to_string(),
                env,
                rate: self.failure_rate,
            });
        }
        if self.window_size > 0 && self.min_calls > self.window_size {
            return Err(PolicyError::MinCalls {
                name: name.to_string(),
                env,
                min_calls: self.min_calls,
                window_size: self.window_size,
            });
        }
        if self.half_open_probes == 0 {
            return Err(PolicyError::NoProbes {
                name: name.to_string(),
            });
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(PolicyError::Jitter {
                name: name.to_string(),
                jitter: self.jitter,
            });
        }
        Ok(())
    }

    /// Open time for the `trips`-th trip in a row (from 1), with `unit` a
    /// random number in `[0, 1)`: `min(base * multiplier^(trips-1), max)`,
    /// less up to `jitter` of it.
    pub fn open_duration(&self, trips: u32, unit: f64) -> Duration {
        let exp = trips.saturating_sub(1).min(63);
        let factor = u64::from(self.backoff_multiplier.max(1)).saturating_pow(exp);
        let full = mul_saturating(self.open_base, factor).min(self.open_max.max(self.open_base));
        let cut = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        full.mul_f64(1.0 - cut)
    }

    /// Whether a call that took `elapsed` is slow.
    pub fn is_slow(&self, elapsed: Duration) -> bool {
        self.slow_call.is_some_and(|s| elapsed > s)
    }
}

fn mul_saturating(d: Duration, k: u64) -> Duration {
    let nanos = d.as_nanos().saturating_mul(u128::from(k));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl From<&rlm_config::BreakerConfig> for BreakerPolicy {
    /// rlm-config's `[circuit.NAME]`: `failure_threshold`, `recovery_timeout`
    /// (the first open time; later trips back off up to ten times it, at
    /// least five minutes), `window_size`, `min_calls`, `failure_rate` and
    /// `slow_call` (0s: off).
    fn from(c: &rlm_config::BreakerConfig) -> Self {
        let base = c.recovery_timeout.get();
        BreakerPolicy {
            failure_threshold: c.failure_threshold,
            window_size: c.window_size,
            min_calls: c.min_calls,
            failure_rate: c.failure_rate,
            slow_call: Some(c.slow_call.get()).filter(|d| !d.is_zero()),
            open_base: base,
            open_max: (base * 10).max(Duration::from_secs(300)),
            ..BreakerPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = BreakerPolicy {
            open_base: Duration::from_secs(10),
            open_max: Duration::from_secs(60),
            jitter: 0.5,
            ..BreakerPolicy::default()
        };
        assert_eq!(p.open_duration(1, 0.0), Duration::from_secs(10));
        assert_eq!(p.open_duration(2, 0.0), Duration::from_secs(20));
        assert_eq!(p.open_duration(3, 0.0), Duration::from_secs(40));
        assert_eq!(p.open_duration(4, 0.0), Duration::from_secs(60));
        assert_eq!(p.open_duration(400, 0.0), Duration::from_secs(60));
        assert_eq!(p.open_duration(1, 0.5), Duration::from_millis(7_500));
    }

    #[test]
    fn from_config_defaults() {
        let cfg = rlm_config::Config::defaults().unwrap();
        let p = BreakerPolicy::from(&cfg.circuit.llm);
        assert_eq!(p.failure_threshold, 5);
        assert_eq!(p.open_base, Duration::from_secs(30));
        assert_eq!(p.slow_call, None);
        p.validate("llm").unwrap();
    }

    #[test]
    fn validation_messages() {
        let p = BreakerPolicy {
            min_calls: 30,
            ..BreakerPolicy::default()
        };
        let e = p.validate("docker").unwrap_err().to_string();
        assert!(e.contains("RLM_CIRCUIT_DOCKER_MIN_CALLS"), "{e}");
        let p = BreakerPolicy {
            failure_rate: 1.5,
            ..BreakerPolicy::default()
        };
        assert!(p.validate("x").is_err());
    }
}
