//! Why a call, an iteration or a child session was refused, and what to
//! raise to allow it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::pricing::PricingError;

/// Which limit refused: the run's (configured), or a child session's own cap
/// (set by its parent through [`ChildLimits`](crate::ChildLimits)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    /// The whole run's limit.
    Run,
    /// A recursive session's own cap.
    Child {
        /// The session's depth (root = 0).
        depth: u32,
    },
}

impl Scope {
    fn what(&self) -> String {
        match self {
            Scope::Run => "the run's".to_string(),
            Scope::Child { depth } => format!("the depth-{depth} child session's own"),
        }
    }

    fn hint(&self, env: &str) -> String {
        match self {
            Scope::Run => format!("raise {env}"),
            Scope::Child { .. } => {
                "raise the cap its parent passed in ChildLimits, or give the child more of the run's budget"
                    .to_string()
            }
        }
    }
}

/// A refusal. Every message names the limit that stopped the call and the
/// setting to raise.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The call's worst case does not fit in the money left.
    #[error(
        "cost limit reached: this call may cost up to {needed} but only {} of {} {limit} limit is left \
         ({spent} spent, {reserved} reserved); {}",
        .limit.saturating_sub(.spent.saturating_add(*.reserved)), .scope.what(), .scope.hint("RLM_COST_LIMIT_USD")
    )]
    Cost {
        /// The call's worst case.
        needed: Money,
        /// Spent so far.
        spent: Money,
        /// Held by calls in flight.
        reserved: Money,
        /// The limit.
        limit: Money,
        /// Whose limit.
        scope: Scope,
    },
    /// Input tokens exhausted.
    #[error(
        "input token limit reached: this call needs {needed} but {used} used and {reserved} reserved of {} \
         {limit}; {}",
        .scope.what(), .scope.hint("RLM_MAX_INPUT_TOKENS")
    )]
    InputTokens {
        /// The call's estimate.
        needed: u64,
        /// Used so far.
        used: u64,
        /// Held by calls in flight.
        reserved: u64,
        /// The limit.
        limit: u64,
        /// Whose limit.
        scope: Scope,
    },
    /// Output tokens exhausted.
    #[error(
        "output token limit reached: this call may produce {needed} (its max_tokens) but {used} used and \
         {reserved} reserved of {} {limit}; {} or lower RLM_MAX_TOKENS",
        .scope.what(), .scope.hint("RLM_MAX_OUTPUT_TOKENS")
    )]
    OutputTokens {
        /// The call's `max_tokens`.
        needed: u64,
        /// Used so far.
        used: u64,
        /// Held by calls in flight.
        reserved: u64,
        /// The limit.
        limit: u64,
        /// Whose limit.
        scope: Scope,
    },
    /// LLM calls exhausted.
    #[error(
        "LLM call limit reached: {made} made and {in_flight} in flight of {} {limit}; {}",
        .scope.what(), .scope.hint("RLM_MAX_LLM_CALLS")
    )]
    LlmCalls {
        /// Calls settled or released as made.
        made: u64,
        /// Calls reserved and not yet finished.
        in_flight: u64,
        /// The limit.
        limit: u64,
        /// Whose limit.
        scope: Scope,
    },
    /// The session's loop ran its iterations.
    #[error(
        "iteration limit reached: the depth-{depth} session ran {limit} iterations; raise RLM_MAX_ITERATIONS"
    )]
    Iterations {
        /// The limit.
        limit: u32,
        /// The session's depth.
        depth: u32,
    },
    /// Recursion too deep.
    #[error(
        "recursion depth limit reached: a child at depth {depth} would exceed the limit of {limit}; \
         raise RLM_MAX_RECURSION_DEPTH"
    )]
    RecursionDepth {
        /// The depth the child would have.
        depth: u32,
        /// The limit.
        limit: u32,
    },
    /// The wall-clock deadline passed.
    #[error(
        "wall-clock limit reached: {:.1}s elapsed of {:.1}s; raise RLM_MAX_WALL_TIME",
        .elapsed.as_secs_f64(), .limit.as_secs_f64()
    )]
    Deadline {
        /// Time since the budget (or the capped child) started.
        elapsed: Duration,
        /// The limit.
        limit: Duration,
    },
    /// The model could not be priced.
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

impl BudgetError {
    /// The environment variable that raises the limit behind this refusal,
    /// when one does.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            BudgetError::Cost { .. } => Some("RLM_COST_LIMIT_USD"),
            BudgetError::InputTokens { .. } => Some("RLM_MAX_INPUT_TOKENS"),
            BudgetError::OutputTokens { .. } => Some("RLM_MAX_OUTPUT_TOKENS"),
            BudgetError::LlmCalls { .. } => Some("RLM_MAX_LLM_CALLS"),
            BudgetError::Iterations { .. } => Some("RLM_MAX_ITERATIONS"),
            BudgetError::RecursionDepth { .. } => Some("RLM_MAX_RECURSION_DEPTH"),
            BudgetError::Deadline { .. } => Some("RLM_MAX_WALL_TIME"),
            BudgetError::Pricing(_) => Some("RLM_PRICING_PATH"),
        }
    }
}
