//! The states of a breaker and what an operator or a report sees of one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are rejected until the open time passes.
    Open,
    /// A bounded number of probe calls pass; their success closes the
    /// breaker, a failure re-opens it.
    HalfOpen,
    /// Opened by an operator: everything is rejected until reset.
    ForcedOpen,
    /// Switched off by an operator: everything passes, nothing is counted.
    Disabled,
}

impl State {
    pub(crate) const fn tag(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
        }
    }

    /// The name, as in logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a breaker opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TripReason {
    /// This many failures in a row.
    ConsecutiveFailures {
        /// The count.
        failures: u32,
    },
    /// The failure rate of the window passed the threshold.
    FailureRate {
        /// Failures in the window.
        failures: u32,
        /// Calls in the window.
        calls: u32,
    },
    /// A half-open probe failed.
    ProbeFailed,
}

impl fmt::Display for TripReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TripReason::ConsecutiveFailures { failures } => {
                write!(f, "{failures} consecutive failures")
            }
            TripReason::FailureRate { failures, calls } => {
                write!(f, "{failures} failures in the last {calls} calls")
            }
            TripReason::ProbeFailed => f.write_str("a failed probe call"),
        }
    }
}

/// A consistent view of one breaker, for reports and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Failures in a row (closed state).
    pub consecutive_failures: u32,
    /// Calls in the sliding window.
    pub window_calls: u32,
    /// Failures in the sliding window.
    pub window_failures: u32,
    /// Trips since the breaker last closed (drives the backoff).
    pub trips: u32,
    /// Probe calls admitted and not yet recorded (half-open).
    pub probes_in_flight: u32,
    /// Successful probes of this half-open episode.
    pub probe_successes: u32,
    /// Time left open, in milliseconds (open state).
    pub open_remaining_ms: Option<u64>,
    /// Why it last opened.
    pub last_trip: Option<TripReason>,
}
