//! Reports of what a run spent, serialisable for `--json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::BudgetLimits;
use crate::money::Money;

/// The whole run: spent, reserved, remaining, and a breakdown per model.
///
/// Money serialises as integer micro-dollars (exact); `*_usd` helpers give
/// floats for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// The run's limits.
    pub limits: BudgetLimits,
    /// Money spent by settled calls.
    pub spent: Money,
    /// Money held by calls in flight.
    pub reserved: Money,
    /// Money left to reserve (`None`: no money limit).
    pub remaining: Option<Money>,
    /// Input tokens used.
    pub input_tokens: u64,
    /// Output tokens used.
    pub output_tokens: u64,
    /// Input tokens held by calls in flight.
    pub reserved_input_tokens: u64,
    /// Output tokens held by calls in flight.
    pub reserved_output_tokens: u64,
    /// Calls settled.
    pub llm_calls: u64,
    /// Calls reserved and not yet settled or released.
    pub calls_in_flight: u64,
    /// Iterations of every session's loop.
    pub iterations: u64,
    /// Sessions of the tree, the root included.
    pub sessions: usize,
    /// The deepest session created (root = 0).
    pub deepest: u32,
    /// Wall-clock time since the budget started, in milliseconds.
    pub elapsed_ms: u64,
    /// Whether some call's real usage pushed the run past a limit.
    pub overrun: bool,
    /// Per model, as the caller named it.
    pub per_model: BTreeMap<String, ModelUsage>,
}

impl BudgetReport {
    /// Spent, in floating-point dollars (display only).
    pub fn spent_usd(&self) -> f64 {
        self.spent.as_usd_f64()
    }
}

/// One model's share of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// The pricing entry used (`(fallback)` for unknown models).
    pub priced_as: String,
    /// Whether the fallback price was used.
    pub fallback_price: bool,
    /// Calls settled.
    pub calls: u64,
    /// Input tokens, cached included.
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost.
    pub cost: Money,
}

/// One session's subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionReport {
    /// Depth (root = 0).
    pub depth: u32,
    /// Spent by this session and its descendants.
    pub spent: Money,
    /// Reserved by this session and its descendants.
    pub reserved: Money,
    /// Money this session may still reserve.
    pub remaining: Option<Money>,
    /// Input tokens of the subtree.
    pub input_tokens: u64,
    /// Output tokens of the subtree.
    pub output_tokens: u64,
    /// Calls of the subtree.
    pub llm_calls: u64,
    /// Iterations of this session's own loop.
    pub iterations: u32,
}
